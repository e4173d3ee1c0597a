"""Topic surgery (`labeler topics RUN merge|split|reduce|outliers|delete|history|undo`) on a copy
of the real BANKING77 run: only touched topics are described and labelled again (calls counted by
the fake chat model), reviewed labels follow their documents, and undo is byte for byte."""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from conftest import run_files_hashes as hashes
from fakes import FakeChat

from labeler import surgery
from labeler.api import label_run
from labeler.cli import main
from labeler.errors import LabelerError
from labeler.labels.labeling import LLMSettings
from labeler.run.db import RunDB
from labeler.run.folder import Run
from labeler.run.layout import run_lock

FAKE = LLMSettings(base_url="http://127.0.0.1:9/v1", model="fake", concurrency=2)


def tree_leaves(run: Path) -> set[int]:
    nodes = json.loads((run / "hierarchy.json").read_text())["nodes"]
    return {int(n["id"]) for n in nodes if n["layer"] == 0}


def records(run: Path) -> dict[int, dict]:
    return {r["topic"]: r for r in json.loads((run / "topics.json").read_text())}


def assignments(run: Path) -> np.ndarray:
    return pd.read_parquet(run / "documents.parquet", columns=["topic"])["topic"].to_numpy()


def label_state(run: Path) -> tuple[list, dict, int]:
    db = RunDB(run)
    return db.label_history(), db.status_names(), len(db.reviews())


def by_size(run: Path) -> list[int]:
    """Topic ids, largest first."""
    real = [r for r in records(run).values() if r["topic"] >= 0]
    return [r["topic"] for r in sorted(real, key=lambda r: -r["size"])]


def test_merge_redescribes_one_topic_and_undo_is_byte_identical(run):
    before_hashes, before_state = hashes(run), label_state(run)
    before, docs = records(run), assignments(run)
    assert "hierarchy.json" in before_hashes  # the fit's topic tree
    keep, drop = by_size(run)[-2:]
    change = surgery.merge(run, [keep, drop])
    after = records(run)
    assert tree_leaves(run) == {t for t in after if t >= 0}  # the tree follows the topics
    assert change.revision == 1 and change.touched == [keep] and change.removed == [drop]
    assert drop not in after
    assert after[keep]["size"] == before[keep]["size"] + before[drop]["size"]
    assert (assignments(run) == keep).sum() == after[keep]["size"]
    assert after[keep]["keywords"] != before[keep]["keywords"]  # described again
    for t in set(before) - {keep, drop}:  # every other topic's record as it was
        assert after[t] == before[t]
    # the merged topic's new keyword label is current, flagged with the change
    current = RunDB(run).current_label(keep)
    assert current["source"] == "keywords" and json.loads(current["flags"]) == ["merge"]
    (row,) = surgery.history(run)
    assert row["action"] == "merge" and row["args"] == {"topics": [keep, drop]}
    assert (row["topics_before"], row["topics_after"]) == (len(before) - 1, len(before) - 2)

    undone = surgery.undo(run)
    assert undone["id"] == 1
    assert hashes(run) == before_hashes
    assert label_state(run) == before_state
    assert (assignments(run) == docs).all()
    assert surgery.current_revision(surgery.history(run)) == 0
    assert not (run / "revisions" / "1").exists()


def test_split_appends_new_topics_and_reduce_merges_back(run):
    before = records(run)
    largest = by_size(run)[0]
    top = max(before)
    change = surgery.split(run, largest)
    after = records(run)
    assert change.added and min(change.added) == top + 1
    assert set(change.touched) == {largest, *change.added}
    parts = [largest, *change.added]
    assert sum(after[t]["size"] for t in parts) == before[largest]["size"]
    assert len({tuple(w for w, _ in after[t]["keywords"][:5]) for t in parts}) == len(parts)
    for t in set(before) - {largest}:
        assert after[t] == before[t]
    # reduce back to the number of topics before the split
    n_before = len([t for t in before if t >= 0])
    change = surgery.reduce(run, n_before)
    assert len([t for t in records(run) if t >= 0]) == n_before
    assert all(t >= 0 for t in change.touched) and len(change.touched) <= n_before
    assert [r["action"] for r in surgery.history(run)] == ["split", "reduce"]


