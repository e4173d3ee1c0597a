"""Representation models: BERTopic's `representation_model` over labeler's keyword stages.

`KeyBERTInspired` and `MaximalMarginalRelevance` are BERTopic's classes of the same names and
parameters (`labeler.bertopic.representation`). Each is one step of a chain run on labeler's own
stages (`keybert.py`, `mmr.py`): the first step takes the topic's best c-TF-IDF words, every next
step the previous one's words, and the chain's output is the topic's main representation
(`TopicModel.topic_representations_`, `get_topic`, the keyword label). A list is a chain; a dict
is BERTopic's multi-aspect form, `{"Main": ..., "Aspect1": ...}`, each value a model, a list or
None (the c-TF-IDF words).

What differs from BERTopic, on purpose: both stages compare words with the topic's centre (the
unit mean of all its documents' embeddings) rather than with a few sampled representative
documents (KeyBERTInspired) or with the embedding of the joined words (MMR), so
`nr_repr_docs`, `nr_samples` and `random_state` are kept for the record but change nothing; and
each stage scores its words by cosine similarity to that centre, in the order it picks them.

A topic namer (`TopicNamer`: BERTopic's `OpenAI` and `TextGeneration`, which are labeler's LLM
label step, `labeler.bertopic.representation`) ends a chain: the keyword steps before it give the
words, then the fitted model asks it for each topic's label (`TopicModel`'s `llm_labels_`), which
becomes that chain's representation, as BERTopic's LLM models give one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np
from sklearn.base import BaseEstimator

from labeler.defaults import N_CANDIDATE_WORDS, TOP_N_WORDS
from labeler.errors import LabelerError
from labeler.represent._base import Stage, TopicInput, Words
from labeler.represent.keybert import KeyBERTStage
from labeler.represent.mmr import MMRStage
from labeler.represent.pos import DEFAULT_PATTERNS, POSStage, load_pipeline, pos_sequences

MAIN = "Main"  # BERTopic's key for the main representation in a dict of aspects


@dataclass(frozen=True)
class Step:
    """One step of a chain: a stage, how many words it keeps and, first in a chain, how many
    c-TF-IDF candidates it ranks (None: `n_candidate_words`)."""

    stage: Stage
    top_n: int
    candidates: int | None = None
    diversity: float = 0.0


class KeyBERTInspired(BaseEstimator):
    """BERTopic's KeyBERT-inspired representation: the candidate words closest in meaning to
    the topic (labeler's `keybert` stage).

    Parameters
    ----------
    top_n_words : int, default 10
    nr_repr_docs, nr_samples, random_state : int, default 5, 500, 42
        BERTopic's sampling of representative documents; kept, not used (the topic's centre
        over all its documents stands for them: see the module docstring).
    nr_candidate_words : int, default 100
        c-TF-IDF candidates ranked when this is the chain's first step.
    """

    def __init__(
        self,
        top_n_words: int = 10,
        nr_repr_docs: int = 5,
        nr_samples: int = 500,
        nr_candidate_words: int = 100,
        random_state: int = 42,
    ):
        self.top_n_words = top_n_words
        self.nr_repr_docs = nr_repr_docs
        self.nr_samples = nr_samples
        self.nr_candidate_words = nr_candidate_words
        self.random_state = random_state

    def step(self) -> Step:
        return Step(KeyBERTStage(), int(self.top_n_words), int(self.nr_candidate_words))


class MaximalMarginalRelevance(BaseEstimator):
    """BERTopic's MMR representation: relevant words that are not synonyms of each other
    (labeler's `mmr` stage).

    Parameters
    ----------
    diversity : float, default 0.1
        0 = pure relevance, 1 = pure diversity.
    top_n_words : int, default 10
    """

    def __init__(self, diversity: float = 0.1, top_n_words: int = 10):
        self.diversity = diversity
        self.top_n_words = top_n_words

    def step(self) -> Step:
        return Step(MMRStage(), int(self.top_n_words), None, float(self.diversity))


class PartOfSpeech(BaseEstimator):
    """BERTopic's PartOfSpeech: keywords of the parts of speech in `pos_patterns`.

    Parameters
    ----------
    model : str or spacy.language.Language, default "en_core_web_sm"
        An installed spaCy pipeline with a tagger, by name or loaded.
    top_n_words : int, default 10
    pos_patterns : list of spaCy Matcher patterns on "POS", default adjective+noun, noun, adjective
    """

    def __init__(self, model="en_core_web_sm", top_n_words: int = 10, pos_patterns=None):
        self.model = model
        self.top_n_words = top_n_words
        self.pos_patterns = pos_patterns
        self._nlp = load_pipeline(model)
        pos_sequences(pos_patterns or DEFAULT_PATTERNS)

    def step(self) -> Step:
        stage = POSStage(self._nlp, pos_sequences(self.pos_patterns or DEFAULT_PATTERNS))
        return Step(stage, int(self.top_n_words))


MODELS = (KeyBERTInspired, MaximalMarginalRelevance, PartOfSpeech)


@runtime_checkable
class TopicNamer(Protocol):
    """A representation model that names topics rather than ranking words: given the fitted
    model and the topics to name, the label record (label, summary, source, model, flags, ...)
    of each topic it named. The estimator only calls it; what it runs (the LLM label step on a
    run folder) belongs to the layers above."""

    def name_topics(self, model, topics: list[int]) -> dict[int, dict]: ...


@dataclass
class Representation:
    """A `representation_model` resolved: the main chain and each aspect's (an empty chain is
    the c-TF-IDF words)."""

    main: list[Step]
    aspects: dict[str, list[Step]] = field(default_factory=dict)
    namers: dict[str, TopicNamer] = field(default_factory=dict)  # MAIN or an aspect → its namer

    def chains(self) -> list[list[Step]]:
        return [self.main, *self.aspects.values()]

    def needs_vectors(self) -> bool:
        return any(s.stage.needs_vectors for chain in self.chains() for s in chain)

    def candidates(self, n_candidate_words: int) -> int:
        """How many c-TF-IDF words the chains' first steps rank."""
        firsts = [chain[0].candidates or n_candidate_words for chain in self.chains() if chain]
        return max([n_candidate_words, *firsts])


