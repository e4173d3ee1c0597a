"""Topic surgery on a saved run: merge, split, reduce, reassign outliers, delete; and undo.

Users reshape topics after seeing them, and a change must not cost a refit or a relabel of every
topic. So each change is planned as a new topic per document (`plan_*`, which write nothing), then
applied by `apply`: only the topics whose documents changed are described again (the fit's own
`describe_topics(only=...)`) and labelled again (`label_topics` on those topics only: a reduce from
80 to 20 topics asks the LLM about the ~20 merged ones, never the 60 that stayed). Topics whose
documents did not change keep their records and labels, reviewed or not; a reviewed topic whose
documents changed goes back to "unreviewed" with a note saying why, and the LLM labels it again.

Which documents move is decided by `labeler.reassign` (merge, reduce, outliers), the same rules
`TopicModel.merge_topics`, `reduce_topics` and `reduce_outliers` apply to a model in memory.

Every change is a revision of the run (`revisions` in run.sqlite: what, when, who, the topic and
outlier counts before and after, the LLM calls it made). The files it replaced (documents.parquet,
topics.json, config.json, hierarchy.json when there is one) and every label version and review
status are kept in `revisions/<id>/`, so `undo` puts the previous revision back byte for byte.
The kept files are hard links where the file system allows (every writer replaces files by
renaming, so the old bytes are never overwritten): a revision costs the disk space of the files
it replaced, mostly documents.parquet.

Topic ids stay stable: a merged topic keeps the first (or, in a reduce, the largest) topic's id,
split parts and nothing else get new ids (after the highest id the run ever had), so labels,
reviews and links to a topic follow it.

Nothing here renders the reports: `apply` and `undo_revision` end by refreshing the run's derived
files, and the command or app that called them (`labeler topics`, the review app) renders once.
"""

from __future__ import annotations

import contextlib
import getpass
import logging
import math
import shutil
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from labeler import reassign
from labeler.cluster import default_min_cluster_size, subgroup_partitions, subgroups
from labeler.errors import LabelerError
from labeler.guided import ZERO_SHOT_SOURCE
from labeler.represent import CTFIDF, DESCRIBE_PARAMS, STAGES, describe_topics
from labeler.represent.distribution import approximate_distribution, top_topics
from labeler.run.folder import LABEL_STATE, Run, RunLike, as_run
from labeler.run.layout import read_json, run_lock
from labeler.run.records import MIX_COLUMNS, mix_frame, params_from_config

log = logging.getLogger("labeler")

OUTLIER = reassign.OUTLIER
STRATEGIES = reassign.STRATEGIES
ACTIONS = ("merge", "split", "reduce", "outliers", "delete")

Embed = Callable[[list[str]], "np.ndarray | None"]


@dataclass
class Plan:
    """A change worked out but not applied: the new documents table and topics.json."""

    action: str
    args: dict
    summary: str
    documents: pd.DataFrame
    records: list[dict]
    touched: list[int]  # topics whose documents changed and were described again (-1 too)
    added: list[int]  # new topic ids (split parts)
    removed: list[int]  # topics that no longer exist
    keyword_labels: dict[int, str]  # the new keyword label of each touched topic (not -1)
    sizes: dict  # topics_before, topics_after, outliers_before, outliers_after


@dataclass
class Change:
    """What `apply` did: the revision it recorded and what the LLM was asked."""

    revision: int
    action: str
    summary: str
    touched: list[int]
    added: list[int]
    removed: list[int]
    sizes: dict
    marked: list[int] = field(default_factory=list)  # reviewed topics sent back to review
    relabelled: list[int] = field(default_factory=list)
    llm: object | None = None  # LabelStats of the relabel, None without an LLM
    llm_error: str | None = None  # why the LLM could not label (the keyword labels stand)
    parents: int = 0  # tree parents named again (their children changed)

    @property
    def llm_calls(self) -> int:
        return int(getattr(self.llm, "calls", 0) or 0)


def who_default() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


# ---------------------------------------------------------------------------- describing
def _pairs(words) -> list[list]:
    return [[w, round(float(s), 5)] for w, s in words]


def _plain(value):
    return value.item() if isinstance(value, np.generic) else value


def _counts(topics: np.ndarray) -> tuple[int, int]:
    return len({int(t) for t in np.unique(topics) if t >= 0}), int((topics == OUTLIER).sum())


