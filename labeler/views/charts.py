"""The data behind the report's charts, computed once in Python and drawn by Plotly (HTML) or
matplotlib (PNG): map points, topic similarity, the topic hierarchy, topics over time and per
class.

Everything returned is plain lists and numbers, ready for JSON. The HTML report draws the map
and the per-topic charts from it in the browser; the similarity heatmap, the hierarchy, topics
over time and per class it draws as the figures `labeler.figures` builds from it (the same code
as `TopicModel.visualize_*`). Sizes are capped so that the report stays small for large
corpora; each cap is stated in the report where it applies.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from labeler.figures._style import colour  # noqa: F401  (report.py: a topic's colour)
from labeler.figures.heatmap import similarity_matrix
from labeler.figures.hierarchy import dendrogram
from labeler.represent.slices import class_values, time_bins

MAP_POINTS = 20_000  # more than this is drawn as a seeded random sample
HOVER_CHARS = 120  # document text shown on hover, per point
SIMILARITY_TOPICS = 100  # the heatmap shows the largest topics
CLASS_COLUMNS = 40  # the per-class heatmap shows the most frequent classes
CLASS_ROWS = 60
NEAREST = 3
VIEW_QUANTILES = (0.01, 0.99)  # the map opens on where these shares of the documents lie
VIEW_PAD = 0.06  # and a margin of this share of that span on each side


def _short(text: str, limit: int) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def map_points(documents: pd.DataFrame, seed: int, text: bool, limit: int | None = None) -> dict:
    """The 2-d layout, outliers first so topics draw on top; sampled above `limit` points."""
    limit = limit or MAP_POINTS
    total = len(documents)
    frame = documents
    if total > limit:
        frame = documents.sample(n=limit, random_state=seed)
    frame = frame.iloc[np.argsort(frame["topic"].to_numpy() >= 0, kind="stable")]
    points = {
        "x": np.round(frame["x"].to_numpy(dtype=float), 2).tolist(),
        "y": np.round(frame["y"].to_numpy(dtype=float), 2).tolist(),
        "t": frame["topic"].astype(int).tolist(),
        "text": None,
        "id": None,
    }
    if text:
        points["text"] = [_short(t, HOVER_CHARS) for t in frame["text"]]
        points["id"] = [str(i) for i in frame["doc_id"]]
        points["words"], points["posts"] = word_index(frame["text"], points["text"])
    return {"points": points, "shown": len(frame), "total": total, "sampled": len(frame) < total,
            "view": map_view(documents)}  # fmt: skip


_WORD = re.compile(r"[^\W_]{2,}")
# A posting list is the gaps between the points holding a word, each gap-1 in base 32, most
# significant digit first: every digit but the last from _MORE, the last from _LAST. Both
# alphabets are safe in a JSON string inside a <script> (report.js decodes them).
_MORE = "0123456789abcdefghijklmnopqrstuv"
_LAST = "ABCDEFGHIJKLMNOPQRSTUVWXYZ()*+,-"


def _gaps(indices: list[int]) -> str:
    out, previous = [], -1
    for index in indices:
        value, digits = index - previous - 1, []
        previous = index
        digits.append(_LAST[value % 32])
        value //= 32
        while value:
            digits.append(_MORE[value % 32])
            value //= 32
        out.append("".join(reversed(digits)))
    return "".join(out)


def word_index(texts, hovers) -> tuple[str, list[str]]:
    """The rest of every map point's text as a compact word index, for the report's document
    search: the distinct lowercased words (2+ letters or digits) joined by spaces, and for each
    word the points holding it (`_gaps`). A point's words already whole in its hover text (the
    first `HOVER_CHARS` characters, which the search reads too) are left out, so short
    documents add nothing."""
    postings: dict[str, list[int]] = {}
    for index, (text, hover) in enumerate(zip(texts, hovers, strict=True)):
        shown = set(_WORD.findall(hover.lower()))
        for word in set(_WORD.findall(str(text).lower())) - shown:
            postings.setdefault(word, []).append(index)
    words = sorted(postings, key=lambda w: (-len(postings[w]), w))
    return " ".join(words), [_gaps(postings[w]) for w in words]


def map_view(documents: pd.DataFrame) -> dict | None:
    """The map's first view: the 1st to 99th percentile of the documents' x and y, padded, so
    a few far outliers do not shrink everything else into a corner (double-click resets to
    it; zooming out shows them)."""
    if len(documents) < 2:
        return None
    view = {}
    for axis in ("x", "y"):
        values = documents[axis].to_numpy(dtype=float)
        low, high = np.quantile(values, VIEW_QUANTILES)
        pad = VIEW_PAD * max(float(high - low), 1e-6)
        view[axis] = [round(float(low) - pad, 3), round(float(high) + pad, 3)]
    return view


def similarity(vectors: np.ndarray, ids: list[int], sizes: dict[int, int], order: list[int]):
    """Cosine similarity between topics, and each topic's nearest neighbours.

    The heatmap keeps the `SIMILARITY_TOPICS` largest topics, in hierarchy order so related
    topics sit next to each other.
    """
    sims = similarity_matrix(vectors)
    nearest = {}
    for i, t in enumerate(ids):
        ranked = [j for j in np.argsort(-sims[i]) if j != i][:NEAREST]
        nearest[t] = [[ids[j], round(float(sims[i, j]), 3)] for j in ranked]
    keep = set(sorted(ids, key=lambda t: -sizes[t])[:SIMILARITY_TOPICS])
    shown = [t for t in order if t in keep]
    index = [ids.index(t) for t in shown]
    z = np.round(sims[np.ix_(index, index)], 3).tolist()
    heatmap = {"topics": shown, "z": z, "total": len(ids)}
    return heatmap, nearest


def hierarchy(vectors: np.ndarray, ids: list[int]) -> dict | None:
    """The topic tree's linkage (Ward on the unit topic centres, `labeler.tree.agglomerate`'s)
    as dendrogram line coordinates (`labeler.figures.hierarchy.dendrogram`, which
    `visualize_hierarchy` draws too): the report shows one hierarchy, whose layers are cuts of
    this tree."""
    return dendrogram(vectors, ids, method="ward")


def over_time(documents: pd.DataFrame) -> dict | None:
    """Documents per topic per period; the period (day/week/month/year) follows the time span.

    The bins are `labeler.represent.slices.time_bins`', the same as
    `TopicModel.topics_over_time()`'s."""
    if "timestamp" not in documents:
        return None
    binned = time_bins(documents["timestamp"])
    ok = binned.bins.notna().to_numpy()
    if ok.sum() < 2 or binned.distinct < 2:
        return None
    topics = documents["topic"].to_numpy()[ok]
    table = pd.crosstab(binned.bins[ok].to_numpy(), topics).reindex(binned.starts, fill_value=0)
    return {
        "unit": binned.unit,
        "periods": [binned.label(p) for p in table.index],
        "counts": {int(t): table[t].astype(int).tolist() for t in table.columns},
        "totals": table.sum(axis=1).astype(int).tolist(),
        "missing": binned.missing,
    }


def per_class(documents: pd.DataFrame, sizes: dict[int, int]) -> dict | None:
    """Documents per (topic, class): the most frequent classes and the largest topics."""
    if "class" not in documents:
        return None
    classes = class_values(documents["class"])
    if classes.nunique() < 2:
        return None
    names = classes.value_counts().index[:CLASS_COLUMNS].tolist()
    rows = sorted(sizes, key=lambda t: (t < 0, -sizes[t]))[:CLASS_ROWS]
    table = pd.crosstab(documents["topic"].to_numpy(), classes.to_numpy())
    table = table.reindex(index=rows, columns=names)
    table = table.fillna(0).astype(int)
    rows = sorted(rows, key=lambda t: (t < 0, t))
    table = table.loc[rows]
    return {
        "classes": [str(n) for n in names],
        "topics": [int(t) for t in rows],
        "z": table.to_numpy().tolist(),
        "class_totals": [int(v) for v in classes.value_counts().iloc[: len(names)]],
        "total_classes": int(classes.nunique()),
        "total_topics": len(sizes),
    }
