"""The report's map and charts on a dense run (30+ topics) in headless Chromium with the network
blocked: topic names that never overlap and stay inside the plot on a desktop and a phone (more
of them when zoomed in), colours that differ between neighbouring topics (and a colour-blind-safe
set), a clickable legend, a search over the documents, the first view fitted to the documents,
no console warnings on a layer switch; every corpus-wide chart titled, keyword bars sorted, the
heatmap's cells square, one (Ward) hierarchy, and the intertopic distance figure."""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import read_corpus, write_jsonl
from test_report import MAP_NAMES, cli, report_data

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from map_names import BOXES, ZOOM_IN, outside, overlaps  # noqa: E402  (the benchmark's own measure)

from labeler.figures import _style as style  # noqa: E402

INTENTS = 40  # BANKING77 intents, 25 queries each: about 35 topics at min cluster size 10


@pytest.fixture(scope="module")
def dense_run(tmp_path_factory) -> Path:
    rows = read_corpus("banking77")
    rng = random.Random(1)
    intents = sorted({r["label"] for r in rows})
    rng.shuffle(intents)
    picked = []
    for intent in intents[:INTENTS]:
        picked += rng.sample([r for r in rows if r["label"] == intent], 25)
    rng.shuffle(picked)
    data = [{"id": f"d{i}", "text": r["text"], "label": r["label"]} for i, r in enumerate(picked)]
    corpus = write_jsonl(tmp_path_factory.mktemp("corpus") / "dense.jsonl", data)
    out = tmp_path_factory.mktemp("runs") / "dense"
    cli("run", corpus, "--id-column", "id", "--class-column", "label", "--min-cluster-size", 10,
        "--llm", "none", "--out", out)  # fmt: skip
    topics = [t for t in json.loads((out / "topics.json").read_text()) if t["topic"] >= 0]
    assert len(topics) >= 30, f"{len(topics)} topics: the dense map needs 30 or more"
    return out


def open_map(browser, run: Path, width: int, height: int):
    page = browser.new_page(viewport={"width": width, "height": height})
    console: list[str] = []
    page.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
    url = (run / "report.html").resolve().as_uri()
    page.route("**/*", lambda r: r.continue_() if r.request.url.startswith(url) else r.abort())
    page.goto(url + "?map=svg")
    page.wait_for_selector("body[data-ready]", timeout=60_000)
    page.evaluate("document.getElementById('map').scrollIntoView({behavior: 'instant'})")
    return page, console


def placed(page) -> tuple[list, list, int]:
    found = page.evaluate(BOXES)
    return overlaps(found["boxes"]), outside(**found), len(found["boxes"])


@pytest.mark.parametrize("width,height", [(1440, 900), (390, 844)], ids=["desktop", "phone"])
def test_names_never_overlap_and_stay_inside_the_plot(dense_run, chromium_browser, width, height):
    page, console = open_map(chromium_browser, dense_run, width, height)
    pairs, out, shown = placed(page)
    assert pairs == [] and out == []
    assert shown >= (15 if width > 1000 else 4), shown  # a dense map still names many topics
    topics = sorted((t for t in report_data((dense_run / "report.html").read_text())["topics"]
                     if not t["outlier"]), key=lambda t: -t["size"])  # fmt: skip
    names = page.evaluate(MAP_NAMES)
    assert topics[0]["name"] in names  # the largest first, whole (wrapped, not cut)
    assert all(n in {t["name"] for t in topics} or n.endswith("…") for n in names)
    # Zooming in makes room: as many names or more, still apart and inside.
    page.evaluate(ZOOM_IN)  # to the middle quarter of the view, as a scroll ends
    page.wait_for_timeout(500)  # the relayout, then the names placed again
    pairs, out, zoomed = placed(page)
    assert pairs == [] and out == []
    view = page.evaluate("(() => { const f = document.getElementById('map-plot')._fullLayout;"
                         " return [f.xaxis.range, f.yaxis.range]; })()")  # fmt: skip
    inside = [t for t in topics if view[0][0] <= t["pos"][0] <= view[0][1]
              and view[1][0] <= t["pos"][1] <= view[1][1]]  # fmt: skip
    assert zoomed >= min(shown, len(inside)) - 1, (shown, zoomed, len(inside))
    waiting = [t["name"] for t in inside if t["name"] not in names]  # unnamed before the zoom
    now = page.evaluate(MAP_NAMES)
    assert not waiting or set(waiting) & set(now), (waiting, now)  # some got room
    assert [m for m in console if not m.startswith(("log", "debug"))] == []
    page.close()


