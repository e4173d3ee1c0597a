"""MMR: relevant keywords that are not synonyms of each other (maximal marginal relevance)."""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from labeler.represent._base import TopicInput, Words, unit


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


class MMRStage:
    name: ClassVar[str] = "mmr"
    key: ClassVar[str] = "keywords_mmr"
    title: ClassVar[str] = "MMR"
    column: ClassVar[str] = "MMR"
    needs_vectors: ClassVar[bool] = True

    def words(self, topic: TopicInput) -> Words:
        return diversify(
            topic.candidates, topic.word_vectors, topic.centre, topic.top_n, topic.diversity
        )
