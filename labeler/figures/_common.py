"""What every figure asks of the model: which topics, their names, the documents and their
2-d positions. The figures take a fitted `TopicModel` (duck-typed: this package sits beside
`labeler.model` in the core layer and never imports it)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from labeler.errors import LabelerError
from labeler.represent import OUTLIER, STAGES, keyword_label, unit


def check_fitted(model) -> None:
    if not hasattr(model, "topics_"):
        raise LabelerError("this TopicModel is not fitted yet: call fit() first")


def real_topics(model) -> list[int]:
    """The topic ids, outliers (-1) left out, in id order."""
    check_fitted(model)
    return sorted(int(t) for t in model.topic_ids_ if t != OUTLIER)


def by_size(model) -> list[int]:
    """The topics, largest first (ties by id), outliers left out: BERTopic's `top_n_topics`."""
    sizes = model.topic_sizes_
    return sorted(real_topics(model), key=lambda t: (-sizes[t], t))


def select(
    model,
    topics: Sequence[int] | None = None,
    top_n_topics: int | None = None,
    default: int | None = None,
    outliers: bool = False,
) -> list[int]:
    """The topics a figure shows, in id order: `topics` if given (each must exist; the
    outliers, -1, are left out unless `outliers`), else the `top_n_topics` largest, else the
    `default` largest (None: all of them)."""
    check_fitted(model)
    if topics is not None:
        wanted = [int(t) for t in ([topics] if np.isscalar(topics) else topics)]
        if not outliers:
            wanted = [t for t in wanted if t != OUTLIER]
        known = set(model.topic_ids_) if outliers else set(real_topics(model))
        unknown = [t for t in wanted if t not in known]
        if unknown:
            raise LabelerError(
                f"no topic {', '.join(map(str, unknown))} in this model: its topics are "
                f"{_span(sorted(known))}"
            )
        chosen = sorted(set(wanted))
    else:
        n = top_n_topics if top_n_topics is not None else default
        if n is not None and int(n) < 1:
            raise LabelerError(f"top_n_topics must be at least 1, not {n}")
        ranked = by_size(model)
        chosen = sorted(ranked if n is None else ranked[: int(n)])
    if not chosen:
        raise LabelerError("this model has no topics to draw (every document is an outlier)")
    return chosen


def _span(ids: list[int]) -> str:
    if not ids:
        return "none"
    if ids == list(range(ids[0], ids[-1] + 1)) and len(ids) > 3:
        return f"{ids[0]} to {ids[-1]}"
    return ", ".join(map(str, ids))


def custom_names(model) -> dict[int, str]:
    """The model's own labels: `custom_labels_` (as BERTopic's `set_topic_labels` sets it: a
    list in topic order, outliers first, or a dict by topic) where there is one, else `labels_`
    (keyword labels after a fit, the current LLM or review labels for a model from a run)."""
    labels = {int(t): str(v) for t, v in getattr(model, "labels_", {}).items()}
    custom = getattr(model, "custom_labels_", None)
    if isinstance(custom, dict):
        labels.update({int(t): str(v) for t, v in custom.items()})
    elif custom is not None:
        ids = sorted(model.topic_ids_)
        custom = list(custom)
        if len(custom) == len(ids):
            labels.update({t: str(v) for t, v in zip(ids, custom)})
        elif len(custom) == len(ids) - (OUTLIER in ids):
            labels.update({t: str(v) for t, v in zip([t for t in ids if t != OUTLIER], custom)})
        else:
            raise LabelerError(
                f"custom_labels_ has {len(custom)} labels for {len(ids)} topics: one per topic, "
                "in topic order"
            )
    return labels


def names(model, ids: Sequence[int], custom_labels: bool | str = False) -> dict[int, str]:
    """Each topic's name in a figure, as BERTopic's `custom_labels`:

    - False: the keyword name from its c-TF-IDF words (`3_card_arrive_new`);
    - True: the model's own labels (`custom_names`);
    - a stage name ("ctfidf", "keybert", "mmr"; BERTopic's aspect name): that stage's words.
    """
    if isinstance(custom_labels, str):
        from labeler.represent import stage

        try:
            name = stage(custom_labels).name
        except KeyError as exc:
            raise LabelerError(str(exc.args[0])) from exc
        words = model.keywords_.get(name)
        if words is None:
            raise LabelerError(f"this model has no {name} keywords (stages: {stage_list(model)})")
        return {t: keyword_label(t, words.get(t, [])) for t in ids}
    if custom_labels:
        own = custom_names(model)
        return {t: own.get(t) or keyword_label(t, _ctfidf(model, t)) for t in ids}
    return {t: keyword_label(t, _ctfidf(model, t)) for t in ids}


