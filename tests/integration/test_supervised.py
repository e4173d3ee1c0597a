"""Supervised, semi-supervised and manual topics (issue 23 item 1) on BANKING77 slices, with the
real embedding model: `fit(docs, y=y)` as BERTopic's seeds write it, and `labeler run
--label-column COL --supervision full|partial|manual`."""

from __future__ import annotations

import json
import random

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from conftest import read_corpus, write_jsonl
from fakes import FakeChat
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import adjusted_rand_score

from labeler import TopicModel, load_run
from labeler.api import label_run
from labeler.bertopic import BERTopic
from labeler.bertopic.cluster import BaseCluster
from labeler.bertopic.dimensionality import BaseDimensionalityReduction
from labeler.cli import main
from labeler.errors import LabelerError
from labeler.labels.labeling import LLMSettings
from labeler.run.db import RunDB


@pytest.fixture(scope="module")
def slice_600(banking_rows):
    """The shared 600 queries of 6 intents: texts, intent names and their class ids."""
    names = sorted({r["label"] for r in banking_rows})
    docs = [r["text"] for r in banking_rows]
    y = np.array([names.index(r["label"]) for r in banking_rows])
    return docs, y, names


def manual_model() -> BERTopic:
    return BERTopic(umap_model=BaseDimensionalityReduction(), hdbscan_model=BaseCluster())


def test_manual_topics_are_the_given_assignments(slice_600):
    docs, y, names = slice_600
    given = y.copy()
    given[given == 1] = 0  # one class of 200 (a third: over max_topic_share, yet never split)
    given[::25] = -1  # and a few documents given no topic: outliers
    model = manual_model()
    topics, _ = model.fit_transform(docs, y=given)
    mapping = model.topic_mapper_.get_mappings()
    assert [mapping[c] for c in given.tolist()] == list(topics)  # each class is one topic
    assert adjusted_rand_score(given, topics) == 1.0
    assert (topics[given == -1] == -1).all() and (topics[given >= 0] >= 0).all()
    assert model.topic_sizes_[mapping[0]] == int((given == 0).sum())  # the big class whole
    assert model.supervision_ == {"mode": "manual", "documents": 600, "labelled": 576,
                                  "classes": 5}  # fmt: skip
    # What follows is as usual: keywords of the class, representative documents from it.
    arrival = mapping[names.index("card_arrival")]
    assert "card" in [w for w, _ in model.get_topic(arrival)[:5]]
    members = {d for d, t in zip(docs, topics) if t == arrival}
    assert set(model.representative_docs_[arrival]) <= members
    info = model.get_topic_info()
    assert set(info["Topic"]) == set(np.unique(topics).tolist())


@pytest.fixture(scope="module")
def supervised_fit(slice_600, banking_rows):
    """A full fit on 9 in 10 labelled queries, and its transform of 120 held-out ones."""
    docs, y, names = slice_600
    given = y.copy()
    given[::10] = -1  # unlabelled: the classifier assigns them
    model = BERTopic(
        umap_model=BaseDimensionalityReduction(), hdbscan_model=LogisticRegression(max_iter=1000)
    )
    model.fit(docs, y=given)
    # New queries of the same intents, not in the slice: the classifier predicts their class.
    seen = set(docs)
    rng = random.Random(1)
    held = [r for r in read_corpus("banking77") if r["label"] in names and r["text"] not in seen]
    held = rng.sample(held, 120)
    predicted, shares = model.transform([r["text"] for r in held])
    return model, given, held, predicted, shares


def test_supervised_topics_are_the_classes_and_transform_predicts_them(supervised_fit, slice_600):
    model, given, held, predicted, shares = supervised_fit
    docs, y, names = slice_600
    topics = model.topics_
    mapping = model.topic_mapper_.get_mappings()
    labelled = given >= 0
    assert [mapping[c] for c in given[labelled]] == list(topics[labelled])
    assert len(model.topic_ids_) == 6 and -1 not in model.topic_ids_
    # the unlabelled tenth, assigned by the classifier, mostly to their true class
    assigned = np.array([mapping[c] for c in y[~labelled]])
    assert (topics[~labelled] == assigned).mean() >= 0.9
    assert model.supervision_["mode"] == "full" and model.supervision_["labelled"] == 540
    # New queries of the same intents, not in the slice: the classifier predicts their class.
    truth = np.array([mapping[names.index(r["label"])] for r in held])
    assert (predicted == truth).mean() >= 0.85
    assert shares.shape == (120,) and ((shares > 0) & (shares <= 1)).all()


def test_a_saved_supervised_run_transforms_by_its_classifier(supervised_fit, tmp_path):
    """The run keeps the logistic regression as arrays (no pickle), so the reopened model
    answers `transform` exactly as the fitted one, not by its neighbours' votes; after a merge
    in the run, both merged classes go to the merged topic."""
    model, _, held, predicted, shares = supervised_fit
    path = model.save(tmp_path / "run")
    assert (path / "classifier.npz").is_file()
    reopened = load_run(path)
    assert type(reopened.hdbscan_model_) is LogisticRegression
    again, again_shares = reopened.transform([r["text"] for r in held])
    assert again.tolist() == predicted.tolist()
    assert np.allclose(again_shares, shares, atol=1e-5)
    # Merge the two largest topics in the run: the classes of both now predict the merged one.
    result = CliRunner().invoke(main, ["topics", str(path), "merge", "0", "1", "--llm", "none"])
    assert result.exit_code == 0, result.output
    merged = load_run(path).transform([r["text"] for r in held])[0]
    before = np.isin(predicted, [0, 1])
    assert before.any() and len(set(merged[before].tolist())) == 1
    assert (merged[~before] != merged[before][0]).all()


