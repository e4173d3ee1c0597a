"""Multi-topic distributions, labeler vs BERTopic 0.17 (run by hand, not in CI).

On a seeded slice of each corpus, both systems fit the same script (BERTopic's names; only the
import differs) on the same precomputed MiniLM embeddings, each in a fresh process:

    model = BERTopic(calculate_probabilities=..., min_topic_size=10,
                     vectorizer_model=CountVectorizer(stop_words="english"))

and the table gives, per corpus and system: the fit's time with and without
`calculate_probabilities` (labeler: HDBSCAN's soft clustering, or the centres' softmax;
BERTopic: HDBSCAN's `all_points_membership_vectors`), how often the matrix's most probable
topic is the document's topic (`topics_`, outliers left out); the time of
`approximate_distribution(docs)` and of `approximate_distribution(docs, calculate_tokens=True)`
(the least of 3 timings each),
how often its top topic is the document's own, and the share of documents it gives any topic.
Ratios are BERTopic's time over labeler's (above 1: labeler is faster), measured in the same run.

    python benchmarks/distribution.py --bertopic /work/bt-venv/bin/python
    python benchmarks/distribution.py --corpus banking77 --corpus 20newsgroups  # longer documents
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("LABELER_SHARED_DATA", ROOT.parent / "shared" / "data"))

SCRIPT = r"""
import json, os, sys, tempfile, time
import numpy as np
from sklearn.feature_extraction.text import CountVectorizer
if sys.argv[1] == "labeler":
    from labeler.bertopic import BERTopic
else:
    from bertopic import BERTopic
texts = [json.loads(l)["text"] for l in open(sys.argv[2], encoding="utf-8")]
vectors = np.load(sys.argv[3])

def model(probabilities):
    os.environ["LABELER_CACHE_DIR"] = tempfile.mkdtemp()  # no reduction cached between fits
    return BERTopic(calculate_probabilities=probabilities, min_topic_size=10,
                    vectorizer_model=CountVectorizer(stop_words="english"))

model(False).fit_transform(texts[:400], vectors[:400])  # warm-up: numba compiles UMAP once
out = {}
start = time.perf_counter()
model(False).fit_transform(texts, vectors)
out["fit_plain"] = time.perf_counter() - start
m = model(True)
start = time.perf_counter()
topics, probs = m.fit_transform(texts, vectors)
out["fit_probs"] = time.perf_counter() - start
topics = np.asarray(topics)
ids = sorted(t for t in set(topics.tolist()) if t >= 0)
probs = np.asarray(probs)
kept = topics >= 0
out["topics"] = len(ids)
out["outliers"] = float((~kept).mean())
out["probs_shape"] = list(probs.shape)
out["probs_row_max"] = float(probs.sum(axis=1).max())
out["probs_agree"] = float((np.asarray(ids)[probs.argmax(axis=1)][kept] == topics[kept]).mean())
def best(call, repeat=3):  # the least of 3 timings: a busy machine only ever adds time
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        value = call()
        times.append(time.perf_counter() - start)
    return min(times), value

out["approx"], (distr, _) = best(lambda: m.approximate_distribution(texts))
out["approx_tokens"], (distr_t, per_token) = best(
    lambda: m.approximate_distribution(texts, calculate_tokens=True))
