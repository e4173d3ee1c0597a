# ruff: noqa: E501 - the catalog is a table: one case per row reads better than wrapped code
"""Hostile embeddings and ground truth (issue 20): `--embeddings` arrays, embedding model names,
and `labeler eval` on degenerate label columns and on runs fitted on any backend.

`--embeddings` cases refuse before anything is fitted or written (milliseconds each): one
`labeler: error:` line naming the file and what is wrong, and no run folder.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from catalog_helpers import invoke

N = 30  # documents in the corpus below


def _npy(array, **kw):
    def build(path: Path) -> None:
        np.save(path, array, allow_pickle=True)

    return build


def _bytes(data: bytes):
    return lambda path: path.write_bytes(data)


def _npz(path: Path) -> None:
    with open(path, "wb") as fh:
        np.savez(fh, vectors=np.ones((N, 4)))


def _truncated(path: Path) -> None:
    np.save(path, np.ones((N, 8), dtype=np.float32))
    path.write_bytes(path.read_bytes()[:150])


def _with(value, row=3):
    array = np.random.default_rng(0).normal(size=(N, 4))
    array[row, 1] = value
    return array


# (id, writer, substrings of the one error line)
EMBEDDING_CASES = [
    ("zero-dimensions", _npy(np.ones((N, 0))), ["0 dimension(s) per document", "at least 2"]),
    ("one-dimension", _npy(np.ones((N, 1))), ["1 dimension(s) per document"]),
    ("one-d-array", _npy(np.ones(N)), [f"shape ({N},)", "one row per document"]),
    ("three-d-array", _npy(np.ones((N, 2, 2))), [f"shape ({N}, 2, 2)"]),
    ("too-few-rows", _npy(np.ones((N - 1, 4))), [f"shape ({N - 1}, 4)", f"{N} documents"]),
    ("too-many-rows", _npy(np.ones((N + 5, 4))), [f"shape ({N + 5}, 4)"]),
    ("strings", _npy(np.array([["a", "b"]] * N)), ["holds strings", "real numbers"]),
    ("bytes", _npy(np.array([[b"a", b"b"]] * N)), ["holds bytes"]),
    ("complex", _npy(np.ones((N, 4), dtype=complex)), ["holds complex numbers"]),
    ("booleans", _npy(np.ones((N, 4), dtype=bool)), ["holds booleans"]),
    ("nan", _npy(_with(np.nan)), ["1 row(s) hold NaN or infinite values", "the first is row 3"]),
    ("inf", _npy(_with(np.inf, row=7)), ["the first is row 7"]),
    ("beyond-float32", _npy(_with(1e300, row=0)), ["too large for float32", "the first is row 0"]),
    ("object-array", _npy(np.array([[1, 2]] * N, dtype=object)), ["would need pickle", "np.save"]),
    ("npz-archive", _npz, [".npz archive", "np.save(path, vectors)"]),
    ("empty-file", _bytes(b""), ["not a NumPy .npy array", "np.save"]),
    ("truncated-npy", _truncated, ["not a NumPy .npy array"]),
    ("text-file", _bytes(b"0.1 0.2\n0.3 0.4\n"), ["not a plain NumPy array"]),
    ("a-folder", lambda path: path.mkdir(), ["is a folder, not a file"]),
    ("missing", lambda path: None, ["not found"]),
]  # fmt: skip


def refused(result, *needles: str) -> str:
    """Exit 2 with exactly one `labeler: error:` line, the last one (the corpus is read first,
    since the array is checked against its number of documents, and says so on its own line)."""
    assert result.exit_code == 2, (result.exit_code, result.output)
    lines = result.stderr.strip().splitlines()
    errors = [line for line in lines if line.startswith("labeler: error: ")]
    assert len(errors) == 1 and lines[-1] == errors[0], result.stderr
    assert "Traceback" not in result.output and "\x1b" not in result.output
    for needle in needles:
        assert needle in errors[0], errors[0]
    return errors[0]


@pytest.fixture()
def corpus(tmp_path) -> Path:
    path = tmp_path / "docs.csv"
    path.write_text("text\n" + "".join(f"document number {i} about cards\n" for i in range(N)))
    return path


@pytest.mark.parametrize("case", EMBEDDING_CASES, ids=[c[0] for c in EMBEDDING_CASES])
def test_embeddings_catalog(tmp_path, corpus, case):
    name, build, needles = case
    vectors = tmp_path / "vectors.npy"
    build(vectors)
    out = tmp_path / "out"
    result = invoke("run", corpus, "--embeddings", vectors, "--llm", "none", "--out", out)
    refused(result, "--embeddings", *needles)
    assert not out.exists()


def test_good_embeddings_are_used_as_float32(tmp_path):
    from labeler.pipeline.fit import load_embeddings

    path = tmp_path / "v.npy"
    np.save(path, np.arange(N * 3, dtype=np.int64).reshape(N, 3))
    vectors = load_embeddings(path, N)
    assert vectors.dtype == np.float32 and vectors.shape == (N, 3) and vectors[1, 0] == 3.0


# (id, --embedding-model value, substrings of the one error line)
MODEL_CASES = [
    ("static-nonsense", "static:nonsense", ["unknown static embedding model static:nonsense", "static:model2vec", "static:wordllama"]),
    ("static-escape", "static:\x1b[31mred", ["\\x1b[31mred"]),
    ("static-empty-kind", "static:", ["unknown static embedding model"]),
]  # fmt: skip


@pytest.mark.parametrize("case", MODEL_CASES, ids=[c[0] for c in MODEL_CASES])
def test_embedding_model_catalog(tmp_path, corpus, case):
    name, model, needles = case
    out = tmp_path / "out"
    result = invoke("run", corpus, "--embedding-model", model, "--llm", "none", "--out", out)
    refused(result, *needles)
    assert not out.exists()


@pytest.mark.parametrize(
    "key, backend",
    [
        ("all-MiniLM-L6-v2+onnx-fp32-v1-t256", "onnx-fp32"),
        ("all-MiniLM-L6-v2+onnx-int8-{int8}-t256", "onnx-int8"),  # static: keyed by its build
        ("static:model2vec-minilm-256-v1", "static:model2vec"),
        ("static:wordllama-l2-256-t512", "static:wordllama"),
        ("all-MiniLM-L6-v2", "torch"),
    ],
)
def test_eval_rebuilds_the_embedder_a_run_recorded(key, backend):
    """A run records its embedder's key; `eval` must rebuild that very embedder (it once read
    the key as a sentence-transformers model name and failed on every ONNX run)."""
    from labeler.embedding import describe_spec
    from labeler.embedding.onnx import int8_hash
    from labeler.views.evaluation import _embedder

    key = key.format(int8=int8_hash())
    rebuilt = _embedder(key)
    assert rebuilt.key == key  # the same backend, variant and token cap: the same vectors
    assert describe_spec(key)["backend"] == backend


def test_a_run_records_backend_and_token_cap_apart_from_the_key(banking_run):
    embedding = json.loads((banking_run / "config.json").read_text())["embedding"]
    assert embedding["model"] == "all-MiniLM-L6-v2"
    assert embedding["backend"] == "torch" and embedding["max_tokens"] == 256
    assert embedding["base_model"] == "all-MiniLM-L6-v2"


@pytest.fixture()
def run_copy(banking_run, tmp_path) -> Path:
    return Path(shutil.copytree(banking_run, tmp_path / "run"))


def _set_class(run: Path, values) -> None:
    path = run / "documents.parquet"
    docs = pd.read_parquet(path)
    docs["class"] = values(len(docs))
    docs.to_parquet(path, index=False)


# (id, class column, warning substring)
TRUTH_CASES = [
    ("all-empty", lambda n: [""] * n, "is empty"),
    ("all-blank", lambda n: ["  "] * n, "is empty"),
    ("all-missing", lambda n: [None] * n, "is empty"),
    ("one-value", lambda n: ["card_arrival"] * n, "holds one value (card_arrival)"),
    ("one-value-and-blanks", lambda n: ["x" if i % 2 else "" for i in range(n)], "holds one value (x)"),
]  # fmt: skip


@pytest.mark.parametrize("case", TRUTH_CASES, ids=[c[0] for c in TRUTH_CASES])
def test_degenerate_ground_truth_gives_a_warning_and_no_figure(run_copy, case):
    name, values, needle = case
    _set_class(run_copy, values)
    result = invoke("eval", run_copy, "--label-column", "class", "--json")
    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout)
    assert needle in figures["ground_truth_warning"]
    # the user sees it on stderr (the CLI's own handler; "labeler" does not propagate to root)
    assert needle in result.stderr, result.stderr
    for key in ("ari", "nmi", "purity", "label_match_topics", "label_match_documents"):
        assert figures[key] is None, key  # never a 100% that only says "one category"


def test_two_categories_still_give_figures(run_copy):
    _set_class(run_copy, lambda n: ["a" if i % 2 else "b" for i in range(n)])
    figures = json.loads(invoke("eval", run_copy, "--label-column", "class", "--json").stdout)
    assert "ground_truth_warning" not in figures
    assert figures["purity"] is not None and figures["purity"] < 1.0
