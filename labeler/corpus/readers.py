"""Bytes on disk → rows of a table, faithfully: what the file holds, no more and no less.

Every reader keeps each row's position in the file (its id when no id column is given), counts
the rows it cannot use with a reason instead of silently merging or splitting them, and raises a
`LabelerError` in one sentence for a file it cannot read at all. Why each rule exists:

- **Compression** (.gz, .bz2, .xz, .zip): a truncated archive is a clear error, never a partial
  corpus.
- **Encodings**: UTF-8 (with or without a BOM) and UTF-16/32 with a BOM are read as they are; any
  other bytes are guessed with charset-normalizer and the guess is reported, or refused with a
  hint (`--encoding`). Files that mix UTF-8 with another encoding are refused: any single guess
  would garble part of them.
- **Lines**: only CR, LF and CRLF end a line. `str.splitlines` also splits on form feeds, U+2028
  and five more characters that occur inside real documents (and, raw, inside valid JSON strings).
- **Delimited text**: the delimiter and the quoting are detected from the data (a semicolon CSV
  must not become one column; stray quotes in a TSV must not merge rows); `--delimiter` overrides.
"""

from __future__ import annotations

import bz2
import codecs
import csv
import gzip
import io
import json
import lzma
import re
import sys
import zipfile
import zlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from labeler.errors import LabelerError

COMPRESSION = {".gz": "gzip", ".bz2": "bzip2", ".xz": "xz", ".lzma": "xz", ".zip": "zip"}
TABLE_FORMATS = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".psv": "csv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "json",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".arrow": "arrow",
    ".feather": "arrow",
    ".ipc": "arrow",
    ".txt": "lines",
    ".text": "lines",
}
FOLDER_SUFFIXES = {".txt", ".md", ".markdown", ".rst", ".text"}
DELIMITERS = (",", ";", "\t", "|")
LINE_END = re.compile(r"\r\n|\n|\r")
# A UTF-8 multi-byte sequence: its presence next to invalid bytes means mixed encodings.
UTF8_MULTIBYTE = re.compile(
    rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}"
)
BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
DETECT_BYTES = 1 << 20  # charset detection looks at the first MiB

csv.field_size_limit(min(sys.maxsize, 2**31 - 1))  # one document may be a whole book


@dataclass
class Table:
    """Columns of a file's rows. `ids[i]` is row i's position in the file (0-based)."""

    columns: dict[str, list]
    ids: list[int]
    dropped: Counter = field(default_factory=Counter)  # rows not in `ids`, by reason
    info: dict = field(default_factory=dict)  # how it was read: encoding, delimiter, quoting
    warnings: list[str] = field(default_factory=list)
    duplicate_columns: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.ids)


def detect_format(path: Path, name: str | None = None) -> tuple[str, str | None]:
    """(format, compression) from the file name; a folder is the format `folder`."""
    if path.is_dir():
        return "folder", None
    suffixes = [s.lower() for s in Path(name or path.name).suffixes]
    compression = COMPRESSION.get(suffixes[-1]) if suffixes else None
    if compression:
        suffixes = suffixes[:-1]
    if compression == "zip":
        return "zip", "zip"
    if suffixes and suffixes[-1] in TABLE_FORMATS:
        return TABLE_FORMATS[suffixes[-1]], compression
    raise LabelerError(
        f"cannot tell the format of {path.name!r}: use .csv, .tsv, .jsonl, .json, .parquet, "
        ".arrow, .txt (one document per line), a folder of .txt/.md files, or one of those "
        "compressed (.gz, .bz2, .xz, .zip)"
    )


def read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except IsADirectoryError as exc:
        raise LabelerError(f"{path} is a folder where a file was expected") from exc
    except PermissionError as exc:
        raise LabelerError(f"cannot read {path}: permission denied") from exc
    except OSError as exc:
        raise LabelerError(f"cannot read {path}: {exc.strerror or exc}") from exc


def decompress(raw: bytes, compression: str | None, path: Path) -> bytes:
    """The archive's content; a damaged or truncated archive is a clear error."""
    if compression is None:
        return raw
    openers = {"gzip": gzip.decompress, "bzip2": bz2.decompress, "xz": lzma.decompress}
    try:
        return openers[compression](raw)
    except (OSError, EOFError, ValueError, zlib.error, lzma.LZMAError) as exc:
        raise LabelerError(
            f"{path} is a damaged or truncated {compression} file ({exc}): "
            "download or compress it again"
        ) from exc


