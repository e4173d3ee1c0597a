"""The report's Colours select and dark map in headless Chromium with the network blocked: the
select recolours every topic colour (the legend, the topic list, the details and the tree's
swatches, keyword bars, the map's dots, the hierarchy's dots, the intertopic bubbles, the lines
over time), the choice survives a reload and is applied before the report's script runs, a page
whose storage is blocked still switches; dark mode draws the map on dark paper with every dot at
3:1 or more; nothing logs a warning or an error."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from fakes import FakeChat
from test_report import _bare, cli, report_data
from test_report_screens import contrast, luminance

from labeler.api import label_run
from labeler.figures import _style as style
from labeler.labels.labeling import LLMSettings

BLOCKED_STORAGE = """Object.defineProperty(window, "localStorage", { configurable: true,
  get() { throw new DOMException("The operation is insecure.", "SecurityError"); } });"""
# What the page shows as the document has been parsed, before the report's script has run
# (it runs once Plotly is unpacked, later).
EARLY = """document.addEventListener("DOMContentLoaded", () => {
  const swatch = document.querySelector("#topic-table .swatch");
  window.__early = { swatch: getComputedStyle(swatch).backgroundColor,
                     select: document.getElementById("map-palette").value,
                     ready: !!document.body.dataset.ready,
                     drawn: !!document.querySelector("#map-plot .main-svg") };
});"""


@pytest.fixture(scope="module")
def tree_run(banking_run, tmp_path_factory) -> Path:
    """banking_run with a named topic tree (a fake LLM), reported."""
    run = Path(shutil.copytree(banking_run, tmp_path_factory.mktemp("colours") / "banking"))
    settings = LLMSettings(base_url="http://127.0.0.1:9/v1", model="fake")
    label_run(run, settings, chat=FakeChat(), tree=True)
    cli("report", run)
    return run


class Page:
    """One tab on the report, every request but the file aborted, console noise collected."""

    def __init__(self, browser, run: Path, scheme: str = "light", init: tuple[str, ...] = ()):
        self.page = browser.new_page(viewport={"width": 1400, "height": 1000}, color_scheme=scheme)
        self.url = (run / "report.html").resolve().as_uri()
        self.noise: list[str] = []
        self.requests: list[str] = []
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.on(
            "console",
            lambda m: (
                self.noise.append(f"{m.type}: {m.text}") if m.type in ("error", "warning") else None
            ),
        )
        self.page.on("pageerror", lambda e: self.noise.append(f"pageerror: {e}"))
        self.page.route(
            "**/*",
            lambda r: r.continue_() if _bare(r.request.url) == self.url else r.abort(),
        )
        for script in init:
            self.page.add_init_script(script)
        self.page.goto(self.url + "?map=svg")
        self.ready()

    def ready(self) -> None:
        self.page.wait_for_selector("body[data-ready]", timeout=60_000)

    def reload(self) -> None:
        self.page.reload()
        self.ready()

    def choose(self, value: str) -> None:
        self.page.select_option("#map-palette", value)

    def css(self, selector: str) -> str:
        return self.page.evaluate(
            "s => getComputedStyle(document.querySelector(s)).backgroundColor", selector
        )

    def fills(self, selector: str) -> list[str]:
        return self.page.evaluate(
            "s => [...document.querySelectorAll(s)].map(p => getComputedStyle(p).fill)", selector
        )

    def quiet(self) -> None:
        assert self.noise == [], self.noise
        assert [u for u in self.requests if _bare(u) != self.url] == []


def rgb(hex_colour: str) -> str:
    r, g, b = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgb({r}, {g}, {b})"


def hex_of(css: str) -> str:
    """#rrggbb of a CSS colour as Plotly or Chromium gives it (#rrggbb or rgb())."""
    import re

    if css.startswith("#"):
        return css
    return "#" + "".join(f"{int(v):02x}" for v in re.findall(r"[\d.]+", css)[:3])


DOTS = ".scatterlayer .trace"  # a figure's scatter traces, in order


