"""A fitted TopicModel to and from the files of a run folder: the `topics.json` records, the
documents table, `config.json` (file names and writers: `labeler.run.layout`; the database:
`labeler.run.db.RunDB`)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from labeler import __version__
from labeler.cluster import default_min_samples
from labeler.run.db import RunDB
from labeler.run.layout import (
    CONFIG,
    DATABASE,
    DOCUMENTS,
    EMBEDDINGS,
    TOPICS,
    check_run,
    is_run,
    now,
    read_json,
    write_json,
    write_npy,
    write_parquet,
)


def read_llm_cache(run_dir: Path) -> list[dict]:
    """A previous run's LLM answers, so refitting into the same folder resumes, not repays."""
    if not is_run(run_dir) or not (Path(run_dir) / DATABASE).is_file():
        return []
    return RunDB(run_dir).answers()


# ---------------------------------------------------------------------------- saving a model
def _words(pairs) -> list:
    return [[w, round(float(s), 5)] for w, s in pairs]


def topic_records(model, layout: np.ndarray) -> list[dict]:
    """The `topics.json` contract: one record per topic, outliers (-1) last."""
    n = len(model.documents_)
    records = []
    for t in sorted(model.topic_ids_, key=lambda t: (t < 0, t)):
        members = model.topics_ == t
        idx = model.representative_docs_.get(t, [])
        record = {
            "topic": int(t),
            "size": int(model.topic_sizes_[t]),
            "share": round(model.topic_sizes_[t] / n, 5),
            "label": model.labels_[t],
            "label_source": "keywords",
            "summary": None,
            "is_outlier": t < 0,
            "keywords": _words(model.keywords_["keywords"].get(t, [])),
        }
        for stage in ("keybert", "mmr"):
            if stage in model.keywords_:
                record[f"keywords_{stage}"] = _words(model.keywords_[stage].get(t, []))
        record["representative_docs"] = [model.documents_[i] for i in idx]
        record["representative_doc_ids"] = [model.doc_ids_[i] for i in idx]
        record["map_position"] = [round(float(v), 4) for v in np.median(layout[members], axis=0)]
        records.append(record)
    return records


def _id_column(ids: list) -> list:
    kinds = {type(v) for v in ids}
    if kinds <= {int} or kinds <= {str}:
        return ids
    return [str(v) for v in ids]


def documents_frame(model, corpus_frame: pd.DataFrame | None = None) -> pd.DataFrame:
    texts = pd.Series(model.documents_)
    representative = {i for idx in model.representative_docs_.values() for i in idx}
    frame = pd.DataFrame(
        {
            "doc_id": _id_column(model.doc_ids_),
            "text": model.documents_,
            "topic": model.topics_.astype(np.int64),
            "probability": np.round(model.probabilities_.astype(np.float32), 5),
            "x": model.layout_[:, 0].astype(np.float32),
            "y": model.layout_[:, 1].astype(np.float32),
            "representative": [i in representative for i in range(len(texts))],
            "duplicate": texts.duplicated(keep=False).to_numpy(),
        }
    )
    if corpus_frame is not None:
        for column in ("timestamp", "class"):
            if column in corpus_frame:
                frame[column] = corpus_frame[column].to_numpy()
    return frame


def save_model(model, run_dir: Path, config: dict, corpus_frame: pd.DataFrame | None = None):
    """Write the fitted model's data files (not the reports) into `run_dir`."""
    run_dir = Path(run_dir)
    write_json(run_dir / CONFIG, config)
    write_parquet(run_dir / DOCUMENTS, documents_frame(model, corpus_frame))
    write_npy(run_dir / EMBEDDINGS, model.embeddings_.astype(np.float32))
    write_json(run_dir / TOPICS, topic_records(model, model.layout_))
    RunDB(run_dir, create=True).add_keyword_labels(model.labels_)


