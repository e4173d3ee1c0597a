"""LLM label quality and speed on BANKING77 and a 20 Newsgroups slice (run by hand, not in CI).

For each topic: the gold category holding most of its documents; the label "names" it when that
category's readable name is the label's nearest category name by MiniLM embedding (top-1 of all
categories). Also: duplicate labels, fallbacks, seconds per topic (the whole `labeler relabel`
process: server start, labels, duplicate re-prompts, reports), for the packaged 0.5B and 1.5B
models and the packaged prompts (`--runs MODEL:PROMPT ...`), on one fit per corpus.

    python benchmarks/prepare.py          # texts + MiniLM vectors into /tmp/labeler-bench
    python benchmarks/labels_quality.py   # prints a Markdown table
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np

NG_WORDS = {
    "alt": "", "comp": "computer", "rec": "", "sci": "science", "soc": "society", "talk": "",
    "misc": "", "os": "operating system", "ms-windows": "microsoft windows", "sys": "",
    "ibm": "ibm", "pc": "pc", "mac": "apple mac", "x": "x window system", "crypt": "cryptography",
    "med": "medicine", "autos": "cars", "sport": "", "forsale": "for sale",
    "religion": "religion", "christian": "christianity", "politics": "politics", "guns": "guns",
    "mideast": "middle east",
}  # fmt: skip


def readable(label: str, corpus: str) -> str:
    if corpus == "20newsgroups":
        words = [NG_WORDS.get(p, p) for p in label.split(".")]
        return " ".join(w for w in words if w)
    return label.replace("_", " ")


def labeler(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "labeler", *args, "-q"], check=True,
                   stdout=subprocess.DEVNULL)  # fmt: skip


def slice_inputs(data: Path, name: str, sample: int | None, work: Path) -> tuple[Path, Path]:
    rows = [json.loads(line) for line in (data / f"{name}.jsonl").open(encoding="utf-8")]
    vectors = np.load(data / f"{name}.npy")
    idx = np.arange(len(rows))
    if sample and sample < len(rows):
        idx = np.sort(np.random.default_rng(0).choice(len(rows), sample, replace=False))
    corpus, vec = work / f"{name}.jsonl", work / f"{name}.npy"
    with corpus.open("w", encoding="utf-8") as fh:
        for i in idx:
            fh.write(json.dumps({"text": rows[i]["text"], "label": rows[i]["label"]}) + "\n")
    np.save(vec, vectors[idx])
    return corpus, vec


def score(run: Path, corpus: str) -> dict:
    import pandas as pd

    from labeler.embed import SentenceTransformerEmbedder

    docs = pd.read_parquet(run / "documents.parquet", columns=["topic", "class"])
    topics = [t for t in json.loads((run / "topics.json").read_text()) if t["topic"] >= 0]
    categories = sorted(docs["class"].unique())
    names = [readable(c, corpus) for c in categories]
    embedder = SentenceTransformerEmbedder()
    cat_vecs = embedder.embed(names)
    cat_vecs /= np.linalg.norm(cat_vecs, axis=1, keepdims=True)
    labels = [t["label"] for t in topics]
    lab_vecs = embedder.embed(labels)
    lab_vecs /= np.linalg.norm(lab_vecs, axis=1, keepdims=True)
    hits = 0
    for t, vec in zip(topics, lab_vecs):
        majority = Counter(docs.loc[docs["topic"] == t["topic"], "class"]).most_common(1)[0][0]
        hits += categories[int(np.argmax(cat_vecs @ vec))] == majority
    lowered = [label.lower() for label in labels]
    return {
        "topics": len(topics),
        "match": hits / len(topics),
        "duplicates": len(lowered) - len(set(lowered)),
        "fallbacks": sum(t.get("label_source") != "llm" for t in topics),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path, default=Path("/tmp/labeler-bench"))
    parser.add_argument(
        "--runs", nargs="*",
        default=["local:label_summary", "local:label_only", "small:label_summary"],
        help="MODEL:PROMPT pairs",
    )  # fmt: skip
    parser.add_argument("--corpora", nargs="*", default=["banking77", "20newsgroups"])
    args = parser.parse_args()
    samples = {"banking77": None, "20newsgroups": 4000}
    rows = []
    for name in args.corpora:
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            corpus, vec = slice_inputs(args.data, name, samples[name], work)
            fitted = work / "fit"
            labeler("run", str(corpus), "--embeddings", str(vec), "--embedding-model",
                    "all-MiniLM-L6-v2", "--class-column", "label", "--llm", "none",
                    "--out", str(fitted))  # fmt: skip
            for spec in args.runs:
                model, prompt = spec.split(":")
                run = work / spec.replace(":", "-")
                shutil.copytree(fitted, run)
                started = time.perf_counter()
                labeler("relabel", str(run), "--llm", model, "--prompt", prompt)
                seconds = time.perf_counter() - started
                result = score(run, name)
                rows.append({"corpus": name, "model": model, "prompt": prompt,
                             "seconds": seconds, **result})  # fmt: skip
                print(rows[-1], file=sys.stderr, flush=True)
    print("| corpus | model | prompt | topics | names majority category | duplicate labels "
          "| fallbacks | s / topic (whole relabel) |")  # fmt: skip
    print("|---|---|---|---:|---:|---:|---:|---:|")
    for r in rows:
        per_topic = r["seconds"] / r["topics"]
        cells = [r["corpus"], r["model"], r["prompt"], r["topics"], f"{r['match']:.0%}"]
        cells += [r["duplicates"], r["fallbacks"], f"{per_topic:.2f}"]
        print("| " + " | ".join(str(c) for c in cells) + " |")


if __name__ == "__main__":
    main()
