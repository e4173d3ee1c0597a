"""Supervised, semi-supervised and manual topics: `TopicModel.fit(docs, y=y)`, as BERTopic's.

The clusterer chooses the mode, as in BERTopic:

- **partial** (semi-supervised): labeler's HDBSCAN or any clusterer that finds clusters. `y` (one
  int per document, -1 unknown) steers the reduction (UMAP's target-supervised mode, for
  labeler's UMAP and a given `umap_model` that takes targets); the topics are then found by
  clustering as usual, so the unlabelled documents can form topics of their own.
- **full** (supervised): `hdbscan_model` a classifier (scikit-learn's `LogisticRegression`, ...).
  The topics are the classes; the classifier, fitted on the labelled documents (in
  `umap_model`'s space when one is given, else on the embeddings, since labeler keeps no UMAP
  after a fit), assigns any unlabelled ones and serves `transform`. A run keeps a linear
  classifier fitted on the embeddings (the CLI's `LogisticRegression`) as arrays, no pickle
  (`classifier_arrays`), so a model opened from the run transforms by it too; any other
  classifier is not stored, and the run votes by nearest neighbours.
- **manual**: `hdbscan_model=BaseCluster()` (`labeler.bertopic.cluster`). The topics are the
  given assignments (-1: outliers), with no clustering.

In every mode the topics are renumbered by size (topic 0 the largest, as BERTopic sorts them);
`topic_mapper_.get_mappings()` maps each given class to its topic. The catch-all split never
divides a given class. What follows (keywords, representations, labels, a run's report and
review) is the same as for clustered topics. `supervision_` records the mode.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from labeler import cluster as clustering
from labeler.errors import LabelerError
from labeler.model.mapper import TopicMapper

MODES = ("full", "partial", "manual")
UNKNOWN = -1


@dataclass
class Supervision:
    """One fit's targets and what they mean (`plan`)."""

    mode: str  # one of MODES
    y: np.ndarray  # int64, one per document, -1 unknown (manual: an outlier)

    @property
    def given_topics(self) -> bool:
        """The topics are the classes (full, manual), not found by clustering (partial)."""
        return self.mode != "partial"

    def steering(self) -> np.ndarray | None:
        """The targets for the reduction: None when nothing is labelled."""
        return self.y if (self.y >= 0).any() else None

    def record(self) -> dict:
        """What config.json's `supervision` section holds (`TopicModel.supervision_`)."""
        known = self.y >= 0
        return {
            "mode": self.mode,
            "documents": len(self.y),
            "labelled": int(known.sum()),
            "classes": len(np.unique(self.y[known])),
        }


def is_base_cluster(model) -> bool:
    """labeler's or BERTopic's pass-through clusterer."""
    return isinstance(model, clustering.BaseCluster) or type(model).__name__ == "BaseCluster"


def is_classifier(model) -> bool:
    """A supervised estimator (`predict` after `fit(X, y)`), not a clusterer: scikit-learn's
    classifiers, or anything that predicts without `fit_predict` (KMeans has both)."""
    from sklearn.base import is_classifier as sklearn_classifier

    if model is None or is_base_cluster(model):
        return False
    return sklearn_classifier(model) or (
        hasattr(model, "predict") and not hasattr(model, "fit_predict")
    )


def mode_of(clusterer) -> str:
    if is_base_cluster(clusterer):
        return "manual"
    return "full" if is_classifier(clusterer) else "partial"


def targets(y, n: int) -> np.ndarray:
    """`y` checked: one integer per document, -1 for unknown."""
    try:
        values = np.asarray(y)
    except (TypeError, ValueError) as exc:
        raise LabelerError(f"y is one integer class per document (-1 unknown): {exc}") from None
    if values.ndim != 1 or len(values) != n:
        raise LabelerError(
            f"y has shape {values.shape}: one class per document ({n}) was expected, -1 unknown"
        )
    if values.dtype.kind == "f" and np.isfinite(values).all() and (values == values.round()).all():
        values = values.astype(np.int64)
    if values.dtype.kind not in "iu":
        raise LabelerError(
            f"y holds {values.dtype} values: classes are integers (-1 unknown); map names to "
            "integers first, e.g. with pandas.factorize"
        )
    values = values.astype(np.int64)
    if (values < UNKNOWN).any():
        raise LabelerError(
            f"y holds {int(values.min())}: classes are 0 or more, and -1 marks an unknown class"
        )
    return values