def test_semi_supervised_beats_unsupervised_with_a_fifth_labelled():
    rows = read_corpus("banking77")
    rng = np.random.default_rng(0)
    picked = [rows[i] for i in rng.choice(len(rows), 1000, replace=False)]
    docs = [r["text"] for r in picked]
    names = sorted({r["label"] for r in picked})
    y = np.array([names.index(r["label"]) for r in picked])
    given = np.where(np.random.default_rng(1).random(len(y)) < 0.2, y, -1)
    plain = TopicModel(layout=False).fit(docs)
    steered = TopicModel(layout=False).fit(docs, y=given)
    before = adjusted_rand_score(y, plain.topics_)
    after = adjusted_rand_score(y, steered.topics_)
    assert after >= before + 0.1, (before, after)  # measured: 0.23 → 0.47
    assert steered.supervision_ == {"mode": "partial", "documents": 1000,
                                    "labelled": int((given >= 0).sum()),
                                    "classes": len(set(given[given >= 0]))}  # fmt: skip
    assert plain.supervision_ is None


def test_bad_targets_are_refused_before_embedding(slice_600):
    docs, y, _ = slice_600
    cases = [
        (manual_model(), None, "pass y"),
        (BERTopic(hdbscan_model=LogisticRegression()), None, "need the classes"),
        (BERTopic(), y[:10], "one class per document"),
        (BERTopic(), [str(v) for v in y], "integers"),
        (BERTopic(), np.full(len(y), -2), "-1 marks an unknown"),
        (BERTopic(zeroshot_topic_list=["cards"]), y, "cannot be combined"),
        (BERTopic(hdbscan_model=LogisticRegression()), np.where(y == 0, 0, -1), "two classes"),
        (manual_model(), np.full(len(y), -1), "at least one document"),
    ]
    for model, targets, message in cases:
        with pytest.raises(LabelerError, match=message):
            model.fit(docs, embeddings=np.zeros((len(docs), 4)), y=targets)
        assert not hasattr(model, "topics_")


@pytest.fixture(scope="module")
def labelled_file(banking_rows, tmp_path_factory):
    """The 600 queries with `given` (every intent) and `some` (a fifth, else empty)."""
    rng = random.Random(3)
    rows = [
        {**r, "given": r["label"], "some": r["label"] if rng.random() < 0.2 else ""}
        for r in banking_rows
    ]
    return write_jsonl(tmp_path_factory.mktemp("supervised") / "banking.jsonl", rows)


def cli_run(corpus, out, *extra) -> None:
    args = ["run", str(corpus), "--id-column", "id", "--llm", "none", "--out", str(out), *extra]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("mode", ["manual", "full"])
def test_cli_given_labels_are_the_topics(mode, labelled_file, banking_rows, tmp_path):
    out = tmp_path / "run"
    cli_run(labelled_file, out, "--label-column", "given", "--supervision", mode)
    config = json.loads((out / "config.json").read_text())
    record = config["supervision"]
    assert record["mode"] == mode and record["label_column"] == "given"
    assert record["classes"] == 6 and record["labelled"] == 600
    documents = pd.read_parquet(out / "documents.parquet")
    named = documents["topic"].astype(str).map(record["topics"])
    truth = {r["id"]: r["label"] for r in banking_rows}
    assert named.tolist() == [truth[i] for i in documents["doc_id"]]  # topic = its given label
    assert "Topics from labels" in (out / "report.md").read_text()
    assert (
        f"{'manual' if mode == 'manual' else 'supervised'}: the topics are the given"
        in (out / "report.html").read_text()
    )
    model = load_run(out)  # the run reopens as a fitted model, its supervision recorded
    assert model.supervision_["mode"] == mode
    # A full run keeps its classifier (the CLI's logistic regression); a manual one has none.
    assert (out / "classifier.npz").is_file() == (mode == "full")
    assert len(model.topic_ids_) == 6
    # LLM labels, as for clustered topics: every given topic is asked once and labelled.
    chat = FakeChat()
    stats = label_run(out, LLMSettings(base_url="http://127.0.0.1:9/v1", model="fake"), chat=chat)
    current = RunDB(out).current_labels()
    assert stats.topics == 6 and {r["source"] for r in current.values()} == {"llm"}
    assert len(chat.calls) == 6
    assert "Topics from labels" in (out / "report.md").read_text()  # rendered again, still said


def test_cli_partial_treats_empty_labels_as_unknown(labelled_file, tmp_path):
    out = tmp_path / "run"
    cli_run(labelled_file, out, "--label-column", "some", "--supervision", "partial")
    record = json.loads((out / "config.json").read_text())["supervision"]
    assert record["mode"] == "partial" and record["label_column"] == "some"
    assert 80 <= record["labelled"] <= 160 and record["documents"] == 600
    assert "topics" not in record  # the topics were found, not given
    assert "semi-supervised: the given labels of column some" in (out / "report.md").read_text()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--supervision", "full"], "--supervision needs --label-column"),
        (["--label-column", "given"], "--label-column needs --supervision"),
        (["--label-column", "nope", "--supervision", "manual"], "'nope' is not a column"),
        (["--label-column", "given", "--supervision", "pick"], "Invalid value"),
        (["--label-column", "given", "--supervision", "full", "--sample-fit", "200"],
         "not available with --sample-fit"),
    ],
)  # fmt: skip
def test_cli_supervision_errors(extra, message, labelled_file, tmp_path):
    out = tmp_path / "run"
    args = ["run", str(labelled_file), "--llm", "none", "--out", str(out), *extra]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2 and message in result.output, result.output
    assert not out.exists()
