# ruff: noqa: E501 - the catalog is a table: one case per row reads better than wrapped code
"""The hostile-input catalog (issue 12): odd, damaged and hostile inputs, one row each, with the
outcome a user must get. Reading cases run in-process against `load_corpus` (milliseconds each);
CLI cases run the real command in-process with Click's runner and check the one-line error;
only a few cases fit topics end to end (tests/test_faults.py).

Each case: (id, build(tmp) -> path, load_corpus kwargs, expected). `expected` is either
`Error("regex")` (a LabelerError whose message matches) or `Ok(...)` with the exact texts/ids
and the dropped-row accounting.
"""

from __future__ import annotations

import bz2
import gzip
import io
import json
import lzma
import os
import socket
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.feather as feather
import pyarrow.parquet as pq
import pytest
from catalog_helpers import invoke, one_line_error

from labeler.corpus import load_corpus
from labeler.errors import LabelerError


@dataclass
class Ok:
    texts: list[str] | None = None
    ids: list | None = None
    dropped: dict = field(default_factory=dict)
    rows: int | None = None
    warning: str | None = None  # regex one of the warnings must match
    stats: dict = field(default_factory=dict)  # other stats entries that must match exactly


@dataclass
class Error:
    match: str


def write(name: str, data: str | bytes, encoding: str = "utf-8"):
    def build(tmp: Path) -> Path:
        path = tmp / name
        path.write_bytes(data if isinstance(data, bytes) else data.encode(encoding))
        return path

    return build


def parquet(name: str, table: pa.Table, fmt: str = "parquet"):
    def build(tmp: Path) -> Path:
        path = tmp / name
        if fmt == "parquet":
            pq.write_table(table, path)
        else:
            feather.write_feather(table, path)
        return path

    return build


def compressed(name: str, data: bytes, kind: str, cut: int | None = None):
    def build(tmp: Path) -> Path:
        if kind == "gz":
            packed = gzip.compress(data)
        elif kind == "bz2":
            packed = bz2.compress(data)
        elif kind == "xz":
            packed = lzma.compress(data)
        else:
            buffer = io.BytesIO()
            with zipfile.ZipFile(buffer, "w") as archive:
                for member, content in data:
                    archive.writestr(member, content)
            packed = buffer.getvalue()
        if cut:
            packed = packed[:cut]
        path = tmp / name
        path.write_bytes(packed)
        return path

    return build


def folder(files: dict[str, bytes | str | None], extra=None):
    """A folder of files (None: a FIFO); `extra(root)` adds links, sockets, permissions."""

    def build(tmp: Path) -> Path:
        root = tmp / "docs"
        root.mkdir()
        for name, content in files.items():
            path = root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            if content is None:
                os.mkfifo(path)
            else:
                path.write_bytes(content if isinstance(content, bytes) else content.encode())
        if extra:
            extra(root)
        return root

    return build


def symlink_loop(root: Path) -> None:
    (root / "a.txt").symlink_to(root / "b.txt")
    (root / "b.txt").symlink_to(root / "a.txt")


def broken_link(root: Path) -> None:
    (root / "gone.txt").symlink_to(root / "nowhere.txt")


def socket_file(root: Path) -> None:
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(root / "s.txt"))
    sock.close()


def loop_dir(root: Path) -> None:
    (root / "sub").mkdir()
    (root / "sub" / "up").symlink_to(root, target_is_directory=True)


def fifo_path(tmp: Path) -> Path:
    path = tmp / "pipe.csv"
    os.mkfifo(path)
    return path


def loop_path(tmp: Path) -> Path:
    (tmp / "x.csv").symlink_to(tmp / "y.csv")
    (tmp / "y.csv").symlink_to(tmp / "x.csv")
    return tmp / "x.csv"


def broken_path(tmp: Path) -> Path:
    (tmp / "b.csv").symlink_to(tmp / "missing.csv")
    return tmp / "b.csv"


def unreadable(root: Path) -> None:
    (root / "secret.txt").chmod(0)