def replan(
    run: Run,
    documents: pd.DataFrame,
    topics: np.ndarray,
    touched: set[int],
    embed: Embed | None,
    embeddings: np.ndarray | None = None,
) -> tuple[pd.DataFrame, list[dict], dict[int, str]]:
    """The documents table and topics.json after moving documents to `topics`: every topic in
    `touched` described again by the fit's own chain (c-TF-IDF is refitted over all documents,
    its weighting depends on every topic); every other topic's record is kept as it is (its
    documents did not change, and a refit of its keywords would change what a reviewer
    approved). Returns (documents, records, keyword labels of the touched topics)."""
    records = run.topics()
    by_id = {int(r["topic"]): r for r in records}
    docs = documents.copy()
    docs["topic"] = np.asarray(topics, dtype=np.int64)
    topics = docs["topic"].to_numpy()
    present = sorted({int(t) for t in np.unique(topics)}, key=lambda t: (t < 0, t))
    touched = {t for t in touched if t in present}
    embeddings = run.embeddings() if embeddings is None else embeddings
    texts = docs["text"].astype(str).tolist()
    params = params_from_config(run.config())
    wants_vectors = any(s.needs_vectors and any(s.key in r for r in records) for s in STAGES)
    found = describe_topics(
        texts, embeddings, topics, only=touched, embed_words=embed if wants_vectors else None,
        **{k: params[k] for k in DESCRIBE_PARAMS if k in params},
    )  # fmt: skip
    n = len(docs)
    if set(MIX_COLUMNS) <= set(docs.columns):
        # Each document's mix over the new topics, from the refitted c-TF-IDF (whatever the fit
        # took it from: its topics no longer exist as they were).
        ids = [t for t in present if t >= 0]
        distribution, _ = approximate_distribution(found.ctfidf, ids, texts)
        mixed = mix_frame(*top_topics(distribution, ids))
        for column in MIX_COLUMNS:
            docs[column] = mixed[column].to_list()
    if "representative" in docs.columns:
        docs.loc[docs["topic"].isin(touched).to_numpy(), "representative"] = False
    out, labels = [], {}
    for t in present:
        if t not in touched:
            out.append(by_id[t])
            continue
        members = topics == t
        reps = found.representative_docs[t]
        record = dict(by_id.get(t) or {})
        record.update(topic=t, size=int(members.sum()), share=round(int(members.sum()) / n, 5))
        if t not in by_id:  # a new topic: the fields in the fit's order
            record.update(label="", label_source="keywords", summary=None, is_outlier=t < 0)
        for stage in STAGES:
            if stage.name in found.keywords:
                record[stage.key] = _pairs(found.keywords[stage.name][t])
            else:  # no word vectors: dropped rather than left describing other documents
                record.pop(stage.key, None)
        record["representative_docs"] = [texts[i] for i in reps]
        record["representative_doc_ids"] = [_plain(docs["doc_id"].iloc[i]) for i in reps]
        if {"x", "y"} <= set(docs.columns):
            layout = docs.loc[members, ["x", "y"]].to_numpy(dtype=np.float32)
            record["map_position"] = [round(float(v), 4) for v in np.median(layout, axis=0)]
        if t >= 0:
            record["label"] = labels[t] = found.labels[t]
            record["label_source"] = "keywords"
            record["summary"] = None
        if "representative" in docs.columns:
            docs.loc[docs.index[reps], "representative"] = True
        out.append(record)
    return docs, out, labels


def _plan(
    run: Run,
    action: str,
    args: dict,
    summary: str,
    documents: pd.DataFrame,
    before: np.ndarray,
    after: np.ndarray,
    embed: Embed | None,
    embeddings: np.ndarray | None = None,
) -> Plan:
    changed = before != after
    old_ids = {int(t) for t in np.unique(before)}
    new_ids = {int(t) for t in np.unique(after)}
    touched = {int(t) for t in np.unique(after[changed])}
    touched |= {int(t) for t in np.unique(before[changed]) if int(t) in new_ids}
    docs, records, labels = replan(run, documents, after, touched, embed, embeddings)
    (topics_before, outliers_before), (topics_after, outliers_after) = (
        _counts(before), _counts(after)
    )  # fmt: skip
    return Plan(
        action=action, args=args, summary=summary, documents=docs, records=records,
        touched=sorted(t for t in touched if t in new_ids),
        added=sorted(t for t in new_ids - old_ids if t >= 0),
        removed=sorted(t for t in old_ids - new_ids if t >= 0),
        keyword_labels=labels,
        sizes={"topics_before": topics_before, "topics_after": topics_after,
               "outliers_before": outliers_before, "outliers_after": outliers_after},
    )  # fmt: skip


