"""How the topic names sit on a report's map (run by hand, not in CI).

    python benchmarks/map_names.py REPORT.html [REPORT.html ...] [--shots DIR]

For each report and viewport (a 1440 px desktop, a 390 px phone), in Debian's headless Chromium
driven by Playwright (as the e2e tests): the topic names drawn on the map, the pairs of them
whose boxes overlap on screen, the names that reach outside the plot area, the console warnings
and errors while the page opens and the map switches to the tree's layer 1 and back, and the
same counts after zooming in to the middle quarter of the view (datamapplot-style maps show
more names as one zooms). `--shots DIR` saves a screenshot of the map per report and
viewport. Prints a markdown table.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

CHROMIUM = Path(os.environ.get("LABELER_CHROMIUM", "/usr/bin/chromium"))
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"]
VIEWPORTS = {"desktop 1440": (1440, 900), "phone 390": (390, 844)}

# The drawn names' boxes (screen pixels) and the plot area's box: what a reader sees.
BOXES = """() => {
  const gd = document.getElementById('map-plot');
  const area = gd.querySelector('.nsewdrag').getBoundingClientRect();
  const boxes = [...gd.querySelectorAll('.tracenames text, .tracefocus text')]
    .filter(t => t.textContent.trim() && getComputedStyle(t).fill !== 'rgba(0, 0, 0, 0)')
    .map(t => { const r = t.getBoundingClientRect();
                return {x0: r.left, y0: r.top, x1: r.right, y1: r.bottom, text: t.textContent}; });
  return {area: {x0: area.left, y0: area.top, x1: area.right, y1: area.bottom}, boxes};
}"""


# Zoom in to the middle quarter of the view (what scrolling ends in: one relayout of the ranges).
ZOOM_IN = """() => { const gd = document.getElementById('map-plot'), f = gd._fullLayout;
  const half = r => { const c = (r[0] + r[1]) / 2, w = (r[1] - r[0]) / 4; return [c - w, c + w]; };
  return Plotly.relayout(gd, {'xaxis.range': half(f.xaxis.range),
                              'yaxis.range': half(f.yaxis.range)}); }"""


def overlaps(boxes: list[dict]) -> list[tuple[str, str]]:
    """Pairs of boxes that share more than a pixel each way."""
    pairs = []
    for i, a in enumerate(boxes):
        for b in boxes[:i]:
            if min(a["x1"], b["x1"]) - max(a["x0"], b["x0"]) > 1 and (
                min(a["y1"], b["y1"]) - max(a["y0"], b["y0"]) > 1
            ):
                pairs.append((a["text"], b["text"]))
    return pairs


def outside(area: dict, boxes: list[dict]) -> list[str]:
    return [
        b["text"]
        for b in boxes
        if b["x0"] < area["x0"] - 1 or b["x1"] > area["x1"] + 1
        or b["y0"] < area["y0"] - 1 or b["y1"] > area["y1"] + 1
    ]  # fmt: skip


def counts(page) -> tuple[int, int, int]:
    found = page.evaluate(BOXES)
    return len(found["boxes"]), len(overlaps(found["boxes"])), len(outside(**found))


def measure(browser, report: Path, size: tuple[int, int], shot: Path | None) -> dict:
    page = browser.new_page(viewport={"width": size[0], "height": size[1]})
    messages: list[str] = []
    page.on(
        "console",
        lambda m: messages.append(m.text) if m.type in ("warning", "error", "trace") else 0,
    )
    page.goto(report.resolve().as_uri() + "?map=svg")
    page.wait_for_selector("body[data-ready]", timeout=120_000)
    page.evaluate("document.getElementById('map').scrollIntoView({behavior: 'instant'})")
    page.wait_for_timeout(300)
    names, pairs, out = counts(page)
    if shot is not None:
        page.locator("#map-plot").screenshot(path=str(shot))
    if page.locator("#map-layer").count():  # to layer 1 and back, as a reader does
        page.select_option("#map-layer", "1")
        page.select_option("#map-layer", "0")
        page.wait_for_timeout(300)
    page.evaluate(ZOOM_IN)
    page.wait_for_timeout(500)
    zoomed = counts(page)
    page.close()
    return {"names": names, "pairs": pairs, "outside": out, "zoomed": zoomed,
            "console": len(messages)}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("reports", nargs="+", type=Path)
    parser.add_argument("--shots", type=Path, default=None)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    print("| report | viewport | names | overlapping pairs | outside the plot | zoomed in: "
          "names / pairs / outside | console warnings |")  # fmt: skip
    print("| --- | --- | --- | --- | --- | --- | --- |")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        for report in args.reports:
            for label, size in VIEWPORTS.items():
                shot = None
                if args.shots:
                    args.shots.mkdir(parents=True, exist_ok=True)
                    stem = f"{report.parent.name}-{label.split()[0]}.png"
                    shot = args.shots / stem
                r = measure(browser, report, size, shot)
                z = r["zoomed"]
                print(f"| {report.parent.name} | {label} | {r['names']} | {r['pairs']} | "
                      f"{r['outside']} | {z[0]} / {z[1]} / {z[2]} | {r['console']} |")  # fmt: skip
        browser.close()


if __name__ == "__main__":
    main()