HUGE = "word " * 400_000  # a 2 MB document on one line
CSV_RTL = "text\n\u05e9\u05dc\u05d5\u05dd \u05e2\u05d5\u05dc\u05dd\n\U0001f468\u200d\U0001f469\u200d\U0001f467 family\n"
HTML = '<script>alert("x")</script><img src=x onerror=alert(1)> card'
STRAY_TSV = "id\ttext\n" + "".join(
    f'{i}\t{"Quote: " if i % 2 else ""}"{i} stray quote opens here\n' for i in range(20)
)
FORMULAS = 'text\n=HYPERLINK("http://evil")\n+1+2\n-3\n@SUM(A1)\n'
LONG_NAME = "c" * 5000

# fmt: off
CASES = [
    # ---- delimited text: dialect, quoting, shape
    ("semicolon-csv", write("s.csv", 'text;label\n"I am still waiting on my card?";card\nWhy, oh why;fx\n'), {},
     Ok(["I am still waiting on my card?", "Why, oh why"], [0, 1], stats={"delimiter": ";"})),
    ("pipe-csv", write("p.csv", "text|label\nfirst, with comma|a\nsecond; with semicolon|b\n"), {},
     Ok(["first, with comma", "second; with semicolon"], stats={"delimiter": "|"})),
    ("tab-in-csv", write("t.csv", "text\tlabel\nhello, there\ta\nbye, now\tb\n"), {},
     Ok(["hello, there", "bye, now"], stats={"delimiter": "\t"})),
    ("delimiter-override", write("o.csv", "text;label\na,b;c\nd,e;f\n"), {"delimiter": ";"},
     Ok(["a,b", "d,e"])),
    ("delimiter-named-tab", write("n.csv", "text\tlabel\na\tb\nc\td\n"), {"delimiter": "tab"},
     Ok(["a", "c"])),
    ("delimiter-too-long", write("l.csv", "text\na\n"), {"delimiter": ";;"}, Error("one character")),
    ("tsv-stray-quotes", write("q.tsv", STRAY_TSV), {},
     Ok(rows=20, stats={"quoting": False}, ids=list(range(20)))),
    ("tsv-legit-quoted-tab", write("l.tsv", 'text\tid\n"has\ta tab"\t1\n"plain"\t2\n'), {},
     Ok(["has\ta tab", "plain"])),
    ("csv-quoted-newline", write("n.csv", 'text,id\n"line one\nline two",1\nsecond,2\n'), {},
     Ok(["line one\nline two", "second"], [0, 1])),
    ("csv-quoted-delimiter", write("d.csv", 'text,id\n"a, b, c",1\n"d, e",2\n'), {},
     Ok(["a, b, c", "d, e"])),
    ("csv-doubled-quotes", write("dq.csv", 'text\n"she said ""hi"""\n'), {}, Ok(['she said "hi"'])),
    ("csv-crlf", write("crlf.csv", "text,id\r\nfirst doc,1\r\nsecond doc,2\r\n"), {},
     Ok(["first doc", "second doc"])),
    ("csv-extra-fields", write("x.csv", "text,id\ngood row,1\nbad,row,3\nanother good,4\n"), {},
     Ok(["good row", "another good"], [0, 2], dropped={"more fields than the header": 1},
        warning="more fields than the header")),
    ("csv-short-row", write("s.csv", "id,text\n1,kept\n2\n"), {},
     Ok(["kept"], [0], dropped={"missing text": 1})),
    ("csv-blank-lines", write("b.csv", "text\nfirst\n\nthird\n"), {},
     Ok(["first", "third"], [0, 2], dropped={"blank line": 1})),
    ("csv-header-only", write("h.csv", "text,id\n"), {}, Error("no rows")),
    ("csv-duplicate-text-column", write("dup.csv", "text,text\na,b\n"), {}, Error("more than one column")),
    ("csv-duplicate-other-column", write("dup2.csv", "text,x,x\na,1,2\n"), {},
     Ok(["a"], warning="appears more than once")),
    ("csv-huge-line", write("huge.csv", "text\n" + HUGE + "\n"), {}, Ok([HUGE])),
    ("csv-nul-bytes", write("nul.csv", "text\nbefore\x00after\nclean\n"), {},
     Ok(["before\x00after", "clean"])),
    ("csv-formulas-read-as-text", write("f.csv", FORMULAS), {},
     Ok(['=HYPERLINK("http://evil")', "+1+2", "-3", "@SUM(A1)"])),
    ("csv-all-numbers", write("num.csv", "text\n1\n2\n3.5\n"), {},
     Ok(["1", "2", "3.5"], warning="only numbers")),
    ("csv-long-column-names", write("ln.csv", f"{LONG_NAME},b\nx,y\n"), {}, Error("no 'text' column.*…")),
    ("csv-missing-text-column", write("m.csv", "a,b\n1,2\n"), {"text_column": "body"},
     Error("'body' is not a column")),
    ("csv-one-unnamed-column", write("one.csv", "comments\nfine\ngood\n"), {}, Ok(["fine", "good"])),
    # ---- encodings and BOMs
    ("csv-utf8-bom", write("bom.csv", b"\xef\xbb\xbftext,id\ncaf\xc3\xa9,1\n"), {},
     Ok(["café"], stats={"encoding": "utf-8-sig"})),
    ("jsonl-utf8-bom", write("bom.jsonl", b'\xef\xbb\xbf{"text": "hello"}\n{"text": "again"}\n'), {},
     Ok(["hello", "again"])),
    ("txt-utf8-bom", write("bom.txt", b"\xef\xbb\xbffirst\nsecond\n"), {}, Ok(["first", "second"])),
    ("csv-utf16-bom", write("u16.csv", "text\nna\u00efve caf\u00e9\n", "utf-16"), {},
     Ok(["naïve café"], stats={"encoding": "utf-16"})),
    ("csv-cp1252-detected", write("w.csv", "text\nCaf\u00e9 cr\u00e8me br\u00fbl\u00e9e\n", "cp1252"), {},
     Ok(["Café crème brûlée"], warning="read as cp1252")),
    ("csv-encoding-given", write("g.csv", "text\nna\u00efve\n", "latin-1"), {"encoding": "latin-1"},
     Ok(["naïve"])),
    ("csv-utf8-forced-on-latin1", write("f.csv", "text\ncaf\u00e9\n", "latin-1"), {"encoding": "utf-8"},
     Error("not valid utf-8.*--encoding")),
    ("csv-unknown-encoding", write("u.csv", "text\na\n"), {"encoding": "klingon"}, Error("unknown encoding")),
    ("csv-mixed-encodings", write("mix.csv", "text\ncafé\n".encode() + "crème\n".encode("latin-1")), {},
     Error("mixes encodings.*line 3")),
    ("txt-binary", write("bin.txt", bytes(range(256)) * 8), {}, Error("binary|not text")),
    ("jsonl-utf16-no-bom", write("x.jsonl", '{"text": "hi"}\n'.encode("utf-16-le")), {},
     Error("binary")),
    # ---- line separators
    ("jsonl-raw-u2028", write("ls.jsonl", '{"text": "one\u2028same document"}\n{"text": "two"}\n'), {},
     Ok(["one\u2028same document", "two"], [0, 1])),
    ("txt-form-feed", write("ff.txt", "page one\x0cstill the same line\nnext\n"), {},
     Ok(["page one\x0cstill the same line", "next"], [0, 1])),
    ("txt-unicode-separators", write("us.txt", "a\u2028b\u2029c\x85d\x0be\x1cf\nnext\n"), {},
     Ok(["a\u2028b\u2029c\x85d\x0be\x1cf", "next"])),
    ("txt-crlf", write("crlf.txt", "one\r\ntwo\r\n"), {}, Ok(["one", "two"])),
    ("txt-old-mac-cr", write("cr.txt", "one\rtwo\r"), {}, Ok(["one", "two"])),
    ("txt-no-final-newline", write("nf.txt", "one\ntwo"), {}, Ok(["one", "two"], [0, 1])),
    # ---- empty and blank
    ("empty-file", write("e.csv", b""), {}, Error("is empty")),
    ("whitespace-file", write("w.txt", "  \n\t\n  "), {}, Error("is empty")),
    ("blank-rows-counted", write("b.txt", "doc one\n   \n\t\ndoc two\n"), {},
     Ok(["doc one", "doc two"], [0, 3], dropped={"empty": 2}, rows=4)),
    ("zero-width-rows", write("z.txt", "real text\n\u200b\u200b\n\ufeff\u2060\n"), {},
     Ok(["real text"], [0], dropped={"empty": 2})),
    ("all-rows-empty", write("a.csv", "text\n \n\t\n"), {}, Error("no usable document")),
    # ---- JSON shapes
    ("jsonl-missing-key", write("m.jsonl", '{"text": "a"}\n{"other": 1}\n{"text": null}\n'), {},
     Ok(["a"], [0], dropped={"missing text": 2})),
    ("jsonl-nested-text", write("n.jsonl", '{"text": {"body": "x"}}\n{"text": ["a"]}\n{"text": "ok"}\n'), {},
     Ok(["ok"], [2], dropped={"not text (an object or a list)": 2})),
    ("jsonl-number-and-bool-text", write("nb.jsonl", '{"text": 42}\n{"text": true}\n{"text": "w"}\n'), {},
     Ok(["42", "true", "w"])),
    ("jsonl-blank-lines-keep-ids", write("bl.jsonl", '{"text": "a"}\n\n{"text": "c"}\n'), {},
     Ok(["a", "c"], [0, 2], dropped={"blank line": 1})),
    ("jsonl-holds-json-array", write("arr.jsonl", json.dumps([{"text": "a"}, {"text": "b"}], indent=2)), {},
     Ok(["a", "b"])),
    ("json-holds-jsonl", write("l.json", '{"text": "a"}\n{"text": "b"}\n'), {}, Ok(["a", "b"])),
    ("json-dict-of-records", write("d.json", json.dumps({"data": [{"text": "a"}, "b"]})), {},
     Ok(["a", "b"])),
    ("json-scalar", write("s.json", '"just a string"'), {}, Error("JSON list")),
    ("jsonl-broken-line", write("b.jsonl", '{"text": "ok"}\n{"text": broken}\n'), {}, Error("line 2")),
    ("jsonl-truncated-last-line", write("t.jsonl", '{"text": "ok"}\n{"text": "cut off'), {},
     Error("line 2")),
    ("jsonl-rtl-emoji-zwj", write("r.jsonl", json.dumps({"text": CSV_RTL})), {}, Ok([CSV_RTL])),
    ("jsonl-html-script", write("h.jsonl", json.dumps({"text": HTML}) + "\n"), {}, Ok([HTML])),
    # ---- Arrow / Parquet
    ("parquet-binary-text", parquet("b.parquet", pa.table({"text": pa.array([b"I am still waiting", b"second"], pa.binary())})), {},
     Ok(["I am still waiting", "second"])),
    ("parquet-large-string", parquet("ls.parquet", pa.table({"text": pa.array(["a", "b"], pa.large_string())})), {},
     Ok(["a", "b"])),
    ("parquet-large-binary-bad-bytes", parquet("lb.parquet", pa.table({"text": pa.array([b"ok", b"\xff\xfe"], pa.large_binary())})), {},
     Ok(["ok"], [0], dropped={"undecodable bytes": 1})),
    ("parquet-dictionary", parquet("d.parquet", pa.table({"text": pa.array(["x", "y", "x"]).dictionary_encode()})), {},
     Ok(["x", "y", "x"], stats={"duplicates": 1})),
    ("parquet-nulls", parquet("n.parquet", pa.table({"text": pa.array(["a", None])})), {},
     Ok(["a"], dropped={"missing text": 1})),
    ("arrow-ipc", parquet("f.arrow", pa.table({"text": ["from arrow"]}), fmt="arrow"), {}, Ok(["from arrow"])),
    ("parquet-truncated", lambda tmp: _truncated_parquet(tmp), {}, Error("not a readable parquet")),
    ("parquet-int-ids", parquet("i.parquet", pa.table({"text": ["a", "b"], "id": [10, 11]})), {"id_column": "id"},
     Ok(["a", "b"], [10, 11])),
    # ---- compression
    ("gz-ok", compressed("c.csv.gz", b"text\ngzipped\n", "gz"), {}, Ok(["gzipped"])),
    ("gz-truncated", compressed("c.jsonl.gz", b'{"text": "x"}\n' * 500, "gz", cut=40), {},
     Error("damaged or truncated gzip")),
    ("bz2-truncated", compressed("c.csv.bz2", b"text\n" + b"y\n" * 5000, "bz2", cut=30), {},
     Error("damaged or truncated bzip2")),
    ("xz-ok", compressed("c.txt.xz", b"one\ntwo\n", "xz"), {}, Ok(["one", "two"])),
    ("xz-truncated", compressed("c.txt.xz", b"one\ntwo\n" * 100, "xz", cut=30), {}, Error("truncated xz")),
    ("zip-one-file", compressed("c.zip", [("inner/data.csv", "text\nzipped\n")], "zip"), {}, Ok(["zipped"])),
    ("zip-two-files", compressed("c.zip", [("a.csv", "text\n1\n"), ("b.csv", "text\n2\n")], "zip"), {},
     Error("holds 2 files")),
    ("zip-damaged", compressed("c.zip", [("a.csv", "text\n" + "x\n" * 100)], "zip", cut=50), {},
     Error("damaged or truncated zip")),
    ("gz-is-not-gzip", write("fake.jsonl.gz", b'{"text": "plain"}\n'), {}, Error("gzip")),
    # ---- folders
    ("folder-mixed-types", folder({"a.txt": "alpha", "b.md": "# beta", "c.html": "<p>x</p>", "d.png": b"\x89PNG",
                                   ".hidden.txt": "h", "sub/e.rst": "epsilon"}), {},
     Ok(["alpha", "# beta", "epsilon"], ["a.txt", "b.md", "sub/e.rst"],
        stats={"files_skipped": {"hidden file": 1, "other file type": 2}})),
    ("folder-binary-txt", folder({"a.txt": "fine", "b.txt": bytes(range(256)) * 4}), {},
     Ok(["fine"], ["a.txt"], dropped={"not text (binary or unknown encoding)": 1})),
    ("folder-empty-file", folder({"a.txt": "fine", "b.txt": ""}), {}, Ok(["fine"], dropped={"empty": 1})),
    ("folder-symlink-loop", folder({"ok.txt": "fine"}, symlink_loop), {},
     Ok(["fine"], ["ok.txt"], dropped={"symlink loop": 2})),
    ("folder-broken-symlink", folder({"ok.txt": "fine"}, broken_link), {},
     Ok(["fine"], dropped={"broken symlink": 1})),
    ("folder-fifo-not-read", folder({"ok.txt": "fine", "pipe.txt": None}), {},
     Ok(["fine"], dropped={"not a regular file": 1})),
    ("folder-socket", folder({"ok.txt": "fine"}, socket_file), {},
     Ok(["fine"], dropped={"not a regular file": 1})),
    ("folder-dir-symlink-loop", folder({"ok.txt": "fine"}, loop_dir), {},
     Ok(["fine"], stats={"files_skipped": {"symlinked folder (not followed)": 1}})),
    ("folder-unreadable-file", folder({"ok.txt": "fine", "secret.txt": "x"}, unreadable), {},
     Ok(["fine"], dropped={"unreadable (permission denied)": 1})),
    ("folder-mixed-encodings", folder({"a.txt": "caf\u00e9 cr\u00e8me", "b.txt": "Caf\u00e9 cr\u00e8me br\u00fbl\u00e9e".encode("cp1252")}), {},
     Ok(["café crème", "Café crème brûlée"], warning="read as cp1252")),
    ("folder-empty", folder({}), {}, Error("holds no .txt or .md")),
    ("folder-only-other-types", folder({"a.pdf": b"%PDF", "b.docx": b"PK"}), {}, Error("2 other file type")),
    # ---- the corpus path itself
    ("path-missing", lambda tmp: tmp / "nope.csv", {}, Error("corpus not found")),
    ("path-fifo", fifo_path, {}, Error("not a regular file")),
    ("path-symlink-loop", loop_path, {}, Error("symlink|cannot open")),
    ("path-broken-symlink", broken_path, {}, Error("broken symlink")),
    ("path-unknown-extension", write("data.xlsx", b"PK\x03\x04"), {}, Error("cannot tell the format")),
    # ---- ids, metadata, sampling
    ("ids-are-file-rows-after-drops", write("i.csv", "text\na\n\nb\n \nc\n"), {},
     Ok(["a", "b", "c"], [0, 2, 4], dropped={"blank line": 1, "empty": 1}, rows=5)),
    ("id-column-duplicates", write("d.csv", "text,id\nx,1\ny,1\n"), {"id_column": "id"}, Error("duplicate ids")),
    ("id-column-empty", write("e.csv", "text,id\nx,1\ny,\n"), {"id_column": "id"}, Error("empty in 1 rows")),
    ("time-column-unparsable", write("t.csv", "text,t\nx,never\ny,soon\n"), {"time_column": "t"},
     Error("no parsable date")),
    ("time-column-year-9999", write("t9.csv", "text,t\nx,2020-01-01\ny,9999-12-31\n"), {"time_column": "t"},
     Error(r"9999-12-31 \(row 2\) is outside the dates")),
    ("time-column-year-1", write("t1.csv", "text,t\nx,0001-01-01\ny,2020-01-01\n"), {"time_column": "t"},
     Error(r"0001-01-01 \(row 1\) is outside")),
    ("time-column-in-range", write("t2.csv", "text,t\nx,1700-01-01\ny,2200-06-01\n"), {"time_column": "t"},
     Ok(["x", "y"])),
    # ---- a folder names what it passes over
    ("folder-hidden-file-named", folder({"a.txt": "kept", ".env.txt": "secret"}), {},
     Ok(["kept"], ["a.txt"], warning=r"not read: 1 hidden file \(\.env\.txt\)")),
    ("folder-hidden-folder-skipped", folder({"a.txt": "kept", ".git/notes.txt": "not mine"}), {},
     Ok(["kept"], ["a.txt"], warning=r"1 hidden folder \(\.git\)")),
    ("folder-other-types-named", folder({"a.txt": "kept", "b.pdf": "x", "c.docx": "y", "d.csv": "z", "e.py": "w"}), {},
     Ok(["kept"], warning=r"4 other file type \(b\.pdf, c\.docx, d\.csv, …\)")),
    # ---- one column: spreadsheets quote a cell holding a newline or a quote
    ("one-column-quoted-empty-cell", write("q1.csv", 'text\n""\nplain\n'), {},
     Ok(["plain"], [1], dropped={"empty": 1})),
    ("one-column-quoted-two-lines", write("q2.csv", 'text\n"two\nlines"\nnext\n'), {},
     Ok(["two\nlines", "next"], [0, 1])),
    ("one-column-doubled-quotes", write("q3.csv", 'text\n"say ""hi"""\n'), {}, Ok(['say "hi"'])),
    ("one-column-own-quotes-kept", write("q4.csv", 'text\n"start" then more\nHe said "hi\n'), {},
     Ok(['"start" then more', 'He said "hi'])),
    ("one-column-quoted-comma", write("q5.csv", 'text\n"a, b"\n"c"\n'), {}, Ok(["a, b", "c"])),
    ("sample-keeps-file-ids", write("s.txt", "\n".join(f"doc {i}" if i % 3 else "" for i in range(30))), {"sample": 5},
     Ok(rows=30, dropped={"empty": 10}, stats={"documents": 5, "sampled_out": 15})),
]
# fmt: on


