"""A run folder written by labeler 0.1.0 (tests/data/run-0.1.0) opens, is upgraded and relabels
with today's code; its reviews stand unless forced."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from click.testing import CliRunner
from fakes import FakeChat

from labeler.api import label_run
from labeler.cli import main
from labeler.labels.labeling import LLMSettings
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


def test_a_0_1_0_run_is_reviewed_in_process(tmp_path):
    """The review app on the upgraded 0.1.0 run, through Starlette's TestClient: its pages show
    every keyword stage of the registry and a decision lands in RunDB and topics.json."""
    from starlette.testclient import TestClient

    from labeler.represent import STAGES
    from labeler.review.actions import ReportRenderer
    from labeler.review.app import create_app

    run = Path(shutil.copytree(FIXTURE, tmp_path / "run"))
    token = "t" * 24
    renders = []
    # No model (labels are compared by text) and reports counted, not rendered: seconds, not a
    # minute; the real renderer and embedder are exercised by test_review_api.
    renderer = ReportRenderer(run, render=renders.append)
    app = create_app(run, token, reviewer="ben", embed=lambda texts: None, renderer=renderer)
    with TestClient(app, base_url="http://127.0.0.1:8000") as client:
        page = client.get(f"/topics/1?token={token}")
        assert page.status_code == 200 and all(s.title in page.text for s in STAGES)
        detail = client.get("/api/topics/1").json()
        assert list(detail["keyword_stages"]) == [s.name for s in STAGES]
        assert [r["action"] for r in detail["reviews"]] == ["edit"]  # recorded by 0.1.0
        answer = client.post(
            "/api/topics/0/review",
            json={"action": "reject"},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert answer.status_code == 200, answer.text
    assert renderer.flush() and renders == [renderer.run]  # one decision, one re-render asked for
    renderer.close()
    assert RunDB(run).status_names()[0] == "rejected"
    topics = {t["topic"]: t for t in json.loads((run / "topics.json").read_text())}
    assert topics[0]["review_status"] == "rejected"