def test_reduce_relabels_only_merged_topics_and_reviewed_labels_follow(run):
    label_run(run, FAKE, chat=FakeChat())
    ids = by_size(run)
    to = len(ids) - 2
    plan = surgery.plan_reduce(Run(run), to)
    untouched = [t for t in ids if t not in plan.touched and t not in plan.removed]
    assert plan.touched and untouched and plan.removed
    kept_reviewed, moved_reviewed = untouched[0], plan.touched[0]
    db = RunDB(run)
    for t in (kept_reviewed, moved_reviewed):
        db.record_review(t, "accept", None, None, None, "ana", "accepted")
    label_kept = db.current_label(kept_reviewed)

    chat = FakeChat()
    change = surgery.reduce(run, to, settings=FAKE, chat=chat)
    # only the merged topics were asked about, once each: at most `to` first questions
    assert sum(chat.calls.values()) == len(change.touched) <= to
    assert change.llm_calls == sum(chat.calls.values()) + chat.follow_ups <= to + 5
    assert RunDB(run).revisions()[-1]["llm_calls"] == change.llm_calls
    statuses = RunDB(run).status_names()
    # documents unchanged: the reviewed label and its status stay
    assert statuses[kept_reviewed] == "accepted"
    assert RunDB(run).current_label(kept_reviewed) == label_kept
    # documents changed: back to review, with a note saying why, and a new LLM label
    assert moved_reviewed in change.marked and statuses[moved_reviewed] == "unreviewed"
    note = RunDB(run).reviews(moved_reviewed)[-1]
    assert note["action"] == "revision" and "documents changed" in note["note"]
    assert RunDB(run).current_label(moved_reviewed)["source"] == "llm"

    # undo puts the reviewed status and the labels back
    surgery.undo(run)
    assert RunDB(run).status_names()[moved_reviewed] == "accepted"


@pytest.mark.parametrize("strategy", ["embeddings", "c-tf-idf"])
def test_outliers_meet_max_share_most_confident_first(run, strategy):
    docs = assignments(run)
    n, outliers = len(docs), int((docs == -1).sum())
    share = 0.5 * outliers / n  # half of them stay
    change = surgery.outliers(run, strategy, share)
    after = assignments(run)
    left = int((after == -1).sum())
    assert left / n <= share and left == math.floor(share * n)
    assert change.sizes["outliers_after"] == left
    assert (after[docs != -1] == docs[docs != -1]).all()  # only outliers moved
    assert records(run)[-1]["size"] == left
    if strategy == "embeddings":  # the ones moved were the closest to a topic centroid
        vectors = np.load(run / "embeddings.npy")
        vectors = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
        ids = sorted(set(docs[docs >= 0].tolist()))
        centres = np.stack([vectors[docs == t].mean(axis=0) for t in ids])
        centres /= np.linalg.norm(centres, axis=1, keepdims=True)
        sims = vectors @ centres.T
        moved = (docs == -1) & (after != -1)
        stayed = (docs == -1) & (after == -1)
        assert sims[moved].max(axis=1).min() >= sims[stayed].max(axis=1).max()
        nearest = np.asarray(ids)[sims[moved].argmax(axis=1)]
        assert (after[moved] == nearest).all()


def test_delete_makes_outliers(run):
    before, docs = records(run), assignments(run)
    topic = by_size(run)[-1]
    change = surgery.delete(run, topic)
    after = records(run)
    assert topic not in after and change.touched == [-1]
    assert after[-1]["size"] == before[-1]["size"] + before[topic]["size"]
    assert (assignments(run)[docs == topic] == -1).all()
    assert RunDB(run).current_label(topic) is None


def test_errors_are_one_line(run, tmp_path):
    runner = CliRunner()

    def fails(*args) -> str:
        result = runner.invoke(main, ["topics", str(run), *args, "--llm", "none"])
        assert result.exit_code == 2, result.output
        lines = result.output.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("labeler: error: "), result.output
        return lines[0]

    assert "no topic 999" in fails("merge", "0", "999")
    assert "no topic 999" in fails("split", "999")
    assert "--to" in fails("reduce", "--to", "0")
    assert "--to 999" in fails("reduce", "--to", "999")
    assert "--to" in fails("reduce", "--to", "many")
    assert "soft-membership" in fails("outliers", "--strategy", "probabilities")
    assert "--max-share" in fails("outliers", "--max-share", "2")
    result = runner.invoke(main, ["topics", str(run), "undo"])
    assert result.exit_code == 2 and "nothing to undo" in result.output
    with run_lock(run):
        assert "another labeler process" in fails("merge", "0", "1")
    (run / "topics.json").write_text("[{")
    assert "topics.json is damaged" in fails("delete", "0")
    assert not RunDB(run).revisions()


