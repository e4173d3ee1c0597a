"""`labeler run` end to end with the real embedding model: contract, quality, cache, safety."""

from __future__ import annotations

import json
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
from click.testing import CliRunner
from sklearn.metrics import adjusted_rand_score

from labeler import TopicModel, load_run
from labeler.cli import main
from labeler.run.layout import is_run


def run_cli(*args):
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    return result


def test_output_contract(banking_run):
    for name in ("topics.json", "documents.parquet", "report.html", "report.md", "run.json"):
        assert (banking_run / name).is_file(), name
    topics = json.loads((banking_run / "topics.json").read_text())
    docs = pd.read_parquet(banking_run / "documents.parquet")
    assert {"doc_id", "text", "topic", "probability", "x", "y", "class"} <= set(docs.columns)
    assert len(docs) == 600 and docs["doc_id"].str.startswith("b").all()
    assert sum(t["size"] for t in topics) == len(docs)
    ids = {t["topic"] for t in topics}
    assert set(docs["topic"]) == ids
    for t in topics:
        assert {"topic", "size", "label", "keywords", "representative_docs"} <= set(t)
        assert t["size"] == int((docs["topic"] == t["topic"]).sum())
        assert all(isinstance(w, str) and isinstance(s, float) for w, s in t["keywords"])
        if t["topic"] >= 0:
            assert re.fullmatch(rf"{t['topic']}_[\w-]+(_[\w-]+)*", t["label"])
            assert t["keywords_keybert"] and t["keywords_mmr"]
            assert 1 <= len(t["representative_docs"]) <= 5
            texts = set(docs.loc[docs["topic"] == t["topic"], "text"])
            assert set(t["representative_docs"]) <= texts


def test_topics_match_the_intents_a_person_would_see(banking_run):
    docs = pd.read_parquet(banking_run / "documents.parquet")
    clustered = docs[docs["topic"] >= 0]
    assert 4 <= clustered["topic"].nunique() <= 12
    assert len(clustered) / len(docs) >= 0.7
    assert adjusted_rand_score(clustered["class"], clustered["topic"]) >= 0.6
    topics = json.loads((banking_run / "topics.json").read_text())
    words = " ".join(w for t in topics for w, _ in t["keywords"][:5])
    for expected in ("card", "exchange", "identity", "top"):
        assert expected in words


def test_second_run_reuses_embeddings_and_reduction(banking_file, banking_run, tmp_path, caplog):
    result = CliRunner().invoke(main, ["run", str(banking_file), "--out", str(tmp_path / "again")])
    assert result.exit_code == 0, result.output
    assert "600 hits, 0 computed" in result.output
    assert "reusing cached reduction" in result.output
    first = pd.read_parquet(banking_run / "documents.parquet")["topic"]
    second = pd.read_parquet(tmp_path / "again" / "documents.parquet")["topic"]
    assert (first.to_numpy() == second.to_numpy()).all()


def test_same_seed_same_topics_without_cache(banking_rows):
    texts = [r["text"] for r in banking_rows[:300]]
    a = TopicModel(seed=3, use_cache=False).fit(texts)
    b = TopicModel(seed=3, use_cache=False).fit(texts)
    assert np.array_equal(a.topics_, b.topics_)
    assert np.allclose(a.layout_, b.layout_)
    assert a.get_topic_info()["Name"].tolist() == b.get_topic_info()["Name"].tolist()


def test_api_matches_cli(banking_rows, banking_run):
    docs = pd.read_parquet(banking_run / "documents.parquet")
    model = TopicModel().fit(
        [r["text"] for r in banking_rows], doc_ids=[r["id"] for r in banking_rows]
    )
    assert np.array_equal(model.topics_, docs["topic"].to_numpy())
    info = model.get_topic_info()
    topics = json.loads((banking_run / "topics.json").read_text())
    # get_topic_info() is in topic order, the outliers (-1) first as in BERTopic; topics.json
    # lists them last.
    assert info["Name"].tolist() == [t["label"] for t in sorted(topics, key=lambda t: t["topic"])]
    assert info["Topic"].iloc[0] == -1
    assert {"Topic", "Count", "Name", "Representation", "Representative_Docs"} <= set(info.columns)


