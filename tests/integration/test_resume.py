"""An interrupted label step resumes with the topics still missing, and asks no topic twice:
counted per topic on the in-process fake ChatModel (the real-model version of this test in
test_llm.py can only bound the total)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from fakes import FakeChat

from labeler.api import label_run
from labeler.labels.labeling import LLMSettings


class DiesAfter(FakeChat):
    """Answers `n` questions, then the process is interrupted (Ctrl-C)."""

    def __init__(self, n: int):
        super().__init__()
        self.left = n

    def chat(self, messages, **kw):
        if self.left == 0:
            raise KeyboardInterrupt
        self.left -= 1
        return super().chat(messages, **kw)


def test_resume_asks_each_topic_once(banking_run, tmp_path):
    run = Path(shutil.copytree(banking_run, tmp_path / "run"))
    topics = [t for t in json.loads((run / "topics.json").read_text()) if t["topic"] >= 0]
    settings = LLMSettings(base_url="http://127.0.0.1:9/v1", model="fake", concurrency=1)

    first = DiesAfter(2)
    with pytest.raises(KeyboardInterrupt):
        label_run(run, settings, chat=first)
    assert sorted(first.calls.values()) == [1, 1]

    second = FakeChat()  # the same identity: the first run's answers are its cache hits
    stats = label_run(run, settings, chat=second)
    assert stats.cache_hits == 2 and stats.calls == len(topics) - 2 + second.follow_ups
    assert not set(first.calls) & set(second.calls)  # no topic asked again
    assert all(n == 1 for n in second.calls.values())
    assert len(set(first.calls) | set(second.calls)) == len(topics)
    labelled = [t for t in json.loads((run / "topics.json").read_text()) if t["topic"] >= 0]
    assert all(t["label_source"] == "llm" for t in labelled)

    again = FakeChat()
    assert label_run(run, settings, chat=again).new_versions == 0 and not again.calls
