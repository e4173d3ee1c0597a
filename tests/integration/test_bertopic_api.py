"""The seeds' code runs on labeler with only its import changed (`bertopic` → `labeler.bertopic`),
on the packaged model and a real slice (600 BANKING77 queries, six intents), and gives the kind
of result the seeds show. Each configuration is fitted once per module; the embeddings and the
default reduction come from the session's cache after the first fit."""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest
from click.testing import CliRunner
from sklearn.cluster import AgglomerativeClustering, KMeans
from sklearn.decomposition import PCA
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.metrics import adjusted_rand_score

import labeler
from labeler import LabelerError, TopicModel
from labeler.bertopic import BERTopic
from labeler.bertopic.dimensionality import BaseDimensionalityReduction
from labeler.bertopic.representation import KeyBERTInspired, MaximalMarginalRelevance
from labeler.cli import main

# get_document_info()'s columns in BERTopic 0.17 (with no aspects and no custom labels).
DOCUMENT_INFO = [
    "Document", "Topic", "Name", "Representation", "Representative_Docs", "Top_n_words",
    "Probability", "Representative_document",
]  # fmt: skip


@pytest.fixture(scope="module")
def docs(banking_rows) -> list[str]:
    return [r["text"] for r in banking_rows]


@pytest.fixture(scope="module")
def intents(banking_rows) -> list[str]:
    return [r["label"] for r in banking_rows]


@pytest.fixture(scope="module")
def seed_fit(docs):
    """Seed 000's first model, its import changed (and BERTopic's own min topic size)."""
    # we add this to remove stopwords
    vectorizer_model = CountVectorizer(ngram_range=(1, 2), stop_words="english")

    model = BERTopic(
        language="english", calculate_probabilities=True, min_topic_size=10,
        n_gram_range=(1, 2), vectorizer_model=vectorizer_model,
    )  # fmt: skip
    topics, probs = model.fit_transform(docs)
    return model, topics, probs


def clustered(topics) -> np.ndarray:
    return np.asarray(topics) >= 0


def test_fit_transform_gives_topics_and_their_distribution(seed_fit, docs):
    model, topics, probs = seed_fit
    assert len(topics) == len(docs) and model.probability_method_ == "hdbscan"
    n_topics = len([t for t in model.topic_ids_ if t >= 0])
    assert 4 <= n_topics <= 12 and probs.shape == (len(docs), n_topics)
    ok = clustered(topics)
    assert (probs.argmax(axis=1)[ok] == np.asarray(topics)[ok]).mean() >= 0.9
    assert ((probs >= 0) & (probs <= 1 + 1e-6)).all()
    assert model.assigned_probabilities_.shape == (len(docs),)  # documents.parquet's


def test_topic_info_lists_the_outliers_first_and_bigram_keywords(seed_fit):
    model, topics, _ = seed_fit
    assert -1 in set(topics)
    freq = model.get_topic_info()
    assert freq.iloc[0].Topic == -1 and freq["Topic"].tolist() == sorted(freq["Topic"])
    assert {"Topic", "Count", "Name", "Representation", "Representative_Docs"} <= set(freq)
    words = [w for t in model.topic_ids_ if t >= 0 for w, _ in model.get_topic(t)]
    assert any(" " in w for w in words)  # the user's vectorizer: bigrams among the keywords
    assert not {"the", "my", "i", "to"} & set(words)  # ... and its English stop words
    for t in model.topic_ids_:
        assert model.get_topic(t) == model.topic_representations_[t]
    assert model.get_topic(999) is False


def test_fitted_attributes_are_bertopics(seed_fit, docs):
    model, topics, _ = seed_fit
    ids = sorted(model.topic_ids_)
    assert model.topic_embeddings_.shape == (len(ids), 384)
    assert np.allclose(model.topic_embeddings_[0], model.topic_centres_[-1])  # outliers first
    assert model.c_tf_idf_.shape == (len(ids), len(model.ctfidf_.words_))
    for t, texts in model.representative_docs_.items():
        assert texts and set(texts) <= {d for d, k in zip(docs, topics) if k == t}
    assert model.topic_labels_[0].startswith("0_") and model.topic_labels_[-1].startswith("-1_")
    freq = model.get_topic_freq()
    assert list(freq.columns) == ["Topic", "Count"] and -1 in set(freq.Topic)
    assert freq.Count.is_monotonic_decreasing and freq.Count.sum() == len(docs)
    assert model.get_topic_freq(0) == model.topic_sizes_[0]
    assert model.topic_mapper_.get_mappings() == {t: t for t in ids}


