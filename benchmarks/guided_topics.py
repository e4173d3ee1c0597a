"""Zero-shot topics, seed topics and topics over time, measured on shared corpora (by hand, not
in CI; no LLM). Prints three tables.

1. Zero-shot (BANKING77, CLINC150): a seeded slice of --intents intents × --per-intent
   documents; the first --named intents (in the slice's seeded order) are named by their intent
   id with "_" read as a space ("card_arrival" → "card arrival"): names nobody tuned. Per corpus:
   documents in named topics, how many were matched directly and how many came with a joined
   cluster, precision (the document's intent is the named one), recall (of the named intents'
   documents, the share in their named topic).
2. Seed topics (same slices): for --named intents, the seed words are the intent id's words
   (stop words dropped). Per intent: the seed words' mean rank in the c-TF-IDF words of the
   topic holding most of that intent's documents (absent: 100), without and with the seeds.
3. topics_over_time / topics_per_class on a seeded Reuters sample: rows, bins, and the time
   they take as a ratio of the fit's.

    nice -n 10 env LABELER_CACHE_DIR=/work/cache-bench python benchmarks/guided_topics.py
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from labeler import TopicModel  # noqa: E402
from labeler.represent.ctfidf import stop_word_list  # noqa: E402

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


def rows_of(name: str) -> list[dict]:
    with gzip.open(SHARED / f"{name}.jsonl.gz", "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


def intent_slice(name: str, intents: int, per_intent: int) -> tuple[list[str], np.ndarray]:
    rows = [r for r in rows_of(name) if r["label"] != "oos"]
    rng = np.random.default_rng(0)
    labels = sorted({r["label"] for r in rows})
    chosen = [labels[i] for i in rng.choice(len(labels), intents, replace=False)]
    picked = []
    for intent in chosen:
        members = [r for r in rows if r["label"] == intent]
        picked += [members[i] for i in rng.choice(len(members), per_intent, replace=False)]
    order = rng.permutation(len(picked))
    return [picked[i]["text"] for i in order], np.array([picked[i]["label"] for i in order])


def zero_shot(name: str, docs, labels, named: list[str], min_similarity: float) -> dict:
    names = [n.replace("_", " ") for n in named]
    model = TopicModel(layout=False, zeroshot_topic_list=names)
    model.set_params(zeroshot_min_similarity=min_similarity).fit(docs)
    intent_of = {t: named[names.index(n)] for t, n in model.zeroshot_topics_.items()}
    inside = np.isin(model.topics_, list(intent_of))
    right = np.array([intent_of.get(int(t)) == y for t, y in zip(model.topics_, labels)])
    wanted = np.isin(labels, named)
    info = model.guided_["zero_shot"]
    return {
        "corpus": name,
        "docs": len(docs),
        "names": f"{len(intent_of)}/{len(named)}",
        "in named": int(inside.sum()),
        "matched": info["documents_matched"],
        "joined clusters": info["clusters_joined"],
        "precision": round(float(right[inside].mean()) if inside.any() else 0.0, 3),
        "recall": round(float(right[wanted].mean()), 3),
    }


def seed_ranks(name: str, docs, labels, named: list[str]) -> list[dict]:
    stop = set(stop_word_list("english"))
    seeds = [[w for w in intent.split("_") if w not in stop] for intent in named]
    seeds = [s for s in seeds if s]
    fits = {
        "without": TopicModel(layout=False).fit(docs),
        "with": TopicModel(layout=False, seed_topic_list=seeds).fit(docs),
    }
    rows = []
    for intent, words in zip(named, seeds):
        row = {"corpus": name, "intent": intent, "seed words": " ".join(words)}
        for key, model in fits.items():
            members = model.topics_[labels == intent]
            topic = int(np.bincount(members + 1).argmax() - 1)
            ranked = [w for w, _ in model.ctfidf_.topic_words(topic, 100)]
            ranks = [ranked.index(w) + 1 if w in ranked else 100 for w in words]
            row[f"rank {key}"] = round(float(np.mean(ranks)), 1)
            row[f"topic share {key}"] = round(float((members == topic).mean()), 2)
        rows.append(row)
    return rows


def over_time(sample: int) -> dict:
    rows = rows_of("reuters21578")
    rng = np.random.default_rng(0)
    picked = [rows[i] for i in np.sort(rng.choice(len(rows), sample, replace=False))]
    docs = [r["text"] for r in picked]
    clock = time.perf_counter()
    model = TopicModel(layout=False).fit(docs)
    fit_s = time.perf_counter() - clock
    stamps = [r["timestamp"] for r in picked]
    clock = time.perf_counter()
    frame = model.topics_over_time(docs, stamps)
    over_s = time.perf_counter() - clock
    binned = model.topics_over_time(docs, stamps, nr_bins=20)
    clock = time.perf_counter()
    classes = model.topics_per_class(docs, [r["label"] for r in picked])
    class_s = time.perf_counter() - clock
    return {
        "docs": sample,
        "topics": len([t for t in model.topic_ids_ if t >= 0]),
        "rows (default bins)": len(frame),
        "bins": frame.Timestamp.nunique(),
        "rows (nr_bins=20)": len(binned),
        "bins (nr_bins=20)": binned.Timestamp.nunique(),
        "rows per class": len(classes),
        "classes": classes.Class.nunique(),
        "over_time / fit": round(over_s / fit_s, 3),
        "per_class / fit": round(class_s / fit_s, 3),
    }


def table(rows: list[dict]) -> None:
    if not rows:
        return
    keys = list(rows[0])
    print("| " + " | ".join(keys) + " |")
    print("|" + "---|" * len(keys))
    for row in rows:
        print("| " + " | ".join(str(row[k]) for k in keys) + " |")
    print()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--intents", type=int, default=20)
    parser.add_argument("--per-intent", type=int, default=50)
    parser.add_argument("--named", type=int, default=5)
    parser.add_argument("--min-similarity", type=float, default=0.7)
    parser.add_argument("--reuters", type=int, default=2000, help="Reuters sample size")
    parser.add_argument("--only", choices=["zero-shot", "seeds", "time"])
    args = parser.parse_args()
    slices = {
        name: intent_slice(name, args.intents, args.per_intent)
        for name in ("banking77", "clinc150")
    }
    if args.only in (None, "zero-shot"):
        rows = []
        for name, (docs, labels) in slices.items():
            named = list(dict.fromkeys(labels))[: args.named]
            rows.append(zero_shot(name, docs, labels, named, args.min_similarity))
        print(f"Zero-shot topics (zeroshot_min_similarity {args.min_similarity})")
        table(rows)
    if args.only in (None, "seeds"):
        rows = []
        for name, (docs, labels) in slices.items():
            rows += seed_ranks(name, docs, labels, list(dict.fromkeys(labels))[: args.named])
        print("Seed words' mean c-TF-IDF rank in their intent's topic (1 = first; 100 = absent)")
        table(rows)
    if args.only in (None, "time"):
        print("Topics over time and per class, Reuters-21578 sample")
        table([over_time(args.reuters)])


if __name__ == "__main__":
    main()
