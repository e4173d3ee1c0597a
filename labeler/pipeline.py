"""The `labeler run` pipeline: corpus → embeddings → TopicModel → run directory → reports.

Kept apart from the CLI so the Python API and the command line share one code path.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from labeler.corpus import load_corpus
from labeler.errors import LabelerError
from labeler.model import TopicModel
from labeler.report import render_reports
from labeler.run.db import RunDB
from labeler.run.folder import Run
from labeler.run.records import model_config, read_llm_cache, save_model

log = logging.getLogger("labeler")


def load_embeddings(path: Path, n_docs: int) -> np.ndarray:
    path = Path(path)
    if not path.is_file():
        raise LabelerError(f"embeddings file not found: {path}")
    try:
        vectors = np.load(path, allow_pickle=False)
    except (ValueError, OSError) as exc:
        raise LabelerError(f"{path} is not a NumPy .npy array: {exc}") from exc
    if vectors.ndim != 2 or vectors.shape[0] != n_docs:
        raise LabelerError(
            f"{path} has shape {vectors.shape} but the corpus has {n_docs} documents "
            "(after dropping empty ones): need one row per document"
        )
    return vectors.astype(np.float32)


def save(model, run_dir: str | Path, config: dict | None = None) -> Path:
    """Save a fitted TopicModel as a run folder, reports included."""
    config = config or model_config(model)

    def writer(staging: Path) -> None:
        save_model(model, staging, config)
        render_reports(staging)

    return Run.create(Path(run_dir), writer).path


def run_pipeline(
    corpus_path: Path,
    out: Path,
    text_column: str | None = None,
    id_column: str | None = None,
    time_column: str | None = None,
    class_column: str | None = None,
    encoding: str = "utf-8",
    sample: int | None = None,
    embedding_model: str | None = None,
    embeddings: Path | None = None,
    min_cluster_size: int | None = None,
    min_samples: int | None = None,
    n_neighbors: int = 15,
    ngram_max: int = 1,
    min_df: int | None = None,
    top_n_words: int = 10,
    representative_docs: int = 5,
    seed: int = 42,
    llm=None,
    cache_dir: Path | None = None,
    no_cache: bool = False,
) -> dict:
    corpus = load_corpus(
        corpus_path, text_column, id_column, time_column, class_column, encoding, sample, seed
    )
    stats = corpus.stats
    log.info(
        "loaded %d documents from %s (%d empty dropped, %d duplicates kept)",
        len(corpus),
        corpus_path,
        stats["empty_dropped"],
        stats["duplicates"],
    )
    vectors = None
    model_name = embedding_model
    if embeddings is not None:
        if sample is not None:
            raise LabelerError(
                "--sample cannot be combined with --embeddings (rows would not align)"
            )
        vectors = load_embeddings(embeddings, len(corpus))
        if embedding_model is None:
            log.info(
                "precomputed embeddings: KeyBERT/MMR keyword stages need --embedding-model "
                "(the model that made the vectors) and are skipped"
            )
    elif model_name is None:
        from labeler.embed import DEFAULT_MODEL

        model_name = DEFAULT_MODEL

    model = TopicModel(
        embedding_model=model_name,
        n_neighbors=n_neighbors,
        min_cluster_size=min_cluster_size,
        min_samples=min_samples,
        ngram_range=(1, ngram_max),
        min_df=min_df,
        top_n_words=top_n_words,
        n_representative_docs=representative_docs,
        seed=seed,
        cache_dir=str(cache_dir) if cache_dir else None,
        use_cache=not no_cache,
        show_progress=log.isEnabledFor(logging.INFO),
    )
    model.fit(corpus.texts, vectors, corpus.doc_ids)

    config = model_config(model)
    if embeddings is not None:
        config["embedding"]["model"] = f"precomputed:{Path(embeddings).name}"
        config["embedding"]["query_model"] = embedding_model
    config["corpus"] = {
        "name": Path(corpus_path).name,
        "source": str(corpus_path),
        "stats": stats,
        "encoding": encoding,
        "sample": sample,
    }
    config["llm"] = llm.public() if llm else {"provider": "none"}
    frame = corpus.to_frame()
    earlier_answers = read_llm_cache(out)

    def writer(staging: Path) -> None:
        save_model(model, staging, config, frame)
        RunDB(staging).add_answers(earlier_answers)
        render_reports(staging)

    run_dir = Run.create(out, writer).path
    labels = None
    if llm is not None:
        from labeler.llm.labeling import label_run

        labels = label_run(run_dir, llm, cache_dir=cache_dir)
        log.info("%s", labels.line())
    n_out = int((model.topics_ < 0).sum())
    return {
        "labels": labels,
        "run_dir": run_dir,
        "model": model,
        "summary": {
            "documents": len(corpus),
            "topics": len([t for t in model.topic_ids_ if t >= 0]),
            "outlier_share": n_out / len(corpus),
        },
    }
