"""Names for the topic tree's nodes above the topics, bottom-up (as Toponymy names its layers).

A parent's prompt (`prompts/name_parent.jinja`) carries its children's current labels, summaries
and keywords, its own keywords (c-TF-IDF over the layer, the embedding stages) and a few of its
representative documents, so layer N is named after layer N-1 has its names. Within a layer the
names are made distinct the way topic labels are (`distinct.distinguish`: re-prompted together,
then a distinguishing keyword). A node with one child is the same documents as its child: it takes
the child's name, with no call.

Answers go through the same `Asker` as topic labels (cached in run.sqlite by content, repaired,
retried), and each node's name is a version in `node_labels` under the node's key, so a rebuilt
tree finds the names of unchanged nodes again and a rerun with the same inputs calls nothing. A
name a reviewer accepted or edited is kept unless forced.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from labeler.corpus.languages import language_name
from labeler.errors import LabelerError
from labeler.labels import exemplars as cover
from labeler.labels.distinct import distinguish, label_embedder
from labeler.labels.injection import injection_check
from labeler.labels.narrow import too_narrow
from labeler.labels.progress import Progress
from labeler.llm.answers import AnswerError, label_schema, parse_label
from labeler.llm.asker import Asker, LabelStats, Outcome
from labeler.llm.client import ChatModel, LLMError, Unreachable
from labeler.llm.prompts import Prompt, fit_messages, load_prompt
from labeler.llm.settings import LLMSettings, open_chat_model
from labeler.run.folder import Run

log = logging.getLogger("labeler")

PROMPT = "name_parent"
CHILDREN = 12  # the largest children shown in a parent's prompt (the rest are counted)
REVIEWED = {"review"}  # a node name from a person stays unless forced
CHILD_SAMPLE = 40  # documents per child the coverage check compares a parent's name with


@dataclass
class NodeInput:
    """What naming one node needs; the attribute names are those `distinguish` reads."""

    id: int
    key: str
    layer: int
    size: int
    keywords: list[str]
    words: list[str]
    documents: list[str]
    children: list[dict]
    current_label: str
    keyword_label: str
    current_source: str = "keywords"
    flags: list[str] = field(default_factory=list)
    child_topics: list[list[int]] = field(default_factory=list)  # each shown child's leaf topics


def _words(node: dict, key: str) -> list[str]:
    return [w for w, _ in node.get(key, [])]


def node_inputs(tree: dict, layer: int) -> list[NodeInput]:
    nodes = tree.get("nodes", [])
    by_id = {n["id"]: n for n in nodes}
    inputs = []
    for n in nodes:
        if n["layer"] != layer:
            continue
        kids = [by_id[c] for c in n["children"] if c in by_id]
        children = [
            {
                "id": k["id"],
                "label": k["label"],
                "summary": k.get("summary"),
                "keywords": _words(k, "keywords")[:6],
                "size": k["size"],
                "share": k["size"] / max(n["size"], 1),
            }
            for k in kids[:CHILDREN]
        ]
        ctfidf = _words(n, "keywords")
        words = list(dict.fromkeys([*ctfidf, *_words(n, "keywords_keybert"),
                                    *_words(n, "keywords_mmr")]))  # fmt: skip
        inputs.append(
            NodeInput(
                id=int(n["id"]),
                key=n["key"],
                layer=layer,
                size=int(n["size"]),
                keywords=ctfidf,
                words=words,
                documents=list(n.get("representative_docs", [])),
                children=children,
                current_label=n["label"],
                keyword_label=n.get("keyword_label", n["label"]),
                current_source=n.get("label_source", "keywords"),
                child_topics=[list(k.get("topics", [k["id"]])) for k in kids[:CHILDREN]],
            )  # fmt: skip
        )
    return inputs


def parent_messages(prompt: Prompt, node: NodeInput, settings: LLMSettings, prefill: bool):
    """The prompt for one node: build(doc_tokens, budget) → messages, for `Asker.answer`."""
    context = {
        "node": {"id": node.id, "layer": node.layer, "size": node.size, "words": node.words},
        "children": node.children,
        "corpus_description": settings.corpus_description,
        "label_language": language_name(settings.label_language)
        if settings.label_language
        else None,
    }
    docs = node.documents[: prompt.max_docs]
    return lambda doc_tokens, budget: fit_messages(
        prompt, docs, budget, prefill=prefill,
        doc_tokens=prompt.doc_cut(len(docs), doc_tokens), **context,
    )  # fmt: skip


class ChildDocuments:
    """A seeded sample of each child's document vectors, read once per naming pass, for checking
    that a parent's name covers all of its children and not just one."""

    def __init__(self, run: Run):
        self.topics = run.documents(columns=["topic"])["topic"].to_numpy()
        self.embeddings = run.embeddings()
        self._drawn: dict[int, tuple[np.ndarray, list[np.ndarray]]] = {}

    def samples(self, node: NodeInput) -> tuple[np.ndarray, list[np.ndarray]]:
        """Drawn once per node: a re-asked name is checked against the same documents."""
        if node.id not in self._drawn:
            self._drawn[node.id] = self._draw(node)
        return self._drawn[node.id]

    def _draw(self, node: NodeInput) -> tuple[np.ndarray, list[np.ndarray]]:
        rng = np.random.default_rng(node.id)
        rows, samples, start = [], [], 0
        for leaves in node.child_topics:
            members = np.flatnonzero(np.isin(self.topics, leaves))
            if len(members) > CHILD_SAMPLE:
                members = np.sort(rng.choice(members, CHILD_SAMPLE, replace=False))
            rows.append(members)
            samples.append(np.arange(start, start + len(members)))
            start += len(members)
        picked = np.concatenate(rows) if rows else np.zeros(0, dtype=np.int64)
        return np.asarray(self.embeddings[picked], dtype=np.float32), samples


