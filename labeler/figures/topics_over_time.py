"""`visualize_topics_over_time`: documents per topic per time bin, one line per topic.

`time_figure` draws the lines; report.html's "Topics over time" is that figure over the run's
time bins (`labeler.views.charts.over_time`, the bins of `TopicModel.topics_over_time()`), so
the figure and the report are one implementation.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from labeler.errors import LabelerError
from labeler.figures import _common as common
from labeler.figures import _style as style


def time_figure(
    series: list[dict], y_title: str, dates: bool = False, height: int = 460, x_title: str = "time"
):
    """One line per entry of `series` (`topic`, `name`, `colour`, `x`, `y`, `visible`: True
    or "legendonly", and optional `words` per point, shown on hover); `meta` holds the topic."""
    import plotly.graph_objects as go

    traces = []
    for s in series:
        name = style.esc(style.short(s["name"], 40))
        extra = {}
        template = "%{x}: %{y} documents"
        if s.get("words") is not None:
            extra["customdata"] = [style.esc(w) for w in s["words"]]
            template = "%{x}: %{y}<br>Words: %{customdata}"
        traces.append(
            go.Scatter(
                x=list(s["x"]), y=list(s["y"]), mode="lines", name=name, meta={"topic": s["topic"]},
                line={"color": s["colour"], "width": 2}, visible=s.get("visible", True),
                hovertemplate=f"{template}<extra>{name}</extra>", **extra,
            )
        )  # fmt: skip
    page = style.layout(
        height=height, margin={"l": 50, "r": 10, "t": 10, "b": 40},
        xaxis={"type": "date", "title": {"text": x_title}} if dates
        else {"gridcolor": style.GRID, "title": {"text": x_title}},
        yaxis={"rangemode": "tozero", "gridcolor": style.GRID, "title": {"text": y_title}},
        legend={"font": {"size": 11}},
    )  # fmt: skip
    return style.figure(traces, page)


def _frame(model, frame, method: str, column: str) -> pd.DataFrame:
    if frame is None:
        frame = getattr(model, method)()
    missing = [c for c in ("Topic", "Frequency", column) if c not in frame.columns]
    if missing:
        raise LabelerError(
            f"the {method} frame lacks the column(s) {', '.join(missing)}: pass "
            f"model.{method}(...)'s DataFrame"
        )
    return frame


def _frequencies(values, normalize: bool) -> list[float]:
    y = np.asarray(values, dtype=np.float64)
    if normalize:
        norm = float(np.linalg.norm(y))
        y = y / norm if norm > 0 else y
    return y.tolist()


def visualize_topics_over_time(
    model,
    topics_over_time: pd.DataFrame | None = None,
    top_n_topics: int | None = None,
    topics: Sequence[int] | None = None,
    normalize_frequency: bool = False,
    custom_labels: bool | str = False,
    title: str | None = "<b>Topics over Time</b>",
    width: int | None = 1250,
    height: int | None = 450,
):
    """One line per topic through the bins of `topics_over_time` (the DataFrame of
    `model.topics_over_time(...)`; None computes it with the run's time column): documents
    per bin, hover shows the bin's words. Topics: `topics`, else the `top_n_topics` largest,
    else all; `normalize_frequency` scales each line to unit length (BERTopic's)."""
    frame = _frame(model, topics_over_time, "topics_over_time", "Timestamp")
    ids = common.select(model, topics, top_n_topics, outliers=True)
    names = common.names(model, ids, custom_labels)
    series = []
    for t in ids:
        rows = frame[frame["Topic"] == t].sort_values("Timestamp")
        if rows.empty:
            continue
        series.append(
            {
                "topic": t, "name": names[t], "colour": style.colour(t),
                "x": rows["Timestamp"].tolist(),
                "y": _frequencies(rows["Frequency"], normalize_frequency),
                "words": rows["Words"].astype(str).tolist() if "Words" in rows else None,
            }
        )  # fmt: skip
    y_title = "Normalized Frequency" if normalize_frequency else "Frequency"
    fig = time_figure(series, y_title)
    fig.update_layout(legend={"title": {"text": "<b>Topics</b>"}})
    return style.finish(fig, title, width, height)
