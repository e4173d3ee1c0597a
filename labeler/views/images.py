"""The report's charts as PNG files (`labeler report --images`), for the Markdown report.

GitHub and most Markdown viewers show images but run no scripts, so these are static
matplotlib versions of the HTML report's charts, drawn from the same chart data. Text from labels
goes through `_text`, because matplotlib reads `$...$` as mathematics.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from labeler.figures._style import OUTLIER_COLOUR
from labeler.run.layout import atomic_write

KEYWORD_TOPICS = 12  # the keyword chart shows the largest topics
TIME_TOPICS = 8
CLASS_ROWS = 25
CLASS_COLUMNS = 25
DPI = 110
PNG_META = {"Software": None}  # no matplotlib version in the file: the same run, the same bytes


def _text(value, limit: int = 40) -> str:
    text = " ".join(str(value).split())
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return text.replace("\\", "\\\\").replace("$", r"\$")


def _plt():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    plt.rcParams.update({"font.size": 9, "axes.spines.top": False, "axes.spines.right": False})
    return plt


def _save(fig, path: Path) -> Path:
    atomic_write(
        path,
        lambda tmp: fig.savefig(tmp, format="png", dpi=DPI, bbox_inches="tight", metadata=PNG_META),
    )
    fig.clf()
    import matplotlib.pyplot as plt

    plt.close(fig)
    return path


def _map(plt, context: dict, path: Path) -> Path:
    points = context["map"]["points"]
    topics = {t["topic"]: t for t in context["topics"]}
    fig, ax = plt.subplots(figsize=(9, 7))
    colours = [topics[t]["colour"] if t in topics else OUTLIER_COLOUR for t in points["t"]]
    size = 2 if len(colours) > 5000 else 6
    ax.scatter(points["x"], points["y"], c=colours, s=size, linewidths=0, alpha=0.8)
    real = sorted(context["real_topics"], key=lambda t: -t["size"])[:30]
    for t in (t for t in real if t.get("map_position")):
        x, y = t["map_position"]
        ax.annotate(
            _text(t["name"], 30),
            (x, y),
            ha="center",
            fontsize=8,
            bbox={"boxstyle": "round,pad=0.2", "fc": "white", "ec": "none", "alpha": 0.7},
        )
    ax.set_aspect("equal", adjustable="datalim")
    ax.axis("off")
    if context["map"]["sampled"]:
        ax.set_title(
            f"a random sample of {context['map']['shown']:,} of {context['map']['total']:,}"
            " documents",
            fontsize=9,
        )
    return _save(fig, path)


def _keywords(plt, context: dict, path: Path) -> Path | None:
    real = sorted(context["real_topics"], key=lambda t: -t["size"])[:KEYWORD_TOPICS]
    if not real:
        return None
    cols = 4
    rows = int(np.ceil(len(real) / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(12, 2.4 * rows), squeeze=False)
    for ax in axes.flat:
        ax.set_visible(False)
    for ax, t in zip(axes.flat, real):
        words = t["keywords"][:8][::-1]
        ax.set_visible(True)
        ax.barh([_text(w, 20) for w, _ in words], [s for _, s in words], color=t["colour"])
        ax.set_title(_text(t["name"], 34), fontsize=9, loc="left")
        ax.tick_params(labelsize=8)
    fig.tight_layout()
    return _save(fig, path)


def _hierarchy(plt, context: dict, path: Path) -> Path | None:
    tree = context["hierarchy"]
    if not tree:
        return None
    names = {t["topic"]: t["name"] for t in context["topics"]}
    n = len(tree["leaves"])
    fig, ax = plt.subplots(figsize=(9, max(2.5, 0.24 * n + 0.8)))
    xs = np.array([np.nan if v is None else v for v in tree["x"]], dtype=float)
    ys = np.array([np.nan if v is None else v for v in tree["y"]], dtype=float)
    ax.plot(xs, ys, color="#7a8699", linewidth=1)
    ax.set_yticks(tree["ticks"], [_text(names[t], 40) for t in tree["leaves"]], fontsize=8)
    ax.set_ylim(0, 10 * n)
    ax.set_xlabel("cosine distance")
    ax.spines["left"].set_visible(False)
    return _save(fig, path)


def _over_time(plt, context: dict, path: Path) -> Path | None:
    time = context["time"]
    if not time:
        return None
    dates = np.array(time["periods"], dtype="datetime64[D]")
    fig, ax = plt.subplots(figsize=(10, 4.5))
    largest = sorted(context["real_topics"], key=lambda t: -t["size"])[:TIME_TOPICS]
    for t in largest:
        counts = time["counts"].get(t["topic"])
        if counts:
            ax.plot(dates, counts, label=_text(t["name"], 30), color=t["colour"], linewidth=1.6)
    ax.set_ylabel(f"documents per {time['unit']}")
    ax.set_ylim(bottom=0)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False)
    fig.autofmt_xdate()
    return _save(fig, path)


def _per_class(plt, context: dict, path: Path) -> Path | None:
    classes = context["classes"]
    if not classes:
        return None
    names = {t["topic"]: t["name"] for t in context["topics"]}
    z = np.array(classes["z"], dtype=float)[:CLASS_ROWS, :CLASS_COLUMNS]
    topics = classes["topics"][:CLASS_ROWS]
    columns = classes["classes"][:CLASS_COLUMNS]
    fig, ax = plt.subplots(figsize=(max(6, 0.32 * len(columns) + 3), max(3, 0.3 * len(topics) + 2)))
    image = ax.imshow(z, cmap="Blues", aspect="auto")
    ax.set_xticks(range(len(columns)), [_text(c, 24) for c in columns], rotation=60, ha="right")
    ax.set_yticks(range(len(topics)), [_text(names[t], 30) for t in topics])
    ax.tick_params(labelsize=7)
    fig.colorbar(image, ax=ax, shrink=0.6, label="documents")
    return _save(fig, path)


def write_images(context: dict, folder: Path) -> list[tuple[str, Path]]:
    """Draw every chart the run has data for; returns (name, path) pairs for the template."""
    folder.mkdir(parents=True, exist_ok=True)
    plt = _plt()
    written = []
    for name, draw in (
        ("map", _map),
        ("keywords", _keywords),
        ("hierarchy", _hierarchy),
        ("over_time", _over_time),
        ("per_class", _per_class),
    ):
        path = draw(plt, context, folder / f"{name}.png")
        if path is not None:
            written.append((name, path))
    return written
