"""Large corpora on one machine: fit on a sample, assign and count the rest in streaming batches.

UMAP and HDBSCAN grow faster than linearly in time and memory (BERTopic users report 32-46 GB at
1-2 million documents), while the topics of a million short documents are already visible in a
few tens of thousands of them. So this path:

1. reads the documents in batches (Parquet row groups, or any other format loaded once) and writes
   their embeddings straight into a float16 memory map on disk (the run's ``embeddings.npy``);
2. fits the ordinary `TopicModel` (UMAP, HDBSCAN, map layout) on a seeded sample sized to a
   memory budget;
3. assigns every other document by a similarity-weighted vote of its nearest sampled documents
   (the same rule as `TopicModel.transform`), in batches read back from the memory map, and places
   it on the map at its neighbours' weighted mean;
4. counts words per topic over all documents in batches with the vocabulary learned on the sample,
   so c-TF-IDF describes every document, not only the sample;
5. writes the same run folder as `labeler run` (documents.parquet in batches), so `report`,
   `labels`, `review` and `export` work unchanged.

Only O(N) small arrays (topic, probability, x, y, a hash per document) stay in memory; text and
vectors stream. The steps that touch every document (`Assigner`, `TermCounter`, embedding) are
plain callables over one batch, so the Ray engine (`labeler.pipeline.ray`) runs the very same code
on a cluster.
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
import resource
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import scipy.sparse as sp

from labeler.cluster import renumber_by_size
from labeler.corpus import CorpusSpec
from labeler.errors import LabelerError
from labeler.model import TopicModel
from labeler.pipeline.fit import RunResult, fitted_config, label_and_render
from labeler.represent import CorpusCounts, unit
from labeler.represent.distribution import top_topics
from labeler.run.folder import Run
from labeler.run.layout import CONFIG, check_out, run_lock, write_json
from labeler.run.records import (
    documents_block,
    read_llm_cache,
    save_model,
    stream_embeddings,
)
from labeler.views.report import render_reports

if TYPE_CHECKING:
    from labeler.llm.settings import LLMSettings

log = logging.getLogger("labeler")

AUTO_THRESHOLD = 200_000  # Parquet corpora with more rows take this path without being asked
BATCH = 8_192  # documents per streamed batch
NEIGHBOURS = 15  # sampled documents that vote on each assigned document
EXACT_ASSIGN_LIMIT = 50_000  # exact search up to this many sampled documents, NN-descent above
# Peak memory of the sample fit per sampled document (UMAP graph and optimisation, HDBSCAN,
# c-TF-IDF on the sample), measured at 50,000 short documents: see benchmarks/scale.py.
FIT_BYTES_PER_DOC = 40_000
DEFAULT_MEMORY_BUDGET_GB = 4.0
MIN_FIT, MAX_FIT = 20_000, 50_000
PROGRESS_EVERY = 100_000  # documents between two progress lines of the embedding pass
CLEAN = ".documents-clean.parquet"  # the cleaned rows, in the staging folder while it fills


def peak_rss_gb() -> float:
    """Peak resident memory of this process so far (Linux reports kilobytes)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


def fit_size(budget_gb: float | None = None) -> int:
    """Sampled documents to fit UMAP/HDBSCAN on, from a memory budget (LABELER_MEMORY_GB, 4 GB).

    Bounded below so small topics still form, and above because UMAP's time grows with the sample
    (about 5 minutes a layout at 50,000 on 2 busy cores) while a million short texts show no new
    topics past that at the default minimum topic size.
    """
    if budget_gb is None:
        budget_gb = memory_budget_gb()
    return int(min(MAX_FIT, max(MIN_FIT, budget_gb * 1024**3 / FIT_BYTES_PER_DOC)))


def memory_budget_gb() -> float:
    """$LABELER_MEMORY_GB (default 4), refused in one line unless a finite number above 0."""
    text = os.environ.get("LABELER_MEMORY_GB", "").strip()
    if not text:
        return DEFAULT_MEMORY_BUDGET_GB
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not (math.isfinite(value) and 0 < value <= 1e6):
        raise LabelerError(
            f"LABELER_MEMORY_GB={text[:40]!r}: give the memory budget in gigabytes, e.g. 4 "
            "(or --sample-fit N)"
        )
    return value


