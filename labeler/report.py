"""Render `report.html` and `report.md` from a run directory with the Jinja2 templates.

Reports are always rendered from what is on disk, so `labeler run` and `labeler report` produce
the same files. The HTML environment autoescapes everything; document and label text reaches the
Markdown report only through the `md` filters, which neutralise HTML and table syntax.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

import numpy as np
import pandas as pd
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from labeler.resources import data_dir
from labeler.store import (
    CONFIG,
    DOCUMENTS,
    MANIFEST,
    TOPICS,
    current_labels,
    read_json,
    write_text,
)

PALETTE = [
    "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7",
    "#9c755f", "#1f77b4", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf",
    "#bcbd22", "#aec7e8", "#ffbb78", "#98df8a",
]  # fmt: skip
OUTLIER_COLOUR = "#c7c7c7"
MAP_POINTS = 5000
MAP_SIZE = 640


def md_cell(value, limit: int = 200) -> str:
    """Text safe inside a Markdown table cell: one line, no HTML, escaped pipes."""
    text = re.sub(r"\s+", " ", str(value if value is not None else "")).strip()
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return html.escape(text, quote=False).replace("|", "\\|")


def md_quote(value, limit: int = 600) -> str:
    """Text safe as a Markdown block quote: HTML escaped, Markdown specials defused."""
    text = md_cell(value, limit).replace("\\|", "|")
    text = re.sub(r"([\\`*_\[\]#])", r"\\\1", text)
    return text


def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(data_dir("templates"))),
        autoescape=select_autoescape(enabled_extensions=("html", "html.j2"), default=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["md_cell"] = md_cell
    env.filters["md_quote"] = md_quote
    env.filters["pct"] = lambda v: f"{100 * float(v):.1f}%"
    env.filters["thousands"] = lambda v: f"{int(v):,}"
    return env


def colour(topic: int) -> str:
    return OUTLIER_COLOUR if topic < 0 else PALETTE[topic % len(PALETTE)]


def _map(documents: pd.DataFrame, topics: list[dict], seed: int) -> dict:
    """Points scaled into an SVG box, sampled when the corpus is large (the sampling is stated)."""
    total = len(documents)
    frame = documents
    if total > MAP_POINTS:
        frame = documents.sample(n=MAP_POINTS, random_state=seed)
    xy = documents[["x", "y"]].to_numpy(dtype=float)
    low, high = xy.min(axis=0), xy.max(axis=0)
    span = np.where(high - low > 0, high - low, 1.0)
    pad = 16

    def scale(points: np.ndarray) -> np.ndarray:
        return pad + (points - low) / span * (MAP_SIZE - 2 * pad)

    pts = scale(frame[["x", "y"]].to_numpy(dtype=float))
    order = np.argsort(frame["topic"].to_numpy() >= 0, kind="stable")  # outliers drawn first
    points = [
        {"x": round(pts[i, 0], 1), "y": round(pts[i, 1], 1), "c": colour(int(t))}
        for i, t in ((i, frame["topic"].iloc[i]) for i in order)
    ]
    labels = []
    for record in topics:
        if record["is_outlier"]:
            continue
        pos = scale(np.array(record["map_position"], dtype=float))
        labels.append({"x": round(pos[0], 1), "y": round(pos[1], 1), "topic": record["topic"]})
    return {
        "points": points,
        "labels": labels,
        "size": MAP_SIZE,
        "shown": len(frame),
        "total": total,
    }


def report_context(run_dir: Path) -> dict:
    run_dir = Path(run_dir)
    manifest = read_json(run_dir / MANIFEST) if (run_dir / MANIFEST).exists() else {}
    config = read_json(run_dir / CONFIG)
    topics = read_json(run_dir / TOPICS)
    documents = pd.read_parquet(run_dir / DOCUMENTS, columns=["doc_id", "topic", "x", "y"])
    labels = current_labels(run_dir)
    for record in topics:
        current = labels.get(record["topic"])
        if current:
            record["label"] = current["label"]
            record["summary"] = current["summary"]
            record["label_source"] = current["source"]
        record["colour"] = colour(record["topic"])
    stages = [
        (key, title)
        for key, title in (
            ("keywords", "c-TF-IDF"),
            ("keywords_keybert", "KeyBERT-inspired"),
            ("keywords_mmr", "MMR"),
        )
        if topics and key in topics[0]
    ]
    real = [t for t in topics if not t["is_outlier"]]
    outliers = sum(t["size"] for t in topics if t["is_outlier"])
    n_docs = int(len(documents))
    corpus = config.get("corpus", {})
    return {
        "title": corpus.get("name") or run_dir.name,
        "manifest": manifest,
        "config": config,
        "corpus": corpus,
        "topics": topics,
        "real_topics": real,
        "stages": stages,
        "summary": {
            "documents": n_docs,
            "topics": len(real),
            "outliers": outliers,
            "outlier_share": outliers / n_docs if n_docs else 0.0,
        },
        "map": _map(documents, topics, int(config.get("seed", 42))),
    }


def render_reports(run_dir: Path) -> list[Path]:
    """(Re)write report.html and report.md inside the run directory."""
    run_dir = Path(run_dir)
    context = report_context(run_dir)
    env = environment()
    written = []
    for template, name in (("report.html.j2", "report.html"), ("report.md.j2", "report.md")):
        write_text(run_dir / name, env.get_template(template).render(**context))
        written.append(run_dir / name)
    return written
