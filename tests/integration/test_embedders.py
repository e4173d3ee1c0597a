"""Embedding backends: the OpenAI-compatible endpoint (against a stub server on 127.0.0.1),
ONNX fp32 (a real export of the packaged MiniLM) and static int8 (a real build from it, once per
session), the static models, and the backend choice."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest
from click.testing import CliRunner

from labeler.embedding import make_embedder, resolve_spec
from labeler.embedding.cache import EmbeddingCache
from labeler.embedding.sbert import CachedEmbedder
from labeler.errors import LabelerError

SECRET = "sk-test-never-written-3f9a"


def fingerprint(text: str) -> list[float]:
    """A vector that identifies its text, so a test can tell which row belongs to which text."""
    digest = hashlib.sha256(text.encode()).digest()
    return [b / 255 for b in digest[:8]]


class EmbeddingsStub:
    """/v1/embeddings on 127.0.0.1: records batch sizes, peak concurrency and auth headers."""

    def __init__(self, status: int = 200, delay: float = 0.05):
        self.status, self.delay = status, delay
        self.batches: list[int] = []
        self.auth: list[str] = []
        self.in_flight = self.peak = 0
        self.lock = threading.Lock()
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with stub.lock:
                    stub.in_flight += 1
                    stub.peak = max(stub.peak, stub.in_flight)
                    stub.batches.append(len(body["input"]))
                    stub.auth.append(self.headers.get("Authorization", ""))
                time.sleep(stub.delay)
                with stub.lock:
                    stub.in_flight -= 1
                if stub.status != 200:
                    reply = {"error": {"message": "model overloaded\nsecond line"}}
                else:
                    data = [
                        {"object": "embedding", "index": i, "embedding": fingerprint(t)}
                        for i, t in enumerate(body["input"])
                    ][::-1]  # out of order on purpose: the client must sort by index
                    reply = {"object": "list", "data": data, "model": body["model"],
                             "usage": {"prompt_tokens": 1, "total_tokens": 1}}  # fmt: skip
                raw = json.dumps(reply).encode()
                self.send_response(stub.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def stub():
    server = EmbeddingsStub()
    yield server
    server.close()


def test_endpoint_batches_concurrently_and_keeps_order(stub, monkeypatch):
    monkeypatch.setenv("EMBED_KEY", SECRET)
    texts = [f"document number {i} " * (1 + i % 7) for i in range(230)]
    embedder = make_embedder(f"endpoint:stub-model@{stub.url}", api_key_env="EMBED_KEY")
    embedder.batch_size, embedder.concurrency = 25, 3
    vectors = embedder.embed(texts)
    assert vectors.shape == (230, 8)
    assert np.allclose(vectors, [fingerprint(t) for t in texts], atol=1e-6)  # input order
    assert sorted(stub.batches) == sorted([25] * 9 + [5])
    assert 1 < stub.peak <= 3  # concurrent, and bounded
    assert set(stub.auth) == {f"Bearer {SECRET}"}
    assert SECRET not in embedder.key and embedder.key == f"endpoint:stub-model@{stub.url}"


def test_endpoint_errors_are_one_line():
    server = EmbeddingsStub(status=503, delay=0)
    try:
        embedder = make_embedder(f"endpoint:m@{server.url}")
        embedder.max_retries = 0
        with pytest.raises(LabelerError) as err:
            embedder.embed(["a", "b"])
        message = str(err.value)
        assert "\n" not in message and "503" in message and server.url in message
    finally:
        server.close()


@pytest.mark.parametrize("path", [[], ["--sample-fit", "100"]], ids=["whole", "sample-fit"])
def test_endpoint_run_from_the_cli_writes_no_key(stub, tmp_path, monkeypatch, path):
    """Both paths embed through the endpoint (the large-corpus one fits on a sample and assigns
    the rest); neither writes the key or the URL's credentials anywhere."""
    from labeler.cli import main

    monkeypatch.setenv("EMBED_KEY", SECRET)
    corpus = tmp_path / "notes.jsonl"
    rows = [{"text": f"{w} note {i}"} for i in range(150) for w in ("apple pie", "train delay")]
    corpus.write_text("\n".join(json.dumps(r) for r in rows))
    url = stub.url.replace("http://", f"http://user:{SECRET}@")
    out = tmp_path / "run"
    sent = sum(stub.batches)
    result = CliRunner().invoke(
        main,
        ["run", str(corpus), "--out", str(out), "--llm", "none", "-q",
         "--embedding-base-url", url, "--embedding-model", "stub-model",
         "--embedding-api-key-env", "EMBED_KEY", "--min-cluster-size", "5", *path,
         "--cache-dir", str(tmp_path / "cache")],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    config = json.loads((out / "config.json").read_text())
    assert config["embedding"]["model"] == f"endpoint:stub-model@{stub.url}"
    assert sum(stub.batches) - sent >= len(rows)  # every document went through the endpoint
    if path:
        assert "fitted on a sample of 100" in result.output
    for file in out.rglob("*"):
        if file.is_file():
            assert SECRET.encode() not in file.read_bytes(), file


def test_endpoint_is_refused_on_ray_before_anything_starts(tmp_path):
    from labeler.cli import main

    corpus = tmp_path / "c.jsonl"
    corpus.write_text('{"text": "a note"}\n')
    result = CliRunner().invoke(
        main,
        ["run", str(corpus), "--engine", "ray", "--embedding-base-url", "http://127.0.0.1:9/v1"],
    )
    assert result.exit_code == 2 and "cannot be combined with --engine ray" in result.output


@pytest.fixture(scope="module")
def onnx_embedder(isolated_cache):
    pytest.importorskip("onnxruntime")
    embedder = make_embedder("all-MiniLM-L6-v2+onnx-fp32")
    embedder.batch_size = 2  # several batches per length bucket in a few texts
    return embedder


TEXTS = [
    "my card has not arrived yet",
    "How do I reset my PIN at an ATM?",
    "The shuttle launch was delayed by the weather; NASA will try again on Friday. " * 5,
    "hockey playoffs tonight",
    "Windows crashes after installing the new graphics driver. " * 12,
    "refund for a cancelled flight",
    "Is the exchange rate fixed when I pay abroad with my card?",
]


def test_a_torch_vector_depends_on_its_text_alone(banking_rows):
    """Bit for bit, whatever else is embedded with it: a half-filled cache embeds a few texts of
    one length where an empty one embeds many, and a 1e-7 difference gave other topics."""
    from labeler.embedding.sbert import SentenceTransformerEmbedder

    embedder = SentenceTransformerEmbedder()
    texts = [r["text"] for r in banking_rows[:64]]
    vectors = embedder.embed(texts)
    for n in (1, 3, 5, 8, 12):
        assert np.array_equal(embedder.embed(texts[:n]), vectors[:n]), n
    assert np.array_equal(embedder.embed(texts[::-1]), vectors[::-1])


def test_onnx_export_matches_torch_in_its_own_cache_space(onnx_embedder, isolated_cache):
    from labeler.embedding.onnx import export_dir, verified
    from labeler.embedding.sbert import SentenceTransformerEmbedder

    vectors = onnx_embedder.embed(TEXTS)
    folder = export_dir(isolated_cache, "fp32")
    assert verified(folder)  # exported once into the cache folder, checksummed
    reference = SentenceTransformerEmbedder().embed(TEXTS)
    cosine = (vectors * reference).sum(1) / np.linalg.norm(reference, axis=1)
    assert cosine.min() > 0.9999 and np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-3)
    # A text's vector depends on the text alone (bit for bit), not on its batch-mates or the
    # order: what makes a partly filled cache give the same topics as an empty one.
    order = [3, 0, 6, 2, 5, 1, 4]
    assert np.array_equal(onnx_embedder.embed([TEXTS[i] for i in order]), vectors[order])
    alone = np.vstack([onnx_embedder.embed([t]) for t in TEXTS])
    assert np.array_equal(alone, vectors)
    # A damaged export is detected, never used.
    damaged = isolated_cache / "damaged"
    damaged.mkdir()
    for name in ("model.onnx", "manifest.json"):
        (damaged / name).write_bytes((folder / name).read_bytes())
    with open(damaged / "model.onnx", "r+b") as fh:
        fh.seek(1000)
        fh.write(b"\x00\x01\x02")
    assert not verified(damaged)
    # The cache never hands torch vectors to the ONNX backend, or back.
    cache = EmbeddingCache(isolated_cache / "mix")
    CachedEmbedder(SentenceTransformerEmbedder(), cache).embed(TEXTS[:2])
    cached = CachedEmbedder(onnx_embedder, cache)
    cached.embed(TEXTS[:2])
    assert cached.misses == 2 and onnx_embedder.key != SentenceTransformerEmbedder().key


