"""The large-corpus path (`labeler run --sample-fit N`): fit on a sample, stream the rest.

Real model, real UMAP/HDBSCAN, on the BANKING77 slice written as Parquet and read back in small
batches, so every streamed pass crosses batch boundaries.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from labeler.cli import main


@pytest.fixture(scope="module")
def banking_parquet(banking_rows, tmp_path_factory):
    empty = {"id": "empty", "text": "  ", "label": "none"}
    rows = [*banking_rows[:300], empty, *banking_rows[300:]]
    path = tmp_path_factory.mktemp("corpus") / "banking.parquet"
    pd.DataFrame(rows).to_parquet(path, index=False, row_group_size=100)
    return path


@pytest.fixture(scope="module")
def large_run(banking_parquet, tmp_path_factory):
    """One `--sample-fit 300` run, streamed in batches of 128 documents."""
    import labeler.pipeline.large

    out = tmp_path_factory.mktemp("runs") / "large"
    mp = pytest.MonkeyPatch()
    mp.setattr(labeler.pipeline.large, "BATCH", 128)
    try:
        result = CliRunner().invoke(
            main,
            ["run", str(banking_parquet), "--sample-fit", "300", "--id-column", "id",
             "--class-column", "label", "--llm", "none", "--out", str(out)],
        )  # fmt: skip
    finally:
        mp.undo()
    assert result.exit_code == 0, result.output
    return out, result.output


def test_large_run_writes_a_complete_run_folder(large_run, banking_rows):
    out, output = large_run
    assert "fitted on a sample of 300" in output and "peak RSS" in output
    docs = pd.read_parquet(out / "documents.parquet")
    # The empty row is dropped, the order kept.
    assert docs["doc_id"].tolist() == [r["id"] for r in banking_rows]
    vectors = np.load(out / "embeddings.npy", mmap_mode="r")
    assert vectors.dtype == np.float16 and vectors.shape == (600, 384)
    topics = json.loads((out / "topics.json").read_text())
    sizes = docs["topic"].value_counts().to_dict()
    assert {r["topic"]: r["size"] for r in topics} == sizes
    assert sum(sizes.values()) == 600
    real = [r for r in topics if not r["is_outlier"]]
    assert [r["size"] for r in real] == sorted((r["size"] for r in real), reverse=True)
    config = json.loads((out / "config.json").read_text())
    assert config["scale"]["sample_fit"] == 300 and config["scale"]["assigned"] == 300
    # Representative documents are flagged in documents.parquet and shown in topics.json.
    flagged = set(docs.loc[docs["representative"], "doc_id"])
    assert flagged == {d for r in topics for d in r["representative_doc_ids"]}
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "fitted on a seeded sample of 300 documents, the other 300 assigned" in html
    # Every document's mix of topics, streamed with its batch, over the corpus' topics.
    assert config["distribution"]["mix"] == "approximate_distribution"
    ids = {r["topic"] for r in real}
    assert all(set(m) <= ids and len(m) <= 3 for m in docs["mix_topics"])
    own = [m[0] == t for m, t in zip(docs["mix_topics"], docs["topic"]) if len(m) and t >= 0]
    assert len(own) > 400 and np.mean(own) >= 0.6


def test_assigned_documents_join_the_topic_of_their_intent(large_run):
    """Documents outside the sample land in the topic their intent formed inside the sample."""
    out, _ = large_run
    docs = pd.read_parquet(out / "documents.parquet")
    config = json.loads((out / "config.json").read_text())
    rng = np.random.default_rng(config["seed"])
    sampled = np.zeros(len(docs), dtype=bool)
    sampled[rng.choice(len(docs), size=300, replace=False)] = True
    agree = total = 0
    for _, group in docs.groupby("class"):
        inside = group[sampled[group.index] & (group["topic"] >= 0)]
        if len(inside) < 10:
            continue
        majority = Counter(inside["topic"]).most_common(1)[0][0]
        outside = group[~sampled[group.index] & (group["topic"] >= 0)]
        agree += int((outside["topic"] == majority).sum())
        total += len(outside)
    assert total > 100
    assert agree / total >= 0.8


def test_keywords_count_every_document_not_only_the_sample(large_run):
    """c-TF-IDF is built from streamed counts over all 600 documents."""
    out, _ = large_run
    docs = pd.read_parquet(out / "documents.parquet")
    topics = json.loads((out / "topics.json").read_text())
    biggest = next(r for r in topics if not r["is_outlier"])
    word = biggest["keywords"][0][0]
    members = docs.loc[docs["topic"] == biggest["topic"], "text"].str.lower()
    assert members.str.contains(word, regex=False).sum() >= 0.2 * len(members)


def test_large_run_has_a_topic_tree_over_the_whole_corpus(large_run):
    """hierarchy.json is built from the sample but counts every document: the topics carry the
    corpus-wide keywords and sizes, a parent holds its topics' documents, the tree shows."""
    out, _ = large_run
    tree = json.loads((out / "hierarchy.json").read_text())
    topics = {r["topic"]: r for r in json.loads((out / "topics.json").read_text())}
    nodes = {n["id"]: n for n in tree["nodes"]}
    leaves = [n for n in nodes.values() if n["layer"] == 0]
    assert {n["id"] for n in leaves} == {t for t in topics if t >= 0}
    for leaf in leaves:
        assert leaf["size"] == topics[leaf["id"]]["size"]  # whole corpus, not the sample
        words = [w for w, _ in topics[leaf["id"]]["keywords"][:3]]
        assert [w for w, _ in leaf["keywords"][:3]] == words
    parents = [n for n in nodes.values() if n["layer"] > 0]
    assert parents
    for node in parents:
        assert node["size"] == sum(nodes[c]["size"] for c in node["children"])
    top = [n for n in nodes.values() if n["parent"] is None]
    assert sum(n["size"] for n in top) == sum(r["size"] for t, r in topics.items() if t >= 0)
    result = CliRunner().invoke(main, ["tree", str(out)])
    assert result.exit_code == 0 and str(parents[0]["id"]) in result.output, result.output


