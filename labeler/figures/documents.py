"""`visualize_documents`: every document on the 2-d map, coloured by topic, topic names on top.

The map is the fit's own (`layout_`, the positions report.html draws) unless `embeddings` or
`reduced_embeddings` are given, as in BERTopic. `map_traces` also draws the data map and each
level of the hierarchical documents figure.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from labeler.figures import _common as common
from labeler.figures import _style as style
from labeler.represent import OUTLIER

OTHER = "other documents"


def map_traces(
    xy: np.ndarray,
    groups: np.ndarray,
    names: dict[int, str],
    colours: dict[int, str],
    hovers: list[str] | None,
    *,
    annotate: bool = True,
    visible: bool = True,
) -> list:
    """Traces of one map: the documents outside every group in `names` first (grey, "other
    documents"), then one trace per group (its documents; `meta` holds the group id), then
    the group names at their median positions (unless `annotate` is False)."""
    import plotly.graph_objects as go

    scatter = go.Scattergl if len(xy) > style.GL_ABOVE else go.Scatter
    size = 3 if len(xy) > 5000 else 5
    traces = []
    inside = np.isin(groups, list(names))

    def points(members: np.ndarray, **extra):
        text = [hovers[i] for i in members] if hovers is not None else None
        return scatter(
            x=xy[members, 0], y=xy[members, 1], mode="markers", hovertext=text,
            hoverinfo="text" if text is not None else "name", visible=visible, **extra,
        )  # fmt: skip

    rest = np.flatnonzero(~inside)
    if len(rest):
        traces.append(
            points(rest, name=OTHER, showlegend=False, meta={"group": None},
                   marker={"color": style.OUTLIER_COLOUR, "size": size, "opacity": 0.5})
        )  # fmt: skip
    centres = {}
    for g in sorted(names):
        members = np.flatnonzero(groups == g)
        if not len(members):
            continue
        centres[g] = np.median(xy[members], axis=0)
        traces.append(
            points(members, name=style.esc(style.short(names[g], 50)), meta={"group": int(g)},
                   customdata=[int(g)] * len(members),
                   marker={"color": colours[g], "size": size, "opacity": 0.8})
        )  # fmt: skip
    if annotate and centres:
        shown = list(centres)
        traces.append(
            go.Scatter(
                x=[float(centres[g][0]) for g in shown], y=[float(centres[g][1]) for g in shown],
                mode="text", text=[style.esc(style.short(names[g], 34)) for g in shown],
                customdata=shown, hoverinfo="skip", showlegend=False, name="names",
                meta={"group": "names"}, visible=visible,
                textfont={"family": style.FONT["family"], "size": 12, "color": style.TEXT,
                          "shadow": style.HALO},
            )
        )  # fmt: skip
    return traces


def map_layout(**extra) -> dict:
    axis = {"visible": False, "showgrid": False, "zeroline": False}
    return style.layout(
        xaxis=axis, yaxis={**axis, "scaleanchor": "x", "scaleratio": 1}, hovermode="closest",
        legend={"itemsizing": "constant", "font": {"size": 11}}, **extra,
    )  # fmt: skip


def document_hovers(model, docs: list[str], index: np.ndarray, names: dict[int, str]) -> list:
    """Per drawn document: its topic's name in bold, its id and its (escaped) text."""
    ids = getattr(model, "doc_ids_", None)
    numbered = ids is None or list(ids) == list(range(len(docs)))
    out = []
    for i in index:
        t = int(model.topics_[i])
        head = f"<b>{style.esc(style.short(names.get(t, t), 70))}</b><br>"
        out.append(head + common.hover(docs[i], None if numbered else ids[i]))
    return out


def visualize_documents(
    model,
    docs: Sequence[str] | None = None,
    topics: Sequence[int] | None = None,
    embeddings: np.ndarray | None = None,
    reduced_embeddings: np.ndarray | None = None,
    sample: float | None = None,
    hide_annotations: bool = False,
    hide_document_hover: bool = False,
    custom_labels: bool | str = False,
    title: str | None = "<b>Documents and Topics</b>",
    width: int | None = 1200,
    height: int | None = 750,
):
    """The documents on the 2-d map, one trace per topic (click a name in the legend to hide
    it), outliers and topics left out of `topics` in grey.

    Parameters (BERTopic's)
    -----------------------
    docs : the fitted documents, or None for `model.documents_` (BERTopic requires them).
    topics : the topics drawn in colour; None: all.
    embeddings, reduced_embeddings : other positions: the 2-d `reduced_embeddings` as given,
        or `embeddings` reduced to 2-d with UMAP. By default the fit's own map (`layout_`).
    sample : the share of each topic's documents drawn (topics under 100 documents whole),
        drawn with the model's seed.
    hide_annotations : no topic names on the map.
    hide_document_hover : hovering shows the topic only, not the document.
    custom_labels : True: the model's labels (`custom_labels_`, else `labels_`); a stage name
        ("keybert", "mmr"): that stage's words; False: c-TF-IDF keyword names.
    title, width, height : the figure's.
    """
    docs = common.documents(model, docs)
    xy = common.positions(model, len(docs), embeddings, reduced_embeddings)
    index = common.sample_indices(np.asarray(model.topics_), sample, getattr(model, "seed", 42))
    shown = common.select(model, topics)
    names = common.names(model, shown, custom_labels)
    groups = np.asarray(model.topics_)[index]
    all_names = {**common.names(model, sorted(set(groups.tolist())), custom_labels), **names}
    hovers = None if hide_document_hover else document_hovers(model, docs, index, all_names)
    traces = map_traces(
        xy[index], groups, {t: names[t] for t in shown if t != OUTLIER},
        {t: style.colour(t) for t in shown}, hovers, annotate=not hide_annotations,
    )  # fmt: skip
    fig = style.figure(traces, map_layout(showlegend=True))
    return style.finish(fig, title, width, height)
