"""The keyword stages' registry and `describe_topics`: the one description chain.

The fit (`TopicModel`) and a merge (`labeler.surgery`) both describe topics through
`describe_topics`, so a merged topic is described exactly as the fit would have described it. A
new topic-changing step does the same: reassign documents → `describe_topics(only=...)` →
`Run.replace_topics(...)` → `Run.refresh()`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field

import numpy as np

from labeler.defaults import (
    MMR_DIVERSITY,
    N_CANDIDATE_WORDS,
    N_REPRESENTATIVE_DOCS,
    NGRAM_RANGE,
    STOP_WORDS,
    TOP_N_WORDS,
)
from labeler.represent import chain as representation
from labeler.represent._base import Stage, TopicInput, Words, topic_vectors
from labeler.represent.ctfidf import CTFIDF, ClassTfidfTransformer, CTFIDFStage
from labeler.represent.docs import representative_documents
from labeler.represent.keybert import KeyBERTStage
from labeler.represent.mmr import MMRStage

log = logging.getLogger("labeler")

OUTLIER = -1
# The chain, in order. Names are the API's (`TopicModel.keywords_`, `get_topic(stage=...)`, the
# review API, exports); `key` is the topics.json field, kept as 0.1.0 wrote it.
STAGES: tuple[Stage, ...] = (CTFIDFStage(), KeyBERTStage(), MMRStage())

# describe_topics' keyword parameters: TopicModel parameters of the same names.
DESCRIBE_PARAMS = (
    "ngram_range", "min_df", "stop_words", "top_n_words", "n_candidate_words",
    "n_representative_docs", "mmr_diversity", "seed_topic_list", "language", "vectorizer_model",
    "ctfidf_model", "representation_model",
)  # fmt: skip

WordEmbedder = Callable[[list[str]], "np.ndarray | None"]


def stage(name: str) -> Stage:
    """A stage by its name, or by its topics.json key ("keywords" is the c-TF-IDF stage)."""
    for s in STAGES:
        if name in (s.name, s.key):
            return s
    names = ", ".join(s.name for s in STAGES)
    raise KeyError(f"no keyword stage {name!r}: choose one of {names}")


def keyword_label(topic: int, words: Words, n_words: int = 3) -> str:
    """The label a topic has before any LLM: its id and first keywords (`3_card_arrive_new`)."""
    if topic == OUTLIER:
        return "Outliers"
    return "_".join([str(topic), *[w.replace(" ", "-") for w, _ in words[:n_words]]])


@dataclass
class CorpusCounts:
    """What one pass over every document of a corpus larger than the fit counted
    (`labeler.pipeline.large`), for `describe_topics` to describe the whole corpus while its
    examples come from the fitted sample: topic × word counts in the sample's vocabulary
    (`vectorizer`, None when it learned none), and each topic's unit centre and size over all
    documents."""

    vectorizer: object
    topic_ids: list[int]
    counts: object  # scipy.sparse matrix, one row per topic id
    centres: dict[int, np.ndarray]
    sizes: dict[int, int]


@dataclass
class Description:
    """What `describe_topics` found, per topic (only the topics it was asked about)."""

    ctfidf: CTFIDF
    sizes: dict[int, int]
    centres: dict[int, np.ndarray]  # every topic's unit-length centre
    keywords: dict[str, dict[int, Words]]  # stage name → topic → words
    representative_docs: dict[int, list[int]]  # document indices
    labels: dict[int, str]  # keyword labels
    # `representation_model`'s main representation (None without one: the stages' words are
    # all there is) and its aspects, aspect name → topic → words.
    representation: dict[int, Words] | None = None
    aspects: dict[str, dict[int, Words]] = field(default_factory=dict)


def describe_topics(
    texts: list[str],
    embeddings: np.ndarray,
    topics: np.ndarray,
    *,
    embed_words: WordEmbedder | None = None,
    only: Collection[int] | None = None,
    corpus: CorpusCounts | None = None,
    ngram_range: tuple[int, int] = NGRAM_RANGE,
    min_df: int | None = None,
    stop_words: str | None = STOP_WORDS,
    top_n_words: int = TOP_N_WORDS,
    n_candidate_words: int = N_CANDIDATE_WORDS,
    n_representative_docs: int = N_REPRESENTATIVE_DOCS,
    mmr_diversity: float = MMR_DIVERSITY,
    seed_topic_list: Sequence[Sequence[str]] | None = None,
    language: str | None = "english",
    vectorizer_model=None,
    ctfidf_model: ClassTfidfTransformer | None = None,
    representation_model=None,
) -> Description:
    """c-TF-IDF over all documents (its weighting needs every topic), then for each topic in
    `only` (default: all) its stages' keywords, representative documents and keyword label.

    `corpus`: counts, centres and sizes over a whole corpus of which `texts` are a sample (the
    large path); keywords then weigh every document, representative documents come from `texts`.
    `seed_topic_list`: guided topics' seed words, weighted up in c-TF-IDF (`labeler.guided`).
    `embed_words` embeds keyword candidates in the documents' space for the embedding stages;
    without it, or when its vectors have another dimension, those stages are left out.
    `vectorizer_model`, `ctfidf_model`, `language`: the c-TF-IDF's (`CTFIDF`);
    `representation_model`: BERTopic's (`labeler.represent.chain`), run on the same candidates
    and word vectors as the stages, for `Description.representation` and `.aspects`.
    """
    topics = np.asarray(topics)
    chains = representation.resolve(representation_model)
    ctfidf = CTFIDF(
        ngram_range, min_df, stop_words, seed_words(seed_topic_list),
        vectorizer_model=vectorizer_model, ctfidf_model=ctfidf_model, language=language,
    )  # fmt: skip
    if corpus is None:
        ctfidf.fit(texts, topics)
        centres = topic_vectors(embeddings, topics)
        sizes = {int(t): int(n) for t, n in zip(*np.unique(topics, return_counts=True))}
    else:
        ctfidf.from_counts(corpus.vectorizer, corpus.topic_ids, corpus.counts)
        centres, sizes = corpus.centres, corpus.sizes
    ids = [t for t in sorted(sizes) if only is None or t in set(only)]
    ranked = {t: ctfidf.topic_words(t, _ranked_words(chains, n_candidate_words)) for t in ids}
    candidates = {t: words[:n_candidate_words] for t, words in ranked.items()}
    vectors = _word_vectors(embed_words, _to_embed(chains, ranked, candidates, n_candidate_words),
                            embeddings.shape[1])  # fmt: skip
    used = [s for s in STAGES if vectors is not None or not s.needs_vectors]
    keywords: dict[str, dict[int, Words]] = {s.name: {} for s in used}
    for t in ids:
        words = candidates[t]
        word_vectors = None
        if vectors is not None:
            word_vectors = (
                np.stack([vectors[w] for w, _ in words])
                if words
                else np.zeros((0, embeddings.shape[1]), dtype=np.float32)
            )
        topic = TopicInput(t, words, word_vectors, centres[t], top_n_words, mmr_diversity)
        for s in used:
            keywords[s.name][t] = s.words(topic)
    main, aspects = _representations(
        chains, ids, ranked, vectors, centres, top_n_words, n_candidate_words
    )
    final = main if main is not None else (keywords.get("mmr") or keywords["ctfidf"])
    return Description(
        ctfidf=ctfidf,
        sizes={t: sizes[t] for t in ids},
        centres=centres,
        keywords=keywords,
        representative_docs={
            t: representative_documents(embeddings, topics, t, centres[t], n=n_representative_docs)
            for t in ids
        },
        labels={t: keyword_label(t, final[t]) for t in ids},
        representation=main,
        aspects=aspects,
    )


def _ranked_words(chains, n_candidate_words: int) -> int:
    return n_candidate_words if chains is None else chains.candidates(n_candidate_words)


def _to_embed(chains, ranked, candidates, n_candidate_words) -> dict[int, Words]:
    """The words whose vectors a description needs: the stages' candidates and, with a
    representation model, its chains' first candidates."""
    if chains is None or not chains.needs_vectors():
        return candidates
    n = chains.candidates(n_candidate_words)
    return {t: words[:n] for t, words in ranked.items()}


