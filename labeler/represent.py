"""Topic representations past c-TF-IDF: representative documents, KeyBERT-inspired, MMR.

All three work in the document-embedding space, so representative documents are chosen for being
central and different from each other, not for sharing the most words (BERTopic's c-TF-IDF
sampling picks lexical look-alikes).
"""

from __future__ import annotations

import numpy as np


def unit(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    if x.ndim == 1:
        n = float(np.linalg.norm(x))
        return x / n if n > 0 else x
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return x / norms


def topic_vectors(embeddings: np.ndarray, topics: np.ndarray) -> dict[int, np.ndarray]:
    """Unit-length mean of each topic's (unit-length) document embeddings."""
    normed = unit(embeddings)
    return {int(t): unit(normed[topics == t].mean(axis=0)) for t in np.unique(topics)}


def mmr(query: np.ndarray, candidates: np.ndarray, top_n: int, diversity: float) -> list[int]:
    """Maximal marginal relevance: indices of `candidates`, in selection order."""
    if len(candidates) == 0:
        return []
    cand = unit(candidates)
    relevance = cand @ unit(query)
    chosen = [int(np.argmax(relevance))]
    pairwise = cand @ cand.T
    remaining = [i for i in range(len(cand)) if i != chosen[0]]
    while remaining and len(chosen) < top_n:
        redundancy = pairwise[np.ix_(remaining, chosen)].max(axis=1)
        scores = (1 - diversity) * relevance[remaining] - diversity * redundancy
        best = remaining[int(np.argmax(scores))]
        chosen.append(best)
        remaining.remove(best)
    return chosen


def representative_documents(
    embeddings: np.ndarray,
    topics: np.ndarray,
    topic: int,
    centre: np.ndarray,
    n: int = 5,
    pool: int = 30,
    diversity: float = 0.3,
    duplicate_threshold: float = 0.97,
) -> list[int]:
    """Documents near the topic centre, diversified with MMR and with near-duplicates skipped."""
    members = np.flatnonzero(topics == topic)
    if len(members) == 0:
        return []
    vectors = unit(embeddings[members])
    closeness = vectors @ centre
    shortlist = members[np.argsort(-closeness, kind="stable")[: max(pool, n)]]
    # Collapse near-identical texts first so the pool offers n genuinely different documents.
    kept: list[int] = []
    for idx in shortlist:
        v = unit(embeddings[idx])
        if all(float(v @ unit(embeddings[k])) < duplicate_threshold for k in kept):
            kept.append(int(idx))
    order = mmr(centre, embeddings[kept], n, diversity)
    return [kept[i] for i in order]


def rerank_by_embedding(
    words: list[tuple[str, float]], word_vectors: np.ndarray, centre: np.ndarray, top_n: int
) -> list[tuple[str, float]]:
    """KeyBERT-inspired: keep the c-TF-IDF candidates whose meaning is closest to the topic."""
    if not words:
        return []
    sims = unit(word_vectors) @ centre
    order = np.argsort(-sims, kind="stable")[:top_n]
    return [(words[i][0], round(float(sims[i]), 4)) for i in order]


def diversify(
    words: list[tuple[str, float]],
    word_vectors: np.ndarray,
    centre: np.ndarray,
    top_n: int,
    diversity: float,
) -> list[tuple[str, float]]:
    """MMR over the candidates: relevant words that are not synonyms of each other."""
    if not words:
        return []
    sims = unit(word_vectors) @ centre
    return [
        (words[i][0], round(float(sims[i]), 4)) for i in mmr(centre, word_vectors, top_n, diversity)
    ]
