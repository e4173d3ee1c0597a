"""`visualize_hierarchy`: the topics as a dendrogram (Ward linkage on the unit topic centres, the
topic tree's linkage, so the dendrogram and the tree's layers are one hierarchy; BERTopic's
default linkage is Ward too).

`dendrogram` computes the tree's lines once; `hierarchy_figure` draws them. report.html's
"Topic hierarchy" is `hierarchy_figure` over the run's topic centres, so the figure and the
report are one implementation.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from labeler.errors import LabelerError
from labeler.figures import _common as common
from labeler.figures import _style as style


def dendrogram(
    vectors: np.ndarray,
    ids: list[int],
    linkage_function: Callable | None = None,
    distance_function: Callable | None = None,
    method: str = "average",
) -> dict | None:
    """Average-linkage (cosine) tree over topic vectors (`method="ward"`: Ward on the unit
    vectors, the topic tree's linkage; its heights are Ward's merge costs), as dendrogram
    line coordinates: `x` (distance) and `y` (leaf position, 5, 15, ...) with None between
    links, `leaves` (topic ids, top to bottom), `ticks` (their positions) and `merges`
    (per link: its position, distance and the topics it joins). None for fewer than 3 topics.

    `distance_function(vectors)` → a square distance matrix and `linkage_function(matrix)` →
    a SciPy linkage replace the defaults, as BERTopic's options do."""
    if len(ids) < 3:
        return None
    from scipy.cluster.hierarchy import dendrogram as scipy_dendrogram
    from scipy.cluster.hierarchy import linkage
    from scipy.spatial.distance import squareform

    vectors = np.asarray(vectors, dtype=np.float64)
    if method == "ward" and linkage_function is None and distance_function is None:
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        tree = linkage(vectors / np.where(norms > 0, norms, 1.0), method="ward")
    elif linkage_function is None and distance_function is None:
        tree = linkage(vectors, method="average", metric="cosine")
    else:
        if distance_function is None:
            distances = np.clip(1.0 - vectors @ vectors.T, 0.0, 2.0)
        else:
            distances = np.asarray(distance_function(vectors), dtype=np.float64)
        if distances.shape != (len(ids), len(ids)):
            n = len(ids)
            raise LabelerError(f"distance_function gave shape {distances.shape}, not ({n}, {n})")
        distances = (distances + distances.T) / 2.0
        np.fill_diagonal(distances, 0.0)
        if linkage_function is None:
            tree = linkage(squareform(distances, checks=False), method="average")
        else:
            tree = np.asarray(linkage_function(distances), dtype=np.float64)
    tree[:, 2] = np.maximum(tree[:, 2], 0.0)
    drawn = scipy_dendrogram(tree, no_plot=True, labels=list(ids))
    xs: list = []
    ys: list = []
    leaves = [int(t) for t in drawn["ivl"]]
    below = {5.0 + 10 * i: [t] for i, t in enumerate(leaves)}  # position → topics under it
    merges = []
    for icoord, dcoord in zip(drawn["icoord"], drawn["dcoord"]):
        xs += [round(v, 4) for v in dcoord] + [None]
        ys += [round(v, 2) for v in icoord] + [None]
        joined = below.get(icoord[0], []) + below.get(icoord[2], [])  # children come first
        middle = (icoord[1] + icoord[2]) / 2.0
        below[middle] = joined
        merges.append({"x": round(dcoord[1], 4), "y": round(middle, 2), "topics": joined})
    ticks = [5 + 10 * i for i in range(len(leaves))]
    return {"x": xs, "y": ys, "leaves": leaves, "ticks": ticks, "merges": merges}