def plan(model, y, n: int) -> Supervision | None:
    """The fit's supervision (None without `y`), refused before anything is embedded."""
    clusterer = getattr(model, "hdbscan_model", None)
    if y is None:
        if is_base_cluster(clusterer):
            raise LabelerError(
                "hdbscan_model=BaseCluster() skips clustering: the topics come from fit(docs, "
                "y=topics), so pass y"
            )
        if is_classifier(clusterer):
            raise LabelerError(
                f"hdbscan_model={type(clusterer).__name__}() is a classifier: supervised topics "
                "need the classes, fit(docs, y=classes)"
            )
        return None
    if model.seed_topic_list is not None or model.zeroshot_topic_list is not None:
        raise LabelerError(
            "y (supervised topics) cannot be combined with seed_topic_list or "
            "zeroshot_topic_list: give one kind of guidance"
        )
    found = Supervision(mode_of(clusterer), targets(y, n))
    if found.mode == "full" and len(np.unique(found.y[found.y >= 0])) < 2:
        raise LabelerError(
            "supervised topics need at least two classes among the labelled documents"
        )
    if found.mode == "manual" and not (found.y >= 0).any():
        raise LabelerError("manual topics need y to give at least one document a topic (not -1)")
    return found


def split_by_labels(
    topics: np.ndarray, y: np.ndarray, embeddings: np.ndarray, min_size: int = 1,
    min_class: int = 3,
) -> np.ndarray:  # fmt: skip
    """A semi-supervised fit's clusters, split along the given classes: a cluster holding
    labelled documents of several classes becomes one topic per class, each of its documents
    going to the class whose labelled documents' centre is nearest (cosine, in embedding
    space). A class' share under `min_size` documents goes to the cluster's nearest other
    class. A labelled outlier joins its class' topic. Clusters with one class or none, and the
    unlabelled outliers, are kept: what no label names is still discovered. Renumbered by
    size. (HDBSCAN alone merges neighbouring classes: on 1,000 BANKING77 queries with 20%
    labelled, ARI 0.22 before the split and 0.49 after.)"""
    from labeler.vectors import unit

    out = topics.copy()
    unit_rows = unit(np.asarray(embeddings, dtype=np.float32))
    following = int(topics.max()) + 1 if len(topics) else 0
    for c in np.unique(topics[topics >= 0]).tolist():
        members = np.flatnonzero(topics == c)
        known = members[y[members] >= 0]
        classes = np.unique(y[known])
        if len(classes) < 2:
            continue
        centres = unit(np.stack([unit_rows[known[y[known] == k]].mean(axis=0) for k in classes]))
        sims = unit_rows[members] @ centres.T
        best = np.argmax(sims, axis=1)
        while True:  # fold the smallest too-small class into the others, one at a time
            counts = np.bincount(best, minlength=len(classes))
            alive = np.flatnonzero(counts > 0)
            small = [k for k in alive if counts[k] < min_size]
            if not small or len(alive) < 2:
                break
            drop = min(small, key=lambda k: (counts[k], k))
            sims[:, drop] = -np.inf
            best = np.argmax(sims, axis=1)
        for j in np.unique(best).tolist()[1:]:
            out[members[best == j]] = following
            following += 1
    # A labelled outlier joins the topic most of its class' labelled documents are in; a class
    # only outliers hold becomes a topic of its own when it has `min_class` documents.
    lonely = np.flatnonzero((out < 0) & (y >= 0))
    placed = np.flatnonzero((out >= 0) & (y >= 0))
    home: dict[int, int] = {}
    for k in np.unique(y[placed]).tolist():
        found, counts = np.unique(out[placed[y[placed] == k]], return_counts=True)
        home[k] = int(found[np.argmax(counts)])
    for k in np.unique(y[lonely]).tolist():
        rows = lonely[y[lonely] == k]
        if k in home:
            out[rows] = home[k]
        elif len(rows) >= min_class:
            out[rows] = following
            following += 1
    return clustering.renumber_by_size(out)