def test_auto_backend_follows_the_calibration(isolated_cache, tmp_path, monkeypatch):
    pytest.importorskip("onnxruntime")
    import labeler.embedding as embedders

    calls = []

    def fake_calibrate(cache, int8=False):
        calls.append((cache, int8))
        return {"cuda": False, "speedup": speed, **({"int8_speedup": int8_speed} if int8 else {})}

    monkeypatch.setattr(embedders, "calibrate", fake_calibrate)
    monkeypatch.setattr(embedders, "INT8_WITHIN_BOUND", False)
    speed, int8_speed = 1.8, 2.0
    assert resolve_spec(None, "auto", cache_dir=tmp_path / "a") == "all-MiniLM-L6-v2+onnx-fp32"
    assert resolve_spec(None, "auto", cache_dir=tmp_path / "a").endswith("+onnx-fp32")
    assert calls == [(tmp_path / "a", False)]  # measured once per machine, then remembered
    speed = 1.05
    assert resolve_spec(None, "auto", cache_dir=tmp_path / "b") == "all-MiniLM-L6-v2"
    assert resolve_spec(None, "torch", cache_dir=tmp_path / "a") == "all-MiniLM-L6-v2"
    assert resolve_spec("other/model", "auto", cache_dir=tmp_path / "a") == "other/model"
    with pytest.raises(LabelerError):
        resolve_spec("other/model", "onnx")
    # int8 only within the quality bound, and only where it is faster than ONNX fp32 here; a
    # release that changes the bound's verdict measures again (another calibration entry).
    monkeypatch.setattr(embedders, "INT8_WITHIN_BOUND", True)
    speed = 1.8
    assert resolve_spec(None, "auto", cache_dir=tmp_path / "a") == "all-MiniLM-L6-v2+onnx-int8"
    assert calls[-1] == (tmp_path / "a", True)
    int8_speed = 1.1
    assert resolve_spec(None, "auto", cache_dir=tmp_path / "c") == "all-MiniLM-L6-v2+onnx-fp32"
    int8 = resolve_spec(None, "onnx-int8")
    assert int8 == "all-MiniLM-L6-v2+onnx-int8"
    assert make_embedder(int8).key != make_embedder(resolve_spec(None, "onnx")).key


