"""First vs second `labeler run` on the same corpus (run by hand): the second must reuse the
embedding and reduction caches and take at most half the time.

    python benchmarks/rerun.py [CORPUS] [--sample 2000]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("corpus", nargs="?", default=str(SHARED / "banking77.jsonl.gz"))
    parser.add_argument("--sample", type=int, default=2000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [
            sys.executable, "-m", "labeler.cli", "run", args.corpus, "--sample", str(args.sample),
            "--out", f"{tmp}/run", "--cache-dir", f"{tmp}/cache", "-q",
        ]  # fmt: skip
        times = []
        for _ in range(2):
            start = time.perf_counter()
            subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
            times.append(time.perf_counter() - start)
    print("| run | wall s |\n|---|---:|")
    print(f"| first (empty cache) | {times[0]:.1f} |\n| second (same corpus) | {times[1]:.1f} |")
    print(f"\nspeed-up: {times[0] / times[1]:.1f}x")


if __name__ == "__main__":
    main()