def check_children(answer: dict, node: NodeInput, documents: ChildDocuments | None, embed) -> None:
    """A name that fits one child's documents far better than another child's is asked about
    again, with the children it misses named (as `labeling.check_coverage` does for a topic's
    sub-groups); the fallback is the same name, flagged `narrow`."""
    if documents is None or embed is None or len(node.child_topics) < 2:
        return
    vector = embed([answer["label"]])
    vectors, samples = documents.samples(node)
    if vector is None or not len(vectors) or vector.shape[1] != vectors.shape[1]:
        return
    shares = [c["share"] for c in node.children]
    # every child of real weight counts: a parent of eight equal children has 12% each
    least = min(cover.MIN_GROUP_SHARE, 0.5 / len(shares))
    best, missed = cover.uncovered(vector[0], vectors, samples, shares, min_share=least)
    if not missed:
        return

    def child(i: int) -> str:
        return f"{node.children[i]['label']!r} ({shares[i]:.0%})"

    others = ", ".join(f"the topic {child(i)}" for i in missed)
    raise too_narrow(answer, "name", f"the topic {child(best)}", "group", others, "children")


def tree_layers(tree: dict) -> list[int]:
    return sorted({int(n["layer"]) for n in tree.get("nodes", []) if n["layer"] > 0})


def planned_nodes(tree: dict, layers: list[int] | None = None, unnamed_only: bool = False) -> int:
    """How many nodes `name_tree` goes through (each advances the progress bar once)."""
    wanted = [n for n in (tree_layers(tree) if layers is None else layers)]
    return sum(
        1
        for n in tree.get("nodes", [])
        if n["layer"] in wanted and not (unnamed_only and n.get("label_source", "keywords")
                                         != "keywords")
    )  # fmt: skip


def name_tree(
    run: Run,
    settings: LLMSettings,
    *,
    layers: list[int] | None = None,
    force: bool = False,
    unnamed_only: bool = False,
    chat: ChatModel | None = None,
    cache_dir: Path | None = None,
    progress: Progress | None = None,
) -> LabelStats:
    """Name the tree's layers above the topics (all, or `layers`), bottom-up; returns the cost.
    `unnamed_only`: only the nodes that have no name but their keywords (after a change to the
    topics, the parents whose children changed; the others kept their names and reviews).

    `stats.topics` counts the nodes named. Each layer ends with `run.refresh()`; the reports are
    the caller's to render. `progress`: the label step's bar, advanced once a node (else one of
    its own)."""
    tree = run.tree()
    available = tree_layers(tree)
    wanted = available if layers is None else sorted(set(layers))
    missing = [n for n in wanted if n not in available]
    if missing:
        have = ", ".join(map(str, available)) or "none"
        raise LabelerError(
            f"the topic tree of {run.path.name} has no layer {missing[0]} "
            f"(layers above the topics: {have}; layer 0 is the topics themselves)"
        )
    stats = LabelStats()
    if not wanted:
        return stats
    prompt = load_prompt(PROMPT)
    repair = load_prompt("repair")
    supports = getattr(chat, "supports_prefill", False) if chat is not None else settings.is_local
    prefill = prompt.has_prefill and supports
    started = time.perf_counter()
    with contextlib.ExitStack() as stack:
        if progress is None:
            total = planned_nodes(tree, wanted, unnamed_only)
            progress = stack.enter_context(
                Progress(0, desc="naming the tree", unit="node", nodes=total)
            )
        if chat is None:
            chat = stack.enter_context(open_chat_model(settings, cache_dir))
        asker = Asker(run.db, chat, settings, stats)
        embed = label_embedder(run, cache_dir)
        documents = ChildDocuments(run)
        for layer in wanted:
            inputs = node_inputs(run.hierarchy() or tree, layer)
            if unnamed_only:
                inputs = [n for n in inputs if n.current_source == "keywords"]
            outcomes = name_layer(
                asker, inputs, prompt, repair, settings, prefill, force, stats, progress,
                check=lambda answer, node: check_children(answer, node, documents, embed),
            )  # fmt: skip
            if any(o.source == "llm" for o in outcomes):
                distinguish(
                    asker, outcomes, {n.id: n for n in inputs}, repair, stats, embed,
                    language=settings.label_language,
                )  # fmt: skip
            for o in outcomes:
                stats.count_reasks(o.reasks)
            stats.new_versions += save_names(run, inputs, outcomes, prompt, chat, settings)
            stats.topics += len(outcomes)
            run.refresh()  # the next layer's prompts read these names
    stats.seconds = time.perf_counter() - started
    return stats


