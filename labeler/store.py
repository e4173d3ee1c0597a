"""The run directory: everything needed to re-render, relabel or inspect a fit without refitting.

Open formats only: JSON, Parquet, NumPy and SQLite. A run is written into a hidden staging folder
and renamed into place at the end, so an interrupted run never leaves a directory that looks
complete; `run.json` (written last) is what marks a directory as a finished run.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sqlite3
import tempfile
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd

from labeler import __version__
from labeler.cluster import default_min_samples
from labeler.errors import LabelerError

MANIFEST = "run.json"
CONFIG = "config.json"
TOPICS = "topics.json"
DOCUMENTS = "documents.parquet"
EMBEDDINGS = "embeddings.npy"
DATABASE = "run.sqlite"
FORMAT = "labeler-run"
SCHEMA_VERSION = 1

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS label_versions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    topic INTEGER NOT NULL,
    version INTEGER NOT NULL,
    label TEXT NOT NULL,
    summary TEXT,
    source TEXT NOT NULL,          -- keywords | llm | review
    prompt_name TEXT,
    prompt_hash TEXT,
    model TEXT,
    params TEXT,                   -- JSON
    flags TEXT,                    -- JSON list, e.g. ["fallback"]
    request TEXT,                  -- JSON messages sent to the LLM (audit)
    raw_answer TEXT,               -- the LLM's reply as received (audit)
    created_at TEXT NOT NULL,
    is_current INTEGER NOT NULL DEFAULT 0,
    UNIQUE (topic, version)
);
CREATE INDEX IF NOT EXISTS label_versions_current ON label_versions (topic, is_current);
-- LLM answers by content hash of (model, messages, generation parameters, schema).
CREATE TABLE IF NOT EXISTS llm_cache (
    key TEXT PRIMARY KEY,
    model TEXT NOT NULL,
    request TEXT NOT NULL,
    response TEXT NOT NULL,
    prompt_tokens INTEGER,
    completion_tokens INTEGER,
    created_at TEXT NOT NULL
);
-- Review decisions (issue 4): one row per action, and each topic's resulting status.
CREATE TABLE IF NOT EXISTS reviews (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    topic INTEGER NOT NULL,
    action TEXT NOT NULL,          -- accept | edit | reject | note | merge | not_a_topic
    label_before TEXT,
    label_after TEXT,
    summary_before TEXT,
    summary_after TEXT,
    note TEXT,
    reviewer TEXT,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS topic_status (
    topic INTEGER PRIMARY KEY,
    status TEXT NOT NULL DEFAULT 'unreviewed',  -- accepted, edited, rejected, not_a_topic
    reviewer TEXT,
    updated_at TEXT
);
"""


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _publish(tmp: str, path: Path) -> None:
    """Give a temp file ordinary permissions (mkstemp makes it private) and move it into place."""
    os.chmod(tmp, 0o666 & ~_umask())
    os.replace(tmp, path)


def write_json(path: Path, data) -> None:
    """Write JSON next to its destination and rename, so readers never see half a file."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(data, fh, ensure_ascii=False, indent=1, default=_json_default)
        fh.write("\n")
    _publish(tmp, path)


def write_text(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    _publish(tmp, path)


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (pd.Timestamp, datetime)):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def is_run(path: Path) -> bool:
    return (path / MANIFEST).is_file()


def write_run_dir(out: Path, writer: Callable[[Path], None]) -> Path:
    """Let `writer` fill a staging folder, mark it complete, then swap it into place."""
    out = Path(out).absolute()
    if out.exists() and not out.is_dir():
        raise LabelerError(f"--out {out} is a file, not a folder")
    if out.is_dir() and any(out.iterdir()) and not is_run(out):
        raise LabelerError(f"{out} exists and is not a labeler run: choose another --out")
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".partial", dir=out.parent))
    try:
        os.chmod(staging, 0o777 & ~_umask())
        writer(staging)
        write_json(
            staging / MANIFEST,
            {
                "format": FORMAT,
                "schema_version": SCHEMA_VERSION,
                "labeler_version": __version__,
                "created_at": now(),
                "complete": True,
                "files": sorted(p.name for p in staging.iterdir() if not p.name.startswith(".")),
            },
        )
        if out.exists():
            old = out.parent / f".{out.name}.old-{os.getpid()}"
            os.rename(out, old)
            os.rename(staging, out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.rename(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return out


def check_run(path: Path) -> Path:
    path = Path(path)
    if not path.is_dir():
        raise LabelerError(f"run directory not found: {path}")
    if not is_run(path):
        raise LabelerError(
            f"{path} is not a finished labeler run (no {MANIFEST}): it may have been interrupted; "
            "run `labeler run` again"
        )
    manifest = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
    if manifest.get("format") != FORMAT:
        raise LabelerError(f"{path / MANIFEST} is not a labeler run manifest")
    if manifest.get("schema_version", 0) > SCHEMA_VERSION:
        raise LabelerError(f"{path} was written by a newer labeler; upgrade labeler to read it")
    return path


# ---------------------------------------------------------------------------- SQLite labels
@contextlib.contextmanager
def connect(run_dir: Path):
    con = sqlite3.connect(Path(run_dir) / DATABASE, timeout=30)
    con.row_factory = sqlite3.Row
    con.execute("PRAGMA foreign_keys=ON")
    try:
        with con:
            yield con
    finally:
        con.close()


def init_database(run_dir: Path, labels: dict[int, str]) -> None:
    with connect(run_dir) as con:
        con.executescript(SCHEMA)
        con.execute(
            "INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),)
        )
        stamp = now()
        con.executemany(
            "INSERT INTO label_versions (topic, version, label, summary, source, created_at,"
            " is_current) VALUES (?, 1, ?, NULL, 'keywords', ?, 1)",
            [(int(t), label, stamp) for t, label in labels.items()],
        )


def read_llm_cache(run_dir: Path) -> list[tuple]:
    """A previous run's LLM answers, so refitting into the same folder resumes, not repays."""
    if not (Path(run_dir) / DATABASE).is_file():
        return []
    try:
        with connect(run_dir) as con:
            return [tuple(r) for r in con.execute("SELECT * FROM llm_cache").fetchall()]
    except sqlite3.DatabaseError:
        return []


