"""The look every figure shares with report.html: colours, font, margins, and text made safe.

Plotly reads a little HTML in every label and hover text (`<b>`, `<br>`, `<a href>`), so text
from documents and labels goes through `esc` before a figure sees it, exactly as the report's
script does. Titles are the caller's own (BERTopic's defaults are bold: `<b>...</b>`) and are
not escaped.

No Plotly here: the report's chart data (`labeler.views.charts`) takes its colours from this
module without loading it.
"""

from __future__ import annotations

import colorsys
import functools
import html
import json

PALETTE = [
    "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7",
    "#9c755f", "#1f77b4", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf",
    "#bcbd22", "#aec7e8", "#ffbb78", "#98df8a",
]  # fmt: skip
# The report's map colours topics from MAP_PALETTE by position (`colours_by_position`): 20
# colours picked farthest-first in CIELAB (lightness 40-76, chroma 32-78, so each reads on white):
# the closest two differ by ΔE 30, where PALETTE's closest two (#1f77b4, #4e79a7) differ by 10.
MAP_PALETTE = [
    "#2479b6", "#dbb600", "#e71855", "#00ce92", "#ff86ff", "#92613d", "#3d6d00", "#ff7931",
    "#924979", "#556df3", "#3dc2ce", "#ff9eaa", "#86ce3d", "#aab679", "#006d55", "#db1892",
    "#ceaae7", "#e7aa61", "#923daa", "#aa3d18",
]  # fmt: skip
# Paul Tol's "muted" scheme: distinct for the common colour-vision deficiencies (9 colours, so
# neighbours differ and distant topics share).
SAFE_PALETTE = [
    "#cc6677", "#332288", "#ddcc77", "#117733", "#88ccee", "#882255", "#44aa99", "#999933",
    "#aa4499",
]  # fmt: skip
NEIGHBOURS = 8  # a topic's colour differs most from those of its nearest topics on the map
# The map's papers: white, and in dark mode the report's dark card (report.js's DARK.paper).
LIGHT_PAPER = "#ffffff"
DARK_PAPER = "#181c25"
MAP_OPACITY = 0.9  # the map's dots: a colour is seen blended this much over the paper
LEAST_CONTRAST = 3.0  # WCAG's least contrast for graphics: every dot against its paper (on dark)
# Outliers: a mid grey whose dots reach LEAST_CONTRAST on both papers (3.5 on white, 3.5 on dark,
# as drawn); the old #c7c7c7 had 1.7 on white.
OUTLIER_COLOUR = "#7b7b7b"
FONT = {"family": "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif", "size": 12,
        "color": "#1d2330"}  # fmt: skip
SCALE = [[0, "#f4f7fc"], [0.35, "#a9c4e8"], [0.7, "#4e79a7"], [1, "#1b3a63"]]  # blues
GRID = "#eef1f7"
LINE = "#7a8699"
MUTED = "#5f6b7a"
TEXT = "#1d2330"
HALO = "0 0 3px #fff, 0 0 3px #fff, 0 0 2px #fff"  # a white glow that keeps names readable
GL_ABOVE = 3000  # points: more than this are drawn with WebGL (scattergl), as in the report


def colour(topic: int) -> str:
    """A topic's colour: the same in every figure and in the report; grey for outliers."""
    return OUTLIER_COLOUR if topic < 0 else PALETTE[topic % len(PALETTE)]


def _rgb(hex_colour: str) -> list[float]:
    return [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]


def _hex(rgb) -> str:
    return "#" + "".join(f"{round(min(max(c, 0.0), 1.0) * 255):02x}" for c in rgb)


def luminance(hex_colour: str) -> float:
    """WCAG 2 relative luminance of a `#rrggbb` colour (0 black to 1 white)."""
    r, g, b = (
        c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in _rgb(hex_colour)
    )
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    """WCAG 2 contrast ratio of two `#rrggbb` colours, 1 (same) to 21 (black on white)."""
    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def drawn(hex_colour: str, paper: str, opacity: float = MAP_OPACITY) -> str:
    """The colour a dot of `hex_colour` at `opacity` shows over `paper` (as browsers blend)."""
    return _hex(opacity * c + (1 - opacity) * p for c, p in zip(_rgb(hex_colour), _rgb(paper)))


@functools.lru_cache(maxsize=1024)
def on_dark(hex_colour: str, paper: str = DARK_PAPER, least: float = LEAST_CONTRAST) -> str:
    """A topic colour as the dark map shows it: the same hue and saturation, lightened (HLS
    lightness, 1% steps) until its dots (`MAP_OPACITY` over `paper`) have a WCAG contrast of
    `least` against it; a colour that already has it (the outlier grey too) is kept."""
    hue, light, saturation = colorsys.rgb_to_hls(*_rgb(hex_colour))
    out = hex_colour
    while contrast(drawn(out, paper), paper) < least and light < 1.0:
        light = min(1.0, light + 0.01)
        out = _hex(colorsys.hls_to_rgb(hue, light, saturation))
    return out


