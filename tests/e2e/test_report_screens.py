"""report.html on every screen in real headless Chromium: a 390 px phone (no sideways scrolling,
a full-width search, the map at the screen's width, keyword charts stacked), the keyboard (Tab
reaches a topic row, Enter opens it), dark mode (a dark page whose text and charts stay
readable) and print (no controls, the charts redrawn light at the page's width)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
from test_report import Visit, _bare, add_label, cli, copy_run, dots, topics_of, visit

PHONE = {"width": 390, "height": 844}
LONG_WORD = "Supercalifragilistic_" * 6  # a keyword-style name with no place to break
LONG_URL = "https://example.org/" + "a1b2c3d4e5" * 16 + "/index.html?q=" + "z" * 60


def open_report(browser, path: Path, viewport: dict, color_scheme: str = "light") -> Visit:
    """A fresh page of this size and scheme, every request but the file itself aborted."""
    page = browser.new_page(viewport=viewport, color_scheme=color_scheme)
    log = Visit(page, Path(path).resolve().as_uri())
    page.on("request", lambda r: log.requests.append(r.url))
    page.on("console", lambda m: log.errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: log.errors.append(str(e)))
    page.route(
        "**/*",
        lambda route: route.continue_() if _bare(route.request.url) == log.url else route.abort(),
    )
    page.goto(log.url)
    page.wait_for_selector("body[data-ready]", timeout=60_000)
    return log


def draw_everything(page) -> None:
    """Scroll through the page so every lazily drawn keyword chart is drawn, then back up."""
    y = 0
    while y < page.evaluate("document.body.scrollHeight"):  # it grows as charts are drawn
        page.evaluate(f"window.scrollTo(0, {y})")
        page.wait_for_timeout(20)
        y += 600
    page.wait_for_function(
        "[...document.querySelectorAll('.kw-chart')].every(d => d.dataset.drawn)"
    )
    page.evaluate("window.scrollTo(0, 0)")


def rgb(colour: str) -> tuple[float, float, float]:
    """A CSS colour as Chromium reports it (rgb(), rgba() or #rrggbb) as 0..1 channels."""
    if colour.startswith("#") and len(colour) == 4:  # #fff
        colour = "#" + "".join(c * 2 for c in colour[1:])
    if colour.startswith("#"):
        return tuple(int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5))
    r, g, b = (float(x) for x in re.findall(r"[\d.]+", colour)[:3])
    return r / 255, g / 255, b / 255


def luminance(colour: str) -> float:
    def lin(c):
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (lin(c) for c in rgb(colour))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    """WCAG contrast ratio of two colours (1 to 21)."""
    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def style(page, selector: str, prop: str) -> str:
    return page.evaluate(
        "([s, p]) => getComputedStyle(document.querySelector(s))[p]", [selector, prop]
    )


def test_a_phone_never_scrolls_sideways(banking_run, chromium_browser, tmp_path):
    """At 390 px the page is exactly the screen's width, with a label and a document that have
    no place to break, the settings open, and every chart drawn."""
    run = copy_run(banking_run, tmp_path)
    topics = topics_of(run)
    target = max((t for t in topics if t["topic"] >= 0), key=lambda t: t["size"])
    add_label(run, target["topic"], LONG_WORD, f"See {LONG_URL} for {LONG_WORD}.", "llm")
    docs = pd.read_parquet(run / "documents.parquet")
    row = docs["doc_id"] == target["representative_doc_ids"][0]
    docs.loc[row, "text"] = f"My card never came, see {LONG_URL} and {LONG_WORD}"
    docs.to_parquet(run / "documents.parquet", index=False)
    target["representative_docs"][0] = docs.loc[row, "text"].iloc[0]
    (run / "topics.json").write_text(json.dumps(topics))
    cli("report", run)

    v = open_report(chromium_browser, run / "report.html", PHONE)
    page = v.page
    page.evaluate("document.querySelectorAll('details').forEach(d => d.open = true)")
    draw_everything(page)
    assert LONG_URL in page.inner_text(f"article#topic-{target['topic']}")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert page.evaluate("document.body.scrollWidth") <= PHONE["width"]

    # The search box spans the screen (it was squeezed to about 20 px).
    box = page.locator("#filter").bounding_box()
    assert box["width"] >= 0.9 * PHONE["width"] and box["x"] + box["width"] <= PHONE["width"]
    page.fill("#filter", target["keywords"][0][0])
    assert page.locator("#topic-table tbody tr:visible").count() >= 1

    # The map spans the screen's width, and draws every document.
    box = page.locator("#map-plot").bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    assert box["width"] >= 0.9 * PHONE["width"]
    assert page.evaluate("document.getElementById('map-plot')._fullLayout.width") >= 0.9 * 390
    assert dots(page, "docs") == 600

    # Keyword charts: the stages one under another, each bar chart most of the chart's width.
    chart = f'.kw-chart[data-topic="{target["topic"]}"]'
    assert page.get_attribute(chart, "data-stacked") == "1"
    lengths = page.evaluate(
        """s => { const f = document.querySelector(s)._fullLayout;
             return Object.keys(f).filter(k => /^xaxis\\d*$/.test(k)).map(k => f[k]._length); }""",
        chart,
    )
    width = page.evaluate(f"document.querySelector('{chart}').clientWidth")
    assert len(lengths) == 3 and min(lengths) >= 0.6 * width, (lengths, width)
    tops = page.evaluate(
        """s => { const f = document.querySelector(s)._fullLayout;
             return Object.keys(f).filter(k => /^yaxis\\d*$/.test(k)).map(k => f[k]._offset); }""",
        chart,
    )
    assert len(set(round(t) for t in tops)) == 3  # stacked: three rows, not three columns

    # A wide figure scrolls inside its own box, not the page.
    scroller = page.locator("#similarity-plot").locator("xpath=..")
    assert "fig-scroll" in scroller.get_attribute("class")
    assert scroller.bounding_box()["x"] + scroller.bounding_box()["width"] <= PHONE["width"]

    # Wider again (a phone turned, a desktop): the keyword stages go back side by side.
    page.set_viewport_size({"width": 1400, "height": 900})
    page.wait_for_function(f"document.querySelector('{chart}').dataset.stacked === '0'")
    assert page.evaluate("document.documentElement.scrollWidth") <= 1400
    assert v.errors == [] and [u for u in v.requests if _bare(u) != v.url] == []
    page.close()