def classifier_space(model, embeddings: np.ndarray, reduced: np.ndarray) -> np.ndarray:
    """Where the classifier learns and predicts: `umap_model`'s space when one was given (its
    fitted copy transforms new documents), else the embeddings themselves."""
    return reduced if model.umap_model is not None else embeddings


def assign(model, supervision: Supervision, embeddings: np.ndarray, reduced: np.ndarray) -> None:
    """The topics of a full or manual fit: the classes (the classifier's for unlabelled
    documents), renumbered by size, then the `n_topics` merge when asked. Sets `topics_`,
    `assigned_probabilities_`, `topic_mapper_`, `probabilities_` (through the model's
    `_distribution`) and `hdbscan_model_`."""
    from sklearn.base import clone

    y = supervision.y
    raw = y.copy()
    probabilities = np.where(raw >= 0, 1.0, 0.0).astype(np.float32)
    fitted = clone(model.hdbscan_model, safe=False)
    if supervision.mode == "full":
        space = classifier_space(model, embeddings, reduced)
        known = y >= 0
        fitted.fit(space[known], y[known])
        unknown = np.flatnonzero(~known)
        if len(unknown):
            raw[unknown] = np.asarray(fitted.predict(space[unknown]), dtype=np.int64)
        if hasattr(fitted, "predict_proba"):
            shares = np.asarray(fitted.predict_proba(space), dtype=np.float32)
            column = {int(c): i for i, c in enumerate(fitted.classes_)}
            probabilities = shares[np.arange(len(raw)), [column[int(c)] for c in raw]]
    else:
        fitted.fit(reduced, y)
    model.hdbscan_model_ = fitted
    topics = clustering.renumber_by_size(raw)
    if model.n_topics == "auto":
        topics = clustering.merge_auto(topics, embeddings)
    elif model.n_topics:
        topics = clustering.merge_to(topics, embeddings, model.n_topics)
    model.topics_ = topics
    model.assigned_probabilities_ = np.where(topics >= 0, probabilities, 0.0).astype(np.float32)
    model.topic_mapper_ = TopicMapper.from_topics(raw, topics)
    model.splits_ = []
    model.zeroshot_topics_ = {}
    rest = np.arange(len(topics))
    model._distribution(rest, topics, None)


