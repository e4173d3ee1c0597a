"""One question to the LLM, answered usably: a content-addressed cache, repair follow-ups after
unusable replies, shorter documents after "context exceeded", and a circuit breaker for a dead
endpoint."""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from dataclasses import dataclass, field

from labeler.llm.answers import AnswerError, reply_answer
from labeler.llm.client import ChatModel, ContextExceeded, Unreachable
from labeler.llm.prompts import DOC_TOKENS, Prompt, messages_tokens
from labeler.llm.settings import LLMSettings
from labeler.run.db import RunDB

log = logging.getLogger("labeler")

REPAIRS = 2  # follow-ups after an unusable answer
SOFT_REPAIRS = 1  # follow-ups after a usable but flawed one (AnswerError.fallback), then keep it
SHRINKS = 3  # retries with shorter documents after "context exceeded"


@dataclass
class Outcome:
    topic: int
    label: str
    summary: str | None
    source: str  # llm | keywords
    flags: list[str] = field(default_factory=list)
    request: list[dict] | None = None
    raw: str | None = None
    # Each time a check asked again: {"check": name, "changed": whether the next answer's label
    # differed, "answer_changed": its label or summary}; in the label version's params.
    reasks: list[dict] = field(default_factory=list)

    def params(self, settings: LLMSettings) -> dict:
        """The label version's params (its provenance): the settings, and the checks that asked
        again, each with whether the label changed, so a benchmark can count which re-asks
        earn their time."""
        return {**settings.public(), **({"reasks": self.reasks} if self.reasks else {})}

    def same_as(self, before: dict, prompt: Prompt, identity: str) -> bool:
        """Whether the current version `before` already says this (no new version needed):
        same words, source and flags, and for an LLM answer the same prompt and model."""
        return (
            before.get("label") == self.label
            and before.get("summary") == self.summary
            and before.get("source") == self.source
            and json.loads(before.get("flags") or "[]") == sorted(set(self.flags))
            and (self.source != "llm" or before.get("prompt_hash") == prompt.text_hash)
            and (self.source != "llm" or before.get("model") == identity)
        )


@dataclass
class LabelStats:
    topics: int = 0
    calls: int = 0
    cache_hits: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    fallbacks: int = 0
    skipped_reviewed: int = 0
    skipped_named: int = 0  # zero-shot topics, which keep the user's names
    duplicates_resolved: int = 0
    seconds: float = 0.0
    new_versions: int = 0
    tree: LabelStats | None = None  # naming the topic tree's upper layers (labeler.labels.naming)
    # Re-asks per check: check → [asked again, the label changed] (`Outcome.reasks`, counted).
    reasks: dict[str, list[int]] = field(default_factory=dict)
    # The label step's one progress bar: (done, total) when it closed (topics + tree nodes).
    progress: tuple[int, int] | None = None
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def count_reasks(self, reasks: list[dict]) -> None:
        with self.lock:
            for r in reasks:
                counts = self.reasks.setdefault(r["check"], [0, 0])
                counts[0] += 1
                counts[1] += bool(r["changed"])

    def reask_line(self) -> str:
        """`re-asks: coverage 3 (1 changed the label), narrow 2 (0 changed it)`, or ''."""
        parts = [f"{check} {n} ({changed} changed)"
                 for check, (n, changed) in sorted(self.reasks.items())]  # fmt: skip
        return "re-asks: " + ", ".join(parts) if parts else ""

    def line(self, what: str = "labels", unit: str = "topic") -> str:
        per_topic = self.seconds / self.topics if self.topics else 0.0
        return (
            f"{what}: {self.topics} {unit}s, {self.calls} LLM calls, {self.cache_hits} cache hits, "
            f"{self.prompt_tokens:,} prompt + {self.completion_tokens:,} completion tokens, "
            f"{self.fallbacks} fallbacks, {self.seconds:.1f} s ({per_topic:.2f} s/{unit})"
        )


# ---------------------------------------------------------------------------------- the cache
def cache_key(identity: str, messages: list[dict], schema: dict | None, settings) -> str:
    payload = {
        "model": identity,
        "messages": messages,
        "temperature": settings.temperature,
        "max_tokens": settings.max_tokens,
        "schema": schema,
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode("utf-8")).hexdigest()


