"""RunDB: migrations recorded in the database, upgrades of old runs, refusal of newer ones, and
the write transaction that review decisions rely on."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from labeler.errors import LabelerError
from labeler.run.db import RunDB
from labeler.run.migrations import LATEST, MIGRATIONS

FIXTURE = Path(__file__).resolve().parents[1] / "data" / "run-0.1.0"


def user_version(path: Path) -> int:
    con = sqlite3.connect(path)
    try:
        return con.execute("PRAGMA user_version").fetchone()[0]
    finally:
        con.close()


@pytest.fixture
def old_run(tmp_path) -> Path:
    """A copy of the run folder labeler 0.1.0 wrote (never the committed fixture itself)."""
    return Path(shutil.copytree(FIXTURE, tmp_path / "run"))


def test_a_new_database_runs_every_migration(tmp_path):
    db = RunDB(tmp_path, create=True)
    assert db.version == LATEST == len(MIGRATIONS) and user_version(db.path) == LATEST
    assert db.label_history() == [] and db.reviews() == [] and db.statuses() == {}


def test_a_missing_database_is_an_error_not_an_empty_run(tmp_path):
    with pytest.raises(LabelerError, match="run.sqlite is missing"):
        RunDB(tmp_path)


def test_a_0_1_0_run_is_upgraded_once_and_keeps_its_records(old_run):
    path = old_run / "run.sqlite"
    assert user_version(path) == 0  # 0.1.0 recorded no version
    db = RunDB(old_run)
    assert user_version(path) == LATEST
    assert [r["action"] for r in db.reviews()] == ["accept", "edit"]
    assert db.status_names() == {0: "accepted", 1: "edited"}
    assert db.current_label(1)["label"] == "Currency exchange rates"
    assert db.keyword_labels()[1] != "Currency exchange rates"  # the fit's label is still known
    con = sqlite3.connect(path)
    indexes = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    con.close()
    assert "reviews_topic" in indexes  # migration 2 ran
    assert db.revisions() == []  # migration 3 ran: an old run has no revisions yet
    assert RunDB(old_run).version == LATEST  # a second open changes nothing


def test_a_database_from_a_newer_labeler_is_refused(old_run):
    con = sqlite3.connect(old_run / "run.sqlite")
    con.execute(f"PRAGMA user_version = {LATEST + 1}")
    con.close()
    with pytest.raises(LabelerError, match="newer than this labeler"):
        RunDB(old_run)
    from labeler.cli import main

    result = CliRunner().invoke(main, ["labels", str(old_run)])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("labeler: error: ") and "upgrade" in lines[0]


def test_a_failed_transaction_writes_nothing(tmp_path):
    db = RunDB(tmp_path, create=True)
    db.add_keyword_labels({0: "0_card_arrive", 1: "1_rate_exchange"})
    with pytest.raises(RuntimeError), db.transaction() as tx:
        tx.add_label_version(0, "Card Arrival", source="review")
        tx.record_review(0, "edit", {"label": "0_card_arrive"}, {"label": "Card Arrival"},
                         None, "ana", "edited")  # fmt: skip
        raise RuntimeError("the server died mid-decision")
    assert db.current_label(0)["label"] == "0_card_arrive"
    assert db.reviews() == [] and db.statuses() == {}


def test_label_versions_append_and_switch(tmp_path):
    db = RunDB(tmp_path, create=True)
    db.add_keyword_labels({3: "3_tax_refund"})
    assert db.add_label_version(3, "Tax Refunds", source="llm", flags=["x"]) == 2
    assert db.current_label(3)["label"] == "Tax Refunds" and db.current_label(3)["flags"] == '["x"]'
    db.set_current_version(3, 1)
    assert db.current_label(3)["label"] == "3_tax_refund"
    with pytest.raises(LabelerError, match="no label version 7"):
        db.set_current_version(3, 7)
    db.drop_topic(3)
    assert db.current_label(3) is None and len(db.label_history(3)) == 2


def test_answer_cache_round_trip(tmp_path):
    db = RunDB(tmp_path, create=True)
    assert db.cached_answer("k") is None
    db.store_answer("k", "m", "[]", '{"label": "A"}', 10, 2)
    (tmp_path / "refit").mkdir()
    other = RunDB(tmp_path / "refit", create=True)  # a refit into the same folder carries them
    other.add_answers(db.answers())
    assert other.cached_answer("k") == '{"label": "A"}'


def test_label_state_round_trip_and_revisions(tmp_path):
    """What a revision keeps of the labels and reviews, and what undo puts back."""
    db = RunDB(tmp_path, create=True)
    db.add_keyword_labels({0: "0_card", 1: "1_rate"})
    db.record_review(0, "accept", None, None, None, "ana", "accepted")
    saved = db.label_state()
    db.add_label_version(1, "Exchange Rates", source="llm")
    db.drop_topic(0)
    db.record_review(1, "revision", None, None, "changed", "ana", "unreviewed")
    db.store_answer("k", "m", "[]", "{}", 1, 1)
    revision = db.add_revision(
        "merge", {"topics": [1, 0]}, "merged 0 into 1", "ana",
        {"topics_before": 2, "topics_after": 1, "outliers_before": 5, "outliers_after": 5}, [1],
    )  # fmt: skip
    assert db.label_state() != saved
    db.restore_label_state(saved)
    assert db.label_state() == saved
    assert db.status_names() == {0: "accepted"} and db.current_label(1)["label"] == "1_rate"
    assert db.cached_answer("k") == "{}"  # paid-for answers stay
    db.set_revision_calls(revision, 3)
    db.mark_undone(revision, "bo")
    (row,) = db.revisions()
    assert row["args"] == {"topics": [1, 0]} and row["touched"] == [1]
    assert row["llm_calls"] == 3 and row["undone_by"] == "bo" and row["undone_at"]


def test_node_labels_are_versioned_by_node_key(old_run):
    """Migration 4: tree node names, kept under the node's key (layer and leaf topics), one
    current version each; a 0.1.0 run gains the table on opening."""
    db = RunDB(old_run)
    assert db.current_node_labels() == {}
    assert db.add_node_label_version("1:0,2", 1, "Card Problems", source="llm") == 1
    assert db.add_node_label_version("1:0,2", 1, "Card Troubles", source="review") == 2
    db.add_node_label_version("1:1,3", 1, "Money Transfers")
    current = db.current_node_labels()
    assert {k: v["label"] for k, v in current.items()} == {
        "1:0,2": "Card Troubles", "1:1,3": "Money Transfers",
    }  # fmt: skip
    assert [r["version"] for r in db.node_label_history("1:0,2")] == [1, 2]


def test_undo_tokens_are_kept_and_used_once(old_run):
    """Migration 5: the review app's undo tokens, in run.sqlite (a 0.1.0 run gains the table
    on opening); a token is used once, inside the undo's transaction."""
    db = RunDB(old_run)
    status = db.statuses()[0]
    token = db.record_undo("review", review=7, topic=0, version_before=1, status_before=status,
                           live_revisions=0)  # fmt: skip
    name = db.record_undo("name", node=12, node_key="1:0,1", version_before=None, version_made=1)
    assert name != token
    kept = db.undo_token("review", 7)
    assert kept["id"] == token and kept["topic"] == 0 and kept["version_before"] == 1
    assert kept["status_before"] == status and kept["live_revisions"] == 0 and not kept["used_at"]
    assert db.undo_token("review", 8) is None and db.undo_token("name", token) is None
    assert db.undo_token("name", name)["node_key"] == "1:0,1"
    assert db.undo_token("name", name)["status_before"] is None

    with pytest.raises(RuntimeError), db.transaction() as tx:  # an undo that failed midway
        assert tx.consume_undo(token, "ana")
        raise RuntimeError("the undo failed")
    assert not RunDB(old_run).undo_token("review", 7)["used_at"]  # still usable
    with db.transaction() as tx:
        assert tx.consume_undo(token, "ana")
    with db.transaction() as tx:
        assert not tx.consume_undo(token, "bo")  # used once
    used = RunDB(old_run).undo_token("review", 7)
    assert used["used_at"] and used["used_by"] == "ana"


def test_a_version_4_run_gains_the_undo_tokens_table(tmp_path):
    """A run written by the labeler before migration 5 (schema 4, no undo_tokens) is upgraded
    on open, and keeps what it had."""
    db = RunDB(tmp_path, create=True)
    db.add_keyword_labels({0: "0_card"})
    db.record_review(0, "accept", None, None, None, "ana", "accepted")
    con = sqlite3.connect(db.path)
    con.execute("DROP TABLE undo_tokens")
    con.execute("PRAGMA user_version = 4")
    con.commit()
    con.close()

    def tables() -> set[str]:
        con = sqlite3.connect(db.path)
        try:
            return {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        finally:
            con.close()

    assert "undo_tokens" not in tables() and user_version(db.path) == 4
    opened = RunDB(tmp_path)
    assert user_version(db.path) == LATEST == 5 and "undo_tokens" in tables()
    assert [r["action"] for r in opened.reviews()] == ["accept"]
    token = opened.record_undo("review", review=1, topic=0, live_revisions=0)
    assert opened.undo_token("review", 1)["id"] == token
