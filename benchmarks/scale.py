"""labeler vs BERTopic 0.17 from 10k to a million short documents (run by hand, not in CI).

    python benchmarks/scale.py build [--size 1000000]       # the corpus + derived vectors
    python benchmarks/scale.py run --sizes 10000,100000,1000000 --bertopic-sizes 10000,100000
    python benchmarks/scale.py run --sizes 1000000 --labeler-sizes '' --bertopic-sizes 1000000 \
        --timeout 1800                       # BERTopic alone; a stopped run says in which stage

The million-document corpus (`build`): every document of the six short-text corpora in
../shared/data (BANKING77, CLINC150, Bitext, StackOverflow titles, UCI sentiment sentences, AG News
test; 71,897 documents, label = "<corpus>:<label>"), repeated until `--size` rows: copy 0 is the
original, every other copy gets one light, seeded perturbation (drop one word, swap two adjacent
words, repeat one word, or lowercase) and an id suffix `-<copy>`. Rows are shuffled, so any prefix
is a random sample.

Vectors: every one of the million texts (perturbed copies included) is embedded with WordLlama
l2_supercat (`wordllama==0.4.0.post1`, 256-d static, ../shared/MODELS.md; ~6,000 short docs/s on
2 shared cores), stored float16. Embedding a million documents with MiniLM on 2 shared cores
would take about an hour on its own (it ran at under 30 docs/s while the machine was shared), so
both systems get the same precomputed vectors (`--embeddings`) and the comparison is of everything
after embedding.

`run`: each system runs as a fresh child process on the first N rows; wall time and peak RSS of
the child (os.wait4), per-stage times (labeler: config.json's timings; BERTopic: timed UMAP,
HDBSCAN and the rest), NPMI of the top-10 words on a fixed 20,000-document reference sample
(gensim c_npmi; one reference for every size so the figures compare), ARI and NMI against the
labels on non-outlier documents. labeler runs `--sample-fit` above 10,000 documents (the default
path at 10,000), BERTopic its default pipeline on the same vectors.
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
CORPORA = [
    "banking77",
    "clinc150",
    "bitext_customer_support",
    "stackoverflow_titles",
    "uci_sentiment_sentences",
    "ag_news_test",
]
WORK = Path(os.environ.get("LABELER_SCALE_WORK", "/tmp/labeler-scale"))
REFERENCE = 20_000


# ---------------------------------------------------------------------------- building
def load_base() -> tuple[list[str], list[str]]:
    texts, labels = [], []
    for name in CORPORA:
        with gzip.open(SHARED / f"{name}.jsonl.gz", "rt", encoding="utf-8") as fh:
            for line in fh:
                row = json.loads(line)
                if str(row["text"]).strip():
                    texts.append(str(row["text"]))
                    labels.append(f"{name}:{row['label']}")
    return texts, labels


def perturb(text: str, rng: np.random.Generator) -> str:
    words = text.split()
    op = rng.integers(4)
    if op == 0 and len(words) > 3:
        del words[rng.integers(len(words))]
    elif op == 1 and len(words) > 1:
        i = rng.integers(len(words) - 1)
        words[i], words[i + 1] = words[i + 1], words[i]
    elif op == 2 and words:
        i = rng.integers(len(words))
        words.insert(i, words[i])
    else:
        return text.lower()
    return " ".join(words)


def wordllama():
    """WordLlama l2_supercat (256-d static), loaded from its package: never the hub."""
    import wordllama as wl

    return wl.WordLlama.load(cache_dir=Path(wl.__file__).parent, disable_download=True)


def build(size: int, seed: int) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    WORK.mkdir(parents=True, exist_ok=True)
    texts, labels = load_base()
    model = wordllama()
    rng = np.random.default_rng(seed)
    copies = math.ceil(size / len(texts))
    order = rng.permutation(copies * len(texts))[:size]
    vectors, writer = None, None
    start = time.perf_counter()
    for s in range(0, size, 100_000):
        rows = order[s : s + 100_000]
        copy, idx = rows // len(texts), rows % len(texts)
        out_texts = [texts[i] if c == 0 else perturb(texts[i], rng) for c, i in zip(copy, idx)]
        vec = np.asarray(model.embed(out_texts), dtype=np.float32)
        if vectors is None:
            vectors = np.lib.format.open_memmap(
                WORK / "million.npy", mode="w+", dtype=np.float16, shape=(size, vec.shape[1])
            )
        vectors[s : s + len(rows)] = vec
        table = pa.table(
            {
                "id": [f"{i}-{c}" for c, i in zip(copy, idx)],
                "text": out_texts,
                "label": [labels[i] for i in idx],
            }
        )
        writer = writer or pq.ParquetWriter(WORK / "million.parquet", table.schema)
        writer.write_table(table, row_group_size=50_000)
    writer.close()
    vectors.flush()
    took = time.perf_counter() - start
    print(f"wrote {WORK}/million.parquet and million.npy: {size:,} rows from {len(texts):,} "
          f"originals, {copies} copies; built and embedded in {took:.0f} s")  # fmt: skip


# ---------------------------------------------------------------------------- running
BERTOPIC_SCRIPT = r"""
import json, sys, time
import numpy as np, pandas as pd
from bertopic import BERTopic
from hdbscan import HDBSCAN
from sklearn.feature_extraction.text import CountVectorizer
from umap import UMAP