def name_layer(
    asker, inputs, prompt, repair, settings, prefill, force, stats, progress: Progress, check=None
) -> list[Outcome]:
    """One outcome per node of the layer, in node order; `settings.workers` nodes in flight, as
    topics are (a layer's names depend only on the layer below). `check(answer, node)` may raise
    AnswerError to ask again (`check_children`)."""
    outcomes: dict[int, Outcome] = {}
    asked = []
    for node in inputs:
        if node.current_source in REVIEWED and not force:
            stats.skipped_reviewed += 1
            progress.update_node(1)
        elif len(node.children) == 1:  # the same documents as its child: the same name
            child = node.children[0]
            outcomes[node.id] = Outcome(
                node.id, child["label"], child["summary"], "child", ["one-child"]
            )
            progress.update_node(1)
        else:
            asked.append(node)

    def one(node: NodeInput) -> Outcome:
        def parse(reply: str) -> dict:
            answer = parse_label(reply, prompt.fields)
            injection_check(answer["label"], node.documents, node.words)
            if check is not None:
                check(answer, node)
            return answer

        reasks: list[dict] = []
        try:
            value, messages, reply = asker.answer(
                parent_messages(prompt, node, settings, prefill), parse, repair,
                prompt.fields, label_schema(prompt.fields), doc_tokens=prompt.doc_tokens,
                reasks=reasks,
            )  # fmt: skip
            return Outcome(
                node.id, value["label"], value.get("summary"), "llm",
                list(value.get("flags", [])), messages, reply, reasks,
            )  # fmt: skip
        except (LLMError, AnswerError) as exc:
            flag = "llm-unreachable" if isinstance(exc, Unreachable) else "fallback"
            log.warning("tree node %d: %s; keeping its keyword label", node.id, exc)
            with stats.lock:
                stats.fallbacks += 1
            return Outcome(node.id, node.keyword_label, None, "keywords", [flag], reasks=reasks)

    if asked:
        pool = ThreadPoolExecutor(max_workers=settings.workers)
        try:
            futures = [pool.submit(one, n) for n in asked]
            for future in as_completed(futures):
                outcome = future.result()
                outcomes[outcome.topic] = outcome
                progress.update_node(1)
        except BaseException:
            pool.shutdown(wait=True, cancel_futures=True)  # answers so far are cached
            raise
        pool.shutdown(wait=True)
    return [outcomes[n.id] for n in inputs if n.id in outcomes]


def save_names(run: Run, inputs, outcomes, prompt, chat, settings) -> int:
    """A new version per node whose name, summary, prompt or model changed."""
    current = run.db.current_node_labels()
    by_id = {n.id: n for n in inputs}
    added = 0
    with run.db.transaction() as tx:
        for o in outcomes:
            node = by_id[o.topic]
            before = current.get(node.key, {})
            if o.source == "keywords" and before.get("source") in ("llm", "review"):
                continue
            if o.same_as(before, prompt, chat.identity):
                continue
            flags = sorted(set(o.flags))
            tx.add_node_label_version(
                node.key, node.layer, o.label, summary=o.summary, source=o.source,
                prompt_name=prompt.name, prompt_hash=prompt.text_hash, model=chat.identity,
                params=o.params(settings), flags=flags,
                request=json.dumps(o.request) if o.request else None, raw_answer=o.raw,
            )  # fmt: skip
            added += 1
    return added
