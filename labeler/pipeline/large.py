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
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import scipy.sparse as sp

from labeler.cluster import renumber_by_size
from labeler.errors import LabelerError
from labeler.guided import ZERO_SHOT_SOURCE
from labeler.represent import STAGES, TopicInput, keyword_label, representative_documents, unit
from labeler.represent.ctfidf import ctfidf_weights
from labeler.represent.describe import _word_vectors

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


def _clean_batch(frame: pd.DataFrame, columns: Columns, first_row: int, source: str):
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
            yield _clean_batch(frame, columns, row, path.name)[:2]
            row += len(frame)
        return
    # Other formats have no cheap batched reader: load the table once, then stream it.
    frame, columns, dropped = load_table(path, columns, encoding, delimiter)
    for start in range(0, len(frame), batch_size):
        batch, empty = _clean_batch(
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
    columns: list[str] = field(default_factory=list)


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
    """Read every batch once: write cleaned rows to a hidden Parquet file and vectors to disk."""
    clean = staging / ".documents-clean.parquet"
    writer = None
    parts_path = staging / ".vectors.f16"
    hashes, n, dropped_total, dim = [], 0, 0, None
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
    if writer is not None:
        writer.close()
    if n == 0:
        raise LabelerError("the corpus has no usable document: all texts are empty")
    if precomputed is not None and n != len(precomputed):
        raise LabelerError(
            f"--embeddings has {len(precomputed)} rows but the corpus has {n} documents "
            "(after dropping empty ones): need one row per document"
        )
    # Give the raw float16 rows a .npy header: the run's embeddings.npy, memory-mappable.
    vectors = np.lib.format.open_memmap(
        staging / "embeddings.npy", mode="w+", dtype=np.float16, shape=(n, dim)
    )
    source_rows = np.memmap(parts_path, dtype=np.float16, mode="r", shape=(n, dim))
    for s in range(0, n, 65_536):
        vectors[s : s + 65_536] = source_rows[s : s + 65_536]
    vectors.flush()
    del vectors, source_rows
    os.remove(parts_path)
    return Embedded(n=n, dim=dim, empty_dropped=dropped_total, hashes=np.concatenate(hashes))


def _read_rows(clean: Path, rows: np.ndarray, columns: list[str]) -> pd.DataFrame:
    """The given (sorted) rows of the cleaned file, read batch by batch."""
    parts, start = [], 0
    for batch in pq.ParquetFile(clean).iter_batches(batch_size=BATCH, columns=columns):
        lo, hi = np.searchsorted(rows, [start, start + batch.num_rows])
        if hi > lo:
            parts.append(batch.take(pa.array(rows[lo:hi] - start)).to_pandas())
        start += batch.num_rows
    return pd.concat(parts, ignore_index=True)


@dataclass
class LargeResult:
    run_dir: Path
    documents: int
    topics: int
    outlier_share: float
    sample_fit: int
    peak_rss_gb: float
    timings: dict
    model: object = None
    labels: object = None


def run_large(
    corpus_path: Path,
    out: Path,
    sample_fit: int | None = None,
    text_column: str | None = None,
    id_column: str | None = None,
    time_column: str | None = None,
    class_column: str | None = None,
    encoding: str | None = None,
    delimiter: str | None = None,
    embedding_model=None,  # a spec string, or an embedder object (an endpoint's)
    embeddings: Path | None = None,
    min_cluster_size: int | None = None,
    min_samples: int | None = None,
    n_neighbors: int = 15,
    ngram_max: int = 1,
    min_df: int | None = None,
    top_n_words: int = 10,
    representative_docs: int = 5,
    seed: int = 42,
    topics: int | None = None,
    max_topic_share: float = 1.0,
    seed_topic_list: list[list[str]] | None = None,
    zeroshot_topic_list: list[str] | None = None,
    zeroshot_min_similarity: float = 0.7,
    llm=None,
    cache_dir: Path | None = None,
    no_cache: bool = False,
    engine: Engine | None = None,
) -> LargeResult:
    """`labeler run --sample-fit N`: the streaming pipeline described in the module docstring.

    `engine` runs the passes over every document: in this process by default, or on Ray.
    """
    from labeler.embedding.sbert import DEFAULT_MODEL
    from labeler.model import TopicModel
    from labeler.run.db import RunDB
    from labeler.run.folder import Run
    from labeler.run.layout import CONFIG, DOCUMENTS, HIERARCHY, TOPICS, write_json
    from labeler.run.records import model_config, read_llm_cache
    from labeler.views.report import render_reports

    engine = engine or Engine()
    sample_fit = sample_fit or fit_size()
    columns = Columns(text_column, id_column, time_column, class_column)
    precomputed = None
    if embeddings is not None:
        path = Path(embeddings)
        if not path.is_file():
            raise LabelerError(f"embeddings file not found: {path}")
        try:
            precomputed = np.load(path, allow_pickle=False, mmap_mode="r")
        except (ValueError, OSError) as exc:
            raise LabelerError(f"{path} is not a NumPy .npy array: {exc}") from exc
        if precomputed.ndim != 2:
            raise LabelerError(f"{path} has shape {precomputed.shape}: need (documents, dim)")
    model_name = embedding_model or (None if embeddings is not None else DEFAULT_MODEL)
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
        # The sample's topics follow the same granularity rules as a whole-corpus fit.
        max_topic_share=max_topic_share if max_topic_share < 1 else None,
        n_topics=topics,
        # Guided topics steer the sample's fit; the assignment keeps named topics (Assigner).
        seed_topic_list=seed_topic_list,
        zeroshot_topic_list=zeroshot_topic_list,
        zeroshot_min_similarity=zeroshot_min_similarity,
        cache_dir=str(cache_dir) if cache_dir else None,
        use_cache=not no_cache,
        show_progress=False,
    )
    timings: dict[str, float] = {}
    state: dict = {}
    earlier_answers = read_llm_cache(out)

    def writer(staging: Path) -> None:
        clock = time.perf_counter()
        log.info("reading and embedding in batches of %d (%s engine)", BATCH, engine.name)
        embed_fn = None if precomputed is not None else model.embed
        stream = engine.embed(Path(corpus_path), columns, encoding, embed_fn, delimiter)
        done = _embed_pass(stream, staging, precomputed)
        timings["embed"] = time.perf_counter() - clock
        n = done.n
        vectors = np.load(staging / "embeddings.npy", mmap_mode="r")
        clean = staging / ".documents-clean.parquet"
        log.info(
            "%d documents (%d empty dropped); embeddings: %s float16 memory map (%.0f MB)",
            n,
            done.empty_dropped,
            "embeddings.npy",
            vectors.nbytes / 1e6,
        )

        # -- fit on a seeded sample
        clock = time.perf_counter()
        rng = np.random.default_rng(seed)
        fit_n = min(sample_fit, n)
        rows = np.sort(rng.choice(n, size=fit_n, replace=False)) if fit_n < n else np.arange(n)
        sample = _read_rows(clean, rows, ["doc_id", "text"])
        sample_vectors = np.asarray(vectors[rows], dtype=np.float32)
        log.info("fitting UMAP and HDBSCAN on a seeded sample of %d documents", fit_n)
        model.fit(sample["text"].tolist(), sample_vectors, sample["doc_id"].tolist())
        timings["fit_sample"] = time.perf_counter() - clock

        # -- assign everything (sampled documents keep their fitted topic and place)
        clock = time.perf_counter()
        log.info("assigning %d documents by their %d nearest sampled ones", n - fit_n, NEIGHBOURS)
        named = getattr(model, "zeroshot_topics_", {})  # topic → the user's name
        names = None
        if named and fit_n < n:
            name_topics = sorted(named)
            names = (model.embed([named[t] for t in name_topics]), np.array(name_topics),
                     zeroshot_min_similarity)  # fmt: skip
        assigner = Assigner(sample_vectors, model.topics_, model.layout_, seed=seed, names=names)
        assigned = engine.assign(vectors, assigner) if fit_n < n else None
        topics = assigned["topic"] if assigned else model.topics_.copy()
        probs = assigned["probability"] if assigned else model.probabilities_.copy()
        xs = assigned["x"] if assigned else model.layout_[:, 0].copy()
        ys = assigned["y"] if assigned else model.layout_[:, 1].copy()
        topics[rows] = model.topics_
        probs[rows] = model.probabilities_
        xs[rows], ys[rows] = model.layout_[:, 0], model.layout_[:, 1]
        # Topic 0 is the largest over the whole corpus, as in an ordinary run.
        old_topics = topics
        topics = renumber_by_size(old_topics)
        mapping = dict(zip(old_topics.tolist(), topics.tolist()))
        sample_topics = np.array([mapping[int(t)] for t in model.topics_], dtype=np.int64)
        named = {mapping[t]: name for t, name in named.items()}
        timings["assign"] = time.perf_counter() - clock

        # -- c-TF-IDF from counts streamed over every document
        clock = time.perf_counter()
        topic_ids = [int(t) for t in np.unique(topics)]
        vectorizer = model.ctfidf_.vectorizer_
        if vectorizer is not None:
            counter = TermCounter(vectorizer, topic_ids)
            counts = engine.count(clean, topics, counter)
            words = vectorizer.get_feature_names_out().astype(object)
        else:
            counts, words = sp.csr_matrix((len(topic_ids), 0), dtype=np.float32), np.array([])
        centres = np.zeros((len(topic_ids), done.dim))
        for s in range(0, n, 65_536):
            chunk = np.asarray(vectors[s : s + 65_536], dtype=np.float32)
            centres += topic_sums(chunk, topics[s : s + 65_536], topic_ids)
        timings["count"] = time.perf_counter() - clock

        clock = time.perf_counter()
        _describe(model, topic_ids, counts, words, centres, topics, sample_topics, sample_vectors)
        keyword_labels = dict(model.labels_)  # a zero-shot topic's version 1, as in a small run
        model.zeroshot_topics_ = named
        model.labels_.update(named)
        if named and "zero_shot" in model.guided_:
            model.guided_["zero_shot"]["topics"] = {str(t): v for t, v in named.items()}
            model.guided_["zero_shot"]["documents_assigned"] = int(
                np.isin(topics, list(named)).sum()
            )
        timings["describe"] = time.perf_counter() - clock

        # -- write the run folder
        clock = time.perf_counter()
        sizes = {t: int(c) for t, c in zip(*np.unique(topics, return_counts=True))}
        representative = np.zeros(n, dtype=bool)
        rep_ids = {}
        for t, idx in model.representative_docs_.items():
            representative[rows[idx]] = True
            rep_ids[t] = idx
        _, inverse, dup_counts = np.unique(done.hashes, return_inverse=True, return_counts=True)
        duplicate = dup_counts[inverse] > 1
        del inverse
        out_writer, start = None, 0
        for batch in pq.ParquetFile(clean).iter_batches(batch_size=BATCH):
            frame = batch.to_pandas()
            stop = start + len(frame)
            block = pd.DataFrame(
                {
                    "doc_id": frame["doc_id"],
                    "text": frame["text"],
                    "topic": topics[start:stop],
                    "probability": np.round(probs[start:stop], 5),
                    "x": xs[start:stop],
                    "y": ys[start:stop],
                    "representative": representative[start:stop],
                    "duplicate": duplicate[start:stop],
                }
            )
            for extra in ("timestamp", "class"):
                if extra in frame:
                    block[extra] = frame[extra].to_numpy()
            table = pa.Table.from_pandas(block, preserve_index=False)
            if out_writer is None:
                out_writer = pq.ParquetWriter(staging / DOCUMENTS, table.schema)
            out_writer.write_table(table.cast(out_writer.schema))
            start = stop
        out_writer.close()
        os.remove(clean)

        config = model_config(model)
        config["hdbscan"]["min_cluster_size"] = model.min_cluster_size_
        config["vectorizer"]["vocabulary_size"] = len(words)
        config["embedding"]["dimensions"] = done.dim
        config["embedding"]["storage"] = "float16 memory map"
        if embeddings is not None:
            config["embedding"]["model"] = f"precomputed:{Path(embeddings).name}"
            config["embedding"]["query_model"] = embedding_model
        config["corpus"] = {
            "name": Path(corpus_path).name,
            "source": str(corpus_path),
            "stats": {
                "format": Path(str(corpus_path)).suffix.lstrip(".") or "folder",
                "documents": n,
                "empty_dropped": done.empty_dropped,
                "duplicates": int(duplicate.sum()),
                "text_column": text_column or "text",
                "id_column": id_column,
                "time_column": time_column,
                "class_column": class_column,
            },
            "encoding": encoding,
            "sample": None,
        }
        config["scale"] = {
            "engine": engine.name,
            "sample_fit": fit_n,
            "assigned": n - fit_n,
            "neighbours": NEIGHBOURS,
            "assignment": "similarity-weighted vote of the nearest sampled documents",
            "keywords": "c-TF-IDF over every document, vocabulary learned on the sample",
        }
        config["llm"] = llm.public() if llm else {"provider": "none"}
        write_json(staging / CONFIG, config)
        records = _topic_records(model, sizes, n, sample, rep_ids, sample_topics)
        write_json(staging / TOPICS, records)
        db = RunDB(staging, create=True)
        db.add_keyword_labels(keyword_labels)
        for topic, name in named.items():  # version 2: the user's name for a zero-shot topic
            db.add_label_version(topic, name, source=ZERO_SHOT_SOURCE)
        RunDB(staging).add_answers(earlier_answers)
        write_json(staging / HIERARCHY, _sample_tree(model, sizes))
        timings["write"] = time.perf_counter() - clock
        if llm is None:  # with an LLM, the reports are rendered once, after labeling
            clock = time.perf_counter()
            render_reports(staging)
            timings["report"] = time.perf_counter() - clock
        config["timings_s"] = {k: round(v, 3) for k, v in timings.items()}
        write_json(staging / CONFIG, config)
        state.update(n=n, fit_n=fit_n, sizes=sizes)

    try:
        run = Run.create(out, writer)
    finally:
        engine.close()
    run_dir = run.path
    labels = None
    if llm is not None:
        from labeler.labels.labeling import label_topics

        try:
            labels = label_topics(run, llm, cache_dir=cache_dir, tree=True)
        finally:  # a failed label step still leaves the run with its reports
            clock = time.perf_counter()
            render_reports(run_dir)
            timings["report"] = time.perf_counter() - clock
        log.info("%s", labels.line())
        if labels.tree is not None:
            log.info("%s", labels.tree.line("tree names", "node"))
    sizes = state["sizes"]
    peak = peak_rss_gb()
    log.info(
        "stages (s): %s", ", ".join(f"{k} {v:.1f}" for k, v in timings.items() if k != "report")
    )
    return LargeResult(
        run_dir=run_dir,
        documents=state["n"],
        topics=len([t for t in sizes if t >= 0]),
        outlier_share=sizes.get(-1, 0) / state["n"],
        sample_fit=state["fit_n"],
        peak_rss_gb=peak,
        timings=timings,
        model=model,
        labels=labels,
    )


