"""Reconstruction accuracy: would a reader sort a run's documents into its topics knowing only
the labels and summaries? (`labeler eval RUN --reconstruct`.)

A label is good when it tells its documents apart from the other topics'. Ground truth says so
only for the benchmark corpora; on a user's own corpus this is the figure that does: the run's
LLM sees the topics' labels and summaries (shuffled and numbered afresh, so neither the order nor
the ids give the answer away) and assigns documents it never saw while labeling (not the
representative documents, not any document quoted in a label's prompt), sampled from every
topic, to one of them or to "none". Clio reports this measurement for its descriptions, and
ProxAnn (ACL 2025) shows an LLM's assignments agree with human annotators'.

Each document is shown a shortlist, not every topic: the `candidates` topics (5 by default)
whose label and summary are nearest to it by the run's own embedding model, shuffled and
numbered. Measured on a 1,500-question BANKING77 run (32 topics, 30 held-out questions): asked
with all 32 topics at once, the packaged 1.5B model answered "none" for 23 and sorted 2 right
(0.5B: 25 "none", 1 right); forced to give a number it answered "1" for 5 of 12. A long list is
beyond small models, and a shortlist keeps each prompt short. The figures say what the shortlist
cost: `reconstruct_shortlist_recall` (the document's own topic was among the candidates) and
`reconstruct_embedding_accuracy` (the nearest candidate alone, no LLM), so what the LLM adds is
in plain sight. `candidates=0` lists every topic (for a large endpoint model).

Each answer is cached in the run's database like a label (same key rules), so a second run
costs nothing and an interrupted one resumes.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import random
import re
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

from labeler.errors import LabelerError
from labeler.llm.asker import Asker, LabelStats, cache_key
from labeler.llm.client import ChatModel, LLMError
from labeler.llm.prompts import FENCE, data_line, estimate_tokens, load_prompt
from labeler.llm.settings import LLMSettings, identity_without_starting, open_chat_model
from labeler.run.folder import Run

log = logging.getLogger("labeler")

PROMPT = "reconstruct"
DEFAULT_SAMPLE = 200  # held-out documents in all, spread evenly over the topics
SUMMARY_TOKENS = 40  # a summary is cut to about this in the topic list
MAX_TOKENS = 16  # {"topic": "12"}
CONFUSED_PAIRS = 5
NONE = "none"
# Above this "none" share the figure measures the model, not the labels: the packaged 0.5B
# model answered "none" for 35 of 36 held-out BANKING77 questions (5 candidates each) while
# its own labels matched the intent for 39% of topics (benchmarks/reconstruct.py, 1,000 docs).
NONE_WARNING = 0.5
DEFAULT_CANDIDATES = 5  # topics shown per document (0: all of them)


@dataclasses.dataclass
class Held:
    topic: int
    doc_id: object
    text: str


def held_out(run: Run, sample: int, seed: int = 0) -> tuple[list[dict], list[Held]]:
    """The topics (label, summary) and up to `sample` documents none of their label prompts
    showed, as evenly spread over the topics as their sizes allow."""
    from labeler.views import run_view

    if sample < 1:
        raise LabelerError(f"--sample takes a number of documents (1 or more), not {sample}")
    topics = [t for t in run_view.topics(run) if not t.get("is_outlier")]
    if len(topics) < 2:
        raise LabelerError(
            "reconstruction needs at least two topics: with one, every document fits it"
        )
    docs = run.documents()
    shown: set[str] = set()
    for row in run.db.current_labels().values():
        with contextlib.suppress(TypeError, ValueError):
            for message in json.loads(row.get("request") or "[]"):
                shown.add(message.get("content", ""))
    prompts = "\n".join(shown)
    rng = random.Random(seed)
    per_topic = max(1, sample // len(topics))
    held: list[Held] = []
    for t in topics:
        members = docs[(docs["topic"] == t["topic"]) & ~docs["representative"].astype(bool)]
        rows = list(zip(members["doc_id"].tolist(), members["text"].astype(str).tolist()))
        rng.shuffle(rows)
        picked = []
        for doc_id, text in rows:
            # A label prompt quotes a document's start, cut to 16 tokens or more: that much of
            # it is in a prompt if the document was shown.
            start = data_line(text, 16).rstrip("…")
            if start and start not in prompts:
                picked.append(Held(int(t["topic"]), doc_id, text))
            if len(picked) == per_topic:
                break
        held += picked
    rng.shuffle(held)
    return topics, held[:sample]


def _numbered(topics: list[dict], seed: int) -> tuple[list[dict], dict[str, int]]:
    order = list(topics)
    random.Random(seed + 1).shuffle(order)
    listed = [
        {"number": i + 1, "label": data_line(t["label"], 24),
         "summary": data_line(t["summary"], SUMMARY_TOKENS) if t.get("summary") else ""}
        for i, t in enumerate(order)
    ]  # fmt: skip
    return listed, {str(i + 1): int(t["topic"]) for i, t in enumerate(order)}


def shortlists(
    topics: list[dict], held: list[Held], candidates: int, embed
) -> tuple[list[list[dict]] | None, list[int] | None]:
    """Each document's candidate topics (the `candidates` nearest by label and summary), and
    the nearest one's id; (None, None) when every topic is listed (`candidates` 0, or as many
    as there are topics, or no embedding model)."""
    if candidates <= 0 or candidates >= len(topics):
        return None, None
    import numpy as np

    names = [f"{t['label']}: {t.get('summary') or ''}".strip(": ") for t in topics]
    vectors = embed(names) if embed is not None else None
    docs = embed([h.text for h in held]) if vectors is not None else None
    if vectors is None or docs is None:
        log.warning("reconstruction lists every topic: the run's embedding model is unavailable")
        return None, None
    unit = lambda m: m / np.maximum(np.linalg.norm(m, axis=1, keepdims=True), 1e-12)  # noqa: E731
    similarity = unit(np.asarray(docs, dtype=np.float32)) @ unit(np.asarray(vectors)).T
    nearest = np.argsort(-similarity, axis=1, kind="stable")[:, :candidates]
    lists = [[topics[j] for j in row] for row in nearest]
    return lists, [int(topics[row[0]]["topic"]) for row in nearest]


def _schema(numbers: list[str]) -> dict:
    return {
        "type": "object",
        "properties": {"topic": {"type": "string", "enum": [*numbers, NONE]}},
        "required": ["topic"],
    }


def parse_choice(reply: str, numbers: set[str]) -> str | None:
    """The topic number (or "none") a reply chose; None when it chose nothing readable."""
    text = reply.strip()
    with contextlib.suppress(ValueError, AttributeError, TypeError):
        value = str(json.loads(text).get("topic", "")).strip().lower()
        if value in numbers or value == NONE:
            return value
    found = re.search(r'"topic"\s*:\s*"?\s*([0-9]+|none)', text, flags=re.IGNORECASE)
    if found and (found.group(1).lower() in numbers or found.group(1).lower() == NONE):
        return found.group(1).lower()
    return None


def reconstruct(
    run: Run,
    settings: LLMSettings,
    sample: int = DEFAULT_SAMPLE,
    seed: int = 0,
    dry_run: bool = False,
    chat: ChatModel | None = None,
    cache_dir: Path | None = None,
    candidates: int = DEFAULT_CANDIDATES,
    embed=None,
) -> dict:
    """The reconstruction figures (keys `reconstruct_*`), or with `dry_run` what asking would
    cost (calls, cached answers, tokens) without asking. `embed` embeds the shortlists' texts
    (default: the run's own model, `label_embedder`)."""
    prompt = load_prompt(PROMPT)
    settings = dataclasses.replace(settings, max_tokens=MAX_TOKENS, temperature=0.0).check()
    topics, held = held_out(run, sample, seed)
    if not held:
        raise LabelerError("no held-out documents: every document was shown to the labels")
    if candidates < 0:
        raise LabelerError(f"--candidates takes 0 (every topic) or more, not {candidates}")
    if embed is None and 0 < candidates < len(topics):
        from labeler.labels.distinct import label_embedder

        embed = label_embedder(run, cache_dir)
    lists, nearest = shortlists(topics, held, candidates, embed)
    numbered = [
        _numbered(lists[i], seed + i) if lists else _numbered(topics, seed)
        for i in range(len(held))
    ]
    doc_tokens = prompt.doc_tokens

    def messages(i: int) -> list[dict]:
        listed = numbered[i][0]
        document = data_line(held[i].text, doc_tokens)
        return prompt.render(fence=FENCE, topics=listed, document=document)

    def schema(i: int) -> dict:
        return _schema(list(numbered[i][1]))

    stats = LabelStats(topics=len(held))
    if dry_run:
        identity = chat.identity if chat is not None else identity_without_starting(settings)
        lists_tokens = 0
        for i in range(len(held)):
            m = messages(i)
            if run.db.cached_answer(cache_key(identity, m, schema(i), settings)) is not None:
                stats.cache_hits += 1
                continue
            stats.calls += 1
            system = estimate_tokens(m[0]["content"])
            stats.prompt_tokens += estimate_tokens(m[-1]["content"]) + system
            lists_tokens += system
            stats.completion_tokens += MAX_TOKENS
        return {
            "reconstruct_dry_run": True,
            "reconstruct_documents": len(held),
            "reconstruct_topics": len(topics),
            "calls": stats.calls,
            "cache_hits": stats.cache_hits,
            "prompt_tokens": stats.prompt_tokens,
            "topic_list_tokens": lists_tokens,
            "candidates": len(lists[0]) if lists else len(topics),
            "completion_tokens": stats.completion_tokens,
        }

    started = time.perf_counter()
    choices: dict[int, str | None] = {}
    with contextlib.ExitStack() as stack:
        if chat is None:
            chat = stack.enter_context(open_chat_model(settings, cache_dir))
        asker = Asker(run.db, chat, settings, stats)

        def one(i: int) -> tuple[int, str | None]:
            try:
                return i, parse_choice(asker.ask(messages(i), schema(i)), set(numbered[i][1]))
            except LLMError as exc:
                if asker.unreachable:
                    raise
                log.warning("reconstruction: document %s: %s", held[i].doc_id, exc)
                return i, None

        from tqdm.auto import tqdm

        bar = tqdm(
            total=len(held), desc="reconstructing", unit="doc",
            disable=not log.isEnabledFor(logging.INFO), leave=False,
        )  # fmt: skip
        pool = ThreadPoolExecutor(max_workers=settings.workers)
        try:
            for future in as_completed([pool.submit(one, i) for i in range(len(held))]):
                i, choice = future.result()
                choices[i] = choice
                bar.update(1)
        except BaseException:
            pool.shutdown(wait=True, cancel_futures=True)  # the answers so far are cached
            raise
        finally:
            bar.close()
        pool.shutdown(wait=True)
        identity = chat.identity
    chosen = [
        choices[i] if choices[i] in (None, NONE) else numbered[i][1][choices[i]]
        for i in range(len(held))
    ]
    figures = score(topics, held, chosen)
    n = len(held)
    if figures["reconstruct_none_share"] >= NONE_WARNING:
        log.warning(
            "reconstruction: the model answered \"none\" for %d of %d documents, so the accuracy "
            "says more about the model than about the labels; a larger model (the packaged "
            "default, or --llm-model with an endpoint) sorts documents it is shown",
            round(figures["reconstruct_none_share"] * n), n,
        )  # fmt: skip
    figures.update(
        {
            "reconstruct_candidates": len(lists[0]) if lists else len(topics),
            "reconstruct_shortlist_recall": (
                sum(h.topic in {int(t["topic"]) for t in lists[i]} for i, h in enumerate(held)) / n
                if lists
                else 1.0
            ),
            "reconstruct_embedding_accuracy": (
                sum(h.topic == nearest[i] for i, h in enumerate(held)) / n if nearest else None
            ),
            "reconstruct_model": identity,
            "reconstruct_prompt_hash": prompt.text_hash,
            "reconstruct_sample": sample,
            "reconstruct_seconds": round(time.perf_counter() - started, 1),
            "reconstruct_calls": stats.calls,
            "reconstruct_cache_hits": stats.cache_hits,
            "reconstruct_prompt_tokens": stats.prompt_tokens,
        }
    )
    return figures


def score(topics: list[dict], held: list[Held], choices: list) -> dict:
    """Accuracy overall and per topic, the "none" and unreadable shares, and the pairs of
    topics most often confused (either way round). `choices`: per document the topic id chosen,
    "none", or None (nothing readable)."""
    labels = {int(t["topic"]): t["label"] for t in topics}
    per: dict[int, list[int]] = {t: [0, 0] for t in labels}  # [correct, asked]
    pairs: Counter = Counter()
    nones = unread = correct = 0
    for doc, choice in zip(held, choices):
        per[doc.topic][1] += 1
        if choice is None:
            unread += 1
            continue
        if choice == NONE:
            nones += 1
            continue
        chosen = int(choice)
        if chosen == doc.topic:
            correct += 1
            per[doc.topic][0] += 1
        else:
            pairs[tuple(sorted((doc.topic, chosen)))] += 1
    n = len(held)
    return {
        "reconstruct_accuracy": correct / n if n else None,
        "reconstruct_none_share": nones / n if n else None,
        "reconstruct_unreadable_share": unread / n if n else None,
        "reconstruct_documents": n,
        "reconstruct_topics": len(labels),
        "reconstruct_per_topic": {
            str(t): {
                "label": labels[t],
                "documents": asked,
                "correct": ok,
                "accuracy": ok / asked if asked else None,
            }
            for t, (ok, asked) in sorted(per.items())
        },  # fmt: skip
        "reconstruct_confused": [
            {"topics": [a, b], "labels": [labels[a], labels[b]], "documents": count}
            for (a, b), count in pairs.most_common(CONFUSED_PAIRS)
        ],
    }