def _truncated_parquet(tmp: Path) -> Path:
    path = tmp / "t.parquet"
    pq.write_table(pa.table({"text": ["x" * 100] * 100}), path)
    path.write_bytes(path.read_bytes()[:200])
    return path


def _is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_reading_catalog(tmp_path, caplog, case):
    name, build, kwargs, expected = case
    if name == "folder-unreadable-file" and _is_root():
        pytest.skip("root reads files without read permission")
    path = build(tmp_path)
    if isinstance(expected, Error):
        with pytest.raises(LabelerError, match=expected.match) as info:
            load_corpus(path, **kwargs)
        assert "\n" not in str(info.value)
        return
    with caplog.at_level("WARNING", logger="labeler"):
        corpus = load_corpus(path, **kwargs)
    stats = corpus.stats
    if expected.texts is not None:
        assert corpus.texts == expected.texts
    if expected.ids is not None:
        assert corpus.doc_ids == expected.ids
    assert stats["dropped"] == expected.dropped
    # Every row is a document or dropped with a reason (or left out by --sample).
    assert (
        stats["rows"] == stats["documents"] + sum(stats["dropped"].values()) + stats["sampled_out"]
    )
    if expected.rows is not None:
        assert stats["rows"] == expected.rows
    for key, value in expected.stats.items():
        assert stats[key] == value, key
    if expected.warning:
        assert any(__import__("re").search(expected.warning, w) for w in stats["warnings"])
    assert len(set(map(str, corpus.doc_ids))) == len(corpus.doc_ids)


