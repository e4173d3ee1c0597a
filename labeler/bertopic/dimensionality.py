"""BERTopic's `bertopic.dimensionality`: `BaseDimensionalityReduction`, the pass-through
`umap_model` that skips the reduction (`labeler.cluster`)."""

from labeler.cluster import BaseDimensionalityReduction

__all__ = ["BaseDimensionalityReduction"]