def _chain(value, where: str) -> tuple[list[Step], TopicNamer | None]:
    """A chain's keyword steps, and the namer that ends it (None: the words are the chain's)."""
    if value is None:
        return [], None
    items = list(value) if isinstance(value, (list, tuple)) else [value]
    steps = []
    namer = None
    for i, item in enumerate(items):
        if isinstance(item, TopicNamer) and not isinstance(item, MODELS):
            if i != len(items) - 1:
                raise LabelerError(
                    f"{where}: {type(item).__name__} names topics: it ends a chain (after the "
                    "keyword models whose words it reads), not in its middle"
                )
            namer = item
            continue
        if not isinstance(item, MODELS):
            raise LabelerError(
                f"{where}: {type(item).__name__} is not a representation model labeler runs; "
                "use KeyBERTInspired, MaximalMarginalRelevance, PartOfSpeech, OpenAI or "
                "TextGeneration (labeler.bertopic.representation), a list of them (a chain) or a "
                "dict of aspects"
            )
        steps.append(item.step())
    return steps, namer


def resolve(representation_model) -> Representation | None:
    """`representation_model` as chains; None when there is none (labeler's own stages)."""
    if representation_model is None:
        return None
    namers: dict[str, TopicNamer] = {}
    if isinstance(representation_model, dict):
        aspects = {}
        for name, value in representation_model.items():
            if not isinstance(name, str) or not name:
                raise LabelerError(f"representation_model: aspect names are strings, not {name!r}")
            if name != MAIN:
                aspects[name], namer = _chain(value, f"representation_model[{name!r}]")
                if namer is not None:
                    namers[name] = namer
        main, namer = _chain(representation_model.get(MAIN), "representation_model")
    else:
        aspects = {}
        main, namer = _chain(representation_model, "representation_model")
    if namer is not None:
        namers[MAIN] = namer
    return Representation(main, aspects, namers)


def run_chain(
    topic: int,
    chain: list[Step],
    ranked: Words,
    vectors: dict[str, np.ndarray] | None,
    centre: np.ndarray,
    top_n_words: int = TOP_N_WORDS,
    n_candidate_words: int = N_CANDIDATE_WORDS,
) -> Words | None:
    """One topic's words through a chain, from its c-TF-IDF words (`ranked`, best first);
    None when a step needs word vectors and there are none."""
    if not chain:
        return list(ranked[:top_n_words])
    if vectors is None and any(s.stage.needs_vectors for s in chain):
        return None
    words = list(ranked[: chain[0].candidates or n_candidate_words])
    dim = len(centre)
    for step in chain:
        word_vectors = None
        if vectors is not None:
            word_vectors = (
                np.stack([vectors[w] for w, _ in words])
                if words
                else np.zeros((0, dim), dtype=np.float32)
            )
        words = step.stage.words(
            TopicInput(topic, words, word_vectors, centre, step.top_n, step.diversity)
        )
    return words