def model_config(model) -> dict:
    embedding = model.embedding_model
    return {
        "labeler_version": __version__,
        "created_at": now(),
        "seed": model.seed,
        "embedding": {
            "model": embedding
            if isinstance(embedding, str) or embedding is None
            else getattr(embedding, "key", type(embedding).__name__),
            "dimensions": int(model.embeddings_.shape[1]),
        },
        "umap": {
            "n_neighbors": model.n_neighbors,
            "n_components": model.n_components,
            "min_dist": 0.0,
            "metric": "cosine",
            "map": {"n_components": 2, "min_dist": 0.1, "shared_knn_graph": True},
        },
        "hdbscan": {
            "min_cluster_size": model.min_cluster_size_,
            "min_samples": model.min_samples or default_min_samples(model.min_cluster_size_),
            "cluster_selection_method": model.cluster_selection,
        },
        "vectorizer": {
            "ngram_range": list(model.ngram_range),
            "min_df": model.ctfidf_.vectorizer_.min_df if model.ctfidf_.vectorizer_ else None,
            "stop_words": model.stop_words,
            "vocabulary_size": len(model.ctfidf_.words_),
        },
        "representation": {
            "stages": list(model.keywords_),
            "top_n_words": model.top_n_words,
            "candidate_words": model.n_candidate_words,
            "mmr_diversity": model.mmr_diversity,
            "representative_docs": model.n_representative_docs,
        },
        "timings_s": {k: round(v, 3) for k, v in getattr(model, "timings_", {}).items()},
    }


# ---------------------------------------------------------------------------- loading
def query_model(config: dict) -> str | None:
    """The model that embeds new text (queries, labels) in a run's space: the fit's model, or for
    precomputed vectors the --embedding-model given with them (None when unknown)."""
    embedding = config.get("embedding", {})
    model = embedding.get("model")
    if model and str(model).startswith("precomputed"):
        return embedding.get("query_model")
    return model


def load_run(path: str | Path):
    """Open a saved run as a fitted TopicModel (transform, find_topics and get_* all work)."""
    from labeler.model import TopicModel
    from labeler.represent import topic_vectors

    run_dir = check_run(Path(path))
    config = read_json(run_dir / CONFIG)
    topics = read_json(run_dir / TOPICS)
    documents = pd.read_parquet(run_dir / DOCUMENTS)
    embeddings = np.load(run_dir / EMBEDDINGS, allow_pickle=False)

    model_name = query_model(config)
    umap_cfg, hdb, vec = (
        config.get("umap", {}),
        config.get("hdbscan", {}),
        config.get("vectorizer", {}),
    )
    rep = config.get("representation", {})
    model = TopicModel(
        embedding_model=model_name,
        n_neighbors=umap_cfg.get("n_neighbors", 15),
        n_components=umap_cfg.get("n_components", 5),
        min_cluster_size=hdb.get("min_cluster_size"),
        min_samples=hdb.get("min_samples"),
        cluster_selection=hdb.get("cluster_selection_method", "eom"),
        ngram_range=tuple(vec.get("ngram_range", (1, 1))),
        min_df=vec.get("min_df"),
        top_n_words=rep.get("top_n_words", 10),
        n_representative_docs=rep.get("representative_docs", 5),
        mmr_diversity=rep.get("mmr_diversity", 0.3),
        seed=config.get("seed", 42),
    )
    model.run_dir_ = run_dir
    model.config_ = config
    model.documents_ = documents["text"].tolist()
    model.doc_ids_ = documents["doc_id"].tolist()
    model.embeddings_ = embeddings
    model.topics_ = documents["topic"].to_numpy(dtype=np.int64)
    model.probabilities_ = documents["probability"].to_numpy(dtype=np.float32)
    model.layout_ = documents[["x", "y"]].to_numpy(dtype=np.float32)
    model.min_cluster_size_ = hdb.get("min_cluster_size")
    model.topic_ids_ = [int(r["topic"]) for r in topics]
    model.topic_sizes_ = {int(r["topic"]): int(r["size"]) for r in topics}
    position = {doc_id: i for i, doc_id in enumerate(model.doc_ids_)}
    model.representative_docs_ = {
        int(r["topic"]): [position[d] for d in r.get("representative_doc_ids", []) if d in position]
        for r in topics
    }
    model.keywords_ = {
        "keywords": {int(r["topic"]): [tuple(p) for p in r["keywords"]] for r in topics}
    }
    for stage in ("keybert", "mmr"):
        if all(f"keywords_{stage}" in r for r in topics):
            model.keywords_[stage] = {
                int(r["topic"]): [tuple(p) for p in r[f"keywords_{stage}"]] for r in topics
            }
    labels = RunDB(run_dir).current_labels()
    model.labels_ = {
        int(r["topic"]): labels.get(int(r["topic"]), {}).get("label", r["label"]) for r in topics
    }
    model.topic_embeddings_ = topic_vectors(embeddings, model.topics_)
    return model