def test_saved_large_run_opens_as_a_model(large_run):
    import labeler

    out, _ = large_run
    model = labeler.load_run(out)
    topics, _ = model.transform(["my card still has not arrived, when will it come?"])
    name = model.labels_[int(topics[0])]
    assert "card" in name or "arriv" in name or "deliver" in name


def test_sample_and_sample_fit_together_is_one_line_error(banking_parquet, tmp_path):
    result = CliRunner().invoke(
        main,
        ["run", str(banking_parquet), "--sample", "50", "--sample-fit", "300", "--llm", "none",
         "--out", str(tmp_path / "x")],
    )  # fmt: skip
    assert result.exit_code == 2
    assert result.output.strip().startswith("labeler: error: --sample cannot")
    assert "Traceback" not in result.output


def test_ray_is_never_imported_unless_asked():
    code = (
        "import sys, labeler.cli, labeler.pipeline.large, labeler.pipeline.fit; "
        "assert 'ray' not in sys.modules, 'ray imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_zero_shot_names_hold_beyond_the_sample(tmp_path):
    """On the large-corpus path the named topics come from the sample's fit, and documents
    outside the sample close to a name join it, as in a whole-corpus run; the names stay the
    labels (version 2 over the keyword label)."""
    from test_guided import NAMES, intent_rows

    from labeler.run.db import RunDB

    corpus = tmp_path / "clinc.parquet"
    frame = pd.DataFrame(intent_rows(1))
    frame.to_parquet(corpus, index=False)
    (tmp_path / "names.txt").write_text("\n".join(NAMES) + "\n", encoding="utf-8")
    out = tmp_path / "run"
    result = CliRunner().invoke(
        main,
        ["run", str(corpus), "--sample-fit", "200", "--id-column", "id", "--llm", "none",
         "--zero-shot", str(tmp_path / "names.txt"), "--out", str(out)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    topics = json.loads((out / "topics.json").read_text())
    named = {r["topic"]: r["label"] for r in topics if r["label_source"] == "zero-shot"}
    assert set(named.values()) == set(NAMES)
    current = RunDB(out).current_labels()
    assert all(current[t]["source"] == "zero-shot" and current[t]["label"] == named[t]
               for t in named)  # fmt: skip
    docs = pd.read_parquet(out / "documents.parquet").merge(
        frame.rename(columns={"id": "doc_id"}), on="doc_id"
    )
    config = json.loads((out / "config.json").read_text())
    rng = np.random.default_rng(config["seed"])
    sampled = np.zeros(len(docs), dtype=bool)
    sampled[np.sort(rng.choice(len(docs), size=200, replace=False))] = True
    for topic, name in named.items():
        intent = NAMES[name]
        outside = docs[~sampled & (docs["intent"] == intent)]
        assert (outside["topic"] == topic).mean() >= 0.6, (name, outside["topic"].tolist())
        members = docs[docs["topic"] == topic]
        assert (members["intent"] == intent).mean() >= 0.8, (name, members["intent"].tolist())
    assert config["guided"]["zero_shot"]["documents_assigned"] == int(
        docs["topic"].isin(list(named)).sum()
    )


def test_sample_fit_records_the_parameters_of_an_ordinary_run(large_run, banking_parquet, tmp_path):
    """One TopicModel and one set of defaults for every corpus size: the `--sample-fit` run
    and an ordinary run of the same corpus and options record the same parameters."""
    out = tmp_path / "ordinary"
    result = CliRunner().invoke(
        main,
        ["run", str(banking_parquet), "--id-column", "id", "--class-column", "label",
         "--llm", "none", "--out", str(out)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    ordinary = json.loads((out / "config.json").read_text())
    large = json.loads((large_run[0] / "config.json").read_text())
    assert large["params"] == ordinary["params"]
    for section in ("umap", "representation", "guided"):
        assert large[section] == ordinary[section], section
    for key in ("model", "backend", "base_model", "max_tokens", "dimensions"):
        assert large["embedding"].get(key) == ordinary["embedding"].get(key), key
    assert large["hdbscan"]["max_topic_share"] == ordinary["hdbscan"]["max_topic_share"] == 0.25
    assert "scale" in large and "scale" not in ordinary


def _catch_all_corpus(tmp_path):
    """Two close groups (60% of the documents: HDBSCAN sees one topic, its sub-groups are
    distinct) and four small distinct topics, as precomputed 64-d embeddings."""
    rng = np.random.default_rng(0)
    dim = 64

    def blob(centre, n):
        return centre + 0.5 * rng.standard_normal((n, dim)) / np.sqrt(dim)

    a = rng.standard_normal(dim)
    b = a + 0.3 * rng.standard_normal(dim) / np.sqrt(dim)
    parts = [blob(a, 150), blob(b, 150)] + [blob(3 * rng.standard_normal(dim), 50) for _ in "1234"]
    texts = [f"alpha word{i % 7} text" for i in range(150)]
    texts += [f"beta term{i % 5} text" for i in range(150)]
    texts += [f"gamma{k} thing{i % 3}" for k in range(4) for i in range(50)]
    corpus = tmp_path / "blobs.jsonl"
    corpus.write_text("".join(json.dumps({"text": t}) + "\n" for t in texts), encoding="utf-8")
    vectors = tmp_path / "blobs.npy"
    np.save(vectors, np.vstack(parts).astype(np.float32))
    return corpus, vectors


def test_a_catch_all_topic_is_split_on_both_paths(tmp_path):
    """A Python caller of the large path gets the fit's defaults, the catch-all split among
    them (it had `max_topic_share=1.0` of its own), and the same result type."""
    from labeler.corpus import CorpusSpec
    from labeler.model import TopicModel
    from labeler.pipeline.fit import RunResult, run_pipeline
    from labeler.pipeline.large import run_large

    corpus, vectors = _catch_all_corpus(tmp_path)
    results = {
        "ordinary": run_pipeline(
            CorpusSpec(corpus), tmp_path / "ordinary", TopicModel(embedding_model=None),
            embeddings=vectors,
        ),
        "large": run_large(
            CorpusSpec(corpus), tmp_path / "large", TopicModel(embedding_model=None),
            sample_fit=450, embeddings=vectors,
        ),
    }  # fmt: skip
    for path, result in results.items():
        assert isinstance(result, RunResult)
        config = json.loads((result.run_dir / "config.json").read_text())
        splits = config["hdbscan"]["catch_all_splits"]
        assert splits and splits[0]["split"] and splits[0]["share"] >= 0.5, (path, splits)
        docs = pd.read_parquet(result.run_dir / "documents.parquet")
        alpha, beta = docs["topic"][:150], docs["topic"][150:300]
        # each close group is a topic of its own (the documents outside the sample follow)
        assert alpha.mode()[0] != beta.mode()[0], path
        assert (alpha == alpha.mode()[0]).mean() >= 0.9 and (beta == beta.mode()[0]).mean() >= 0.9
    assert results["large"].sample_fit == 450 and results["ordinary"].sample_fit is None


def test_the_duplicate_count_is_the_flagged_documents(banking_rows, tmp_path):
    """config.json's duplicates count the documents flagged in documents.parquet, as an
    ordinary run's do (not the distinct texts they repeat)."""
    rows = banking_rows[:300]
    rows += [{**rows[0], "id": f"copy{i}"} for i in range(3)]  # 4 documents, one text
    rows += [{**rows[1], "id": f"again{i}"} for i in range(2)]  # 3 documents, one text
    corpus = tmp_path / "copies.parquet"
    pd.DataFrame(rows).to_parquet(corpus, index=False)
    out = tmp_path / "run"
    result = CliRunner().invoke(
        main,
        ["run", str(corpus), "--sample-fit", "200", "--id-column", "id", "--llm", "none",
         "--out", str(out)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    docs = pd.read_parquet(out / "documents.parquet")
    stats = json.loads((out / "config.json").read_text())["corpus"]["stats"]
    assert int(docs["duplicate"].sum()) == 7
    assert stats["duplicates"] == 7
