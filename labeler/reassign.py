"""The rules that move documents between topics, on arrays: documents' topics in, new topics out.

One implementation for both kinds of topic surgery: `labeler.surgery` plans its changes to a
saved run with them (`plan_merge`, `plan_reduce`, `plan_outliers`), and `TopicModel`'s
`merge_topics`, `reduce_topics` and `reduce_outliers` change a fitted model in memory with them.
What each caller adds is its own: the run keeps topic ids stable and records a revision, the
model renumbers its topics by size as BERTopic does.

Nothing here renumbers: a merged group keeps the id of its first topic (`merged`), a reduced
group the id of its largest (`reduced`), and a reassigned outlier joins a topic that exists.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from labeler import vectors
from labeler.cluster import auto_merge_groups, merge_groups
from labeler.errors import LabelerError

OUTLIER = -1
STRATEGIES = ("embeddings", "c-tf-idf", "probabilities")


def topic_ids(topics: np.ndarray) -> list[int]:
    """The topics present, outliers excluded, in id order."""
    return sorted(int(t) for t in np.unique(topics) if t >= 0)


# ---------------------------------------------------------------------------- merging
def merged(topics: np.ndarray, groups: Iterable[Sequence[int]]) -> np.ndarray:
    """Each group's other topics join its first one, which keeps its id; topics in no group
    stay as they are. The callers check that the ids exist and that no topic is in two groups."""
    topics = np.asarray(topics, dtype=np.int64)
    after = topics.copy()
    for group in groups:
        keep, *others = [int(t) for t in group]
        after[np.isin(topics, others)] = keep
    return after


def reduce_groups(embeddings: np.ndarray, topics: np.ndarray, to: int | str) -> list[list[int]]:
    """The groups a reduce to `to` topics merges (`cluster.merge_groups`: average linkage on the
    cosine between topic centroids; `to="auto"`: `cluster.auto_merge_groups`), each its largest
    topic first (ties: the lower id). Topics left alone are groups of one."""
    topics = np.asarray(topics, dtype=np.int64)
    if to == "auto":
        found = auto_merge_groups(topics, np.asarray(embeddings))
    else:
        found = merge_groups(topics, np.asarray(embeddings), int(to))
    by_group: dict[int, list[int]] = {}
    for t, g in found.items():
        by_group.setdefault(g, []).append(int(t))
    seen = {t for members in by_group.values() for t in members}
    sizes = {t: int((topics == t).sum()) for t in topic_ids(topics)}
    groups = []
    for members in [*by_group.values(), *([t] for t in sizes if t not in seen)]:
        keep = max(members, key=lambda t: (sizes[t], -t))
        groups.append([keep, *sorted(t for t in members if t != keep)])
    return groups


def reduced(embeddings: np.ndarray, topics: np.ndarray, to: int | str) -> np.ndarray:
    """The most similar topics merged until `to` remain (`reduce_groups`); each group keeps its
    largest topic's id, topics left alone keep theirs."""
    return merged(topics, reduce_groups(embeddings, topics, to))


# ---------------------------------------------------------------------------- outliers
@dataclass
class Matches:
    """Each outlier's best topic under a strategy."""

    rows: np.ndarray  # the outliers' positions among the documents
    nearest: np.ndarray  # the topic id each would join
    similarity: np.ndarray  # how well: a cosine similarity, or a probability
    rank: np.ndarray  # the order to move them in, highest first


