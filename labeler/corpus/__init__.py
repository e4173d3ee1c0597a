"""Load a corpus from CSV/TSV, JSON Lines, JSON, Parquet, Arrow, plain text or a folder of files.

Every input row is accounted for: it becomes a document whose text is exactly the file's (after
decoding), or it is dropped and counted with its reason (`Corpus.stats["dropped"]`), which
`labeler run` prints and `config.json` keeps. Ids are stable: the row's position in the file (or
its path in a folder), never a position after dropping. Every failure a user can cause is a
`LabelerError` with one sentence that says what to change; reading itself lives in `readers`.
"""

from __future__ import annotations

import errno
import logging
import math
import os
import re
import stat
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from labeler.corpus.readers import (
    FOLDER_SUFFIXES,
    TABLE_FORMATS,
    Table,
    decode,
    decompress,
    detect_format,
    read_bytes,
    read_table,
    unzip,
)
from labeler.defaults import SEED
from labeler.errors import LabelerError, printable

log = logging.getLogger("labeler")

__all__ = ["Corpus", "TABLE_FORMATS", "detect_format", "load_corpus", "read_folder"]

NUMBER = re.compile(r"\s*[-+]?[\d.,]+(?:[eE][-+]?\d+)?\s*")


@dataclass
class Corpus:
    """Documents ready to model, plus what was dropped on the way and the optional metadata."""

    texts: list[str]
    doc_ids: list
    source: str
    timestamps: list | None = None
    classes: list | None = None
    stats: dict = field(default_factory=dict)
    # `--label-column`'s values (the given labels of a supervised run; "" where empty), kept
    # for the fit only: they are not a column of documents.parquet.
    labels: list | None = None
    images: list | None = None  # --image-column: an absolute path or None per document

    def __len__(self) -> int:
        return len(self.texts)

    def to_frame(self) -> pd.DataFrame:
        frame = pd.DataFrame({"doc_id": self.doc_ids, "text": self.texts})
        if self.timestamps is not None:
            frame["timestamp"] = self.timestamps
        if self.classes is not None:
            frame["class"] = self.classes
        if self.images is not None:
            frame["image"] = self.images
        return frame

    def accounting(self) -> str:
        """One line: rows read, documents kept, rows dropped by reason."""
        stats = self.stats
        line = f"read {stats['rows']:,} rows: {stats['documents']:,} documents"
        dropped = stats.get("dropped") or {}
        if dropped:
            reasons = ", ".join(f"{n:,} {reason}" for reason, n in dropped.items())
            line += f", {sum(dropped.values()):,} dropped ({reasons})"
        if stats.get("sampled_out"):
            line += f", {stats['sampled_out']:,} left out by --sample"
        if stats.get("duplicates"):
            line += f"; {stats['duplicates']:,} duplicate texts kept"
        skipped = stats.get("files_skipped") or {}
        if skipped:
            line += "; files skipped: " + ", ".join(f"{n:,} {r}" for r, n in skipped.items())
        return line


# ------------------------------------------------------------------------------ folders
def _skip_reason(exc: OSError) -> str:
    if exc.errno == errno.ELOOP:
        return "symlink loop"
    if exc.errno == errno.ENOENT:
        return "broken symlink"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "unreadable (permission denied)"
    return "unreadable"


