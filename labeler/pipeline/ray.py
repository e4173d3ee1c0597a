"""`labeler run --engine ray`: the large-corpus pipeline with its per-document passes on Ray.

- Reading and embedding: Ray Data reads Parquet from a path or an object-store URI (s3://, gs://,
  abfs://... whatever pyarrow's filesystems resolve) and embeds in an actor pool (each actor loads
  the model once; one GPU per actor when the cluster has GPUs). Order is preserved, so the driver
  streams the vectors into the run's float16 memory map as they arrive.
- The fit (UMAP, HDBSCAN, the map) runs on the driver on a seeded sample, exactly as the local
  engine does: it is the one step that does not parallelise, and a sample is what makes it cheap.
- Assignment and word counting run in pools of actors that hold the sampled index or the
  vocabulary once, over batches the driver sends in order, a bounded number in flight.

The run folder is the same as a local run's. Only `labeler.pipeline.large`'s batch steps run on
workers, so
the topics agree with the single-process run on the same sample.
"""

from __future__ import annotations

import logging
import os
import socket
import urllib.parse
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import scipy.sparse as sp

from labeler.errors import LabelerError
from labeler.pipeline.large import BATCH, Assigner, Columns, Engine, TermCounter, clean_batch

log = logging.getLogger("labeler")

IN_FLIGHT_PER_ACTOR = 2


def _ray():
    try:
        import ray
    except ImportError as exc:
        raise LabelerError(
            "--engine ray needs Ray: pip install 'labeler[ray]' (ray[data] 2.60)"
        ) from exc
    return ray


def ray_host_port(address: str) -> tuple[str, int] | None:
    """(host, port) of a Ray address; None for `auto` and `local`; ValueError when malformed."""
    if address in ("auto", "local"):
        return None
    rest = address[len("ray://") :] if address.startswith("ray://") else address
    if "://" in rest:
        raise ValueError("only the ray:// scheme is understood")
    parts = urllib.parse.urlsplit("//" + rest)
    try:
        port = parts.port
    except ValueError:
        raise ValueError("the port is not a number from 1 to 65535") from None
    if not parts.hostname or any(ch.isspace() for ch in rest):
        raise ValueError("no host")
    if port is None or port == 0:
        raise ValueError("no port")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ValueError("a path after the port")
    return parts.hostname, port


CONNECT_TIMEOUT_S = 3.0


