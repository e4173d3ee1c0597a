"""`visualize_approximate_distribution`: how much each word of one document belongs to each
topic, from a per-token topic distribution (BERTopic's `approximate_distribution(...,
calculate_token_level=True)`), as a heatmap of topics by tokens."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from labeler.errors import LabelerError
from labeler.figures import _common as common
from labeler.figures import _style as style


def tokens(model, document: str) -> list[str]:
    """The document's tokens as the model's c-TF-IDF vectorizer splits them."""
    vectorizer = getattr(getattr(model, "ctfidf_", None), "vectorizer_", None)
    if vectorizer is not None:
        return list(vectorizer.build_tokenizer()(document))
    return re.findall(r"(?u)\b\w\w+\b", document)


def distribution_frame(model, document: str, topic_token_distribution,
                       normalize: bool = False) -> pd.DataFrame:  # fmt: skip
    """Topics (rows, by name; those with any weight) by tokens (columns, in order; a repeated
    token gets trailing spaces, as BERTopic), from the (tokens × topics) array."""
    common.check_fitted(model)
    words = tokens(model, document)
    if not words:
        raise LabelerError("the document has no tokens the model's vectorizer keeps")
    values = np.asarray(topic_token_distribution, dtype=np.float64)
    ids = common.real_topics(model)
    if values.ndim != 2 or values.shape != (len(words), len(ids)):
        raise LabelerError(
            f"topic_token_distribution has shape {values.shape}, expected ({len(words)}, "
            f"{len(ids)}): one row per token of the document, one column per topic"
        )
    if normalize and values.sum() > 0:
        values = values / values.sum()
    names = common.names(model, ids, True)
    frame = pd.DataFrame(values.T, index=[names[t] for t in ids],
                         columns=[w + " " * i for i, w in enumerate(words)])  # fmt: skip
    return frame.loc[frame.sum(axis=1) != 0]


def visualize_approximate_distribution(
    model,
    document: str,
    topic_token_distribution,
    normalize: bool = False,
    styled: bool = False,
    title: str | None = None,
    width: int | None = None,
    height: int | None = None,
):
    """A heatmap of topics (rows, the model's labels) by the document's tokens (columns), each
    cell the token's weight for the topic, printed in the cell; topics with no weight are left
    out. `normalize` scales the weights to sum to 1.

    BERTopic returns a styled pandas table instead: `styled=True` does the same (a
    `pandas.io.formats.style.Styler`, blues by value, empty cells blank).
    """
    frame = distribution_frame(model, document, topic_token_distribution, normalize)
    if styled:
        return (
            frame.style.format("{:.3f}")
            .background_gradient(cmap="Blues", axis=None)
            .map(lambda v: "color: white" if v == 0 else "color: black")
        )
    import plotly.graph_objects as go

    columns = style.distinct([style.esc(c.rstrip(" ")) for c in frame.columns])
    rows = style.distinct([style.esc(style.short(r, 50)) for r in frame.index])
    z = frame.to_numpy()
    text = [[f"{v:.3f}" if v else "" for v in row] for row in z]
    trace = go.Heatmap(
        z=z.tolist(), x=columns, y=rows, text=text, texttemplate="%{text}", colorscale=style.SCALE,
        zmin=0, colorbar={"thickness": 12, "len": 0.6}, xgap=1, ygap=1,
        hovertemplate="%{y}<br>%{x}: %{z:.3f}<extra></extra>",
    )  # fmt: skip
    page = style.layout(
        margin={"l": 10, "r": 20, "t": 20, "b": 80},
        xaxis={"type": "category", "tickangle": -45, "side": "top"},
        yaxis={"type": "category", "autorange": "reversed", "automargin": True},
        height=height or max(200, 28 * len(rows) + 140),
        width=width or max(500, 60 * len(columns) + 300),
    )  # fmt: skip
    return style.finish(style.figure([trace], page), title, None, None)