times = {}
class TimedUMAP(UMAP):
    def fit(self, *args, **kw):
        print(f"stage umap at {time.perf_counter() - start:.0f} s", flush=True)
        t = time.perf_counter(); out = super().fit(*args, **kw)
        times["umap"] = times.get("umap", 0) + time.perf_counter() - t; return out
    def transform(self, *args, **kw):
        t = time.perf_counter(); out = super().transform(*args, **kw)
        times["umap"] = times.get("umap", 0) + time.perf_counter() - t; return out
class TimedHDBSCAN(HDBSCAN):
    def fit(self, *args, **kw):
        print(f"stage hdbscan at {time.perf_counter() - start:.0f} s", flush=True)
        t = time.perf_counter(); out = super().fit(*args, **kw)
        times["hdbscan"] = time.perf_counter() - t; return out

start = time.perf_counter()
texts = pd.read_parquet(sys.argv[1], columns=["text"])["text"].tolist()
vectors = np.load(sys.argv[2]).astype(np.float32)
times["load"] = time.perf_counter() - start
# BERTopic's defaults, spelled out only to time them.
umap = TimedUMAP(n_neighbors=15, n_components=5, min_dist=0.0, metric="cosine", low_memory=False)
hdb = TimedHDBSCAN(min_cluster_size=10, metric="euclidean", cluster_selection_method="eom",
                   prediction_data=True)
model = BERTopic(umap_model=umap, hdbscan_model=hdb,
                 vectorizer_model=CountVectorizer(stop_words="english"), top_n_words=10)
t = time.perf_counter()
topics, _ = model.fit_transform(texts, vectors)
fit = time.perf_counter() - t
times["rest"] = fit - times.get("umap", 0) - times.get("hdbscan", 0)
words = {int(k): [w for w, _ in model.get_topic(k)] for k in set(topics)}
json.dump({"topics": [int(t) for t in topics], "words": words, "times": times},
          open(sys.argv[3], "w"))
"""


def timed(cmd: list[str], timeout: float | None, env=None) -> tuple[float, float, str]:
    """Wall seconds, peak RSS (GB) of the child (os.wait4 reports that child only), status."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
    deadline = None if timeout is None else start + timeout
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if deadline and time.perf_counter() > deadline:
            proc.kill()
            pid, status, usage = os.wait4(proc.pid, 0)
            # "stage …" lines say where it was (BERTopic's script prints them as it goes)
            stages = [ln for ln in proc.stdout.read().decode(errors="replace").splitlines()
                      if ln.startswith("stage ")]  # fmt: skip
            where = f" (stopped in {stages[-1][6:]})" if stages else ""
            return time.perf_counter() - start, usage.ru_maxrss / 1024**2, f"timeout{where}"
        time.sleep(0.5)
    wall = time.perf_counter() - start
    if status != 0:
        tail = proc.stdout.read().decode(errors="replace")[-1500:]
        return wall, usage.ru_maxrss / 1024**2, f"failed: {tail}"
    return wall, usage.ru_maxrss / 1024**2, "ok"


def prefix(n: int) -> tuple[Path, Path]:
    import pyarrow.parquet as pq

    corpus, vectors = WORK / f"n{n}.parquet", WORK / f"n{n}.npy"
    if n == pq.ParquetFile(WORK / "million.parquet").metadata.num_rows:
        return WORK / "million.parquet", WORK / "million.npy"
    if not corpus.exists():
        table = pq.read_table(WORK / "million.parquet").slice(0, n)
        pq.write_table(table, corpus, row_group_size=50_000)
        np.save(vectors, np.load(WORK / "million.npy", mmap_mode="r")[:n])
    return corpus, vectors


SAMPLE_FIT = 50_000


