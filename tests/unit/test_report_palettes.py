"""The report's topic colours: WCAG contrast computed right, every colour of both palettes
lightened for the dark map to a 3:1 contrast as its dots are drawn (the outlier grey on both
papers), neighbours that differ in both palettes on both papers, and the per-topic CSS custom
properties the rendered page's swatches read."""

from __future__ import annotations

import colorsys
import json
import re
import shutil
from itertools import combinations
from pathlib import Path

import numpy as np
import pytest

from labeler.figures import _style as style
from labeler.views.report import PAINTS, colour_css, paints, render_reports

FIXTURE = Path(__file__).resolve().parents[1] / "data" / "run-0.1.0"
PALETTES = {"default": style.MAP_PALETTE, "safe": style.SAFE_PALETTE}


def test_contrast_is_wcag_s():
    assert style.contrast("#000000", "#ffffff") == pytest.approx(21.0)
    assert style.contrast("#ffffff", "#000000") == pytest.approx(21.0)
    assert style.contrast("#7b7b7b", "#7b7b7b") == pytest.approx(1.0)
    # WCAG's own examples: #767676 is the lightest grey with 4.5:1 on white; #959595 has 3:1
    assert style.contrast("#767676", "#ffffff") == pytest.approx(4.54, abs=0.01)
    assert style.contrast("#959595", "#ffffff") == pytest.approx(3.0, abs=0.03)
    # a dot at 80% over white or dark paper: between the colour and the paper
    assert style.drawn("#000000", "#ffffff", 0.8) == "#333333"
    assert style.drawn("#ffffff", style.DARK_PAPER, 1.0) == "#ffffff"


@pytest.mark.parametrize("name", PALETTES)
def test_every_colour_has_3_to_1_on_the_dark_map(name):
    palette = PALETTES[name]
    paper = style.DARK_PAPER
    changed = 0
    for colour in palette:
        dark = style.on_dark(colour)
        assert style.contrast(dark, paper) >= 3.0, (colour, dark)
        assert style.contrast(style.drawn(dark, paper), paper) >= 3.0, (colour, dark)  # as drawn
        if style.contrast(style.drawn(colour, paper), paper) >= 3.0:
            assert dark == colour  # already readable: kept
        else:
            changed += 1
            assert style.luminance(dark) > style.luminance(colour)  # lightened, same hue
            hue = colorsys.rgb_to_hls(*style._rgb(colour))[0]
            assert abs(colorsys.rgb_to_hls(*style._rgb(dark))[0] - hue) < 0.02, (colour, dark)
    assert changed >= 4  # not a given: several of each palette were too dark for dark paper


def test_the_outlier_grey_has_3_to_1_on_both_papers():
    grey = style.OUTLIER_COLOUR
    for paper in (style.LIGHT_PAPER, style.DARK_PAPER):
        assert style.contrast(grey, paper) >= 3.0, paper
        assert style.contrast(style.drawn(grey, paper), paper) >= 3.0, paper
    assert style.on_dark(grey) == grey  # one grey for both
    assert style.contrast("#c7c7c7", style.LIGHT_PAPER) < 3.0  # the old grey was not


@pytest.mark.parametrize("name", PALETTES)
def test_each_palette_stays_apart_on_dark_paper(name):
    palette = PALETTES[name]
    light = min(style.colour_distance(a, b) for a, b in combinations(palette, 2))
    dark = min(
        style.colour_distance(style.on_dark(a), style.on_dark(b))
        for a, b in combinations(palette, 2)
    )
    assert light >= 20 and dark >= 20, (light, dark)
    assert len({style.on_dark(c) for c in palette}) == len(palette)


def _layout(n: int, seed: int) -> tuple[dict, dict]:
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, 10, size=(n, 2))
    return {t: (float(x), float(y)) for t, (x, y) in enumerate(xy)}, {
        t: int(s) for t, s in enumerate(rng.integers(10, 500, size=n))
    }