def test_topic_labels_are_generated_and_set(seed_fit):
    model = copy.deepcopy(seed_fit[0])
    labels = model.generate_topic_labels(nr_words=2, topic_prefix=False, separator=", ")
    assert len(labels) == len(model.topic_ids_) and labels[1].count(", ") == 1
    model.set_topic_labels({0: "Cash withdrawal fees"})
    info = model.get_topic_info()
    named = info.set_index("Topic").CustomName
    assert named[0] == "Cash withdrawal fees" and named[1] == info.set_index("Topic").Name[1]
    model.set_topic_labels(labels)
    assert model.custom_labels_ == labels
    with pytest.raises(LabelerError, match="one per topic"):
        model.set_topic_labels(labels[:2])


def test_document_info_has_bertopics_columns(seed_fit, docs):
    model = seed_fit[0]
    info = model.get_document_info(docs)
    assert set(DOCUMENT_INFO) <= set(info.columns) and "doc_id" in info.columns
    assert len(info) == len(docs) and info["Document"].tolist() == docs
    assert np.allclose(info["Probability"], model.assigned_probabilities_)
    assert info["Representative_document"].sum() >= len(model.topic_ids_)
    first = info.iloc[0]
    assert first.Top_n_words == " - ".join(w for w, _ in model.get_topic(int(first.Topic)))


def test_hierarchy_takes_bertopics_arguments(seed_fit, docs):
    model = seed_fit[0]
    hierarchical_topics = model.hierarchical_topics(docs)
    tree = model.get_topic_tree(hierarchical_topics)
    assert "Parent_ID" in hierarchical_topics and str(model.labels_[0]) in tree
    with pytest.raises(LabelerError, match="fitted documents"):
        model.hierarchical_topics(docs[:10])
    with pytest.raises(LabelerError, match="own tree"):
        model.get_topic_tree(hierarchical_topics.iloc[:0])


def test_seed_001_umap_model_probabilities_and_find_topics(docs):
    from umap import UMAP

    umap_model = UMAP(n_neighbors=15, n_components=5, min_dist=0.0, metric="cosine",
                      random_state=100)  # fmt: skip
    topic_model = BERTopic(umap_model=umap_model, language="english", calculate_probabilities=True)
    topics, probabilities = topic_model.fit_transform(docs)
    assert probabilities.shape == (len(docs), len(set(topics) - {-1}))
    assert topic_model.umap_model_.embedding_.shape == (len(docs), 5)
    similar_topics, similarity = topic_model.find_topics("my new card has not arrived", top_n=3)
    assert len(similar_topics) == 3 and similarity == sorted(similarity, reverse=True)
    words = [w for w, _ in topic_model.get_topic(similar_topics[0])]
    assert {"card", "arrive", "arrived", "delivery"} & set(words)


def test_a_kmeans_clusterer_gives_its_clusters_and_no_outliers(docs):
    topic_model = BERTopic(hdbscan_model=KMeans(n_clusters=8, n_init=3, random_state=0))
    topics, probs = topic_model.fit_transform(docs)
    assert sorted(set(topics)) == list(range(8))  # exactly 8 topics, no -1
    assert topic_model.get_topic_info().iloc[0].Topic == 0
    assert probs.shape == (len(docs),) and (probs == 1).all()  # KMeans has no probabilities
    assert hasattr(topic_model.hdbscan_model_, "cluster_centers_")
    assert not hasattr(topic_model.hdbscan_model, "cluster_centers_")  # a clone was fitted


def test_the_catch_all_split_still_applies_to_a_users_clusterer(docs):
    topic_model = BERTopic(hdbscan_model=KMeans(n_clusters=2, n_init=3, random_state=0))
    topics, _ = topic_model.fit_transform(docs)
    assert any(d["split"] for d in topic_model.splits_) and len(set(topics)) > 2


