"""Static (torch-free) embeddings: a vector per token, averaged. Tens of times faster than a
transformer on a CPU, at a measured quality cost (benchmarks/embed_backends.py).

Two models: model2vec distilled from the packaged MiniLM (its vocabulary through the transformer
once, PCA to 256 dimensions), done once into the cache folder in a child process so that the
running process never imports torch; and WordLlama's l2_supercat, shipped inside the `wordllama`
wheel. `static` names WordLlama (no distillation step; see labeler/embedding/__init__.py).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from labeler.errors import LabelerError

DISTILL_VERSION = 1
PCA_DIMS = 256


def _missing(package: str, exc: Exception) -> LabelerError:
    return LabelerError(
        f"--embedding-model static needs {package} (pip install 'labeler[fast]'): {exc}"
    )


def model2vec_dir(cache_dir: Path) -> Path:
    return Path(cache_dir) / "models" / f"model2vec-minilm-{PCA_DIMS}-v{DISTILL_VERSION}"


def distill_minilm(folder: Path) -> None:
    """Distil the packaged MiniLM into a model2vec model in `folder` (run in a child process)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from model2vec.distill import distill

    from labeler.embedding.sbert import resolve_model_path

    folder.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(dir=folder.parent, prefix=folder.name + ".tmp"))
    try:
        model = distill(model_name=resolve_model_path("all-MiniLM-L6-v2"), pca_dims=PCA_DIMS)
        model.save_pretrained(str(work))
        (work / "labeler.json").write_text(json.dumps({"distill_version": DISTILL_VERSION}))
        if folder.exists():
            shutil.rmtree(folder, ignore_errors=True)
        os.replace(work, folder)
    finally:
        shutil.rmtree(work, ignore_errors=True)


class Model2VecEmbedder:
    """model2vec distilled from all-MiniLM-L6-v2 (256-d)."""

    def __init__(self, cache_dir: Path):
        self.cache_dir = Path(cache_dir)
        self._model = None
        self._lock = threading.Lock()

    @property
    def key(self) -> str:
        return f"static:model2vec-minilm-{PCA_DIMS}-v{DISTILL_VERSION}"

    def _load(self):
        with self._lock:
            if self._model is None:
                try:
                    from model2vec import StaticModel
                except ImportError as exc:
                    raise _missing("model2vec", exc) from exc
                folder = model2vec_dir(self.cache_dir)
                if not (folder / "labeler.json").is_file():
                    done = subprocess.run(
                        [sys.executable, "-m", "labeler.embedding.static", str(folder)],
                        capture_output=True, text=True,
                    )  # fmt: skip
                    if done.returncode != 0:
                        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
                        raise LabelerError(f"cannot distil the static model: {last}")
                self._model = StaticModel.from_pretrained(str(folder))
        return self._model

    def embed(self, texts: Sequence[str], show_progress: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        model = self._load()
        vectors = model.encode(list(texts), show_progress_bar=show_progress)
        return np.asarray(vectors, dtype=np.float32)


STATIC_MAX_TOKENS = 512  # as model2vec's encode(max_length=512)


class WordLlamaEmbedder:
    """WordLlama l2_supercat (256-d), loaded from the files inside the wordllama wheel."""

    def __init__(self, dim: int = 256, max_tokens: int = STATIC_MAX_TOKENS):
        self.dim = dim
        self.max_tokens = max_tokens
        self._model = None
        self._lock = threading.Lock()

    @property
    def key(self) -> str:
        return f"static:wordllama-l2-{self.dim}-t{self.max_tokens}"

    def _load(self):
        with self._lock:
            if self._model is None:
                try:
                    import wordllama
                    from wordllama import WordLlama
                except ImportError as exc:
                    raise _missing("wordllama", exc) from exc
                self._model = WordLlama.load(
                    dim=self.dim, cache_dir=Path(wordllama.__file__).parent, disable_download=True
                )
                # WordLlama tokenizes whole documents (4,000 tokens for a long article: most of
                # its time); model2vec stops at 512, and so does this.
                self._model.tokenizer.enable_truncation(self.max_tokens)
        return self._model

    def embed(self, texts: Sequence[str], show_progress: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        # Cut before tokenizing too: the tokenizer reads a whole text before it truncates, and
        # 512 tokens of any language fit in 16 characters per token.
        limit = self.max_tokens * 16
        texts = [t[:limit] for t in texts]
        return np.asarray(self._load().embed(texts, norm=True), dtype=np.float32)


if __name__ == "__main__":  # the child process that distils (imports torch; the parent never)
    distill_minilm(Path(sys.argv[1]))
