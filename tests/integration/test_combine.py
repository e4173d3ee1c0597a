"""Models that grow and combine (issue 23 items 3 and 4) on BANKING77 slices with the real
embedding model: `partial_fit` over batches with BERTopic's online components, `merge_models`
adding only the topics the first model lacks, and `labeler merge-runs` keeping both runs' names
and reviews."""

from __future__ import annotations

import json
import random
import shutil
from collections import Counter

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import read_corpus
from sklearn.cluster import KMeans, MiniBatchKMeans
from sklearn.decomposition import PCA, IncrementalPCA
from sklearn.feature_extraction.text import CountVectorizer

import labeler
from labeler import save
from labeler.bertopic import BERTopic
from labeler.bertopic.vectorizers import OnlineCountVectorizer
from labeler.cli import main
from labeler.errors import LabelerError
from labeler.review.actions import Decision, Reviewer
from labeler.run.folder import Run

FIRST = ("card_arrival", "exchange_rate", "lost_or_stolen_card")  # m1 / run A
SECOND = ("lost_or_stolen_card", "pending_top_up", "verify_my_identity")  # m2 / run B
ONLY_SECOND = set(SECOND) - set(FIRST)


def slice_of(intents, n: int, seed: int, tag: str) -> list[dict]:
    rows = read_corpus("banking77")
    rng = random.Random(seed)
    picked = []
    for intent in intents:
        picked += rng.sample([r for r in rows if r["label"] == intent], n)
    rng.shuffle(picked)
    return [
        {"id": f"{tag}{i}", "text": r["text"], "label": r["label"]} for i, r in enumerate(picked)
    ]


def online_model(n_clusters: int = 8) -> BERTopic:
    """The seed's components (BERTopic's online topic modeling guide)."""
    return BERTopic(
        umap_model=IncrementalPCA(n_components=5),
        hdbscan_model=MiniBatchKMeans(n_clusters=n_clusters, random_state=0),
        vectorizer_model=OnlineCountVectorizer(stop_words="english", decay=0.01),
    )


# ------------------------------------------------------------------------------ partial_fit
def test_partial_fit_over_three_batches_with_the_seeds_components(tmp_path):
    rows = slice_of(("card_arrival", "exchange_rate", "pending_top_up", "verify_my_identity"),
                    60, 1, "p")  # fmt: skip
    docs = [r["text"] for r in rows]
    model = online_model()
    batches = [docs[i : i + 80] for i in range(0, 240, 80)]
    for batch in batches:
        assert model.partial_fit(batch) is model
    # topics_ (and documents_) are the latest batch's, as BERTopic's; sizes cover every batch
    assert len(model.topics_) == 80 and model.documents_ == batches[-1]
    assert model.doc_ids_ == list(range(160, 240))
    assert sum(model.topic_sizes_.values()) == 240
    assert model.online_.batches == 3 and model.online_.documents_seen == 240
    assert set(model.topics_.tolist()) <= set(model.topic_ids_)
    assert type(model.hdbscan_model_) is MiniBatchKMeans and model.hdbscan_model_ is not (
        model.hdbscan_model
    )
    assert not hasattr(model.hdbscan_model, "cluster_centers_")  # the given one is not fitted
    # the vocabulary grew with each batch and its counts decayed
    bow = model.vectorizer_.X_
    raw = model.vectorizer_.transform(docs).sum()
    assert 0 < bow.sum() < raw
    # keywords come from every batch: an exchange-rate topic and a verification topic
    words = {t: {w for w, _ in model.get_topic(t)} for t in model.topic_ids_ if t >= 0}
    assert any({"exchange", "rate"} & w for w in words.values())
    assert any({"identity", "verify", "verification"} & w for w in words.values())
    # topics are the intents: each topic mostly one intent
    labels = [r["label"] for r in rows[160:]]
    for t in set(model.topics_.tolist()):
        members = [lab for lab, x in zip(labels, model.topics_) if x == t]
        if len(members) >= 8:
            assert Counter(members).most_common(1)[0][1] / len(members) >= 0.7, (t, members)
    # transform goes through the incremental components: the latest batch gets its own topics
    again, _ = model.transform(batches[-1])
    np.testing.assert_array_equal(again, model.topics_)
    info = model.get_topic_info()
    assert info["Count"].sum() == 240 and len(info) == len(model.topic_ids_)
    # a run holds every document: a model that holds the latest batch is not saved as one
    with pytest.raises(LabelerError, match="partial_fit"):
        save(model, tmp_path / "online")
    assert not (tmp_path / "online").exists()
    with pytest.raises(LabelerError, match="partial_fit holds only its latest batch"):
        model.merge_topics(batches[-1], [0, 1])


