"""--seed-topics and --zero-shot files: read as documented, refused with one clear line (exit 2)
before the corpus is read; and the seed and zero-shot steps themselves on toy vectors."""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner

from labeler import TopicModel
from labeler.cli import main
from labeler.errors import LabelerError
from labeler.guided import (
    MAX_NAMED_TOPICS,
    joining_clusters,
    nudge,
    read_seed_topics,
    read_zero_shot_topics,
    zero_shot,
)


def test_seed_lines_split_on_commas_or_spaces(tmp_path):
    path = tmp_path / "seeds.txt"
    path.write_text(
        "\ufeff# seed topics\ncard, arrival , delivery time\n\n  exchange rate fee  \n",
        encoding="utf-8",
    )
    assert read_seed_topics(path) == [
        ["card", "arrival", "delivery time"],
        ["exchange", "rate", "fee"],
    ]
    names = tmp_path / "names.txt"
    names.write_text("Lost  card\nexchange rates\n", encoding="utf-8")
    assert read_zero_shot_topics(names) == ["Lost card", "exchange rates"]


@pytest.mark.parametrize(
    "option, content, message",
    [
        ("--seed-topics", b"", "is empty"),
        ("--seed-topics", b"# only a comment\n\n", "is empty"),
        ("--seed-topics", b"card\x00\x01\x02", "is binary"),
        ("--seed-topics", b"caf\xe9 fee\n", "is not UTF-8"),
        ("--seed-topics", b"card, fee\n , ;\n", "line 2: no words"),
        ("--seed-topics", b"w\n" * (MAX_NAMED_TOPICS + 1), f"at most {MAX_NAMED_TOPICS}"),
        ("--zero-shot", b"lost card\n---\n", "line 2: no words"),
        ("--zero-shot", b"lost card\nLost card\n", "named twice"),
        ("--zero-shot", b"x" * 400, "over 300 characters"),
    ],
)
def test_bad_files_are_one_line_errors(tmp_path, option, content, message):
    bad = tmp_path / "list.txt"
    bad.write_bytes(content)
    result = CliRunner().invoke(
        main, ["run", str(tmp_path / "missing.csv"), option, str(bad), "--out", str(tmp_path / "o")]
    )
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("labeler: error:") and message in lines[0]


def test_missing_files_and_misplaced_options(tmp_path):
    runner = CliRunner()
    corpus = tmp_path / "missing.csv"
    result = runner.invoke(main, ["run", str(corpus), "--zero-shot", str(tmp_path / "no.txt")])
    assert result.exit_code == 2 and "zero-shot file not found" in result.output
    result = runner.invoke(main, ["run", str(corpus), "--zero-shot-min-similarity", "0.5"])
    assert result.exit_code == 2 and "needs --zero-shot" in result.output
    names = tmp_path / "names.txt"
    names.write_text("lost card\n", encoding="utf-8")
    result = runner.invoke(main, ["run", str(corpus), "--zero-shot", str(names), "--engine", "ray"])
    assert result.exit_code == 2 and "not available with --engine ray" in result.output


def test_api_lists_are_checked_before_anything_is_embedded():
    docs = ["a document"] * 3
    with pytest.raises(LabelerError, match="seed_topic_list\\[1\\] has no words"):
        TopicModel(seed_topic_list=[["fee"], [" ", "!"]]).fit(docs)
    with pytest.raises(LabelerError, match="is a string"):
        TopicModel(seed_topic_list=["fee charge"]).fit(docs)
    with pytest.raises(LabelerError, match="need embedding_model"):
        TopicModel(embedding_model=None, zeroshot_topic_list=["fees"]).fit(
            docs, np.eye(3, dtype=np.float32)
        )
    with pytest.raises(LabelerError, match="zeroshot_min_similarity"):
        TopicModel(zeroshot_topic_list=["fees"], zeroshot_min_similarity=1.5).fit(docs)


def test_nudge_zero_shot_and_joining_on_toy_vectors():
    docs = np.array([[1, 0.1, 0], [1, 0.2, 0], [0, 1, 0.1], [0, 0, 1]], dtype=np.float32)
    seeds = np.array([[1, 0, 0]], dtype=np.float32)
    nudged, nearest = nudge(docs, seeds)
    assert nearest.tolist() == [0, 0, -1, -1]
    unit = docs / np.linalg.norm(docs, axis=1, keepdims=True)
    moved = (nudged * seeds).sum(axis=1) - (unit * seeds).sum(axis=1)
    assert (moved[:2] > 0).all() and np.allclose(nudged[2:], unit[2:])

    named, nearest, sims = zero_shot(docs, np.array([[0, 1, 0], [0, 0, 1]], np.float32), 0.9)
    assert named.tolist() == [-1, -1, 0, 1] and sims[3] == pytest.approx(1.0)
    assert nearest.tolist() == [0, 0, 0, 1]
    labels = np.array([0, 0, 1, -1])
    assert joining_clusters(labels, docs, np.array([[1, 0, 0]], np.float32), 0.9) == {0: 0}
    assert joining_clusters(labels, docs, np.array([[1, 1, 0]], np.float32), 0.9) == {}
