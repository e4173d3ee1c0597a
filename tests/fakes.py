"""An in-process fake ChatModel: label logic tested without a server, with every call counted.

It answers each topic with a label made from the topic's first two keywords (distinct per topic
and relevant to its documents), and counts calls per topic so a test can assert that a resumed or
repeated run asked nothing again.
"""

from __future__ import annotations

import json
import threading
from collections import Counter

from labeler.llm.client import ChatResult


def keywords_of(messages: list[dict]) -> str:
    """The topic's keyword line (the last one: worked examples may come first)."""
    text = "\n".join(m["content"] for m in messages if m["role"] == "user")
    lines = [ln for ln in text.splitlines() if ln.startswith("Keywords")]
    return lines[-1] if lines else "Keywords: ?"


class FakeChat:
    supports_prefill = False

    def __init__(self, identity: str = "fake-chat"):
        self.identity = identity
        self.calls: Counter[str] = Counter()  # keyword line → first questions
        self.follow_ups = 0
        self._lock = threading.Lock()

    def chat(self, messages, *, schema, temperature, max_tokens) -> ChatResult:
        line = keywords_of(messages)
        follow_up = any(m["role"] == "assistant" for m in messages[:-1])
        with self._lock:
            if follow_up:  # asked about its answer again (e.g. a label covering one sub-group)
                self.follow_ups += 1
            else:
                self.calls[line] += 1
        words = line.split(":", 1)[1].replace(",", " ").split()[:2]
        label = " ".join(w.title() for w in words) + " Questions"
        summary = f"Customers asking about {' and '.join(words)}."
        return ChatResult(json.dumps({"label": label, "summary": summary}), 40, 12)


class GatedChat(FakeChat):
    """The fake model, held at its answers until `gate` is set (a long LLM, on demand);
    `waiting` is set once a question has arrived."""

    def __init__(self):
        super().__init__()
        self.gate = threading.Event()
        self.gate.set()
        self.waiting = threading.Event()

    def chat(self, messages, **options):
        self.waiting.set()
        assert self.gate.wait(60)
        return super().chat(messages, **options)