def test_catalog_is_large_enough():
    assert len(CASES) >= 60


# ------------------------------------------------------------------------ the CLI, one line each
def _file_under_file(tmp: Path) -> list:
    (tmp / "afile").write_text("x")
    return ["--out", tmp / "afile" / "run"]


def _cache_is_a_file(tmp: Path) -> list:
    (tmp / "cachefile").write_text("x")
    return ["--cache-dir", tmp / "cachefile"]


# (id, corpus bytes, file name, extra args builder, substrings of the one error line)
CLI_CASES = [
    ("escape-in-column-name", b"\x1b[31mred\x1b[0m,b\nx,y\n", "e.csv", None, ["\\x1b[31mred"]),
    ("newline-in-column-name", b'"two\nlines",b\nx,y\n', "n.csv", None, ["two\\nlines"]),
    ("bidi-override-in-column", "\u202egnp.exe,b\nx,y\n".encode(), "b.csv", None, ["\\u202e"]),
    ("truncated-gz", gzip.compress(b'{"text": "x"}\n' * 200)[:30], "t.jsonl.gz", None, ["truncated gzip"]),
    ("out-under-a-file", b"text\na\n", "o.csv", _file_under_file, ["is a file, not a folder"]),
    ("cache-dir-is-a-file", b"text\n" + b"document about cards\n" * 30, "c.csv", _cache_is_a_file,
     ["cachefile is a file"]),
    ("bad-encoding-name", b"text\na\n", "x.csv", lambda tmp: ["--encoding", "nope"], ["unknown encoding"]),
    ("bad-delimiter", b"text\na\n", "x.csv", lambda tmp: ["--delimiter", "ab"], ["one character"]),
    ("escape-in-path", b"text\na\n", "\x1b]0;pwn\x07.xlsx", None, ["\\x1b]0;pwn\\x07"]),
]  # fmt: skip


