"""Representative documents: central to the topic and different from each other.

Chosen in the document-embedding space, not for sharing the most words (BERTopic's c-TF-IDF
sampling picks lexical look-alikes).
"""

from __future__ import annotations

import numpy as np

from labeler.defaults import MMR_DIVERSITY, N_REPRESENTATIVE_DOCS
from labeler.represent._base import unit
from labeler.represent.mmr import mmr


def representative_documents(
    embeddings: np.ndarray,
    topics: np.ndarray,
    topic: int,
    centre: np.ndarray,
    n: int = N_REPRESENTATIVE_DOCS,
    pool: int = 30,
    diversity: float = MMR_DIVERSITY,
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
