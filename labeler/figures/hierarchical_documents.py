"""`visualize_hierarchical_documents`: the document map at each layer of the topic tree, with
a slider from the topics up to the broadest groups.

The levels are the topic tree's layers (`TopicModel.topic_tree()`, the report's tree: Ward on
the topic centres, about four children per parent), so each step of the slider is one layer
of `hierarchical_topics()`, named as the report names it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from labeler.errors import LabelerError
from labeler.figures import _common as common
from labeler.figures import _style as style
from labeler.figures.documents import document_hovers, map_layout, map_traces
from labeler.represent import OUTLIER

COLUMNS = ("Parent_ID", "Parent_Name", "Topics", "Layer")


def levels(model, frame: pd.DataFrame | None, nr_levels: int) -> list[tuple[int, dict, dict]]:
    """Per level, bottom-up: (layer, topic → its node at that layer, node → name). Level 0 is
    the topics themselves; at most `nr_levels` levels."""
    if frame is None:
        frame = model.hierarchical_topics()
    missing = [c for c in COLUMNS if c not in frame.columns]
    if missing:
        raise LabelerError(
            "hierarchical_topics lacks the column(s) " + ", ".join(missing) + ": pass "
            "model.hierarchical_topics() (labeler's layers), or nothing"
        )  # fmt: skip
    if nr_levels < 1:
        raise LabelerError(f"nr_levels must be at least 1, not {nr_levels}")
    out = [(0, {t: t for t in common.real_topics(model)}, {})]
    for layer in sorted(int(v) for v in frame["Layer"].unique()):
        rows = frame[frame["Layer"] == layer]
        up = {int(t): int(r.Parent_ID) for r in rows.itertuples() for t in r.Topics}
        named = {int(r.Parent_ID): str(r.Parent_Name or r.Parent_ID) for r in rows.itertuples()}
        out.append((layer, up, named))
    return out[:nr_levels]


def visualize_hierarchical_documents(
    model,
    docs: Sequence[str] | None = None,
    hierarchical_topics: pd.DataFrame | None = None,
    topics: Sequence[int] | None = None,
    embeddings: np.ndarray | None = None,
    reduced_embeddings: np.ndarray | None = None,
    sample: float | None = None,
    hide_annotations: bool = False,
    hide_document_hover: bool = True,
    nr_levels: int = 10,
    level_scale: str = "linear",
    custom_labels: bool | str = False,
    title: str | None = "<b>Hierarchical Documents and Topics</b>",
    width: int | None = 1200,
    height: int | None = 750,
):
    """The document map once per layer of the topic tree; the slider under it chooses the
    layer ("topics", then "layer 1", ...). Documents of the same group share a colour and a
    name; outliers, and documents outside `topics`, are grey.

    `hierarchical_topics`: `model.hierarchical_topics()` (the default), or a frame with its
    columns Parent_ID, Parent_Name, Topics and Layer. `nr_levels` caps the levels drawn
    (topics first). The levels are the tree's layers, so `level_scale` (BERTopic's way of
    cutting a binary tree by distance) is accepted and changes nothing. `custom_labels` names
    the topics (level 0), as in `visualize_documents`; the groups keep their tree names. The
    other parameters are `visualize_documents`'.
    """
    del level_scale  # the tree's layers are the levels
    docs = common.documents(model, docs)
    xy = common.positions(model, len(docs), embeddings, reduced_embeddings)
    index = common.sample_indices(np.asarray(model.topics_), sample, getattr(model, "seed", 42))
    chosen = set(common.select(model, topics))
    topic_of = np.asarray(model.topics_)[index]
    topic_names = common.names(model, common.real_topics(model), custom_labels)
    hovers = None
    if not hide_document_hover:
        hovers = document_hovers(model, docs, index, {**topic_names, OUTLIER: "Outliers"})
    traces, steps, spans = [], [], []
    for level, (layer, up, named) in enumerate(levels(model, hierarchical_topics, nr_levels)):
        groups = np.array([up.get(int(t), OUTLIER) if t in chosen else OUTLIER for t in topic_of])
        present = sorted({int(g) for g in groups if g != OUTLIER})
        if layer == 0:
            names = {g: topic_names[g] for g in present}
            colours = {g: style.colour(g) for g in present}
        else:
            ranked = sorted(present, key=lambda g: (-(groups == g).sum(), g))
            names = {g: f"{g}_{named.get(g, g)}" for g in present}
            colours = {g: style.PALETTE[r % len(style.PALETTE)] for r, g in enumerate(ranked)}
        drawn = map_traces(
            xy[index], groups, names, colours, hovers, annotate=not hide_annotations,
            visible=level == 0,
        )  # fmt: skip
        for trace in drawn:
            trace.meta = {**(trace.meta or {}), "level": level, "layer": layer}
        spans.append((len(traces), len(traces) + len(drawn)))
        traces += drawn
        steps.append("topics" if layer == 0 else f"layer {layer}")
    visible = []
    for start, end in spans:
        visible.append([start <= i < end for i in range(len(traces))])
    slider = {
        "active": 0, "currentvalue": {"prefix": "Level: "}, "pad": {"t": 20},
        "steps": [
            {"method": "update", "label": label, "args": [{"visible": flags}]}
            for label, flags in zip(steps, visible)
        ],
    }  # fmt: skip
    fig = style.figure(traces, map_layout(showlegend=True, sliders=[slider]))
    fig.update_layout(margin={"b": 90})
    return style.finish(fig, title, width, height)