def write_llm_cache(run_dir: Path, rows: list[tuple]) -> None:
    if rows:
        with connect(run_dir) as con:
            con.executemany("INSERT OR IGNORE INTO llm_cache VALUES (?, ?, ?, ?, ?, ?, ?)", rows)


def current_labels(run_dir: Path) -> dict[int, dict]:
    with connect(run_dir) as con:
        rows = con.execute("SELECT * FROM label_versions WHERE is_current = 1").fetchall()
    return {int(r["topic"]): dict(r) for r in rows}


def label_history(run_dir: Path, topic: int | None = None) -> list[dict]:
    query = "SELECT * FROM label_versions"
    args: tuple = ()
    if topic is not None:
        query += " WHERE topic = ?"
        args = (int(topic),)
    with connect(run_dir) as con:
        rows = con.execute(query + " ORDER BY topic, version", args).fetchall()
    return [dict(r) for r in rows]


def add_label_version(con: sqlite3.Connection, topic: int, label: str, **fields) -> int:
    """Append a version and make it current; returns its version number."""
    version = con.execute(
        "SELECT COALESCE(MAX(version), 0) + 1 FROM label_versions WHERE topic = ?", (int(topic),)
    ).fetchone()[0]
    con.execute("UPDATE label_versions SET is_current = 0 WHERE topic = ?", (int(topic),))
    columns = ["topic", "version", "label", "created_at", "is_current"]
    values = [int(topic), version, label, now(), 1]
    for key in (
        "summary",
        "source",
        "prompt_name",
        "prompt_hash",
        "model",
        "request",
        "raw_answer",
    ):
        columns.append(key)
        values.append(fields.get(key, "keywords" if key == "source" else None))
    for key in ("params", "flags"):
        columns.append(key)
        values.append(json.dumps(fields[key]) if fields.get(key) is not None else None)
    marks = ", ".join("?" * len(values))
    con.execute(f"INSERT INTO label_versions ({', '.join(columns)}) VALUES ({marks})", values)
    return version


def set_current_version(run_dir: Path, topic: int, version: int) -> None:
    with connect(run_dir) as con:
        found = con.execute(
            "SELECT 1 FROM label_versions WHERE topic = ? AND version = ?", (topic, version)
        ).fetchone()
        if not found:
            raise LabelerError(f"topic {topic} has no label version {version}")
        con.execute("UPDATE label_versions SET is_current = (version = ?) WHERE topic = ?",
                    (version, topic))  # fmt: skip


def topic_statuses(run_dir: Path) -> dict[int, str]:
    with connect(run_dir) as con:
        rows = con.execute("SELECT topic, status FROM topic_status").fetchall()
    return {int(r["topic"]): r["status"] for r in rows}


def sync_topics_json(run_dir: Path) -> None:
    """Copy each topic's current label version into topics.json (the file tools read)."""
    path = Path(run_dir) / TOPICS
    topics = read_json(path)
    labels = current_labels(run_dir)
    statuses = topic_statuses(run_dir)
    for record in topics:
        current = labels.get(int(record["topic"]))
        if current:
            record["label"] = current["label"]
            record["summary"] = current["summary"]
            record["label_source"] = current["source"]
            record["label_version"] = current["version"]
            record["label_model"] = current["model"]
            record["label_prompt"] = current["prompt_name"]
            record["label_flags"] = json.loads(current["flags"]) if current["flags"] else []
        record["review_status"] = statuses.get(int(record["topic"]), "unreviewed")
    write_json(path, topics)


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
    documents_frame(model, corpus_frame).to_parquet(run_dir / DOCUMENTS, index=False)
    np.save(run_dir / EMBEDDINGS, model.embeddings_.astype(np.float32), allow_pickle=False)
    write_json(run_dir / TOPICS, topic_records(model, model.layout_))
    init_database(run_dir, model.labels_)


def save(model, run_dir: str | Path, config: dict | None = None) -> Path:
    """Save a fitted TopicModel as a run directory (reports included)."""
    from labeler.report import render_reports

    config = config or model_config(model)

    def writer(staging: Path) -> None:
        save_model(model, staging, config)
        render_reports(staging)

    return write_run_dir(Path(run_dir), writer)


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
def read_json(path: Path):
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise LabelerError(f"{path} is missing: the run directory is incomplete") from exc


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
    labels = current_labels(run_dir)
    model.labels_ = {
        int(r["topic"]): labels.get(int(r["topic"]), {}).get("label", r["label"]) for r in topics
    }
    model.topic_embeddings_ = topic_vectors(embeddings, model.topics_)
    return model