def _sample_tree(model, sizes: dict[int, int]) -> dict:
    """hierarchy.json for a large run: the tree is built from the sample the model was fitted on
    (the topics' centres and the parents' keywords and examples, bounded in memory), the topics'
    own keywords are the corpus-wide ones (`_describe`), and every node's size counts the whole
    corpus: a parent holds the documents of its topics."""
    from labeler.run.records import tree_record

    tree = tree_record(model)
    for node in tree["nodes"]:
        node["size"] = sum(sizes.get(t, 0) for t in node["topics"])
    return tree


def _describe(model, topic_ids, counts, words, centres, topics, sample_topics, sample_vectors):
    """Keywords from the corpus-wide counts, centres from every vector, examples from the sample.

    The same stage chain as `describe_topics` (c-TF-IDF candidates, then the registry's stages),
    fed with streamed counts instead of a vectorizer fitted on every text at once.
    """
    model.topics_ = sample_topics
    model.hierarchy_ = None  # any tree built so far has the sample's topic numbers
    model.topic_ids_ = topic_ids
    model.topic_sizes_ = {t: int((topics == t).sum()) for t in topic_ids}
    model.topic_embeddings_ = {t: unit(centres[i]) for i, t in enumerate(topic_ids)}
    weights = ctfidf_weights(counts) if counts.shape[1] else counts
    candidates = {}
    for i, t in enumerate(topic_ids):
        if weights.shape[1] == 0:
            candidates[t] = []
            continue
        scores = weights[i].toarray().ravel()
        top = np.argsort(-scores, kind="stable")[: model.n_candidate_words]
        candidates[t] = [(str(words[j]), float(scores[j])) for j in top if scores[j] > 0]
    dim = sample_vectors.shape[1]
    embed_words = model._embed_words if model._embedder() is not None else None
    vectors = _word_vectors(embed_words, candidates, dim)
    used = [s for s in STAGES if vectors is not None or not s.needs_vectors]
    model.keywords_ = {s.name: {} for s in used}
    for t in topic_ids:
        ws = candidates[t]
        word_vectors = None
        if vectors is not None:
            word_vectors = (
                np.stack([vectors[w] for w, _ in ws]) if ws else np.zeros((0, dim), np.float32)
            )
        topic = TopicInput(
            t, ws, word_vectors, model.topic_embeddings_[t], model.top_n_words, model.mmr_diversity
        )
        for stage in used:
            model.keywords_[stage.name][t] = stage.words(topic)
    model.representative_docs_ = {
        t: representative_documents(
            sample_vectors,
            sample_topics,
            t,
            model.topic_embeddings_[t],
            n=model.n_representative_docs,
        )
        for t in topic_ids
    }
    final = model.keywords_.get("mmr") or model.keywords_["ctfidf"]
    model.labels_ = {t: keyword_label(t, final[t]) for t in topic_ids}


