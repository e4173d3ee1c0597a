"""The contract every keyword stage meets, and the vector helpers they share.

A stage turns one topic's c-TF-IDF candidates (and, for the embedding stages, the candidates'
vectors and the topic's centre) into its ranked words. One module per stage; the registry and
`describe_topics` are in describe.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Protocol

import numpy as np

from labeler.vectors import centres as topic_vectors
from labeler.vectors import unit

__all__ = ["Stage", "TopicInput", "Words", "topic_vectors", "unit"]

Words = list[tuple[str, float]]


@dataclass
class TopicInput:
    """What a stage sees of one topic."""

    topic: int
    candidates: Words  # c-TF-IDF words, best first (n_candidate_words of them)
    word_vectors: np.ndarray | None  # one row per candidate; None when no model embeds words
    centre: np.ndarray  # unit-length mean of the topic's document embeddings
    top_n: int
    diversity: float


class Stage(Protocol):
    """One keyword stage: `name` is its one name in the API, `key` its topics.json field,
    `title` its heading in reports, `column` its `get_topic_info()` column (BERTopic's)."""

    name: ClassVar[str]
    key: ClassVar[str]
    title: ClassVar[str]
    column: ClassVar[str]
    needs_vectors: ClassVar[bool]

    def words(self, topic: TopicInput) -> Words: ...
