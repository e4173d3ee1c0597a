# ruff: noqa: E501 - the catalog is a table: one case per row reads better than wrapped code
"""Hostile run folders (issue 20): every file of a run checked against its contract and against
the others before any command writes; a refused command changes nothing; no stale label; no
lock file left beside the run.

Each case damages a copy of the session's `banking_run` one way and runs one command: the
outcome is success (None), success with a warning (`("warns", [...])`), or one
`labeler: error:` line holding the needles; a refused command leaves every file byte for byte
and the revisions table as they were.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
from pathlib import Path

import pytest
from catalog_helpers import invoke, one_line_error


def _snapshot(run: Path) -> dict[str, str]:
    """Every file under the run (revisions/ too) by content hash, and the revisions table."""
    files = {
        str(p.relative_to(run)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(run.rglob("*"))
        if p.is_file()
    }
    con = sqlite3.connect(f"{(run / 'run.sqlite').resolve().as_uri()}?mode=ro", uri=True)
    try:
        files["<revisions>"] = repr(con.execute("SELECT * FROM revisions ORDER BY id").fetchall())
        files["<current labels>"] = repr(
            con.execute("SELECT topic, version FROM label_versions WHERE is_current = 1").fetchall()
        )
    except sqlite3.DatabaseError:  # a database this labeler cannot read: bytes only
        pass
    finally:
        con.close()
    return files


def _topics(run: Path) -> list[dict]:
    return json.loads((run / "topics.json").read_text())


def _write_topics(run: Path, records: list[dict]) -> None:
    (run / "topics.json").write_text(json.dumps(records))


def _damage(kind: str, run: Path) -> None:
    tree = run / "hierarchy.json"
    if kind == "tree-list":
        tree.write_text("[]")
    elif kind == "tree-nodes-number":
        tree.write_text('{"nodes": 5}')
    elif kind == "tree-truncated":
        tree.write_bytes(tree.read_bytes()[:200])
    elif kind == "tree-node-no-id":
        data = json.loads(tree.read_text())
        del data["nodes"][0]["id"]
        tree.write_text(json.dumps(data))
    elif kind == "topic-removed":
        _write_topics(run, [r for r in _topics(run) if r["topic"] != 1])
    elif kind == "string-topic-id":
        records = _topics(run)
        records[0]["topic"] = str(records[0]["topic"])
        _write_topics(run, records)
    elif kind == "duplicate-topic":
        records = _topics(run)
        _write_topics(run, [*records, records[0]])
    elif kind == "size-mismatch":
        records = _topics(run)
        records[0]["size"] += 7
        _write_topics(run, records)
    elif kind == "newer-schema":
        con = sqlite3.connect(run / "run.sqlite")
        con.execute("PRAGMA user_version = 99")
        con.close()
    else:
        raise AssertionError(kind)


NEWER = "has database schema 99, newer than this labeler reads"
TREE_FIX = "--rebuild` rebuilds it"
MISMATCH = "topics.json does not match documents.parquet"

# (damage, command, outcome): None = success; ("warns", needles) = success, a warning on stderr;
# a list = one error line holding each needle, and not one byte of the run changed.
CASES = [
    ("tree-list", "report", ("warns", ["hierarchy.json has the wrong shape", "leaves out the topic tree"])),
    ("tree-list", "tree", ["hierarchy.json has the wrong shape", TREE_FIX]),
    ("tree-list", "tree-rebuild", None),
    ("tree-list", "merge", ["hierarchy.json has the wrong shape (not a JSON object)", "`labeler topics` needs it",
                            "still works: `labeler report`, `labeler export`, `labeler labels`, `labeler tree --rebuild`"]),
    ("tree-list", "review", ["hierarchy.json has the wrong shape", "`labeler review` needs it"]),
    ("tree-nodes-number", "tree", ["hierarchy.json has the wrong shape (no list of nodes)", TREE_FIX]),
    ("tree-nodes-number", "report", ("warns", ["no list of nodes"])),
    ("tree-nodes-number", "relabel", ["hierarchy.json has the wrong shape", "`labeler relabel` needs it"]),
    ("tree-nodes-number", "split", ["hierarchy.json has the wrong shape"]),
    ("tree-truncated", "merge", ["hierarchy.json is damaged (not valid JSON", TREE_FIX]),
    ("tree-truncated", "split", ["hierarchy.json is damaged"]),
    ("tree-truncated", "reduce", ["hierarchy.json is damaged"]),
    ("tree-truncated", "outliers", ["hierarchy.json is damaged"]),
    ("tree-truncated", "delete", ["hierarchy.json is damaged"]),
    ("tree-truncated", "export", None),
    ("tree-truncated", "labels", None),
    ("tree-truncated", "tree-rebuild", None),
    ("tree-node-no-id", "tree", ["hierarchy.json has the wrong shape (a node without a numeric id"]),
    ("topic-removed", "report", [MISMATCH, "documents in topic 1, which topics.json does not list",
                                 "still works: `labeler labels`"]),
    ("topic-removed", "export", [MISMATCH]),
    ("topic-removed", "merge", [MISMATCH, "`labeler topics` needs it"]),
    ("topic-removed", "review", [MISMATCH]),
    ("topic-removed", "tree", [MISMATCH]),
    ("topic-removed", "labels", None),
    ("string-topic-id", "report", ["topics.json has the wrong shape (a topic that is not a number"]),
    ("string-topic-id", "delete", ["topics.json has the wrong shape"]),
    ("string-topic-id", "review", ["topics.json has the wrong shape"]),
    ("duplicate-topic", "export", ["topics.json has the wrong shape (topic", "is listed twice"]),
    ("size-mismatch", "report", [MISMATCH, "in topics.json", "documents in documents.parquet"]),
    ("size-mismatch", "outliers", [MISMATCH]),
    ("size-mismatch", "relabel", [MISMATCH]),
    ("newer-schema", "report", [NEWER, "upgrade labeler"]),
    ("newer-schema", "eval", [NEWER]),
    ("newer-schema", "export", [NEWER]),
    ("newer-schema", "labels", [NEWER]),
    ("newer-schema", "merge", [NEWER]),
    ("newer-schema", "tree", [NEWER]),
]  # fmt: skip


def _args(command: str, run: Path, tmp_path: Path) -> list:
    return {
        "report": ["report", run, "--out", tmp_path / "shared"],
        "export": ["export", run, "--out", tmp_path / "tables"],
        "labels": ["labels", run],
        "relabel": ["relabel", run, "--llm", "small"],
        "review": ["review", run, "--port", "0", "--llm", "none"],
        "tree": ["tree", run],
        "tree-rebuild": ["tree", run, "--rebuild"],
        "eval": ["eval", run],
        "merge": ["topics", run, "merge", "0", "1", "--llm", "none"],
        "split": ["topics", run, "split", "0", "--llm", "none"],
        "reduce": ["topics", run, "reduce", "--to", "2", "--llm", "none"],
        "outliers": ["topics", run, "outliers", "--llm", "none"],
        "delete": ["topics", run, "delete", "0", "--llm", "none"],
        "undo": ["topics", run, "undo"],
    }[command]


@pytest.mark.parametrize("case", CASES, ids=[f"{c[0]}-{c[1]}" for c in CASES])
def test_damaged_run_catalog(run_copy, tmp_path, case, caplog):
    kind, command, outcome = case
    _damage(kind, run_copy)
    before = _snapshot(run_copy)
    result = invoke(*_args(command, run_copy, tmp_path))
    assert "Traceback" not in result.output
    if outcome is None or isinstance(outcome, tuple):
        assert result.exit_code == 0, result.output
        for needle in outcome[1] if outcome else []:
            assert needle in result.stderr + caplog.text, caplog.text
        if command == "tree-rebuild":  # repaired: a whole tree again, the other commands work
            tree = json.loads((run_copy / "hierarchy.json").read_text())
            assert isinstance(tree, dict) and tree["nodes"]
            assert invoke("tree", run_copy).exit_code == 0
            assert invoke("topics", run_copy, "merge", "0", "1", "--llm", "none").exit_code == 0
        return
    one_line_error(result, *outcome)
    assert _snapshot(run_copy) == before, "a refused command changed the run"


@pytest.fixture(scope="module")
def revised_run(banking_run, tmp_path_factory) -> Path:
    """The banking run after one merge: a revision for undo to take back."""
    run = tmp_path_factory.mktemp("revised") / "run"
    shutil.copytree(banking_run, run)
    result = invoke("topics", run, "merge", "0", "1", "--llm", "none")
    assert result.exit_code == 0, result.output
    return run


UNDO_CASES = [
    ("tree-truncated", ["hierarchy.json is damaged", "`labeler topics` needs it"]),
    ("tree-list", ["hierarchy.json has the wrong shape"]),
    ("size-mismatch", [MISMATCH]),
    ("newer-schema", [NEWER]),
]


@pytest.mark.parametrize("case", UNDO_CASES, ids=[f"{c[0]}-undo" for c in UNDO_CASES])
def test_undo_on_a_damaged_run_changes_nothing(revised_run, tmp_path, case):
    kind, needles = case
    run = tmp_path / "run"
    shutil.copytree(revised_run, run)
    _damage(kind, run)
    before = _snapshot(run)
    one_line_error(invoke("topics", run, "undo"), *needles)
    assert _snapshot(run) == before


def test_review_data_raises_labeler_error_for_a_file_damaged_while_serving(run_copy, banking_run):
    """The review app's reads: a damaged file is a LabelerError naming it (a 4xx), not a crash."""
    from labeler.errors import LabelerError
    from labeler.review.data import ReviewRun

    review = ReviewRun(run_copy)
    assert review.summaries("all", False) and review.tree()
    _damage("tree-nodes-number", run_copy)
    with pytest.raises(LabelerError, match="hierarchy.json has the wrong shape"):
        review.tree()
    shutil.copy2(banking_run / "hierarchy.json", run_copy / "hierarchy.json")
    _damage("string-topic-id", run_copy)
    for read in (lambda: review.summaries("all", False), review.tree, lambda: review.topic(0)):
        with pytest.raises(LabelerError, match="topics.json has the wrong shape"):
            read()


