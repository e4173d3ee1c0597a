"""`visualize_term_rank`: how fast each topic's c-TF-IDF weights fall from its best word to
its last kept one (one line per topic): how many words it takes to describe a topic."""

from __future__ import annotations

from collections.abc import Sequence

from labeler.figures import _common as common
from labeler.figures import _style as style


def visualize_term_rank(
    model,
    topics: Sequence[int] | None = None,
    log_scale: bool = False,
    custom_labels: bool | str = False,
    title: str | None = "<b>Term score decline per Topic</b>",
    width: int | None = 800,
    height: int | None = 500,
):
    """One line per topic: its keywords' c-TF-IDF weight (y) by rank (x, 1 = its best word),
    outliers left out. Every topic is drawn; `topics` highlights those (in their colours,
    the others faint grey), as BERTopic. `log_scale`: a logarithmic y axis. Hover names each
    line (keyword names, or the model's labels with `custom_labels`)."""
    import plotly.graph_objects as go

    ids = common.select(model)
    highlight = set(common.select(model, topics)) if topics is not None else None
    names = common.names(model, ids, custom_labels)
    traces = []
    longest = 1
    for t in ids:
        scores = [float(s) for _, s in common.stage_words(model, t, "ctfidf")]
        if log_scale:
            floor = min((s for s in scores if s > 0), default=1e-6)
            scores = [s if s > 0 else floor for s in scores]
        longest = max(longest, len(scores))
        lit = highlight is None or t in highlight
        label = style.esc(style.short(names[t], 60))
        traces.append(
            go.Scatter(
                x=list(range(1, len(scores) + 1)), y=scores, mode="lines", name=label,
                meta={"topic": t}, opacity=1.0 if lit else 0.15,
                line={"color": style.colour(t) if lit else "#000", "width": 1.5},
                hovertemplate=f"<b>{label}</b><br>rank %{{x}}: %{{y:.4f}}<extra></extra>",
            )
        )  # fmt: skip
    page = style.layout(
        showlegend=False, hovermode="closest", margin={"l": 60, "r": 20, "t": 20, "b": 50},
        xaxis={"title": {"text": "Term Rank"}, "range": [0.8, longest + 0.2], "dtick": 1,
               "gridcolor": style.GRID, "zeroline": False},
        yaxis={"title": {"text": "c-TF-IDF score" + (" (log scale)" if log_scale else "")},
               "type": "log" if log_scale else "linear", "gridcolor": style.GRID},
    )  # fmt: skip
    return style.finish(style.figure(traces, page), title, width, height)