def test_tab_reaches_a_topic_row_and_enter_opens_it(banking_run, chromium_browser):
    topics = topics_of(banking_run)
    v = visit(chromium_browser, banking_run / "report.html")
    page = v.page
    for _ in range(120):  # from the top of the page, as a keyboard user does
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.matches('#topic-table tbody tr')"):
            break
    else:
        raise AssertionError("Tab never reached a topic row")
    row = page.evaluate("document.activeElement.dataset.topic")
    # a visible focus ring on the row
    focused = "#topic-table tbody tr:focus-visible"
    assert page.locator(focused).count() == 1
    assert style(page, focused, "outlineStyle") == "solid"
    assert float(style(page, focused, "outlineWidth").rstrip("px")) >= 2
    page.keyboard.press("Enter")
    topic = next(t for t in topics if str(t["topic"]) == row)
    page.wait_for_selector(f'#topic-table tr[data-topic="{row}"].selected')
    assert topic["label"] in page.inner_text("#map-panel h3")
    assert dots(page, "chosen") == topic["size"]
    # Tab on to the next row; Space opens that one
    page.keyboard.press("Tab")  # the label's link inside the row
    page.keyboard.press("Tab")
    nxt = page.evaluate("document.activeElement.dataset.topic")
    assert nxt is not None and nxt != row
    page.keyboard.press(" ")
    page.wait_for_selector(f'#topic-table tr[data-topic="{nxt}"].selected')
    assert page.locator("#topic-table tr.selected").count() == 1
    v.assert_offline()
    page.close()


def test_dark_mode_is_dark_and_readable(banking_run, chromium_browser):
    v = visit(chromium_browser, banking_run / "report.html")
    page = v.page
    assert luminance(style(page, "body", "backgroundColor")) > 0.8
    paper = "document.getElementById('similarity-plot')._fullLayout.paper_bgcolor"
    assert luminance(page.evaluate(paper)) > 0.9

    page.emulate_media(color_scheme="dark")  # the reader's system switches: the page follows
    assert luminance(style(page, "body", "backgroundColor")) < 0.02
    card = style(page, "section#topics", "backgroundColor")
    assert luminance(card) < 0.03
    for selector, least in (
        ("body", 7),  # body text
        ("section#topics h2", 7),
        ("#topic-table td.kw", 4.5),  # muted text
        ("#topic-table tbody a", 4.5),  # links
        ("section#overview .note, section#map .note", 4.5),
    ):
        assert contrast(style(page, selector, "color"), card) >= least, selector
    assert contrast(style(page, "#filter", "color"), style(page, "#filter", "backgroundColor")) >= 7

    # The charts turn dark too, with light text, the map too.
    page.wait_for_function("document.getElementById('similarity-plot').dataset.theme === 'dark'")
    for plot in ("similarity-plot", "hierarchy-plot", "class-plot"):
        lay = f"document.getElementById('{plot}')._fullLayout"
        back, text = page.evaluate(f"[{lay}.paper_bgcolor, {lay}.font.color]")
        assert luminance(back) < 0.03 and contrast(text, back) >= 7, plot
        tick = page.evaluate(
            f"getComputedStyle(document.querySelector('#{plot} .ytick text')).fill"
        )
        assert contrast(tick, back) >= 7, plot
    first = topics_of(banking_run)[0]["topic"]
    page.locator(f"article#topic-{first}").scroll_into_view_if_needed()
    chart = f'.kw-chart[data-topic="{first}"]'
    page.wait_for_selector(f'{chart}[data-theme="dark"] .main-svg')  # drawn dark when it comes
    back = page.evaluate(f"document.querySelector('{chart}')._fullLayout.paper_bgcolor")
    assert luminance(back) < 0.03
    map_paper = "document.getElementById('map-plot')._fullLayout.paper_bgcolor"
    assert luminance(page.evaluate(map_paper)) < 0.03
    name = page.evaluate(
        "getComputedStyle(document.querySelector('#map-plot .tracenames text')).fill"
    )
    assert contrast(name, page.evaluate(map_paper)) >= 7  # the topic names: light on dark

    page.emulate_media(color_scheme="light")  # and back: the figures' own colours again
    assert luminance(style(page, "body", "backgroundColor")) > 0.8
    page.wait_for_function("document.getElementById('similarity-plot').dataset.theme === 'light'")
    assert luminance(page.evaluate(paper)) > 0.9
    assert luminance(page.evaluate(map_paper)) > 0.9
    v.assert_offline()
    page.close()


