"""BERTopic's `bertopic.vectorizers`: `ClassTfidfTransformer` (`labeler.represent.ctfidf`), for
`BERTopic(ctfidf_model=...)`, and `OnlineCountVectorizer` (`labeler.represent.online`), the
vocabulary that grows and decays over `partial_fit`'s batches. `vectorizer_model` also takes
scikit-learn's own CountVectorizer."""

from labeler.represent.ctfidf import ClassTfidfTransformer
from labeler.represent.online import OnlineCountVectorizer

__all__ = ["ClassTfidfTransformer", "OnlineCountVectorizer"]