def test_partial_fit_keeps_representative_documents_from_every_batch():
    """A topic the latest batch has none of keeps the examples of the batch it came from (in
    BERTopic it would have none), and every example is among the nearest to its topic's
    centre over all batches."""
    first = slice_of(("card_arrival", "exchange_rate"), 40, 2, "a")
    second = slice_of(("verify_my_identity", "pending_top_up"), 40, 3, "b")
    model = online_model(n_clusters=4)
    model.partial_fit([r["text"] for r in first])
    early = {t for t in model.topic_ids_ if t >= 0}
    model.partial_fit([r["text"] for r in second])
    latest = set(model.topics_.tolist())
    absent = early - latest
    assert absent  # the card and exchange topics are not in the second batch
    intent = {r["text"]: r["label"] for r in first + second}
    for t in sorted(t for t in model.topic_ids_ if t >= 0):
        docs = model.get_representative_docs(t)
        assert docs, t  # every topic has examples, whichever batch it was seen in
    for t in absent:
        docs = model.get_representative_docs(t)
        assert {intent[d] for d in docs} <= {"card_arrival", "exchange_rate"}
        assert all(d not in model.documents_ for d in docs)  # from the first batch


def test_partial_fit_gives_a_new_cluster_the_next_topic_id():
    from labeler.model.combine import OnlineState

    model, state = online_model(n_clusters=3), OnlineState()
    first = model._online_topics(state, np.array([0, 2, 2]), first=True)
    later = model._online_topics(state, np.array([1, 0, 2]), first=False)
    assert first.tolist() == [0, 2, 2] and later.tolist() == [3, 0, 2]


def test_partial_fit_refuses_components_that_do_not_learn_by_batch():
    docs = ["my card has not arrived yet"] * 20
    with pytest.raises(LabelerError, match=r"hdbscan_model= .*MiniBatchKMeans"):
        BERTopic().partial_fit(docs)
    with pytest.raises(LabelerError, match=r"umap_model= .*IncrementalPCA"):
        BERTopic(hdbscan_model=MiniBatchKMeans(n_clusters=2)).partial_fit(docs)
    with pytest.raises(LabelerError, match=r"vectorizer_model= an OnlineCountVectorizer"):
        BERTopic(
            umap_model=IncrementalPCA(n_components=5),
            hdbscan_model=MiniBatchKMeans(n_clusters=2),
            vectorizer_model=CountVectorizer(),
        ).partial_fit(docs)
    with pytest.raises(LabelerError, match="KMeans clusters all documents at once"):
        BERTopic(umap_model=PCA(n_components=5), hdbscan_model=KMeans(2)).partial_fit(docs)


# ------------------------------------------------------------------------------ merging
@pytest.fixture(scope="module")
def halves():
    """m1 on FIRST's intents, m2 on SECOND's (lost_or_stolen_card in both), 60 queries each."""
    a, b = slice_of(FIRST, 60, 2, "a"), slice_of(SECOND, 60, 3, "b")
    m1 = BERTopic(min_topic_size=12).fit([r["text"] for r in a], doc_ids=[r["id"] for r in a])
    m2 = BERTopic(min_topic_size=12).fit([r["text"] for r in b], doc_ids=[r["id"] for r in b])
    for model, part in ((m1, a), (m2, b)):
        model.classes_ = [r["label"] for r in part]
    return m1, m2, a, b


