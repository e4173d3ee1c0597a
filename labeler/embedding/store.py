"""The embedding cache's SQLite table: vectors keyed by (model key, text hash).

The embedding cache owns its SQL, here beside the cache (`labeler.embedding.cache`), as the run
folder's SQL is all in `labeler/run/db.py`; it depends on nothing but SQLite and NumPy.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path

import numpy as np

CHUNK = 500  # hashes per query: well under SQLite's bound-parameter limit


class EmbeddingStore:
    def __init__(self, path: Path):
        self.path = Path(path)

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
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
        con = self._connect()
        try:
            for start in range(0, len(unique), CHUNK):
                chunk = unique[start : start + CHUNK]
                marks = ",".join("?" * len(chunk))
                rows = con.execute(
                    f"SELECT hash, vec FROM vectors WHERE model = ? AND hash IN ({marks})",
                    [model, *chunk],
                )
                for h, blob in rows:
                    found[h] = np.frombuffer(blob, dtype=np.float32)
        finally:
            con.close()
        return found

    def put(self, model: str, hashes: Sequence[str], vectors: np.ndarray) -> None:
        con = self._connect()
        try:
            with con:
                con.executemany(
                    "INSERT OR REPLACE INTO vectors VALUES (?, ?, ?, ?)",
                    [
                        (model, h, int(v.shape[0]),
                         np.ascontiguousarray(v, dtype=np.float32).tobytes())
                        for h, v in zip(hashes, vectors)
                    ],
                )  # fmt: skip
        finally:
            con.close()