def test_cli_change_history_undo(run):
    """The commands as a user runs them, in a process of their own, without an LLM."""
    before = hashes(run)
    keep, drop = by_size(run)[-2:]
    env = {**os.environ, "LABELER_LLM": "none"}

    def labeler(*args) -> str:
        result = subprocess.run(
            [sys.executable, "-m", "labeler", "topics", str(run), *args],
            capture_output=True, text=True, env=env, timeout=300,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        return result.stdout

    out = labeler("merge", str(keep), str(drop), "--llm", "none")
    assert f"revision 1: merged {drop} into {keep}" in out and "LLM calls: 0" in out
    report = (run / "report.md").read_text()
    assert "## Revisions" in report and f"| 1 (current) | merged {drop} into {keep} |" in report
    assert 'id="revisions"' in (run / "report.html").read_text()
    history = labeler("history")
    assert f"revision 1: merged {drop} into {keep}" in history
    assert "current: revision 1" in history
    out = labeler("undo")
    assert "undid revision 1" in out and "current: revision 0" in out
    assert hashes(run) == before
    assert "(undone " in labeler("history")
    assert f"merged {drop} into {keep} (undone " in (run / "report.md").read_text()


def test_undo_needs_the_kept_files(run):
    keep, drop = by_size(run)[-2:]
    surgery.merge(run, [keep, drop])
    shutil.rmtree(run / "revisions" / "1")
    with pytest.raises(LabelerError, match="saved files are missing"):
        surgery.undo(run)


def test_review_app_split_outliers_and_merge_are_revisions(run):
    from review_server import ThreadServer

    before_hashes = hashes(run)
    before = records(run)
    largest, (keep, drop) = by_size(run)[0], by_size(run)[-2:]
    with ThreadServer(run) as server:
        reply = server.review(largest, action="split", note="two intents")
        assert reply.status == 200, reply.text
        assert reply.json["review"]["action"] == "split"
        new = sorted(set(records(run)) - set(before))
        assert new and all(server.call("GET", f"/api/topics/{t}").status == 200 for t in new)
        # Half the outliers the fit left (its share differs a little from machine to machine).
        share = float((assignments(run) == -1).mean())
        assert share > 0.005, share
        max_share = round(share / 2, 4)
        reply = server.call("POST", "/api/outliers", {"strategy": "c-tf-idf",
                            "max_share": max_share}, auth=True)  # fmt: skip
        assert reply.status == 200, reply.text
        docs = assignments(run)
        assert (docs == -1).sum() <= math.floor(max_share * len(docs))
        bad = server.call("POST", "/api/outliers", {"strategy": "probabilities"}, auth=True)
        assert bad.status == 400 and "soft-membership" in bad.json["error"]
        assert server.review(keep, action="merge", other=drop).status == 200
        page = server.call("GET", "/", auth=True)
        assert page.status == 200
    assert [r["action"] for r in surgery.history(run)] == ["split", "outliers", "merge"]
    log = RunDB(run).reviews()
    assert [(r["topic"], r["action"]) for r in log if r["action"] != "revision"] == [
        (largest, "split"), *[(t, "split") for t in new], (drop, "merge"), (keep, "merge"),
    ]  # fmt: skip  # each part's log says it was split off (issue 25)
    for _ in range(3):
        surgery.undo(run)
    assert hashes(run) == before_hashes


def test_a_failed_relabel_keeps_the_change_with_keyword_labels(run):
    keep, drop = by_size(run)[-2:]
    broken = LLMSettings(base_url="http://127.0.0.1:9/v1", model="fake", prompt="no-such-prompt")
    change = surgery.merge(run, [keep, drop], settings=broken, chat=FakeChat())
    assert change.llm is None and "no-such-prompt" in change.llm_error
    assert drop not in records(run) and RunDB(run).current_label(keep)["source"] == "keywords"
    assert RunDB(run).revisions()[-1]["llm_calls"] is None


def test_cli_split_parts(run):
    """`labeler topics RUN split T --parts N`: N checked before anything changes, then the very
    partition the review app's split preview offers for N."""
    runner = CliRunner()
    largest = by_size(run)[0]
    before = hashes(run)
    for bad in ("1", "0", "99"):
        result = runner.invoke(main, ["topics", str(run), "split", str(largest), "--parts", bad,
                                      "--llm", "none"])  # fmt: skip
        assert result.exit_code == 2, result.output
        lines = result.output.strip().splitlines()
        assert lines == [f"labeler: error: --parts is how many parts a split makes: from 2 to 8, "
                         f"not {bad}"], result.output  # fmt: skip
    assert hashes(run) == before and not RunDB(run).revisions()
    offered = {k: sorted(np.bincount(p).tolist()) for k, _, score, p in
               surgery.split_partitions(Run(run), largest) if score is not None}  # fmt: skip
    k = 3 if 3 in offered else min(offered)
    highest = max(t["topic"] for t in json.loads((run / "topics.json").read_text()))
    result = runner.invoke(main, ["topics", str(run), "split", str(largest), "--parts", str(k),
                                  "--llm", "none"])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert f"split {largest} into {k} parts" in result.output
    sizes = pd.read_parquet(run / "documents.parquet", columns=["topic"])["topic"].value_counts()
    parts = [largest, *(t for t in sizes.index if t > highest)]
    assert sorted(int(sizes[t]) for t in parts) == offered[k]
