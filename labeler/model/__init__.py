"""`TopicModel`: the fitting API, scikit-learn style and familiar to BERTopic users.

Keyword-only parameters in `__init__` (scikit-learn's `BaseEstimator` gives `get_params`,
`set_params`, `clone` and a repr listing what differs from the defaults in `labeler.defaults`);
`fit` returns self; fitted state ends in `_`. The model holds no UMAP or HDBSCAN object after
fitting: new documents are assigned by a nearest-neighbour vote in embedding space, which works
identically on a model opened from a run folder (`Run.model()`, no pickle).
"""

from labeler.model.estimator import TopicModel
from labeler.model.mapper import TopicMapper
from labeler.represent import OUTLIER, keyword_label

__all__ = ["OUTLIER", "TopicMapper", "TopicModel", "keyword_label"]