def test_print_hides_the_controls_and_fits_the_charts(banking_run, chromium_browser, tmp_path):
    v = open_report(
        chromium_browser, banking_run / "report.html", {"width": 1400, "height": 900}, "dark"
    )
    page = v.page
    draw_everything(page)
    widths = "[...document.querySelectorAll('.js-plotly-plot')].map(d => d._fullLayout.width)"
    screen = page.evaluate(widths)
    assert max(screen) > 680  # wider than a page on this screen
    controls = ["#filter", "#group-by", "#map-layer", "header nav", "button.show-on-map"]
    assert all(page.locator(c).first.is_visible() for c in controls)
    assert not page.locator("#how-made table.params").is_visible()

    page.emulate_media(media="print")
    for control in controls:
        assert not page.locator(control).first.is_visible(), control
    assert page.locator(".modebar-container:visible").count() == 0
    assert page.locator("#how-made table.params").is_visible()  # folded sections printed open
    assert max(page.evaluate(widths)) <= 680
    assert luminance(style(page, "body", "backgroundColor")) > 0.9  # light on paper, even dark
    assert (
        luminance(
            page.evaluate("document.getElementById('similarity-plot')._fullLayout.paper_bgcolor")
        )
        > 0.9
    )
    assert style(page, "article.topic", "breakInside") == "avoid"
    assert style(page, "#topic-table tbody tr", "breakInside") == "avoid"

    page.emulate_media(media="screen")  # after printing: as it was
    page.wait_for_function(f"JSON.stringify({widths}) === JSON.stringify({screen})")
    assert page.locator("#filter").is_visible()
    assert not page.locator("#how-made table.params").is_visible()
    assert luminance(style(page, "body", "backgroundColor")) < 0.02

    pdf = page.pdf()  # Chromium's own printing runs the same switch (beforeprint, afterprint)
    assert pdf.startswith(b"%PDF") and len(pdf) > 50_000
    assert page.evaluate(widths) == screen
    assert v.errors == [] and [u for u in v.requests if _bare(u) != v.url] == []
    page.close()


def test_a_0_1_0_run_reports_on_every_screen(chromium_browser, tmp_path):
    """A run written by labeler 0.1.0 (tests/data/run-0.1.0), reported by today's code: the first
    screen names its topics, the map's names stay apart and inside, a phone never scrolls
    sideways, dark mode is dark; nothing is requested and nothing logs an error."""
    import shutil
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
    from map_names import BOXES, outside, overlaps  # the map benchmark's own measure

    run = Path(shutil.copytree(Path(__file__).parents[1] / "data" / "run-0.1.0", tmp_path / "run"))
    cli("report", run)
    topics = [t for t in json.loads((run / "topics.json").read_text()) if t["topic"] >= 0]
    for viewport, scheme in (({"width": 1400, "height": 900}, "light"), (PHONE, "dark")):
        v = open_report(chromium_browser, run / "report.html", viewport, scheme)
        page = v.page
        firsts = page.locator("ol.top-topics li a").all_text_contents()
        assert firsts and set(firsts) <= {t["label"] for t in topics}
        assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
        page.evaluate("document.getElementById('map').scrollIntoView({behavior: 'instant'})")
        page.wait_for_timeout(300)
        found = page.evaluate(BOXES)
        assert found["boxes"] and overlaps(found["boxes"]) == [] and outside(**found) == []
        background = style(page, "body", "background-color")
        assert (luminance(background) < 0.1) == (scheme == "dark"), background
        v.assert_offline()
        page.close()