def test_no_reduction_and_a_clusterer_for_high_dimensions(docs, intents):
    empty_reduction_model = BaseDimensionalityReduction()
    topic_model = BERTopic(
        umap_model=empty_reduction_model, hdbscan_model=AgglomerativeClustering(n_clusters=6),
        calculate_probabilities=True,
    )  # fmt: skip
    topics, probs = topic_model.fit_transform(docs)
    assert sorted(set(topics)) == list(range(6))
    assert adjusted_rand_score(intents, topics) >= 0.5
    assert topic_model.layout_.shape == (len(docs), 2) and topic_model.layout_.std(axis=0).min() > 0
    # No soft clustering: a softmax of the similarities to the topic centres.
    assert topic_model.probability_method_ == "centres" and probs.shape == (len(docs), 6)
    assert np.allclose(probs.sum(axis=1), 1, atol=1e-5)
    assert (probs.argmax(axis=1) == np.asarray(topics)).mean() >= 0.8


def test_a_2d_reduction_is_the_map(docs):
    topic_model = BERTopic(
        umap_model=PCA(n_components=2, random_state=0),
        hdbscan_model=KMeans(n_clusters=6, n_init=3, random_state=0),
    )
    topic_model.fit(docs)
    reduced = PCA(n_components=2, random_state=0).fit_transform(topic_model.embeddings_)
    assert np.allclose(np.abs(topic_model.layout_), np.abs(reduced), atol=1e-4)


def test_nr_topics_reduces_to_that_many(seed_fit, docs):
    topic_model = BERTopic(nr_topics=5, calculate_probabilities=True)
    topics, probs = topic_model.fit_transform(docs)
    assert sorted(t for t in set(topics) if t >= 0) == list(range(5)) and -1 in set(topics)
    assert probs.shape == (len(docs), 5)
    mappings = topic_model.topic_mapper_.get_mappings()
    assert set(mappings.values()) == set(topic_model.topic_ids_) and len(mappings) > 6


def test_nr_topics_auto_merges_similar_topics(docs):
    plain = BERTopic().fit(docs)
    auto = BERTopic(nr_topics="auto").fit(docs)
    assert len(auto.topic_ids_) < len(plain.topic_ids_)
    mappings = auto.topic_mapper_.get_mappings()
    assert sorted(mappings) == sorted(plain.topic_ids_)  # every topic of the fit, mapped once
    # The merged topics are about one thing: HDBSCAN over the centres links each merged topic
    # to a close one of its group (a chain: the group's ends may be further apart), and topics
    # merged together are closer than topics kept apart.
    sim = {(a, b): float(plain.topic_centres_[a] @ plain.topic_centres_[b])
           for a in mappings for b in mappings if a != b and -1 not in (a, b)}  # fmt: skip
    same = [s for (a, b), s in sim.items() if mappings[a] == mappings[b]]
    apart = [s for (a, b), s in sim.items() if mappings[a] != mappings[b]]
    assert same and np.mean(same) > np.mean(apart) + 0.1
    for merged in set(mappings.values()) - {-1}:
        group = [t for t, m in mappings.items() if m == merged]
        for a in group if len(group) > 1 else ():
            assert max(sim[a, b] for b in group if b != a) > 0.6


def test_representation_models_and_aspects(docs, tmp_path):
    representation_model = {
        "Main": KeyBERTInspired(),
        "Aspect1": [KeyBERTInspired(top_n_words=30), MaximalMarginalRelevance(diversity=0.3)],
    }
    topic_model = BERTopic(representation_model=representation_model)
    topic_model.fit(docs)
    info = topic_model.get_topic_info()
    assert "Aspect1" in info.columns
    candidates = {
        t: {w for w, _ in topic_model.ctfidf_.topic_words(t, 100)} for t in topic_model.topic_ids_
    }
    for t in topic_model.topic_ids_:
        main = topic_model.get_topic(t)
        assert len(main) == 10 and {w for w, _ in main} <= candidates[t]
        assert [s for _, s in main] == sorted((s for _, s in main), reverse=True)
        assert info.set_index("Topic").Aspect1[t] == [w for w, _ in topic_model.topic_aspects_[
            "Aspect1"][t]]  # fmt: skip
        assert set(topic_model.get_topic(t, full=True)) == {"Main", "Aspect1"}
        if t >= 0:  # the keyword label (Name) comes from the main representation
            assert topic_model.labels_[t].split("_")[1] == main[0][0].replace(" ", "-")
    path = topic_model.save(tmp_path / "aspects")
    loaded = BERTopic.load(path)
    assert loaded.representation_model is None  # the objects are not in the run; their words are
    for t in topic_model.topic_ids_:
        assert [w for w, _ in loaded.get_topic(t)] == [w for w, _ in topic_model.get_topic(t)]
        assert [w for w, _ in loaded.topic_aspects_["Aspect1"][t]] == [
            w for w, _ in topic_model.topic_aspects_["Aspect1"][t]
        ]


