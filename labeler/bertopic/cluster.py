"""BERTopic's `bertopic.cluster`: `BaseCluster`, the pass-through `hdbscan_model` that skips the
clustering, so `fit(docs, y=topics)` takes the given topics as they are (manual topic modelling,
`labeler.model.supervised`)."""

from labeler.cluster import BaseCluster

__all__ = ["BaseCluster"]
