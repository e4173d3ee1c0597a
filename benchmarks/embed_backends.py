"""Embedding backends compared: documents/s on short and long texts, and what quality they cost.

Run by hand, niced, with the shared benchmark cache (exports and distillations land there once):

    LABELER_CACHE_DIR=/work/cache-bench nice -n 10 python benchmarks/embed_backends.py

Short texts: a seeded slice of BANKING77 (77 intents, ~10 words); long: stripped 20 Newsgroups
(20 groups, ~180 words). Speed is embedding only (models loaded and warmed up first, no cache),
as a ratio to plain sentence-transformers (torch fp32) measured in the same run. Quality: 10-NN
accuracy (leave-one-out majority of the 10 nearest by cosine) and the ARI of k-means with k = the
number of classes, on the same vectors. The endpoint backend is left out (its speed is the
server's).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from prepare import load  # noqa: E402


class CappedTorch:
    """sentence-transformers with its own token cap (the shared loader keeps the model's 256)."""

    def __init__(self, max_tokens: int):
        from sentence_transformers import SentenceTransformer

        from labeler.embedding.sbert import resolve_model_path

        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        self.model = SentenceTransformer(resolve_model_path("all-MiniLM-L6-v2"))
        self.model.max_seq_length = max_tokens

    def embed(self, texts, show_progress=False):
        return self.model.encode(list(texts), batch_size=64, convert_to_numpy=True)


def backends(cache: Path):
    from labeler.embedding.onnx import OnnxEmbedder
    from labeler.embedding.static import Model2VecEmbedder, WordLlamaEmbedder

    return {
        "torch fp32 (sentence-transformers), 256 tokens": lambda: CappedTorch(256),
        "torch fp32, 128 tokens": lambda: CappedTorch(128),
        "onnx fp32 (default onnx), 256 tokens": lambda: OnnxEmbedder(cache, max_tokens=256),
        "onnx fp32, 128 tokens": lambda: OnnxEmbedder(cache, max_tokens=128),
        "onnx int8 (static, opt-in), 256 tokens": lambda: OnnxEmbedder(cache, variant="int8"),
        "static model2vec (MiniLM distilled)": lambda: Model2VecEmbedder(cache),
        "static wordllama l2_supercat": lambda: WordLlamaEmbedder(),
    }


def knn_accuracy(vectors: np.ndarray, labels: np.ndarray, k: int = 10) -> float:
    unit = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    sims = unit @ unit.T
    np.fill_diagonal(sims, -np.inf)
    nearest = np.argpartition(-sims, k, axis=1)[:, :k]
    hits = 0
    for i, row in enumerate(nearest):
        values, counts = np.unique(labels[row], return_counts=True)
        hits += values[np.argmax(counts)] == labels[i]
    return hits / len(labels)


def kmeans_ari(vectors: np.ndarray, labels: np.ndarray, seed: int) -> float:
    from sklearn.cluster import KMeans
    from sklearn.metrics import adjusted_rand_score

    unit = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    k = len(set(labels.tolist()))
    found = KMeans(n_clusters=k, n_init=4, random_state=seed).fit_predict(unit)
    return adjusted_rand_score(labels, found)


def sample(name: str, n: int, seed: int) -> tuple[list[str], np.ndarray]:
    texts, labels = load(name)
    pick = np.random.default_rng(seed).choice(len(texts), size=min(n, len(texts)), replace=False)
    return [texts[i] for i in pick], np.array([labels[i] for i in pick])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--short", type=int, default=2000, help="BANKING77 documents")
    parser.add_argument("--long", type=int, default=1000, help="20 Newsgroups documents")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--only", nargs="*", help="backend names containing these words")
    args = parser.parse_args()
    from labeler.embedding.cache import default_cache_dir

    cache = default_cache_dir()
    corpora = {
        "short (BANKING77)": sample("banking77", args.short, args.seed),
        "long (20NG)": sample("20newsgroups", args.long, args.seed),
    }
    rows = []
    for name, build in backends(cache).items():
        if args.only and not any(w in name for w in args.only):
            continue
        start = time.perf_counter()
        model = build()
        model.embed(["warm up: load, export or distil once"] * 8)
        setup = time.perf_counter() - start
        row = {"backend": name, "setup_s": setup}
        for corpus, (texts, labels) in corpora.items():
            start = time.perf_counter()
            vectors = model.embed(texts)
            seconds = time.perf_counter() - start
            row[corpus] = {
                "docs_s": len(texts) / seconds,
                "knn": knn_accuracy(vectors, labels),
                "ari": kmeans_ari(vectors, labels, args.seed),
            }
        rows.append(row)
        print(f"done: {name} (setup {setup:.1f} s)", file=sys.stderr, flush=True)

    base = rows[0]
    print(
        f"\n{os.cpu_count()} CPUs; short = {args.short} BANKING77, long = {args.long} stripped 20NG"
    )
    head = "| backend | setup s |"
    for corpus in corpora:
        head += f" {corpus} docs/s | × torch | 10-NN | ARI |"
    print(head)
    print("|---|---:|" + "---:|---:|---:|---:|" * len(corpora))
    for row in rows:
        line = f"| {row['backend']} | {row['setup_s']:.1f} |"
        for corpus in corpora:
            r, b = row[corpus], base[corpus]
            ratio = r["docs_s"] / b["docs_s"]
            line += f" {r['docs_s']:.0f} | {ratio:.2f} | {r['knn']:.3f} | {r['ari']:.3f} |"
        print(line)


if __name__ == "__main__":
    main()
