"""The `labeler run` pipeline: corpus → embeddings → TopicModel → run directory → reports.

Kept apart from the CLI so the Python API and the command line share one code path. The reports
are rendered once per run, here (the label step never renders).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from labeler.corpus import CorpusSpec, languages
from labeler.errors import LabelerError, printable
from labeler.labels.prior import Carried, Prior, carry_labels
from labeler.model import TopicModel
from labeler.run.folder import Run
from labeler.run.layout import check_out, run_lock
from labeler.run.records import model_config, read_llm_cache, save_model, set_slice_columns
from labeler.views.report import public_name, render_reports

if TYPE_CHECKING:
    from labeler.llm.asker import LabelStats
    from labeler.llm.settings import LLMSettings

log = logging.getLogger("labeler")


def load_embeddings(path: Path, n_docs: int) -> np.ndarray:
    """`--embeddings`: one finite real row of at least two numbers per document, from one .npy
    array. Checked whole before any work, since a wrong array fails minutes later inside UMAP or
    quietly clusters something else (complex values cast to real drop their imaginary part)."""
    path = Path(path)
    if not path.is_file():
        what = "is a folder, not a file" if path.is_dir() else "not found"
        raise LabelerError(f"--embeddings {printable(path)}: {what}")
    name = printable(path)
    try:
        vectors = np.load(path, allow_pickle=False)
    except ValueError as exc:
        hint = "not a plain NumPy array (reading it would need pickle, which labeler never does)"
        if "pickle" not in str(exc):
            hint = f"not a NumPy .npy array ({printable(exc)})"
        raise LabelerError(f"--embeddings {name} is {hint}: save one array with np.save") from exc
    except (OSError, EOFError) as exc:
        raise LabelerError(
            f"--embeddings {name} is not a NumPy .npy array ({printable(exc) or 'empty'}): "
            "save one array with np.save"
        ) from exc
    if isinstance(vectors, np.lib.npyio.NpzFile):
        vectors.close()
        raise LabelerError(
            f"--embeddings {name} is an .npz archive: save the one array with "
            "np.save(path, vectors)"
        )
    kind = vectors.dtype.kind
    if kind not in "fiu":
        what = {"c": "complex numbers", "b": "booleans", "U": "strings", "S": "bytes"}.get(
            kind, f"values of type {vectors.dtype}"
        )
        raise LabelerError(f"--embeddings {name} holds {what}: need real numbers (float32)")
    if vectors.ndim != 2 or vectors.shape[0] != n_docs:
        raise LabelerError(
            f"--embeddings {name} has shape {vectors.shape} but the corpus has {n_docs} documents "
            "(after dropping empty ones): need one row per document"
        )
    if vectors.shape[1] < 2:
        raise LabelerError(
            f"--embeddings {name} has {vectors.shape[1]} dimension(s) per document: need at least 2"
        )
    with np.errstate(over="ignore"):  # values beyond float32 become inf: refused below
        vectors = vectors.astype(np.float32)
    bad = ~np.isfinite(vectors).all(axis=1)
    if bad.any():
        raise LabelerError(
            f"--embeddings {name}: {int(bad.sum())} row(s) hold NaN or infinite values (or values "
            f"too large for float32), the first is row {int(np.argmax(bad))}"
        )
    return vectors


@dataclass
class RunResult:
    """What `run_pipeline` made."""

    run_dir: Path
    model: TopicModel
    documents: int
    topics: int  # real topics (outliers not counted)
    outlier_share: float
    labels: LabelStats | None = None  # the label step's costs, when an LLM labeled the run
    accounting: str = ""  # rows read, documents kept, rows dropped by reason (one line)
    # The large path (`pipeline.large.run_large`): documents the model was fitted on (the rest
    # assigned) and this process' peak memory; None on the ordinary path.
    sample_fit: int | None = None
    peak_rss_gb: float | None = None
    # Seconds per stage (`STAGE_NAMES`), for `labeler run`'s closing table of where time went.
    timings: dict | None = None
    carried: Carried | None = None  # `--prior`: the names and reviews carried from an old run


def run_pipeline(
    corpus: CorpusSpec,
    out: Path,
    model: TopicModel,
    *,
    embeddings: Path | None = None,
    llm: LLMSettings | None = None,
    cache_dir: Path | None = None,
    prior: Prior | None = None,
    chat=None,
    supervision: str | None = None,
) -> RunResult:
    """Read `corpus`, fit `model` (on precomputed `embeddings` when given), write the run folder
    `out`, then label it with `llm` (None: keyword labels only). The reports are rendered once:
    in the staging folder without an LLM (a finished run always has them), after labeling with
    one (even when labeling fails).

    `prior` (`labels.prior.read_prior`: an old run, read before anything is written): its
    topics' labels and reviews are carried to the new topics that match them by documents, and
    only the others are labelled (`labels.prior.carry_labels`); the reports then after both.
    `chat`: a ChatModel object to label with instead of the one `llm` names.

    With precomputed embeddings, `model.embedding_model` is the model that made them (it embeds
    keyword candidates and later queries in the same space), or None to skip the embedding keyword
    stages.

    `supervision` ("full", "partial" or "manual", `labeler.model.supervised`) fits on the given
    labels of `corpus.label_column`: an empty value is unknown (partial), an outlier (manual)
    or assigned by the classifier (full); config.json's `supervision` records the mode."""
    if supervision is not None and not corpus.label_column:
        raise LabelerError("--supervision needs --label-column: the column of given labels")
    out = check_out(out)
    if model.use_cache:  # a cache folder that cannot be one fails now, not after the corpus
        from labeler.embedding.cache import default_cache_dir, ensure_folder

        ensure_folder(Path(model.cache_dir) if model.cache_dir else default_cache_dir())
    with run_lock(out):
        if embeddings is not None and corpus.sample is not None:
            raise LabelerError(
                "--sample cannot be combined with --embeddings (rows would not align)"
            )
        clock = time.perf_counter()
        loaded = corpus.load(model.seed)
        timings = {"read": time.perf_counter() - clock}
        stats = loaded.stats
        log.info("%s: %s", corpus.path, loaded.accounting())
        vectors = None
        if embeddings is not None:
            vectors = load_embeddings(embeddings, len(loaded))
            if model.embedding_model is None:
                log.info(
                    "precomputed embeddings: KeyBERT/MMR keyword stages need --embedding-model "
                    "(the model that made the vectors) and are skipped"
                )
        y = names = None
        if supervision is not None:
            from labeler.model.supervised import labels_to_targets

            y, names = labels_to_targets(loaded.labels, supervision)
            log.info(
                "%s supervision: %d of %d documents labelled, %d classes",
                supervision, int((y >= 0).sum()), len(y), len(names),
            )  # fmt: skip
        steer, changed = None, []
        if prior is not None and y is None:  # given labels steer instead of the old topics
            from labeler.labels.prior import prior_targets

            changed = prior.steers(model.topic_model_params())
            if changed:
                log.info(
                    "prior %s: other clustering parameters (%s), so the fit is not steered "
                    "toward its topics", prior.name, ", ".join(changed),
                )  # fmt: skip
            else:
                steer = prior_targets(prior, loaded.texts)
        model.fit(
            loaded.texts, vectors, loaded.doc_ids, y=y, images=loaded.images, prior_topics=steer
        )
        fitted = model.timings_
        timings["embed"] = fitted.get("embed", 0.0) + fitted.get("embed_images", 0.0)
        for stage in ("reduce", "cluster", "describe"):
            timings[stage] = fitted.get(stage, 0.0)
        clock = time.perf_counter()

        config = fitted_config(model, embeddings)
        if supervision is not None:
            config["supervision"] = supervised_record(model, supervision, corpus, names)
        config["corpus"] = {
            "name": Path(corpus.path).name,
            **({"title": corpus.title} if corpus.title else {}),
            "source": str(corpus.path),
            "stats": stats,
            "encoding": stats.get("encoding", corpus.encoding),
            "sample": corpus.sample,
        }
        config["llm"] = llm.public() if llm else {"provider": "none"}
        if prior is not None:
            config["prior"] = {
                "run": prior.name, "steering": model.prior_steering_, "changed": changed,
            }  # fmt: skip
        frame = loaded.to_frame()
        set_slice_columns(model, frame)
        earlier_answers = read_llm_cache(out)

        def writer(staging: Path) -> None:
            save_model(model, staging, config, frame)
            new = Run(staging, check=False)
            new.db.add_answers(earlier_answers)
            if llm is None and prior is None:
                rendering = time.perf_counter()
                render_reports(new)
                timings["report"] = time.perf_counter() - rendering

        run = Run.create(out, writer)
        timings["write"] = time.perf_counter() - clock - timings.get("report", 0.0)
        carried = None
        if prior is not None:
            carried = carry_labels(run, prior)
            log.info("%s", carried.line())
        labels = label_and_render(
            run, llm, cache_dir, timings, topics=carried.unmatched if carried else None,
            render=prior is not None, chat=chat,
        )  # fmt: skip
    return RunResult(
        run_dir=run.path,
        model=model,
        documents=len(loaded),
        topics=len([t for t in model.topic_ids_ if t >= 0]),
        outlier_share=float((model.topics_ < 0).sum()) / len(loaded),
        labels=labels,
        accounting=loaded.accounting(),
        timings=timings,
        carried=carried,
    )