def hierarchy_figure(
    tree: dict,
    names: dict[int, str],
    colours: dict[int, str],
    sizes: dict[int, int],
    orientation: str = "left",
    merges: dict[tuple, str] | None = None,
    distance_title: str = "cosine distance",
):
    """The dendrogram: grey links, a dot per topic (`customdata`: its id, hover: its name and
    size) and the names along the axis. `merges` (leaf set → name) adds a dot per link that
    names what it joins, as BERTopic does with `hierarchical_topics`."""
    if orientation not in ("left", "bottom"):
        raise LabelerError(f"orientation must be 'left' or 'bottom', not {orientation!r}")
    import plotly.graph_objects as go

    leaves = tree["leaves"]
    across, along = tree["x"], tree["y"]  # distance, leaf position
    left = orientation == "left"

    def xy(distance, position) -> dict:
        return {"x": distance, "y": position} if left else {"x": position, "y": distance}

    traces = [
        go.Scatter(
            **xy(across, along), mode="lines", line={"color": style.LINE, "width": 1.4},
            hoverinfo="skip", showlegend=False, name="links",
        ),
        go.Scatter(
            **xy([0] * len(leaves), tree["ticks"]), mode="markers", customdata=leaves,
            marker={"size": 9, "color": [colours[t] for t in leaves]},
            hovertext=[f"<b>{style.esc(names[t])}</b><br>{sizes[t]} documents" for t in leaves],
            hoverinfo="text", showlegend=False, name="topics",
        ),
    ]  # fmt: skip
    if merges is not None:
        points = tree["merges"]
        text = []
        for m in points:
            name = merges.get(tuple(sorted(m["topics"])))
            listed = ", ".join(style.esc(style.short(names[t], 40)) for t in m["topics"][:8])
            more = f" and {len(m['topics']) - 8} more" if len(m["topics"]) > 8 else ""
            head = f"<b>{style.esc(name)}</b><br>" if name else ""
            text.append(f"{head}{len(m['topics'])} topics at distance {m['x']:.3f}: {listed}{more}")
        traces.append(
            go.Scatter(
                **xy([m["x"] for m in points], [m["y"] for m in points]), mode="markers",
                marker={"size": 6, "color": style.TEXT}, hovertext=text, hoverinfo="text",
                showlegend=False, name="merges",
            )
        )  # fmt: skip
    distance = {"title": {"text": distance_title}, "zeroline": False, "gridcolor": style.GRID}
    ticktext = [style.esc(style.short(names[t], 40)) for t in leaves]
    topics = {
        "tickvals": tree["ticks"], "ticktext": ticktext, "showgrid": False, "zeroline": False,
        "range": [0, 10 * len(leaves)], "tickfont": {"size": 11},
        "title": {"text": "topic", "standoff": 6},
    }  # fmt: skip
    n = len(leaves)
    if left:
        page = style.layout(
            height=max(260, 20 * n + 60), margin={"l": 260, "r": 20, "t": 10, "b": 40},
            xaxis=distance, yaxis=topics, hovermode="closest",
        )  # fmt: skip
    else:
        page = style.layout(
            width=max(400, 20 * n + 120), margin={"l": 60, "r": 20, "t": 10, "b": 220},
            xaxis={**topics, "tickangle": -60}, yaxis=distance, hovermode="closest",
        )  # fmt: skip
    return style.figure(traces, page)


def visualize_hierarchy(
    model,
    orientation: str = "left",
    topics: Sequence[int] | None = None,
    top_n_topics: int | None = None,
    use_ctfidf: bool = False,
    custom_labels: bool | str = False,
    title: str | None = "<b>Hierarchical Clustering</b>",
    width: int | None = 1000,
    height: int | None = 600,
    hierarchical_topics: pd.DataFrame | None = None,
    linkage_function: Callable | None = None,
    distance_function: Callable | None = None,
    color_threshold: float = 1,
):
    """The topics' dendrogram, as report.html's topic tree draws it: Ward linkage on the unit
    topic centres (the tree's own), its merge heights along the axis (topics that join further
    left are closer).

    topics, top_n_topics : which topics (default: all).
    use_ctfidf : link the topics' c-TF-IDF rows instead of their centres (BERTopic's default;
        labeler's is the centres, as its report and topic tree use).
    orientation : "left" (names down the side; the height follows the number of topics and
        `width` applies) or "bottom" (names along the bottom; the width follows them and
        `height` applies), as in BERTopic.
    hierarchical_topics : any value (e.g. `model.hierarchical_topics()`) adds a dot per link
        naming the topics it joins, and the tree's name where a node of that frame has exactly
        those topics.
    linkage_function, distance_function : BERTopic's: `distance_function(vectors)` → square
        distance matrix, `linkage_function(distances)` → SciPy linkage.
    color_threshold : accepted; the links are drawn in one colour, the topics in theirs.
    """
    del color_threshold
    ids = common.select(model, topics, top_n_topics)
    if len(ids) < 3:
        raise LabelerError(f"a hierarchy needs at least 3 topics; this one would have {len(ids)}")
    own = linkage_function is None and distance_function is None
    tree = dendrogram(common.vectors(model, ids, use_ctfidf), ids, linkage_function,
                      distance_function, method="ward" if own else "average")  # fmt: skip
    names = common.names(model, ids, custom_labels)
    merges = None
    if hierarchical_topics is not None:
        frame = hierarchical_topics
        merges = {}
        if isinstance(frame, pd.DataFrame) and {"Topics", "Parent_Name"} <= set(frame.columns):
            merges = {tuple(sorted(r.Topics)): str(r.Parent_Name) for r in frame.itertuples()}
    fig = hierarchy_figure(
        tree,
        names,
        {t: style.colour(t) for t in ids},
        model.topic_sizes_,
        orientation,
        merges,
        distance_title="Ward merge height" if own else "distance",
    )
    left = orientation == "left"
    return style.finish(fig, title, width if left else None, None if left else height)
