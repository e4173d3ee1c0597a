"""BERTopic's PartOfSpeech representation: the topic's keywords whose parts of speech match a
pattern (by default an adjective and a noun, a noun, or an adjective), tagged by a spaCy pipeline.

spaCy is optional: labeler does not depend on it, and its pipelines are downloaded separately
(`python -m spacy download en_core_web_sm`), so without them the model says so when it is made.
What differs from BERTopic: the candidates are the topic's c-TF-IDF words (or the previous
chain step's), each tagged on its own, rather than phrases matched inside a few documents that
hold the keywords; a candidate keeps its score and its rank.
"""

from __future__ import annotations

from typing import ClassVar

from labeler.errors import LabelerError
from labeler.represent._base import TopicInput, Words

DEFAULT_PATTERNS = [[{"POS": "ADJ"}, {"POS": "NOUN"}], [{"POS": "NOUN"}], [{"POS": "ADJ"}]]


def pos_sequences(patterns) -> set[tuple[str, ...]]:
    """spaCy Matcher patterns as sequences of tags (only the POS attribute is read)."""
    sequences = set()
    for pattern in patterns:
        if not isinstance(pattern, (list, tuple)) or not pattern:
            raise LabelerError("pos_patterns: a list of patterns, each a list of {'POS': tag}")
        tags = []
        for token in pattern:
            if not isinstance(token, dict) or set(token) != {"POS"}:
                raise LabelerError(
                    f"pos_patterns: labeler matches parts of speech only ({{'POS': 'NOUN'}}), "
                    f"not {token!r}"
                )
            tags.append(str(token["POS"]).upper())
        sequences.add(tuple(tags))
    return sequences


class POSStage:
    """A keyword stage that keeps the candidates whose tags match a pattern."""

    name: ClassVar[str] = "pos"
    key: ClassVar[str] = "keywords_pos"
    title: ClassVar[str] = "Part of speech"
    column: ClassVar[str] = "PartOfSpeech"
    needs_vectors: ClassVar[bool] = False

    def __init__(self, nlp, sequences: set[tuple[str, ...]]):
        self.nlp = nlp
        self.sequences = sequences

    def words(self, topic: TopicInput) -> Words:
        texts = [w for w, _ in topic.candidates]
        kept = []
        for (word, score), doc in zip(topic.candidates, self.nlp.pipe(texts)):
            if tuple(t.pos_ for t in doc) in self.sequences:
                kept.append((word, score))
            if len(kept) == topic.top_n:
                break
        return kept


def load_pipeline(model):
    """A spaCy pipeline by name, or the one given; a clear error without spaCy or it."""
    if not isinstance(model, str):
        if not callable(getattr(model, "pipe", None)):
            raise LabelerError(
                f"PartOfSpeech: model is a spaCy pipeline or its name, not {type(model).__name__}"
            )
        return model
    try:
        import spacy
    except ImportError as exc:
        raise LabelerError(
            "PartOfSpeech needs spaCy, which labeler does not install: `pip install spacy`, "
            f"then `python -m spacy download {model}` (or use KeyBERTInspired or "
            "MaximalMarginalRelevance)"
        ) from exc
    try:
        return spacy.load(model)
    except OSError as exc:
        raise LabelerError(
            f"PartOfSpeech: the spaCy pipeline {model!r} is not installed: "
            f"`python -m spacy download {model}`, or pass a loaded pipeline"
        ) from exc