def test_saved_run_opens_as_a_fitted_model(banking_run, banking_rows):
    model = load_run(banking_run)
    info = model.get_topic_info()
    assert info["Count"].sum() == 600
    biggest = int(info.loc[info["Topic"] >= 0, "Topic"].iloc[0])
    assert (
        model.get_topic(biggest)[0][0] in " ".join(model.get_representative_docs(biggest)).lower()
    )
    assert model.get_topic(999) is False
    # New documents land in the topic of their neighbours.
    topics, probs = model.transform([r["text"] for r in banking_rows[:200]])
    fitted = model.topics_[:200]
    agree = (topics == fitted)[fitted >= 0].mean()
    assert agree >= 0.9 and ((probs > 0) & (probs <= 1)).all()
    found, sims = model.find_topics("my new card still has not been delivered", top_n=3)
    card_topic = found[0]
    assert any(
        w in ("arrive", "arrived", "delivery", "delivered")
        for w, _ in model.get_topic(card_topic, "keybert")
    ) or any(
        w in ("arrive", "arrived", "delivery", "delivered") for w, _ in model.get_topic(card_topic)
    )
    assert sims == sorted(sims, reverse=True)
    doc_info = model.get_document_info()
    assert len(doc_info) == 600 and doc_info["Representative_document"].sum() >= 5


def test_report_command_rerenders(banking_run, tmp_path):
    run = Path(shutil.copytree(banking_run, tmp_path / "run"))  # never the session's own run
    html = (run / "report.html").read_text()
    (run / "report.html").unlink()
    (run / "report.md").unlink()
    run_cli("report", run)
    assert (run / "report.html").read_text() == html
    assert (run / "report.md").is_file()