def _topic_records(model, sizes, n, sample, rep_ids, sample_topics) -> list[dict]:
    """The `topics.json` contract (as `run.records.topic_records`), examples from the sample."""
    from labeler.run.records import _id_column

    records = []
    for t in sorted(model.topic_ids_, key=lambda t: (t < 0, t)):
        idx = rep_ids.get(t, [])
        members = sample_topics == t
        layout = model.layout_[members] if members.any() else np.zeros((1, 2))
        record = {
            "topic": int(t),
            "size": int(sizes[t]),
            "share": round(sizes[t] / n, 5),
            "label": model.labels_[t],
            "label_source": ZERO_SHOT_SOURCE if t in model.zeroshot_topics_ else "keywords",
            "summary": None,
            "is_outlier": t < 0,
        }
        for stage in STAGES:  # the keys of run.records.topic_records
            if stage.name in model.keywords_:
                record[stage.key] = [
                    [w, round(float(s), 5)] for w, s in model.keywords_[stage.name].get(t, [])
                ]
        record["representative_docs"] = [sample["text"].iloc[i] for i in idx]
        record["representative_doc_ids"] = _id_column([sample["doc_id"].iloc[i] for i in idx])
        record["map_position"] = [round(float(v), 4) for v in np.median(layout, axis=0)]
        records.append(record)
    return records