def test_no_stale_outlier_label_once_every_outlier_is_reassigned(run_copy):
    """Topic -1 leaves topics.json and run.sqlite together, and comes back with its label."""
    assert any(r["topic"] == -1 for r in _topics(run_copy)), "the fixture run has outliers"
    label = next(r["label"] for r in _topics(run_copy) if r["topic"] == -1)
    result = invoke("topics", run_copy, "outliers", "--llm", "none")
    assert result.exit_code == 0, result.output
    assert all(r["topic"] != -1 for r in _topics(run_copy))
    rows = json.loads(invoke("labels", run_copy, "--json").output)
    current = {r["topic"] for r in rows if r["is_current"]}
    assert current == {r["topic"] for r in _topics(run_copy)}
    assert "* topic   -1" not in invoke("labels", run_copy).output
    result = invoke("topics", run_copy, "delete", "0", "--llm", "none")  # outliers again
    assert result.exit_code == 0, result.output
    outliers = next(r for r in _topics(run_copy) if r["topic"] == -1)
    assert outliers["label"] == label
    rows = json.loads(invoke("labels", run_copy, "--json").output)
    assert {r["topic"] for r in rows if r["is_current"]} == {r["topic"] for r in _topics(run_copy)}


def test_no_lock_file_beside_the_run(banking_run, run_copy, tmp_path):
    """`labeler run` and the commands on a run leave nothing beside the run folder."""
    assert [p.name for p in banking_run.parent.iterdir()] == [banking_run.name]
    assert invoke("report", run_copy).exit_code == 0
    assert invoke("topics", run_copy, "merge", "0", "1", "--llm", "none").exit_code == 0
    assert sorted(p.name for p in run_copy.parent.iterdir()) == ["run"]
    assert not (run_copy / ".lock").exists()


def test_the_lock_still_excludes_a_second_writer_of_a_new_run(banking_file, tmp_path):
    from filelock import FileLock

    from labeler.run.layout import lock_path

    out = tmp_path / "out" / "new"
    assert lock_path(out) == lock_path(tmp_path / "out" / "." / "new")  # one lock per path
    with FileLock(str(lock_path(out)), thread_local=False):
        result = invoke("run", banking_file, "--out", out, "--llm", "none")
        one_line_error(result, "another labeler process is working on")
    assert not out.exists()
