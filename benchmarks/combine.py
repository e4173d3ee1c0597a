"""merge_models and partial_fit on labeler beside BERTopic 0.17.4 (run by hand, not in CI).

One BANKING77 slice, embedded once with labeler's packaged model; both libraries get the same
vectors (`embeddings=`), so embedding time is out of every figure; labeler's pass starts with an
empty cache folder (its merged map and keyword vectors are computed, not read back).

- merge_models: m1 is fitted on the first `--first` intents, m2 on the last `--second` ones,
  `--overlap` of them shared. `merge_models([m1, m2])` should add m2's topics about the held-out
  intents (those m1 never saw) and only those. Precision: the share of added topics whose
  majority intent is held out; recall: the share of held-out intents that are the majority of an
  added topic; routed: the share of m2's held-out documents that land in an added topic.
- partial_fit: the same documents in `--batches` batches with BERTopic's online components
  (IncrementalPCA(n_components=5), MiniBatchKMeans(n_clusters=N, random_state=0),
  OnlineCountVectorizer(stop_words="english", decay=.01)): seconds for the loop (the median of
  `--repeat` loops; the ratio labeler / BERTopic is measured in this run) and the ARI of every
  batch's topics against the intents.

    python benchmarks/combine.py --bertopic /work/bt-venv/bin/python
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
import time
from collections import Counter
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"


def slice_rows(n_intents: int, per_intent: int, seed: int) -> list[dict]:
    with gzip.open(SHARED / "banking77.jsonl.gz", "rt", encoding="utf-8") as fh:
        rows = [json.loads(line) for line in fh]
    rng = random.Random(seed)
    intents = sorted({r["label"] for r in rows})
    rng.shuffle(intents)
    picked = []
    for intent in intents[:n_intents]:
        picked += rng.sample([r for r in rows if r["label"] == intent], per_intent)
    return picked, intents[:n_intents]


def majority(labels: list[str]) -> str:
    return Counter(labels).most_common(1)[0][0]


def one_pass(target: str, data: dict, embeddings: np.ndarray, args) -> dict:
    """Both figures for one library; the same code for both (BERTopic's API)."""
    from sklearn.cluster import MiniBatchKMeans
    from sklearn.decomposition import IncrementalPCA
    from sklearn.metrics import adjusted_rand_score

    if target == "bertopic":
        from bertopic import BERTopic
        from bertopic.vectorizers import OnlineCountVectorizer
        from umap import UMAP

        # float64: with float32 vectors BERTopic 0.17.4's second partial_fit fails in
        # MiniBatchKMeans ("Buffer dtype mismatch, expected 'const double' but got 'float'")
        embeddings = np.asarray(embeddings, dtype=np.float64)

        def make(**kw):  # BERTopic's documented way to a reproducible fit
            umap = UMAP(n_neighbors=15, n_components=5, min_dist=0.0, metric="cosine",
                        random_state=args.seed)  # fmt: skip
            return BERTopic(umap_model=kw.pop("umap_model", umap), **kw)
    else:
        from labeler.bertopic import BERTopic
        from labeler.bertopic.vectorizers import OnlineCountVectorizer

        def make(**kw):
            return BERTopic(**kw)

    texts, labels = data["texts"], data["labels"]
    first, second = data["first"], data["second"]
    held_out = set(data["held_out"])
    out = {}
    # ---- merge_models
    i1 = [i for i, lab in enumerate(labels) if lab in first][: args.per_model]
    i2 = [i for i, lab in enumerate(labels) if lab in second][: args.per_model]
    m1 = make(min_topic_size=10).fit([texts[i] for i in i1], embeddings=embeddings[i1])
    m2 = make(min_topic_size=10).fit([texts[i] for i in i2], embeddings=embeddings[i2])
    clock = time.perf_counter()
    merged = BERTopic.merge_models([m1, m2], min_similarity=args.min_similarity)
    out["merge_s"] = time.perf_counter() - clock
    topics = [int(t) for t in merged.topics_]
    merged_labels = [labels[i] for i in i1 + i2]
    assert len(topics) == len(merged_labels), (len(topics), len(merged_labels))
    first_ids = {int(t) for t in m1.topics_} - {-1}
    all_ids = sorted(set(topics) | set(int(t) for t in merged.get_topic_info()["Topic"]))
    added = [t for t in all_ids if t not in first_ids and t != -1]
    majorities = {
        t: majority([lab for lab, x in zip(merged_labels, topics) if x == t])
        for t in added
        if t in topics
    }
    out["m1_topics"] = len(first_ids)
    out["m2_topics"] = len({int(t) for t in m2.topics_} - {-1})
    out["added"] = len(added)
    out["precision"] = (
        sum(majorities[t] in held_out for t in majorities) / len(majorities) if majorities else 0.0
    )
    out["recall"] = len({m for m in majorities.values() if m in held_out}) / len(held_out)
    second_held = [
        x for x, lab in zip(topics[len(i1) :], merged_labels[len(i1) :]) if lab in held_out
    ]
    out["routed"] = float(np.mean([x in set(added) for x in second_held]))
    # ---- partial_fit
    order = list(range(len(texts)))
    random.Random(args.seed).shuffle(order)
    size = -(-len(order) // args.batches)
    batches = [order[k : k + size] for k in range(0, len(order), size)]
    seconds = []
    for _ in range(args.repeat):  # the median of fresh models: this machine's load varies
        online = make(
            umap_model=IncrementalPCA(n_components=5),
            hdbscan_model=MiniBatchKMeans(n_clusters=args.clusters, random_state=0),
            vectorizer_model=OnlineCountVectorizer(stop_words="english", decay=0.01),
        )
        found: list[int] = []
        clock = time.perf_counter()
        for batch in batches:
            online.partial_fit([texts[i] for i in batch], embeddings=embeddings[batch])
            found += [int(t) for t in online.topics_]
        seconds.append(time.perf_counter() - clock)
    out["partial_fit_s"] = float(np.median(seconds))
    truth = [labels[i] for b in batches for i in b]
    out["partial_fit_ari"] = float(adjusted_rand_score(truth, found))
    out["partial_fit_topics"] = len(online.get_topic_info())
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bertopic", metavar="PYTHON", help="a Python that imports bertopic")
    parser.add_argument("--intents", type=int, default=16)
    parser.add_argument("--overlap", type=int, default=4)
    parser.add_argument("--per-intent", type=int, default=60)
    parser.add_argument("--per-model", type=int, default=600)
    parser.add_argument("--min-similarity", type=float, default=0.7)
    parser.add_argument("--batches", type=int, default=3)
    parser.add_argument("--clusters", type=int, default=16)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--repeat", type=int, default=3, help="partial_fit loops timed (median)")
    parser.add_argument("--pass", dest="target", choices=["labeler", "bertopic"])
    parser.add_argument("--work", type=Path)
    args = parser.parse_args()
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    if args.target:  # one library, in this process
        data = json.loads((args.work / "data.json").read_text())
        vectors = np.load(args.work / "embeddings.npy")
        result = one_pass(args.target, data, vectors, args)
        (args.work / f"{args.target}.json").write_text(json.dumps(result))
        return

    rows, intents = slice_rows(args.intents, args.per_intent, args.seed)
    half = (args.intents + args.overlap) // 2
    first, second = intents[:half], intents[half - args.overlap :]
    data = {
        "texts": [r["text"] for r in rows],
        "labels": [r["label"] for r in rows],
        "first": first,
        "second": second,
        "held_out": sorted(set(second) - set(first)),
    }
    work = args.work or Path(tempfile.mkdtemp(prefix="combine-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    from labeler import TopicModel

    vectors = TopicModel().embed(data["texts"])
    np.save(work / "embeddings.npy", np.asarray(vectors, dtype=np.float32))
    (work / "data.json").write_text(json.dumps(data))
    results = {}
    columns = [("labeler", sys.executable)] + (
        [("bertopic", args.bertopic)] if args.bertopic else []
    )
    for target, python in columns:
        cmd = [python, __file__, "--pass", target, "--work", str(work)]
        for name in ("per_model", "min_similarity", "batches", "clusters", "seed", "repeat"):
            cmd += [f"--{name.replace('_', '-')}", str(getattr(args, name))]
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "HF_HUB_OFFLINE": "1",
            "LABELER_CACHE_DIR": tempfile.mkdtemp(prefix="cache-", dir=work),
        }  # cold: no map
        subprocess.run(cmd, check=True, env=env, stdout=subprocess.DEVNULL)
        results[target] = json.loads((work / f"{target}.json").read_text())

    n1 = sum(lab in first for lab in data["labels"])
    n2 = sum(lab in second for lab in data["labels"])
    print(
        f"BANKING77, {args.intents} intents × {args.per_intent}: m1 on {len(first)} intents "
        f"({min(n1, args.per_model)} docs), m2 on {len(second)} ({min(n2, args.per_model)} docs), "
        f"{args.overlap} shared, {len(data['held_out'])} held out; merge_models(min_similarity="
        f"{args.min_similarity}); partial_fit over {args.batches} batches of "
        f"{-(-len(rows) // args.batches)} ({args.clusters} clusters)\n"
    )
    print("| | m1 / m2 topics | added | precision | recall | routed | merge s | "
          "partial_fit s | partial_fit ARI |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|")
    for target, r in results.items():
        print(
            f"| {'labeler' if target == 'labeler' else 'BERTopic 0.17.4'} | {r['m1_topics']} / "
            f"{r['m2_topics']} | {r['added']} | {r['precision']:.2f} | {r['recall']:.2f} | "
            f"{r['routed']:.2f} | {r['merge_s']:.2f} | {r['partial_fit_s']:.2f} | "
            f"{r['partial_fit_ari']:.3f} |"
        )
    if "bertopic" in results:
        lab, bt = results["labeler"], results["bertopic"]
        print(
            f"\npartial_fit time ratio labeler / BERTopic: "
            f"{lab['partial_fit_s'] / bt['partial_fit_s']:.2f}; merge_models time ratio: "
            f"{lab['merge_s'] / bt['merge_s']:.2f}"
        )


if __name__ == "__main__":
    main()
