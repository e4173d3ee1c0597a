"""`labeler eval RUN --reconstruct`: held-out documents sorted back into the topics by their
labels alone. A fake model whose assignments are known checks the arithmetic; the stub server on
127.0.0.1 checks the command, its cost line, the cache and the report."""

from __future__ import annotations

import json
import re

import pytest
from click.testing import CliRunner
from llm_stub import StubLLM, completion

from labeler.cli import main
from labeler.labels.reconstruct import held_out, reconstruct
from labeler.llm.client import ChatResult
from labeler.llm.settings import LLMSettings
from labeler.run.folder import Run


class KnownAssignments:
    """Answers with the document's own topic, except: documents of `wrong` go to `wrong`'s
    value, documents of `none` get "none". It reads the numbered list as a model would."""

    identity = "known-assignments"

    def __init__(self, truth: dict[str, int], labels: dict[int, str], wrong=None, none=()):
        self.truth = {" ".join(text.split()): topic for text, topic in truth.items()}
        self.labels = labels
        self.wrong, self.none = dict(wrong or {}), set(none)
        self.calls = 0
        self.listed: list[int] = []  # topics listed per prompt

    def chat(self, messages, *, schema, temperature, max_tokens):
        self.calls += 1
        numbers = {label: n for n, label in re.findall(r"^(\d+)\. (.+?)(?::|$)",
                                                       messages[0]["content"], re.M)}  # fmt: skip
        document = messages[-1]["content"].split("\n")[2]
        topic = next(t for text, t in self.truth.items() if text.startswith(document[:40]))
        if topic in self.none:
            return ChatResult(json.dumps({"topic": "none"}))
        topic = self.wrong.get(topic, topic)
        self.listed.append(len(numbers))
        if self.labels[topic] not in numbers:  # not on this document's shortlist
            return ChatResult(json.dumps({"topic": "none"}))
        return ChatResult(json.dumps({"topic": numbers[self.labels[topic]]}))


def test_the_figures_follow_the_assignments(run_copy):
    run = Run(run_copy)
    docs = run.documents()
    truth = dict(zip(docs["text"], docs["topic"].astype(int)))
    topics, held = held_out(run, sample=60)
    labels = {int(t["topic"]): t["label"] for t in topics}
    assert len(labels) >= 4 and len({d.topic for d in held}) == len(labels)
    representative = set(docs.loc[docs["representative"], "text"])
    assert not representative & {d.text for d in held}  # shown to the labels: not held out
    a, b, c = sorted(labels)[:3]
    fake = KnownAssignments(truth, labels, wrong={a: b}, none={c})
    figures = reconstruct(run, LLMSettings(), sample=60, chat=fake, candidates=0)
    assert set(fake.listed) == {len(labels)}  # candidates=0: every topic, every time
    n = figures["reconstruct_documents"]
    of = {t: sum(d.topic == t for d in held) for t in labels}
    assert n == len(held) and fake.calls == n
    assert figures["reconstruct_accuracy"] == pytest.approx((n - of[a] - of[c]) / n)
    assert figures["reconstruct_none_share"] == pytest.approx(of[c] / n)
    per = figures["reconstruct_per_topic"]
    assert per[str(a)]["accuracy"] == 0 and per[str(c)]["accuracy"] == 0
    assert per[str(b)]["accuracy"] == 1
    assert figures["reconstruct_confused"][0]["topics"] == sorted([a, b])
    assert figures["reconstruct_confused"][0]["documents"] == of[a]
    # Cached: asking again costs no call, with the same answers.
    again = reconstruct(run, LLMSettings(), sample=60, chat=fake, candidates=0)
    assert fake.calls == n and again["reconstruct_cache_hits"] == n
    assert again["reconstruct_accuracy"] == figures["reconstruct_accuracy"]


