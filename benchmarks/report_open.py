"""How heavy a run's report is, and how long a browser takes to open it (run by hand, not in CI).

    python benchmarks/report_open.py RUN [RUN ...] [--repeat 3]

For each run folder: the size of report.html, then, in Debian's headless Chromium driven by
Playwright (as the e2e tests), a fresh page per try: seconds until the `load` event, and until the
map is drawn (`body[data-map-ready]`: what a reader sees first) and until every chart is
(`body[data-ready]`, set by the report's own script once the map, the tree and the lists are in
place). The median of the tries is printed; the browser runs on the
same shared cores as everything else, so read the figures beside each other, not as absolutes.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

CHROMIUM = Path(os.environ.get("LABELER_CHROMIUM", "/usr/bin/chromium"))
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"]


def measure(browser, report: Path) -> tuple[float, float, float]:
    page = browser.new_page()
    start = time.perf_counter()
    page.goto(report.resolve().as_uri(), wait_until="load", timeout=120_000)
    loaded = time.perf_counter() - start
    page.wait_for_selector("body[data-map-ready]", state="attached", timeout=120_000)
    mapped = time.perf_counter() - start
    page.wait_for_selector("body[data-ready]", state="attached", timeout=120_000)
    ready = time.perf_counter() - start
    page.close()
    return loaded, mapped, ready


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("runs", nargs="+", type=Path)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    import pyarrow.parquet as pq
    from playwright.sync_api import sync_playwright

    rows = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        for run in args.runs:
            report = run / "report.html"
            documents = pq.ParquetFile(run / "documents.parquet").metadata.num_rows
            tries = [measure(browser, report) for _ in range(args.repeat)]
            rows.append(
                (
                    run.name,
                    documents,
                    report.stat().st_size / 1e6,
                    *(statistics.median(t[i] for t in tries) for i in range(3)),
                )
            )
        browser.close()
    print("| run | documents | report.html MB | load s | map drawn s | all charts s |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, documents, size, *seconds in rows:
        print(
            f"| {name} | {documents:,} | {size:.2f} | "
            + " | ".join(f"{s:.2f}" for s in seconds)
            + " |"
        )


if __name__ == "__main__":
    main()