def seen(p: Page, data: dict, first: dict, parent: dict) -> dict:
    """The colour each topic-coloured element shows now."""
    page = p.page
    page.locator(f"article#topic-{first['id']}").scroll_into_view_if_needed()
    chart = f'.kw-chart[data-topic="{first["id"]}"]'
    page.wait_for_selector(f"{chart} .barlayer .point path")
    page.evaluate("document.getElementById('map').scrollIntoView({behavior: 'instant'})")
    hierarchy = page.evaluate("document.getElementById('hierarchy-plot').data[1].customdata")
    bubbles = page.evaluate("document.getElementById('intertopic-plot').data[0].customdata")
    topics = {t["id"]: t for t in data["topics"]}
    return {
        "legend": p.css(f'#map-legend .legend-item[data-key="{first["id"]}"] .swatch'),
        "list": p.css(f'#topic-table tr[data-topic="{first["id"]}"] .swatch'),
        "details": p.css(f"article#topic-{first['id']} h3 .swatch"),
        "tree leaf": p.css(f'#tree .leaf[data-node="{first["id"]}"] .swatch'),
        "tree group": p.css(f'#tree details[data-node="{parent["id"]}"] > summary .swatch'),
        "bars": set(p.fills(f"{chart} .barlayer .point path")),
        "map": p.fills("#map-plot .tracedocs .point"),
        "hierarchy": (hierarchy, p.fills(f"#hierarchy-plot {DOTS}:nth-child(2) .point")),
        "bubbles": (bubbles, p.fills(f"#intertopic-plot {DOTS}:first-child .point")),
        "topics": topics,
    }  # fmt: skip


def expect(now: dict, key: str, first: dict, parent: dict, points: list[int]) -> None:
    """Every element shows the `key` colours (colour, colour_safe, ... of REPORT's topics)."""
    topics = now["topics"]
    want = rgb(first[key])
    for part in ("legend", "list", "details", "tree leaf"):
        assert now[part] == want, (part, now[part], want)
    assert now["tree group"] == rgb(parent[key]), now["tree group"]
    assert now["bars"] == {want}, now["bars"]
    assert now["map"] == [rgb(topics[t][key]) for t in points]
    for part in ("hierarchy", "bubbles"):
        ids, fills = now[part]
        assert fills == [rgb(topics[t][key]) for t in ids], part


def _setup(run: Path) -> tuple[dict, dict, dict, list[int]]:
    data = report_data((run / "report.html").read_text())
    real = sorted((t for t in data["topics"] if not t["outlier"]), key=lambda t: -t["size"])
    first = real[0]
    groups = [n for n in data["tree"]["nodes"].values() if n["layer"] == 1]
    parent = max(groups, key=lambda n: n["size"])
    return data, first, parent, data["map"]["points"]["t"]


def test_the_colours_select_recolours_everything_and_is_kept(tree_run, chromium_browser):
    data, first, parent, points = _setup(tree_run)
    assert first["colour"] != first["colour_safe"] and parent["colour"] != parent["colour_safe"]
    p = Page(chromium_browser, tree_run)
    assert p.page.input_value("#map-palette") == "distinct"
    expect(seen(p, data, first, parent), "colour", first, parent, points)

    p.choose("safe")
    p.page.wait_for_function("document.documentElement.dataset.palette === 'safe'")
    expect(seen(p, data, first, parent), "colour_safe", first, parent, points)

    # Kept: a reload opens with the safe colours, applied before the report's script ran.
    p.page.add_init_script(EARLY)
    p.reload()
    assert p.page.input_value("#map-palette") == "safe"
    early = p.page.evaluate("window.__early")
    assert early == {"swatch": rgb(first["colour_safe"]), "select": "safe", "ready": False,
                     "drawn": False}, early  # fmt: skip
    expect(seen(p, data, first, parent), "colour_safe", first, parent, points)

    # And back: the default palette everywhere, kept too.
    p.choose("distinct")
    p.page.wait_for_function("document.documentElement.dataset.palette === undefined")
    expect(seen(p, data, first, parent), "colour", first, parent, points)
    p.reload()
    assert p.page.input_value("#map-palette") == "distinct"
    assert p.page.evaluate("window.__early.swatch") == rgb(first["colour"])
    expect(seen(p, data, first, parent), "colour", first, parent, points)
    p.quiet()
    p.page.close()


def test_blocked_storage_still_switches_colours(tree_run, chromium_browser):
    """A page whose storage throws (a file:// page in some browsers, privacy settings): the select
    still recolours, nothing logs an error, and the choice is simply not kept."""
    data, first, parent, points = _setup(tree_run)
    p = Page(chromium_browser, tree_run, init=(BLOCKED_STORAGE,))
    storage = "(() => { try { localStorage; return 'open'; } catch (e) { return e.name; } })()"
    assert p.page.evaluate(storage) == "SecurityError"
    p.choose("safe")
    p.page.wait_for_function("document.documentElement.dataset.palette === 'safe'")
    expect(seen(p, data, first, parent), "colour_safe", first, parent, points)
    p.reload()
    assert p.page.input_value("#map-palette") == "distinct"
    expect(seen(p, data, first, parent), "colour", first, parent, points)
    p.quiet()
    p.page.close()