def read_folder(path: Path, encoding: str | None) -> Table:
    """Every .txt/.md/.rst file under `path` (symlinked folders are not followed); files that
    cannot be read are dropped and counted by reason, never fatal, never silently."""
    texts: list = []
    ids: list = []
    dropped: Counter = Counter()
    skipped: Counter = Counter()
    guessed: Counter = Counter()

    named: dict[str, list[str]] = {}  # the first few files of each reason, for the warning

    def skip(counter: Counter, reason: str, where: Path) -> None:
        counter[reason] += 1
        names = named.setdefault(reason, [])
        if len(names) < 3:
            names.append(printable(where.relative_to(path).as_posix()))

    def unreadable_folder(exc: OSError) -> None:
        where = Path(exc.filename) if getattr(exc, "filename", None) else path
        skip(skipped, "unreadable folder", where if where != path else path / ".")

    for root, dirs, files in os.walk(path, onerror=unreadable_folder, followlinks=False):
        dirs.sort()
        for name in list(dirs):
            if os.path.islink(os.path.join(root, name)):
                skip(skipped, "symlinked folder (not followed)", Path(root) / name)
            elif name.startswith("."):  # .git, .venv, .ipynb_checkpoints: not the user's corpus
                skip(skipped, "hidden folder", Path(root) / name)
                dirs.remove(name)
        for name in sorted(files):
            file = Path(root) / name
            if name.startswith("."):
                skip(skipped, "hidden file", file)
                continue
            if file.suffix.lower() not in FOLDER_SUFFIXES:
                skip(skipped, "other file type", file)
                continue
            try:
                mode = file.stat().st_mode  # follows a symlink to a file
            except OSError as exc:
                skip(dropped, _skip_reason(exc), file)
                continue
            if not stat.S_ISREG(mode):  # a FIFO would block, a socket cannot be read
                skip(dropped, "not a regular file", file)
                continue
            try:
                raw = file.read_bytes()
            except OSError as exc:
                skip(dropped, _skip_reason(exc), file)
                continue
            try:
                text, used, warning = decode(raw, file, encoding)
            except LabelerError:
                skip(dropped, "not text (binary or unknown encoding)", file)
                continue
            if warning:
                guessed[used] += 1
            ids.append(file.relative_to(path).as_posix())
            texts.append(text)
    table = Table({"text": texts}, ids, dropped)
    table.info["files_skipped"] = dict(skipped)
    table.info["files_named"] = named
    passed_over = {**skipped, **dropped}
    if passed_over:
        parts = [
            f"{n} {reason} ({', '.join(named.get(reason, []))}{', …' if n > 3 else ''})"
            for reason, n in passed_over.items()
        ]
        table.warnings.append("not read: " + "; ".join(parts))
    for used, n in guessed.items():
        table.warnings.append(f"{n} files are not UTF-8 and were read as {used} (detected)")
    if not ids and not dropped:
        detail = ", ".join(f"{n} {r}" for r, n in skipped.items()) or "it is empty"
        raise LabelerError(f"folder {path} holds no .txt or .md files ({detail})")
    return table


def _read(path: Path, encoding: str | None, delimiter: str | None) -> tuple[str, Table]:
    fmt, compression = detect_format(path)
    if fmt == "folder":
        return fmt, read_folder(path, encoding)
    mode = path.stat().st_mode
    if not stat.S_ISREG(mode):
        raise LabelerError(f"{path} is not a regular file (a pipe, socket or device)")
    if path.stat().st_size == 0:
        raise LabelerError(f"{path} is empty")
    raw = read_bytes(path)
    if compression == "zip":
        member, raw = unzip(raw, path)
        fmt, compression = detect_format(path, member)
        if fmt == "zip":
            raise LabelerError(f"{path} holds another zip file: unzip it first")
    raw = decompress(raw, compression, path)
    if not raw:
        raise LabelerError(f"{path} is empty")
    return fmt, read_table(raw, fmt, path, encoding, delimiter)


# ------------------------------------------------------------------------------ values
def _blank(text: str) -> bool:
    """Empty, whitespace or invisible format characters only (zero-width spaces, BOMs)."""
    stripped = text.strip()
    if not stripped:
        return True
    if unicodedata.category(stripped[0]) not in ("Cf", "Cc"):
        return False
    return all(ch.isspace() or unicodedata.category(ch) in ("Cf", "Cc") for ch in stripped)