def unzip(raw: bytes, path: Path) -> tuple[str, bytes]:
    """The one corpus file in a .zip archive: (member name, content)."""
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as archive:
            members = [
                m for m in archive.infolist()
                if not m.is_dir() and not Path(m.filename).name.startswith(".")
                and "__MACOSX" not in m.filename
            ]  # fmt: skip
            if len(members) != 1:
                raise LabelerError(
                    f"{path} holds {len(members)} files; labeler reads a .zip with exactly one "
                    "corpus file: unzip it and pass the file or folder"
                )
            return members[0].filename, archive.read(members[0])
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
        raise LabelerError(f"{path} is a damaged or truncated zip file ({exc})") from exc


def decode(raw: bytes, path: Path, encoding: str | None) -> tuple[str, str, str | None]:
    """(text, encoding used, warning or None). A BOM is never part of the text."""
    if encoding:
        try:
            codecs.lookup(encoding)
        except LookupError as exc:
            raise LabelerError(f"unknown encoding {encoding!r} (try utf-8, cp1252)") from exc
        if codecs.lookup(encoding).name == "utf-8" and raw.startswith(codecs.BOM_UTF8):
            encoding = "utf-8-sig"
        try:
            return raw.decode(encoding), encoding, None
        except UnicodeDecodeError as exc:
            raise LabelerError(
                f"{path} is not valid {encoding}: byte 0x{raw[exc.start]:02x} at offset "
                f"{exc.start}; pass the right --encoding (e.g. --encoding cp1252), or leave it out "
                "to detect it"
            ) from exc
    for bom, name in BOMS:
        if raw.startswith(bom):
            try:
                return raw.decode(name), name, None
            except UnicodeDecodeError as exc:
                raise LabelerError(
                    f"{path} starts with a {name} byte-order mark but is not valid {name} "
                    f"(offset {exc.start}): re-encode it or pass --encoding"
                ) from exc
    try:
        return raw.decode("utf-8"), "utf-8", None
    except UnicodeDecodeError as exc:
        bad = exc.start
    if UTF8_MULTIBYTE.search(raw):
        line = raw.count(b"\n", 0, bad) + 1
        raise LabelerError(
            f"{path} mixes encodings: it holds UTF-8 text, but line {line} (offset {bad}) is not "
            "UTF-8; convert that part to UTF-8, or pass --encoding to read it all one way"
        )
    from charset_normalizer import from_bytes

    best = _guess(from_bytes(raw[:DETECT_BYTES]))
    if best is None or (b"\x00" in raw[:8192] and not best.startswith("utf_")):
        raise LabelerError(
            f"{path} is not text in any encoding labeler recognises (not UTF-8: byte "
            f"0x{raw[bad]:02x} at offset {bad}; a binary file?): pass --encoding if it is text"
        )
    try:
        text = raw.decode(best)
    except UnicodeDecodeError as exc:
        raise LabelerError(
            f"{path} is not UTF-8 and no single encoding fits it (byte 0x{raw[exc.start]:02x} "
            f"at offset {exc.start}): pass --encoding"
        ) from exc
    name = codecs.lookup(best).name
    warning = f"{path.name} is not UTF-8: read as {name} (detected); pass --encoding if it is wrong"
    return text, name, warning


# Legacy encodings common enough to accept as a guess; an exotic guess (cp1006 for a few
# accented bytes) is more likely wrong than right, so it is refused with a hint instead.
LIKELY_ENCODINGS = (
    "cp1252", "iso8859_15", "latin_1", "cp1250", "iso8859_2", "cp1251", "koi8_r", "cp1253",
    "cp1254", "cp1255", "cp1256", "cp1257", "cp874", "cp932", "shift_jis", "euc_jp", "gb18030",
    "gbk", "gb2312", "big5", "cp949", "euc_kr", "utf_16", "utf_16_le", "utf_16_be", "mac_roman",
)  # fmt: skip


def _guess(matches) -> str | None:
    """charset-normalizer's best plausible guess. Among equally clean decodings Windows-1252
    wins: Excel on Windows writes it, and cp1250 would turn "crème" into "crčme"."""
    clean = [m for m in matches if m.encoding in LIKELY_ENCODINGS]
    if not clean:
        return None
    best = min(m.chaos for m in clean)
    near = [m.encoding for m in clean if m.chaos <= best + 0.02]
    return "cp1252" if "cp1252" in near else near[0]


