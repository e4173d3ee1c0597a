"""Seconds per topic of the label step with 1, 2, 3 and 4 parallel slots of the packaged server
(run by hand), on one BANKING77 fit, and whether the slot count changes the labels.

    nice python benchmarks/llm_slots.py [--sample 2000] [--topics 12] [--models small,local]
                                        [--slots 1,2,3,4]

The corpus is fitted once without an LLM; each row labels the same first `--topics` topics of
a fresh copy (an empty answer cache) with `--llm-slots N` (N + 1 requests in flight). Before the
rows, each model labels one topic untimed, so every row starts with the model's files in the
page cache and slot 0's system prompt saved (the other slots read it once: a cost of slots).
The 1-slot row is measured first and again last: their difference is the machine's noise.
`same labels` counts the topics whose label equals the first 1-slot row's (temperature 0).
The last table counts each check's re-asks (and how many changed the label) over every row,
read back from the label versions' provenance (`params.reasks`).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


def label(base: Path, out: Path, model: str, slots: int, topics: list[int]):
    from labeler.labels.labeling import LLMSettings, label_topics
    from labeler.run.folder import Run

    shutil.copytree(base, out)
    run = Run(out)
    settings = LLMSettings(provider=model, slots=slots)
    clock = time.perf_counter()
    stats = label_topics(run, settings, topics=topics)
    seconds = time.perf_counter() - clock
    current = run.db.current_labels()
    labels = {t: current[t]["label"] for t in topics}
    reasks = []
    for t in topics:
        params = json.loads(current[t].get("params") or "{}")
        reasks += params.get("reasks", [])
    return seconds, stats, labels, reasks


def fit_without_llm(corpus: str, sample: int, out: Path) -> list[int]:
    """`labeler run CORPUS --sample N --llm none` into `out`; its topic ids (no outliers)."""
    from labeler.run.folder import Run

    subprocess.run(
        [sys.executable, "-m", "labeler", "run", corpus, "--sample", str(sample),
         "--out", str(out), "--llm", "none", "-q"],
        check=True, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    return sorted(t["topic"] for t in Run(out).topics() if t["topic"] >= 0)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--corpus", default=str(SHARED / "banking77.jsonl.gz"))
    parser.add_argument("--sample", type=int, default=2000)
    parser.add_argument("--topics", type=int, default=12)
    parser.add_argument("--models", default="small,local")
    parser.add_argument("--slots", default="1,2,3,4")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    slot_counts = [int(s) for s in args.slots.split(",")]
    order = [*slot_counts, slot_counts[0]]  # the first again, last: the noise
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp) / "base"
        ids = fit_without_llm(args.corpus, args.sample, base)
        topics = ids[: args.topics]
        print(f"BANKING77, {args.sample:,} documents, {len(ids)} topics; labeling topics "
              f"{topics[0]}..{topics[-1]} ({len(topics)}); {os.cpu_count()} cores\n")  # fmt: skip
        print("| model | slots | requests in flight | s/topic | vs 1 slot | calls | prompt tokens "
              "| same labels as 1 slot |")  # fmt: skip
        print("|---|---:|---:|---:|---:|---:|---:|---:|")
        reask_rows = {}
        for n, model in enumerate(args.models.split(",")):
            label(base, Path(tmp) / f"warm-{model}", model, 1, [ids[-1]])  # untimed
            first = None
            counts: Counter = Counter()
            changed: Counter = Counter()
            for i, slots in enumerate(order):
                seconds, stats, labels, reasks = label(
                    base, Path(tmp) / f"{model}-{i}", model, slots, topics
                )
                per_topic = stats.seconds / len(topics)
                first = first or (per_topic, labels)
                same = sum(labels[t] == first[1][t] for t in topics)
                note = " (again)" if i == len(order) - 1 else ""
                print(
                    f"| {model} | {slots}{note} | {slots + 1} | {per_topic:.2f} | "
                    f"{first[0] / per_topic:.2f}x | {stats.calls} | {stats.prompt_tokens:,} | "
                    f"{same}/{len(topics)} |",
                    flush=True,
                )
                for r in reasks:
                    counts[r["check"]] += 1
                    changed[r["check"]] += bool(r["changed"])
            reask_rows[model] = (counts, changed, len(order) * len(topics))
            if n == 0:
                shutil.rmtree(Path(tmp) / f"warm-{model}", ignore_errors=True)
        print("\n| model | check | re-asks | changed the label | topics labelled |")
        print("|---|---|---:|---:|---:|")
        for model, (counts, changed, labelled) in reask_rows.items():
            for check in sorted(counts) or ["(none)"]:
                print(f"| {model} | {check} | {counts[check]} | {changed[check]} | {labelled} |")


if __name__ == "__main__":
    main()
