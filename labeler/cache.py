"""On-disk caches under one folder: embeddings per text, and results of deterministic steps.

Both are content-addressed, so a stale entry can never be served: changing the text, the model or a
parameter changes the key.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np


def default_cache_dir() -> Path:
    env = os.environ.get("LABELER_CACHE_DIR")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "labeler"


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class EmbeddingCache:
    """SQLite store of vectors keyed by (model key, text hash)."""

    def __init__(self, directory: Path | None = None):
        self.directory = Path(directory) if directory else default_cache_dir()
        self.path = self.directory / "embeddings.sqlite"

    def _connect(self) -> sqlite3.Connection:
        self.directory.mkdir(parents=True, exist_ok=True)
        con = sqlite3.connect(self.path, timeout=30)
        con.execute("PRAGMA journal_mode=WAL")
        con.execute(
            "CREATE TABLE IF NOT EXISTS vectors (model TEXT, hash TEXT, dim INTEGER, vec BLOB,"
            " PRIMARY KEY (model, hash))"
        )
        return con

    def get(self, model: str, hashes: Sequence[str]) -> dict[str, np.ndarray]:
        found: dict[str, np.ndarray] = {}
        unique = list(dict.fromkeys(hashes))
        with self._connect() as con:
            for start in range(0, len(unique), 500):
                chunk = unique[start : start + 500]
                marks = ",".join("?" * len(chunk))
                rows = con.execute(
                    f"SELECT hash, vec FROM vectors WHERE model = ? AND hash IN ({marks})",
                    [model, *chunk],
                )
                for h, blob in rows:
                    found[h] = np.frombuffer(blob, dtype=np.float32)
        con.close()
        return found

    def put(self, model: str, hashes: Sequence[str], vectors: np.ndarray) -> None:
        with self._connect() as con:
            con.executemany(
                "INSERT OR REPLACE INTO vectors VALUES (?, ?, ?, ?)",
                [
                    (model, h, int(v.shape[0]), np.ascontiguousarray(v, dtype=np.float32).tobytes())
                    for h, v in zip(hashes, vectors)
                ],
            )
        con.close()


class ArrayCache:
    """Named NumPy arrays stored as .npz files under a key derived from their inputs."""

    def __init__(self, directory: Path | None = None):
        self.directory = (Path(directory) if directory else default_cache_dir()) / "arrays"

    @staticmethod
    def key(*parts) -> str:
        digest = hashlib.sha256()
        for part in parts:
            if isinstance(part, np.ndarray):
                digest.update(str((part.shape, part.dtype.str)).encode())
                digest.update(np.ascontiguousarray(part).tobytes())
            else:
                digest.update(repr(part).encode())
            digest.update(b"\x00")
        return digest.hexdigest()

    def get(self, key: str) -> dict[str, np.ndarray] | None:
        path = self.directory / f"{key}.npz"
        if not path.exists():
            return None
        try:
            with np.load(path, allow_pickle=False) as data:
                return {name: data[name] for name in data.files}
        except (OSError, ValueError):
            return None  # a damaged entry is a miss, never an error

    def put(self, key: str, **arrays: np.ndarray) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.directory, suffix=".npz.tmp")
        with os.fdopen(fd, "wb") as fh:
            np.savez(fh, **arrays)
        os.replace(tmp, self.directory / f"{key}.npz")
