"""BERTopic's topic surgery on a fitted model in memory (`merge_topics`, `reduce_topics`,
`reduce_outliers`, `update_topics`), on a real slice (600 BANKING77 queries, six intents) and
the packaged model. The model is fitted once per module; each test changes a deep copy. The
rules are `labeler.reassign`'s, which the run folder's surgery (`labeler.surgery`) uses too: the
last test checks that both give the same documents' topics."""

from __future__ import annotations

import copy

import numpy as np
import pytest

import labeler
from labeler import LabelerError, surgery
from labeler.bertopic import BERTopic
from labeler.run.folder import Run


@pytest.fixture(scope="module")
def docs(banking_rows) -> list[str]:
    return [r["text"] for r in banking_rows]


@pytest.fixture(scope="module")
def fitted(docs):
    model = BERTopic(calculate_probabilities=True, min_topic_size=10)
    model.fit_transform(docs)
    return model


@pytest.fixture
def model(fitted):
    return copy.deepcopy(fitted)


def topics_of(model) -> list[int]:
    return [t for t in sorted(model.topic_ids_) if t >= 0]


def same_partition(a, b) -> bool:
    """The same documents together, up to renumbering (-1 matched like any other id)."""
    pairs = set(zip(np.asarray(a).tolist(), np.asarray(b).tolist()))
    return len(pairs) == len({p[0] for p in pairs}) == len({p[1] for p in pairs})


def top_words(model, topic, n=5) -> list[str]:
    return [w for w, _ in model.get_topic(topic)][:n]


def test_the_slice_has_outliers_and_more_than_five_topics(fitted):
    assert len(topics_of(fitted)) > 5 and (fitted.topics_ == -1).any()
    assert fitted.probabilities_.shape == (len(fitted.topics_), len(topics_of(fitted)))


def test_merge_topics_merges_two_topics_into_one_described_again(model, docs):
    before = model.topics_.copy()
    probs = model.probabilities_.copy()
    words = {t: top_words(model, t) for t in topics_of(model)}
    a, b = topics_of(model)[-2:]  # the two smallest
    size = model.topic_sizes_[a] + model.topic_sizes_[b]
    model.merge_topics(docs, [a, b])
    assert len(topics_of(model)) == len(words) - 1
    (merged,) = set(model.topics_[np.isin(before, [a, b])].tolist())
    assert model.topic_sizes_[merged] == size and (model.topics_ == merged).sum() == size
    # renumbered by size, as BERTopic: 0 the largest; topic_mapper_ records where each went
    sizes = [model.topic_sizes_[t] for t in topics_of(model)]
    assert sizes == sorted(sizes, reverse=True)
    assert model.topic_mapper_.get_mappings()[a] == model.topic_mapper_.get_mappings()[b] == merged
    # the merged topic's keywords come from its documents
    members = " ".join(d.lower() for d, t in zip(docs, model.topics_) if t == merged)
    assert all(w in members for w in top_words(model, merged, 10))
    assert model.representative_rows_[merged]
    assert all(model.topics_[i] == merged for i in model.representative_rows_[merged])
    # the other topics keep their documents and (up to renumbering) their keywords
    for t in words:
        if t in (a, b):
            continue
        new = model.topic_mapper_.get_mappings()[t]
        assert (model.topics_ == new).sum() == (before == t).sum()
        assert len(set(top_words(model, new)) & set(words[t])) >= 4, (t, words[t])
        np.testing.assert_allclose(model.probabilities_[:, new], probs[:, t])
    np.testing.assert_allclose(model.probabilities_[:, merged], probs[:, a] + probs[:, b])
    assert model.probabilities_.shape == (len(docs), len(words) - 1)
    assert set(model.labels_) == set(model.topic_ids_) and model.hierarchy_ is None
    assert len(model.get_topic_info()) == len(model.topic_ids_)


def test_merge_topics_takes_groups_of_topics(model, docs):
    n = len(topics_of(model))
    before = model.topics_.copy()
    model.merge_topics(docs, [[0, 1], [2, 3]])
    assert len(topics_of(model)) == n - 2
    assert len(set(model.topics_[np.isin(before, [0, 1])].tolist())) == 1
    assert len(set(model.topics_[np.isin(before, [2, 3])].tolist())) == 1
    assert (model.topics_ == -1).sum() == (before == -1).sum()


@pytest.mark.parametrize(
    ("topics", "message"),
    [([0, -1], "outliers"), ([0, 999], "no topic 999"), ([0, 0], "twice"), ("0", "list")],
)
def test_merge_topics_refuses_what_it_cannot_merge(model, docs, topics, message):
    with pytest.raises(LabelerError, match=message):
        model.merge_topics(docs, topics)


def test_surgery_needs_the_fitted_documents(model, docs):
    for call in (
        lambda: model.merge_topics(docs[:-1], [0, 1]),
        lambda: model.reduce_topics(list(reversed(docs)), nr_topics=3),
        lambda: model.reduce_outliers(docs[1:], model.topics_[1:]),
        lambda: model.update_topics(["other"]),
    ):
        with pytest.raises(LabelerError, match="fitted documents"):
            call()


def test_reduce_topics_to_five(model, docs):
    before = model.topics_.copy()
    assert model.reduce_topics(docs, nr_topics=5) is model
    assert topics_of(model) == [0, 1, 2, 3, 4] and model.nr_topics == 5
    assert ((model.topics_ == -1) == (before == -1)).all()  # outliers stay outliers
    assert model.probabilities_.shape == (len(docs), 5)
    # every old topic went whole into one new topic
    assert all(len(set(model.topics_[before == t].tolist())) == 1 for t in np.unique(before))
    sizes = [model.topic_sizes_[t] for t in topics_of(model)]
    assert sizes == sorted(sizes, reverse=True)
    assert set(model.topic_representations_) == set(model.topic_ids_)