def as_text(value, encoding: str | None) -> tuple[str | None, str | None]:
    """(text, None), or (None, why this value is not a document)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None, "missing text"
    if isinstance(value, str):
        return (None, "empty") if _blank(value) else (value, None)
    if isinstance(value, (bytes, bytearray, memoryview)):
        try:
            text = bytes(value).decode(encoding or "utf-8-sig")
        except (UnicodeDecodeError, LookupError):
            return None, "undecodable bytes"
        return (None, "empty") if _blank(text) else (text, None)
    if isinstance(value, bool):
        return ("true" if value else "false"), None
    if isinstance(value, (int, float, np.integer, np.floating)):
        return str(value), None
    if isinstance(value, (dict, list, tuple)):
        return None, "not text (an object or a list)"
    return str(value), None


def _plain(value):
    return value.item() if isinstance(value, np.generic) else value


def _names(columns) -> str:
    names = [repr(c if len(c) <= 60 else c[:59] + "…") for c in list(columns)[:20]]
    more = f" and {len(columns) - 20} more" if len(columns) > 20 else ""
    return ", ".join(names) + more


def _column(table: Table, name: str, option: str, path: Path) -> list:
    if name in table.duplicate_columns:
        raise LabelerError(
            f"{option} {name!r} names more than one column of {path.name}: rename one of them"
        )
    if name not in table.columns:
        raise LabelerError(
            f"{option} {name!r} is not a column of {path.name} (columns: {_names(table.columns)})"
        )
    return table.columns[name]


def _timestamps(values: list, column: str, rows: list[int]):
    """The time column as UTC timestamps (unparsable values become NaT, as before). A date
    the report's timeline cannot hold (before 1678 or after 2261, e.g. the sentinel 9999-12-31)
    is refused with its row: dropping it silently would move documents out of the timeline."""
    series = pd.Series(values, dtype=object)
    try:
        parsed = pd.to_datetime(series, errors="coerce", utc=True, format="mixed")
        low, high = (pd.Timestamp(t, tz="UTC") for t in (pd.Timestamp.min, pd.Timestamp.max))
        bad = (parsed.notna() & ((parsed < low) | (parsed > high))).to_numpy()
    except (pd.errors.OutOfBoundsDatetime, OverflowError):
        bad = None
    if bad is None or bad.any():
        i = int(bad.argmax()) if bad is not None else _first_out_of_bounds(values)
        raise LabelerError(
            f"--time-column {printable(column)!r}: {printable(str(values[i])[:40])} (row "
            f"{rows[i] + 1}) is outside the dates labeler can place on a timeline "
            "(years 1678 to 2261): fix or clear it"
        )
    return parsed.astype("datetime64[ns, UTC]")


def _first_out_of_bounds(values: list) -> int:
    for i, value in enumerate(values):
        try:
            pd.Timestamp(value).as_unit("ns")
        except (pd.errors.OutOfBoundsDatetime, OverflowError):
            return i
        except (ValueError, TypeError):
            continue
    return 0


def load_corpus(
    path: str | Path,
    text_column: str | None = None,
    id_column: str | None = None,
    time_column: str | None = None,
    class_column: str | None = None,
    encoding: str | None = None,
    sample: int | None = None,
    seed: int = SEED,
    delimiter: str | None = None,
    label_column: str | None = None,
    image_column: str | None = None,
) -> Corpus:
    """Read a corpus; drop (and count, by reason) rows without text; count, but keep,
    duplicates. `encoding=None` detects it; `delimiter=None` detects it for delimited text.
    `image_column`: image paths, absolute or relative to the corpus file's folder."""
    path = Path(path)
    try:
        exists = path.exists()
    except OSError as exc:  # e.g. a symlink loop
        raise LabelerError(f"cannot open {path}: {exc.strerror}") from exc
    if not exists:
        if path.is_symlink():
            raise LabelerError(f"corpus {path} is a broken symlink")
        raise LabelerError(f"corpus not found: {path}")
    fmt, table = _read(path, encoding, delimiter)
    dropped: Counter = Counter(table.dropped)
    if len(table) == 0 and not dropped:
        raise LabelerError(f"{path} has no usable document: it holds no rows")

    if text_column is None:
        if "text" in table.columns:
            text_column = "text"
        elif fmt in ("csv", "tsv") and len(table.columns) == 1:
            text_column = next(iter(table.columns))
        else:
            raise LabelerError(
                f"{path.name} has no 'text' column: pass --text-column (columns: "
                f"{_names(table.columns)})"
            )
    values = _column(table, text_column, "--text-column", path)
    ids = list(_column(table, id_column, "--id-column", path)) if id_column else list(table.ids)
    times = _column(table, time_column, "--time-column", path) if time_column else None
    classes = _column(table, class_column, "--class-column", path) if class_column else None
    given = _column(table, label_column, "--label-column", path) if label_column else None
    pictures = _column(table, image_column, "--image-column", path) if image_column else None
    for name in table.duplicate_columns:
        table.warnings.append(f"column {name!r} appears more than once: the first one is read")

    texts: list[str] = []
    keep: list[int] = []
    for i, value in enumerate(values):
        text, reason = as_text(value, encoding)
        if reason:
            dropped[reason] += 1
        else:
            texts.append(text)
            keep.append(i)
    rows = len(table) + sum(table.dropped.values())
    if not keep:
        reasons = ", ".join(f"{n} {r}" for r, n in dropped.items())
        raise LabelerError(f"{path} has no usable document: all {rows} rows lack text ({reasons})")
    if sum(bool(NUMBER.fullmatch(t)) for t in texts) >= 0.9 * len(texts):
        table.warnings.append(
            f"--text-column {text_column!r} holds only numbers in most rows: is it the text? "
            f"(columns: {_names(table.columns)})"
        )
    n_kept = len(keep)
    if sample is not None and sample < len(keep):
        rng = np.random.default_rng(seed)
        chosen = sorted(rng.choice(len(keep), size=sample, replace=False).tolist())
        keep = [keep[i] for i in chosen]
        texts = [texts[i] for i in chosen]

    kept_ids = [_plain(ids[i]) for i in keep]
    if id_column is not None:
        missing = [i for i, v in zip(keep, kept_ids) if v is None or v == ""]
        if missing:
            raise LabelerError(f"--id-column {id_column!r} is empty in {len(missing)} rows")
        series = pd.Series([str(v) for v in kept_ids])
        if series.duplicated().any():
            example = series[series.duplicated()].iloc[0]
            raise LabelerError(f"--id-column {id_column!r} has duplicate ids (e.g. {example!r})")
    timestamps = None
    if times is not None:
        parsed = _timestamps([_plain(times[i]) for i in keep], time_column, keep)
        if parsed.isna().all():
            raise LabelerError(f"--time-column {time_column!r} holds no parsable date or time")
        timestamps = list(parsed)
    class_values = None
    if classes is not None:
        class_values = [as_text(classes[i], encoding)[0] or "" for i in keep]
    label_values = None
    if given is not None:
        label_values = [as_text(given[i], encoding)[0] or "" for i in keep]
    image_paths = None
    if pictures is not None:
        base = path if path.is_dir() else path.parent
        image_paths = [_image_path(pictures[i], base, encoding) for i in keep]
        if all(p is None for p in image_paths):
            raise LabelerError(f"--image-column {image_column!r} holds no image path")
    for warning in table.warnings:
        log.warning("%s", warning)
    return Corpus(
        labels=label_values,
        texts=texts,
        doc_ids=kept_ids,
        source=str(path),
        timestamps=timestamps,
        classes=class_values,
        images=image_paths,
        stats={
            "format": fmt,
            "rows": rows,
            "documents": len(texts),
            "dropped": dict(dropped),
            "empty_dropped": dropped.get("empty", 0),
            "duplicates": len(texts) - len(set(texts)),
            "sampled": len(texts) < n_kept,
            "sampled_out": n_kept - len(texts),
            "text_column": text_column,
            "id_column": id_column,
            "time_column": time_column,
            "class_column": class_column,
            **({"label_column": label_column} if label_column else {}),
            **({"image_column": image_column} if image_column else {}),
            **{k: v for k, v in table.info.items() if v not in (None, {}, [])},
            "warnings": list(table.warnings),
        },
    )