def _topic_ids(run: Run, topics: np.ndarray) -> set[int]:
    return {int(t) for t in np.unique(topics) if t >= 0}


def _check(run: Run, topics: np.ndarray, *ids: int) -> None:
    known = _topic_ids(run, topics)
    for t in ids:
        if int(t) == OUTLIER:
            raise LabelerError("topic -1 holds the outliers: use `outliers` to reassign them")
        if int(t) not in known:
            raise LabelerError(
                f"no topic {t} in {run.path.name} (its topics: {_ranges(sorted(known))})"
            )


def _ranges(ids: list[int]) -> str:
    parts, start = [], None
    for i, t in enumerate(ids):
        if start is None:
            start = t
        if i + 1 == len(ids) or ids[i + 1] != t + 1:
            parts.append(str(start) if start == t else f"{start}-{t}")
            start = None
    return ",".join(parts) or "none"


def _state(run: Run) -> tuple[pd.DataFrame, np.ndarray]:
    run.check("topics")  # every file a change reads or rewrites, before any is read
    docs = run.documents()
    return docs, docs["topic"].to_numpy(dtype=np.int64)


# ---------------------------------------------------------------------------- the changes
def plan_merge(run: Run, topics: Sequence[int], embed: Embed | None = None) -> Plan:
    """Merge every other topic of `topics` into the first one (which keeps its id)."""
    ids = [int(t) for t in topics]
    if len(ids) < 2:
        raise LabelerError("merge needs at least two topics, e.g. `merge 3 7`")
    if len(set(ids)) < len(ids):
        raise LabelerError("a topic cannot be merged with itself")
    docs, before = _state(run)
    _check(run, before, *ids)
    keep, others = ids[0], ids[1:]
    after = reassign.merged(before, [ids])
    summary = f"merged {', '.join(map(str, others))} into {keep}"
    return _plan(run, "merge", {"topics": ids}, summary, docs, before, after, embed)


def next_topic_id(run: Run, topics: np.ndarray) -> int:
    """After the highest topic id the run ever had: a new topic never inherits an old topic's
    label history."""
    history = {int(r["topic"]) for r in run.db.label_history()}
    return max([*history, *(int(t) for t in np.unique(topics)), -1]) + 1


