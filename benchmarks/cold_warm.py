"""Issue 14's end-to-end timing targets, every row measured in the same run on this machine (by
hand, not in CI; run it alone: the cores must not be shared with other work).

1. 30,000 short documents, a seeded random mix of the six short-text corpora in ../shared/data
   (BANKING77, CLINC150, Bitext, StackOverflow titles, UCI sentiment sentences, AG News test):
   - the peer: plain sentence-transformers loading the packaged MiniLM and encoding the texts
     (batch 64, CPU), in a fresh process;
   - `labeler run --llm none` from an empty cache: the first run on a machine, the ONNX export
     and the backend calibration included ("first");
   - the same from a cache holding only that export ("cold": no embedding or reduction cached);
   - the same again on the cold run's cache ("warm": what a rerun with other options costs);
   - BERTopic 0.17 end to end with its defaults and the same model (it embeds itself).
2. `make demo`'s run (2,000 BANKING77 questions, labels and tree, packaged 1.5B) from an empty
   cache (issue 24: under 2 minutes on a quiet 2-core machine).
3. A seeded sample of 5,000 stripped 20 Newsgroups posts: `labeler run` with LLM labels from a
   cold cache beside BERTopic 0.17 embedding and fitting the same posts with no labels (issue 24:
   at most 0.5x).
4. 20 Newsgroups, every post (headers, footers and quotes stripped as in prepare.py), from a
   cold cache to an LLM-labelled report with the packaged 1.5B model (`labeler run`, defaults).

Each row is a whole child process: wall seconds and its peak RSS (os.wait4). ARI is against the
gold labels on the documents the system did not call outliers.

    nice -n 5 python benchmarks/cold_warm.py [--short 30000] [--skip-demo] [--ng-sample 5000]
        [--skip-20ng] [--work DIR]
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np
from fit_vs_bertopic import timed
from prepare import load
from scale import CORPORA as SHORT  # the six short-text corpora of the million-document set

ROOT = Path(__file__).resolve().parents[1]

PEER = r"""
import json, sys
from sentence_transformers import SentenceTransformer
from labeler.embedding.sbert import resolve_model_path
texts = [json.loads(l)["text"] for l in open(sys.argv[1], encoding="utf-8")]
model = SentenceTransformer(resolve_model_path("all-MiniLM-L6-v2"), device="cpu")
model.encode(texts, batch_size=64)
"""

BERTOPIC = r"""
import json, sys
sys.path.insert(0, sys.argv[3])  # the repository: another venv may not see labeler's install
from bertopic import BERTopic
from sentence_transformers import SentenceTransformer
from labeler.embedding.sbert import resolve_model_path
texts = [json.loads(l)["text"] for l in open(sys.argv[1], encoding="utf-8")]
model = SentenceTransformer(resolve_model_path("all-MiniLM-L6-v2"), device="cpu")
topics, _ = BERTopic(embedding_model=model).fit_transform(texts)
json.dump([int(t) for t in topics], open(sys.argv[2], "w"))
"""


def write_corpus(path: Path, texts: list[str], labels: list[str]) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        for text, label in zip(texts, labels):
            fh.write(json.dumps({"text": text, "label": label}) + "\n")


def short_mix(n: int, seed: int) -> tuple[list[str], list[str]]:
    rows = []
    for name in SHORT:
        texts, labels = load(name)
        rows += [(t, f"{name}:{lab}") for t, lab in zip(texts, labels)]
    random.Random(seed).shuffle(rows)
    rows = rows[:n]
    return [t for t, _ in rows], [lab for _, lab in rows]


def ari(topics, labels) -> float:
    from sklearn.metrics import adjusted_rand_score

    topics, labels = np.asarray(topics), np.asarray(labels)
    keep = topics >= 0
    return float(adjusted_rand_score(labels[keep], topics[keep]))


def labeler_topics(run: Path, labels: list[str]) -> tuple[np.ndarray, list[str]]:
    """Topics in corpus order, and the gold labels of the documents the run kept (empty texts
    are dropped; document ids are row numbers)."""
    import pandas as pd

    docs = pd.read_parquet(run / "documents.parquet", columns=["doc_id", "topic"])
    rows = docs["doc_id"].astype(int).to_numpy()
    return docs["topic"].to_numpy(), [labels[i] for i in rows]


def labeler_row(what: str, corpus: Path, run: Path, cache: Path, labels, extra=()) -> dict:
    cmd = [sys.executable, "-m", "labeler.cli", "run", str(corpus), "--out", str(run),
           "--cache-dir", str(cache), "-q", *extra]  # fmt: skip
    wall, peak = timed(cmd)
    topics, gold = labeler_topics(run, labels)
    config = json.loads((run / "config.json").read_text())
    stages = config.get("timings_s", {})
    return {"what": what, "wall": wall, "peak": peak, "ari": ari(topics, gold),
            "topics": int(len(set(topics) - {-1})), "outliers": float(np.mean(topics < 0)),
            "stages": stages}  # fmt: skip


def fmt_stages(stages: dict) -> str:
    return ", ".join(f"{k} {v:.0f}" for k, v in stages.items() if isinstance(v, (int, float)))


def short_rows(args, work: Path, first_cache: Path) -> None:
    rows = []
    texts, labels = short_mix(args.short, args.seed)
    mix = work / "short_mix.jsonl"
    write_corpus(mix, texts, labels)
    peer = work / "peer.py"
    peer.write_text(PEER)
    wall, peak = timed([sys.executable, str(peer), str(mix)])
    rows.append({"what": "sentence-transformers encode (peer)", "wall": wall, "peak": peak})
    print(f"peer {wall:.1f} s", file=sys.stderr, flush=True)

    cold_cache = work / "cache-cold"
    for path in (first_cache, cold_cache):
        shutil.rmtree(path, ignore_errors=True)
    none = ["--llm", "none"]
    rows.append(labeler_row("labeler, first run on the machine", mix, work / "first",
                            first_cache, labels, none))  # fmt: skip
    if (first_cache / "models").exists():
        shutil.copytree(first_cache / "models", cold_cache / "models")
    rows.append(labeler_row("labeler, cold cache", mix, work / "cold", cold_cache, labels, none))
    rows.append(labeler_row("labeler, warm rerun", mix, work / "warm", cold_cache, labels, none))
    print(f"labeler {[round(r['wall'], 1) for r in rows[1:]]}", file=sys.stderr, flush=True)
    if not args.skip_bertopic:
        script, out = work / "bertopic_e2e.py", work / "bertopic.json"
        script.write_text(BERTOPIC)
        wall, peak = timed([args.bertopic_python, str(script), str(mix), str(out), str(ROOT)])
        topics = json.loads(out.read_text())
        rows.append({"what": "BERTopic 0.17 end to end", "wall": wall, "peak": peak,
                     "ari": ari(topics, labels), "topics": len(set(topics) - {-1}),
                     "outliers": float(np.mean(np.asarray(topics) < 0))})  # fmt: skip

    base = rows[0]["wall"]
    bert = next((r["wall"] for r in rows if r["what"].startswith("BERTopic")), None)
    print(f"\n{len(texts):,} short documents (seed {args.seed}); ratios against the peer's "
          "wall time" + (" and BERTopic's" if bert else ""))  # fmt: skip
    head = "run | wall s | × peer | × BERTopic | peak RSS MB | topics | outliers | ARI | stages s"
    print(f"\n| {head} |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---|")
    for r in rows:
        versus = f"{r['wall'] / bert:.2f}" if bert else ""
        quality = (f"{r['topics']} | {r['outliers']:.1%} | {r['ari']:.3f}" if "ari" in r
                   else " | | ")  # fmt: skip
        print(
            f"| {r['what']} | {r['wall']:.1f} | {r['wall'] / base:.2f} | {versus} | "
            f"{r['peak']:.0f} | {quality} | {fmt_stages(r.get('stages', {}))} |"
        )
    sys.stdout.flush()


def demo(work: Path) -> None:
    """`make demo`'s command (Makefile) on an empty cache: what a new user waits for."""
    _, labels = load("banking77")
    corpus = Path(__file__).resolve().parents[2] / "shared" / "data" / "banking77.jsonl.gz"
    cache = work / "cache-demo"
    shutil.rmtree(cache, ignore_errors=True)
    r = labeler_row("make demo's run", corpus, work / "demo", cache, labels, ["--sample", "2000"])
    print(f"\n`make demo`'s run (2,000 BANKING77, labels and tree, packaged 1.5B), empty cache: "
          f"{r['wall']:.0f} s (target 120 s: {r['wall'] / 120:.2f}x the target), peak RSS "
          f"{r['peak']:.0f} MB, {r['topics']} topics; stages: {fmt_stages(r['stages'])}",
          flush=True)  # fmt: skip