some = distr.sum(axis=1) > 0
out["approx_coverage"] = float(some.mean())
top = np.asarray(ids)[distr.argmax(axis=1)]
out["approx_agree"] = float((top[kept & some] == topics[kept & some]).mean())
out["tokens_same_top"] = float((distr_t.argmax(axis=1) == distr.argmax(axis=1))[some].mean())
json.dump(out, open(sys.argv[4], "w"))
"""


def read_slice(name: str, n: int, seed: int) -> list[str]:
    with gzip.open(SHARED / f"{name}.jsonl.gz", "rt", encoding="utf-8") as fh:
        texts = [json.loads(line)["text"] for line in fh]
    random.Random(seed).shuffle(texts)
    return [t for t in texts if t.strip()][:n]


def embed(texts: list[str]) -> np.ndarray:
    from labeler.embedding import make_embedder

    return np.asarray(make_embedder("all-MiniLM-L6-v2").embed(texts), dtype=np.float32)


def run(python: str, target: str, corpus: Path, vectors: Path, work: Path) -> dict:
    script = work / "distribution_pass.py"
    script.write_text(SCRIPT)
    out = work / f"{target}.json"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [python, str(script), target, str(corpus), str(vectors), str(out)],
        env=env, capture_output=True, text=True, timeout=3600,
    )  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"{target} failed:\n{done.stderr[-3000:]}")
    return json.loads(out.read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", action="append", help="shared corpus name (repeat)")
    parser.add_argument("--n", type=int, default=2000, help="documents per slice [2000]")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--bertopic", default="/work/bt-venv/bin/python",
                        help="a Python that imports bertopic 0.17")  # fmt: skip
    parser.add_argument("--work", type=Path, default=None, help="keep slices and vectors here")
    args = parser.parse_args()
    corpora = args.corpus or ["banking77", "ag_news_test"]
    work = args.work or Path(tempfile.mkdtemp(prefix="labeler-distribution-"))
    work.mkdir(parents=True, exist_ok=True)
    rows = []
    for name in corpora:
        corpus, vectors = work / f"{name}-{args.n}.jsonl", work / f"{name}-{args.n}.npy"
        if not vectors.is_file():
            texts = read_slice(name, args.n, args.seed)
            corpus.write_text("".join(json.dumps({"text": t}) + "\n" for t in texts))
            np.save(vectors, embed(texts))
        print(f"{name}: labeler ...", file=sys.stderr, flush=True)
        ours = run(sys.executable, "labeler", corpus, vectors, work)
        print(f"{name}: BERTopic ...", file=sys.stderr, flush=True)
        theirs = run(args.bertopic, "bertopic", corpus, vectors, work)
        rows.append((name, ours, theirs))
    print(f"{args.n:,} documents per corpus (seed {args.seed}), same MiniLM embeddings; "
          "ratio = BERTopic's seconds / labeler's\n")  # fmt: skip
    print(
        "| corpus | system | topics | fit (s) | fit + calculate_probabilities (s) "
        "| probabilities: argmax = topic | approximate_distribution (s) | ratio "
        "| + calculate_tokens (s) | ratio | approx: top = topic | approx: any topic |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, ours, theirs in rows:
        for system, r in (("labeler", ours), ("BERTopic 0.17.4", theirs)):
            mine = system == "labeler"
            ratio = f"{theirs['approx'] / ours['approx']:.1f}×" if mine else ""
            ratio_t = f"{theirs['approx_tokens'] / ours['approx_tokens']:.1f}×" if mine else ""
            print(
                f"| {name} | {system} | {r['topics']} | {r['fit_plain']:.1f} | "
                f"{r['fit_probs']:.1f} | {r['probs_agree']:.1%} | {r['approx']:.2f} | {ratio} | "
                f"{r['approx_tokens']:.2f} | {ratio_t} | {r['approx_agree']:.1%} | "
                f"{r['approx_coverage']:.1%} |"
            )
    print()
    for name, ours, theirs in rows:
        extra = theirs["fit_probs"] - theirs["fit_plain"], ours["fit_probs"] - ours["fit_plain"]
        rows_max = ours["probs_row_max"], theirs["probs_row_max"]
        print(f"- {name}: calculate_probabilities adds {extra[1]:+.1f} s to labeler's fit and "
              f"{extra[0]:+.1f} s to BERTopic's; rows sum to at most {rows_max[0]:.4f} "
              f"(labeler), {rows_max[1]:.4f} (BERTopic)")  # fmt: skip


if __name__ == "__main__":
    main()
