"""The review app's changes as jobs (issue 25; run by hand, not in CI): the seconds from a merge
or split request to its first progress answer, the job's whole time, and how fast a decision
sent meanwhile is answered.

Per corpus (seeded slices as benchmarks/labels_quality.py): one fit without an LLM, saved as a
run, served by the review app on 127.0.0.1 (keyword labels, or the in-process fake ChatModel of
tests/fakes.py with `--fake-llm`: it answers at once, so the time is labeler's own); then, as the
page does (POST ...?async=1, then GET /api/jobs/{id} every 0.2 s):

- a merge of the two smallest topics, a split preview of the largest and the split it previews;
- while each runs, one `accept` on another topic: its answer's status and seconds.

    nice -n 10 env LABELER_CACHE_DIR=/work/cache-bench HF_HUB_OFFLINE=1 \\
        python benchmarks/i25-review.py --corpora banking77 --max-docs 2000
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE.parent / "tests"))

from labels_quality import corpora, slice_corpus  # noqa: E402


def timed_job(server, path: str, body: dict, other: int) -> dict:
    started = time.perf_counter()
    reply = server.call("POST", path, body, auth=True)
    answered = time.perf_counter() - started
    assert reply.status == 202, reply.text
    job = reply.json["job"]
    first = None
    refusal = None
    while job["state"] == "running":
        if refusal is None:
            asked = time.perf_counter()
            refused = server.review(other, action="note", note="sent while a change runs")
            refusal = (refused.status, round(time.perf_counter() - asked, 3))
        time.sleep(0.2)
        job = server.call("GET", f"/api/jobs/{job['id']}").json["job"]
        if first is None:
            first = time.perf_counter() - started
    return {
        "answer s": round(answered, 3),
        "first progress s": round(first if first is not None else answered, 3),
        "total s": round(time.perf_counter() - started, 1),
        "steps": job["steps"],
        "state": job["state"],
        "decision meanwhile": f"{refusal[0]} in {refusal[1]} s" if refusal else "job done first",
        "result": job["result"],
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--corpora", nargs="*", default=None)
    parser.add_argument("--max-docs", type=int, default=2000)
    parser.add_argument("--fake-llm", action="store_true", help="label with the fake ChatModel")
    args = parser.parse_args()
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    from review_server import ThreadServer

    from labeler import save
    from labeler.model import TopicModel

    options = {}
    if args.fake_llm:
        from fakes import FakeChat

        from labeler.labels.labeling import LLMSettings

        options = {"settings": LLMSettings(base_url="http://127.0.0.1:9/v1", model="fake"),
                   "chat": FakeChat()}  # fmt: skip
    rows = []
    work = Path(tempfile.mkdtemp(prefix="review-jobs-bench-"))
    try:
        for name in args.corpora or corpora():
            texts, _, note = slice_corpus(name, args.max_docs)
            run = work / name
            save(TopicModel(seed=42).fit(texts), run)
            sizes = {r["topic"]: r["size"] for r in json.loads((run / "topics.json").read_text())
                     if r["topic"] >= 0}  # fmt: skip
            order = sorted(sizes, key=sizes.get)
            small, smaller, largest = order[1], order[0], order[-1]
            with ThreadServer(run, **options) as server:
                merge = timed_job(server, f"/api/topics/{small}/review?async=1",
                                  {"action": "merge", "other": smaller}, largest)  # fmt: skip
                preview = timed_job(server, f"/api/topics/{largest}/split-preview", {}, small)
                best = preview["result"]["best"]
                split = timed_job(server, f"/api/topics/{largest}/review?async=1",
                                  {"action": "split", "parts": best}, small)  # fmt: skip
            for what, row in (("merge", merge), ("split preview", preview),
                              (f"split into {best}", split)):  # fmt: skip
                row.pop("result")
                rows.append({"corpus": name, "slice": note, "topics": len(sizes),
                             "change": what, **row})  # fmt: skip
                print(json.dumps(rows[-1]), flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    columns = list(dict.fromkeys(k for r in rows for k in r))
    print("| " + " | ".join(columns) + " |")
    print("|" + " --- |" * len(columns))
    for r in rows:
        print("| " + " | ".join(str(r.get(c, "")) for c in columns) + " |")


if __name__ == "__main__":
    main()