def split_lines(text: str) -> list[str]:
    """Lines ended by CR, LF or CRLF only; a final line ending adds no empty line."""
    lines = LINE_END.split(text)
    if lines and lines[-1] == "":
        lines.pop()
    return lines


# ------------------------------------------------------------------------------ delimited text
def _rows(text: str, delimiter: str, quoted: bool) -> list[list[str]]:
    reader = csv.reader(
        io.StringIO(text, newline=""),
        delimiter=delimiter,
        quoting=csv.QUOTE_MINIMAL if quoted else csv.QUOTE_NONE,
        doublequote=True,
        strict=False,
    )
    return list(reader)


def _consistency(rows: list[list[str]]) -> tuple[float, int]:
    """(share of non-blank data rows as wide as the header, header width)."""
    if not rows:
        return 0.0, 0
    width = len(rows[0])
    body = [r for r in rows[1:] if r]
    if not body:
        return 1.0, width
    return sum(len(r) == width for r in body) / len(body), width


def sniff_delimiter(text: str, candidates: tuple[str, ...]) -> str:
    """The candidate that splits the first rows into a header-wide table most consistently."""
    if len(candidates) == 1:
        return candidates[0]
    sample = text[: 1 << 18]
    if len(sample) < len(text):
        sample = sample[: sample.rfind("\n") + 1] or sample
    best, best_key = candidates[0], None
    for rank, delimiter in enumerate(candidates):
        try:
            rows = _rows(sample, delimiter, quoted=True)[:2000]
        except csv.Error:
            continue
        share, width = _consistency(rows)
        # A header split into columns that most rows follow beats a one-column reading.
        key = (width > 1 and share >= 0.5, round(share, 3), width, -rank)
        if best_key is None or key > best_key:
            best, best_key = delimiter, key
    return best


def parse_delimited(text: str, delimiter: str) -> tuple[list[list[str]], bool]:
    """Rows and whether quotes were honoured: quoting wins unless honouring quotes merges rows
    that read as a consistent table without it (stray quotes in a TSV)."""
    quoted = _rows(text, delimiter, quoted=True)
    if '"' not in text:
        return quoted, True
    plain = _rows(text, delimiter, quoted=False)
    q_share, q_width = _consistency(quoted)
    p_share, p_width = _consistency(plain)
    if q_width == p_width == 1:
        # One column: every reading is "consistent", so width says nothing. Spreadsheets quote a
        # cell holding a newline or a quote; when every quote in the file reads as CSV quoting
        # (strict parse), honour it, else the quotes are the text's own.
        try:
            strict = list(
                csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
            )
        except csv.Error:
            return plain, False
        return strict, True
    if (p_share == 1.0 and len(plain) > len(quoted)) or p_share > q_share:
        return plain, False
    return quoted, True


DELIMITER_NAMES = {"tab": "\t", "\\t": "\t", "comma": ",", "semicolon": ";", "pipe": "|"}


def read_delimited(text: str, fmt: str, delimiter: str | None) -> Table:
    if delimiter is not None:
        delimiter = DELIMITER_NAMES.get(delimiter.lower(), delimiter)
        if len(delimiter) != 1:
            raise LabelerError(f"--delimiter must be one character (or tab), not {delimiter!r}")
        candidates: tuple[str, ...] = (delimiter,)
    else:
        candidates = ("\t",) if fmt == "tsv" else DELIMITERS
    chosen = sniff_delimiter(text, candidates)
    try:
        rows, quoted = parse_delimited(text, chosen)
    except csv.Error as exc:
        raise LabelerError(f"cannot parse as delimited text: {exc}") from exc
    if not rows:
        raise LabelerError("it holds no rows")
    header = rows[0]
    width = len(header)
    columns: dict[str, list] = {}
    positions: dict[str, int] = {}
    duplicates = []
    for index, name in enumerate(header):
        if name in positions:
            duplicates.append(name)
            continue
        positions[name] = index
        columns[name] = []
    table = Table(columns, [], info={"delimiter": chosen, "quoting": quoted})
    table.duplicate_columns = duplicates
    wide = []
    for number, row in enumerate(rows[1:]):
        if not row:
            table.dropped["blank line"] += 1
            continue
        if len(row) > width:
            table.dropped["more fields than the header"] += 1
            wide.append(number)
            continue
        table.ids.append(number)
        for name, index in positions.items():
            columns[name].append(row[index] if index < len(row) else None)
    if wide:
        shown = ", ".join(str(n) for n in wide[:5])
        table.warnings.append(
            f"{len(wide)} rows have more fields than the header and were dropped (rows {shown}"
            f"{', …' if len(wide) > 5 else ''}): check the delimiter (--delimiter) and quoting"
        )
    return table


