"""Speculative decoding in the packaged server, measured on the label step's own prompts (run by
hand): does llama.cpp's n-gram lookup or a 0.5B draft model make the 1.5B model's labels faster,
and are the answers the same?

    nice python benchmarks/speculative.py [--corpus ../shared/data/banking77.jsonl.gz]
        [--sample 2000] [--topics 12] [--kinds ngram,ngram-mod,ngram-cache,draft]

The corpus is fitted once without an LLM. For each kind, two servers of the same 1.5B weights run
side by side in this process, one with `speculative="none"` and one with the kind; a twin chat
model sends every request of `labeler`'s label step (first `--topics` topics, fresh answer cache,
one request in flight) to both, alternating which goes first, so both see the same machine load
and the same prompt-cache history. It times each answer and compares them. The labels written are
the plain server's, so the step behaves exactly as in a normal run.

`ratio` is the speculative server's seconds over the plain one's (below 1: faster); `same` is the
share of answers identical to the plain server's (temperature 0: anything else is numeric drift
from batching the draft tokens).

Measured 2026-12-06 (BANKING77, 2,000 documents, 2 shared cores, load 4-8 from other work, so
only the ratios within a row count):

| speculative | calls | ratio | same answers |
|---|---:|---:|---:|
| ngram | 7 | 0.98 | 7/7 |
| ngram-mod | 7 | 0.90 | 7/7 |
| ngram-mod | 23 | 1.00 | 23/23 |
| ngram-cache | 23 | 1.12 | 18/23 |
| draft (0.5B) | 7 | 2.46 | 5/7 |

No kind is faster beyond the noise, and two change answers: labeler keeps "none".
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
sys.path.insert(0, str(Path(__file__).resolve().parent))

from llm_slots import fit_without_llm  # noqa: E402


class Twin:
    """A ChatModel asking two endpoints the same thing; answers with the first's reply."""

    supports_prefill = True

    def __init__(self, plain, other):
        self.plain, self.other = plain, other
        self.seconds = [0.0, 0.0]
        self.calls = 0
        self.same = 0
        self.completion_tokens = 0

    @property
    def identity(self) -> str:
        return self.plain.identity

    def chat(self, messages, *, schema, temperature, max_tokens):
        pair = [self.plain, self.other]
        order = [0, 1] if self.calls % 2 == 0 else [1, 0]
        results = [None, None]
        for i in order:
            clock = time.perf_counter()
            results[i] = pair[i].chat(
                messages, schema=schema, temperature=temperature, max_tokens=max_tokens
            )
            self.seconds[i] += time.perf_counter() - clock
        self.calls += 1
        self.same += results[0].content == results[1].content
        self.completion_tokens += results[0].completion_tokens
        return results[0]


def serve(kind: str):
    from labeler.llm.client import OpenAIChat
    from labeler.llm.local import LocalServer

    server = LocalServer("local", parallel=1, speculative=kind)
    server.start()
    chat = OpenAIChat(
        server.base_url, server.alias, timeout=600, identity=server.identity, supports_prefill=True
    )
    return server, chat


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--corpus", default=str(SHARED / "banking77.jsonl.gz"))
    parser.add_argument("--sample", type=int, default=2000)
    parser.add_argument("--topics", type=int, default=12)
    parser.add_argument("--kinds", default="ngram,ngram-mod,ngram-cache,draft")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from labeler.labels.labeling import LLMSettings, label_topics
    from labeler.run.folder import Run

    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp) / "base"
        ids = fit_without_llm(args.corpus, args.sample, base)
        topics = ids[: args.topics]
        print(f"{Path(args.corpus).name}, {args.sample:,} documents, labeling {len(topics)} of "
              f"{len(ids)} topics with the packaged 1.5B; {os.cpu_count()} cores\n")  # fmt: skip
        print("| speculative | calls | completion tokens | plain s | speculative s | ratio "
              "| same answers |")  # fmt: skip
        print("|---|---:|---:|---:|---:|---:|---:|")
        for kind in args.kinds.split(","):
            servers = [serve("none"), serve(kind)]
            try:
                twin = Twin(servers[0][1], servers[1][1])
                out = Path(tmp) / kind
                shutil.copytree(base, out)
                settings = LLMSettings(provider="local", slots=1, concurrency=1)
                label_topics(Run(out), settings, topics=topics, force=True, chat=twin)
            finally:
                for server, _ in servers:
                    server.stop()
            plain, spec = twin.seconds
            row = [kind, twin.calls, twin.completion_tokens, f"{plain:.1f}", f"{spec:.1f}",
                   f"{spec / plain:.2f}", f"{twin.same}/{twin.calls}"]  # fmt: skip
            print("| " + " | ".join(map(str, row)) + " |", flush=True)


if __name__ == "__main__":
    main()
