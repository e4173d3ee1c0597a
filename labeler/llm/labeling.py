"""The label step: LLM labels and summaries for the topics of a saved run.

Reads only what the fit left on disk (topics.json, documents.parquet, embeddings.npy) and writes
only label versions, the answer cache (both in run.sqlite), the label fields of topics.json and
the reports. Every answer is cached by content as soon as it arrives, so a rerun with the same
prompt makes no call and an interrupted run resumes with the topics still missing. No topic's bad
answer stops the run: it falls back to its keyword label, flagged.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from labeler.errors import LabelerError
from labeler.llm.answers import MAX_LABEL_CHARS, AnswerError, parse_distinct, parse_label
from labeler.llm.client import ChatModel, ContextExceeded, LLMError, OpenAIChat, Unreachable
from labeler.llm.prompts import (
    Prompt,
    estimate_tokens,
    fence_for,
    fit_messages,
    load_prompt,
    messages_tokens,
    truncate,
)
from labeler.store import (
    DOCUMENTS,
    EMBEDDINGS,
    TOPICS,
    add_label_version,
    check_run,
    connect,
    current_labels,
    now,
    read_json,
    sync_topics_json,
    topic_statuses,
)

log = logging.getLogger("labeler")

PACKAGED = ("local", "small")
REPAIRS = 2  # follow-ups after an unusable answer
SHRINKS = 3  # retries with shorter documents after "context exceeded"
NEIGHBOURS = 3
DOC_TOKENS = 128  # per representative document: enough to name a topic, cheap on 2 cores
DUPLICATE_SIMILARITY = 0.9
PROTECTED = {"accepted", "edited"}  # reviewed labels a relabel keeps unless forced


@dataclass
class LLMSettings:
    """Where and how to ask. The API key is named by an environment variable, never held."""

    provider: str = "local"  # local | small | endpoint | path to a .gguf file
    base_url: str | None = None
    model: str | None = None
    api_key_env: str = "OPENAI_API_KEY"
    temperature: float = 0.0
    max_tokens: int = 200
    timeout: float = 60.0
    max_retries: int = 4
    concurrency: int | None = None
    context: int = 4096
    prompt: str = "label_summary"
    corpus_description: str | None = None

    @property
    def workers(self) -> int:
        return self.concurrency or (2 if self.is_local else 4)

    @property
    def is_local(self) -> bool:
        return self.base_url is None

    def public(self) -> dict:
        """What is recorded in config.json and label versions: everything but secrets."""
        return {
            "provider": "endpoint" if self.base_url else self.provider,
            "base_url": self.base_url,
            "model": self.model,
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
            "context": self.context,
            "prompt": self.prompt,
        }


class LazyLocalChat:
    """The packaged model, served on first use only: a fully cached rerun never loads it."""

    def __init__(self, settings: LLMSettings, cache_dir: Path | None = None):
        from labeler.llm.local import LocalServer

        self._server = LocalServer(
            settings.provider, context=settings.context, parallel=settings.workers,
            cache_dir=cache_dir,
        )  # fmt: skip
        self._settings = settings
        self._chat: OpenAIChat | None = None
        self._lock = threading.Lock()

    @property
    def identity(self) -> str:
        return self._server.identity

    def chat(self, messages, *, schema, temperature, max_tokens):
        with self._lock:
            if self._chat is None:
                base_url = self._server.start()
                self._chat = OpenAIChat(
                    base_url, self._server.alias, timeout=self._settings.timeout,
                    max_retries=self._settings.max_retries, identity=self.identity,
                )  # fmt: skip
        return self._chat.chat(
            messages, schema=schema, temperature=temperature, max_tokens=max_tokens
        )

    def close(self) -> None:
        self._server.stop()


@contextlib.contextmanager
def open_chat_model(settings: LLMSettings, cache_dir: Path | None = None) -> Iterator[ChatModel]:
    if settings.base_url:
        if not settings.model:
            raise LabelerError(
                "--llm-base-url needs --llm-model (the model name the endpoint serves)"
            )
        yield OpenAIChat(
            settings.base_url, settings.model, settings.api_key_env, settings.timeout,
            settings.max_retries, identity=f"{settings.model}@{settings.base_url}",
        )  # fmt: skip
        return
    if settings.provider not in PACKAGED and not Path(settings.provider).is_file():
        raise LabelerError(
            f"--llm {settings.provider!r}: choose local, small, none, a .gguf file, "
            "or an endpoint with --llm-base-url"
        )
    chat = LazyLocalChat(settings, cache_dir)
    try:
        yield chat
    finally:
        chat.close()


# ---------------------------------------------------------------------------------- results
@dataclass
class Outcome:
    topic: int
    label: str
    summary: str | None
    source: str  # llm | keywords
    flags: list[str] = field(default_factory=list)
    request: list[dict] | None = None
    raw: str | None = None


@dataclass
class LabelStats:
    topics: int = 0
    calls: int = 0
    cache_hits: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    fallbacks: int = 0
    skipped_reviewed: int = 0
    duplicates_resolved: int = 0
    seconds: float = 0.0
    new_versions: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def line(self) -> str:
        per_topic = self.seconds / self.topics if self.topics else 0.0
        return (
            f"labels: {self.topics} topics, {self.calls} LLM calls, {self.cache_hits} cache hits, "
            f"{self.prompt_tokens:,} prompt + {self.completion_tokens:,} completion tokens, "
            f"{self.fallbacks} fallbacks, {self.seconds:.1f} s ({per_topic:.2f} s/topic)"
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


def cache_lookup(run_dir: Path, key: str) -> str | None:
    with connect(run_dir) as con:
        row = con.execute("SELECT response FROM llm_cache WHERE key = ?", (key,)).fetchone()
    return row["response"] if row else None


# ---------------------------------------------------------------------------------- the asker
class Asker:
    """One question → a usable answer: cache, repair on bad JSON, shrink on long prompts."""

    def __init__(self, run_dir: Path, chat: ChatModel, settings: LLMSettings, stats: LabelStats):
        self.run_dir = run_dir
        self.chat = chat
        self.settings = settings
        self.stats = stats
        self.unreachable: str | None = None  # circuit breaker: stop calling a dead endpoint

    def store(self, key: str, messages: list[dict], content: str, result) -> None:
        with connect(self.run_dir) as con:
            con.execute(
                "INSERT OR REPLACE INTO llm_cache VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    key, self.chat.identity, json.dumps(messages), content,
                    result.prompt_tokens, result.completion_tokens, now(),
                ),
            )  # fmt: skip

    def ask(self, messages: list[dict], schema: dict | None) -> str:
        """The reply to these messages, from the cache or the endpoint (then cached)."""
        key = cache_key(self.chat.identity, messages, schema, self.settings)
        hit = cache_lookup(self.run_dir, key)
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

    def answer(self, build, parse, repair: Prompt, fields: list[str], schema: dict):
        """build(doc_tokens, budget) → messages; parse(reply) → value.

        Returns (value, messages, reply). After "context exceeded" the documents are cut shorter
        and the prompt budget shrinks (dropping documents), up to SHRINKS times.
        """
        doc_tokens, budget = DOC_TOKENS, self.settings.context - self.settings.max_tokens - 64
        for _ in range(SHRINKS + 1):
            messages = build(doc_tokens, budget)
            conversation = list(messages)
            try:
                for attempt in range(REPAIRS + 1):
                    reply = self.ask(conversation, schema)
                    try:
                        return parse(reply), messages, reply
                    except AnswerError as problem:
                        if attempt == REPAIRS:
                            raise
                        follow_up = repair.render(problem=str(problem), fields=fields)
                        conversation = [
                            *conversation,
                            {"role": "assistant", "content": reply[:2000]},
                            *[m for m in follow_up if m["role"] == "user"],
                        ]
            except ContextExceeded:
                doc_tokens = max(16, doc_tokens // 3)
                budget = int(min(budget, messages_tokens(messages)) * 0.6)
                log.info("prompt too long for the endpoint: retrying with less document text")
        raise ContextExceeded("the prompt did not fit even with the shortest documents")


# ---------------------------------------------------------------------------------- inputs
@dataclass
class TopicInput:
    id: int
    size: int
    keywords: list[str]
    keybert: list[str]
    mmr: list[str]
    documents: list[str]
    keyword_label: str
    current_label: str

    def context(self) -> dict:
        return {
            "id": self.id, "size": self.size, "keywords": self.keywords,
            "keybert": self.keybert, "mmr": self.mmr,
        }  # fmt: skip


def load_inputs(run_dir: Path) -> tuple[list[TopicInput], dict[int, np.ndarray]]:
    topics = read_json(run_dir / TOPICS)
    labels = current_labels(run_dir)
    with connect(run_dir) as con:
        rows = con.execute("SELECT topic, label FROM label_versions WHERE version = 1").fetchall()
    fitted_labels = {int(r["topic"]): r["label"] for r in rows}  # the fit's keyword labels
    docs = pd.read_parquet(run_dir / DOCUMENTS, columns=["topic"])
    embeddings = np.load(run_dir / EMBEDDINGS, allow_pickle=False)
    from labeler.represent import topic_vectors

    vectors = topic_vectors(embeddings, docs["topic"].to_numpy())
    inputs = []
    for r in topics:
        if r.get("is_outlier") or r["topic"] < 0:
            continue
        words = [w for w, _ in r.get("keywords", [])]
        keyword_label = fitted_labels.get(int(r["topic"]), "_".join([str(r["topic"]), *words[:3]]))
        inputs.append(
            TopicInput(
                id=int(r["topic"]),
                size=int(r["size"]),
                keywords=words,
                keybert=[w for w, _ in r.get("keywords_keybert", [])],
                mmr=[w for w, _ in r.get("keywords_mmr", [])],
                documents=list(r.get("representative_docs", [])),
                keyword_label=keyword_label,
                current_label=labels.get(int(r["topic"]), {}).get("label", keyword_label),
            )  # fmt: skip
        )
    return inputs, vectors


def neighbours_of(
    topic: TopicInput, inputs: list[TopicInput], vectors: dict[int, np.ndarray]
) -> list[dict]:
    """The most similar other topics, by their keywords only (stable across reruns)."""
    others = [t for t in inputs if t.id != topic.id]
    if not others or topic.id not in vectors:
        return []
    sims = [float(vectors[topic.id] @ vectors[t.id]) for t in others]
    order = np.argsort(sims)[::-1][:NEIGHBOURS]
    return [
        {"label": ", ".join(others[i].keywords[:3]), "keywords": others[i].keywords[:6]}
        for i in order
    ]


def label_schema(fields: list[str]) -> dict:
    """JSON schema for the answer. Length limits and "no commas" make grammar-constrained
    servers (llama.cpp) stop rambling models and rule out keyword lists as labels."""
    properties = {"label": {"type": "string", "minLength": 3, "maxLength": MAX_LABEL_CHARS,
                            "pattern": "^[^,;\\n]+$"}}  # fmt: skip
    if "summary" in fields:
        properties["summary"] = {"type": "string", "minLength": 12, "maxLength": 300}
    return {"type": "object", "properties": properties, "required": list(properties)}


# ---------------------------------------------------------------------------------- the step
def label_run(
    run_dir: Path,
    settings: LLMSettings,
    topics: list[int] | None = None,
    force: bool = False,
    dry_run: bool = False,
    chat: ChatModel | None = None,
    cache_dir: Path | None = None,
) -> LabelStats:
    """Label (or relabel) the topics of a saved run; returns what it cost."""
    run_dir = check_run(Path(run_dir))
    prompt = load_prompt(settings.prompt)
    repair = load_prompt("repair")
    inputs, vectors = load_inputs(run_dir)
    if topics is not None:
        unknown = sorted(set(topics) - {t.id for t in inputs})
        if unknown:
            raise LabelerError(f"no such topic(s) in {run_dir.name}: {unknown}")
        selected = [t for t in inputs if t.id in set(topics)]
    else:
        selected = list(inputs)
    stats = LabelStats()
    statuses = topic_statuses(run_dir)
    if not force:
        kept = [t for t in selected if statuses.get(t.id) in PROTECTED]
        stats.skipped_reviewed = len(kept)
        selected = [t for t in selected if statuses.get(t.id) not in PROTECTED]
    selected = [t for t in selected if statuses.get(t.id) != "not_a_topic"]
    schema = label_schema(prompt.fields)

    def builder(topic: TopicInput):
        context = {
            "topic": topic.context(),
            "neighbours": neighbours_of(topic, inputs, vectors),
            "corpus_description": settings.corpus_description,
        }
        return lambda doc_tokens, budget: fit_messages(
            prompt, topic.documents, budget, doc_tokens=doc_tokens, **context
        )

    if dry_run:
        return estimate(run_dir, selected, builder, settings, chat, schema)

    started = time.perf_counter()
    with contextlib.ExitStack() as stack:
        if chat is None:
            chat = stack.enter_context(open_chat_model(settings, cache_dir))
        asker = Asker(run_dir, chat, settings, stats)
        embed = label_embedder(run_dir)
        fits = relevance_check(embed, vectors)

        def parse(reply: str, topic: TopicInput) -> dict:
            answer = parse_label(reply, prompt.fields)
            fits(answer["label"], topic.id)
            return answer

        outcomes = ask_all(asker, selected, builder, parse, prompt, repair, schema, settings)
        if outcomes:
            distinguish(asker, outcomes, {t.id: t for t in inputs}, repair, stats, embed)
    stats.topics = len(selected)
    stats.seconds = time.perf_counter() - started
    stats.new_versions = save_outcomes(run_dir, outcomes, prompt, chat, settings)
    sync_topics_json(run_dir)
    from labeler.report import render_reports

    render_reports(run_dir)
    return stats


def ask_all(asker, selected, builder, parse, prompt, repair, schema, settings) -> list[Outcome]:
    def one(topic: TopicInput) -> Outcome:
        try:
            value, messages, reply = asker.answer(
                builder(topic), lambda r: parse(r, topic), repair,
                prompt.fields, schema,
            )  # fmt: skip
            return Outcome(topic.id, value["label"], value["summary"], "llm", [], messages, reply)
        except (LLMError, AnswerError) as exc:
            flag = "llm-unreachable" if isinstance(exc, Unreachable) else "fallback"
            log.warning("topic %d: %s; keeping its keyword label", topic.id, exc)
            with asker.stats.lock:
                asker.stats.fallbacks += 1
            return Outcome(topic.id, topic.keyword_label, None, "keywords", [flag])

    outcomes: list[Outcome] = []
    if not selected:
        return outcomes
    from tqdm.auto import tqdm

    bar = tqdm(
        total=len(selected), desc="labeling topics", unit="topic",
        disable=not log.isEnabledFor(logging.INFO), leave=False,
    )  # fmt: skip
    pool = ThreadPoolExecutor(max_workers=settings.workers)
    try:
        futures = [pool.submit(one, t) for t in selected]
        for future in as_completed(futures):
            outcomes.append(future.result())
            bar.update(1)
    except BaseException:
        pool.shutdown(wait=True, cancel_futures=True)  # answers so far are cached: resumable
        raise
    finally:
        bar.close()
    pool.shutdown(wait=True)
    return sorted(outcomes, key=lambda o: o.topic)


def normalise(label: str) -> str:
    words = sorted(w.rstrip("s") for w in label.lower().replace("-", " ").split())
    return " ".join(words)


def duplicate_groups(labels: dict[int, str], embed=None) -> list[list[int]]:
    """Topics whose labels are the same up to case, order and plurals, or near in meaning."""
    ids = sorted(labels)
    parent = {t: t for t in ids}

    def find(t):
        while parent[t] != t:
            parent[t] = parent[parent[t]]
            t = parent[t]
        return t

    def union(a, b):
        parent[find(a)] = find(b)

    by_text: dict[str, int] = {}
    for t in ids:
        key = normalise(labels[t])
        if key in by_text:
            union(t, by_text[key])
        by_text.setdefault(key, t)
    vectors = embed([labels[t] for t in ids]) if embed is not None and len(ids) > 1 else None
    if vectors is not None:
        vectors = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-9)
        sims = vectors @ vectors.T
        for i in range(len(ids)):
            for j in range(i + 1, len(ids)):
                if sims[i, j] >= DUPLICATE_SIMILARITY:
                    union(ids[i], ids[j])
    groups: dict[int, list[int]] = {}
    for t in ids:
        groups.setdefault(find(t), []).append(t)
    return [g for g in groups.values() if len(g) > 1]


def label_embedder(run_dir: Path):
    """Embed labels with the run's own model (cached), or None when that is unavailable."""
    from labeler.cache import EmbeddingCache
    from labeler.embed import DEFAULT_MODEL, CachedEmbedder, SentenceTransformerEmbedder

    config = read_json(run_dir / "config.json")
    model = config.get("embedding", {}).get("model") or DEFAULT_MODEL
    if str(model).startswith("precomputed"):
        model = config.get("embedding", {}).get("query_model") or DEFAULT_MODEL
    embedder = CachedEmbedder(SentenceTransformerEmbedder(model), EmbeddingCache())

    def embed(texts):
        try:
            return embedder.embed(texts)
        except LabelerError as exc:
            log.warning("label similarity by text only: %s", exc)
            return None

    return embed


