"""`visualize_document_datamap`: the documents as a data map, drawn with Plotly.

BERTopic draws this one with the DataMapPlot package and returns a matplotlib figure; labeler
draws the same picture (documents in topic colours, everything else grey, large topic names
in boxes at their centres) as a Plotly figure like every other one, so it needs no extra
package, stays interactive, and `write_html` works. `fig.write_image` (kaleido) gives a PNG.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from labeler.errors import LabelerError
from labeler.figures import _common as common
from labeler.figures import _style as style
from labeler.figures.documents import document_hovers, map_layout, map_traces


def _plain_names(model, ids: list[int], topic_prefix: bool) -> dict[int, str]:
    """DataMapPlot's default names: the first three c-TF-IDF words ("Topic-3: " first)."""
    out = {}
    for t in ids:
        text = " ".join(common.words(model, t, 3))
        out[t] = f"Topic-{t}: {text}" if topic_prefix else text or str(t)
    return out


def visualize_document_datamap(
    model,
    docs: Sequence[str] | None = None,
    topics: Sequence[int] | None = None,
    embeddings: np.ndarray | None = None,
    reduced_embeddings: np.ndarray | None = None,
    custom_labels: bool | str = False,
    title: str | None = "Documents and Topics",
    sub_title: str | None = None,
    width: int | None = 1200,
    height: int | None = 750,
    interactive: bool = False,
    enable_search: bool = False,
    topic_prefix: bool = False,
    datamap_kwds: dict | None = None,
    int_datamap_kwds: dict | None = None,
):
    """A data map of the documents: topic colours, names in boxes sized by topic size,
    documents of other topics (and outliers) grey, as BERTopic's "Unlabelled".

    `docs`, `topics`, `embeddings`, `reduced_embeddings`, `custom_labels` as in
    `visualize_documents`; `sub_title` is drawn under the title; `topic_prefix` starts default
    names with "Topic-N: ". The figure is always interactive (hover shows each document), so
    `interactive` and `enable_search` are accepted and change nothing; `datamap_kwds` and
    `int_datamap_kwds` are DataMapPlot's own options and are refused.
    """
    if datamap_kwds or int_datamap_kwds:
        raise LabelerError(
            "labeler draws the data map with Plotly, not DataMapPlot: datamap_kwds and "
            "int_datamap_kwds do not apply (style the returned figure with fig.update_layout)"
        )
    del interactive, enable_search  # always interactive; no search box
    docs = common.documents(model, docs)
    xy = common.positions(model, len(docs), embeddings, reduced_embeddings)
    shown = common.select(model, topics)
    if custom_labels:
        names = common.names(model, shown, custom_labels)
    else:
        names = _plain_names(model, shown, topic_prefix)
    groups = np.asarray(model.topics_)
    index = np.arange(len(docs))
    hovers = document_hovers(model, docs, index, common.names(model, model.topic_ids_, False))
    traces = map_traces(
        xy, groups, names, {t: style.colour(t) for t in shown}, hovers, annotate=False
    )
    sizes = model.topic_sizes_
    biggest = max(sizes[t] for t in shown)
    notes = []
    for t in shown:
        members = groups == t
        if not members.any():
            continue
        x, y = np.median(xy[members], axis=0)
        notes.append(
            {
                "x": float(x), "y": float(y),
                "text": f"<b>{style.esc(style.short(names[t], 40))}</b>",
                "showarrow": False, "bgcolor": "rgba(255,255,255,0.78)", "borderpad": 3,
                "bordercolor": style.colour(t), "borderwidth": 1.5,
                "font": {"size": int(11 + 7 * (sizes[t] / biggest) ** 0.5), "color": style.TEXT},
            }
        )  # fmt: skip
    fig = style.figure(traces, map_layout(showlegend=False, annotations=notes))
    if title and sub_title:
        title = f"{title}<br><sup>{style.esc(sub_title)}</sup>"
    return style.finish(fig, title, width, height)
