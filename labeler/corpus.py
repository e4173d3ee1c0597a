"""Load a corpus from CSV/TSV, JSON Lines, JSON, Parquet, plain text or a folder of files.

Every failure a user can cause (missing file, wrong column, bad encoding, nothing to model) is a
`LabelerError` with one sentence that says what to change.
"""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from labeler.defaults import SEED
from labeler.errors import LabelerError

TEXT_SUFFIXES = {".txt", ".md", ".markdown", ".rst"}
TABLE_FORMATS = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "json",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".txt": "lines",
    ".text": "lines",
}


@dataclass
class Corpus:
    """Documents ready to model, plus what was dropped on the way and the optional metadata."""

    texts: list[str]
    doc_ids: list
    source: str
    timestamps: list | None = None
    classes: list | None = None
    stats: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.texts)

    def to_frame(self) -> pd.DataFrame:
        frame = pd.DataFrame({"doc_id": self.doc_ids, "text": self.texts})
        if self.timestamps is not None:
            frame["timestamp"] = self.timestamps
        if self.classes is not None:
            frame["class"] = self.classes
        return frame


def detect_format(path: Path) -> str:
    if path.is_dir():
        return "folder"
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
    if suffixes and suffixes[-1] in TABLE_FORMATS:
        return TABLE_FORMATS[suffixes[-1]]
    raise LabelerError(
        f"cannot tell the format of {path.name!r}: use .csv, .tsv, .jsonl(.gz), .json, .parquet, "
        ".txt (one document per line) or a folder of .txt/.md files"
    )


def _read_text(path: Path, encoding: str) -> str:
    raw = path.read_bytes()
    if path.suffix.lower() == ".gz":
        try:
            raw = gzip.decompress(raw)
        except OSError as exc:
            raise LabelerError(f"{path} is not a valid gzip file: {exc}") from exc
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError as exc:
        raise LabelerError(
            f"{path} is not valid {encoding}: byte 0x{raw[exc.start]:02x} at offset {exc.start}; "
            "re-encode the file or pass --encoding (e.g. --encoding latin-1)"
        ) from exc
    except LookupError as exc:
        raise LabelerError(f"unknown encoding {encoding!r}") from exc


def _read_table(path: Path, fmt: str, encoding: str) -> pd.DataFrame:
    import io

    if fmt == "parquet":
        try:
            return pd.read_parquet(path)
        except Exception as exc:  # noqa: BLE001 - pyarrow raises many types for a bad file
            raise LabelerError(f"cannot read Parquet file {path}: {exc}") from exc
    text = _read_text(path, encoding)
    if not text.strip():
        raise LabelerError(f"{path} is empty")
    if fmt in ("csv", "tsv"):
        try:
            return pd.read_csv(
                io.StringIO(text),
                sep="\t" if fmt == "tsv" else ",",
                dtype=str,
                keep_default_na=False,
            )
        except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
            raise LabelerError(f"cannot parse {path} as {fmt.upper()}: {exc}".strip()) from exc
    if fmt == "jsonl":
        records = []
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise LabelerError(f"{path} line {number} is not valid JSON: {exc.msg}") from exc
            if not isinstance(record, dict):
                record = {"text": record}
            records.append(record)
        return pd.DataFrame.from_records(records)
    if fmt == "json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise LabelerError(f"{path} is not valid JSON: {exc.msg} (line {exc.lineno})") from exc
        if isinstance(data, dict):
            data = next((v for v in data.values() if isinstance(v, list)), None)
        if not isinstance(data, list):
            raise LabelerError(f"{path} must hold a JSON list of documents or of objects")
        return pd.DataFrame.from_records([r if isinstance(r, dict) else {"text": r} for r in data])
    # plain text: one document per line
    return pd.DataFrame({"text": text.splitlines()})


def _read_folder(path: Path, encoding: str) -> pd.DataFrame:
    files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in TEXT_SUFFIXES)
    if not files:
        raise LabelerError(f"folder {path} holds no .txt or .md files")
    return pd.DataFrame(
        {
            "id": [str(p.relative_to(path)) for p in files],
            "text": [_read_text(p, encoding) for p in files],
        }
    )


