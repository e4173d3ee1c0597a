"""Several topics in flight (issue 24): answers that arrive out of order are saved in topic
order, a crash with four requests in flight resumes without asking a finished topic again, one
progress bar counts the topics and the tree's nodes, and each check's re-asks are recorded in
the label versions' provenance. The in-process fake ChatModel on the real BANKING77 run."""

from __future__ import annotations

import json
import shutil
import sqlite3
import threading
import time
from pathlib import Path

import pytest
from fakes import FakeChat

from labeler.api import label_run
from labeler.errors import LabelerError
from labeler.labels.labeling import LLMSettings, label_topics
from labeler.run.folder import Run

FOUR = LLMSettings(base_url="http://127.0.0.1:9/v1", model="fake", concurrency=4)


@pytest.fixture
def run_copy(banking_run, tmp_path) -> Path:
    return Path(shutil.copytree(banking_run, tmp_path / "run"))


def topic_ids(run: Path) -> list[int]:
    return sorted(
        t["topic"] for t in json.loads((run / "topics.json").read_text()) if t["topic"] >= 0
    )


class Overlapping(FakeChat):
    """Takes longer for the first questions, so later ones finish first; counts how many
    questions it holds at once."""

    def __init__(self):
        super().__init__()
        self.asked = 0
        self.inside = self.peak = 0
        self.counter = threading.Lock()

    def chat(self, messages, **kw):
        with self.counter:
            order = self.asked
            self.asked += 1
            self.inside += 1
            self.peak = max(self.peak, self.inside)
        time.sleep(0.12 if order < 4 else 0.01)
        try:
            return super().chat(messages, **kw)
        finally:
            with self.counter:
                self.inside -= 1


def test_answers_out_of_order_are_saved_in_topic_order(run_copy):
    fake = Overlapping()
    stats = label_run(run_copy, FOUR, chat=fake)
    ids = topic_ids(run_copy)
    assert fake.peak >= 2  # several topics were in flight together
    assert stats.topics == len(ids) and stats.fallbacks == 0
    with sqlite3.connect(run_copy / "run.sqlite") as con:
        saved = [t for (t,) in con.execute(
            "SELECT topic FROM label_versions WHERE source = 'llm' ORDER BY rowid"
        )]  # fmt: skip
    assert saved == ids  # written in topic order, whatever order the answers came in


class DiesAfter(FakeChat):
    """Answers `n` questions, then Ctrl-C, with the other threads' questions in flight."""

    def __init__(self, n: int):
        super().__init__()
        self.left = n
        self.count = threading.Lock()

    def chat(self, messages, **kw):
        with self.count:
            if self.left == 0:
                raise KeyboardInterrupt
            self.left -= 1
        time.sleep(0.02)
        return super().chat(messages, **kw)


def test_a_crash_with_four_in_flight_resumes_without_asking_finished_topics(run_copy):
    first = DiesAfter(5)
    with pytest.raises(KeyboardInterrupt):
        label_run(run_copy, FOUR, chat=first)
    answered = set(first.calls)  # first questions answered (of the 5 answers, some may be a
    assert 1 <= len(answered) <= 5  # check's follow-up: a label that covers one sub-group)
    second = FakeChat()
    stats = label_run(run_copy, FOUR, chat=second)
    assert len(answered) <= stats.cache_hits <= 5  # every answer received was kept
    assert not answered & set(second.calls)  # no finished topic asked again
    assert len(answered | set(second.calls)) == len(topic_ids(run_copy))
    labelled = json.loads((run_copy / "topics.json").read_text())
    assert all(t["label_source"] == "llm" for t in labelled if t["topic"] >= 0)


def test_one_progress_total_over_topics_and_tree_nodes(run_copy):
    run = Run(run_copy)
    nodes = [n for n in run.tree()["nodes"] if n["layer"] > 0]
    assert nodes  # the fixture has a tree above its topics
    stats = label_topics(run, FOUR, chat=FakeChat(), tree=True)
    total = len(topic_ids(run_copy)) + len(nodes)
    assert stats.progress == (total, total)
    assert stats.tree is not None and stats.tree.topics == len(nodes)
    named = [n for n in Run(run_copy).tree()["nodes"] if n["layer"] > 0]
    assert {n.get("label_source") for n in named} <= {"llm", "child"}


class Insisting(FakeChat):
    """Always adds a year the documents never mention: the claims check asks again, and the
    label stays the same."""

    def chat(self, messages, **kw):
        result = super().chat(messages, **kw)
        answer = json.loads(result.content)
        answer["summary"] = answer["summary"].rstrip(".") + " since 1987."
        result.content = json.dumps(answer)
        return result


def test_each_checks_reasks_are_recorded_in_the_label_provenance(run_copy):
    stats = label_run(run_copy, FOUR, chat=Insisting())
    ids = topic_ids(run_copy)
    assert stats.reasks["claims"] == [len(ids), 0]  # asked again every time, never changed
    assert "claims" in stats.reask_line()
    current = Run(run_copy).db.current_labels()
    for t in ids:
        reasks = json.loads(current[t]["params"])["reasks"]
        assert reasks == [{"check": "claims", "changed": False, "answer_changed": False}]

    # Another model's answers (no invented year): the provenance and the counts agree.
    stats = label_run(run_copy, FOUR, chat=FakeChat("other-fake"))
    current = Run(run_copy).db.current_labels()
    recorded: dict[str, list[int]] = {}
    for t in ids:
        for r in json.loads(current[t]["params"]).get("reasks", []):
            counts = recorded.setdefault(r["check"], [0, 0])
            counts[0] += 1
            counts[1] += r["changed"]
    assert recorded == stats.reasks and "claims" not in recorded


def test_slots_set_the_requests_in_flight_and_are_checked():
    assert LLMSettings().server_slots >= 1
    assert LLMSettings(slots=3).workers == 4  # one more than the slots: none idles
    assert LLMSettings(slots=3, concurrency=2).workers == 2
    assert LLMSettings(slots=3).public()["slots"] == 3
    assert "slots" not in FOUR.public()
    for bad in (0, 17):
        with pytest.raises(LabelerError, match="--llm-slots"):
            LLMSettings(slots=bad).check()


def test_labeler_run_says_where_its_time_went_unless_quiet(banking_file, tmp_path):
    from click.testing import CliRunner

    from labeler.cli import main

    args = ["run", str(banking_file), "--id-column", "id", "--llm", "none"]
    loud = CliRunner().invoke(main, [*args, "--out", str(tmp_path / "loud")])
    assert loud.exit_code == 0, loud.output
    table = loud.output.split("where the time went:\n")[1].splitlines()
    stages = [row.split(" | ")[0].lstrip("| ") for row in table if row.startswith("| ")]
    for stage in ("embedding", "UMAP", "HDBSCAN", "representation", "report", "total"):
        assert stage in stages
    cells = [row.strip("| ").split(" | ") for row in table if row.startswith("| ")]
    seconds = {c[0]: float(c[1]) for c in cells if c[1].replace(".", "").isdigit()}
    parts = sum(s for name, s in seconds.items() if name != "total")
    assert abs(parts - seconds["total"]) <= 0.2  # the stages and `other` add up to the run
    quiet = CliRunner().invoke(main, [*args, "--out", str(tmp_path / "quiet"), "-q"])
    assert quiet.exit_code == 0, quiet.output
    assert "where the time went" not in quiet.output and "report.html" in quiet.output
