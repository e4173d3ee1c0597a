"""Topic surgery on saved runs (run by hand, not in CI): what a reduce costs in LLM calls and time,
whether outlier reduction meets --max-share, and whether undo is byte for byte.

Per corpus (seeded slices as benchmarks/labels_quality.py): one fit without an LLM, saved as a
run; then, on copies of that run,

- `reduce --to N` with the packaged LLM (`--llm-model`, default small): LLM calls, topics touched,
  wall seconds; the issue's target is at most N + 5 calls;
- `undo`: sha256 of topics.json and documents.parquet against the fit's;
- `outliers --max-share S` by each strategy (no LLM: keyword labels): the outlier share before and
  after, seconds.

    nice -n 10 env LABELER_CACHE_DIR=/work/cache-bench python benchmarks/topic_surgery.py \\
        --corpora banking77 --max-docs 2000 --to 20
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from labels_quality import corpora, slice_corpus  # noqa: E402


def digest(run: Path) -> dict[str, str]:
    return {
        name: hashlib.sha256((run / name).read_bytes()).hexdigest()
        for name in ("topics.json", "documents.parquet")
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--corpora", nargs="*", default=None)
    parser.add_argument("--max-docs", type=int, default=2000)
    parser.add_argument("--to", type=int, default=20, help="reduce to this many topics")
    parser.add_argument("--max-share", type=float, default=0.05)
    parser.add_argument("--llm-model", default="small", help="local, small or none")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    from labeler import save, surgery
    from labeler.labels.labeling import LLMSettings
    from labeler.model import TopicModel

    settings = None if args.llm_model == "none" else LLMSettings(provider=args.llm_model)
    rows = []
    work = Path(tempfile.mkdtemp(prefix="surgery-bench-"))
    try:
        for name in args.corpora or corpora():
            texts, _, note = slice_corpus(name, args.max_docs)
            fitted = work / name
            save(TopicModel().fit(texts), fitted)
            before = digest(fitted)
            topics = len([r for r in json.loads((fitted / "topics.json").read_text())
                          if r["topic"] >= 0])  # fmt: skip
            row = {"corpus": name, "slice": note, "topics": topics}
            run = work / f"{name}-reduce"
            shutil.copytree(fitted, run)
            if args.to < topics:
                started = time.perf_counter()
                change = surgery.reduce(run, args.to, settings=settings)
                row.update(
                    reduce_to=args.to, touched=len(change.touched), llm_calls=change.llm_calls,
                    reduce_s=round(time.perf_counter() - started, 1),
                    within_target=change.llm_calls <= args.to + 5,
                )  # fmt: skip
                surgery.undo(run)
                row["undo_identical"] = digest(run) == before
            for strategy in ("embeddings", "c-tf-idf"):
                run = work / f"{name}-{strategy}"
                shutil.copytree(fitted, run)
                started = time.perf_counter()
                try:
                    change = surgery.outliers(run, strategy, args.max_share)
                    s = change.sizes
                    n = len(texts)
                    row[f"{strategy} outliers"] = (
                        f"{s['outliers_before'] / n:.1%} → {s['outliers_after'] / n:.1%}"
                    )
                except Exception as exc:  # noqa: BLE001 - e.g. already under the share
                    row[f"{strategy} outliers"] = str(exc)
                row[f"{strategy} s"] = round(time.perf_counter() - started, 1)
            rows.append(row)
            print(json.dumps(row), flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    columns = list(dict.fromkeys(k for r in rows for k in r))
    print("| " + " | ".join(columns) + " |")
    print("|" + " --- |" * len(columns))
    for r in rows:
        print("| " + " | ".join(str(r.get(c, "")) for c in columns) + " |")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
