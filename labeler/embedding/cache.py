"""On-disk caches under one folder: embeddings per text, and results of deterministic steps.

Both are content-addressed, so a stale entry can never be served: changing the text, the model or a
parameter changes the key.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sqlite3
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from labeler.errors import LabelerError
from labeler.files import atomic_write


def default_cache_dir() -> Path:
    env = os.environ.get("LABELER_CACHE_DIR")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "labeler"


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def ensure_folder(directory: Path) -> None:
    """Create the cache folder, or say in one line why it cannot be one."""
    for path in (directory, *directory.parents):
        if path.exists():
            if not path.is_dir():
                raise LabelerError(
                    f"cache folder {directory}: {path} is a file, not a folder; pass another "
                    "--cache-dir (or $LABELER_CACHE_DIR), or --no-cache"
                )
            break
    directory.mkdir(parents=True, exist_ok=True)


class EmbeddingCache:
    """Vectors keyed by (model key, text hash), in `embeddings.sqlite` under the cache folder."""

    def __init__(self, directory: Path | None = None):
        from labeler.embedding.store import EmbeddingStore

        self.directory = Path(directory) if directory else default_cache_dir()
        self.path = self.directory / "embeddings.sqlite"
        self._store = EmbeddingStore(self.path)

    def get(self, model: str, hashes: Sequence[str]) -> dict[str, np.ndarray]:
        ensure_folder(self.directory)
        with self._damaged():
            return self._store.get(model, hashes)

    def put(self, model: str, hashes: Sequence[str], vectors: np.ndarray) -> None:
        ensure_folder(self.directory)
        with self._damaged():
            self._store.put(model, hashes, vectors)

    @contextlib.contextmanager
    def _damaged(self):
        try:
            yield
        except sqlite3.DatabaseError as exc:
            if type(exc) is not sqlite3.DatabaseError:  # a lock or a constraint: not damage
                raise
            raise LabelerError(
                f"the embedding cache {self.path} is damaged ({exc}): delete it (it only saves "
                "time) or run with --no-cache"
            ) from exc


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
        ensure_folder(self.directory)

        def write(tmp: str) -> None:
            with open(tmp, "wb") as fh:  # a handle: np.savez would append .npz to a name
                np.savez(fh, **arrays)

        atomic_write(self.directory / f"{key}.npz", write)