MIN_RELEVANCE = 0.15  # below this a label has nothing to do with its documents
CLEAR_RELEVANCE = 0.35  # above this a label clearly fits, whatever other topics score


def relevance_check(embed, vectors: dict[int, np.ndarray]):
    """A check that a label describes its own topic: a defence against answers that follow
    instructions planted in documents ("answer HACKED"), which fencing alone cannot stop in a
    small model. A label must be similar enough to its topic's documents, and unless it fits
    clearly, rank its own topic among the closest third of all topics."""
    ids = sorted(t for t in vectors if t >= 0)
    matrix = np.stack([vectors[t] for t in ids]) if ids else None

    def check(label: str, topic: int) -> None:
        if matrix is None or topic not in ids or len(ids) < 4:
            return
        vector = embed([label])
        if vector is None or vector.shape[1] != matrix.shape[1]:
            return
        sims = matrix @ (vector[0] / max(float(np.linalg.norm(vector[0])), 1e-9))
        own = float(sims[ids.index(topic)])
        rank = int((sims > own).sum())
        if own < MIN_RELEVANCE or (own < CLEAR_RELEVANCE and rank >= max(3, len(ids) // 3)):
            raise AnswerError(
                f"the label {label!r} does not describe these documents; name what they are about"
            )

    return check


def distinguish(asker, outcomes, inputs_by_id, repair, stats, embed, rounds: int = 2) -> None:
    """Re-prompt topics whose labels collide, together and contrastively."""
    prompt = load_prompt("distinguish")
    llm_outcomes = {o.topic: o for o in outcomes if o.source == "llm"}
    # Collisions can be with topics labelled earlier and not relabelled now.
    labels = {t: inp.current_label for t, inp in inputs_by_id.items()}
    labels.update({t: o.label for t, o in llm_outcomes.items()})
    for _ in range(rounds):
        groups = [
            [t for t in group if t in llm_outcomes] for group in duplicate_groups(labels, embed)
        ]
        groups = [g for g in groups if g]
        if not groups:
            return
        for group in groups:
            members = sorted(set(group) | {t for t in labels if labels[t] == labels[group[0]]})
            members = [t for t in members if t in inputs_by_id][:8]
            if len(members) < 2:
                continue
            topics_ctx = [
                {
                    "id": t,
                    "label": labels[t],
                    "size": inputs_by_id[t].size,
                    "keywords": inputs_by_id[t].keywords[:8],
                    "documents": [truncate(d, 60) for d in inputs_by_id[t].documents[:2]],
                }  # fmt: skip
                for t in members
            ]
            schema = {
                "type": "object",
                "properties": {"labels": {"type": "object"}},
                "required": ["labels"],
            }
            docs = [d for t in topics_ctx for d in t["documents"]]
            try:
                renamed, _, _ = asker.answer(
                    lambda _tokens, _budget, ctx=topics_ctx, docs=docs: prompt.render(
                        topics=ctx, fence=fence_for(docs)
                    ),
                    lambda reply, ids=members: parse_distinct(reply, ids),
                    repair, ["labels"], schema,
                )  # fmt: skip
            except (LLMError, AnswerError) as exc:
                log.warning("could not tell topics %s apart: %s", members, exc)
                continue
            for t, label in renamed.items():
                if t in llm_outcomes and label != llm_outcomes[t].label:
                    llm_outcomes[t].label = label
                    labels[t] = label
                    stats.duplicates_resolved += 1
    # Still colliding after the re-prompts: make them distinct with a keyword and say so.
    for group in duplicate_groups(labels):
        for t in group[1:]:
            if t not in llm_outcomes:
                continue
            outcome = llm_outcomes[t]
            taken = {normalise(v) for k, v in labels.items() if k != t}
            options = [f"{outcome.label} ({w})" for w in inputs_by_id[t].keywords]
            outcome.label = next(
                (o for o in options if normalise(o) not in taken), f"{outcome.label} ({t})"
            )
            outcome.flags.append("duplicate")
            labels[t] = outcome.label


def save_outcomes(run_dir: Path, outcomes: list[Outcome], prompt: Prompt, chat, settings) -> int:
    """One new version per topic whose label, summary, prompt or model changed.

    A failed answer never replaces an earlier LLM label: it only lands where the topic had
    nothing better than keywords."""
    current = current_labels(run_dir)
    added = 0
    with connect(run_dir) as con:
        for o in outcomes:
            before = current.get(o.topic, {})
            if o.source == "keywords" and before.get("source") in ("llm", "review"):
                continue
            flags = sorted(set(o.flags))
            same = (
                before.get("label") == o.label
                and before.get("summary") == o.summary
                and before.get("source") == o.source
                and json.loads(before.get("flags") or "[]") == flags
                and (o.source != "llm" or before.get("prompt_hash") == prompt.text_hash)
                and (o.source != "llm" or before.get("model") == chat.identity)
            )
            if same:
                continue
            add_label_version(
                con, o.topic, o.label, summary=o.summary, source=o.source,
                prompt_name=prompt.name, prompt_hash=prompt.text_hash, model=chat.identity,
                params=settings.public(), flags=flags,
                request=json.dumps(o.request) if o.request else None, raw_answer=o.raw,
            )  # fmt: skip
            added += 1
    return added


def estimate(run_dir, selected, builder, settings, chat, schema) -> LabelStats:
    """--dry-run: how many calls and tokens labeling would cost, given what is cached."""
    stats = LabelStats(topics=len(selected))
    identity = chat.identity if chat is not None else _identity_without_starting(settings)
    for topic in selected:
        messages = builder(topic)(DOC_TOKENS, settings.context - settings.max_tokens - 64)
        if cache_lookup(run_dir, cache_key(identity, messages, schema, settings)) is not None:
            stats.cache_hits += 1
            continue
        stats.calls += 1
        stats.prompt_tokens += sum(estimate_tokens(m["content"]) for m in messages)
        stats.completion_tokens += settings.max_tokens
    return stats


def _identity_without_starting(settings: LLMSettings) -> str:
    if settings.base_url:
        return f"{settings.model}@{settings.base_url}"
    from labeler.llm.local import LocalServer

    return LocalServer(settings.provider).identity
