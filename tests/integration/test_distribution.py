"""Multi-topic distributions (issue 23 item 2) on a real slice (600 BANKING77 queries, six
intents) and the packaged model: `approximate_distribution` (BERTopic's token windows against
the topics' c-TF-IDF), `calculate_probabilities` (the full documents × topics matrix, from fit
and from `transform`), the run's mix columns (documents.parquet's `mix_topics`, `mix_shares`),
the report and the review app showing a document's mix, and surgery recomputing it."""

from __future__ import annotations

import html
import json
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from review_server import ThreadServer
from sklearn.cluster import KMeans

import labeler
from labeler import surgery
from labeler.bertopic import BERTopic
from labeler.figures.approximate_distribution import tokens
from labeler.represent import distribution as approx
from labeler.run.db import RunDB
from labeler.run.folder import Run
from labeler.views.export import documents_table
from labeler.views.report import render_reports

FIXTURE = Path(__file__).resolve().parents[1] / "data" / "run-0.1.0"


@pytest.fixture(scope="module")
def loaded(banking_run):
    """The banking run as a fitted model (no refit: its c-TF-IDF is rebuilt from its files)."""
    return labeler.load_run(banking_run)


@pytest.fixture(scope="module")
def docs(banking_rows) -> list[str]:
    return [r["text"] for r in banking_rows]


@pytest.fixture(scope="module")
def soft(docs):
    """A BERTopic fit with the full distribution (HDBSCAN's soft clustering)."""
    model = BERTopic(calculate_probabilities=True, min_topic_size=10)
    topics, probs = model.fit_transform(docs)
    return model, topics, probs


def real(model) -> list[int]:
    return [t for t in sorted(model.topic_ids_) if t >= 0]


# ------------------------------------------------------------------ approximate_distribution
def test_approximate_distribution_shapes(loaded):
    docs = loaded.documents_[:40]
    n_topics = len(real(loaded))
    distr, none = loaded.approximate_distribution(docs)
    assert none is None and distr.shape == (40, n_topics)
    sums = distr.sum(axis=1)
    assert np.all((np.abs(sums - 1) < 1e-6) | (sums == 0)) and (sums > 0).mean() > 0.8
    assert (distr >= 0).all()

    distr_t, per_token = loaded.approximate_distribution(docs, calculate_tokens=True)
    assert len(per_token) == 40
    for doc, array in zip(docs, per_token):
        assert array.shape == (max(len(tokens(loaded, doc)), 1), n_topics)
    # the document's distribution is its tokens' summed, normalised (BERTopic's rule)
    summed = np.stack([a.sum(axis=0) for a in per_token])
    total = summed.sum(axis=1, keepdims=True)
    expected = np.divide(summed, total, out=np.zeros_like(summed), where=total > 0)
    assert np.allclose(distr_t, expected)

    one, _ = loaded.approximate_distribution(docs[0])  # one string is one document
    assert one.shape == (1, n_topics) and np.allclose(one[0], distr[0])
    batched, _ = loaded.approximate_distribution(docs, batch_size=7)
    assert np.allclose(batched, distr)
    empty, arrays = loaded.approximate_distribution(["", "123 456"], calculate_tokens=True)
    assert (empty == 0).all() and all(a.shape == (1, n_topics) for a in arrays)
    with pytest.raises(labeler.LabelerError, match="window"):
        loaded.approximate_distribution(docs, window=0)


def test_the_fast_window_counts_match_vectorising_each_window(loaded, monkeypatch):
    """Windows counted as sums of their tokens' counts give what vectorising every window's
    text gives (BERTopic's way), with padding and strides too."""
    docs = loaded.documents_[:120]
    for kwargs in ({}, {"window": 3, "stride": 2, "padding": True}, {"min_similarity": 0}):
        fast, fast_tokens = loaded.approximate_distribution(docs, calculate_tokens=True, **kwargs)
        with monkeypatch.context() as m:
            m.setattr(approx, "_word_counts_add_up", lambda *a: False)
            slow, slow_tokens = loaded.approximate_distribution(
                docs, calculate_tokens=True, **kwargs
            )
        assert np.allclose(fast, slow)
        assert all(np.allclose(a, b) for a, b in zip(fast_tokens, slow_tokens))