@pytest.fixture(scope="module")
def int8_embedder(isolated_cache, onnx_embedder):
    """The static int8 build, from the session's fp32 export (built once per session)."""
    embedder = make_embedder("all-MiniLM-L6-v2+onnx-int8")
    embedder.batch_size = 2
    embedder.embed(TEXTS[:1])
    return embedder


def test_static_int8_vector_depends_on_its_text_alone(int8_embedder, onnx_embedder, banking_rows):
    """Fixed activation scales: bit for bit the same vector alone, in another order, in a batch
    of 32 with texts of other lengths (other padding buckets), or in batches of another size;
    close to fp32 but not fp32 (it is quantised)."""
    vectors = int8_embedder.embed(TEXTS)
    order = [3, 0, 6, 2, 5, 1, 4]
    assert np.array_equal(int8_embedder.embed([TEXTS[i] for i in order]), vectors[order])
    alone = np.vstack([int8_embedder.embed([t]) for t in TEXTS])
    assert np.array_equal(alone, vectors)
    others = [r["text"] for r in banking_rows[:25]]
    mixed = int8_embedder.embed(others[:12] + TEXTS + others[12:])  # 32 texts
    assert np.array_equal(mixed[12:19], vectors)
    int8_embedder.batch_size = 64
    try:
        assert np.array_equal(int8_embedder.embed(TEXTS), vectors)
    finally:
        int8_embedder.batch_size = 2
    exact = onnx_embedder.embed(TEXTS)
    cosine = (vectors * exact).sum(1)
    assert cosine.min() > 0.97 and not np.array_equal(vectors, exact)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-3)