# ------------------------------------------------------------------------------ JSON
def _records_table(records: list, ids: list[int], dropped: Counter | None = None) -> Table:
    columns: dict[str, list] = {}
    for position, record in enumerate(records):
        if not isinstance(record, dict):
            record = {"text": record}
        for key in record:
            if key not in columns:
                columns[key] = [None] * position
        for key, values in columns.items():
            values.append(record.get(key))
    return Table({str(k): v for k, v in columns.items()}, ids, dropped or Counter())


def read_jsonl(text: str) -> Table:
    stripped = text.lstrip()
    if stripped.startswith("["):  # a JSON array in a .jsonl file: read it as what it is
        try:
            return read_json(text)
        except LabelerError:
            pass
    records, ids, dropped = [], [], Counter()
    lines = text.split("\n")  # only LF: U+2028 and friends are valid inside JSON strings
    if lines and not lines[-1].strip():
        lines.pop()
    for number, line in enumerate(lines):
        if not line.strip():
            dropped["blank line"] += 1
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise LabelerError(
                f"line {number + 1} is not valid JSON ({exc.msg}, column {exc.colno}); "
                "fix or remove that line"
            ) from exc
        records.append(record)
        ids.append(number)
    return _records_table(records, ids, dropped)


def read_json(text: str) -> Table:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        if exc.msg == "Extra data":  # one object per line, named .json
            return read_jsonl(text)
        raise LabelerError(f"it is not valid JSON: {exc.msg} (line {exc.lineno})") from exc
    if isinstance(data, dict):
        data = next((v for v in data.values() if isinstance(v, list)), None)
    if not isinstance(data, list):
        raise LabelerError("it must hold a JSON list of documents or of objects")
    return _records_table(data, list(range(len(data))))


# ------------------------------------------------------------------------------ Arrow
def read_arrow(raw: bytes, fmt: str) -> Table:
    import pyarrow as pa
    import pyarrow.ipc as ipc
    import pyarrow.parquet as pq

    try:
        if fmt == "parquet":
            table = pq.read_table(pa.BufferReader(raw))
        else:
            try:
                table = ipc.open_file(pa.BufferReader(raw)).read_all()
            except pa.ArrowInvalid:
                table = ipc.open_stream(pa.BufferReader(raw)).read_all()
    except Exception as exc:  # noqa: BLE001 - pyarrow raises many types for a damaged file
        raise LabelerError(f"it is not a readable {fmt} file ({exc})") from exc
    names = [str(n) for n in table.column_names]
    duplicates = [n for n, c in Counter(names).items() if c > 1]
    columns = {}
    for index, name in enumerate(names):
        if name not in columns:
            columns[name] = table.column(index).to_pylist()
    result = Table(columns, list(range(table.num_rows)))
    result.duplicate_columns = duplicates
    return result


def read_table(raw: bytes, fmt: str, path: Path, encoding: str | None, delimiter: str | None):
    """A file's rows; errors name the file."""
    if fmt in ("parquet", "arrow"):
        try:
            return read_arrow(raw, fmt)
        except LabelerError as exc:
            raise LabelerError(f"{path}: {exc}") from exc
    nul = raw.count(b"\x00") > len(raw) // 4
    if nul and encoding is None and not any(raw.startswith(b) for b, _ in BOMS):
        raise LabelerError(f"{path} looks like a binary file, not text (--encoding if it is text)")
    text, used, warning = decode(raw, path, encoding)
    if not text.strip():
        raise LabelerError(f"{path} is empty (only whitespace)")
    try:
        if fmt in ("csv", "tsv"):
            table = read_delimited(text, fmt, delimiter)
        elif fmt == "jsonl":
            table = read_jsonl(text)
        elif fmt == "json":
            table = read_json(text)
        else:
            lines = split_lines(text)
            table = Table({"text": lines}, list(range(len(lines))))
    except LabelerError as exc:
        raise LabelerError(f"{path}: {exc}") from exc
    table.info["encoding"] = used
    if warning:
        table.warnings.append(warning)
    return table