def test_token_sets_follow_bertopic():
    words = list("abcdef")
    assert approx.token_sets(words, 4, 1, False) == [[0, 1, 2, 3], [1, 2, 3, 4], [2, 3, 4, 5]]
    assert approx.token_sets(words[:2], 4, 1, False) == [[0, 1]]
    assert approx.token_sets(words, 4, 2, False) == [[0, 1, 2, 3], [2, 3, 4, 5]]
    # padding: the short windows at the start, and the cut ones at the end
    assert approx.token_sets(words, 3, 1, True) == [
        [0], [0, 1], [0, 1, 2], [1, 2, 3], [2, 3, 4], [3, 4, 5], [4, 5], [5],
    ]  # fmt: skip


def test_a_document_from_two_topics_gets_both(loaded):
    by_size = sorted(real(loaded), key=lambda t: -loaded.topic_sizes_[t])
    a, b = by_size[0], by_size[1]
    doc = " ".join(loaded.representative_docs_[a][:1] + loaded.representative_docs_[b][:1])
    distr, per_token = loaded.approximate_distribution(doc, calculate_tokens=True)
    ids = real(loaded)
    top = [ids[i] for i in np.argsort(-distr[0])[:2]]
    assert set(top) == {a, b}, (doc, top)
    assert distr[0, ids.index(a)] > 0.2 and distr[0, ids.index(b)] > 0.2
    # the words of a's half lean to a, those of b's half to b
    half = len(tokens(loaded, loaded.representative_docs_[a][0]))
    lean = per_token[0][:, ids.index(a)] - per_token[0][:, ids.index(b)]
    assert lean[: half - 3].mean() > 0 > lean[half + 3 :].mean()
    assert loaded.visualize_approximate_distribution(doc, per_token[0]).data
    assert loaded.visualize_distribution(distr[0]).data


def test_the_embedding_model_variant(loaded):
    docs = loaded.documents_[:20]
    distr, _ = loaded.approximate_distribution(docs, use_embedding_model=True)
    assert distr.shape == (20, len(real(loaded)))
    assert np.allclose(distr.sum(axis=1), 1)
    ids = np.asarray(real(loaded))
    own = loaded.topics_[:20]
    assert (ids[distr.argmax(axis=1)][own >= 0] == own[own >= 0]).mean() >= 0.6


# ------------------------------------------------------------------ calculate_probabilities
def test_calculate_probabilities_gives_the_full_matrix(soft, docs):
    model, topics, probs = soft
    n_topics = len(real(model))
    assert model.probability_method_ == "hdbscan"
    assert probs is model.probabilities_ and probs.shape == (len(docs), n_topics)
    assert (probs >= 0).all() and (probs.sum(axis=1) <= 1 + 1e-5).all()
    assigned = np.asarray(topics) >= 0
    agree = np.asarray(real(model))[probs.argmax(axis=1)] == np.asarray(topics)
    assert agree[assigned].mean() >= 0.9

    new_topics, new_probs = model.transform(docs[:60])
    assert new_probs.shape == (60, n_topics)
    assert (new_probs >= 0).all() and (new_probs.sum(axis=1) <= 1 + 1e-5).all()
    kept = new_topics >= 0
    assert (np.asarray(real(model))[new_probs.argmax(axis=1)][kept] == new_topics[kept]).all()
    assert (new_topics == np.asarray(topics)[:60]).mean() >= 0.9


def test_without_calculate_probabilities_one_probability_per_document(loaded, docs):
    assert not loaded.calculate_probabilities
    _, probs = loaded.transform(docs[:10])
    assert np.shape(probs) == (10,) and np.shape(loaded.probabilities_) == (len(loaded.topics_),)


def test_a_clusterer_without_soft_clustering_gets_the_centres_softmax(soft, docs):
    fitted = soft[0]
    model = BERTopic(calculate_probabilities=True, hdbscan_model=KMeans(6, random_state=0))
    topics, probs = model.fit_transform(docs, fitted.embeddings_)
    assert model.probability_method_ == "centres"
    assert np.allclose(probs.sum(axis=1), 1, atol=1e-5)
    agree = np.asarray(real(model))[probs.argmax(axis=1)] == np.asarray(topics)
    assert agree.mean() >= 0.8
    mix_topics, shares, method = model.topic_mix()
    assert method == "centres"
    assert [m[0] for m in mix_topics] == np.asarray(real(model))[probs.argmax(axis=1)].tolist()