def stage_words(model, topic: int, name: str = "ctfidf") -> list:
    """A topic's (word, weight) pairs for one keyword stage."""
    from labeler.represent import stage

    try:
        name = stage(name).name
    except KeyError as exc:
        raise LabelerError(str(exc.args[0])) from exc
    if name not in model.keywords_:
        raise LabelerError(f"this model has no {name} keywords (stages: {stage_list(model)})")
    return list(model.keywords_[name].get(topic, []))


def stage_list(model) -> str:
    return ", ".join(s.name for s in STAGES if s.name in model.keywords_) or "none"


def _ctfidf(model, topic: int) -> list:
    return list(model.keywords_.get("ctfidf", {}).get(topic, []))


def words(model, topic: int, n: int = 5) -> list[str]:
    return [w for w, _ in _ctfidf(model, topic)[:n]]


def vectors(model, ids: Sequence[int], use_ctfidf: bool = False) -> np.ndarray:
    """One unit row per topic: its centre in embedding space, or its c-TF-IDF row."""
    if use_ctfidf:
        ctfidf = model.ctfidf_
        rows = [ctfidf.row(t) for t in ids]
        width = ctfidf.c_tf_idf_.shape[1]
        dense = np.zeros((len(ids), width), dtype=np.float32)
        for i, r in enumerate(rows):
            if r is not None:
                dense[i] = ctfidf.c_tf_idf_[r].toarray().ravel()
        return unit(dense)
    return unit(np.stack([model.topic_centres_[t] for t in ids]))


# ------------------------------------------------------------------------ documents and maps
def documents(model, docs: Sequence[str] | None) -> list[str]:
    """The fitted documents (the maps draw those, with their topics), or the same number given
    again as BERTopic's `docs` argument."""
    check_fitted(model)
    if docs is None:
        return list(model.documents_)
    docs = [str(d) for d in docs]
    if len(docs) != len(model.topics_):
        raise LabelerError(
            f"{len(docs)} documents for a model fitted on {len(model.topics_)}: the document "
            "figures draw the fitted documents (pass those, or none)"
        )
    return docs


def positions(model, n: int, embeddings=None, reduced_embeddings=None) -> np.ndarray:
    """2-d positions: `reduced_embeddings` as given, or `embeddings` reduced to 2-d with UMAP
    (seeded), or the fit's own map (`layout_`, the report's), else its embeddings reduced."""
    if reduced_embeddings is not None:
        xy = np.asarray(reduced_embeddings, dtype=np.float64)
        if xy.ndim != 2 or xy.shape[0] != n or xy.shape[1] < 2:
            raise LabelerError(f"reduced_embeddings have shape {xy.shape}, expected ({n}, 2)")
        return xy[:, :2]
    if embeddings is not None:
        embeddings = np.asarray(embeddings, dtype=np.float32)
        if embeddings.ndim != 2 or embeddings.shape[0] != n:
            raise LabelerError(f"embeddings have shape {embeddings.shape}, expected ({n}, dim)")
        return _reduce(model, embeddings)
    layout = getattr(model, "layout_", None)
    if layout is not None and len(layout) == n and np.abs(layout).sum() > 0:
        return np.asarray(layout, dtype=np.float64)
    return _reduce(model, np.asarray(model.embeddings_, dtype=np.float32))  # fit with layout=False


def _reduce(model, embeddings: np.ndarray) -> np.ndarray:
    from labeler.cluster import reduce

    reduced, _ = reduce(
        embeddings, getattr(model, "n_neighbors", 15), 2, getattr(model, "seed", 42),
        with_layout=False,
    )  # fmt: skip
    return np.asarray(reduced, dtype=np.float64)


def sample_indices(topics: np.ndarray, sample: float | None, seed: int) -> np.ndarray:
    """BERTopic's `sample`: the share of each topic's documents kept (a topic of fewer than
    100 documents is kept whole), drawn with the model's seed; None or above 1 keeps all."""
    n = len(topics)
    if sample is None or sample >= 1:
        return np.arange(n)
    if sample <= 0:
        raise LabelerError(f"sample must be above 0 (a share of each topic), not {sample}")
    rng = np.random.default_rng(seed)
    keep = []
    for t in np.unique(topics):
        members = np.flatnonzero(topics == t)
        size = len(members) if len(members) < 100 else max(1, int(len(members) * sample))
        keep.append(rng.choice(members, size=size, replace=False))
    return np.sort(np.concatenate(keep))


def hover(doc: str, doc_id=None, limit: int = 300) -> str:
    """A document's hover text: its id (when not a row number) in italics, then its text."""
    from labeler.figures._style import esc, short, wrap

    head = "" if doc_id is None else f"<i>{esc(short(doc_id, 60))}</i><br>"
    return head + wrap(short(doc, limit), 60)
