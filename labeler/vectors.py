"""Unit vectors and topic centres: the one copy every layer uses.

Cosine similarity is a dot product of unit vectors throughout labeler (clustering, keywords,
label checks, exemplars, surgery, the report's charts), so the normalisation must be the same
everywhere: a zero vector stays zero instead of becoming NaN, and rows are float32 like the
embeddings they come from. Five modules had their own copy, with three different epsilons.
"""

from __future__ import annotations

import numpy as np


def unit(x: np.ndarray) -> np.ndarray:
    """`x` (one vector or one per row) scaled to length 1, as float32; zero rows stay zero."""
    x = np.asarray(x, dtype=np.float32)
    if x.ndim == 1:
        n = float(np.linalg.norm(x))
        return x / n if n > 0 else x
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return x / norms


def centres(embeddings: np.ndarray, topics: np.ndarray) -> dict[int, np.ndarray]:
    """Each topic's centre: the unit-length mean of its (unit-length) document embeddings."""
    normed = unit(embeddings)
    topics = np.asarray(topics)
    return {int(t): unit(normed[topics == t].mean(axis=0)) for t in np.unique(topics)}


def centre_rows(embeddings: np.ndarray, topics: np.ndarray, ids) -> np.ndarray:
    """The centres of the topics `ids`, one unit row each in that order (a (0, dim) array for
    none): what merging, reducing, reassigning and the topic distribution compare with."""
    normed = unit(embeddings)
    topics = np.asarray(topics)
    rows = [normed[topics == t].mean(axis=0) for t in ids]
    return unit(np.stack(rows)) if rows else np.zeros((0, normed.shape[1]), dtype=np.float32)
