"""Guided and zero-shot topics (issue 13 item 6) on slices of the shared corpora: named topics
collect the documents of their intent and keep their names through a relabel, and seed words
climb in the seeded topic's keywords."""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from conftest import read_corpus, write_jsonl
from fakes import FakeChat

from labeler import TopicModel, load_run
from labeler.api import label_run
from labeler.cli import main
from labeler.labels.labeling import LLMSettings
from labeler.run.db import RunDB
from labeler.run.folder import Run

# CLINC150 intents (10 × 40 questions) and the names given for four of them.
INTENTS = (
    "weather", "translate", "book_flight", "credit_score", "recipe", "alarm",
    "restaurant_reservation", "flip_coin", "timer", "pay_bill",
)  # fmt: skip
NAMES = {
    "weather forecast": "weather",
    "cooking recipe": "recipe",
    "flip a coin": "flip_coin",
    "set an alarm": "alarm",  # and not the timer questions, which sit close
}


def intent_rows(seed: int) -> list[dict]:
    """40 CLINC150 questions of each of INTENTS, shuffled: rows with id, text and intent."""
    rows = read_corpus("clinc150")
    rng = random.Random(seed)
    picked = []
    for intent in INTENTS:
        picked += rng.sample([r for r in rows if r["label"] == intent], 40)
    rng.shuffle(picked)
    return [{"id": f"c{i}", "text": r["text"], "intent": r["label"]} for i, r in enumerate(picked)]