def map_look(page) -> dict:
    return page.evaluate(
        """() => { const d = document.getElementById('map-plot');
             const fill = s => [...d.querySelectorAll(s)].map(t => getComputedStyle(t).fill);
             return { paper: d._fullLayout.paper_bgcolor, theme: d.dataset.theme,
                      names: fill('.tracenames text'), dots: fill('.tracedocs .point'),
                      opacity: getComputedStyle(d.querySelector('.tracedocs .point')).opacity };
           }"""
    )


def test_dark_mode_draws_the_map_dark_with_readable_dots(tree_run, chromium_browser):
    data, first, parent, points = _setup(tree_run)
    topics = {t["id"]: t for t in data["topics"]}
    p = Page(chromium_browser, tree_run, scheme="dark")
    page = p.page
    page.evaluate("document.getElementById('map').scrollIntoView({behavior: 'instant'})")
    for key in ("colour_dark", "colour_safe_dark"):
        if key == "colour_safe_dark":
            p.choose("safe")
            page.wait_for_function("document.documentElement.dataset.palette === 'safe'")
        look = map_look(page)
        paper = look["paper"]
        assert look["theme"] == "dark" and luminance(paper) < 0.03, look["paper"]
        assert look["dots"] == [rgb(topics[t][key]) for t in points]
        lightened = [t for t in topics.values() if t[key] != t[key.replace("_dark", "")]]
        assert lightened  # some colours of each palette were too dark for dark paper
        opacity = float(look["opacity"])
        assert opacity == pytest.approx(style.MAP_OPACITY)
        for dot in set(look["dots"]):  # every dot as drawn (blended over the paper) has 3:1
            as_drawn = style.drawn(hex_of(dot), hex_of(paper), opacity)
            assert contrast(as_drawn, paper) >= 3.0, dot
        assert look["names"] and all(contrast(n, paper) >= 7 for n in look["names"])
        assert p.css(f'#topic-table tr[data-topic="{first["id"]}"] .swatch') == rgb(first[key])
        assert p.css(f'#map-legend .legend-item[data-key="{first["id"]}"] .swatch') == rgb(
            first[key]
        )
    # What the page shows: the map's pixels are dark paper where there are no dots.
    shot = page.locator("#map-plot").screenshot()
    from io import BytesIO

    from PIL import Image

    image = Image.open(BytesIO(shot)).convert("RGB")
    corner = image.getpixel((6, image.height - 6))
    assert luminance("#" + "".join(f"{c:02x}" for c in corner)) < 0.03, corner

    # The reader's system turns light: the map follows, with the light colours.
    page.emulate_media(color_scheme="light")
    page.wait_for_function("document.getElementById('map-plot').dataset.theme === 'light'")
    look = map_look(page)
    assert luminance(look["paper"]) > 0.9
    assert look["dots"] == [rgb(topics[t]["colour_safe"]) for t in points]
    assert all(contrast(n, look["paper"]) >= 7 for n in look["names"])
    p.quiet()
    page.close()


def test_lines_over_time_follow_the_colours(reuters_run, chromium_browser, tmp_path):
    """The topics-over-time figure and each topic's own timeline (a run with timestamps)."""
    run = Path(shutil.copytree(reuters_run, tmp_path / "reuters"))
    cli("report", run)
    data = report_data((run / "report.html").read_text())
    topics = {t["id"]: t for t in data["topics"]}
    first = max((t for t in topics.values() if not t["outlier"]), key=lambda t: t["size"])
    p = Page(chromium_browser, run, scheme="dark")
    page = p.page

    def lines(key: str) -> None:
        got = page.evaluate(
            "document.getElementById('time-plot')._fullData.map(t => [t.meta.topic, t.line.color])"
        )
        assert got and all(colour == topics[t][key] for t, colour in got), (key, got)
        page.locator(f"article#topic-{first['id']}").scroll_into_view_if_needed()
        chart = f'.tl-chart[data-topic="{first["id"]}"]'
        page.wait_for_selector(f"{chart} .scatterlayer .js-line")
        line = f"document.querySelector('{chart} .js-line')"
        stroke = page.evaluate(f"getComputedStyle({line}).stroke")
        assert stroke == rgb(first[key]), (key, stroke)

    lines("colour_dark")
    p.choose("safe")
    page.wait_for_function("document.documentElement.dataset.palette === 'safe'")
    lines("colour_safe_dark")
    page.emulate_media(color_scheme="light")
    page.wait_for_function("document.getElementById('time-plot').dataset.theme === 'light'")
    lines("colour_safe")
    p.quiet()
    page.close()