def _column(frame: pd.DataFrame, name: str, option: str, path: Path) -> pd.Series:
    if name not in frame.columns:
        available = ", ".join(map(str, frame.columns[:20]))
        raise LabelerError(
            f"{option} {name!r} is not a column of {path.name} (columns: {available})"
        )
    return frame[name]


def _as_text(value) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    return value if isinstance(value, str) else str(value)


def load_corpus(
    path: str | Path,
    text_column: str | None = None,
    id_column: str | None = None,
    time_column: str | None = None,
    class_column: str | None = None,
    encoding: str = "utf-8",
    sample: int | None = None,
    seed: int = SEED,
) -> Corpus:
    """Read a corpus; drop (and count) empty documents; count, but keep, duplicates."""
    path = Path(path)
    if not path.exists():
        raise LabelerError(f"corpus not found: {path}")
    fmt = detect_format(path)
    if fmt != "folder" and path.stat().st_size == 0:
        raise LabelerError(f"{path} is empty")
    frame = _read_folder(path, encoding) if fmt == "folder" else _read_table(path, fmt, encoding)
    if frame.empty:
        raise LabelerError(f"{path} has no usable document: it holds no rows")

    if text_column is None:
        if "text" in frame.columns:
            text_column = "text"
        elif fmt in ("csv", "tsv") and len(frame.columns) == 1:
            text_column = str(frame.columns[0])
        else:
            available = ", ".join(map(str, frame.columns[:20]))
            raise LabelerError(
                f"{path.name} has no 'text' column: pass --text-column (columns: {available})"
            )
    texts = [_as_text(v) for v in _column(frame, text_column, "--text-column", path)]

    if id_column is not None:
        ids = list(_column(frame, id_column, "--id-column", path))
    elif fmt == "folder":
        ids = list(frame["id"])
    else:
        ids = list(range(len(frame)))
    timestamps = list(_column(frame, time_column, "--time-column", path)) if time_column else None
    classes = list(_column(frame, class_column, "--class-column", path)) if class_column else None

    keep = [i for i, t in enumerate(texts) if t.strip()]
    n_empty = len(texts) - len(keep)
    if not keep:
        raise LabelerError(f"{path} has no usable document: all {len(texts)} texts are empty")
    if sample is not None and sample < len(keep):
        rng = np.random.default_rng(seed)
        keep = sorted(rng.choice(keep, size=sample, replace=False).tolist())

    def pick(values):
        return None if values is None else [values[i] for i in keep]

    ids = pick(ids)
    series = pd.Series(ids)
    if series.duplicated().any():
        example = series[series.duplicated()].iloc[0]
        raise LabelerError(f"--id-column {id_column!r} has duplicate ids (e.g. {example!r})")
    ids = [v.item() if isinstance(v, np.generic) else v for v in ids]
    timestamps = pick(timestamps)
    if timestamps is not None:
        parsed = pd.to_datetime(pd.Series(timestamps), errors="coerce", utc=True, format="mixed")
        if parsed.isna().all():
            raise LabelerError(f"--time-column {time_column!r} holds no parsable date or time")
        timestamps = list(parsed)
    kept_texts = [texts[i] for i in keep]
    n_duplicates = len(kept_texts) - len(set(kept_texts))
    return Corpus(
        texts=kept_texts,
        doc_ids=ids,
        source=str(path),
        timestamps=timestamps,
        classes=None if classes is None else [_as_text(c) for c in pick(classes)],
        stats={
            "format": fmt,
            "rows": len(texts),
            "documents": len(kept_texts),
            "empty_dropped": n_empty,
            "duplicates": n_duplicates,
            "sampled": sample is not None and sample < len(texts) - n_empty,
            "text_column": text_column,
            "id_column": id_column,
            "time_column": time_column,
            "class_column": class_column,
        },
    )


@dataclass(frozen=True)
class CorpusSpec:
    """Where a corpus is and how to read it (`labeler run`'s corpus options)."""

    path: Path
    text_column: str | None = None
    id_column: str | None = None
    time_column: str | None = None
    class_column: str | None = None
    encoding: str = "utf-8"
    sample: int | None = None  # model a seeded random sample of this many documents

    def load(self, seed: int = SEED) -> Corpus:
        return load_corpus(
            self.path, self.text_column, self.id_column, self.time_column, self.class_column,
            self.encoding, self.sample, seed,
        )  # fmt: skip