def test_neighbouring_topics_get_different_colours(dense_run, chromium_browser):
    data = report_data((dense_run / "report.html").read_text())
    topics = [t for t in data["topics"] if not t["outlier"] and t["pos"]]
    xy = np.array([t["pos"] for t in topics])
    gaps = np.linalg.norm(xy[:, None] - xy[None], axis=-1) + np.eye(len(xy)) * 1e9
    for key in ("colour", "colour_safe"):
        nearest = [style.colour_distance(t[key], topics[int(np.argmin(gaps[i]))][key])
                   for i, t in enumerate(topics)]  # fmt: skip
        assert min(nearest) >= 20, (key, min(nearest))  # no near-twins side by side
    # What the old colouring (id modulo 20 colours) gave: the check above is not a given.
    near = [topics[int(np.argmin(g))]["id"] for g in gaps]
    old = [style.colour_distance(style.colour(t["id"]), style.colour(n))
           for t, n in zip(topics, near)]  # fmt: skip
    assert min(old) < 20
    assert len({t["colour"] for t in topics}) == min(len(topics), len(style.MAP_PALETTE))

    page, console = open_map(chromium_browser, dense_run, 1400, 1000)
    fills = (
        "new Set([...document.querySelectorAll('#map-plot .tracedocs .point')]"
        ".map(p => p.style.fill)).size"
    )
    distinct = page.evaluate(fills)
    page.select_option("#map-palette", "safe")
    page.wait_for_function(f"({fills}) !== {distinct}")
    assert page.evaluate(fills) <= len(style.SAFE_PALETTE) + 1  # and the outliers' grey
    swatch = page.locator("#map-legend .legend-item .swatch").first.evaluate(
        "s => getComputedStyle(s).backgroundColor"
    )
    assert swatch == _rgb(sorted(topics, key=lambda t: -t["size"])[0]["colour_safe"])
    page.close()


def _rgb(hex_colour: str) -> str:
    r, g, b = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgb({r}, {g}, {b})"


def _beyond_hover(run: Path, points: dict, query: str) -> list[int]:
    """The points whose hover text is cut ("…") and whose whole text has every word of the
    query inside one of its words (the report's word index)."""
    import re

    import pandas as pd

    docs = pd.read_parquet(run / "documents.parquet", columns=["doc_id", "text"])
    full = dict(zip(docs["doc_id"].astype(str), docs["text"], strict=True))
    terms = re.findall(r"[^\W_]{2,}", query.lower())
    found = []
    for i, (doc, hover) in enumerate(zip(points["id"], points["text"], strict=True)):
        words = set(re.findall(r"[^\W_]{2,}", str(full[doc]).lower()))
        if hover.endswith("…") and terms and all(any(t in w for w in words) for t in terms):
            found.append(i)
    return found