def _lab(hex_colour: str) -> tuple[float, float, float]:
    """sRGB `#rrggbb` → CIELAB (D65)."""
    rgb = _rgb(hex_colour)
    r, g, b = (((c + 0.055) / 1.055) ** 2.4 if c > 0.04045 else c / 12.92 for c in rgb)
    xyz = (
        (0.4124 * r + 0.3576 * g + 0.1805 * b) / 0.95047,
        0.2126 * r + 0.7152 * g + 0.0722 * b,
        (0.0193 * r + 0.1192 * g + 0.9505 * b) / 1.08883,
    )
    fx, fy, fz = (v ** (1 / 3) if v > 0.008856 else 7.787 * v + 16 / 116 for v in xyz)
    return 116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz)


def colour_distance(a: str, b: str) -> float:
    """CIE76 ΔE between two `#rrggbb` colours (about 2.3: just noticeable)."""
    return sum((x - y) ** 2 for x, y in zip(_lab(a), _lab(b))) ** 0.5


def colours_by_position(
    positions: dict[int, tuple[float, float] | None],
    sizes: dict[int, int],
    palette: list[str] | None = None,
) -> dict[int, str]:
    """A colour per topic (or tree node) chosen by where it sits on the map, so that topics
    side by side differ: largest first, each takes the palette colour farthest (ΔE) from the
    colours of its `NEIGHBOURS` nearest coloured topics, nearer ones weighing more; among
    colours far enough (ΔE 40 and up) the least used. With no more topics than colours every
    topic gets its own. A topic without a position (or negative id) gets the outlier grey.
    (Lightened for the dark map, `on_dark`, each palette's colours stay ΔE 20 apart, so
    neighbours differ there too.)"""
    import numpy as np

    palette = palette or MAP_PALETTE
    placed = [t for t in sorted(positions, key=lambda t: (-sizes.get(t, 0), t))
              if t >= 0 and positions[t] is not None]  # fmt: skip
    out = {t: OUTLIER_COLOUR for t in positions if t not in placed}
    if not placed:
        return out
    xy = np.array([positions[t] for t in placed], dtype=float)
    gaps = np.linalg.norm(xy[:, None, :] - xy[None, :, :], axis=-1)
    near = np.argsort(gaps, axis=1)[:, 1 : NEIGHBOURS + 1]
    delta = [[colour_distance(a, b) for b in palette] for a in palette]
    used = [0] * len(palette)
    chosen: dict[int, int] = {}
    for i, t in enumerate(placed):
        around = [(rank, chosen[j]) for rank, j in enumerate(near[i]) if j in chosen]
        scores = []
        for c in range(len(palette)):  # nearer neighbours weigh more (6 ΔE per rank)
            closest = min((delta[c][k] + 6.0 * rank for rank, k in around), default=999.0)
            scores.append((-min(closest, 40.0), used[c], -closest, c))
        best = min(scores)[3]
        chosen[i] = best
        used[best] += 1
        out[t] = palette[best]
    return out


def esc(value) -> str:
    """Text Plotly shows as text: `&`, `<` and `>` escaped (as the report's `esc`)."""
    return html.escape("" if value is None else str(value), quote=False)


def short(value, limit: int) -> str:
    """At most `limit` characters, whitespace collapsed, cut with an ellipsis."""
    text = " ".join(str("" if value is None else value).split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def wrap(value, width: int = 60) -> str:
    """Escaped lines of about `width` characters joined by Plotly's line break."""
    lines: list[str] = []
    line = ""
    for word in str("" if value is None else value).split():
        if line and len(line) + len(word) + 1 > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    if line:
        lines.append(line)
    return "<br>".join(esc(x) for x in lines)


def distinct(labels: list[str]) -> list[str]:
    """Labels made unique for a category axis (Plotly merges equal categories): a repeat gets
    invisible zero-width spaces, as BERTopic pads repeated tokens with spaces."""
    seen: dict[str, int] = {}
    out = []
    for label in labels:
        n = seen.get(label, 0)
        seen[label] = n + 1
        out.append(label + "\u200b" * n)
    return out


def layout(**extra) -> dict:
    """The report's base layout (its script's `layout()`), updated with `extra`."""
    base = {
        "font": dict(FONT),
        "margin": {"l": 10, "r": 10, "t": 10, "b": 10},
        "paper_bgcolor": "#fff",
        "plot_bgcolor": "#fff",
        "hoverlabel": {"font": dict(FONT), "align": "left"},
    }
    base.update(extra)
    return base


def figure(data: list, page: dict):
    """A Figure with an empty template: Plotly.js's own defaults, as in the report."""
    import plotly.graph_objects as go

    fig = go.Figure(data=data, layout=page)
    fig.update_layout(template={})
    return fig


def finish(fig, title: str | None, width: int | None, height: int | None):
    """Apply a figure's `title`, `width` and `height` (None leaves each as it is)."""
    if title:
        top = max(int(fig.layout.margin.t or 0), 70)
        fig.update_layout(
            title={"text": title, "x": 0.5, "xanchor": "center", "y": 0.98, "yanchor": "top",
                   "font": {"size": 20, "color": TEXT}},
            margin={"t": top},
        )  # fmt: skip
    if width is not None:
        fig.update_layout(width=int(width))
    if height is not None:
        fig.update_layout(height=int(height))
    return fig


def spec(fig) -> dict:
    """A figure as JSON-ready `{"data": [...], "layout": {...}}` for the report's page, which
    draws it with `Plotly.newPlot` (no template: the page keeps Plotly.js's defaults)."""
    out = json.loads(fig.to_json())
    out["layout"].pop("template", None)
    return {"data": out["data"], "layout": out["layout"]}
