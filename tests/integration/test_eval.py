"""`labeler eval` on a real run: figures recomputed independently here, errors, JSON shape."""

from __future__ import annotations

import json
import math
import re
import shutil
from collections import Counter

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from labeler.cli import main
from labeler.represent.ctfidf import TOKEN_PATTERN


@pytest.fixture()
def run_copy(banking_run, tmp_path):
    """eval writes evaluation.json and re-renders the reports: never into the shared run."""
    return shutil.copytree(banking_run, tmp_path / "run")


def _eval(*args):
    return CliRunner().invoke(main, ["eval", *map(str, args)])


def _comb2(n):
    return n * (n - 1) / 2


def _ari_nmi_purity(topics, classes):
    table = pd.crosstab(topics, classes).to_numpy()
    n = table.sum()
    index = sum(_comb2(v) for v in table.ravel())
    rows = sum(_comb2(v) for v in table.sum(axis=1))
    cols = sum(_comb2(v) for v in table.sum(axis=0))
    expected = rows * cols / _comb2(n)
    ari = (index - expected) / ((rows + cols) / 2 - expected)
    p = table / n
    pr, pc = p.sum(axis=1), p.sum(axis=0)
    mi = sum(
        p[i, j] * math.log(p[i, j] / (pr[i] * pc[j]))
        for i in range(p.shape[0])
        for j in range(p.shape[1])
        if p[i, j] > 0
    )

    def entropy(q):
        return -sum(v * math.log(v) for v in q if v > 0)

    nmi = mi / ((entropy(pr) + entropy(pc)) / 2)
    return ari, nmi, table.max(axis=1).sum() / n


def _npmi(words, texts):
    docs = [set(re.findall(TOKEN_PATTERN, t.lower())) for t in texts]  # as keywords are made
    n = len(docs)
    sets = [{i for i, d in enumerate(docs) if w in d} for w in words]
    sets = [s for s in sets if s]
    scores = []
    for i in range(len(sets)):
        for j in range(i + 1, len(sets)):
            joint = len(sets[i] & sets[j]) / n
            if joint == 0:
                scores.append(-1.0)
            else:
                pa, pb = len(sets[i]) / n, len(sets[j]) / n
                scores.append(math.log(joint / (pa * pb)) / -math.log(joint))
    return sum(scores) / len(scores)


def test_eval_figures_against_an_independent_computation(run_copy, banking_rows):
    result = _eval(run_copy, "--label-column", "label", "--json")
    assert result.exit_code == 0, result.output
    figures = json.loads(result.output)

    docs = pd.read_parquet(run_copy / "documents.parquet")
    topics = [t for t in json.loads((run_copy / "topics.json").read_text()) if t["topic"] >= 0]
    gold = {r["id"]: r["label"] for r in banking_rows}
    classes = docs["doc_id"].map(gold)
    inside = docs["topic"] >= 0
    ari, nmi, purity = _ari_nmi_purity(docs["topic"][inside], classes[inside])
    assert figures["ari"] == pytest.approx(ari)
    assert figures["nmi"] == pytest.approx(nmi)
    assert figures["purity"] == pytest.approx(purity)
    assert figures["documents"] == len(docs) == len(banking_rows)
    assert figures["topics"] == len(topics)
    assert figures["outlier_share"] == pytest.approx((~inside).mean())
    assert figures["largest_topic_share"] == pytest.approx(
        docs["topic"][inside].value_counts().max() / len(docs)
    )
    texts = docs["text"].tolist()
    npmi = np.mean([_npmi([w for w, _ in t["keywords"]][:10], texts) for t in topics])
    assert figures["npmi"] == pytest.approx(npmi)
    labels = [t["label"].lower() for t in topics]
    assert figures["duplicate_labels"] == len(labels) - len(set(labels))

    # label match: the nearest readable category name (MiniLM) is the topic's majority class
    from labeler.embedding.sbert import SentenceTransformerEmbedder

    embedder = SentenceTransformerEmbedder()
    categories = sorted(set(gold.values()))
    cats = embedder.embed([c.replace("_", " ") for c in categories])
    labs = embedder.embed([t["label"] for t in topics])
    cats = cats / np.linalg.norm(cats, axis=1, keepdims=True)
    labs = labs / np.linalg.norm(labs, axis=1, keepdims=True)
    hits = [
        categories[int(np.argmax(cats @ v))]
        == Counter(classes[docs["topic"] == t["topic"]]).most_common(1)[0][0]
        for t, v in zip(topics, labs)
    ]
    assert figures["label_match_topics"] == pytest.approx(np.mean(hits))
    # the six intents are well separated: most keyword labels name their intent
    assert figures["label_match_topics"] >= 0.5
    assert 0 < figures["label_fit_share"] <= 1

    # the run's own class column gives the same agreement as the corpus column joined on ids
    own = json.loads(_eval(run_copy, "--label-column", "class", "--json").output)
    assert own["ari"] == pytest.approx(figures["ari"])


def test_eval_without_a_label_column_prints_a_table_and_fills_the_report(run_copy):
    result = _eval(run_copy)
    assert result.exit_code == 0, result.output
    assert "keyword coherence (NPMI, top 10)" in result.output
    assert "ARI" not in result.output and "purity" not in result.output
    html = (run_copy / "report.html").read_text(encoding="utf-8")
    markdown = (run_copy / "report.md").read_text(encoding="utf-8")
    assert "Quality figures" in html and "duplicate labels" in html
    assert "## Quality figures" in markdown and "| largest topic's share |" in markdown

    figures = json.loads(_eval(run_copy, "--json").output)
    expected = {"documents", "topics", "outlier_share", "largest_topic_share", "npmi",
                "diversity", "label_fit_own", "label_fit_other", "label_fit_share",
                "duplicate_labels", "unsupported_claims", "topics_with_unsupported_claims",
                "ari", "nmi", "purity", "label_match_topics", "label_match_documents"}  # fmt: skip
    assert expected <= set(figures)
    assert figures["ari"] is None and figures["ground_truth"] is None
    assert isinstance(figures["npmi"], float) and -1 <= figures["npmi"] <= 1
    # The run's keyword labels ("3_card_arrived_yet") carry each topic's own number: that is
    # no invented claim (it once counted as one per topic when labels fell back to keywords).
    labels = [t["label"] for t in json.loads((run_copy / "topics.json").read_text())]
    assert sum(bool(re.match(r"\d+_", label)) for label in labels) >= 3
    assert figures["unsupported_claims"] == 0, figures["unsupported"]


def test_stale_figures_leave_the_report(run_copy):
    from labeler.views import evaluation, run_view

    assert _eval(run_copy).exit_code == 0
    topics = run_view.topics(run_copy)
    assert evaluation.current(run_copy, topics)
    topics[0]["label"] = "A label the figures never judged"
    assert evaluation.current(run_copy, topics) is None


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--label-column", "nope"], "'nope' is not a column"),
        (["--label-column", "label", "--corpus", "missing.jsonl"], "corpus not found"),
        (["--label-names", "missing.json"], "--label-names file not found"),
    ],
)
def test_eval_errors_are_one_line(run_copy, extra, message):
    result = CliRunner().invoke(main, ["eval", str(run_copy), *extra])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("labeler: error:") and message in lines[0]


def test_eval_refuses_a_folder_that_is_not_a_run(tmp_path):
    result = _eval(tmp_path)
    assert result.exit_code == 2
    assert (
        result.output.startswith("labeler: error:")
        and "not a finished labeler run" in result.output
    )
