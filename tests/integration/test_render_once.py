"""Steps never render (issue 21): the label step, tree naming and surgery end by refreshing the
run's derived files, and the command that called them renders the reports exactly once. Renders
are counted by wrapping `render_reports` wherever labeler bound it; the fits reuse the session's
BANKING77 embeddings (cached), and the LLM is the scripted stub or the in-process fake."""

from __future__ import annotations

import importlib
import json
import shutil
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from fakes import FakeChat
from llm_stub import StubLLM, label_json, ok, topic_label

from labeler import surgery
from labeler.cli import main
from labeler.errors import LabelerError
from labeler.labels.labeling import LLMSettings, label_topics
from labeler.run.folder import Run

FAKE = LLMSettings(base_url="http://127.0.0.1:9/v1", model="fake", concurrency=2)


@pytest.fixture
def renders(monkeypatch) -> list[Path]:
    """Every render_reports call, by run folder (the real renderer still runs)."""
    import labeler.views.report as report

    original = report.render_reports
    calls: list[Path] = []

    def counting(run, *args, **kwargs):
        calls.append(run.path if isinstance(run, Run) else Path(run))  # a Run, or a path
        return original(run, *args, **kwargs)

    for name in ("labeler.api", "labeler.pipeline.fit", "labeler.pipeline.large"):
        importlib.import_module(name)  # the modules that bind it when imported
    for name, module in list(sys.modules.items()):
        if name.startswith("labeler") and getattr(module, "render_reports", None) is original:
            monkeypatch.setattr(module, "render_reports", counting)
    return calls


@pytest.fixture
def run(banking_run, tmp_path) -> Path:
    return Path(shutil.copytree(banking_run, tmp_path / "run"))


def invoke(*args):
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    return result


def stub_answers(request, n):
    return ok(label_json(topic_label(request)))


def run_args(corpus: Path, out: Path) -> list:
    return ["run", corpus, "--id-column", "id", "--out", out]


def labels(run_dir: Path) -> dict[int, dict]:
    topics = json.loads((run_dir / "topics.json").read_text())
    return {t["topic"]: t for t in topics if t["topic"] >= 0}


def test_run_with_an_llm_renders_once_after_labeling(banking_file, tmp_path, renders):
    out = tmp_path / "labelled"
    with StubLLM(stub_answers) as stub:
        invoke(*run_args(banking_file, out), "--llm-base-url", stub.base_url, "--llm-model", "stub")
    assert renders == [out.absolute()]  # not in the staging folder: once, after the labels
    html = (out / "report.html").read_text(encoding="utf-8")
    llm = [t for t in labels(out).values() if t["label_source"] == "llm"]
    assert llm and all(t["label"] in html for t in llm)


def test_run_without_an_llm_renders_once_in_staging(banking_file, tmp_path, renders):
    out = tmp_path / "keywords"
    invoke(*run_args(banking_file, out), "--llm", "none")
    assert len(renders) == 1 and renders[0] != out.absolute()  # the staging folder
    assert renders[0].name.endswith(".partial") and (out / "report.html").is_file()


def test_a_failed_label_step_still_leaves_one_report(banking_file, tmp_path, renders, monkeypatch):
    def fails(*args, **kwargs):
        raise LabelerError("the LLM went away")

    monkeypatch.setattr("labeler.labels.labeling.label_topics", fails)
    out = tmp_path / "failed"
    args = [*run_args(banking_file, out), "--llm-base-url", "http://127.0.0.1:9/v1"]
    result = CliRunner().invoke(main, [str(a) for a in [*args, "--llm-model", "x"]])
    assert result.exit_code == 2 and "the LLM went away" in result.output
    assert renders == [out.absolute()] and (out / "report.html").is_file()


def test_relabel_renders_once(run, renders):
    with StubLLM(stub_answers) as stub:
        invoke("relabel", run, "--llm-base-url", stub.base_url, "--llm-model", "stub")
        assert renders == [run]  # topics and the tree's names, then one render
        invoke("relabel", run, "--layer", "1", "--llm-base-url", stub.base_url, "--llm-model", "x")
        assert renders == [run, run]
        invoke("relabel", run, "--dry-run", "--llm-base-url", stub.base_url, "--llm-model", "y")
    assert renders == [run, run]  # a dry run writes nothing


def test_topic_surgery_commands_render_once(run, renders):
    keep, drop = sorted(labels(run), key=lambda t: labels(run)[t]["size"])[-2:]
    invoke("topics", run, "merge", keep, drop, "--llm", "none")
    assert renders == [run]
    invoke("topics", run, "undo")
    assert renders == [run, run]
    with StubLLM(stub_answers) as stub:  # the merged topic is labelled again: still one render
        invoke("topics", run, "merge", keep, drop, "--llm-base-url", stub.base_url,
               "--llm-model", "stub")  # fmt: skip
    assert renders == [run, run, run]
    assert labels(run)[keep]["label_source"] == "llm"
    assert labels(run)[keep]["label"] in (run / "report.md").read_text(encoding="utf-8")


def test_the_steps_alone_never_render(run, renders):
    report = {name: (run / name).read_bytes() for name in ("report.html", "report.md")}
    before = labels(run)
    stats = label_topics(Run(run), FAKE, chat=FakeChat(), tree=True)
    assert stats.new_versions and stats.tree is not None
    after = labels(run)
    assert all(after[t]["label_source"] == "llm" for t in after) and after != before
    keep, drop = sorted(after, key=lambda t: after[t]["size"])[-2:]
    change = surgery.merge(run, [keep, drop], settings=FAKE, chat=FakeChat())
    assert change.relabelled == [keep]
    surgery.undo(run)
    assert renders == []
    assert report == {name: (run / name).read_bytes() for name in report}  # byte for byte
