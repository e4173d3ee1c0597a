"""Merge one topic of a saved run into another, without refitting.

A reviewer who sees two topics that are really one merges them: the dropped topic's documents
join the kept topic, whose description is recomputed the way the fit made it (c-TF-IDF refitted
over all documents, the KeyBERT-inspired and MMR stages, representative documents, size, share and
map position), and the dropped topic disappears from topics.json. Other topics keep their records:
their labels may already be reviewed, and a refit of their keywords would change what the
reviewer approved. The label of the merged topic is the caller's business (a keyword label here;
the review app asks the LLM for a new one).

`plan_merge` only computes; the caller applies the plan with `Run.replace_topics`, inside the
database transaction that records the merge (the review app's Reviewer does).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from labeler.errors import LabelerError
from labeler.keywords import CTFIDF
from labeler.model import keyword_label
from labeler.represent import (
    diversify,
    representative_documents,
    rerank_by_embedding,
    unit,
)
from labeler.run.folder import Run


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
    config = run.config()
    docs = run.documents()
    embeddings = run.embeddings()

    docs.loc[docs["topic"] == drop, "topic"] = keep
    topics = docs["topic"].to_numpy(dtype=np.int64)
    members = topics == keep
    texts = docs["text"].astype(str).tolist()

    vec = config.get("vectorizer", {})
    rep = config.get("representation", {})
    top_n = int(rep.get("top_n_words", 10))
    ctfidf = CTFIDF(
        tuple(vec.get("ngram_range", (1, 1))), vec.get("min_df"), vec.get("stop_words", "english")
    ).fit(texts, topics)
    candidates = ctfidf.topic_words(keep, int(rep.get("candidate_words", 30)))
    centre = unit(unit(embeddings[members]).mean(axis=0))
    reps = representative_documents(
        embeddings, topics, keep, centre, n=int(rep.get("representative_docs", 5))
    )

    record = dict(by_id[keep])
    record["size"] = int(members.sum())
    record["share"] = round(record["size"] / len(docs), 5)
    record["keywords"] = _pairs(candidates[:top_n])
    stages = [s for s in ("keybert", "mmr") if f"keywords_{s}" in record]
    vectors = embed([w for w, _ in candidates]) if (embed and stages and candidates) else None
    if vectors is not None and np.ndim(vectors) == 2 and vectors.shape[1] == embeddings.shape[1]:
        diversity = float(rep.get("mmr_diversity", 0.3))
        record["keywords_keybert"] = _pairs(rerank_by_embedding(candidates, vectors, centre, top_n))
        record["keywords_mmr"] = _pairs(diversify(candidates, vectors, centre, top_n, diversity))
    else:
        for stage in stages:
            record.pop(f"keywords_{stage}", None)
    record["representative_docs"] = [texts[i] for i in reps]
    record["representative_doc_ids"] = [_plain(docs["doc_id"].iloc[i]) for i in reps]
    if {"x", "y"} <= set(docs.columns):
        layout = docs.loc[members, ["x", "y"]].to_numpy(dtype=np.float32)
        record["map_position"] = [round(float(v), 4) for v in np.median(layout, axis=0)]
    final = record.get("keywords_mmr") or record["keywords"]
    label = keyword_label(keep, [tuple(p) for p in final])
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
