"""`labeler eval`: the trust figures of one run, optionally against a ground-truth column.

The figures are computed by `labeler.views.metrics` (shared with benchmarks/labels_quality.py); this
module gathers a run's inputs for them, joins a corpus column on the document ids, and saves the
result beside the run (evaluation.json) so the report's overview can show it. The saved figures
carry a digest of the labels they judged: after a relabel the report drops them instead of
showing figures about labels that are gone.
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path

import numpy as np
import pandas as pd

from labeler.errors import LabelerError, printable
from labeler.run.folder import Run, as_run
from labeler.views import metrics as ev

log = logging.getLogger("labeler")

EVALUATION = "evaluation.json"

# (key, title, kind) in table order; kind picks the number format.
FIGURES = [
    ("documents", "documents", "int"),
    ("topics", "topics", "int"),
    ("outlier_share", "outlier share", "pct"),
    ("largest_topic_share", "largest topic's share", "pct"),
    ("npmi", "keyword coherence (NPMI, top 10)", "float"),
    ("diversity", "keyword diversity (top 25)", "float"),
    ("label_fit_own", "label to own documents (cosine)", "float"),
    ("label_fit_other", "label to nearest other topic (cosine)", "float"),
    ("label_fit_share", "labels nearest their own topic", "pct"),
    ("duplicate_labels", "duplicate labels", "int"),
    ("unsupported_claims", "unsupported claims", "int"),
    ("topics_with_unsupported_claims", "topics with unsupported claims", "int"),
    ("ground_truth", "ground truth", "text"),
    ("ari", "ARI", "float"),
    ("nmi", "NMI", "float"),
    ("purity", "purity", "pct"),
    ("label_match_topics", "label names majority category (topics)", "pct"),
    ("label_match_documents", "label names majority category (documents)", "pct"),
    ("reconstruct_accuracy", "held-out documents sorted back to their topic by label", "pct"),
    ("reconstruct_none_share", "held-out documents that fit no label", "pct"),
    ("reconstruct_shortlist_recall", "their own topic among the labels shown", "pct"),
    ("reconstruct_embedding_accuracy", "sorted by the nearest label alone (no LLM)", "pct"),
    ("reconstruct_documents", "held-out documents asked", "int"),
]
GROUND_TRUTH = ("ground_truth", "ari", "nmi", "purity", "label_match_topics",
                "label_match_documents")  # fmt: skip
RECONSTRUCTION = ("reconstruct_accuracy", "reconstruct_none_share", "reconstruct_documents",
                  "reconstruct_shortlist_recall", "reconstruct_embedding_accuracy")  # fmt: skip


def labels_digest(topics: list[dict]) -> str:
    text = json.dumps([[t["topic"], t["label"], t.get("summary")] for t in topics])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def read_label_names(path: Path | None) -> dict[str, str]:
    """Raw category value → readable name, from JSON ({"raw": "name"}) or a two-column CSV/TSV."""
    if path is None:
        return {}
    path = Path(path)
    if not path.is_file():
        raise LabelerError(f"--label-names file not found: {path}")
    try:
        if path.suffix.lower() == ".json":
            data = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(data, dict):
                raise ValueError("expected a JSON object of raw value → readable name")
            return {str(k): str(v) for k, v in data.items()}
        sep = "\t" if path.suffix.lower() in (".tsv", ".tab") else ","
        frame = pd.read_csv(path, sep=sep, dtype=str, header=None, keep_default_na=False)
        if frame.shape[1] < 2:
            raise ValueError("expected two columns: raw value, readable name")
        return dict(zip(frame[0], frame[1]))
    except (ValueError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise LabelerError(f"cannot read --label-names {path}: {exc}") from exc


def readable(value: str, names: dict[str, str]) -> str:
    """A category's name as the embedding model should read it: the given name, else the raw
    value with _ - / as spaces (card_arrival → card arrival)."""
    if value in names:
        return names[value]
    return " ".join(str(value).replace("_", " ").replace("-", " ").replace("/", " ").split())


def ground_truth(
    run: Run, documents: pd.DataFrame, config: dict, column: str, corpus: Path | None
) -> pd.Series:
    """The column's value per run document (joined on doc ids); the run's own `class` column
    when `column` is "class" and the run carried one."""
    if column == "class" and "class" in documents and corpus is None:
        return documents["class"].astype(str)
    from labeler.corpus import load_corpus

    recorded = config.get("corpus", {})
    source = Path(corpus) if corpus is not None else None
    if source is None:
        if not recorded.get("source"):
            raise LabelerError(f"{run.path} does not record its corpus: pass --corpus PATH")
        source = Path(recorded["source"])
    if not source.exists():
        raise LabelerError(
            f"corpus not found: {source} (the run was made from it; pass --corpus PATH "
            "if it has moved)"
        )
    stats = recorded.get("stats", {})
    try:
        table = load_corpus(
            source,
            text_column=stats.get("text_column"),
            id_column=stats.get("id_column"),
            class_column=column,
            encoding=recorded.get("encoding") or "utf-8",
        )
    except LabelerError as exc:  # the corpus reader names its own option
        raise LabelerError(str(exc).replace("--class-column", "--label-column")) from None
    values = {str(i): c for i, c in zip(table.doc_ids, table.classes)}
    joined = documents["doc_id"].astype(str).map(values)
    if joined.isna().all():
        raise LabelerError(
            f"no document id of {run.path} occurs in {source}: "
            "is it the corpus the run was made from?"
        )
    return joined


def evaluate_run(
    run: Run | Path,
    label_column: str | None = None,
    label_names: Path | None = None,
    corpus: Path | None = None,
    embedder=None,
    check_claims=None,
) -> dict:
    """All figures of `labeler eval` as one flat dict (None where a figure does not apply).

    `check_claims(label, summary, evidence) -> list[str]` finds unsupported claims; the default is
    `labeler.views.metrics.unsupported_claims` (the labeling step's own checker is passed in by the
    CLI: this layer may not import the steps).
    """
    check_claims = check_claims or ev.unsupported_claims
    from labeler.run.records import query_model
    from labeler.views import run_view

    run = as_run(run)
    names = read_label_names(label_names)
    config = run.config()
    documents = run.documents()
    topics = [t for t in run_view.topics(run) if not t.get("is_outlier")]
    doc_topics = documents["topic"].to_numpy()
    n_docs = len(documents)
    # The ground truth first: a wrong column or a missing corpus fails before any slow step.
    truth = ground_truth(run, documents, config, label_column, corpus) if label_column else None
    sizes = [int(t["size"]) for t in topics]
    keywords = [[w for w, _ in t.get("keywords", [])] for t in topics]
    texts = documents["text"].astype(str).tolist()
    figures: dict = {
        "run": run.path.name,  # not its local path: the figures travel with the run
        "documents": n_docs,
        "topics": len(topics),
        "outlier_share": float((doc_topics < 0).mean()) if n_docs else 0.0,
        "largest_topic_share": max(sizes) / n_docs if sizes and n_docs else 0.0,
        "npmi": ev.npmi_coherence(keywords, texts),
        "diversity": ev.keyword_diversity(keywords),
        "duplicate_labels": ev.duplicate_labels(t["label"] for t in topics),
    }
    by_topic = documents.groupby("topic")["text"].apply(list)
    claims = [
        check_claims(
            t["label"],
            t.get("summary"),
            ev.topic_evidence(t["topic"], by_topic.get(t["topic"], []), kw),
        )
        for t, kw in zip(topics, keywords)
    ]
    figures["unsupported_claims"] = sum(len(c) for c in claims)
    figures["topics_with_unsupported_claims"] = sum(bool(c) for c in claims)
    figures["unsupported"] = {
        str(t["topic"]): c for t, c in zip(topics, claims) if c
    }  # which claims, for the user to check

    label_vectors = None
    if topics:
        embedder = embedder or _embedder(query_model(config))
        if embedder is not None:
            label_vectors = np.asarray(embedder.embed([t["label"] for t in topics]))
    vectors = np.asarray(run.embeddings())
    fit = {"label_fit_own": None, "label_fit_other": None, "label_fit_share": None}
    if label_vectors is not None and label_vectors.shape[1] == vectors.shape[1]:
        fit = ev.label_fit(label_vectors, vectors, doc_topics, [t["topic"] for t in topics])
    figures.update(fit)

    figures.update(
        {"ground_truth": None, "ari": None, "nmi": None, "purity": None}
        | {"label_match_topics": None, "label_match_documents": None}
    )
    if truth is not None:
        # A blank cell is no ground truth: it would otherwise be one more category.
        known = (truth.notna() & truth.astype(str).str.strip().ne("")).to_numpy()
        classes = truth[known].astype(str).to_numpy()
        figures["ground_truth"] = label_column
        figures["ground_truth_coverage"] = float(known.mean()) if n_docs else 0.0
        found = len(set(classes))
        if found < 2:
            # With no category or one, purity and label match are 100% by construction: say so
            # and leave them out rather than print a figure that looks like success.
            why = "is empty" if found == 0 else f"holds one value ({printable(classes[0])!s})"
            warning = (
                f"ground truth column {printable(label_column)} {why}: agreement, purity and "
                "label match need at least two categories, so they are left out"
            )
            log.warning(warning)
            figures["ground_truth_warning"] = warning
            truth = None
    if truth is not None:
        figures.update(ev.cluster_agreement(doc_topics[known], classes))
        majority = ev.majority_classes(doc_topics[known], classes)
        judged = [(i, t) for i, t in enumerate(topics) if t["topic"] in majority]
        if judged and label_vectors is not None:
            categories = sorted(set(classes))
            cat_vectors = np.asarray(embedder.embed([readable(c, names) for c in categories]))
            index = {c: i for i, c in enumerate(categories)}
            hits = ev.label_matches(
                label_vectors[[i for i, _ in judged]],
                cat_vectors,
                [index[majority[t["topic"]][0]] for _, t in judged],
            )
            weights = np.array([t["size"] for _, t in judged], dtype=float)
            figures["label_match_topics"] = float(hits.mean())
            figures["label_match_documents"] = float((hits * weights).sum() / weights.sum())
    figures["labels_digest"] = labels_digest(topics)
    return figures


def _embedder(model: str | None):
    """The run's own embedder, rebuilt from what its config recorded (a spec or an embedder's
    key: both name the backend, so a run fitted on ONNX or static vectors is read the same way)."""
    if not model:
        return None
    from labeler.embedding import make_embedder
    from labeler.embedding.sbert import CachedEmbedder

    return CachedEmbedder(make_embedder(model))


def format_value(value, kind: str) -> str:
    if value is None:
        return "–"
    if kind == "pct":
        return f"{value:.1%}"
    if kind == "float":
        return f"{value:.3f}"
    if kind == "int":
        return f"{int(value):,}"
    return str(value)


def rows(figures: dict) -> list[tuple[str, str]]:
    """(title, formatted value) for the table; ground-truth rows only when a column was given."""
    out = []
    for key, title, kind in FIGURES:
        if figures.get("ground_truth") is None and key in GROUND_TRUTH:
            continue
        if figures.get("reconstruct_accuracy") is None and key in RECONSTRUCTION:
            continue
        out.append((title, format_value(figures.get(key), kind)))
    return out


def table(figures: dict) -> str:
    lines = [f"{title:<{_width(figures)}}  {value}" for title, value in rows(figures)]
    confused = figures.get("reconstruct_confused") or []
    if confused:
        lines.append("topics most often confused by their labels:")
        lines += [
            f"  {c['documents']:>3} documents  {c['topics'][0]} {printable(c['labels'][0])!s}"
            f"  ↔  {c['topics'][1]} {printable(c['labels'][1])!s}"
            for c in confused
        ]
    return "\n".join(lines)


def _width(figures: dict) -> int:
    return max(len(title) for title, _ in rows(figures))


def kept_reconstruction(run: Run | Path, figures: dict) -> dict:
    """An earlier --reconstruct's figures, kept by a plain `labeler eval` while they judge the
    labels the run has now."""
    path = as_run(run).path / EVALUATION
    try:
        before = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    except (OSError, ValueError):
        return {}
    if before.get("labels_digest") != figures.get("labels_digest"):
        return {}
    return {k: v for k, v in before.items() if k.startswith("reconstruct_")}


def save(run: Run | Path, figures: dict) -> None:
    """Write evaluation.json beside the run (the reports pick it up when re-rendered)."""
    from labeler.run.layout import write_json

    write_json(as_run(run).path / EVALUATION, figures)


def current(run: Run | Path, topics: list[dict]) -> list[tuple[str, str]] | None:
    """The saved figures as table rows, if they judged the labels the run has now."""
    path = as_run(run).path / EVALUATION
    if not path.is_file():
        return None
    try:
        figures = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    real = [t for t in topics if not t.get("is_outlier")]
    if figures.get("labels_digest") != labels_digest(real):
        return None
    return rows(figures)
