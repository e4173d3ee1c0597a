"""`visualize_topics`: the intertopic distance map, as LDAvis draws it.

Each topic is a bubble whose area is its size, placed by principal coordinates analysis
(classical MDS, LDAvis' default) of the distances between the unit topic centres, which grow
with their cosine distance: near bubbles are similar topics. BERTopic places them with UMAP,
which is unstable for a few dozen points; the principal coordinates are the best 2-d view of
those distances and the same on every run.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from labeler.figures import _common as common
from labeler.figures import _style as style


def principal_coordinates(vectors: np.ndarray) -> np.ndarray:
    """2-d classical MDS of the Euclidean distances between unit rows (sqrt(2 * cosine
    distance)); signs fixed so the largest coordinate of each axis is positive."""
    n = len(vectors)
    if n == 1:
        return np.zeros((1, 2))
    vectors = np.asarray(vectors, dtype=np.float64)
    squared = 2.0 * np.clip(1.0 - vectors @ vectors.T, 0.0, 2.0)  # |u - v|² for unit u, v
    centre = np.eye(n) - 1.0 / n
    gram = -0.5 * centre @ squared @ centre
    values, axes = np.linalg.eigh((gram + gram.T) / 2.0)
    top = np.argsort(-values)[:2]
    coords = axes[:, top] * np.sqrt(np.clip(values[top], 0.0, None))
    if coords.shape[1] < 2:
        coords = np.column_stack([coords, np.zeros(n)])
    for j in range(2):
        if coords[np.argmax(np.abs(coords[:, j])), j] < 0:
            coords[:, j] = -coords[:, j]
    return coords


def visualize_topics(
    model,
    topics: Sequence[int] | None = None,
    top_n_topics: int | None = None,
    use_ctfidf: bool = False,
    custom_labels: bool | str = False,
    title: str | None = "<b>Intertopic Distance Map</b>",
    width: int | None = 650,
    height: int | None = 650,
):
    """The intertopic distance map: one bubble per topic (area: its documents; hover: its
    name, size and best words), placed so that distances match the cosine distances between
    topic centres (or c-TF-IDF rows with `use_ctfidf`). `topics` / `top_n_topics` choose the
    topics (default: all); `custom_labels` names them as in the other figures."""
    ids = common.select(model, topics, top_n_topics)
    xy = principal_coordinates(common.vectors(model, ids, use_ctfidf))
    names = common.names(model, ids, custom_labels)
    sizes = {t: int(model.topic_sizes_[t]) for t in ids}
    words = {t: common.words(model, t, 5) for t in ids}
    fig = intertopic_figure(ids, xy, names, sizes, {t: style.colour(t) for t in ids}, words)
    return style.finish(fig, title, width, height)


def intertopic_figure(
    ids: list[int],
    xy: np.ndarray,
    names: dict[int, str],
    sizes: dict[int, int],
    colours: dict[int, str],
    words: dict[int, list[str]],
):
    """The bubbles at `xy` (`principal_coordinates`), one per topic in `ids`: area its size,
    text its id, hover its name, size and `words`; `customdata` the topic. report.html's
    "Intertopic distance" is this figure over the run's topic centres."""
    import plotly.graph_objects as go

    counts = [int(sizes[t]) for t in ids]
    hover = [
        f"<b>{style.esc(names[t])}</b><br>{counts[i]} documents<br>"
        + style.esc(" | ".join(words.get(t, [])))
        for i, t in enumerate(ids)
    ]
    trace = go.Scatter(
        x=xy[:, 0], y=xy[:, 1], mode="markers+text", text=[str(t) for t in ids],
        textfont={"size": 11, "color": style.TEXT}, customdata=ids, hovertext=hover,
        hoverinfo="text", name="topics", showlegend=False,
        marker={"size": counts, "sizemode": "area", "sizeref": 2.0 * max(counts) / 60**2,
                "sizemin": 6, "color": [colours[t] for t in ids], "opacity": 0.7,
                "line": {"color": "#fff", "width": 1}},
    )  # fmt: skip
    span = float(np.abs(xy).max()) if len(ids) > 1 else 1.0
    pad = 1.25 * max(span, 1e-6)
    axis = {"visible": False, "range": [-pad, pad], "zeroline": False, "showgrid": False}
    cross = {"type": "line", "line": {"color": "#cfd8dc", "width": 1.5}, "layer": "below"}
    page = style.layout(
        xaxis=axis, yaxis={**axis, "scaleanchor": "x", "scaleratio": 1}, hovermode="closest",
        shapes=[{**cross, "x0": -pad, "x1": pad, "y0": 0, "y1": 0},
                {**cross, "x0": 0, "x1": 0, "y0": -pad, "y1": pad}],
        annotations=[
            {"x": -pad, "y": 0, "text": "PC1", "showarrow": False, "yshift": 10,
             "xanchor": "left", "font": {"color": style.MUTED}},
            {"x": 0, "y": pad, "text": "PC2", "showarrow": False, "xshift": 14,
             "yanchor": "top", "font": {"color": style.MUTED}},
        ],
    )  # fmt: skip
    return style.figure([trace], page)