def ng_sample(args, work: Path, first_cache: Path) -> None:
    """5,000 stripped 20NG posts: a labelled labeler report vs BERTopic's embed and fit alone."""
    texts, labels = load("20newsgroups")
    keep = sorted(random.Random(args.seed).sample(range(len(texts)), args.ng_sample))
    texts, labels = [texts[i] for i in keep], [labels[i] for i in keep]
    corpus = work / "20ng_sample.jsonl"
    write_corpus(corpus, texts, labels)
    cache = work / "cache-20ng-sample"
    shutil.rmtree(cache, ignore_errors=True)
    if (first_cache / "models").exists():
        shutil.copytree(first_cache / "models", cache / "models")
    r = labeler_row("labeler run, LLM labels", corpus, work / "20ng-sample", cache, labels)
    script, out = work / "bertopic_e2e.py", work / "bertopic-20ng.json"
    script.write_text(BERTOPIC)
    wall, peak = timed([args.bertopic_python, str(script), str(corpus), str(out), str(ROOT)])
    topics = json.loads(out.read_text())
    print(f"\n{len(texts):,} stripped 20 Newsgroups posts (seed {args.seed}), cold cache")
    print("\n| run | wall s | × BERTopic | peak RSS MB | topics | outliers | ARI | stages s |")
    print("|---|---:|---:|---:|---:|---:|---:|---|")
    print(f"| labeler, LLM labels and tree | {r['wall']:.1f} | {r['wall'] / wall:.2f} | "
          f"{r['peak']:.0f} | {r['topics']} | {r['outliers']:.1%} | {r['ari']:.3f} | "
          f"{fmt_stages(r['stages'])} |")  # fmt: skip
    print(f"| BERTopic 0.17, embed and fit, no labels | {wall:.1f} | 1.00 | {peak:.0f} | "
          f"{len(set(topics) - {-1})} | {np.mean(np.asarray(topics) < 0):.1%} | "
          f"{ari(topics, labels):.3f} | |", flush=True)  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--short", type=int, default=30_000, help="documents in the short mix")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--skip-short", action="store_true", help="no 30,000-document rows")
    parser.add_argument("--skip-demo", action="store_true")
    parser.add_argument("--ng-sample", type=int, default=5000, help="0: no 20NG sample rows")
    parser.add_argument("--skip-20ng", action="store_true")
    parser.add_argument("--skip-bertopic", action="store_true")
    parser.add_argument("--bertopic-python", default=sys.executable,
                        help="a Python that imports bertopic and labeler [this one]")  # fmt: skip
    parser.add_argument("--work", type=Path, help="keep runs here [a temporary folder]")
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="cold-warm-"))
    work.mkdir(parents=True, exist_ok=True)

    first_cache = work / "cache-first"
    if not args.skip_short:
        short_rows(args, work, first_cache)
    if not args.skip_demo:
        demo(work)
    if args.ng_sample:
        ng_sample(args, work, first_cache)
    if not args.skip_20ng:
        texts, labels = load("20newsgroups")
        corpus = work / "20newsgroups.jsonl"
        write_corpus(corpus, texts, labels)
        cache = work / "cache-20ng"
        shutil.rmtree(cache, ignore_errors=True)
        if (first_cache / "models").exists():
            shutil.copytree(first_cache / "models", cache / "models")
        r = labeler_row("20 Newsgroups, cold cache, LLM labels", corpus, work / "20ng", cache,
                        labels)  # fmt: skip
        print(f"\n20 Newsgroups stripped, {len(texts):,} posts, cold cache to a labelled report "
              f"(packaged 1.5B): {r['wall']:.0f} s ({r['wall'] / 60:.1f} min), peak RSS "
              f"{r['peak']:.0f} MB, {r['topics']} topics, {r['outliers']:.1%} outliers, "
              f"ARI {r['ari']:.3f}; stages: {fmt_stages(r['stages'])}")  # fmt: skip
    print(f"\nruns in {work}")


if __name__ == "__main__":
    main()