def cache_lookup(db: RunDB, key: str) -> str | None:
    return db.cached_answer(key)


# ---------------------------------------------------------------------------------- the asker
class Asker:
    """One question → a usable answer: cache, repair on bad JSON, shrink on long prompts.

    `db`: the run's database (`Run.db`), where the answers are cached."""

    def __init__(self, db: RunDB, chat: ChatModel, settings: LLMSettings, stats: LabelStats):
        self.db = db
        self.chat = chat
        self.settings = settings
        self.stats = stats
        self.unreachable: str | None = None  # circuit breaker: stop calling a dead endpoint

    def store(self, key: str, messages: list[dict], content: str, result) -> None:
        self.db.store_answer(
            key, self.chat.identity, json.dumps(messages), content,
            result.prompt_tokens, result.completion_tokens,
        )  # fmt: skip

    def ask(self, messages: list[dict], schema: dict | None) -> str:
        """The reply to these messages, from the cache or the endpoint (then cached)."""
        key = cache_key(self.chat.identity, messages, schema, self.settings)
        hit = self.db.cached_answer(key)
        if hit is not None:
            with self.stats.lock:
                self.stats.cache_hits += 1
            return hit
        if self.unreachable:
            raise Unreachable(self.unreachable)
        try:
            result = self.chat.chat(
                messages, schema=schema, temperature=self.settings.temperature,
                max_tokens=self.settings.max_tokens,
            )  # fmt: skip
        except Unreachable as exc:
            self.unreachable = str(exc)
            raise
        with self.stats.lock:
            self.stats.calls += 1
            self.stats.prompt_tokens += result.prompt_tokens
            self.stats.completion_tokens += result.completion_tokens
        if result.content.strip():
            self.store(key, messages, result.content, result)
        return result.content

    def answer(
        self,
        build,
        parse,
        repair: Prompt,
        fields: list[str],
        schema: dict,
        doc_tokens: int = DOC_TOKENS,
        reasks: list[dict] | None = None,
    ):
        """build(doc_tokens, budget) → messages; parse(reply) → value.

        Returns (value, messages, reply). After "context exceeded" the documents are cut shorter
        and the prompt budget shrinks (dropping documents), up to SHRINKS times. A reply that
        parse rejects with a fallback (usable, but flawed) is asked about once; if the next one is
        no better, the latest fallback is the answer. `reasks`, when given, gets one entry per
        follow-up: the check that asked (`AnswerError.check`) and whether the label changed.
        """
        budget = self.settings.prompt_budget
        for _ in range(SHRINKS + 1):
            messages = build(doc_tokens, budget)
            conversation = list(messages)
            prefill = messages[-1] if messages[-1]["role"] == "assistant" else None
            salvage: tuple | None = None  # (value, reply) of the latest usable, flawed answer
            soft = 0
            asked_about: tuple | None = None  # (check, label) of the answer asked about again
            try:
                for attempt in range(REPAIRS + 1):
                    reply = self.ask(conversation, schema)
                    if asked_about is not None and reasks is not None:
                        new = reply_answer(reply)
                        reasks.append({
                            "check": asked_about[0], "changed": new[0] != asked_about[1][0],
                            "answer_changed": new != asked_about[1],
                        })  # fmt: skip
                    try:
                        return parse(reply), messages, reply
                    except AnswerError as problem:
                        if problem.fallback is not None:
                            salvage = (problem.fallback, reply)
                            soft += 1
                        if salvage and (attempt == REPAIRS or soft > SOFT_REPAIRS):
                            return salvage[0], messages, salvage[1]
                        if attempt == REPAIRS:
                            raise
                        asked_about = (problem.check, reply_answer(reply))
                        follow_up = repair.render(problem=str(problem), fields=fields)
                        asked = [m for m in conversation if m is not prefill]
                        conversation = [
                            *asked,
                            {"role": "assistant", "content": reply[:2000]},
                            *[m for m in follow_up if m["role"] == "user"],
                            *([prefill] if prefill else []),
                        ]
            except ContextExceeded:
                doc_tokens = max(16, doc_tokens // 3)
                budget = int(min(budget, messages_tokens(messages)) * 0.6)
                log.info("prompt too long for the endpoint: retrying with less document text")
        raise ContextExceeded("the prompt did not fit even with the shortest documents")