@pytest.fixture(scope="module")
def zero_shot_run(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("zero-shot")
    rows = intent_rows(0)
    corpus = write_jsonl(folder / "clinc.jsonl", rows)
    (folder / "names.txt").write_text("\n".join(NAMES) + "\n", encoding="utf-8")
    (folder / "seeds.txt").write_text("# an unnamed intent\ntimer, minutes, countdown\n")
    out = folder / "run"
    args = ["run", str(corpus), "--id-column", "id", "--class-column", "intent", "--llm", "none"]
    args += ["--zero-shot", str(folder / "names.txt"), "--out", str(out)]
    args += ["--seed-topics", str(folder / "seeds.txt")]  # both at once, from the CLI
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    return out


def test_zero_shot_topics_collect_their_intent_and_keep_their_names(zero_shot_run):
    topics = json.loads((zero_shot_run / "topics.json").read_text())
    named = {t["topic"]: t["label"] for t in topics if t["label_source"] == "zero-shot"}
    assert sorted(named.values()) == sorted(NAMES)
    docs = pd.read_parquet(zero_shot_run / "documents.parquet")
    in_named = docs[docs.topic.isin(list(named))]
    expected = in_named.topic.map(lambda t: NAMES[named[t]])
    precision = float((in_named["class"] == expected).mean())
    assert precision >= 0.9, precision  # measured: 1.0 on this slice
    assert len(in_named) >= 0.75 * 4 * 40  # most of the four named intents' 160 questions
    # The rest were clustered as usual: the six unnamed intents have their own topics.
    others = docs[~docs.topic.isin(list(named)) & (docs.topic >= 0)]
    assert others.topic.nunique() >= 5
    assert not set(others["class"].value_counts().index[:5]) & set(NAMES.values())

    config = json.loads((zero_shot_run / "config.json").read_text())
    assert config["params"]["zeroshot_topic_list"] == list(NAMES)
    assert config["guided"]["zero_shot"]["documents_assigned"] == len(in_named)
    assert config["guided"]["zero_shot"]["min_similarity"] == 0.7
    assert config["params"]["seed_topic_list"] == [["timer", "minutes", "countdown"]]
    assert config["guided"]["seed_topics"]["documents_nudged"][0] > 0
    page = (zero_shot_run / "report.html").read_text(encoding="utf-8")
    assert all(name in page for name in NAMES) and "zero-shot" in page
    markdown = (zero_shot_run / "report.md").read_text(encoding="utf-8")
    row = next(line for line in markdown.splitlines() if line.startswith("| Guided |"))
    assert "1 seed topic(s) (timer, minutes, countdown)" in row
    assert f"4 zero-shot name(s), similarity ≥ 0.7: {len(in_named)} documents" in row

    model = load_run(zero_shot_run)
    assert model.zeroshot_topics_ == named
    assert model.get_topic_info().set_index("Topic").Name[min(named)] == named[min(named)]


def test_relabel_keeps_zero_shot_names_unless_forced(zero_shot_run, tmp_path):
    run = Path(shutil.copytree(zero_shot_run, tmp_path / "run"))
    settings = LLMSettings(base_url="http://127.0.0.1:9/v1", model="fake", concurrency=1)
    named = {t: r["label"] for t, r in RunDB(run).current_labels().items()
             if r["source"] == "zero-shot"}  # fmt: skip
    stats = label_run(run, settings, chat=FakeChat())
    assert stats.skipped_named == len(named) == 4
    current = RunDB(run).current_labels()
    assert {t: current[t]["label"] for t in named} == named
    assert sum(r["source"] == "llm" for r in current.values()) >= 5  # the others got labels

    forced = label_run(run, settings, chat=FakeChat(), topics=list(named), force=True)
    assert forced.topics == 4 and forced.skipped_named == 0
    current = RunDB(run).current_labels()
    assert all(current[t]["source"] == "llm" for t in named)


def _seed_rank(model: TopicModel, words: list[str]) -> tuple[int, float]:
    """The topic holding most documents that mention a seed word, and the seed words' mean
    rank in its c-TF-IDF words (absent words count as rank 100)."""
    docs = model.documents_
    mentions = [i for i, d in enumerate(docs) if any(w in d.lower() for w in words)]
    topic = int(np.bincount(model.topics_[mentions] + 1).argmax() - 1)
    ranked = [w for w, _ in model.ctfidf_.topic_words(topic, 100)]
    ranks = [ranked.index(w) + 1 if w in ranked else 100 for w in words]
    return topic, float(np.mean(ranks))


def test_seed_words_rise_in_the_seeded_topic(banking_rows):
    docs = [r["text"] for r in banking_rows]
    seeds = [["fee", "charge", "atm"]]
    plain = TopicModel(layout=False).fit(docs)
    seeded = TopicModel(layout=False, seed_topic_list=seeds).fit(docs)
    assert seeded.get_params()["seed_topic_list"] == seeds
    _, before = _seed_rank(plain, seeds[0])
    topic, after = _seed_rank(seeded, seeds[0])
    assert after < before, (before, after)
    top = [w for w, _ in seeded.get_topic(topic)]
    assert all(w in top for w in seeds[0]), top  # all three among the seeded topic's keywords
    assert seeded.guided_["seed_topics"]["documents_nudged"][0] > 0


def test_a_change_to_a_zero_shot_topic_keeps_its_name_and_flags_it(zero_shot_run, tmp_path):
    from labeler import surgery

    run = Path(shutil.copytree(zero_shot_run, tmp_path / "run"))
    current = RunDB(run).current_labels()
    named = sorted(t for t, r in current.items() if r["source"] == "zero-shot")
    other = next(t for t, r in sorted(current.items()) if t >= 0 and t not in named)
    keep = named[0]  # a merge keeps its first topic's id
    settings = LLMSettings(base_url="http://127.0.0.1:9/v1", model="fake", concurrency=1)
    change = surgery.merge(run, [keep, other], settings=settings, chat=FakeChat())
    assert change.touched == [keep] and change.removed == [other]
    after = RunDB(run).current_labels()
    # The user's name stays (it once fell back to a keyword label), flagged for a look, and the
    # LLM is not asked about it.
    assert after[keep]["label"] == current[keep]["label"] and after[keep]["source"] == "zero-shot"
    assert "documents-changed" in after[keep]["flags"]
    assert change.llm.skipped_named == 1 and change.llm_calls == 0
    # Outliers joining the named topics leave their names in place too. (Some of the named
    # topics' documents are made outliers first: the fit may leave none.)
    folder = Run(run)
    docs = pd.read_parquet(run / "documents.parquet")
    after_topics = docs["topic"].to_numpy().copy()
    after_topics[np.flatnonzero(np.isin(after_topics, named))[::5]] = -1
    moved, records, _ = surgery.replan(folder, docs, after_topics, {*named, -1}, None)
    folder.replace_topics(moved, records)
    change = surgery.outliers(run, "embeddings", max_share=0.0, settings=settings, chat=FakeChat())
    joined = set(named) & set(change.touched)
    assert joined  # every outlier found a topic, some of them a named one
    after = RunDB(run).current_labels()
    assert all(after[t]["source"] == "zero-shot" for t in named)
    assert all("documents-changed" in after[t]["flags"] for t in joined)
    by_id = {t["topic"]: t for t in json.loads((run / "topics.json").read_text())}
    assert {t: by_id[t]["label"] for t in named} == {t: current[t]["label"] for t in named}