def majority(model, topic: int, labels: dict) -> str:
    members = [labels[d] for d, t in zip(model.doc_ids_, model.topics_) if t == topic]
    return Counter(members).most_common(1)[0][0]


def test_merge_models_adds_only_the_topics_the_first_model_lacks(halves):
    m1, m2, a, b = halves
    labels = {r["id"]: r["label"] for r in a + b}
    merged = BERTopic.merge_models([m1, m2], min_similarity=0.7)
    assert isinstance(merged, BERTopic)
    first_ids = [t for t in m1.topic_ids_ if t >= 0]
    added = [t for t in merged.topic_ids_ if t > max(first_ids)]
    assert added, "the second model's intents were not added"
    # every added topic is about an intent the first model never saw, and both such intents are
    assert all(majority(merged, t, labels) in ONLY_SECOND for t in added)
    assert {majority(merged, t, labels) for t in added} == ONLY_SECOND
    # the first model's topics are kept, with their ids; they only grow
    for t in first_ids:
        assert merged.topic_sizes_[t] >= m1.topic_sizes_[t]
        assert majority(merged, t, labels) == majority(m1, t, labels)
    # the second model's stolen-card queries joined the first model's stolen-card topic(s)
    stolen_b = [d for d, r in zip(merged.doc_ids_, merged.topics_) if labels[d] ==
                "lost_or_stolen_card" and str(d).startswith("b")]  # fmt: skip
    topics_of = dict(zip(merged.doc_ids_, merged.topics_.tolist()))
    assert np.mean([topics_of[d] in first_ids for d in stolen_b]) >= 0.9
    assert len(merged.documents_) == len(a) + len(b)
    assert merged.classes_ == m1.classes_ + m2.classes_
    # min_similarity=1 adds every topic of m2; 0 adds none
    n2 = len([t for t in m2.topic_ids_ if t >= 0])
    everything = BERTopic.merge_models([m1, m2], min_similarity=1.0)
    assert len([t for t in everything.topic_ids_ if t >= 0]) == len(first_ids) + n2
    nothing = BERTopic.merge_models([m1, m2], min_similarity=0.0)
    assert [t for t in nothing.topic_ids_ if t >= 0] == first_ids


def test_merge_models_keeps_the_custom_labels_of_added_topics(halves):
    import copy

    _, _, a, b = halves
    labels = {r["id"]: r["label"] for r in a + b}
    m1, m2 = copy.deepcopy(halves[0]), copy.deepcopy(halves[1])  # the fixture's are shared
    m1.set_topic_labels({0: "First model's zero"})
    pending = next(t for t in m2.topic_ids_ if t >= 0 and majority(m2, t, labels) ==
                   "pending_top_up")  # fmt: skip
    m2.set_topic_labels({pending: "Top-ups still pending"})
    merged = BERTopic.merge_models([m1, m2])
    names = dict(zip(sorted(merged.topic_ids_), merged.custom_labels_))
    assert names[0] == "First model's zero"
    (target,) = [t for t, n in names.items() if n == "Top-ups still pending"]
    assert target > max(m1.topic_ids_) and majority(merged, target, labels) == "pending_top_up"
    assert merged.get_topic_info().set_index("Topic").loc[target, "CustomName"] == (
        "Top-ups still pending"
    )


def test_merge_models_refuses_models_of_other_embedding_spaces(halves):
    m1, m2, _, _ = halves
    import copy

    other = copy.deepcopy(m2)
    other.embeddings_ = np.zeros((len(other.documents_), 8), dtype=np.float32)
    with pytest.raises(LabelerError, match="share their embedding model"):
        BERTopic.merge_models([m1, other])
    with pytest.raises(LabelerError, match="min_similarity"):
        BERTopic.merge_models([m1, m2], min_similarity=1.5)