def test_save_and_load_keep_topics_and_labels(seed_fit, tmp_path):
    model = seed_fit[0]
    path = model.save(tmp_path / "my_model", serialization="safetensors", save_ctfidf=True)
    my_model = BERTopic.load(path)
    assert isinstance(my_model, BERTopic)
    assert np.array_equal(my_model.topics_, model.topics_)
    assert my_model.get_topic_info()["Name"].tolist() == model.get_topic_info()["Name"].tolist()
    assert my_model.get_params()["n_gram_range"] == (1, 2)
    assert my_model.get_params()["min_topic_size"] == 10
    assert my_model.vectorizer_model is None  # recorded by class and parameters, not kept
    assert any(" " in w for w in my_model.ctfidf_.words_)  # ... its n-grams are
    config = json.loads((path / "config.json").read_text())
    assert config["params"]["min_cluster_size"] == 10 and "min_topic_size" not in config["params"]
    assert config["params"]["vectorizer_model"]["params"]["ngram_range"] == [1, 2]
    same = labeler.load_run(path)  # either class opens the run
    assert type(same) is TopicModel and np.array_equal(same.topics_, model.topics_)
    result = CliRunner().invoke(main, ["report", str(path)])
    assert result.exit_code == 0, result.output
    assert (path / "report.html").is_file()


def test_a_run_saved_from_bertopic_is_reviewed_relabelled_and_exported(seed_fit, tmp_path):
    """Issue 22's done-when: the report, the review app, relabeling and exports work on a run
    made through the BERTopic API (a stub LLM on 127.0.0.1 answers the relabel)."""
    import pandas as pd
    from llm_stub import StubLLM, label_json, ok, topic_label
    from review_server import ThreadServer

    model = seed_fit[0]
    path = model.save(tmp_path / "from_bertopic")
    first = min(t for t in model.topic_ids_ if t >= 0)
    with ThreadServer(path, embed=lambda texts: None) as server:
        listed = server.call("GET", "/api/topics")
        assert listed.status == 200
        assert {t["id"] for t in listed.json["topics"]} == {t for t in model.topic_ids_ if t >= 0}
        reply = server.review(first, action="edit", label="Card delivery questions")
        assert reply.status == 200, reply.text
    with StubLLM(lambda request, n: ok(label_json(topic_label(request)))) as stub:
        result = CliRunner().invoke(
            main, ["relabel", str(path), "--llm-base-url", stub.base_url, "--llm-model", "stub"]
        )
    assert result.exit_code == 0, result.output
    topics = {r["topic"]: r for r in json.loads((path / "topics.json").read_text())}
    assert topics[first]["label"] == "Card delivery questions"  # the reviewer's edit is kept
    relabelled = [r for t, r in topics.items() if t >= 0 and r["label_source"] == "llm"]
    assert len(relabelled) == len(topics) - 2  # every other real topic (outliers: -1)
    assert all(r["label"] in (path / "report.html").read_text() for r in relabelled)
    result = CliRunner().invoke(main, ["export", str(path), "--format", "csv"])
    assert result.exit_code == 0, result.output
    table = pd.read_csv(path / "export" / "documents.csv")
    assert len(table) == len(model.documents_) and "topic_label" in table.columns


def test_a_sentence_transformer_instance_is_an_embedding_model(docs):
    from labeler.embedding.sbert import load_sentence_transformer

    sentence_model = load_sentence_transformer("all-MiniLM-L6-v2")  # the packaged copy
    topic_model = BERTopic(embedding_model=sentence_model)
    assert topic_model.embedding_spec().key == "all-MiniLM-L6-v2"  # shares the cache and config
    assert np.allclose(topic_model.embed(docs[:3]), BERTopic().embed(docs[:3]), atol=1e-6)


def test_multilingual_is_not_packaged(monkeypatch, docs):
    from labeler.embedding import e5

    monkeypatch.setattr(e5, "available", lambda: False)  # no labeler[multilingual]
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(LabelerError, match=r"not packaged.*labeler\[multilingual\]"):
        BERTopic(language="multilingual").fit(docs[:20])
