"""Merge one topic of a saved run into another, without refitting.

A reviewer who sees two topics that are really one merges them: the dropped topic's documents
join the kept topic, whose description is recomputed by the fit's own `describe_topics` (c-TF-IDF
refitted over all documents, the KeyBERT-inspired and MMR stages, representative documents), with
its size, share and map position, and the dropped topic disappears from topics.json. Other topics
keep their records: their labels may already be reviewed, and a refit of their keywords would
change what the reviewer approved. The label of the merged topic is the caller's business (a
keyword label here; the review app asks the LLM for a new one).

`plan_merge` only computes; the caller applies the plan with `Run.replace_topics`, inside the
database transaction that records the merge (the review app's Reviewer does).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from labeler.errors import LabelerError
from labeler.represent import DESCRIBE_PARAMS, STAGES, describe_topics
from labeler.run.folder import Run
from labeler.run.records import params_from_config


@dataclass
class MergeResult:
    keep: int
    drop: int
    size: int
    keyword_label: str  # the merged topic's keyword label, from its new keywords
    record: dict  # the merged topic's new topics.json record
    documents: pd.DataFrame  # the new documents.parquet
    records: list[dict]  # the new topics.json


def _pairs(words: list[tuple[str, float]]) -> list[list]:
    return [[w, round(float(s), 5)] for w, s in words]


def plan_merge(
    run: Run,
    keep: int,
    drop: int,
    embed: Callable[[list[str]], np.ndarray | None] | None = None,
) -> MergeResult:
    """What moving `drop`'s documents into `keep` makes of the run: the new documents table and
    topics.json, with `keep`'s record recomputed. Writes nothing.

    `embed` embeds keyword candidates for the KeyBERT-inspired and MMR stages (the run's own
    model, see `labeler.llm.distinct.label_embedder`); without it those stages are dropped for the
    merged topic rather than left describing only half of it.
    """
    keep, drop = int(keep), int(drop)
    if keep == drop:
        raise LabelerError("a topic cannot be merged with itself")
    if keep < 0 or drop < 0:
        raise LabelerError("outliers (topic -1) cannot be merged")
    records = run.topics()
    by_id = {int(r["topic"]): r for r in records}
    for topic in (keep, drop):
        if topic not in by_id:
            raise LabelerError(f"no topic {topic} in {run.path.name}")
    docs = run.documents()
    embeddings = run.embeddings()

    docs.loc[docs["topic"] == drop, "topic"] = keep
    topics = docs["topic"].to_numpy(dtype=np.int64)
    members = topics == keep
    texts = docs["text"].astype(str).tolist()

    # The fit's own description chain, for the kept topic only (c-TF-IDF is refitted over all
    # documents: its weighting depends on every topic).
    params = params_from_config(run.config())
    stages_before = [s for s in STAGES if s.key in by_id[keep]]
    wants_vectors = any(s.needs_vectors for s in stages_before)
    found = describe_topics(
        texts, embeddings, topics, only={keep}, embed_words=embed if wants_vectors else None,
        **{k: params[k] for k in DESCRIBE_PARAMS},
    )  # fmt: skip
    reps = found.representative_docs[keep]

    record = dict(by_id[keep])
    record["size"] = int(members.sum())
    record["share"] = round(record["size"] / len(docs), 5)
    for stage in STAGES:
        if stage.name in found.keywords:
            record[stage.key] = _pairs(found.keywords[stage.name][keep])
        else:  # no vectors: dropped rather than left describing only half of the topic
            record.pop(stage.key, None)
    record["representative_docs"] = [texts[i] for i in reps]
    record["representative_doc_ids"] = [_plain(docs["doc_id"].iloc[i]) for i in reps]
    if {"x", "y"} <= set(docs.columns):
        layout = docs.loc[members, ["x", "y"]].to_numpy(dtype=np.float32)
        record["map_position"] = [round(float(v), 4) for v in np.median(layout, axis=0)]
    label = found.labels[keep]
    record["label"] = label
    record["label_source"] = "keywords"
    record["summary"] = None

    if "representative" in docs.columns:
        docs.loc[members, "representative"] = False
        docs.loc[docs.index[reps], "representative"] = True
    new_records = [
        record if int(r["topic"]) == keep else r for r in records if int(r["topic"]) != drop
    ]
    return MergeResult(keep, drop, record["size"], label, record, docs, new_records)


def _plain(value):
    return value.item() if isinstance(value, np.generic) else value
