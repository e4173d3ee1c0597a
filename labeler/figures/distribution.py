"""`visualize_distribution`: one document's probability for each topic, as bars."""

from __future__ import annotations

import numpy as np

from labeler.errors import LabelerError
from labeler.figures import _common as common
from labeler.figures import _style as style


def _distribution(model, probabilities) -> np.ndarray:
    ids = common.real_topics(model)
    values = np.asarray(probabilities, dtype=np.float64)
    if values.ndim == 1 and len(values) == len(ids):
        return values
    how = (
        "without calculate_probabilities=True, probabilities_ holds one number per document "
        "(the probability of its own topic), so probabilities_[i] is not a distribution: fit "
        "with calculate_probabilities=True for the (documents, topics) matrix"
    )
    if hasattr(model, "approximate_distribution"):
        how += "; model.approximate_distribution(docs)[0][i] gives document i's"
    raise LabelerError(
        f"visualize_distribution needs one document's probabilities over the {len(ids)} topics "
        f"(a 1-d array, one value per topic in id order), not an array of shape "
        f"{values.shape}: {how}"
    )


def visualize_distribution(
    model,
    probabilities,
    min_probability: float = 0.015,
    custom_labels: bool | str = False,
    title: str | None = "<b>Topic Probability Distribution</b>",
    width: int | None = 800,
    height: int | None = 600,
):
    """Bars of one document's probability per topic (`probabilities`: a 1-d array with one
    value per topic, outliers excluded, in id order, as BERTopic's `probs[i]`), only those at
    or above `min_probability`. Topics are named "Topic N: words", or by their labels with
    `custom_labels`."""
    import plotly.graph_objects as go

    values = _distribution(model, probabilities)
    ids = common.real_topics(model)
    kept = [i for i, v in enumerate(values) if v >= min_probability and v > 0]
    if not kept:
        raise LabelerError(
            f"no topic has a probability of at least min_probability={min_probability} "
            f"(the highest is {values.max():.4f}): lower min_probability"
        )
    topics = [ids[i] for i in kept]
    if custom_labels:
        named = common.names(model, topics, custom_labels)
        labels = [style.esc(style.short(named[t], 50)) for t in topics]
    else:
        labels = [
            f"<b>Topic {t}</b>: " + style.esc(style.short("_".join(common.words(model, t, 5)), 40))
            for t in topics
        ]
    trace = go.Bar(
        x=[float(values[i]) for i in kept], y=style.distinct(labels), orientation="h",
        customdata=topics, marker={"color": [style.colour(t) for t in topics],
                                   "line": {"color": "#6e8484", "width": 1}},
        hovertemplate="%{y}<br>probability %{x:.3f}<extra></extra>", name="probability",
    )  # fmt: skip
    page = style.layout(
        showlegend=False, margin={"l": 10, "r": 20, "t": 20, "b": 50},
        xaxis={"title": {"text": "Probability"}, "gridcolor": style.GRID, "rangemode": "tozero"},
        yaxis={"autorange": "reversed", "automargin": True, "type": "category"},
    )  # fmt: skip
    return style.finish(style.figure([trace], page), title, width, height)