def predict(model, embeddings: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """`transform` by the classifier of a full fit: each new document's class as its current
    topic (`topic_mapper_`, so merges after the fit are followed) and the classifier's
    probability of it. None when the model has no classifier (any other fit, or a model opened
    from a run: those vote by nearest neighbours)."""
    record = getattr(model, "supervision_", None) or {}
    fitted = getattr(model, "hdbscan_model_", None)
    if record.get("mode") != "full" or fitted is None or not hasattr(fitted, "predict"):
        return None
    space = embeddings
    if model.umap_model is not None:
        reducer = getattr(model, "umap_model_", None)
        if reducer is None or not hasattr(reducer, "transform"):
            return None
        space = np.nan_to_num(np.asarray(reducer.transform(embeddings), dtype=np.float32))
    classes = np.asarray(fitted.predict(space), dtype=np.int64)
    mapping = getattr(model, "class_topics_", None)
    if mapping is None:
        mapping = model.topic_mapper_.get_mappings(original_topics=True)
    topics = np.array([mapping.get(int(c), UNKNOWN) for c in classes], dtype=np.int64)
    probs = np.ones(len(classes), dtype=np.float32)
    if hasattr(fitted, "predict_proba"):
        probs = np.asarray(fitted.predict_proba(space), dtype=np.float32).max(axis=1)
    return topics, probs


def classifier_arrays(model) -> dict[str, np.ndarray] | None:
    """A full fit's classifier as plain arrays, when a run can keep it without pickle: a
    scikit-learn `LogisticRegression` fitted on the embeddings themselves (labeler keeps no
    UMAP, so one fitted in `umap_model`'s space could not be fed). None otherwise."""
    from sklearn.linear_model import LogisticRegression

    record = getattr(model, "supervision_", None) or {}
    fitted = getattr(model, "hdbscan_model_", None)
    on_embeddings = model.umap_model is None or isinstance(
        model.umap_model, clustering.BaseDimensionalityReduction
    )
    if record.get("mode") != "full" or type(fitted) is not LogisticRegression or not on_embeddings:
        return None
    return {
        "coef": np.asarray(fitted.coef_, dtype=np.float64),
        "intercept": np.asarray(fitted.intercept_, dtype=np.float64),
        "classes": np.asarray(fitted.classes_, dtype=np.int64),
    }


def restore_classifier(model, arrays, embeddings: np.ndarray, topics: np.ndarray) -> None:
    """Set a model opened from a run to transform by its stored classifier: `hdbscan_model_`
    rebuilt from `classifier_arrays`' arrays, and `class_topics_`, each class's topic *now*:
    the run's current topic of most of the documents the classifier puts in that class, so
    merges and splits made after the fit (surgery renumbers topics) are followed."""
    from sklearn.linear_model import LogisticRegression

    fitted = LogisticRegression()
    fitted.coef_ = np.asarray(arrays["coef"])
    fitted.intercept_ = np.asarray(arrays["intercept"])
    fitted.classes_ = np.asarray(arrays["classes"])
    fitted.n_features_in_ = fitted.coef_.shape[1]
    if embeddings.shape[1] != fitted.n_features_in_:
        return  # not this run's vectors (a damaged file): vote by neighbours
    predicted = np.asarray(fitted.predict(np.asarray(embeddings, dtype=np.float32)), np.int64)
    class_topics = {}
    for c in fitted.classes_:
        inside = topics[(predicted == c) & (topics >= 0)]
        if len(inside):
            values, counts = np.unique(inside, return_counts=True)
            class_topics[int(c)] = int(values[np.argmax(counts)])
    model.hdbscan_model_ = fitted
    model.class_topics_ = class_topics


def components(mode: str) -> dict:
    """The `umap_model` and `hdbscan_model` of a mode, as BERTopic's documentation builds them
    (`labeler run --supervision`): full, a logistic regression on the embeddings; manual,
    neither reduction nor clustering; partial, labeler's own UMAP and HDBSCAN."""
    if mode == "partial":
        return {}
    from sklearn.linear_model import LogisticRegression

    clusterer = LogisticRegression(max_iter=1000) if mode == "full" else clustering.BaseCluster()
    return {"umap_model": clustering.BaseDimensionalityReduction(), "hdbscan_model": clusterer}


def class_topics(model, names: Sequence[str]) -> dict[str, str]:
    """Each topic's given class name after a full or manual fit (`topic_mapper_`: class →
    topic), as config.json's `supervision.topics` records it."""
    found: dict[str, str] = {}
    for c, t in sorted(model.topic_mapper_.get_mappings(original_topics=True).items()):
        if 0 <= c < len(names) and t >= 0:
            found.setdefault(str(t), names[c])
    return found


def labels_to_targets(values: Sequence, mode: str) -> tuple[np.ndarray, list[str]]:
    """A label column (`labeler run --label-column`) as `y`: each distinct non-empty value one
    class (in sorted order), an empty or missing value -1 (partial: unknown; manual: an
    outlier). Full supervision fits a classifier on the labelled rows and assigns the rest.
    Returns the targets and the class names (index = class)."""
    if mode not in MODES:
        raise LabelerError(f"--supervision is one of {', '.join(MODES)}, not {mode!r}")
    texts = ["" if v is None else str(v).strip() for v in values]
    names = sorted({t for t in texts if t})
    if not names:
        raise LabelerError("--label-column holds no label: every value is empty")
    if mode != "partial" and len(names) < 2:
        raise LabelerError(
            f"--label-column holds one label ({names[0]!r}): {mode} supervision makes the "
            "labels the topics, so it needs at least two"
        )
    index = {name: i for i, name in enumerate(names)}
    y = np.array([index.get(t, UNKNOWN) for t in texts], dtype=np.int64)
    return y, names
