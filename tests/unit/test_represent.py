"""The description chain on tiny hand-made inputs: c-TF-IDF weighting, MMR, representative
documents, the stage registry and `describe_topics(only=...)`; kNN and renumbering."""

from __future__ import annotations

import numpy as np
import pytest

from labeler.cluster import knn_cosine, renumber_by_size
from labeler.represent import (
    CTFIDF,
    STAGES,
    describe_topics,
    keyword_label,
    mmr,
    representative_documents,
    stage,
    unit,
)

TEXTS = [
    "card arrived late card",
    "card never arrived",
    "exchange rate today",
    "exchange rate fee",
]
TOPICS = np.array([0, 0, 1, 1])


def test_ctfidf_is_bertopics_weighting():
    model = CTFIDF(min_df=1, stop_words=None).fit(TEXTS, TOPICS)
    words = list(model.words_)
    counts = model.counts_.toarray()  # topic × word
    tf = counts / counts.sum(axis=1, keepdims=True)
    idf = np.log(1 + counts.sum(axis=1).mean() / counts.sum(axis=0))
    assert np.allclose(model.c_tf_idf_.toarray(), tf * idf, atol=1e-6)
    # "card" appears 3 times, only in topic 0: its best word; topic 1's is "exchange" or "rate"
    assert model.topic_words(0, 1)[0][0] == "card"
    assert model.topic_words(1, 2)[0][0] in {"exchange", "rate"}
    assert counts[0, words.index("card")] == 3


def test_mmr_trades_relevance_for_diversity():
    query = np.array([1.0, 0.0])
    candidates = np.array([[1.0, 0.0], [0.99, 0.14], [0.7, 0.71]])
    assert mmr(query, candidates, 2, diversity=0.0) == [0, 1]  # pure relevance
    assert mmr(query, candidates, 2, diversity=0.9) == [0, 2]  # the near-synonym is skipped
    assert mmr(query, np.zeros((0, 2)), 2, 0.5) == []


def test_representative_documents_skip_near_duplicates():
    rng = np.random.default_rng(0)
    base = unit(rng.normal(size=(1, 8)))[0]
    docs = np.stack([base, base * 1.0001, unit(base + 0.3 * rng.normal(size=8)), -base])
    topics = np.array([0, 0, 0, 1])
    chosen = representative_documents(docs, topics, 0, base, n=3)
    assert chosen[0] in (0, 1) and not {0, 1} <= set(chosen)  # one of the twins, not both
    assert 3 not in chosen  # never another topic's document


def test_each_stage_has_one_name_and_its_topics_json_key():
    assert [s.name for s in STAGES] == ["ctfidf", "keybert", "mmr"]
    assert [s.key for s in STAGES] == ["keywords", "keywords_keybert", "keywords_mmr"]
    assert stage("keywords") is stage("ctfidf")
    with pytest.raises(KeyError):
        stage("Representation")


def fake_embed(words: list[str]) -> np.ndarray:
    """Deterministic word vectors in a 4-d space (a stand-in for the embedding model)."""
    return np.stack(
        [unit(np.array([len(w), w.count("a") + 1, w.count("e") + 1, 1.0])) for w in words]
    )


def test_describe_only_some_topics_matches_describing_all():
    embeddings = unit(np.random.default_rng(1).normal(size=(4, 4))).astype(np.float32)
    kw = {"min_df": 1, "stop_words": None, "top_n_words": 3, "n_representative_docs": 1}
    every = describe_topics(TEXTS, embeddings, TOPICS, embed_words=fake_embed, **kw)
    one = describe_topics(TEXTS, embeddings, TOPICS, embed_words=fake_embed, only={1}, **kw)
    assert set(one.sizes) == {1} and set(every.sizes) == {0, 1}
    for name in ("ctfidf", "keybert", "mmr"):
        assert one.keywords[name][1] == every.keywords[name][1]
    assert one.labels[1] == every.labels[1] == keyword_label(1, every.keywords["mmr"][1])
    without = describe_topics(TEXTS, embeddings, TOPICS, **kw)  # no word embedder
    assert set(without.keywords) == {"ctfidf"}
    assert without.labels[0] == keyword_label(0, without.keywords["ctfidf"][0])


def test_word_vectors_of_another_dimension_skip_the_embedding_stages():
    embeddings = unit(np.random.default_rng(2).normal(size=(4, 6))).astype(np.float32)
    found = describe_topics(
        TEXTS, embeddings, TOPICS, embed_words=fake_embed, min_df=1, stop_words=None
    )
    assert set(found.keywords) == {"ctfidf"}


def test_knn_is_exact_and_puts_each_point_first():
    points = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [0.1, 0.9]], dtype=np.float32)
    idx, dist = knn_cosine(points, 2)
    assert idx[:, 0].tolist() == [0, 1, 2, 3]
    assert idx[:, 1].tolist() == [1, 0, 3, 2]
    assert np.allclose(dist[:, 0], 0, atol=1e-5)


def test_topics_are_renumbered_by_size_and_outliers_stay():
    labels = np.array([5, 5, 2, 2, 2, -1, 7])
    assert renumber_by_size(labels).tolist() == [1, 1, 0, 0, 0, -1, 2]