def by_embeddings(
    embeddings: np.ndarray, topics: np.ndarray, ids: Sequence[int], rows: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Cosine between each row's embedding and each topic's centroid: (position in `ids` of
    the nearest topic, its similarity)."""
    centres = vectors.centre_rows(embeddings, topics, ids)
    sims = vectors.unit(embeddings[rows]) @ centres.T
    return sims.argmax(axis=1), sims.max(axis=1)


def by_ctfidf(
    texts: list[str], topics: np.ndarray, ids: Sequence[int], rows: np.ndarray, ctfidf
) -> tuple[np.ndarray, np.ndarray]:
    """Cosine between each row's words (term frequency × the c-TF-IDF's idf) and each topic's
    c-TF-IDF row; `ctfidf`: an unfitted `labeler.represent.CTFIDF` (the vocabulary's options),
    fitted here on `texts` and `topics`. NaN similarity: none of the document's words is in the
    vocabulary."""
    from labeler.represent.ctfidf import ctfidf_weights

    model = ctfidf
    model.fit(texts, topics)
    nan = np.full(len(rows), np.nan)
    if model.vectorizer_ is None:
        return np.zeros(len(rows), dtype=np.int64), nan
    counts = model.vectorizer_.transform([texts[i] for i in rows])
    weights = ctfidf_weights(model.counts_)  # rows: topics in model.topic_ids_ order
    frequency = np.asarray(model.counts_.sum(axis=0)).ravel()
    mean_words = float(np.asarray(model.counts_.sum(axis=1)).mean())
    idf = np.log(1.0 + mean_words / np.maximum(frequency, 1e-12)).astype(np.float32)
    doc = counts.multiply(idf).tocsr().astype(np.float32)
    doc_norm = np.sqrt(np.asarray(doc.multiply(doc).sum(axis=1)).ravel())
    position = {int(t): i for i, t in enumerate(model.topic_ids_)}
    topic_rows = weights[[position[t] for t in ids]]
    topic_norm = np.sqrt(np.asarray(topic_rows.multiply(topic_rows).sum(axis=1)).ravel())
    sims = np.asarray((doc @ topic_rows.T).todense())
    sims = sims / np.maximum(doc_norm[:, None], 1e-12) / np.maximum(topic_norm[None, :], 1e-12)
    confidence = sims.max(axis=1)
    confidence[doc_norm == 0] = np.nan
    return sims.argmax(axis=1), confidence


def outlier_matches(
    topics: np.ndarray,
    strategy: str,
    *,
    embeddings: np.ndarray | None = None,
    texts: list[str] | None = None,
    ctfidf=None,
    probabilities: np.ndarray | None = None,
) -> Matches:
    """Each outlier's nearest topic by `strategy`:

    - "embeddings": cosine to each topic's centroid (`embeddings` needed);
    - "c-tf-idf": cosine between the document's words and each topic's c-TF-IDF (`texts` and
      `ctfidf` needed); documents with no known word go by embeddings, ranked after all others;
    - "probabilities": the most probable topic of `probabilities`, the (n_documents,
      n_topics) distribution whose columns are the topics in id order, outliers excluded.
    """
    if strategy not in STRATEGIES:
        raise LabelerError(f"strategy {strategy!r}: choose one of {', '.join(STRATEGIES)}")
    topics = np.asarray(topics, dtype=np.int64)
    rows = np.flatnonzero(topics == OUTLIER)
    ids = topic_ids(topics)
    if not ids or not len(rows):
        empty = np.zeros(0)
        return Matches(rows[:0], empty.astype(np.int64), empty, empty)
    if strategy == "probabilities":
        matrix = np.asarray(probabilities, dtype=np.float64)
        if matrix.ndim != 2 or matrix.shape != (len(topics), len(ids)):
            raise LabelerError(
                f"probabilities of shape {matrix.shape}: the probabilities strategy needs one "
                f"row per document and one column per topic ({len(topics)}, {len(ids)}), as "
                "calculate_probabilities=True gives"
            )
        best = matrix[rows].argmax(axis=1)
        similarity = matrix[rows].max(axis=1)
        return Matches(rows, np.asarray(ids)[best], similarity, similarity)
    nearest, similarity = by_embeddings(embeddings, topics, ids, rows)
    rank = similarity
    if strategy == "c-tf-idf":
        by_words, words_similarity = by_ctfidf(texts, topics, ids, rows, ctfidf)
        known = ~np.isnan(words_similarity)
        nearest = np.where(known, by_words, nearest)
        similarity = np.where(known, words_similarity, similarity)
        # documents with known words first (by their word similarity), then the rest
        rank = np.where(known, words_similarity + 2.0, rank)
    return Matches(rows, np.asarray(ids)[nearest], similarity, rank)


def outliers_reassigned(
    topics: np.ndarray,
    matches: Matches,
    *,
    threshold: float | None = None,
    limit: int | None = None,
) -> np.ndarray:
    """The topics after moving outliers to their matches, best ranked first: only matches whose
    similarity is above 0 and at least `threshold` (None: every match), at most `limit` of them
    (None: all)."""
    after = np.asarray(topics, dtype=np.int64).copy()
    order = np.argsort(-matches.rank, kind="stable")
    if threshold is not None:
        similarity = matches.similarity[order]
        order = order[(similarity > 0) & (similarity >= float(threshold))]
    if limit is not None:
        order = order[: max(int(limit), 0)]
    after[matches.rows[order]] = matches.nearest[order]
    return after


# ---------------------------------------------------------------------------- new documents
def knn_vote(
    queries: np.ndarray, base: np.ndarray, base_topics: np.ndarray, k: int = 15
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Each query's topic by a similarity-weighted vote of its `k` nearest `base` rows (cosine;
    the outliers vote too, so a query among outliers stays one): (topics, the winner's share of
    the votes, the neighbours' positions in `base`, their similarities). `TopicModel.transform`
    and `labeler update` assign new documents with it."""
    from labeler.embedding.knn import top_k

    queries = vectors.unit(np.asarray(queries, dtype=np.float32))
    near_sims, nearest = top_k(queries, vectors.unit(np.asarray(base, dtype=np.float32)), k)
    base_topics = np.asarray(base_topics, dtype=np.int64)
    topics = np.empty(len(queries), dtype=np.int64)
    shares = np.empty(len(queries), dtype=np.float32)
    for row, idx in enumerate(nearest):
        weights = np.clip(near_sims[row], 0, None) + 1e-6
        votes: dict[int, float] = {}
        for t, w in zip(base_topics[idx], weights):
            votes[int(t)] = votes.get(int(t), 0.0) + float(w)
        best = max(votes, key=votes.get)
        topics[row] = best
        shares[row] = votes[best] / sum(votes.values())
    return topics, shares, nearest, near_sims
