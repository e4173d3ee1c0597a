"""The look every figure shares with report.html: colours, font, margins, and text made safe.

Plotly reads a little HTML in every label and hover text (`<b>`, `<br>`, `<a href>`), so text
from documents and labels goes through `esc` before a figure sees it, exactly as the report's
script does. Titles are the caller's own (BERTopic's defaults are bold: `<b>...</b>`) and are
not escaped.

No Plotly here: the report's chart data (`labeler.views.charts`) takes its colours from this
module without loading it.
"""

from __future__ import annotations

import html
import json

PALETTE = [
    "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7",
    "#9c755f", "#1f77b4", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf",
    "#bcbd22", "#aec7e8", "#ffbb78", "#98df8a",
]  # fmt: skip
OUTLIER_COLOUR = "#c7c7c7"
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