def _representations(chains, ids, ranked, vectors, centres, top_n_words, n_candidate_words):
    """`representation_model`'s main words and aspects per topic (None, {} without one). A
    chain that needs word vectors where there are none keeps the c-TF-IDF words, with a
    warning (BERTopic's MMR does the same)."""
    if chains is None:
        return None, {}
    if vectors is None and chains.needs_vectors():
        log.warning(
            "representation_model embeds words, and no embedding model embeds them in the "
            "documents' space: its topics keep their c-TF-IDF words"
        )

    def words(chain):
        out = {}
        for t in ids:
            found = representation.run_chain(
                t, chain, ranked[t], vectors, centres[t], top_n_words, n_candidate_words
            )
            out[t] = list(ranked[t][:top_n_words]) if found is None else found
        return out

    return words(chains.main), {name: words(chain) for name, chain in chains.aspects.items()}


def seed_words(seed_topic_list: Sequence[Sequence[str]] | None) -> list[str]:
    """Every seed word of every seed topic, once each."""
    return sorted({str(w).lower() for words in seed_topic_list or [] for w in words})


def _word_vectors(
    embed_words: WordEmbedder | None, candidates: dict[int, Words], dim: int
) -> dict[str, np.ndarray] | None:
    """Every candidate word embedded once; None when no model can embed words in this space."""
    if embed_words is None:
        return None
    words = sorted({w for ws in candidates.values() for w, _ in ws})
    if not words:
        return {}
    vectors = embed_words(words)
    if vectors is None or np.ndim(vectors) != 2:
        return None
    if vectors.shape[1] != dim:
        log.warning(
            "embedding model gives %d-d vectors but the document embeddings are %d-d: "
            "skipping the KeyBERT and MMR keyword stages",
            vectors.shape[1],
            dim,
        )
        return None
    return dict(zip(words, vectors))