def supervised_record(model: TopicModel, mode: str, corpus: CorpusSpec, names) -> dict:
    """config.json's `supervision` for `labeler run --supervision`: the fit's record, the label
    column, and (full, manual) each topic's given label."""
    from labeler.model.supervised import class_topics

    record = {**(model.supervision_ or {}), "mode": mode, "label_column": corpus.label_column}
    if mode != "partial":
        record["topics"] = class_topics(model, names)
    return record


def fitted_config(model: TopicModel, embeddings: Path | None) -> dict:
    """config.json's model sections (`run.records.model_config`), with precomputed embeddings
    named by their file and the model that embeds queries beside them: where both paths start
    (they add the corpus they read, the large path its sample)."""
    config = model_config(model)
    if embeddings is not None:
        config["embedding"]["model"] = f"precomputed:{Path(embeddings).name}"
        config["embedding"]["query_model"] = model.embedding_model
    # Topics that follow languages rather than subjects: one warning, and the report says so.
    found = languages.topic_languages(model.documents_, model.topics_, seed=model.seed)
    if found is not None:
        config["languages"] = found
        line = languages.warning(found, str(public_name(config["embedding"].get("model"))))
        if line:
            log.warning("%s", line)
            config["languages"]["warning"] = line
    return config


# What each key of `RunResult.timings` measured, in the order `labeler run` lists them.
STAGE_NAMES = {
    "read": "reading the corpus",
    "embed": "embedding",
    "fit_sample": "fitting the sample",
    "reduce": "UMAP",
    "cluster": "HDBSCAN",
    "assign": "assigning the rest",
    "count": "counting words",
    "describe": "representation",
    "write": "writing the run",
    "llm_labels": "LLM labels",
    "tree_names": "tree names",
    "report": "report",
}


