"""`visualize_topics_per_class`: documents per topic in each class.

Two charts of the same counts: `class_bars` (BERTopic's figure: one horizontal bar trace per
topic over the classes, the first shown, the rest a click away in the legend) and
`class_heatmap` (report.html's "Topics per class": topics by classes, the count in each cell,
its share of the topic and of the class on hover). The report draws `class_heatmap`, built
here, so neither chart has a second implementation.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from labeler.figures import _common as common
from labeler.figures import _style as style
from labeler.figures.topics_over_time import _frame, _frequencies


def class_heatmap(classes: dict, names: dict[int, str], sizes: dict[int, int]):
    """`classes`: `labeler.views.charts.per_class`' table (`topics`, `classes`, `z`,
    `class_totals`). Rows are topics (`meta`: their ids), columns classes."""
    import plotly.graph_objects as go

    z = np.asarray(classes["z"], dtype=float)
    topics, labels = classes["topics"], classes["classes"]
    rows = style.distinct([f"<b>{style.esc(style.short(names[t], 50))}</b>" for t in topics])
    cols = style.distinct([style.esc(style.short(c, 50)) for c in labels])
    totals = np.asarray(classes["class_totals"], dtype=float)
    of_topic = 100 * z / np.maximum([[sizes.get(t, 0)] for t in topics], 1)
    of_class = 100 * z / np.maximum(totals[None, :], 1)
    share = np.round(np.stack([of_topic, of_class], axis=-1), 1).tolist()
    trace = go.Heatmap(
        z=z.astype(int).tolist(), x=cols, y=rows, customdata=share, colorscale=style.SCALE,
        colorbar={"thickness": 12, "len": 0.6, "title": {"text": "docs"}}, meta={"topics": topics},
        hovertemplate="%{y}<br>class %{x}: %{z} documents<br>%{customdata[0]:.1f}% of the "
        "topic, %{customdata[1]:.1f}% of the class<extra></extra>",
    )  # fmt: skip
    tick = {"tickfont": {"size": 10}, "type": "category", "automargin": True}
    page = style.layout(
        height=max(320, 18 * len(topics) + 190), margin={"l": 220, "r": 20, "t": 10, "b": 170},
        xaxis={**tick, "tickvals": cols, "tickangle": -50, "title": {"text": "class"},
               "ticktext": [style.esc(style.short(c, 26)) for c in labels]},
        yaxis={**tick, "tickvals": rows, "autorange": "reversed", "title": {"text": "topic"},
               "ticktext": [style.esc(style.short(names[t], 32)) for t in topics]},
    )  # fmt: skip
    return style.figure([trace], page)


def class_bars(series: list[dict], x_title: str):
    """One horizontal bar trace per entry of `series` (`topic`, `name`, `colour`, `classes`,
    `x`, `words`), the first visible and the others in the legend only."""
    import plotly.graph_objects as go

    traces = []
    for i, s in enumerate(series):
        name = style.esc(style.short(s["name"], 40))
        traces.append(
            go.Bar(
                y=[style.esc(c) for c in s["classes"]], x=s["x"], orientation="h", name=name,
                visible=True if i == 0 else "legendonly", marker_color=s["colour"],
                meta={"topic": s["topic"]},
                customdata=[style.esc(w) for w in s["words"] or [""] * len(s["x"])],
                hovertemplate="%{y}: %{x}<br>Words: %{customdata}<extra>" + name + "</extra>",
            )
        )  # fmt: skip
    page = style.layout(
        margin={"l": 10, "r": 10, "t": 10, "b": 50}, legend={"font": {"size": 11}},
        xaxis={"title": {"text": x_title}, "gridcolor": style.GRID, "rangemode": "tozero"},
        yaxis={"title": {"text": "Class"}, "automargin": True, "type": "category"},
    )  # fmt: skip
    return style.figure(traces, page)


def visualize_topics_per_class(
    model,
    topics_per_class: pd.DataFrame | None = None,
    top_n_topics: int | None = 10,
    topics: Sequence[int] | None = None,
    normalize_frequency: bool = False,
    custom_labels: bool | str = False,
    title: str | None = "<b>Topics per Class</b>",
    width: int | None = 1250,
    height: int | None = 900,
):
    """Documents per class for each topic, as BERTopic: one bar trace per topic (the first
    shown; click names in the legend for the others), hover shows the class' words.
    `topics_per_class`: `model.topics_per_class(...)`'s DataFrame (None computes it with the
    run's class column). Topics: `topics`, else the `top_n_topics` largest (10), else all;
    `normalize_frequency` scales each topic's bars to unit length."""
    frame = _frame(model, topics_per_class, "topics_per_class", "Class")
    ids = common.select(model, topics, top_n_topics, outliers=True)
    names = common.names(model, ids, custom_labels)
    series = []
    for t in ids:
        rows = frame[frame["Topic"] == t]
        if rows.empty:
            continue
        series.append(
            {
                "topic": t, "name": names[t], "colour": style.colour(t),
                "classes": rows["Class"].astype(str).tolist(),
                "x": _frequencies(rows["Frequency"], normalize_frequency),
                "words": rows["Words"].astype(str).tolist() if "Words" in rows else None,
            }
        )  # fmt: skip
    x_title = "Normalized Frequency" if normalize_frequency else "Frequency"
    return style.finish(class_bars(series, x_title), title, width, height)