def parquet_rows(path: Path) -> int | None:
    """Row count from Parquet metadata (free), None for other formats or unreadable files."""
    path = Path(path)
    if path.suffix.lower() not in (".parquet", ".pq") or not path.is_file():
        return None
    try:
        return pq.ParquetFile(path).metadata.num_rows
    except Exception:  # noqa: BLE001 - the reader reports a bad file with a proper message
        return None


# ---------------------------------------------------------------------------- reading
@dataclass
class Columns:
    text: str | None = None
    id: str | None = None
    time: str | None = None
    cls: str | None = None


def clean_batch(frame: pd.DataFrame, columns: Columns, first_row: int, source: str):
    """Rename to the run's columns (doc_id, text, timestamp, class) and drop empty texts."""
    from labeler.corpus import as_text

    def _as_text(value) -> str:
        # Empty or undecodable values become "" and are dropped (and counted) just below.
        return as_text(value, None)[0] or ""

    def need(name: str, option: str) -> pd.Series:
        if name not in frame.columns:
            available = ", ".join(map(str, frame.columns[:20]))
            raise LabelerError(f"{option} {name!r} is not a column of {source} ({available})")
        return frame[name]

    text_col = columns.text or "text"
    if text_col not in frame.columns:
        option = "--text-column" if columns.text else "the default text column"
        need(text_col, option)
    out = pd.DataFrame({"text": [_as_text(v) for v in frame[text_col]]})
    if columns.id:
        out["doc_id"] = need(columns.id, "--id-column").to_numpy()
    else:
        out["doc_id"] = np.arange(first_row, first_row + len(frame), dtype=np.int64)
    if columns.time:
        out["timestamp"] = pd.to_datetime(
            need(columns.time, "--time-column"), errors="coerce", utc=True, format="mixed"
        ).to_numpy()
    if columns.cls:
        out["class"] = [_as_text(v) for v in need(columns.cls, "--class-column")]
    keep = (out["text"].str.strip().str.len() > 0).to_numpy()
    return out[keep].reset_index(drop=True), int((~keep).sum()), keep


def load_table(
    path: Path, columns: Columns, encoding: str | None, delimiter: str | None
) -> tuple[pd.DataFrame, Columns, int]:
    """A non-Parquet corpus read whole by the ordinary reader (dialect, encoding and row
    accounting as `labeler run`), as a frame with the run's column names, and the rows dropped."""
    from labeler.corpus import load_corpus

    corpus = load_corpus(
        path, columns.text, columns.id, columns.time, columns.cls, encoding, delimiter=delimiter
    )
    named = Columns(
        "text", "doc_id", "timestamp" if columns.time else None, "class" if columns.cls else None
    )
    dropped = sum((corpus.stats.get("dropped") or {}).values())
    return corpus.to_frame(), named, dropped


def read_batches(
    path: Path,
    columns: Columns,
    encoding: str | None = None,
    batch_size: int | None = None,
    delimiter: str | None = None,
) -> Iterator[tuple[pd.DataFrame, int]]:
    """(non-empty documents, empty ones dropped) per batch; Parquet is never read whole."""
    batch_size = batch_size or BATCH
    from labeler.corpus import detect_format

    path = Path(path)
    if not path.exists():
        raise LabelerError(f"corpus not found: {path}")
    fmt = detect_format(path)[0]
    if fmt == "parquet":
        try:
            reader = pq.ParquetFile(path)
        except Exception as exc:  # noqa: BLE001 - pyarrow raises many types for a bad file
            raise LabelerError(f"cannot read Parquet file {path}: {exc}") from exc
        wanted = [c for c in (columns.text or "text", columns.id, columns.time, columns.cls) if c]
        missing = [c for c in wanted if c not in reader.schema_arrow.names]
        if missing:
            available = ", ".join(reader.schema_arrow.names[:20])
            raise LabelerError(
                f"{missing[0]!r} is not a column of {path.name} (columns: {available}): "
                "pass --text-column"
            )
        row = 0
        for batch in reader.iter_batches(batch_size=batch_size, columns=wanted):
            frame = batch.to_pandas()
            yield clean_batch(frame, columns, row, path.name)[:2]
            row += len(frame)
        return
    # Other formats have no cheap batched reader: load the table once, then stream it.
    frame, columns, dropped = load_table(path, columns, encoding, delimiter)
    for start in range(0, len(frame), batch_size):
        batch, empty = clean_batch(
            frame.iloc[start : start + batch_size], columns, start, path.name
        )[:2]
        yield batch, empty + (dropped if start == 0 else 0)


