"""`visualize_barchart`: each topic's best words and their weights, one small bar chart per
topic, four to a row.

report.html draws its own per-topic keyword bars in the page (one chart per topic, drawn when
it scrolls into view, every keyword stage side by side, from the words the page already
carries), so that chart is not this figure; both draw the same `keywords_` weights in the
same topic colours.
"""

from __future__ import annotations

from collections.abc import Sequence

from labeler.figures import _common as common
from labeler.figures import _style as style

COLUMNS = 4


def visualize_barchart(
    model,
    topics: Sequence[int] | None = None,
    top_n_topics: int | None = 8,
    n_words: int = 5,
    custom_labels: bool | str = False,
    title: str | None = "<b>Topic Word Scores</b>",
    width: int = 250,
    height: int = 250,
    autoscale: bool = False,
    stage: str = "ctfidf",
):
    """The `n_words` best words of each topic with their weights (c-TF-IDF by default; `stage`
    ("keybert", "mmr") for another keyword stage). Topics: `topics`, else the `top_n_topics`
    largest (8), else the 6 largest, as BERTopic. Subplot titles: "Topic N", or the names
    with `custom_labels`. `width` and `height` are each subplot's; `autoscale` grows the
    height for long word lists."""
    from plotly.subplots import make_subplots

    ids = common.select(model, topics, top_n_topics, default=6)
    if custom_labels:
        named = common.names(model, ids, custom_labels)
        titles = [style.esc(style.short(named[t], 40)) for t in ids]
    else:
        titles = [f"Topic {t}" for t in ids]
    rows = -(-len(ids) // COLUMNS)
    fig = make_subplots(
        rows=rows, cols=COLUMNS, shared_xaxes=False, horizontal_spacing=0.1,
        vertical_spacing=0.4 / rows if rows > 1 else 0, subplot_titles=titles,
    )  # fmt: skip
    longest = 0
    for i, t in enumerate(ids):
        best = common.stage_words(model, t, stage)[:n_words]  # MMR's are in pick order
        pairs = sorted(best, key=lambda pair: float(pair[1]))  # largest at the top
        longest = max(longest, len(pairs))
        fig.add_bar(
            x=[float(s) for _, s in pairs], y=[style.esc(w) + "  " for w, _ in pairs],
            orientation="h", marker_color=style.colour(t), name=titles[i],
            customdata=[t] * len(pairs),
            hovertemplate="%{y}: %{x:.4f}<extra>" + titles[i] + "</extra>",
            row=i // COLUMNS + 1, col=i % COLUMNS + 1,
        )  # fmt: skip
    if autoscale and longest > 12:
        height = 250 + (longest - 12) * 11
    if autoscale and longest > 9:
        fig.update_yaxes(tickfont={"size": max(6, (height - 140) // longest)})
    fig.update_layout(style.layout(showlegend=False, margin={"l": 10, "r": 10, "t": 60, "b": 30}))
    fig.update_layout(template={})
    fig.update_xaxes(showgrid=True, gridcolor=style.GRID,
                     title={"text": f"{stage} weight", "font": {"size": 11}})  # fmt: skip
    fig.update_yaxes(showgrid=False)
    total = height * rows if rows > 1 else height * 1.3
    return style.finish(fig, title, width * COLUMNS, int(total))