# ------------------------------------------------------------------ the run
def test_the_run_keeps_each_documents_top_topics(banking_run):
    frame = pd.read_parquet(banking_run / "documents.parquet")
    assert {"mix_topics", "mix_shares"} <= set(frame.columns)
    config = json.loads((banking_run / "config.json").read_text())
    assert config["distribution"] == {"mix": "approximate_distribution", "mix_top": 3}
    topics = {t["topic"] for t in json.loads((banking_run / "topics.json").read_text())}
    first = []
    for own, mix, shares in zip(frame["topic"], frame["mix_topics"], frame["mix_shares"]):
        assert len(mix) == len(shares) <= 3 and set(mix) <= topics - {-1}
        assert list(shares) == sorted(shares, reverse=True) and all(0 < v <= 1 for v in shares)
        assert sum(shares) <= 1 + 1e-3
        if own >= 0 and len(mix):
            first.append(mix[0] == own)
    assert np.mean(first) >= 0.7
    assert (frame["mix_topics"].map(len) >= 2).mean() > 0.3  # many documents mix topics
    # exports flatten the lists into scalar columns
    table = documents_table(Run(banking_run), json.loads((banking_run / "topics.json").read_text()))
    assert {"mix_topic_1", "mix_share_1", "mix_topic_3"} <= set(table.columns)
    assert not {"mix_topics", "mix_shares"} & set(table.columns)


def test_the_report_shows_an_example_documents_mix_escaped(banking_run, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(banking_run, run)
    page = (run / "report.html").read_text()
    shape = r'<div class="doc-mix">(\d+)% this topic; also (\d+)% <a href="#topic-(\d+)">'
    mixes = re.findall(shape, page)
    assert len(mixes) >= 5
    frame = pd.read_parquet(run / "documents.parquet")
    reps = frame[frame["representative"]]
    also = {(int(t), round(100 * float(v))) for m, s in zip(reps["mix_topics"], reps["mix_shares"])
            for t, v in zip(m, s)}  # fmt: skip
    assert all((int(t), int(share)) in also for _, share, t in mixes)
    assert "this topic; also" in (run / "report.md").read_text()
    # a label with markup is shown as text
    topic = int(mixes[0][2])
    db = RunDB(run)
    db.add_label_version(topic, "<b>Cards</b> & <i>co</i>", source="review")
    Run(run).refresh()
    render_reports(Run(run))
    page = (run / "report.html").read_text()
    shown = re.findall(rf'<a href="#topic-{topic}">([^<]*)</a>', page)
    assert html.escape("<b>Cards</b> & <i>co</i>", quote=False) in "".join(shown)
    assert "<b>Cards</b>" not in page


def test_the_0_1_0_run_still_opens_and_renders(tmp_path):
    run = tmp_path / "old"
    shutil.copytree(FIXTURE, run)
    assert "mix_topics" not in pd.read_parquet(run / "documents.parquet").columns
    model = labeler.load_run(run)
    distr, _ = model.approximate_distribution(model.documents_[:5])
    assert distr.shape == (5, len(real(model)))
    render_reports(Run(run))
    assert "doc-mix" not in (run / "report.html").read_text().split("</style>", 1)[1]


def test_surgery_recomputes_the_mix_over_the_new_topics(banking_run, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(banking_run, run)
    ids = [t["topic"] for t in json.loads((run / "topics.json").read_text()) if t["topic"] >= 0]
    keep, drop = ids[-2], ids[-1]
    surgery.merge(run, [keep, drop])
    frame = pd.read_parquet(run / "documents.parquet")
    assert not any(drop in m for m in frame["mix_topics"])
    assert sum(keep in m for m in frame["mix_topics"]) >= (frame["topic"] == keep).sum() * 0.5


def test_the_review_topic_page_shows_the_mix(banking_run, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(banking_run, run)
    topic = min(t for t in labeler.load_run(run).topic_ids_ if t >= 0)
    with ThreadServer(run) as server:
        detail = server.call("GET", f"/api/topics/{topic}").json
        shown = detail["representative_docs"] + detail["sample_docs"]
        assert any(d.get("also") for d in shown)
        assert all(a["id"] != topic and a["share"] >= 0.05 for d in shown for a in d["also"])
        page = server.call("GET", f"/topics/{topic}").text
        assert 'class="doc-mix">also ' in page