def test_legend_search_view_and_layer_switch(dense_run, chromium_browser):
    data = report_data((dense_run / "report.html").read_text())
    points = data["map"]["points"]
    topics = {t["id"]: t for t in data["topics"]}
    page, console = open_map(chromium_browser, dense_run, 1400, 1000)

    # The legend: one entry per topic, a click highlights exactly that topic's documents.
    entries = page.locator("#map-legend .legend-item")
    assert entries.count() == len(topics)
    entries.nth(2).click()
    key = int(entries.nth(2).get_attribute("data-key"))
    assert entries.nth(2).get_attribute("aria-pressed") == "true"
    assert page.locator("#map-plot .tracechosen .point").count() == topics[key]["size"]
    assert page.inner_text("#map-panel h3").strip() == topics[key]["name"]
    entries.nth(2).click()  # again: cleared
    assert page.locator("#map-plot .tracechosen .point").count() == 0

    # The search: a word from one document highlights every document holding it, and names
    # their topics.
    word = max(points["text"][0].split(), key=len).lower()
    hits = [i for i, text in enumerate(points["text"]) if word in text.lower()]
    hits = sorted(set(hits) | set(_beyond_hover(dense_run, points, word)))
    page.fill("#map-search", word)
    page.wait_for_function(
        f"document.querySelectorAll('#map-plot .tracechosen .point').length === {len(hits)}"
    )
    result = page.inner_text("#map-search-result")
    assert result.startswith(f"{len(hits)} documents contain")
    first = {points["t"][i] for i in hits}
    listed = page.locator("#map-search-result button").evaluate_all(
        "bs => bs.map(b => +b.dataset.topic)"
    )
    assert set(listed) <= first and len(listed) == min(len(first), 12)
    page.locator("#map-search-result button").first.click()
    assert page.inner_text("#map-panel h3").strip() == topics[listed[0]]["name"]
    page.click("#map-panel button:has-text('clear')")
    page.fill("#map-search", "")
    page.wait_for_function(
        "document.querySelectorAll('#map-plot .tracechosen .point').length === 0"
    )

    # The first view: the 1st-99th percentile of the documents, padded, not every far outlier.
    view = page.evaluate("(() => { const f = document.getElementById('map-plot')._fullLayout;"
                         " return [f.xaxis.range, f.yaxis.range]; })()")  # fmt: skip
    x, y = np.array(points["x"]), np.array(points["y"])
    seen = ((x >= view[0][0]) & (x <= view[0][1]) & (y >= view[1][0]) & (y <= view[1][1])).mean()
    assert seen >= 0.97
    assert data["map"]["view"]["x"][0] >= x.min() - 0.1 * np.ptp(x)

    # A layer and back: names and colours of the topics again, and not a warning on the way.
    before = page.evaluate(MAP_NAMES)
    page.select_option("#map-layer", "1")
    page.wait_for_function("document.querySelector('#map-plot').dataset.layer === '1'")
    assert page.evaluate(MAP_NAMES) != before
    groups = page.locator("#map-legend .legend-item")
    assert groups.count() < len(topics)
    groups.first.click()  # a group: its documents highlighted, its topics listed beside the map
    node = data["tree"]["nodes"][groups.first.get_attribute("data-key")]
    assert page.locator("#map-plot .tracechosen .point").count() == node["size"]
    assert page.inner_text("#map-panel h3").strip() == node["name"]
    assert page.locator("#map-panel li").count() == len(node["children"])
    groups.first.click()
    page.select_option("#map-layer", "0")
    page.wait_for_function("document.querySelector('#map-plot').dataset.layer === '0'")
    assert sorted(page.evaluate(MAP_NAMES)) == sorted(before)
    assert [m for m in console if not m.startswith(("log", "debug"))] == []
    page.close()