@pytest.mark.parametrize("name", PALETTES)
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_neighbours_differ_in_both_palettes_on_both_papers(name, seed):
    positions, sizes = _layout(40, seed)
    colours = style.colours_by_position(positions, sizes, PALETTES[name])
    assert set(colours.values()) <= set(PALETTES[name])
    ids = list(positions)
    xy = np.array([positions[t] for t in ids])
    gaps = np.linalg.norm(xy[:, None] - xy[None], axis=-1) + np.eye(len(ids)) * 1e9
    for i, t in enumerate(ids):
        near = ids[int(np.argmin(gaps[i]))]
        a, b = colours[t], colours[near]
        assert style.colour_distance(a, b) >= 20, (t, near, a, b)
        assert style.colour_distance(style.on_dark(a), style.on_dark(b)) >= 20, (t, near, a, b)


def test_colour_css_declares_each_topic_and_group_in_four_sets():
    topics = [{"topic": -1, **paints(style.OUTLIER_COLOUR, style.OUTLIER_COLOUR)},
              {"topic": 0, **paints("#3d6d00", "#332288")},
              {"topic": 1, **paints("#dbb600", "#ddcc77")}]  # fmt: skip
    tree = {"nodes": {"0": {"id": 0, "layer": 0, **paints("#3d6d00", "#332288")},
                      "7": {"id": 7, "layer": 1, **paints("#924979", "#882255")}}}  # fmt: skip
    css = colour_css(topics, tree)
    blocks = _blocks(css)
    assert blocks["light"] == {"--t-1": "#7b7b7b", "--t0": "#3d6d00", "--t1": "#dbb600",
                               "--n7": "#924979"}  # fmt: skip
    assert blocks["safe"]["--t0"] == "#332288" and blocks["safe"]["--n7"] == "#882255"
    assert blocks["dark"]["--t0"] == style.on_dark("#3d6d00") != "#3d6d00"
    assert blocks["safe_dark"]["--t0"] == style.on_dark("#332288") != "#332288"
    assert blocks["dark"]["--t1"] == "#dbb600"  # light enough already
    # only #rrggbb colours reach the style sheet
    bad = [{"topic": 0, **paints("#3d6d00", "#332288"), "colour_safe": "red;}body{x:y"}]
    with pytest.raises(ValueError):
        colour_css(bad, None)


def _blocks(css: str) -> dict[str, dict[str, str]]:
    """The four sets of custom properties in colour_css's order: light, safe, dark, safe dark."""
    found = list(re.finditer(r"(:root(?:\[data-palette=safe\])?) \{([^{}]*)\}", css))
    assert [m[1] for m in found] == [":root", ":root[data-palette=safe]"] * 2, css
    sets = [dict(re.findall(r"(--[tn]-?\d+):(#[0-9a-f]{6});", m[2])) for m in found]
    dark_at = css.index("@media screen and (prefers-color-scheme:dark) {")
    assert found[1].end() < dark_at < found[2].start()  # the last two only on a dark screen
    return dict(zip(("light", "safe", "dark", "safe_dark"), sets, strict=True))


def test_the_rendered_page_colours_every_swatch_from_its_topic_s_property(tmp_path):
    run = Path(shutil.copytree(FIXTURE, tmp_path / "run"))
    render_reports(run)
    page = (run / "report.html").read_text()
    data = json.loads(re.search(r"^var REPORT = (.*);$", page, flags=re.M).group(1))
    style_sheet = page[page.index("<style>") : page.index("</style>")]
    blocks = _blocks(style_sheet[style_sheet.index("topic colours (report.py") :])
    for topic in data["topics"]:
        name = f"--t{topic['id']}"
        assert all(topic[key] for key in PAINTS)
        assert blocks["light"][name] == topic["colour"]
        assert blocks["safe"][name] == topic["colour_safe"]
        assert blocks["dark"][name] == topic["colour_dark"] == style.on_dark(topic["colour"])
        assert blocks["safe_dark"][name] == topic["colour_safe_dark"]
    swatches = re.findall(r'class="swatch" style="([^"]*)"', page)
    assert len(swatches) >= 2 * len(data["topics"])  # the topic list's and the details'
    assert all(re.fullmatch(r"background:var\(--t-?\d+\)", s) for s in swatches), swatches
    # the saved choice is applied in the head, before the body is drawn
    head = page[: page.index("<body>")]
    assert 'localStorage.getItem("labeler.palette")' in head and "try {" in head
    assert head.index("data-palette") < head.index("<style>")
    assert data["style"] == {"outlier": style.OUTLIER_COLOUR, "opacity": style.MAP_OPACITY,
                             "dark_paper": style.DARK_PAPER}  # fmt: skip
