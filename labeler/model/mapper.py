"""BERTopic's `topic_mapper_`: how the topics were renumbered."""

from __future__ import annotations

from collections.abc import Sequence

from labeler.represent import (
    OUTLIER,
)


class TopicMapper:
    """BERTopic's record of how the topics were renumbered (`TopicModel.topic_mapper_`):
    `mappings_` holds one row per topic, its id at each step, the first column before the fit's
    merge to `n_topics`, the last now."""

    def __init__(self, topics: Sequence[int] = ()):
        self.mappings_ = [[t, t] for t in sorted({int(t) for t in topics})]

    @classmethod
    def from_topics(cls, before: Sequence[int], after: Sequence[int]) -> TopicMapper:
        """From each document's topic before and after a merge."""
        mapper = cls()
        pairs = sorted({(int(b), int(a)) for b, a in zip(before, after)})
        mapper.mappings_ = [[b, a] for b, a in pairs]
        return mapper

    def add_mappings(self, mappings: dict[int, int]) -> None:
        """A new last column: each topic's current id mapped (-1 when `mappings` drops it)."""
        for row in self.mappings_:
            row.append(int(mappings.get(row[-1], OUTLIER)))

    def get_mappings(self, original_topics: bool = True) -> dict[int, int]:
        """Topic → current topic, from the first column (`original_topics`) or the one before
        the last."""
        return {row[0 if original_topics else -2]: row[-1] for row in self.mappings_}