def test_static_int8_build_is_reproducible_and_keyed_by_its_inputs(
    int8_embedder, isolated_cache, tmp_path, monkeypatch
):
    """A second build from the same inputs gives the same file, byte for byte; the folder and the
    cache key carry a hash of the inputs, which the calibration set is part of."""
    import labeler.embedding.calibration as calibration
    import labeler.embedding.onnx as onnx_backend

    first = onnx_backend.export_dir(isolated_cache, "int8")
    manifest = json.loads((first / "manifest.json").read_text())
    assert manifest["inputs"] == onnx_backend.int8_inputs()
    assert onnx_backend.int8_hash() in first.name and onnx_backend.int8_hash() in int8_embedder.key
    fp32 = onnx_backend.export_dir(isolated_cache, "fp32")
    shutil.copytree(fp32, onnx_backend.export_dir(tmp_path, "fp32"))  # no second torch export
    second = onnx_backend.build_int8(onnx_backend.export_dir(tmp_path, "int8"))
    assert (second / "model.onnx").read_bytes() == (first / "model.onnx").read_bytes()
    assert json.loads((second / "manifest.json").read_text())["sha256"] == manifest["sha256"]
    before = onnx_backend.int8_inputs()["calibration_sha256"]
    monkeypatch.setattr(calibration, "SENTENCES", calibration.SENTENCES[:-1])
    assert onnx_backend.int8_inputs()["calibration_sha256"] != before


@pytest.mark.slow
def test_static_int8_same_topics_whatever_the_cache_held(
    int8_embedder, isolated_cache, banking_rows, banking_file, tmp_path
):
    """Reproducibility with the int8 backend: one corpus and seed give the same topics whether
    the embedding cache was empty, half filled (embedded in other batches) or full."""
    import pandas as pd

    from labeler.cli import main

    empty, partial = tmp_path / "empty", tmp_path / "partial"
    for cache in (empty, partial):  # the int8 build, not the vectors
        shutil.copytree(isolated_cache / "models", cache / "models")
    half = [r["text"] for r in banking_rows[::2]]
    CachedEmbedder(
        make_embedder("all-MiniLM-L6-v2+onnx-int8", partial), EmbeddingCache(partial)
    ).embed(half)
    results = []
    for name, cache in (("cold", empty), ("partial", partial), ("full", empty)):
        out = tmp_path / f"run-{name}"
        result = CliRunner().invoke(main, [
            "run", str(banking_file), "--id-column", "id", "--out", str(out), "--llm", "none",
            "--embedding-backend", "onnx-int8", "--cache-dir", str(cache), "-q",
        ])  # fmt: skip
        assert result.exit_code == 0, result.output
        config = json.loads((out / "config.json").read_text())
        assert "+onnx-int8" in json.dumps(config["embedding"])
        results.append(pd.read_parquet(out / "documents.parquet")["topic"].tolist())
    assert results[0] == results[1] == results[2]
    assert len(set(results[0])) > 3


def test_static_embeds_without_torch(isolated_cache):
    pytest.importorskip("wordllama")
    code = (
        "import sys\n"
        "from labeler.embedding import make_embedder\n"
        "e = make_embedder('static')\n"
        "v = e.embed(['my card has not arrived', 'card delivery is late', 'hockey playoffs'])\n"
        "import numpy as np\n"
        "u = v / np.linalg.norm(v, axis=1, keepdims=True)\n"
        "assert u[0] @ u[1] > u[0] @ u[2], (u[0] @ u[1], u[0] @ u[2])\n"
        "assert 'torch' not in sys.modules\n"
        "print(e.key)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().startswith("static:")
