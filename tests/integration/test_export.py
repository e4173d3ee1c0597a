"""`labeler export`: flat topic, document and keyword tables that read back to the run's data."""

from __future__ import annotations

import json
import shutil

import pandas as pd
import pytest
from click.testing import CliRunner

from labeler.cli import main
from labeler.run.db import RunDB


def cli(*args, ok: bool = True):
    result = CliRunner().invoke(main, [str(a) for a in args])
    if ok:
        assert result.exit_code == 0, result.output
    return result


def read(path):
    if path.suffix == ".csv":
        return pd.read_csv(path, keep_default_na=False, na_values=[""])
    if path.suffix == ".json":
        return pd.DataFrame(json.loads(path.read_text(encoding="utf-8")))
    return pd.read_parquet(path)


@pytest.mark.parametrize("fmt", ["csv", "parquet", "json"])
def test_tables_read_back_to_the_run(banking_run, tmp_path, fmt):
    result = cli("export", banking_run, "--format", fmt, "--out", tmp_path)
    assert result.output.split() == [
        str(tmp_path / f"{n}.{fmt}") for n in ("topics", "documents", "keywords")
    ]
    topics = json.loads((banking_run / "topics.json").read_text())
    source = pd.read_parquet(banking_run / "documents.parquet")

    table = read(tmp_path / f"topics.{fmt}")
    assert table["topic"].tolist() == [t["topic"] for t in topics]
    assert table["label"].tolist() == [t["label"] for t in topics]
    assert table["size"].tolist() == [t["size"] for t in topics]
    assert table["keywords"].tolist() == [", ".join(w for w, _ in t["keywords"]) for t in topics]
    assert set(table["status"]) == {"unreviewed"} and table["is_outlier"].sum() == 1

    docs = read(tmp_path / f"documents.{fmt}")
    assert docs["doc_id"].tolist() == source["doc_id"].tolist()
    assert docs["text"].tolist() == source["text"].tolist()  # commas, quotes and all
    assert docs["topic"].tolist() == source["topic"].tolist()
    assert docs["class"].tolist() == source["class"].tolist()
    labels = {t["topic"]: t["label"] for t in topics}
    assert docs["topic_label"].tolist() == [labels[t] for t in source["topic"]]

    words = read(tmp_path / f"keywords.{fmt}")
    assert list(words.columns) == ["topic", "stage", "rank", "word", "weight"]
    assert len(words) == sum(
        len(t[k]) for t in topics for k in ("keywords", "keywords_keybert", "keywords_mmr")
    )
    first = words[(words["topic"] == topics[0]["topic"]) & (words["stage"] == "ctfidf")]
    assert first["word"].tolist() == [w for w, _ in topics[0]["keywords"]]
    assert first["weight"].round(5).tolist() == [s for _, s in topics[0]["keywords"]]


def test_export_follows_current_labels_and_review(banking_run, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(banking_run, run)
    db = RunDB(run)
    db.add_label_version(
        0,
        "Card delivery",
        summary="Cards, late.",
        source="llm",
        model="qwen2.5",
        flags=["fallback"],
    )
    db.set_status(0, "accepted")
    cli("export", run, "--no-text")  # default folder: RUN_DIR/export
    topics = read(run / "export" / "topics.csv").set_index("topic")
    columns = ["label", "summary", "label_source", "label_model", "label_flags"]
    assert topics.loc[0, columns].tolist() == [
        "Card delivery",
        "Cards, late.",
        "llm",
        "qwen2.5",
        "fallback",
    ]
    assert topics.loc[0, "label_version"] == 2 and topics.loc[0, "status"] == "accepted"
    docs = read(run / "export" / "documents.csv")
    assert "text" not in docs.columns
    assert set(docs.loc[docs["topic"] == 0, "topic_label"]) == {"Card delivery"}


def test_timestamps_are_iso_in_text_formats(reuters_run, tmp_path):
    source = pd.read_parquet(reuters_run / "documents.parquet")
    cli("export", reuters_run, "--format", "csv", "--out", tmp_path)
    cli("export", reuters_run, "--format", "parquet", "--out", tmp_path)
    stamps = read(tmp_path / "documents.csv")["timestamp"]
    assert stamps.str.fullmatch(r"1987-\d\d-\d\dT\d\d:\d\d:\d\dZ").all()
    assert (pd.to_datetime(stamps, utc=True) == source["timestamp"]).all()
    native = read(tmp_path / "documents.parquet")["timestamp"]
    assert str(native.dt.tz) == "UTC" and (native == source["timestamp"]).all()


def test_export_errors_are_one_line(tmp_path, banking_run):
    result = cli("export", tmp_path / "missing", ok=False)
    assert result.exit_code == 2 and result.output.startswith("labeler: error: ")
    assert len(result.output.strip().splitlines()) == 1
    (tmp_path / "file").write_text("x")
    result = cli("export", banking_run, "--out", tmp_path / "file", ok=False)
    assert result.exit_code == 2 and "is a file" in result.output
    result = cli("export", banking_run, "--format", "xlsx", ok=False)
    assert result.exit_code == 2 and "xlsx" in result.output