def check_reachable(host: str, port: int, what: str, timeout: float = CONNECT_TIMEOUT_S) -> None:
    """Refuse in a few seconds, with one line, an address where nothing listens."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return
    except OSError as exc:
        reason = "timed out" if isinstance(exc, TimeoutError) else (exc.strerror or str(exc))
        raise LabelerError(
            f"cannot reach {what} at {host}:{port} ({reason}): start the cluster there "
            "(`ray start --head`) or leave out --ray-address for a local Ray"
        ) from None


def _root_cause(exc: BaseException) -> str:
    """The innermost error's first line: Ray wraps a worker's exception several times."""
    while exc.__cause__ is not None:
        exc = exc.__cause__
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


class _EmbedBatch:
    """Ray Data callable class: one model per actor, reused for every batch it is given."""

    def __init__(self, model: str | None, cache_dir: str | None, use_cache: bool, text: str):
        from labeler.model import TopicModel

        self.model = TopicModel(embedding_model=model, cache_dir=cache_dir, use_cache=use_cache)
        self.text = text

    def __call__(self, batch: dict) -> dict:
        texts = ["" if t is None else str(t) for t in batch[self.text]]
        vectors = self.model.embed(texts) if texts else np.zeros((0, 1), np.float32)
        return {**batch, "__vector": np.asarray(vectors, dtype=np.float32)}


class _Worker:
    """Holds one batch step (an Assigner or a TermCounter) and applies it to each batch sent."""

    def __init__(self, step):
        self.step = step

    def run(self, *args):
        return self.step(*args)


class RayEngine(Engine):
    """Runs `labeler.pipeline.large`'s passes on Ray; joins `address`, or starts (and stops) a
    local Ray."""

    name = "ray"

    def __init__(
        self,
        address: str | None = None,
        embedding_model: str | None = None,
        cache_dir: Path | None = None,
        no_cache: bool = False,
    ):
        ray = _ray()
        self._started = False
        if not ray.is_initialized() and address:
            # ray.init waits minutes for an address where nothing listens: ask the port first.
            try:
                where = ray_host_port(address)
            except ValueError as exc:
                raise LabelerError(f"--ray-address {address!r}: {exc}") from None
            if where is not None:
                check_reachable(*where, "the Ray cluster")
        if not ray.is_initialized():
            kwargs = {
                "log_to_driver": False,
                "include_dashboard": False,
                "logging_level": logging.ERROR,
            }
            try:
                ray.init(address=address, **kwargs)
            except Exception as exc:  # noqa: BLE001 - connection errors have many types
                first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                raise LabelerError(
                    f"cannot start or join Ray at {address or 'local'}: {first}"
                ) from exc
            self._started = True
        resources = ray.cluster_resources()
        self.cpus = int(resources.get("CPU", 1))
        self.gpus = int(resources.get("GPU", 0))
        from labeler.embedding.sbert import DEFAULT_MODEL

        self.embedding_model = embedding_model or DEFAULT_MODEL
        self.cache_dir = str(cache_dir) if cache_dir else None
        self.use_cache = not no_cache
        log.info("Ray: %d CPUs, %d GPUs", self.cpus, self.gpus)

    # ------------------------------------------------------------------ reading and embedding
    def embed(
        self,
        corpus: Path,
        columns: Columns,
        encoding: str | None,
        embed_fn: Callable | None,
        delimiter: str | None = None,
    ) -> Iterator[tuple[pd.DataFrame, int, np.ndarray | None]]:
        _ray()
        import ray.data

        logging.getLogger("ray.data").setLevel(logging.WARNING)
        context = ray.data.DataContext.get_current()
        context.execution_options.preserve_order = True  # rows stay aligned with the memory map
        context.enable_progress_bars = False
        source = str(corpus)
        wanted = [c for c in (columns.text or "text", columns.id, columns.time, columns.cls) if c]
        if "://" in source or source.lower().endswith((".parquet", ".pq")) or Path(source).is_dir():
            try:
                ds = ray.data.read_parquet(source).select_columns(wanted)
            except Exception as exc:  # noqa: BLE001 - missing file, bad URI, wrong columns
                first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                raise LabelerError(f"Ray cannot read Parquet from {source}: {first}") from exc
        else:
            from labeler.pipeline.large import load_table

            # Not Parquet: read by the ordinary reader on the driver, then handed to Ray Data.
            frame, columns, _ = load_table(Path(source), columns, encoding, delimiter)
            ds = ray.data.from_pandas(frame)
        # One model per actor; on GPUs one actor per device, on CPUs half the cores (torch
        # already uses two threads per actor).
        actors = self.gpus or max(1, self.cpus // 2)
        pool = {"num_gpus": 1} if self.gpus else {"num_cpus": 1}
        log.info("Ray Data: embedding in %d %s actors", actors, "GPU" if self.gpus else "CPU")
        ds = ds.map_batches(
            _EmbedBatch,
            fn_constructor_args=(
                self.embedding_model, self.cache_dir, self.use_cache, columns.text or "text"
            ),
            batch_size=min(BATCH, 2048),
            batch_format="numpy",
            compute=ray.data.ActorPoolStrategy(size=actors),
            **pool,
        )  # fmt: skip
        row = 0
        batches = iter(ds.iter_batches(batch_size=BATCH, batch_format="numpy"))
        while True:
            try:
                batch = next(batches)
            except StopIteration:
                return
            except Exception as exc:  # noqa: BLE001 - a worker's error arrives wrapped by Ray
                raise LabelerError(f"Ray embedding pass failed: {_root_cause(exc)}") from exc
            vectors = batch.pop("__vector")
            frame = pd.DataFrame({k: list(v) for k, v in batch.items()})
            clean, dropped, keep = clean_batch(frame, columns, row, Path(source).name)
            row += len(frame)
            yield clean, dropped, vectors[keep]

    # ------------------------------------------------------------------ actor pools
    def _pool(self, step, n: int):
        ray = _ray()
        worker = ray.remote(num_cpus=1)(_Worker)
        step_ref = ray.put(step)
        return [worker.remote(step_ref) for _ in range(n)]

    def _ordered(self, actors, jobs: Iterator[tuple]) -> Iterator:
        """Results of `jobs` in order, a bounded number in flight over the actors."""
        ray = _ray()
        pending: list = []
        limit = IN_FLIGHT_PER_ACTOR * len(actors)
        for i, args in enumerate(jobs):
            pending.append(actors[i % len(actors)].run.remote(*args))
            if len(pending) >= limit:
                yield ray.get(pending.pop(0))
        for ref in pending:
            yield ray.get(ref)

    def _actors(self) -> int:
        text = os.environ.get("LABELER_RAY_ACTORS", "").strip()
        if not text:
            return max(1, self.cpus)
        if not text.isdigit():
            raise LabelerError(f"LABELER_RAY_ACTORS={text[:40]!r}: give a number of actors, e.g. 4")
        return max(1, min(self.cpus, int(text)))

    def assign(self, vectors: np.ndarray, assigner: Assigner) -> dict[str, np.ndarray]:
        actors = self._pool(assigner, self._actors())
        jobs = (
            (np.asarray(vectors[s : s + BATCH], dtype=np.float32),)
            for s in range(0, len(vectors), BATCH)
        )
        parts = list(self._ordered(actors, jobs))
        return {key: np.concatenate([p[key] for p in parts]) for key in parts[0]}

    def count(self, clean: Path, topics: np.ndarray, counter: TermCounter) -> sp.csr_matrix:
        actors = self._pool(counter, self._actors())

        def jobs():
            start = 0
            for batch in pq.ParquetFile(clean).iter_batches(batch_size=BATCH, columns=["text"]):
                texts = batch.column(0).to_pylist()
                yield texts, topics[start : start + len(texts)]
                start += len(texts)

        total = None
        for part in self._ordered(actors, jobs()):
            total = part if total is None else total + part
        return total

    def close(self) -> None:
        if self._started:
            _ray().shutdown()
            self._started = False
