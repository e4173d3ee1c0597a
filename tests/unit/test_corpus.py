"""Corpus loading: every supported format, metadata columns, and one clear error per bad input."""

from __future__ import annotations

import gzip
import json

import pandas as pd
import pytest

from labeler.corpus import load_corpus
from labeler.errors import LabelerError

ROWS = [
    {"id": "a", "body": "The card has not arrived yet", "when": "2024-01-02", "cls": "card"},
    {"id": "b", "body": "   ", "when": "2024-01-03", "cls": "card"},
    {"id": "c", "body": "What is the exchange rate today?", "when": "2024-02-01", "cls": "fx"},
    {"id": "d", "body": "The card has not arrived yet", "when": "2024-03-01", "cls": "card"},
]


def frame() -> pd.DataFrame:
    return pd.DataFrame(ROWS)


@pytest.fixture
def files(tmp_path):
    out = {}
    frame().to_csv(tmp_path / "c.csv", index=False)
    out["csv"] = tmp_path / "c.csv"
    frame().to_csv(tmp_path / "c.tsv", index=False, sep="\t")
    out["tsv"] = tmp_path / "c.tsv"
    lines = "\n".join(json.dumps(r) for r in ROWS) + "\n"
    (tmp_path / "c.jsonl").write_text(lines)
    out["jsonl"] = tmp_path / "c.jsonl"
    with gzip.open(tmp_path / "c.jsonl.gz", "wt") as fh:
        fh.write(lines)
    out["jsonl.gz"] = tmp_path / "c.jsonl.gz"
    (tmp_path / "c.json").write_text(json.dumps(ROWS))
    out["json"] = tmp_path / "c.json"
    frame().to_parquet(tmp_path / "c.parquet", index=False)
    out["parquet"] = tmp_path / "c.parquet"
    return out


@pytest.mark.parametrize("fmt", ["csv", "tsv", "jsonl", "jsonl.gz", "json", "parquet"])
def test_tabular_formats_keep_ids_metadata_and_count_drops(files, fmt):
    corpus = load_corpus(
        files[fmt], text_column="body", id_column="id", time_column="when", class_column="cls"
    )
    assert corpus.texts == [ROWS[0]["body"], ROWS[2]["body"], ROWS[3]["body"]]
    assert corpus.doc_ids == ["a", "c", "d"]
    assert corpus.classes == ["card", "fx", "card"]
    assert [t.month for t in corpus.timestamps] == [1, 2, 3]
    assert corpus.stats["empty_dropped"] == 1
    assert corpus.stats["duplicates"] == 1


def test_row_numbers_are_ids_without_id_column(files):
    corpus = load_corpus(files["csv"], text_column="body")
    assert corpus.doc_ids == [0, 2, 3]  # rows of the file, so ids still point at the source


def test_jsonl_and_parquet_default_to_text_column(tmp_path):
    pd.DataFrame({"text": ["one doc", "two doc"], "x": [1, 2]}).to_parquet(tmp_path / "t.parquet")
    assert load_corpus(tmp_path / "t.parquet").texts == ["one doc", "two doc"]
    (tmp_path / "t.jsonl").write_text('{"text": "hello there"}\n{"text": "general kenobi"}\n')
    assert load_corpus(tmp_path / "t.jsonl").texts == ["hello there", "general kenobi"]


def test_plain_text_is_one_document_per_line(tmp_path):
    (tmp_path / "docs.txt").write_text("first line\n\nsecond line\n")
    corpus = load_corpus(tmp_path / "docs.txt")
    assert corpus.texts == ["first line", "second line"]
    assert corpus.stats["empty_dropped"] == 1


def test_folder_of_files_uses_relative_paths_as_ids(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "a.txt").write_text("alpha document")
    (tmp_path / "sub" / "b.md").write_text("# beta\nmarkdown document")
    (tmp_path / "ignored.bin").write_bytes(b"\x00\x01")
    corpus = load_corpus(tmp_path)
    assert corpus.doc_ids == ["a.txt", "sub/b.md"]
    assert corpus.texts[1].startswith("# beta")


def test_sample_is_seeded(tmp_path):
    (tmp_path / "n.txt").write_text("\n".join(f"document number {i}" for i in range(100)))
    a = load_corpus(tmp_path / "n.txt", sample=10, seed=1)
    b = load_corpus(tmp_path / "n.txt", sample=10, seed=1)
    assert a.texts == b.texts and len(a) == 10


@pytest.mark.parametrize(
    "setup, kwargs, message",
    [
        (lambda p: None, {}, "corpus not found"),
        (lambda p: p.write_bytes(b""), {}, "is empty"),
        (lambda p: p.write_text("a,b\n1,2\n"), {"text_column": "body"}, "'body' is not a column"),
        (lambda p: p.write_text("a,b\n1,2\n"), {}, "no 'text' column"),
        (lambda p: p.write_text("text\n \n\t\n"), {}, "no usable document"),
        (
            lambda p: p.write_bytes(b"text\nbad \xff\xfe byte\n"),
            {"encoding": "utf-8"},
            "not valid utf-8",
        ),
        (lambda p: p.write_text("text,id\nx,1\ny,1\n"), {"id_column": "id"}, "duplicate ids"),
    ],
)
def test_bad_input_raises_one_clear_error(tmp_path, setup, kwargs, message):
    path = tmp_path / "corpus.csv"
    setup(path)
    with pytest.raises(LabelerError, match=message):
        load_corpus(path, **kwargs)


def test_unknown_extension_is_rejected(tmp_path):
    (tmp_path / "data.xlsx").write_text("x")
    with pytest.raises(LabelerError, match="cannot tell the format"):
        load_corpus(tmp_path / "data.xlsx")


def test_broken_jsonl_names_the_line(tmp_path):
    (tmp_path / "c.jsonl").write_text('{"text": "ok"}\n{"text": broken}\n')
    with pytest.raises(LabelerError, match="line 2"):
        load_corpus(tmp_path / "c.jsonl")
