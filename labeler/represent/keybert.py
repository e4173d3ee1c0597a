"""KeyBERT-inspired: the c-TF-IDF candidates whose meaning is closest to the topic's centre."""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from labeler.represent._base import TopicInput, Words, unit


def rerank_by_embedding(
    words: list[tuple[str, float]], word_vectors: np.ndarray, centre: np.ndarray, top_n: int
) -> list[tuple[str, float]]:
    """KeyBERT-inspired: keep the c-TF-IDF candidates whose meaning is closest to the topic."""
    if not words:
        return []
    sims = unit(word_vectors) @ centre
    order = np.argsort(-sims, kind="stable")[:top_n]
    return [(words[i][0], round(float(sims[i]), 4)) for i in order]


class KeyBERTStage:
    name: ClassVar[str] = "keybert"
    key: ClassVar[str] = "keywords_keybert"
    title: ClassVar[str] = "KeyBERT-inspired"
    column: ClassVar[str] = "KeyBERT"
    needs_vectors: ClassVar[bool] = True

    def words(self, topic: TopicInput) -> Words:
        return rerank_by_embedding(topic.candidates, topic.word_vectors, topic.centre, topic.top_n)