def text_hashes(texts) -> np.ndarray:
    """64-bit content hashes, to flag duplicates without keeping a million strings in a set."""
    return np.array(
        [
            int.from_bytes(hashlib.blake2b(t.encode("utf-8"), digest_size=8).digest(), "little")
            for t in texts
        ],
        dtype=np.uint64,
    )


# ---------------------------------------------------------------------------- batch steps
class Assigner:
    """Topic, vote share and map position of documents from their nearest sampled documents.

    The vote is `TopicModel.transform`'s rule (similarity-weighted, k nearest fitted documents,
    outliers vote too). Exact blocked search up to EXACT_ASSIGN_LIMIT sampled documents (measured
    faster here than pynndescent, whose index build and numba compilation dominate at that size);
    above, an NN-descent index (pynndescent, already a UMAP dependency), built once per process.
    """

    def __init__(
        self,
        sample_vectors: np.ndarray,
        sample_topics: np.ndarray,
        sample_layout: np.ndarray,
        k: int = NEIGHBOURS,
        seed: int = 42,
        names: tuple[np.ndarray, np.ndarray, float] | None = None,
    ):
        self.base = unit(np.asarray(sample_vectors, dtype=np.float32))
        # Zero-shot names (vectors, their topics, the similarity they need): a document close
        # enough to a name goes to it first, the fit's own rule (labeler.guided.zero_shot).
        self.names = None
        if names is not None:
            vectors, name_topics, threshold = names
            vectors = unit(np.asarray(vectors, dtype=np.float32))
            self.names = (vectors, np.asarray(name_topics, dtype=np.int64), float(threshold))
        self.topics = np.asarray(sample_topics, dtype=np.int64)
        self.layout = np.asarray(sample_layout, dtype=np.float32)
        self.k = min(k, len(self.base))
        self.seed = seed
        self._index = None

    def _neighbours(self, queries: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if len(self.base) <= EXACT_ASSIGN_LIMIT:
            idx = np.empty((len(queries), self.k), dtype=np.int64)
            top = np.empty((len(queries), self.k), dtype=np.float32)
            step = max(1, 20_000_000 // len(self.base))  # at most ~80 MB of similarities
            for s in range(0, len(queries), step):
                sims = queries[s : s + step] @ self.base.T
                part = np.argpartition(-sims, self.k - 1, axis=1)[:, : self.k]
                idx[s : s + step] = part
                top[s : s + step] = np.take_along_axis(sims, part, axis=1)
            return idx, top
        if self._index is None:
            from pynndescent import NNDescent

            self._index = NNDescent(
                self.base, n_neighbors=30, metric="cosine", random_state=self.seed
            )
            self._index.prepare()
        idx, dist = self._index.query(queries, k=self.k)
        return idx, 1.0 - dist

    def __call__(self, vectors: np.ndarray) -> dict[str, np.ndarray]:
        queries = unit(np.asarray(vectors, dtype=np.float32))
        idx, sims = self._neighbours(queries)
        weights = np.clip(sims, 0, None).astype(np.float64) + 1e-6
        votes_for = self.topics[idx]  # (n, k) topics of the neighbours
        # Sum the weights per (row, topic): one-hot over the topics present, no Python loop.
        labels, inverse = np.unique(votes_for, return_inverse=True)
        inverse = inverse.reshape(votes_for.shape)
        tally = np.zeros((len(queries), len(labels)))
        np.add.at(tally, (np.arange(len(queries))[:, None], inverse), weights)
        best = tally.argmax(axis=1)
        share = tally[np.arange(len(queries)), best] / tally.sum(axis=1)
        norm = weights / weights.sum(axis=1, keepdims=True)
        xy = np.einsum("nk,nkd->nd", norm, self.layout[idx])
        topic = labels[best].astype(np.int64)
        if self.names is not None:
            vectors, name_topics, threshold = self.names
            sims = queries @ vectors.T
            nearest = sims.argmax(axis=1)
            close = sims[np.arange(len(queries)), nearest] >= threshold
            topic[close] = name_topics[nearest[close]]
            share[close] = sims[np.arange(len(queries)), nearest][close]
        return {
            "topic": topic,
            "probability": share.astype(np.float32),
            "x": xy[:, 0].astype(np.float32),
            "y": xy[:, 1].astype(np.float32),
        }


class TermCounter:
    """Topic × word counts of one batch with a fixed vocabulary (learned on the sample).

    Summing these over batches gives exactly the counts c-TF-IDF would see on the whole corpus
    with that vocabulary, in memory bounded by topics × words.
    """

    def __init__(self, vectorizer, topic_ids: list[int]):
        self.vectorizer = vectorizer
        self.row = {int(t): i for i, t in enumerate(topic_ids)}
        self.n_topics = len(topic_ids)

    def __call__(self, texts, topics: np.ndarray) -> sp.csr_matrix:
        n_words = len(self.vectorizer.vocabulary_)
        if len(texts) == 0:
            return sp.csr_matrix((self.n_topics, n_words), dtype=np.float32)
        doc_term = self.vectorizer.transform(list(texts))
        rows = np.array([self.row[int(t)] for t in topics])
        membership = sp.csr_matrix(
            (np.ones(len(rows), dtype=np.float32), (rows, np.arange(len(rows)))),
            shape=(self.n_topics, len(rows)),
        )
        return (membership @ doc_term).tocsr().astype(np.float32)


def topic_sums(vectors: np.ndarray, topics: np.ndarray, topic_ids: list[int]) -> np.ndarray:
    """Per topic, the sum of its documents' unit vectors (a streamed topic centre)."""
    row = {int(t): i for i, t in enumerate(topic_ids)}
    sums = np.zeros((len(topic_ids), vectors.shape[1]), dtype=np.float64)
    np.add.at(sums, np.array([row[int(t)] for t in topics]), unit(vectors))
    return sums


# ---------------------------------------------------------------------------- the pipeline
@dataclass
class Embedded:
    """What the first pass leaves: cleaned documents on disk and their vectors in a memory map."""

    n: int
    dim: int
    empty_dropped: int
    hashes: np.ndarray
    vectors: np.ndarray  # embeddings.npy, memory-mapped read-only


class Engine:
    """How the passes over every document run: in this process (here) or on Ray."""

    name = "local"

    def embed(
        self,
        corpus: Path,
        columns: Columns,
        encoding: str | None,
        embed_fn: Callable | None,
        delimiter: str | None = None,
    ) -> Iterator[tuple[pd.DataFrame, int, np.ndarray | None]]:
        """(documents, empty ones dropped, their vectors) per batch, in corpus order."""
        for frame, dropped in read_batches(corpus, columns, encoding, delimiter=delimiter):
            vectors = embed_fn(frame["text"].tolist()) if len(frame) and embed_fn else None
            yield frame, dropped, vectors

    def assign(self, vectors: np.ndarray, assigner: Assigner) -> dict[str, np.ndarray]:
        parts = [assigner(vectors[s : s + BATCH]) for s in range(0, len(vectors), BATCH)]
        return {key: np.concatenate([p[key] for p in parts]) for key in parts[0]}

    def count(self, clean: Path, topics: np.ndarray, counter: TermCounter) -> sp.csr_matrix:
        total = None
        start = 0
        for batch in pq.ParquetFile(clean).iter_batches(batch_size=BATCH, columns=["text"]):
            texts = batch.column(0).to_pylist()
            part = counter(texts, topics[start : start + len(texts)])
            total = part if total is None else total + part
            start += len(texts)
        return total

    def close(self) -> None:
        pass


def _embed_pass(stream, staging: Path, precomputed: np.ndarray | None) -> Embedded:
    """Read every batch once: cleaned rows to a hidden Parquet file, vectors to a hidden float16
    file (turned into the run's embeddings.npy by `run.records.stream_embeddings`)."""
    clean = staging / CLEAN
    writer = None
    parts_path = staging / ".vectors.f16"
    hashes, n, dropped_total, dim = [], 0, 0, None
    next_note, clock = PROGRESS_EVERY, time.perf_counter()
    with open(parts_path, "wb") as raw:
        for frame, dropped, vectors in stream:
            dropped_total += dropped
            if not len(frame):
                continue
            if precomputed is not None:
                if n + len(frame) > len(precomputed):
                    raise LabelerError(
                        f"--embeddings has {len(precomputed)} rows but the corpus has more "
                        "non-empty documents: need one row per document"
                    )
                vectors = np.asarray(precomputed[n : n + len(frame)], dtype=np.float32)
            if not np.isfinite(vectors).all():
                raise LabelerError("embeddings contain NaN or infinite values")
            dim = vectors.shape[1]
            raw.write(np.ascontiguousarray(vectors, dtype=np.float16).tobytes())
            table = pa.Table.from_pandas(frame, preserve_index=False)
            if writer is None:
                writer = pq.ParquetWriter(clean, table.schema)
            writer.write_table(table.cast(writer.schema))
            hashes.append(text_hashes(frame["text"]))
            n += len(frame)
            if n >= next_note:
                rate = n / max(time.perf_counter() - clock, 1e-9)
                log.info("embedded %d documents (%.0f a second)", n, rate)
                next_note += PROGRESS_EVERY
    if writer is not None:
        writer.close()
    if n == 0:
        raise LabelerError("the corpus has no usable document: all texts are empty")
    if precomputed is not None and n != len(precomputed):
        raise LabelerError(
            f"--embeddings has {len(precomputed)} rows but the corpus has {n} documents "
            "(after dropping empty ones): need one row per document"
        )
    source_rows = np.memmap(parts_path, dtype=np.float16, mode="r", shape=(n, dim))
    blocks = (source_rows[s : s + 65_536] for s in range(0, n, 65_536))
    vectors = stream_embeddings(staging, blocks, n, dim)
    del source_rows
    os.remove(parts_path)
    return Embedded(
        n=n, dim=dim, empty_dropped=dropped_total, hashes=np.concatenate(hashes), vectors=vectors
    )


def _read_rows(clean: Path, rows: np.ndarray, columns: list[str]) -> pd.DataFrame:
    """The given (sorted) rows of the cleaned file, read batch by batch."""
    parts, start = [], 0
    for batch in pq.ParquetFile(clean).iter_batches(batch_size=BATCH, columns=columns):
        lo, hi = np.searchsorted(rows, [start, start + batch.num_rows])
        if hi > lo:
            parts.append(batch.take(pa.array(rows[lo:hi] - start)).to_pandas())
        start += batch.num_rows
    return pd.concat(parts, ignore_index=True)


def _precomputed(embeddings: Path | None) -> np.ndarray | None:
    """--embeddings as a read-only memory map (checked batch by batch as the corpus streams)."""
    if embeddings is None:
        return None
    path = Path(embeddings)
    if not path.is_file():
        raise LabelerError(f"embeddings file not found: {path}")
    try:
        vectors = np.load(path, allow_pickle=False, mmap_mode="r")
    except (ValueError, OSError) as exc:
        raise LabelerError(f"{path} is not a NumPy .npy array: {exc}") from exc
    if vectors.ndim != 2:
        raise LabelerError(f"{path} has shape {vectors.shape}: need (documents, dim)")
    return vectors


@dataclass
class Assignment:
    """Every document's topic, vote share and map position (sampled ones keep their fit's)."""

    topics: np.ndarray
    probabilities: np.ndarray
    layout: np.ndarray
    sample_topics: np.ndarray  # the sampled documents' topics, numbered as the corpus'


def _assign(model, done: Embedded, rows: np.ndarray, engine: Engine) -> Assignment:
    """Topics for the documents outside the sample: the vote of their nearest sampled ones (a
    zero-shot name first when close enough, the fit's own rule); then topic 0 is the largest
    over the whole corpus, as in an ordinary run."""
    n, fit_n = done.n, len(rows)
    topics, probs = model.topics_.copy(), model.assigned_probabilities_.copy()
    layout = model.layout_.astype(np.float32, copy=True)
    if fit_n < n:
        named = model.zeroshot_topics_  # topic → the user's name
        names = None
        if named:
            ids = sorted(named)
            vectors = model.embed([named[t] for t in ids], show_progress=False)
            names = (vectors, np.array(ids), model.zeroshot_min_similarity)
        sample_vectors = np.asarray(done.vectors[rows], dtype=np.float32)
        assigner = Assigner(
            sample_vectors, model.topics_, model.layout_, seed=model.seed, names=names
        )
        assigned = engine.assign(done.vectors, assigner)
        topics, probs = assigned["topic"], assigned["probability"]
        layout = np.stack([assigned["x"], assigned["y"]], axis=1).astype(np.float32)
        topics[rows], probs[rows] = model.topics_, model.assigned_probabilities_
        layout[rows] = model.layout_
    renumbered = renumber_by_size(topics)
    mapping = dict(zip(topics.tolist(), renumbered.tolist()))
    sample_topics = np.array([mapping[int(t)] for t in model.topics_], dtype=np.int64)
    return Assignment(renumbered, probs, layout, sample_topics)


def _count(model, done: Embedded, staging: Path, topics: np.ndarray, engine: Engine):
    """c-TF-IDF counts (the sample's vocabulary) and centres over every document, streamed."""
    topic_ids = [int(t) for t in np.unique(topics)]
    vectorizer = model.ctfidf_.vectorizer_
    if vectorizer is not None:
        counts = engine.count(staging / CLEAN, topics, TermCounter(vectorizer, topic_ids))
    else:
        counts = sp.csr_matrix((len(topic_ids), 0), dtype=np.float32)
    sums = np.zeros((len(topic_ids), done.dim))
    for s in range(0, done.n, 65_536):
        chunk = np.asarray(done.vectors[s : s + 65_536], dtype=np.float32)
        sums += topic_sums(chunk, topics[s : s + 65_536], topic_ids)
    sizes = {t: int(c) for t, c in zip(*np.unique(topics, return_counts=True))}
    centres = {t: unit(sums[i]) for i, t in enumerate(topic_ids)}
    return CorpusCounts(vectorizer, topic_ids, counts, centres, sizes)


def _duplicates(hashes: np.ndarray) -> np.ndarray:
    """Which documents share their text with another (by content hash)."""
    _, inverse, counts = np.unique(hashes, return_inverse=True, return_counts=True)
    return counts[inverse] > 1


def _document_batches(model, staging: Path, assignment: Assignment, representative, duplicate):
    """documents.parquet in batches (`run.records.documents_block`), from the cleaned rows; each
    document's mix of topics from `approximate_distribution` over the corpus' topics."""
    start = 0
    ids = [t for t in sorted(model.topic_ids_) if t >= 0]
    for batch in pq.ParquetFile(staging / CLEAN).iter_batches(batch_size=BATCH):
        frame = batch.to_pandas()
        stop = start + len(frame)
        distribution, _ = model.approximate_distribution(frame["text"].astype(str).tolist())
        yield documents_block(
            frame["doc_id"], frame["text"], assignment.topics[start:stop],
            assignment.probabilities[start:stop], assignment.layout[start:stop],
            representative[start:stop], duplicate[start:stop], frame,
            mix=top_topics(distribution, ids),
        )  # fmt: skip
        start = stop


def run_large(
    corpus: CorpusSpec,
    out: Path,
    model: TopicModel,
    *,
    sample_fit: int | None = None,
    embeddings: Path | None = None,
    llm: LLMSettings | None = None,
    cache_dir: Path | None = None,
    engine: Engine | None = None,
) -> RunResult:
    """`labeler run --sample-fit N`: `run_pipeline` for a corpus too large to fit whole (the
    module docstring): the same corpus spec, estimator, run files and result, with `model`
    fitted on a seeded sample of `sample_fit` documents (default: what the memory budget
    allows) and every other document assigned. `engine` runs the passes over every document: in
    this process by default, or on Ray."""
    out = check_out(out)
    if corpus.sample is not None:
        raise LabelerError(
            "--sample cannot be combined with --sample-fit or --engine ray "
            "(they already fit on a sample and assign the rest)"
        )
    engine = engine or Engine()
    sample_fit = sample_fit or fit_size()
    columns = Columns(corpus.text_column, corpus.id_column, corpus.time_column, corpus.class_column)
    precomputed = _precomputed(embeddings)
    timings: dict[str, float] = {}
    state: dict = {}

    def writer(staging: Path) -> None:
        clock = time.perf_counter()
        log.info("reading and embedding in batches of %d (%s engine)", BATCH, engine.name)
        embed_fn = None
        if precomputed is None:

            def embed_fn(texts):  # the large path reports progress itself, per batch
                return model.embed(texts, show_progress=False)

        stream = engine.embed(Path(corpus.path), columns, corpus.encoding, embed_fn,
                              corpus.delimiter)  # fmt: skip
        done = _embed_pass(stream, staging, precomputed)
        timings["embed"] = time.perf_counter() - clock
        n = done.n
        log.info(
            "%d documents (%d empty dropped); embeddings: a float16 memory map (%.0f MB)",
            n, done.empty_dropped, done.vectors.nbytes / 1e6,
        )  # fmt: skip

        clock = time.perf_counter()
        fit_n = min(sample_fit, n)
        rng = np.random.default_rng(model.seed)
        rows = np.sort(rng.choice(n, size=fit_n, replace=False)) if fit_n < n else np.arange(n)
        sample = _read_rows(staging / CLEAN, rows, ["doc_id", "text"])
        log.info("fitting UMAP and HDBSCAN on a seeded sample of %d documents", fit_n)
        model.fit(
            sample["text"].tolist(), np.asarray(done.vectors[rows], dtype=np.float32),
            sample["doc_id"].tolist(),
        )  # fmt: skip
        timings["fit_sample"] = time.perf_counter() - clock

        clock = time.perf_counter()
        log.info("assigning %d documents by their %d nearest sampled ones", n - fit_n, NEIGHBOURS)
        assignment = _assign(model, done, rows, engine)
        timings["assign"] = time.perf_counter() - clock

        clock = time.perf_counter()
        counted = _count(model, done, staging, assignment.topics, engine)
        timings["count"] = time.perf_counter() - clock

        clock = time.perf_counter()
        model.describe_corpus(assignment.sample_topics, counted)
        timings["describe"] = time.perf_counter() - clock

        clock = time.perf_counter()
        representative = np.zeros(n, dtype=bool)
        for idx in model.representative_rows_.values():
            representative[rows[idx]] = True
        duplicate = _duplicates(done.hashes)
        config = _config(model, corpus, embeddings, llm, done, engine, fit_n, duplicate)
        config["distribution"]["mix"] = "approximate_distribution"  # the sample's is not all
        batches = _document_batches(model, staging, assignment, representative, duplicate)
        save_model(model, staging, config, documents=batches)
        new = Run(staging, check=False)
        new.db.add_answers(earlier_answers)
        os.remove(staging / CLEAN)
        timings["write"] = time.perf_counter() - clock
        if llm is None:  # with an LLM, the reports are rendered once, after labeling
            clock = time.perf_counter()
            render_reports(new)
            timings["report"] = time.perf_counter() - clock
        config["timings_s"] = {k: round(v, 3) for k, v in timings.items()}
        write_json(staging / CONFIG, config)
        state.update(n=n, fit_n=fit_n, sizes=counted.sizes)

    with run_lock(out):
        earlier_answers = read_llm_cache(out)
        try:
            run = Run.create(out, writer)
        finally:
            engine.close()
        labels = label_and_render(run, llm, cache_dir, timings)
    log.info(
        "stages (s): %s", ", ".join(f"{k} {v:.1f}" for k, v in timings.items() if k != "report")
    )
    sizes, n = state["sizes"], state["n"]
    return RunResult(
        run_dir=run.path,
        model=model,
        documents=n,
        topics=len([t for t in sizes if t >= 0]),
        outlier_share=sizes.get(-1, 0) / n,
        labels=labels,
        sample_fit=state["fit_n"],
        peak_rss_gb=peak_rss_gb(),
        timings=timings,
    )


def _config(
    model, corpus: CorpusSpec, embeddings, llm, done: Embedded, engine, fit_n, duplicate
) -> dict:
    """config.json as `run_pipeline` writes it (`run.records.model_config`), with how this run
    read the corpus in batches and what the sample was."""
    config = fitted_config(model, embeddings)
    config["embedding"]["storage"] = "float16 memory map"
    config["corpus"] = {
        "name": Path(corpus.path).name,
        **({"title": corpus.title} if corpus.title else {}),
        "source": str(corpus.path),
        "stats": {
            "format": Path(str(corpus.path)).suffix.lstrip(".") or "folder",
            "documents": done.n,
            "empty_dropped": done.empty_dropped,
            "duplicates": int(duplicate.sum()),  # documents whose text another one has
            "text_column": corpus.text_column or "text",
            "id_column": corpus.id_column,
            "time_column": corpus.time_column,
            "class_column": corpus.class_column,
        },
        "encoding": corpus.encoding,
        "sample": None,
    }
    config["scale"] = {
        "engine": engine.name,
        "sample_fit": fit_n,
        "assigned": done.n - fit_n,
        "neighbours": NEIGHBOURS,
        "assignment": "similarity-weighted vote of the nearest sampled documents",
        "keywords": "c-TF-IDF over every document, vocabulary learned on the sample",
    }
    config["llm"] = llm.public() if llm else {"provider": "none"}
    return config
