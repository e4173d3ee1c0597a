"""BERTopic's `bertopic.representation`, for `BERTopic(representation_model=...)`: the models
labeler runs on its own keyword stages (`labeler.represent.chain`)."""

from labeler.represent.chain import KeyBERTInspired, MaximalMarginalRelevance

__all__ = ["KeyBERTInspired", "MaximalMarginalRelevance"]
