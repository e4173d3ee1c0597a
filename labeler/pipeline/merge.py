"""`labeler merge-runs A B --out C`: one run from two finished runs, as `merge_models` makes
one model from two (`labeler.model.combine`).

C holds A's documents and topics, with their ids, names, reviews and tree names, plus B's topics
that match none of A's (cosine similarity of topic centres below `min_similarity`), as new
topics after A's, with B's names and reviews. B's documents join the A topic their B topic
matched, or their added topic; a B document already in A (same id and text) is not added
twice, and B's ids are prefixed with B's name (`B:12`) when they collide with A's. The LLM
answers both runs paid for are kept. Nothing is rendered here: the command renders C once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from labeler.errors import LabelerError
from labeler.model import OUTLIER, TopicModel
from labeler.model.combine import DEFAULT_MIN_SIMILARITY, merge_fitted
from labeler.run.folder import Run
from labeler.run.layout import check_out, check_run, is_run, run_lock
from labeler.run.records import model_config, query_model, save_model

log = logging.getLogger("labeler")


@dataclass
class MergeResult:
    """What `merge_runs` made: the new run, and how B's topics went into it."""

    run: Run
    documents: int
    documents_a: int
    documents_b: int
    already_in_a: int
    topics_a: int
    topics_b: int
    added: dict[int, int] = field(default_factory=dict)  # B topic → C topic
    joined: dict[int, int] = field(default_factory=dict)  # B topic → the A topic it matched
    reviews_not_carried: int = 0  # B's reviews of topics that joined an A topic

    def line(self) -> str:
        added = ", ".join(f"{b}→{c}" for b, c in sorted(self.added.items())) or "none"
        return (
            f"{self.run.name}: {self.documents} documents ({self.documents_a} of A, "
            f"{self.documents_b - self.already_in_a} of B"
            + (f", {self.already_in_a} already in A" if self.already_in_a else "")
            + f"); {self.topics_a + len(self.added)} topics: A's {self.topics_a}, "
            f"{len(self.added)} of B's {self.topics_b} added (B→C: {added}), "
            f"{len(self.joined)} joined A's topics; names and reviews kept"
        )


def _embedding(run: Run) -> tuple[str | None, int | None]:
    config = run.config()
    return query_model(config), config.get("embedding", {}).get("dimensions")


def check_merge(a: Path, b: Path, out: Path, force: bool = False) -> tuple[Run, Run, Path]:
    """Refuse a merge that cannot be made, before anything is read or written: A and B must be
    finished runs with the files a change reads, embedded by the same model, and C a new folder
    (an existing run only with `force`, and never A or B)."""
    run_a, run_b = (Run(check_run(Path(p), "topics")) for p in (a, b))
    (model_a, dim_a), (model_b, dim_b) = _embedding(run_a), _embedding(run_b)
    if model_a != model_b or dim_a != dim_b:
        raise LabelerError(
            f"{run_a.name} and {run_b.name} were embedded by different models ({model_a}, "
            f"{model_b}): their topic centres cannot be compared; refit one with the other's "
            "--embedding-model"
        )
    out = Path(out).absolute()
    for run in (run_a, run_b):
        if out.resolve() == run.path.resolve():
            raise LabelerError(f"--out {out} is one of the runs merged: choose a new folder")
    empty = out.is_dir() and not any(out.iterdir())
    if out.exists() and not empty and (not force or not is_run(out)):
        if force:
            check_out(out)  # says why this folder cannot be replaced
        raise LabelerError(f"--out {out} exists: choose a new folder, or --force to replace it")
    return run_a, run_b, check_out(out)


def merge_runs(
    a: Path,
    b: Path,
    out: Path,
    *,
    min_similarity: float = DEFAULT_MIN_SIMILARITY,
    force: bool = False,
) -> MergeResult:
    """Write run C (`out`) from runs A and B (see the module's docstring); returns what it did.
    The reports are the caller's to render (once)."""
    if not 0 <= min_similarity <= 1:
        raise LabelerError(
            f"--min-similarity is a cosine similarity in [0, 1], not {min_similarity}"
        )
    run_a, run_b, out = check_merge(a, b, out, force)
    with run_lock(out):
        model_a, model_b = run_a.model(), run_b.model()
        merge = merge_fitted(
            TopicModel, [model_a, model_b], min_similarity, prefixes=[run_a.name, run_b.name]
        )
        merged = merge.model
        ids_a = [t for t in model_a.topic_ids_ if t != OUTLIER]
        try:
            tree_a = run_a.hierarchy()
        except LabelerError:
            tree_a = None
        if tree_a and tree_a.get("nodes"):  # A's groups kept; B's added topics placed by centre
            home = {t: (t if t in set(ids_a) else None) for t in merged.topic_ids_}
            merged.topic_tree(carry=(tree_a["nodes"], home))
        mapping_b = merge.mappings[1]
        added = {b: mapping_b[b] for b in merge.added[1]}
        joined = {b: c for b, c in mapping_b.items() if b != OUTLIER and b not in added}
        config = model_config(merged)
        config_a, config_b = run_a.config(), run_b.config()
        names = [(c.get("corpus") or {}).get("name") or r.name
                 for c, r in ((config_a, run_a), (config_b, run_b))]  # fmt: skip
        config["corpus"] = {"name": " + ".join(names)}
        config["llm"] = config_a.get("llm") or {"provider": "none"}
        config["merged_from"] = {
            "runs": [run_a.name, run_b.name],
            "min_similarity": min_similarity,
            "added": {str(b): c for b, c in added.items()},
            "joined": {str(b): c for b, c in joined.items()},
            "documents_already_in_a": int(len(model_b.documents_) - len(merge.rows[1])),
        }
        frame = _slice_columns(merged)
        state_a, state_b = run_a.db.topic_state(), run_b.db.topic_state()
        answers = run_a.db.answers() + run_b.db.answers()

        def writer(staging: Path) -> None:
            save_model(merged, staging, config, frame)
            new = Run(staging, check=False)
            new.db.adopt_topics(state_a, {t: t for t in ids_a}, nodes=True)
            new.db.adopt_topics(state_b, added)
            new.db.add_answers(answers)

        run = Run.create(out, writer)
    kept = sum(1 for r in state_b["reviews"] if int(r["topic"]) in joined)
    log.info("merged %s and %s into %s", run_a.name, run_b.name, run.name)
    return MergeResult(
        run=run,
        documents=len(merged.documents_),
        documents_a=len(model_a.documents_),
        documents_b=len(model_b.documents_),
        already_in_a=len(model_b.documents_) - len(merge.rows[1]),
        topics_a=len(ids_a),
        topics_b=sum(1 for t in model_b.topic_ids_ if t != OUTLIER),
        added=added,
        joined=joined,
        reviews_not_carried=kept,
    )


def _slice_columns(model) -> pd.DataFrame | None:
    """The time and class columns of both runs, when both have them (documents.parquet's)."""
    columns = {}
    if getattr(model, "timestamps_", None) is not None:
        columns["timestamp"] = model.timestamps_
    if getattr(model, "classes_", None) is not None:
        columns["class"] = model.classes_
    return pd.DataFrame(columns) if columns else None