def time_table(timings: dict, total: float) -> str:
    """Where a run's time went: a short markdown table of the stages, with the rest as
    `other` (loading the models, the tree, the checks around them)."""
    rows = [(STAGE_NAMES.get(k, k), timings[k]) for k in STAGE_NAMES if k in timings]
    rows += [(k, v) for k, v in timings.items() if k not in STAGE_NAMES]
    rest = total - sum(v for _, v in rows)
    if rest > 0.05:
        rows.append(("other", rest))
    lines = ["| stage | s | share |", "|---|---:|---:|"]
    lines += [f"| {name} | {s:.1f} | {s / max(total, 1e-9):.0%} |" for name, s in rows]
    lines.append(f"| total | {total:.1f} | 100% |")
    return "\n".join(lines)


def label_and_render(
    run: Run,
    llm: LLMSettings | None,
    cache_dir: Path | None,
    timings: dict | None = None,
    *,
    topics: list[int] | None = None,
    render: bool = False,
    chat=None,
) -> LabelStats | None:
    """A new run's label step (`topics`: only those; None: all) and tree names with `llm`
    (None: none), then its one render: without an LLM the staging folder was rendered already
    (`render`: render now all the same); with one the reports are rendered after labeling, also
    when it fails, so a finished run always has them."""
    if llm is None:
        if render:
            render_reports(run)
        return None
    from labeler.labels.labeling import label_topics

    try:
        labels = label_topics(run, llm, topics=topics, chat=chat, cache_dir=cache_dir, tree=True)
    finally:
        clock = time.perf_counter()
        render_reports(run)
        if timings is not None:
            timings["report"] = time.perf_counter() - clock
    if timings is not None:
        timings["llm_labels"] = labels.seconds
        if labels.tree is not None:
            timings["tree_names"] = labels.tree.seconds
    log.info("%s", labels.line())
    if labels.tree is not None:
        log.info("%s", labels.tree.line("tree names", "node"))
    return labels