def run_labeler(n: int, corpus: Path, vectors: Path, timeout: float | None) -> dict:
    import pandas as pd

    out = WORK / f"labeler-{n}"
    cmd = [sys.executable, "-m", "labeler.cli", "run", str(corpus), "--embeddings", str(vectors),
           "--id-column", "id", "--llm", "none", "--out", str(out),
           "--cache-dir", str(WORK / f"cache-{n}"), "-q"]  # fmt: skip
    if n > 10_000:
        cmd += ["--sample-fit", str(min(SAMPLE_FIT, n // 2))]
    wall, peak, status = timed(cmd, timeout)
    result = {"system": "labeler", "wall": wall, "peak": peak, "status": status}
    if status != "ok":
        return result
    config = json.loads((out / "config.json").read_text())
    records = json.loads((out / "topics.json").read_text())
    result["stages"] = config.get("timings_s", {})
    result["topics"] = pd.read_parquet(out / "documents.parquet", columns=["topic"])["topic"]
    result["words"] = {r["topic"]: [w for w, _ in r["keywords"]] for r in records}
    return result


def run_bertopic(n: int, corpus: Path, vectors: Path, timeout: float | None) -> dict:
    script = WORK / "bertopic_fit.py"
    script.write_text(BERTOPIC_SCRIPT)
    out = WORK / f"bertopic-{n}.json"
    wall, peak, status = timed([sys.executable, str(script), str(corpus), str(vectors), str(out)],
                               timeout)  # fmt: skip
    result = {"system": "BERTopic 0.17.4", "wall": wall, "peak": peak, "status": status}
    if status != "ok":
        return result
    data = json.loads(out.read_text())
    result["stages"] = {k: round(v, 1) for k, v in data["times"].items()}
    result["topics"] = np.array(data["topics"])
    result["words"] = {int(k): v for k, v in data["words"].items()}
    return result


def quality(result: dict, labels: np.ndarray, reference: list[str]) -> dict:
    from gensim.corpora import Dictionary
    from gensim.models.coherencemodel import CoherenceModel
    from sklearn.feature_extraction.text import CountVectorizer
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    analyzer = CountVectorizer().build_analyzer()
    tokens = [analyzer(t) for t in reference]
    dictionary = Dictionary(tokens)
    words = {t: w for t, w in result["words"].items() if t != -1}
    top10 = [[w for w in ws if w in dictionary.token2id][:10] for ws in words.values()]
    top10 = [ws for ws in top10 if len(ws) >= 2]
    npmi = CoherenceModel(
        topics=top10, texts=tokens, dictionary=dictionary, coherence="c_npmi", processes=1
    ).get_coherence()
    topics = np.asarray(result["topics"])
    mask = topics != -1
    return {
        "n_topics": len(words),
        "outliers": 1 - mask.mean(),
        "npmi": npmi,
        "ari": adjusted_rand_score(labels[mask], topics[mask]),
        "nmi": normalized_mutual_info_score(labels[mask], topics[mask]),
    }


def run(
    sizes: list[int],
    bertopic_sizes: list[int],
    timeout: float | None,
    labeler_sizes: list[int] | None = None,
) -> None:
    import pandas as pd

    frame = pd.read_parquet(WORK / "million.parquet", columns=["text", "label"])
    reference = frame["text"].iloc[:REFERENCE].tolist()
    rows = []
    labeler_sizes = sizes if labeler_sizes is None else labeler_sizes
    for n in sizes:
        corpus, vectors = prefix(n)
        labels = frame["label"].iloc[:n].to_numpy()
        systems = ([run_labeler] if n in labeler_sizes else []) + (
            [run_bertopic] if n in bertopic_sizes else []
        )
        for runner in systems:
            result = runner(n, corpus, vectors, timeout)
            if result["status"] == "ok":
                result.update(quality(result, labels, reference))
            rows.append({"n": n, **result})
            got = {k: result[k] for k in ("n_topics", "outliers", "npmi", "ari") if k in result}
            print(f"{n:,} {result['system']}: {result['wall']:.0f} s, {result['peak']:.2f} GB, "
                  f"{result['status'][:200]} {result.get('stages', '')} {got}",
                  file=sys.stderr, flush=True)  # fmt: skip
    print("| docs | system | wall s | peak RSS GB | stages (s) | topics | outliers | NPMI | ARI |"
          " NMI |")  # fmt: skip
    print("|---:|---|---:|---:|---|---:|---:|---:|---:|---:|")
    for r in rows:
        if r["status"] != "ok":
            print(f"| {r['n']:,} | {r['system']} | {r['wall']:.0f} | {r['peak']:.2f} | "
                  f"{r['status'][:60]} | | | | | |")  # fmt: skip
            continue
        stages = ", ".join(f"{k} {float(v):.0f}" for k, v in r["stages"].items())
        print(f"| {r['n']:,} | {r['system']} | {r['wall']:.0f} | {r['peak']:.2f} | {stages} | "
              f"{r['n_topics']} | {r['outliers']:.1%} | {r['npmi']:.3f} | {r['ari']:.3f} | "
              f"{r['nmi']:.3f} |")  # fmt: skip


# ---------------------------------------------------------------------------- choices
def choices(fit: int, queries: int, parts: set[str]) -> None:
    """What the sample fit and the assignment use, measured: HDBSCAN vs fast_hdbscan vs EVoC on
    the sample, exact search vs pynndescent for the assignment."""
    import pandas as pd
    from sklearn.metrics import adjusted_rand_score

    from labeler import cluster as clustering
    from labeler.pipeline.large import EXACT_ASSIGN_LIMIT, Assigner, Engine

    vectors = np.load(WORK / "million.npy", mmap_mode="r")
    labels = pd.read_parquet(WORK / "million.parquet", columns=["label"])["label"].to_numpy()
    sample = np.asarray(vectors[:fit], dtype=np.float32)
    gold = labels[:fit]

    def score(topics):
        mask = topics >= 0
        ari = adjusted_rand_score(gold[mask], topics[mask])
        return f"ARI {ari:.3f}, outliers {1 - mask.mean():.1%}"

    if "cluster" in parts:
        t = time.perf_counter()
        reduced, _ = clustering.reduce(sample, 15, 5, 42, with_layout=False)
        print(f"UMAP 5-d on {fit:,}: {time.perf_counter() - t:.0f} s")
        size = clustering.default_min_cluster_size(fit)
        t = time.perf_counter()
        topics, _ = clustering.cluster(reduced, size)
        print(f"hdbscan 0.8: {time.perf_counter() - t:.1f} s, {score(topics)}")
        import fast_hdbscan

        t = time.perf_counter()
        fast = fast_hdbscan.HDBSCAN(min_cluster_size=size, min_samples=10).fit_predict(reduced)
        print(f"fast_hdbscan 0.3.4: {time.perf_counter() - t:.1f} s, {score(fast)}, "
              f"ARI vs hdbscan {adjusted_rand_score(topics, fast):.3f}")  # fmt: skip
    if "evoc" in parts:
        import evoc

        t = time.perf_counter()
        direct = evoc.EVoC(random_state=42).fit_predict(sample)
        print(f"EVoC 0.3.2 on the raw vectors: {time.perf_counter() - t:.0f} s, {score(direct)}")
    if "assign" not in parts:
        return
    # The assignment's speed and accuracy do not depend on where the sample's topics came from:
    # give the sample its gold labels, and score the assigned documents against theirs.
    names, topics = np.unique(gold, return_inverse=True)
    rest = np.asarray(vectors[fit : fit + queries], dtype=np.float32)
    for limit in (10**9, 0):
        import labeler.pipeline.large

        labeler.pipeline.large.EXACT_ASSIGN_LIMIT = limit
        t = time.perf_counter()
        assigner = Assigner(sample, topics, np.zeros((fit, 2), np.float32))
        got = Engine().assign(rest, assigner)["topic"]
        kind = "exact" if limit else "pynndescent"
        accuracy = np.mean(names[got] == labels[fit : fit + queries])
        print(f"assign {queries:,} by {kind}: {time.perf_counter() - t:.0f} s, "
              f"gold-label accuracy {accuracy:.1%}")  # fmt: skip
        if limit:
            exact = got
        else:
            print(f"  pynndescent agrees with exact on {np.mean(got == exact):.1%}")
    labeler.pipeline.large.EXACT_ASSIGN_LIMIT = EXACT_ASSIGN_LIMIT


def numbers(text: str) -> list[int]:
    """ "10000,100000" → [10000, 100000]; "" → []."""
    return [int(s) for s in text.split(",") if s]


def main() -> None:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build")
    b.add_argument("--size", type=int, default=1_000_000)
    b.add_argument("--seed", type=int, default=0)
    r = sub.add_parser("run")
    r.add_argument("--sizes", default="10000,100000,1000000")
    r.add_argument("--bertopic-sizes", default="10000,100000")
    r.add_argument("--labeler-sizes", help="Sizes labeler runs at (default: all of --sizes).")
    r.add_argument("--timeout", type=float, help="Seconds a system may run before it is stopped.")
    r.add_argument("--sample-fit", type=int, default=SAMPLE_FIT, help="labeler above 10,000 docs.")
    c = sub.add_parser("choices")
    c.add_argument("--fit", type=int, default=50_000)
    c.add_argument("--queries", type=int, default=100_000)
    c.add_argument("--parts", default="cluster,evoc,assign")
    args = parser.parse_args()
    if args.command == "build":
        build(args.size, args.seed)
    elif args.command == "choices":
        choices(args.fit, args.queries, set(args.parts.split(",")))
    else:
        globals()["SAMPLE_FIT"] = args.sample_fit
        own = None if args.labeler_sizes is None else numbers(args.labeler_sizes)
        run(numbers(args.sizes), numbers(args.bertopic_sizes), args.timeout, own)


if __name__ == "__main__":
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    main()