def test_a_model_that_sorts_nothing_is_named_as_the_cause(run_copy, caplog):
    run = Run(run_copy)
    docs = run.documents()
    truth = dict(zip(docs["text"], docs["topic"].astype(int)))
    topics, _ = held_out(run, sample=40)
    labels = {int(t["topic"]): t["label"] for t in topics}
    fake = KnownAssignments(truth, labels, none=set(labels))  # "none" for every document
    with caplog.at_level("WARNING", logger="labeler"):
        figures = reconstruct(run, LLMSettings(), sample=40, chat=fake, candidates=0)
    assert figures["reconstruct_none_share"] == 1.0
    assert any("more about the model" in r.getMessage() for r in caplog.records)
    caplog.clear()
    fake = KnownAssignments(truth, labels)  # sorts every document: no warning
    with caplog.at_level("WARNING", logger="labeler"):
        reconstruct(run, LLMSettings(), sample=40, seed=1, chat=fake, candidates=0)
    assert not any("more about the model" in r.getMessage() for r in caplog.records)


def test_each_document_sees_a_shortlist_of_the_nearest_labels(run_copy):
    run = Run(run_copy)
    docs = run.documents()
    truth = dict(zip(docs["text"], docs["topic"].astype(int)))
    topics, held = held_out(run, sample=60)
    labels = {int(t["topic"]): t["label"] for t in topics}
    fake = KnownAssignments(truth, labels)  # its own topic whenever it is listed
    figures = reconstruct(run, LLMSettings(), sample=60, chat=fake, candidates=3)
    assert set(fake.listed) == {3} and figures["reconstruct_candidates"] == 3
    recall = figures["reconstruct_shortlist_recall"]
    assert 0.5 < recall <= 1.0  # the real embedding model's shortlists hold their own topic
    assert figures["reconstruct_accuracy"] == pytest.approx(recall)
    assert figures["reconstruct_none_share"] == pytest.approx(1 - recall)
    assert 0 < figures["reconstruct_embedding_accuracy"] <= recall
    # one candidate: the LLM can only confirm the nearest label (or say none)
    fake = KnownAssignments(truth, labels)
    one = reconstruct(run, LLMSettings(), sample=60, chat=fake, candidates=1)
    assert set(fake.listed) == {1}
    assert one["reconstruct_accuracy"] == pytest.approx(one["reconstruct_embedding_accuracy"])
    assert one["reconstruct_shortlist_recall"] == pytest.approx(one["reconstruct_accuracy"])


def test_the_command_prints_its_cost_then_its_figures(run_copy):
    def script(request, n):
        return 200, {}, completion(json.dumps({"topic": "1"}))

    runner = CliRunner()
    with StubLLM(script) as stub:
        endpoint = ["--llm-base-url", stub.base_url, "--llm-model", "stub"]
        dry = runner.invoke(main, ["eval", str(run_copy), "--reconstruct", "--sample", "30",
                                   "--dry-run", *endpoint])  # fmt: skip
        assert dry.exit_code == 0, dry.output
        assert re.search(
            r"would sort \d+ held-out documents into \d+ topics: \d+ LLM calls .*5 topics shown",
            dry.output,
        )
        assert not stub.requests  # a dry run asks nothing
        result = runner.invoke(main, ["eval", str(run_copy), "--reconstruct", "--sample", "30",
                                      "--json", *endpoint])  # fmt: skip
        assert result.exit_code == 0, result.output
        asked = len(stub.requests)
    figures = json.loads(result.output.strip().splitlines()[-1])
    n = figures["reconstruct_documents"]
    assert asked == n and 0 < figures["reconstruct_accuracy"] < 0.5  # one topic's share
    system = stub.requests[0]["messages"][0]["content"]
    assert "<<<DATA>>>" in system and "1. " in system
    html = (run_copy / "report.html").read_text(encoding="utf-8")
    assert "sorted back to their topic by label" in html
    # A plain eval afterwards keeps the figures (the labels did not change).
    plain = runner.invoke(main, ["eval", str(run_copy), "--json"])
    assert json.loads(plain.output.strip().splitlines()[-1])["reconstruct_documents"] == n


def test_what_the_command_refuses(run_copy):
    runner = CliRunner()
    result = runner.invoke(main, ["eval", str(run_copy), "--sample", "10"])
    assert result.exit_code != 0 and "--reconstruct" in result.output
    result = runner.invoke(main, ["eval", str(run_copy), "--reconstruct", "--llm", "none"])
    assert result.exit_code != 0 and "asks an LLM" in result.output
