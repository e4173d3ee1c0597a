"""Merge one topic of a saved run into another, without refitting (the review app's merge and
`labeler topics RUN merge` both go through `labeler.surgery`; this is its two-topic form).

The dropped topic's documents join the kept topic, whose description is recomputed by the fit's
own `describe_topics`; other topics keep their records (their labels may already be reviewed).
`plan_merge` only computes; the caller applies the plan with `Run.replace_topics` (or records it
as a revision with `labeler.surgery.apply`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from labeler import surgery
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


def plan_merge(
    run: Run,
    keep: int,
    drop: int,
    embed: Callable[[list[str]], np.ndarray | None] | None = None,
) -> MergeResult:
    """What moving `drop`'s documents into `keep` makes of the run. Writes nothing.

    `embed` embeds keyword candidates for the KeyBERT-inspired and MMR stages (the run's own
    model, see `labeler.llm.distinct.label_embedder`); without it those stages are dropped for the
    merged topic rather than left describing only half of it.
    """
    plan = surgery.plan_merge(run, [int(keep), int(drop)], embed=embed)
    record = next(r for r in plan.records if int(r["topic"]) == int(keep))
    label = plan.keyword_labels[int(keep)]
    return MergeResult(
        int(keep), int(drop), int(record["size"]), label, record, plan.documents, plan.records
    )