@pytest.mark.parametrize("strategy", ["embeddings", "c-tf-idf", "probabilities", "distributions"])
def test_reduce_outliers_moves_outliers_and_leaves_the_model(model, docs, strategy):
    before = model.topics_.copy()
    labels = dict(model.labels_)
    new = model.reduce_outliers(docs, model.topics_, strategy=strategy)
    assert isinstance(new, list) and len(new) == len(docs)
    new = np.asarray(new)
    assert (new == -1).sum() < (before == -1).sum()
    assert (new[before >= 0] == before[before >= 0]).all()  # only outliers move
    assert set(new[before == -1].tolist()) - {-1} <= set(topics_of(model))
    assert (model.topics_ == before).all() and model.labels_ == labels  # the model is unchanged
    high = 1.01 if strategy in ("probabilities", "distributions") else 0.99
    unmoved = model.reduce_outliers(docs, model.topics_, strategy=strategy, threshold=high)
    assert unmoved == before.tolist()


def test_reduce_outliers_by_probabilities_needs_the_distribution(docs):
    model = BERTopic(min_topic_size=10).fit(docs)
    with pytest.raises(LabelerError, match="calculate_probabilities=True"):
        model.reduce_outliers(docs, model.topics_, strategy="probabilities")
    with pytest.raises(LabelerError, match="choose one of"):
        model.reduce_outliers(docs, model.topics_, strategy="nearest")


def test_update_topics_with_bigrams(model, docs):
    assert not any(" " in w for t in model.topic_ids_ for w, _ in model.get_topic(t))
    topics = model.topics_.copy()
    model.update_topics(docs, n_gram_range=(1, 2))
    assert model.n_gram_range == (1, 2) and (model.topics_ == topics).all()
    assert any(" " in w for t in model.topic_ids_ for w, _ in model.get_topic(t))


def test_update_topics_adopts_new_topics(model, docs):
    new_topics = model.reduce_outliers(docs, model.topics_, strategy="embeddings")
    model.update_topics(docs, topics=new_topics)
    assert model.topics_.tolist() == new_topics
    assert model.topic_sizes_.get(-1, 0) == new_topics.count(-1)
    for t in topics_of(model):
        assert model.topic_sizes_[t] == new_topics.count(t)
    assert set(model.labels_) == set(model.topic_ids_)


def test_the_run_folder_and_the_model_merge_alike(model, docs, tmp_path):
    a, b = topics_of(model)[-2:]
    path = labeler.save(model, tmp_path / "run")
    surgery.merge(path, [a, b])
    run_topics = Run(path).documents()["topic"].to_numpy()
    model.merge_topics(docs, [a, b])
    assert same_partition(run_topics, model.topics_)
    assert len({t for t in run_topics.tolist() if t >= 0}) == len(topics_of(model))


def test_custom_labels_follow_their_topics_through_a_merge(model, docs):
    """set_topic_labels, then merge_topics: each topic keeps its custom label under its new
    number, and the merged topic keeps its larger part's (BERTopic keeps the list as it was,
    which then names the wrong topics)."""
    ids = sorted(model.topic_ids_)
    model.set_topic_labels([f"custom {t}" for t in ids])
    a, b = topics_of(model)[-2:]
    larger = a if model.topic_sizes_[a] >= model.topic_sizes_[b] else b
    members = {t: set(np.flatnonzero(model.topics_ == t)) for t in ids}
    model.merge_topics(docs, [a, b])
    new_ids = sorted(model.topic_ids_)
    assert len(model.custom_labels_) == len(new_ids) == len(ids) - 1
    by_topic = dict(zip(new_ids, model.custom_labels_))
    for t in ids:
        if t in (a, b):
            continue
        new = int(model.topics_[next(iter(members[t]))])
        assert by_topic[new] == f"custom {t}"
    merged = int(model.topics_[next(iter(members[a]))])
    assert by_topic[merged] == f"custom {larger}"


def test_delete_topics_makes_their_documents_outliers(model):
    before = model.topics_.copy()
    probs = model.probabilities_.copy()
    gone = topics_of(model)[1]
    kept_words = top_words(model, topics_of(model)[0])
    n_topics = len(topics_of(model))
    model.delete_topics([gone])
    assert len(topics_of(model)) == n_topics - 1
    assert (model.topics_[before == gone] == -1).all()
    assert (model.topics_ == -1).sum() == (before == -1).sum() + (before == gone).sum()
    # The other topics keep their documents (renumbered by size) and their words.
    rest = before != gone
    assert same_partition(before[rest], model.topics_[rest])
    assert top_words(model, 0) == kept_words
    # The distribution loses the deleted topic's column, nothing else.
    kept_columns = [c for c, t in enumerate(topics_of_ids(before)) if t != gone]
    assert np.allclose(np.sort(model.probabilities_.sum(axis=0)),
                       np.sort(probs[:, kept_columns].sum(axis=0)), atol=1e-4)  # fmt: skip
    with pytest.raises(LabelerError, match="no topic 99"):
        model.delete_topics([99])
    with pytest.raises(LabelerError, match="leave no topic"):
        model.delete_topics(topics_of(model))


def topics_of_ids(topics) -> list[int]:
    return sorted(int(t) for t in set(np.asarray(topics).tolist()) if t >= 0)
