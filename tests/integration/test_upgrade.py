"""A run folder written by labeler 0.1.0 (tests/data/run-0.1.0) opens, is upgraded and relabels
with today's code; its reviews stand unless forced."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from click.testing import CliRunner
from fakes import FakeChat

from labeler.cli import main
from labeler.llm.labeling import LLMSettings, label_run
from labeler.run.db import RunDB
from labeler.run.migrations import LATEST

FIXTURE = Path(__file__).resolve().parents[1] / "data" / "run-0.1.0"


def test_a_0_1_0_run_opens_upgrades_and_relabels(tmp_path):
    run = Path(shutil.copytree(FIXTURE, tmp_path / "run"))
    settings = LLMSettings(base_url="http://127.0.0.1:9/v1", model="fake", concurrency=1)
    chat = FakeChat()

    kept = label_run(run, settings, chat=chat)  # both topics were reviewed in 0.1.0
    assert RunDB(run).version == LATEST
    assert kept.skipped_reviewed == 2 and sum(chat.calls.values()) == 0

    stats = label_run(run, settings, chat=chat, force=True)
    assert stats.new_versions == 2
    assert sorted(chat.calls.values()) == [1, 1]  # one call per topic, two topics
    topics = [t for t in json.loads((run / "topics.json").read_text()) if t["topic"] >= 0]
    assert all(t["label_source"] == "llm" and t["label"].endswith("Questions") for t in topics)
    assert {t["review_status"] for t in topics} == {"accepted", "edited"}

    again = label_run(run, settings, chat=chat, force=True)  # every answer is cached now
    assert again.new_versions == 0 and sorted(chat.calls.values()) == [1, 1]

    assert CliRunner().invoke(main, ["report", str(run)]).exit_code == 0
    report = (run / "report.md").read_text()
    assert all(t["label"] in report for t in topics)
