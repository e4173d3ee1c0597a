"""`visualize_heatmap`: cosine similarity between topics.

`similarity_figure` draws a similarity matrix; report.html's "Topic similarity" is that figure
over the run's largest topics in hierarchy order, so the figure and the report are one
implementation.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from labeler.errors import LabelerError
from labeler.figures import _common as common
from labeler.figures import _style as style


def similarity_matrix(vectors: np.ndarray) -> np.ndarray:
    """Cosine similarity of unit rows, clipped to [-1, 1]."""
    vectors = np.asarray(vectors, dtype=np.float32)
    return np.clip(vectors @ vectors.T, -1.0, 1.0)


def similarity_figure(
    ids: list[int], names: dict[int, str], z, size: int | None = None, cell: int | None = None
):
    """A heatmap of `z` (rows and columns in `ids`' order) named by `names`: hover shows both
    names and the similarity; the y axis' categories identify the row (`meta`: the ids).
    `cell` (pixels) sizes the figure to square cells of that side; else `size` is its height."""
    import plotly.graph_objects as go

    z = np.round(np.asarray(z, dtype=float), 3)
    labels = style.distinct([style.esc(style.short(names[t], 50)) for t in ids])
    ticks = [style.esc(style.short(names[t], 28)) for t in ids]
    low = max(0.0, float(z.min())) if z.size else 0.0
    trace = go.Heatmap(
        z=z.tolist(), x=labels, y=labels, colorscale=style.SCALE, zmin=low, zmax=1,
        colorbar={"thickness": 12, "len": 0.6, "title": {"text": "cosine"}},
        meta={"topics": list(ids)},
        hovertemplate="%{y}<br>%{x}<br>similarity %{z:.2f}<extra></extra>",
    )  # fmt: skip
    axis = {"tickvals": labels, "ticktext": ticks, "tickfont": {"size": 10}, "type": "category",
            "title": {"text": "topic", "standoff": 4}, "automargin": True,
            "constrain": "domain"}  # fmt: skip
    margin = {"l": 210, "r": 20, "t": 10, "b": 190}
    extra = {}
    if cell is not None:
        side = int(cell) * len(ids)
        extra = {"width": margin["l"] + margin["r"] + side + 90,
                 "height": margin["t"] + margin["b"] + side}  # fmt: skip
    page = style.layout(
        height=size if size is not None else max(360, 16 * len(ids) + 200),
        margin=margin, xaxis={**axis, "tickangle": -60},
        yaxis={**axis, "autorange": "reversed", "scaleanchor": "x"},
    )  # fmt: skip
    page.update(extra)
    return style.figure([trace], page)


def cluster_order(vectors: np.ndarray, ids: list[int], n_clusters: int) -> list[int]:
    """BERTopic's `n_clusters`: Ward clusters of the topics, each cluster's topics together."""
    if n_clusters < 1 or n_clusters >= len(ids):
        raise LabelerError(
            f"n_clusters must be between 1 and {len(ids) - 1} (below the number of topics "
            f"shown), not {n_clusters}"
        )
    from scipy.cluster.hierarchy import fcluster, linkage

    groups = fcluster(linkage(similarity_matrix(vectors), "ward"), t=n_clusters,
                      criterion="maxclust")  # fmt: skip
    first: dict[int, int] = {}
    for i, g in enumerate(groups):
        first.setdefault(int(g), i)
    return [ids[i] for i in sorted(range(len(ids)), key=lambda i: (first[int(groups[i])], i))]


def visualize_heatmap(
    model,
    topics: Sequence[int] | None = None,
    top_n_topics: int | None = None,
    n_clusters: int | None = None,
    use_ctfidf: bool = False,
    custom_labels: bool | str = False,
    title: str | None = "<b>Similarity Matrix</b>",
    width: int | None = 800,
    height: int | None = 800,
):
    """The topics' cosine similarity matrix (their centres in embedding space, or their
    c-TF-IDF rows with `use_ctfidf`), topics in id order or grouped into `n_clusters`
    Ward clusters. `topics`, `top_n_topics`, `custom_labels`, `title`, `width`, `height` as
    in BERTopic."""
    ids = common.select(model, topics, top_n_topics)
    vectors = common.vectors(model, ids, use_ctfidf)
    if n_clusters:
        order = cluster_order(vectors, ids, int(n_clusters))
        vectors = vectors[[ids.index(t) for t in order]]
        ids = order
    names = common.names(model, ids, custom_labels)
    fig = similarity_figure(ids, names, similarity_matrix(vectors))
    return style.finish(fig, title, width, height)