def _split_setup(run: Run, topic: int) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, int, dict]:
    """What a split of `topic` works from: the documents, their topics, the topic's rows, the
    smallest part allowed (the run's minimum topic size or half the topic) and the params."""
    docs, before = _state(run)
    _check(run, before, topic)
    members = np.flatnonzero(before == int(topic))
    params = params_from_config(run.config())
    smallest = params.get("min_cluster_size") or default_min_cluster_size(len(before))
    min_size = max(2, min(int(smallest), len(members) // 2))
    if len(members) < 2 * min_size or len(members) < 4:
        raise LabelerError(f"topic {topic} has {len(members)} documents: too few to split")
    return docs, before, members, min_size, params


def split_partitions(run: Run, topic: int) -> Iterator[tuple[int, int, float | None, np.ndarray]]:
    """Every partition `plan_split` chooses from, one at a time (a preview shows them and lets a
    person choose how many parts): (k, how many k there are, silhouette or None when a part
    would be too small, the part of each of the topic's documents, in document order)."""
    _, _, members, min_size, params = _split_setup(run, topic)
    embeddings = np.asarray(run.embeddings()[members], dtype=np.float32)
    yield from subgroup_partitions(embeddings, min_size, int(params.get("seed") or 42))


def split_members(run: Run, topic: int) -> np.ndarray:
    """The rows of documents.parquet that a split of `topic` divides (the order of a partition)."""
    return _split_setup(run, topic)[2]


def plan_split(
    run: Run,
    topic: int,
    embed: Embed | None = None,
    *,
    parts: np.ndarray | None = None,
    silhouette: float | None = None,
) -> Plan:
    """Split a topic along its sub-groups (`cluster.subgroups`: the best k-means partition,
    k = 2..8, each part at least the run's minimum topic size or half the topic); the largest
    part keeps the id, the others get new ids after the highest one. `parts`: a partition chosen
    from `split_partitions` instead (one part number per document of the topic), with its
    `silhouette`."""
    docs, before, members, min_size, params = _split_setup(run, topic)
    embeddings = run.embeddings()
    if parts is None:
        score, parts = subgroups(
            np.asarray(embeddings[members], dtype=np.float32), min_size,
            int(params.get("seed") or 42),
        )  # fmt: skip
        if score < -0.5 or parts.max() < 1:
            raise LabelerError(
                f"topic {topic} has no two sub-groups of at least {min_size} documents: not split"
            )
    else:
        parts = np.asarray(parts, dtype=np.int64)
        if len(parts) != len(members) or parts.min() < 0 or len(np.unique(parts)) < 2:
            raise LabelerError(
                f"the chosen parts do not match topic {topic}'s {len(members)} documents"
            )
        parts = np.unique(parts, return_inverse=True)[1].astype(np.int64)
        score = float(silhouette) if silhouette is not None else float("nan")
    sizes = np.bincount(parts)
    order = np.argsort(-sizes, kind="stable")
    after = before.copy()
    new_id = next_topic_id(run, before)
    new_ids = []
    for part in order[1:]:
        after[members[parts == part]] = new_id
        new_ids.append(new_id)
        new_id += 1
    scored = math.isfinite(score)
    summary = f"split {topic} into {len(order)} parts ({topic}, {', '.join(map(str, new_ids))}" + (
        f"; silhouette {score:.2f})" if scored else ")"
    )
    args = {"topic": int(topic), "parts": len(order),
            "silhouette": round(float(score), 4) if scored else None}  # fmt: skip
    return _plan(run, "split", args, summary, docs, before, after, embed, embeddings)


def plan_reduce(run: Run, to: int, embed: Embed | None = None) -> Plan:
    """Merge the most similar topics (average linkage on the cosine between topic centroids,
    `reassign.reduced`) until `to` remain. Each group keeps its largest topic's id; topics
    left alone keep everything."""
    docs, before = _state(run)
    known = sorted(_topic_ids(run, before))
    if isinstance(to, bool) or not isinstance(to, (int, np.integer)) or to < 1:
        raise LabelerError(f"--to takes a number of topics of at least 1, not {to!r}")
    if to >= len(known):
        raise LabelerError(
            f"--to {to}: {run.path.name} has {len(known)} topics; reduce merges down to fewer"
        )
    embeddings = run.embeddings()
    after = reassign.reduced(np.asarray(embeddings), before, int(to))
    merged = len(known) - len(_topic_ids(run, after))
    summary = f"reduced {len(known)} topics to {to} ({merged} merged into others)"
    args = {"to": int(to)}
    return _plan(run, "reduce", args, summary, docs, before, after, embed, embeddings)


def plan_delete(run: Run, topic: int, embed: Embed | None = None) -> Plan:
    """A topic's documents become outliers (-1)."""
    docs, before = _state(run)
    _check(run, before, topic)
    after = before.copy()
    after[before == int(topic)] = OUTLIER
    if "probability" in docs.columns:  # outliers have no membership strength
        docs = docs.copy()
        docs.loc[before == int(topic), "probability"] = 0.0
    summary = f"deleted {topic} ({int((before == int(topic)).sum())} documents became outliers)"
    return _plan(run, "delete", {"topic": int(topic)}, summary, docs, before, after, embed)


def plan_outliers(
    run: Run,
    strategy: str = "embeddings",
    max_share: float | None = None,
    embed: Embed | None = None,
) -> Plan:
    """Reassign outliers to their nearest topic, most confident first, until at most
    `max_share` of all documents are outliers (None: all of them).

    strategies: `embeddings` (cosine to each topic's centroid), `c-tf-idf` (cosine between the
    document's words and each topic's c-TF-IDF; documents with no known word go by embeddings,
    after all others), `probabilities` (HDBSCAN soft membership, which needs a run that kept it).
    """
    if strategy not in STRATEGIES:
        raise LabelerError(f"--strategy {strategy!r}: choose one of {', '.join(STRATEGIES)}")
    if max_share is not None and not (0.0 <= float(max_share) < 1.0):
        raise LabelerError(f"--max-share takes a share from 0 to below 1, not {max_share}")
    docs, before = _state(run)
    if strategy == "probabilities":
        raise LabelerError(
            f"{run.path.name} has no HDBSCAN soft-membership probabilities (a run keeps only "
            "each document's strength in its own topic): use --strategy embeddings or c-tf-idf"
        )
    rows = np.flatnonzero(before == OUTLIER)
    n = len(before)
    ids = sorted(_topic_ids(run, before))
    if len(rows) == 0:
        raise LabelerError(f"{run.path.name} has no outliers to reassign")
    if not ids:
        raise LabelerError(f"{run.path.name} has no topics to reassign outliers to")
    allowed = 0 if max_share is None else math.floor(float(max_share) * n + 1e-9)
    wanted = len(rows) - allowed
    if wanted <= 0:
        raise LabelerError(
            f"the outlier share is already {len(rows) / n:.1%} ({len(rows)} of {n} documents), "
            f"at most --max-share {max_share}: nothing to reassign"
        )
    embeddings = run.embeddings()
    ctfidf = None
    if strategy == "c-tf-idf":
        params = params_from_config(run.config())
        ctfidf = CTFIDF(
            params["ngram_range"], params.get("min_df"), params.get("stop_words"),
            language=params.get("language", "english"),
        )  # fmt: skip
    matches = reassign.outlier_matches(
        before, strategy, embeddings=embeddings, texts=docs["text"].astype(str).tolist(),
        ctfidf=ctfidf,
    )  # fmt: skip
    after = reassign.outliers_reassigned(before, matches, limit=wanted)
    moved = int((after != before).sum())
    left = len(rows) - moved
    summary = (
        f"reassigned {moved} of {len(rows)} outliers by {strategy} "
        f"({len(rows) / n:.1%} → {left / n:.1%} of documents)"
    )
    args = {"strategy": strategy, "max_share": max_share, "reassigned": moved}
    return _plan(run, "outliers", args, summary, docs, before, after, embed, embeddings)


# ---------------------------------------------------------------------------- applying
def apply(
    run: Run,
    plan: Plan,
    *,
    settings=None,
    chat=None,
    who: str | None = None,
    cache_dir: Path | None = None,
    reviews: Callable[[object, int, list[int]], None] | None = None,
) -> Change:
    """Record `plan` as a revision and write it: files and database rows together, then the LLM
    labels of the touched topics (`settings` None: keyword labels) and the derived files (the
    reports are the caller's).

    `reviews(tx, revision, marked)` writes the review log's rows for the change instead of the
    default ones (the review app records its merge and split decisions); it must send `marked`
    (reviewed topics whose documents changed) back to "unreviewed"."""
    run.check("topics")  # nothing is written into a run with a damaged file
    db = run.db
    statuses = db.status_names()
    current = db.current_labels()
    who = who or who_default()
    # Topics that leave topics.json (merged away, split off, or -1 once no outlier is left) stop
    # having a current label; -1 coming back (a delete) finds its last label again.
    present = {int(r["topic"]) for r in plan.records}
    left = sorted(t for t in current if t not in present)
    outliers_back = OUTLIER in present and OUTLIER not in current
    changed = [t for t in plan.touched if t >= 0 and t not in plan.added]
    marked = [t for t in changed if statuses.get(t, "unreviewed") != "unreviewed"]
    # A zero-shot topic is named by the user: a change to its documents keeps the name (the
    # LLM never relabels it without --force) and flags it for a look, as a reviewed label is.
    named = {
        t: current[t]["label"]
        for t in plan.keyword_labels
        if (current.get(t) or {}).get("source") == ZERO_SHOT_SOURCE
    }
    made: dict[str, int] = {}

    def record(tx) -> None:
        revision = tx.add_revision(
            plan.action, plan.args, plan.summary, who, plan.sizes, plan.touched
        )
        made["revision"] = revision
        run.keep_files(revision, tx)  # before any label changes: undo puts these back
        for t in sorted({*plan.removed, *left}):
            tx.drop_topic(t)
        if outliers_back:
            versions = tx.label_history(OUTLIER)
            if versions:
                tx.set_current_version(OUTLIER, versions[-1]["version"])
        for t in sorted(plan.keyword_labels):
            tx.add_label_version(
                t, plan.keyword_labels[t], summary=None, source="keywords", flags=[plan.action]
            )
            if t in named:
                tx.add_label_version(
                    t, named[t], summary=None, source=ZERO_SHOT_SOURCE,
                    flags=[plan.action, "documents-changed"],
                )  # fmt: skip
        if reviews is not None:
            reviews(tx, revision, marked)
            return
        for t in marked:
            before = current.get(t) or {}
            tx.record_review(
                t, "revision", before, {"label": plan.keyword_labels.get(t), "summary": None},
                f"documents changed by revision {revision} ({plan.summary}); was "
                f"{statuses[t]} as {before.get('label')!r}: look again",
                who, "unreviewed",
            )  # fmt: skip
        for t in plan.removed:
            gone = current.get(t) or {}
            tx.record_review(
                t, "revision", gone, None, f"removed by revision {revision} ({plan.summary})", who
            )

    # replace_topics also rebuilds the topic tree (hierarchy.json), keeping the old groups where
    # the topics did not change: those parents keep their names and reviews, with or without an
    # LLM; with one, the parents whose children changed are named again below.
    named_tree = tree_named(run)
    run.replace_topics(plan.documents, plan.records, change=record)
    revision = made["revision"]
    change = Change(
        revision, plan.action, plan.summary, plan.touched, plan.added, plan.removed, plan.sizes,
        marked=marked,
    )  # fmt: skip
    relabel = sorted(t for t in plan.touched if t >= 0)
    made_labels = (
        settings is not None
        and relabel
        and label_revision(run, revision, relabel, change, settings, chat, cache_dir, named_tree)
    )
    if made_labels:
        change.relabelled = relabel
    run.refresh()
    return change


def label_revision(
    run: Run, revision: int, topics: list[int], result, settings, chat, cache_dir, named_tree: bool
) -> bool:
    """The LLM labels of a revision's touched `topics`, then (where the tree had names) its
    changed parents' names; the outcome goes into `result` (`llm`, `llm_error`, `parents`). A
    failure leaves the revision standing with keyword labels. Surgery and `labeler update`
    share it. Returns whether the labels were made."""
    from labeler.labels.labeling import label_topics

    try:
        result.llm = label_topics(run, settings, topics=topics, chat=chat, cache_dir=cache_dir)
    except LabelerError as exc:  # the change stands, with keyword labels
        result.llm_error = str(exc)
        log.warning("revision %d keeps keyword labels: %s", revision, exc)
        return False
    run.db.set_revision_calls(revision, result.llm.calls)
    if named_tree:
        result.parents = name_changed_parents(run, settings, chat, cache_dir)
    return True


def tree_named(run: Run) -> bool:
    """Whether the tree's parents have names beyond their keywords (a tree never named stays
    so: a change to the topics does not start naming it)."""
    tree = run.hierarchy() or {}
    return any(
        n["layer"] > 0 and n.get("label_source", "keywords") not in ("keywords", "child")
        for n in tree.get("nodes", [])
    )


def name_changed_parents(run: Run, settings, chat, cache_dir) -> int:
    """Name the tree's parents whose children changed (the rest kept their names through the
    rebuild): never left as keyword ids where an LLM is configured. Returns how many."""
    from labeler.labels.naming import name_tree

    try:
        stats = name_tree(run, settings, unnamed_only=True, chat=chat, cache_dir=cache_dir)
    except LabelerError as exc:
        log.warning("the tree's changed parents keep keyword names: %s", exc)
        return 0
    return stats.topics


def history(run: RunLike) -> list[dict]:
    """Every revision of the run, oldest first; undone ones carry `undone_at`."""
    return as_run(run).db.revisions()


def current_revision(revisions: list[dict]) -> int:
    """The revision the run is at: the last one not undone (0: the fit)."""
    live = [r["id"] for r in revisions if not r.get("undone_at")]
    return live[-1] if live else 0


def undo_revision(run: Run, who: str | None = None) -> dict:
    """Take back the last revision that is not undone: its kept files put back byte for byte,
    label versions and review statuses as they were; the revision stays in the history, marked
    undone, and its kept files are removed. Returns the revision's row (the reports are the
    caller's to render)."""
    run.check("topics")  # undo rewrites the same files a change does
    live = [r for r in run.db.revisions() if not r.get("undone_at")]
    if not live:
        raise LabelerError(
            f"nothing to undo: {run.path.name} is at revision 0 (the fit, before any topic change)"
        )
    last = live[-1]
    files = run.kept_files(last["id"])
    state = read_json(run.revision_dir(last["id"]) / LABEL_STATE)
    who = who or who_default()

    def change(tx) -> None:
        tx.restore_label_state(state)
        tx.mark_undone(last["id"], who)

    run.restore_files(files, change)
    shutil.rmtree(run.revision_dir(last["id"]), ignore_errors=True)
    return last


# ---------------------------------------------------------------------------- the API
# A `Run` (or a run folder's path) in, the change made under the run's lock (`lock=False`: the
# caller holds it). Like `apply`, they leave the reports as they were: `labeler topics` renders
# them after the change, and `labeler report RUN` renders them for a Python caller.
@contextlib.contextmanager
def _open(run: RunLike, lock: bool) -> Iterator[Run]:
    path = run.path if isinstance(run, Run) else Path(run)
    with run_lock(path) if lock else contextlib.nullcontext():
        yield as_run(run)


def _embedder(run: Run, embed: Embed | None) -> Embed | None:
    if embed is not None:
        return embed
    from labeler.labels.distinct import label_embedder

    return label_embedder(run)


def _change(target, planner, *args, settings, chat, who, cache_dir, embed, lock) -> Change:
    with _open(target, lock) as run:
        plan = planner(run, *args, embed=_embedder(run, embed))
        return apply(run, plan, settings=settings, chat=chat, who=who, cache_dir=cache_dir)


def merge(run: RunLike, topics: Sequence[int], *, settings=None, chat=None, who=None,
          cache_dir=None, embed=None, lock: bool = True) -> Change:  # fmt: skip
    """Merge topics[1:] into topics[0] (`labeler topics RUN merge 3 7`)."""
    return _change(run, plan_merge, list(topics), settings=settings, chat=chat, who=who,
                   cache_dir=cache_dir, embed=embed, lock=lock)  # fmt: skip


def plan_split_into(run: Run, topic: int, count: int, embed: Embed | None = None) -> Plan:
    """`plan_split` into `count` parts: the partition of that size from `split_partitions`, the
    same ones the review app's split preview offers."""
    for k, _, score, partition in split_partitions(run, topic):
        if k == count and score is not None:
            return plan_split(run, topic, embed, parts=partition, silhouette=score)
    raise LabelerError(
        f"topic {topic} cannot be split into {count} parts of at least the run's smallest "
        "topic size: try fewer --parts"
    )


def split(run: RunLike, topic: int, *, parts: int | None = None, settings=None, chat=None,
          who=None, cache_dir=None, embed=None, lock: bool = True) -> Change:  # fmt: skip
    """Split a topic along its sub-groups (`labeler topics RUN split 5`); `parts`: into that
    many (`--parts 3`), else the best number of parts."""
    if parts is None:
        return _change(run, plan_split, int(topic), settings=settings, chat=chat, who=who,
                       cache_dir=cache_dir, embed=embed, lock=lock)  # fmt: skip
    return _change(run, plan_split_into, int(topic), int(parts), settings=settings, chat=chat,
                   who=who, cache_dir=cache_dir, embed=embed, lock=lock)  # fmt: skip


def reduce(run: RunLike, to: int, *, settings=None, chat=None, who=None,
           cache_dir=None, embed=None, lock: bool = True) -> Change:  # fmt: skip
    """Merge the most similar topics until `to` remain (`labeler topics RUN reduce --to 20`)."""
    return _change(run, plan_reduce, to, settings=settings, chat=chat, who=who,
                   cache_dir=cache_dir, embed=embed, lock=lock)  # fmt: skip


def outliers(run: RunLike, strategy: str = "embeddings", max_share: float | None = None, *,
             settings=None, chat=None, who=None, cache_dir=None, embed=None,
             lock: bool = True) -> Change:  # fmt: skip
    """Reassign outliers (`labeler topics RUN outliers --strategy embeddings --max-share 0.05`)."""
    return _change(run, plan_outliers, strategy, max_share, settings=settings, chat=chat,
                   who=who, cache_dir=cache_dir, embed=embed, lock=lock)  # fmt: skip


def delete(run: RunLike, topic: int, *, settings=None, chat=None, who=None,
           cache_dir=None, embed=None, lock: bool = True) -> Change:  # fmt: skip
    """A topic's documents become outliers (`labeler topics RUN delete 9`)."""
    return _change(run, plan_delete, int(topic), settings=settings, chat=chat, who=who,
                   cache_dir=cache_dir, embed=embed, lock=lock)  # fmt: skip


def undo(run: RunLike, *, who: str | None = None, lock: bool = True) -> dict:
    """Take back the last change (`labeler topics RUN undo`); returns its revision row."""
    with _open(run, lock) as opened:
        return undo_revision(opened, who)