def test_charts_titled_sorted_sized_and_one_hierarchy(dense_run, chromium_browser):
    page_html = (dense_run / "report.html").read_text()
    data = report_data(page_html)
    figures = data["figures"]
    assert set(figures) == {"similarity", "hierarchy", "topics", "classes"}
    for name, figure in figures.items():
        assert figure["layout"]["title"]["text"], name
        if name != "topics":  # the intertopic map names its axes PC1 and PC2 on the plot
            for axis in ("xaxis", "yaxis"):
                assert figure["layout"][axis]["title"]["text"], (name, axis)
    assert "average linkage" not in page_html and "Ward linkage" in page_html
    assert page_html.count('id="hierarchy-plot"') == 1 and 'id="tree"' in page_html
    assert '<section id="hierarchy">' not in page_html  # the dendrogram sits with the tree

    page, console = open_map(chromium_browser, dense_run, 1400, 1000)
    real = [t for t in data["topics"] if not t["outlier"]]
    assert page.locator("#intertopic-plot .scatterlayer .point").count() == len(real)
    # The heatmap: square cells of at least 14 px, filling more than a third of the width.
    cells = page.evaluate("""() => { const gd = document.getElementById('similarity-plot');
        const f = gd._fullLayout, n = gd._fullData[0].z.length;
        return [Math.abs(f.xaxis._m), Math.abs(f.yaxis._m), f.xaxis._length / n, f.xaxis._length,
                gd.clientWidth]; }""")
    x, y, filled, length, width = cells  # pixels per cell across, down; cells fill the axis
    assert abs(x - y) < 0.5 and x >= 14 and abs(filled - x) < 0.5 and length > width / 3, cells
    # Keyword bars, largest at the top, every stage (MMR's picks come in another order).
    biggest = max(real, key=lambda t: t["size"])
    page.locator(f"article#topic-{biggest['id']}").scroll_into_view_if_needed()
    chart = f'.kw-chart[data-topic="{biggest["id"]}"]'
    page.wait_for_selector(f"{chart} .main-svg")
    for values in page.evaluate(f"[...document.querySelector('{chart}').data].map(t => t.x)"):
        assert values == sorted(values), values  # Plotly draws the last bar at the top
    page.evaluate("window.scrollTo(0, document.body.scrollHeight)")  # every chart drawn
    page.wait_for_timeout(500)
    assert [m for m in console if not m.startswith(("log", "debug"))] == []  # no warning at all
    page.close()


def test_search_covers_whole_documents(reuters_run, chromium_browser):
    """Issue 25: the document search reads every word of each document (a compact word index),
    not only the first 120 characters the hover shows."""
    import os
    import re
    from collections import Counter

    import pandas as pd

    data = report_data((reuters_run / "report.html").read_text())
    points = data["map"]["points"]
    docs = pd.read_parquet(reuters_run / "documents.parquet", columns=["doc_id", "text"])
    full = dict(zip(docs["doc_id"].astype(str), docs["text"], strict=True))
    texts = [str(full[i]).lower() for i in points["id"]]

    def words(text: str) -> set[str]:
        return set(re.findall(r"[^\W_]{2,}", text))

    hover = [t.lower() for t in points["text"]]
    seen = set().union(*(words(t) for t in hover))
    beyond = Counter(w for t in texts for w in words(t) if len(w) >= 6 and w not in seen)
    word = next(w for w, n in beyond.most_common() if n >= 2 and not any(w in t for t in hover))
    hits = [i for i, t in enumerate(texts) if any(word in w for w in words(t))]
    assert len(hits) >= 2
    # The index is much smaller than the texts it stands for.
    index = len(json.dumps([points["words"], points["posts"]]))
    assert index < 0.45 * sum(len(t) for t in texts)

    page, console = open_map(chromium_browser, reuters_run, 1400, 1000)
    page.fill("#map-search", word)
    page.wait_for_function(
        f"document.querySelectorAll('#map-plot .tracechosen .point').length === {len(hits)}"
    )
    assert page.inner_text("#map-search-result").startswith(f"{len(hits)} documents contain")
    listed = page.locator("#map-search-result button").evaluate_all(
        "bs => bs.map(b => +b.dataset.topic)"
    )
    assert set(listed) == {points["t"][i] for i in hits}
    # Two words: the documents holding both, wherever they are in the text.
    other = max(words(texts[hits[0]]) - {word}, key=len)
    both = [i for i in hits if any(other in w for w in words(texts[i]))]
    page.fill("#map-search", f"{word} {other}")
    page.wait_for_function(
        f"document.querySelectorAll('#map-plot .tracechosen .point').length === {len(both)}"
    )
    if os.environ.get("LABELER_SHOTS"):
        page.screenshot(path=str(Path(os.environ["LABELER_SHOTS"]) / "search-full-text.png"))
    assert not [m for m in console if m.startswith(("error", "warning"))], console
    page.close()