# ------------------------------------------------------------------------------ merge-runs
@pytest.fixture(scope="module")
def two_runs(halves, tmp_path_factory):
    """Runs A and B saved from the two models, one topic of each reviewed (edited)."""
    m1, m2, a, b = halves
    root = tmp_path_factory.mktemp("merge-runs")
    labels = {r["id"]: r["label"] for r in a + b}
    paths = labeler.save(m1, root / "A"), labeler.save(m2, root / "B")
    reviewed = {}
    for path, model, intent, label in (
        (paths[0], m1, "card_arrival", "Cards on their way"),
        (paths[1], m2, "verify_my_identity", "Proving who you are"),
    ):
        topic = next(t for t in model.topic_ids_ if t >= 0 and majority(model, t, labels) == intent)
        run = Run(path)
        Reviewer(run, "tester").apply(topic, Decision(action="edit", label=label))
        run.refresh()
        reviewed[path.name] = (topic, label)
    return root, reviewed, labels


def test_merge_runs_keeps_the_reviewed_labels_of_both_runs(two_runs, tmp_path):
    root, reviewed, labels = two_runs
    out = tmp_path / "C"
    result = CliRunner().invoke(main, ["merge-runs", str(root / "A"), str(root / "B"),
                                       "--out", str(out)])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "names and reviews kept" in result.output
    run = Run(out)
    topics = {r["topic"]: r for r in run.topics()}
    a_topic, a_label = reviewed["A"]
    assert topics[a_topic]["label"] == a_label and topics[a_topic]["review_status"] == "edited"
    b_label = reviewed["B"][1]
    (c_topic,) = [t for t, r in topics.items() if r["label"] == b_label]
    assert topics[c_topic]["review_status"] == "edited"
    a_ids = {r["topic"] for r in Run(root / "A").topics()}
    assert c_topic not in a_ids  # B's identity topic was added under a new id
    reviews = run.db.reviews()
    assert {(r["topic"], r["label_after"]) for r in reviews} == {(a_topic, a_label),
                                                                  (c_topic, b_label)}  # fmt: skip
    docs = run.documents()
    assert len(docs) == 360 and docs["doc_id"].is_unique
    members = docs[docs["topic"] == c_topic]["doc_id"].map(labels)
    assert (members == "verify_my_identity").mean() >= 0.9
    assert (out / "report.html").is_file() and b_label in (out / "report.html").read_text()
    config = json.loads((out / "config.json").read_text())
    assert config["merged_from"]["runs"] == ["A", "B"]
    assert str(c_topic) in {str(v) for v in config["merged_from"]["added"].values()}
    assert "/" not in config["corpus"]["name"]
    # the merged run works like any other: it reopens as a model
    model = run.model()
    assert model.labels_[c_topic] == b_label


def test_merge_runs_refuses_before_writing(two_runs, tmp_path):
    root, _, _ = two_runs
    runner = CliRunner()

    def merge(*args):
        return runner.invoke(main, ["merge-runs", *map(str, args)])

    missing = merge(root / "A", tmp_path / "nope", "--out", tmp_path / "C1")
    assert missing.exit_code == 2 and "nope" in missing.output
    assert not (tmp_path / "C1").exists()

    other = tmp_path / "B-other"
    shutil.copytree(root / "B", other)
    config = json.loads((other / "config.json").read_text())
    config["embedding"]["model"] = "sentence-transformers/all-mpnet-base-v2"
    (other / "config.json").write_text(json.dumps(config))
    different = merge(root / "A", other, "--out", tmp_path / "C2")
    assert different.exit_code == 2 and "different models" in different.output
    assert not (tmp_path / "C2").exists()

    existing = tmp_path / "C3"
    shutil.copytree(root / "A", existing)
    before = (existing / "topics.json").read_bytes()
    refused = merge(root / "A", root / "B", "--out", existing)
    assert refused.exit_code == 2 and "--force" in refused.output
    assert (existing / "topics.json").read_bytes() == before
    same = merge(root / "A", root / "B", "--out", root / "A", "--force")
    assert same.exit_code == 2 and "one of the runs merged" in same.output
    forced = merge(root / "A", root / "B", "--out", existing, "--force")
    assert forced.exit_code == 0, forced.output
    assert len(Run(existing).documents()) == 360