class _Elements(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def test_hostile_documents_are_escaped(tmp_path, banking_rows):
    hostile = [
        "<script>alert('pwned')</script> my card has not arrived",
        '<img src=x onerror="alert(1)"> card never arrived',
        "| broken | table | ](javascript:alert(1)) card not arrived",
    ]
    rows = [{"text": r["text"]} for r in banking_rows[:200]] + [{"text": h} for h in hostile * 6]
    corpus = tmp_path / "hostile.jsonl"
    corpus.write_text("\n".join(json.dumps(r) for r in rows))
    run_cli("run", corpus, "--out", tmp_path / "run", "--representative-docs", "10")
    html = (tmp_path / "run" / "report.html").read_text()
    parser = _Elements()
    parser.feed(html)
    assert not [a for t, a in parser.tags if t == "script" and "src" in a]
    assert "<script>alert('pwned')" not in html and 'onerror="alert' not in html
    assert not [a for t, a in parser.tags if t == "img"]
    assert not any(k.startswith("on") for _, attrs in parser.tags for k in attrs)
    assert "&lt;script&gt;alert(" in html or "&lt;img src=x" in html
    md = (tmp_path / "run" / "report.md").read_text()
    assert "<script>" not in md and "<img" not in md
    # Every table row keeps its table's column count: document pipes cannot add cells.
    tables, current = [], []
    for line in md.splitlines() + [""]:
        if line.startswith("|"):
            current.append(len(re.split(r"(?<!\\)\|", line.strip())) - 2)
        elif current:
            tables.append(current)
            current = []
    assert tables and all(len(set(widths)) == 1 for widths in tables)


def test_precomputed_embeddings(tmp_path, banking_rows, banking_run):
    vectors = np.load(banking_run / "embeddings.npy")
    np.save(tmp_path / "v.npy", vectors)
    corpus = tmp_path / "c.jsonl"
    corpus.write_text("\n".join(json.dumps({"text": r["text"]}) for r in banking_rows))
    result = run_cli("run", corpus, "--embeddings", tmp_path / "v.npy", "--out", tmp_path / "pre")
    topics = json.loads((tmp_path / "pre" / "topics.json").read_text())
    assert "keywords_keybert" not in topics[0]  # no model to embed words in that space
    docs = pd.read_parquet(tmp_path / "pre" / "documents.parquet")
    assert (
        docs["topic"].to_numpy()
        == pd.read_parquet(banking_run / "documents.parquet")["topic"].to_numpy()
    ).all()
    np.save(tmp_path / "bad.npy", vectors[:10])
    bad = CliRunner().invoke(
        main,
        [
            "run",
            str(corpus),
            "--embeddings",
            str(tmp_path / "bad.npy"),
            "--out",
            str(tmp_path / "x"),
        ],
    )
    assert bad.exit_code == 2 and "has shape (10, 384)" in bad.output
    assert "precomputed" in result.output


def test_interrupted_write_leaves_no_complete_run(tmp_path, monkeypatch, banking_file, banking_run):
    import labeler.pipeline.fit as pipeline

    def crash(run_dir):
        raise KeyboardInterrupt

    monkeypatch.setattr(pipeline, "render_reports", crash)
    out = tmp_path / "crashed"
    result = CliRunner().invoke(main, ["run", str(banking_file), "--out", str(out)])
    assert result.exit_code == 130
    assert not out.exists()
    staged = [p for p in tmp_path.glob(".crashed*") if p.suffix != ".lock"]
    assert not staged  # staging folder removed (the lock file stays, as lock files do)
    # An existing run survives a crashed rerun untouched.
    before = (banking_run / "topics.json").read_text()
    result = CliRunner().invoke(main, ["run", str(banking_file), "--out", str(banking_run)])
    assert result.exit_code == 130
    assert is_run(banking_run) and (banking_run / "topics.json").read_text() == before


def test_refuses_to_overwrite_a_folder_that_is_not_a_run(tmp_path, banking_file):
    (tmp_path / "precious").mkdir()
    (tmp_path / "precious" / "notes.txt").write_text("keep me")
    result = CliRunner().invoke(
        main, ["run", str(banking_file), "--out", str(tmp_path / "precious")]
    )
    assert result.exit_code == 2 and "not a labeler run" in result.output
    assert (tmp_path / "precious" / "notes.txt").read_text() == "keep me"


def test_long_noisy_newsgroup_posts(tmp_path):
    from conftest import read_corpus

    rows = [
        r
        for r in read_corpus("20newsgroups")
        if r["label"] in ("sci.space", "rec.autos", "comp.graphics")
    ]
    rows = rows[:: max(1, len(rows) // 240)][:240]
    corpus = tmp_path / "ng.jsonl"
    corpus.write_text("\n".join(json.dumps({"text": r["text"], "group": r["label"]}) for r in rows))
    run_cli("run", corpus, "--class-column", "group", "--out", tmp_path / "ng")
    topics = json.loads((tmp_path / "ng" / "topics.json").read_text())
    for t in topics:
        for w, _ in t["keywords"]:
            assert re.fullmatch(r"[^\W\d_][\w-]*", w), w  # no numbers or hashes as keywords
    assert len([t for t in topics if t["topic"] >= 0]) >= 2


def test_reports_name_the_corpus_file_never_its_local_path(banking_run, banking_file):
    """A shared report says which file it read, not where it sat on the author's machine."""
    source = json.loads((banking_run / "config.json").read_text())["corpus"]["source"]
    assert Path(source).is_absolute()  # the run keeps it, for `labeler eval --label-column`
    for name in ("report.html", "report.md"):
        text = (banking_run / name).read_text(encoding="utf-8")
        assert banking_file.name in text
        assert str(banking_file.parent) not in text and str(banking_run) not in text, name


def test_public_names_strip_local_paths_only():
    from labeler.views.report import public_name

    assert public_name("/home/ann/prompts/mine.jinja") == "mine.jinja"
    assert public_name("C:\\Users\\ann\\models\\q.gguf") == "q.gguf"
    assert public_name("~/models/q.gguf") == "q.gguf"
    assert public_name("sentence-transformers/all-MiniLM-L6-v2") == (
        "sentence-transformers/all-MiniLM-L6-v2"
    )
    assert public_name("label_summary") == "label_summary"


def test_topics_that_follow_languages_are_named_so(tmp_path, banking_run):
    """SIB-200's sentences in 20 languages: the English model groups them by language. The run
    says so once, with the remedy, and the report carries it; an English corpus stays quiet."""
    from conftest import read_corpus, write_jsonl

    rows = read_corpus("sib200_20lang")
    rng = np.random.default_rng(0)
    picked = [rows[i] for i in rng.choice(len(rows), 500, replace=False)]
    corpus = write_jsonl(tmp_path / "sib.jsonl", [{"text": r["text"]} for r in picked])
    result = CliRunner().invoke(main, ["run", str(corpus), "--out", str(tmp_path / "sib")])
    assert result.exit_code == 0, result.output
    config = json.loads((tmp_path / "sib" / "config.json").read_text())
    assert config["languages"]["follows_languages"], config["languages"]
    assert len(config["languages"]["languages"]) >= 5
    assert "follow languages" in result.output and "--embedding-model" in result.output
    assert "follow languages" in (tmp_path / "sib" / "report.html").read_text(encoding="utf-8")
    english = json.loads((banking_run / "config.json").read_text())["languages"]
    assert not english["follows_languages"] and english["languages"]["en"] > 0.95
    assert "follow languages" not in (banking_run / "report.html").read_text(encoding="utf-8")