@pytest.mark.parametrize("case", CLI_CASES, ids=[c[0] for c in CLI_CASES])
def test_cli_catalog(tmp_path, case):
    name, content, filename, extra, needles = case
    corpus = tmp_path / filename
    corpus.write_bytes(content)
    args = extra(tmp_path) if extra else ["--out", tmp_path / "out"]
    one_line_error(invoke("run", corpus, "--llm", "none", *args), *needles)


def _damage(kind: str, run: Path) -> None:
    if kind == "missing-documents":
        (run / "documents.parquet").unlink()
    elif kind == "truncated-run-json":
        (run / "run.json").write_bytes((run / "run.json").read_bytes()[:20])
    elif kind == "damaged-sqlite":
        (run / "run.sqlite").write_bytes(b"this is not a database" * 100)
    elif kind == "wrong-shape-topics":
        (run / "topics.json").write_text('{"topics": "none"}')
    elif kind == "topics-records-wrong":
        (run / "topics.json").write_text('[{"topic": "x"}]')
    elif kind == "damaged-embeddings":
        (run / "embeddings.npy").write_bytes(b"\x93NUMPY garbage")
    elif kind == "damaged-parquet":
        (run / "documents.parquet").write_bytes(b"PAR1 not really")


# (damage, command, None for success or [substrings of the error line])
RUN_CASES = [
    ("missing-documents", "report", ["documents.parquet is missing", "still works: `labeler labels`"]),
    ("missing-documents", "export", ["documents.parquet is missing"]),
    ("missing-documents", "labels", None),
    ("missing-documents", "relabel", ["documents.parquet is missing", "`labeler relabel` needs it"]),
    ("missing-documents", "review", ["documents.parquet is missing", "`labeler review` needs it"]),
    ("truncated-run-json", "report", ["run.json is damaged"]),
    ("truncated-run-json", "export", ["run.json is damaged"]),
    ("truncated-run-json", "labels", ["run.json is damaged"]),
    ("truncated-run-json", "relabel", ["run.json is damaged"]),
    ("truncated-run-json", "review", ["run.json is damaged"]),
    ("damaged-sqlite", "report", None),
    ("damaged-sqlite", "export", None),
    ("damaged-sqlite", "labels", ["run.sqlite is damaged", "still works: `labeler report`, `labeler export`"]),
    ("damaged-sqlite", "relabel", ["run.sqlite is damaged"]),
    ("damaged-sqlite", "review", ["run.sqlite is damaged"]),
    ("wrong-shape-topics", "report", ["topics.json has the wrong shape", "still works: `labeler labels`"]),
    ("wrong-shape-topics", "export", ["topics.json has the wrong shape"]),
    ("wrong-shape-topics", "labels", None),
    ("wrong-shape-topics", "relabel", ["topics.json has the wrong shape"]),
    ("wrong-shape-topics", "review", ["topics.json has the wrong shape"]),
    ("topics-records-wrong", "report", ["topics.json has the wrong shape"]),
    ("damaged-embeddings", "report", None),
    ("damaged-embeddings", "relabel", ["embeddings.npy is damaged"]),
    ("damaged-parquet", "export", ["documents.parquet is damaged"]),
]  # fmt: skip


@pytest.fixture
def run_copy(banking_run, tmp_path) -> Path:
    import shutil

    target = tmp_path / "run"
    shutil.copytree(banking_run, target, ignore=shutil.ignore_patterns("report.*", "export"))
    return target


@pytest.mark.parametrize("case", RUN_CASES, ids=[f"{c[0]}-{c[1]}" for c in RUN_CASES])
def test_damaged_run_folder_catalog(run_copy, tmp_path, case):
    kind, command, needles = case
    _damage(kind, run_copy)
    args = {
        "report": ["report", run_copy, "--out", tmp_path / "shared"],
        "export": ["export", run_copy, "--out", tmp_path / "tables"],
        "labels": ["labels", run_copy],
        "relabel": ["relabel", run_copy, "--llm", "small"],
        "review": ["review", run_copy, "--port", "0", "--llm", "none"],
    }[command]
    result = invoke(*args)
    if needles is None:
        assert result.exit_code == 0, result.output
    else:
        one_line_error(result, *needles)