def _image_path(value, base: Path, encoding: str | None) -> str | None:
    """One --image-column cell as an absolute path (relative ones are from `base`), or None."""
    text = as_text(value, encoding)[0]
    if not text or not text.strip():
        return None
    found = Path(text.strip()).expanduser()
    return str(found if found.is_absolute() else (base / found).absolute())


@dataclass(frozen=True)
class CorpusSpec:
    """Where a corpus is and how to read it (`labeler run`'s corpus options)."""

    path: Path
    text_column: str | None = None
    id_column: str | None = None
    time_column: str | None = None
    class_column: str | None = None
    encoding: str | None = None  # None: detected (UTF-8 with or without BOM, else a guess)
    sample: int | None = None  # model a seeded random sample of this many documents
    delimiter: str | None = None  # CSV/TSV; None: detected from the data
    label_column: str | None = None  # the given labels of a supervised run (--label-column)
    image_column: str | None = None  # image paths, relative to the corpus file's folder
    title: str | None = None  # the reports' title (`--title`); None: from the file's name

    def load(self, seed: int = SEED) -> Corpus:
        return load_corpus(
            self.path, self.text_column, self.id_column, self.time_column, self.class_column,
            self.encoding, self.sample, seed, delimiter=self.delimiter,
            label_column=self.label_column,
            image_column=self.image_column,
        )  # fmt: skip
