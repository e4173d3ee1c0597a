"""Static int8 ONNX embeddings against fp32, and the 128- against the 256-word-piece cap.

Run by hand, niced (the int8 build lands in the cache folder once):

    LABELER_CACHE_DIR=/work/cache-bench HF_HUB_OFFLINE=1 nice -n 10 python benchmarks/int8.py

Speed: documents/s on the same 2,000 texts (1,000 BANKING77 queries and 1,000 stripped 20
Newsgroups posts, seeded and shuffled), each backend loaded and warmed up first, as ratios to
torch fp32 (sentence-transformers through labeler's canonical batching) and to ONNX fp32, all in
one run, interleaved in chunks of 200 texts so the load of a shared machine hits all alike.

Quality, on a seeded slice of every shared corpus (`--n` documents, `--long-n` for the corpora
whose median text is long): 10-NN label accuracy (leave-one-out majority of the 10 nearest by
cosine) of the fp32 and the int8 vectors, and the ARI between the topics of two `--llm none`
fits (labeler's defaults, seed 42), one on each. The same for the token cap on the long corpora:
ONNX fp32 at 128 word pieces against 256 (int8 at 128 is timed too). ARI between fits is
read against its noise floor: the fp32 vectors fitted with seed 43 against seed 42.
Vectors are kept in `--vectors` so a rerun only refits.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from embed_backends import knn_accuracy  # noqa: E402
from prepare import SHARED, load  # noqa: E402

LONG = ("20newsgroups", "reuters21578", "gnad10k_test_de", "ag_news_test")


def corpora() -> list[str]:
    return sorted(p.name[: -len(".jsonl.gz")] for p in SHARED.glob("*.jsonl.gz"))


def sample(name: str, n: int, seed: int) -> tuple[list[str], np.ndarray]:
    texts, labels = load(name)
    pick = np.random.default_rng(seed).choice(len(texts), size=min(n, len(texts)), replace=False)
    return [texts[i] for i in pick], np.array([labels[i] for i in pick])


def embedders(cache: Path) -> dict:
    from labeler.embedding.onnx import OnnxEmbedder
    from labeler.embedding.sbert import SentenceTransformerEmbedder

    return {
        "torch fp32": SentenceTransformerEmbedder(),
        "onnx fp32": OnnxEmbedder(cache, variant="fp32"),
        "onnx int8 (static)": OnnxEmbedder(cache, variant="int8"),
        "onnx fp32, 128 tokens": OnnxEmbedder(cache, variant="fp32", max_tokens=128),
        "onnx int8, 128 tokens": OnnxEmbedder(cache, variant="int8", max_tokens=128),
    }


def fit_topics(texts: list[str], vectors: np.ndarray, seed: int = 42) -> np.ndarray:
    from labeler.model import TopicModel

    model = TopicModel(embedding_model=None, layout=False, use_cache=False, seed=seed)
    return np.asarray(model.fit(texts, embeddings=vectors).topics_)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=2000, help="documents per short corpus")
    parser.add_argument("--long-n", type=int, default=1000, help="documents per long corpus")
    parser.add_argument("--speed-n", type=int, default=1000, help="per half of the speed set")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--vectors", type=Path, default=Path("/tmp/labeler-int8-bench"))
    parser.add_argument("--skip-speed", action="store_true")
    parser.add_argument("--only-speed", action="store_true")
    args = parser.parse_args()
    from sklearn.metrics import adjusted_rand_score

    from labeler.embedding.cache import default_cache_dir

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    models = embedders(default_cache_dir())
    for model in models.values():
        model.embed(["warm up: load, export or build once"] * 8)

    if not args.skip_speed:
        short, _ = sample("banking77", args.speed_n, args.seed)
        long, _ = sample("20newsgroups", args.speed_n, args.seed)
        texts = short + long
        order = np.random.default_rng(args.seed).permutation(len(texts))
        texts = [texts[i] for i in order]
        names = ["torch fp32", "onnx fp32", "onnx int8 (static)", "onnx fp32, 128 tokens",
                 "onnx int8, 128 tokens"]  # fmt: skip
        # Interleaved: each chunk of 200 texts goes through every backend in turn, so a change
        # in the machine's load (2 shared cores) hits every backend alike.
        seconds = dict.fromkeys(names, 0.0)
        for start in range(0, len(texts), 200):
            chunk = texts[start : start + 200]
            for name in names:
                began = time.perf_counter()
                models[name].embed(chunk)
                seconds[name] += time.perf_counter() - began
            print(f"speed: {start + len(chunk)} texts", file=sys.stderr, flush=True)
        speed = {name: len(texts) / seconds[name] for name in names}
        print(f"\n{os.cpu_count()} CPUs; {len(texts)} texts ({len(short)} BANKING77 + "
              f"{len(long)} stripped 20NG)\n")  # fmt: skip
        print("| backend | docs/s | x torch fp32 | x onnx fp32 |")
        print("|---|---:|---:|---:|")
        for name, value in speed.items():
            print(f"| {name} | {value:.1f} | {value / speed['torch fp32']:.2f} | "
                  f"{value / speed['onnx fp32']:.2f} |")  # fmt: skip

    if args.only_speed:
        return
    args.vectors.mkdir(parents=True, exist_ok=True)
    rows = []
    for corpus in corpora():
        n = args.long_n if corpus in LONG else args.n
        texts, labels = sample(corpus, n, args.seed)
        wanted = ["onnx fp32", "onnx int8 (static)"]
        if corpus in LONG:
            wanted += ["onnx fp32, 128 tokens"]
        vectors, seconds = {}, {}
        for name in wanted:
            path = args.vectors / f"{corpus}-{n}-{args.seed}-{models[name].key}.npy"
            if path.exists():
                vectors[name] = np.load(path)
                continue
            start = time.perf_counter()
            vectors[name] = models[name].embed(texts)
            seconds[name] = time.perf_counter() - start
            np.save(path, vectors[name])
        topics = {name: fit_topics(texts, v) for name, v in vectors.items()}
        # The noise floor: the same fp32 vectors fitted with another seed.
        other_seed = fit_topics(texts, vectors["onnx fp32"], seed=43)
        row = {"corpus": corpus, "docs": len(texts)}
        row["ari_seed"] = adjusted_rand_score(topics["onnx fp32"], other_seed)
        for name, v in vectors.items():
            row[name] = {
                "knn": knn_accuracy(v, labels),
                "topics": len(set(topics[name].tolist()) - {-1}),
                "ari_fp32": adjusted_rand_score(topics["onnx fp32"], topics[name]),
                "ari_gold": adjusted_rand_score(labels, topics[name]),
            }
        cos = (vectors["onnx fp32"] * vectors["onnx int8 (static)"]).sum(1)
        row["cos_mean"], row["cos_min"] = float(cos.mean()), float(cos.min())
        rows.append(row)
        summary = {k: (v if not isinstance(v, dict) else {a: round(b, 4) for a, b in v.items()})
                   for k, v in row.items()}  # fmt: skip
        print(f"done: {summary}", file=sys.stderr, flush=True)

    fp, q = "onnx fp32", "onnx int8 (static)"
    print("\nQuality of static int8 against fp32 (256 word pieces)\n")
    print(
        "| corpus | docs | cosine mean / min | 10-NN fp32 | 10-NN int8 | Δ points | topics "
        "fp32 / int8 | ARI int8 fit vs fp32 fit | ARI fp32 seed 43 vs 42 | ARI vs labels "
        "fp32 / int8 |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['corpus']} | {r['docs']} | {r['cos_mean']:.4f} / {r['cos_min']:.3f} | "
              f"{r[fp]['knn']:.3f} | {r[q]['knn']:.3f} | "
              f"{100 * (r[q]['knn'] - r[fp]['knn']):+.1f} | {r[fp]['topics']} / {r[q]['topics']} | "
              f"{r[q]['ari_fp32']:.3f} | {r['ari_seed']:.3f} | "
              f"{r[fp]['ari_gold']:.3f} / {r[q]['ari_gold']:.3f} |")  # fmt: skip
    deltas = [100 * (r[q]["knn"] - r[fp]["knn"]) for r in rows]
    print(f"\nworst 10-NN change: {min(deltas):+.1f} points; mean {np.mean(deltas):+.2f}")

    print("\nToken cap on the long corpora: 128 against 256 word pieces\n")
    print(
        "| corpus | docs | 10-NN fp32 256 | 10-NN fp32 128 | Δ points | ARI 128 fit vs 256 fit "
        "| ARI vs labels 256 / 128 |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        if "onnx fp32, 128 tokens" not in r:
            continue
        c = r["onnx fp32, 128 tokens"]
        print(f"| {r['corpus']} | {r['docs']} | {r[fp]['knn']:.3f} | {c['knn']:.3f} | "
              f"{100 * (c['knn'] - r[fp]['knn']):+.1f} | {c['ari_fp32']:.3f} | "
              f"{r[fp]['ari_gold']:.3f} / {c['ari_gold']:.3f} |")  # fmt: skip


if __name__ == "__main__":
    main()
