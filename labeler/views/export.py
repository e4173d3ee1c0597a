"""`labeler export`: a run's topics, documents and keywords as flat tables (CSV, Parquet, JSON).

One table per kind, one row per topic / document / (topic, stage, word), scalar columns only, so
each file opens as-is in a spreadsheet, pandas or a database. Labels come from the same merged
view as the reports (current label, review status), so an export always matches the report.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from labeler.errors import LabelerError
from labeler.represent import STAGES as KEYWORD_STAGES
from labeler.run.folder import Run, as_run
from labeler.run.layout import atomic_write
from labeler.views import run_view

FORMATS = ("csv", "parquet", "json")
STAGES = tuple((s.key, s.name) for s in KEYWORD_STAGES)  # (topics.json key, `stage` column)


def topics_table(records: list[dict]) -> pd.DataFrame:
    """One row per topic: label and its provenance, review status, size, keywords per stage."""
    rows = []
    for r in records:
        position = r.get("map_position") or [None, None]
        row = {
            "topic": r["topic"],
            "label": r["label"],
            "summary": r.get("summary"),
            "label_source": r.get("label_source"),
            "label_model": r.get("label_model"),
            "label_prompt": r.get("label_prompt"),
            "label_version": r.get("label_version"),
            "label_flags": ", ".join(r.get("label_flags") or []),
            "status": r.get("status", "unreviewed"),
            "size": r["size"],
            "share": r["share"],
            "is_outlier": bool(r.get("is_outlier")),
            "map_x": position[0],
            "map_y": position[1],
        }
        for key, _ in STAGES:
            if key in r:
                row[key] = ", ".join(w for w, _ in r[key])
        rows.append(row)
    frame = pd.DataFrame(rows)
    frame["label_version"] = frame["label_version"].astype("Int64")
    return frame


def keywords_table(records: list[dict]) -> pd.DataFrame:
    """One row per (topic, stage, word), best first: the weights the other tables leave out."""
    rows = [
        {"topic": r["topic"], "stage": stage, "rank": rank, "word": word, "weight": weight}
        for r in records
        for key, stage in STAGES
        for rank, (word, weight) in enumerate(r.get(key, []), start=1)
    ]
    return pd.DataFrame(rows, columns=["topic", "stage", "rank", "word", "weight"])


def documents_table(run: Run | Path, records: list[dict], text: bool = True) -> pd.DataFrame:
    """One row per document with its topic's current label next to the topic number."""
    frame = as_run(run).documents()
    if not text:
        frame = frame.drop(columns=["text"], errors="ignore")
    labels = {r["topic"]: r["label"] for r in records}
    frame.insert(frame.columns.get_loc("topic") + 1, "topic_label", frame["topic"].map(labels))
    return _flat_mix(frame)


def _flat_mix(frame: pd.DataFrame) -> pd.DataFrame:
    """The mix's lists as scalar columns: mix_topic_1, mix_share_1, ... (empty past a
    document's last topic), where the run has a mix."""
    if not {"mix_topics", "mix_shares"} <= set(frame.columns):
        return frame
    topics, shares = frame.pop("mix_topics"), frame.pop("mix_shares")
    width = max((len(t) for t in topics), default=0)
    for k in range(width):
        frame[f"mix_topic_{k + 1}"] = pd.array(
            [int(t[k]) if len(t) > k else None for t in topics], dtype="Int64"
        )
        frame[f"mix_share_{k + 1}"] = [float(v[k]) if len(v) > k else None for v in shares]
    return frame


def _iso_times(frame: pd.DataFrame) -> pd.DataFrame:
    """Text formats get ISO 8601 timestamps (UTC, `Z`), not pandas' default rendering."""
    frame = frame.copy()
    for column in frame.columns:
        if pd.api.types.is_datetime64_any_dtype(frame[column]):
            stamps = frame[column]
            if stamps.dt.tz is not None:
                stamps = stamps.dt.tz_convert("UTC").dt.tz_localize(None)
            frame[column] = stamps.dt.strftime("%Y-%m-%dT%H:%M:%SZ").where(stamps.notna(), None)
    return frame


FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def neutralise_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """Text cells a spreadsheet would run as a formula (`=HYPERLINK(...)`, `+`, `-`, `@`, or a
    leading tab / carriage return) get a leading apostrophe, so they open as the text they are.

    Documents and reviewers' labels are untrusted: this is OWASP's advice for CSV injection.
    Numbers stay numbers (only text cells are changed); `--raw-csv` turns it off.
    """
    frame = frame.copy()
    for column in frame.columns:
        if frame[column].dtype == object or pd.api.types.is_string_dtype(frame[column]):
            frame[column] = frame[column].map(
                lambda v: "'" + v if isinstance(v, str) and v.startswith(FORMULA_START) else v
            )
    return frame


def write_table(frame: pd.DataFrame, path: Path, fmt: str, raw_csv: bool = False) -> Path:
    if fmt == "parquet":
        return atomic_write(path, lambda tmp: frame.to_parquet(tmp, index=False))
    frame = _iso_times(frame)
    if fmt == "csv":
        if not raw_csv:
            frame = neutralise_formulas(frame)
        return atomic_write(path, lambda tmp: frame.to_csv(tmp, index=False, encoding="utf-8"))
    return atomic_write(
        path,
        lambda tmp: frame.to_json(tmp, orient="records", force_ascii=False),
    )


def export_run(
    run: Run | Path, fmt: str, out_dir: Path, text: bool = True, raw_csv: bool = False
) -> list[Path]:
    """Write topics.<fmt>, documents.<fmt> and keywords.<fmt> into `out_dir`; CSV cells that a
    spreadsheet would run as formulas are neutralised unless `raw_csv`."""
    if fmt not in FORMATS:
        raise LabelerError(f"--format {fmt!r} is not one of {', '.join(FORMATS)}")
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise LabelerError(f"--out {out_dir} is a file, not a folder")
    out_dir.mkdir(parents=True, exist_ok=True)
    run = as_run(run)
    records = run_view.topics(run)
    tables = {
        "topics": topics_table(records),
        "documents": documents_table(run, records, text),
        "keywords": keywords_table(records),
    }
    return [
        write_table(frame, out_dir / f"{name}.{fmt}", fmt, raw_csv)
        for name, frame in tables.items()
    ]
