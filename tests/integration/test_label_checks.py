"""The label step's checks on what an answer says, with an in-process fake ChatModel on the real
BANKING77 run (real embeddings, real run.sqlite, real reports): an invented year is asked about
and, if the model insists, removed and flagged; a topic made of two distinct sub-groups shows
exemplars of both, and a label naming one of them is asked about again with the sub-groups named.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from labeler.api import label_run
from labeler.labels.labeling import LLMSettings, label_embedder
from labeler.llm.client import ChatResult
from labeler.llm.prompts import FENCE
from labeler.review.data import ReviewRun
from labeler.run.folder import Run
from labeler.surgery import plan_merge

SETTINGS = LLMSettings(base_url="http://127.0.0.1:9/v1", model="fake", concurrency=1)


class FakeChat:
    """Answers with `answer(user_text, follow_ups)`, recording every conversation it is sent."""

    identity = "fake-chat"

    def __init__(self, answer):
        self.answer = answer
        self.conversations: list[list[dict]] = []

    def chat(self, messages, *, schema, temperature, max_tokens):
        self.conversations.append(messages)
        users = [m["content"] for m in messages if m["role"] == "user"]
        return ChatResult(json.dumps(self.answer(users[0], users[1:])))

    def asked(self, text: str) -> list[list[dict]]:
        """The conversations about the topic whose prompt holds `text`."""
        return [c for c in self.conversations if text in c[1]["content"]]


def keyword_answer(user: str, summary: str) -> dict:
    words = user.split("Keywords: ")[1].splitlines()[0].split(", ")
    return {"label": f"{words[0].title()} {words[1].title()} Requests", "summary": summary}


def topics_of(run: Path) -> dict[int, dict]:
    return {t["topic"]: t for t in json.loads((run / "topics.json").read_text()) if t["topic"] >= 0}


def shown_documents(user: str) -> list[str]:
    lines = user.splitlines()
    start, end = [i for i, line in enumerate(lines) if line == FENCE]
    return [line[2:] for line in lines[start + 1 : end]]


# ------------------------------------------------------------------------ unsupported claims
def test_an_invented_year_is_asked_about_then_removed_and_flagged(run_copy):
    insisting = FakeChat(
        lambda user, follow: keyword_answer(user, "Customers asking about this since 1987.")
    )
    label_run(run_copy, SETTINGS, chat=insisting)
    topics = topics_of(run_copy)
    for topic in topics.values():
        conversations = insisting.asked(topic["representative_docs"][0][:40])
        assert len(conversations) == 2  # asked once more, then no further
        assert '"1987"' in conversations[1][-1]["content"]
        assert topic["summary"] == "Customers asking about this."
        assert topic["label_flags"] == ["unsupported-claim"] and topic["label_source"] == "llm"
    assert "unsupported-claim" in (run_copy / "report.md").read_text()
    assert "unsupported-claim" in (run_copy / "report.html").read_text()
    flagged = ReviewRun(run_copy).summaries("flagged")
    assert {t["id"] for t in flagged if "unsupported-claim" in [f["kind"] for f in t["flags"]]} == (
        set(topics)
    )


def test_a_model_that_corrects_itself_keeps_its_answer_unflagged(run_copy):
    def answer(user, follow_ups):
        if follow_ups:
            return keyword_answer(user, "Customers asking how to solve this.")
        # A word of the documents, capitalised mid-sentence, is supported; the year is not.
        word = user.split("Keywords: ")[1].split(", ")[0].title()
        return keyword_answer(user, f"Customers asking about {word} in the 2031 season.")

    fake = FakeChat(answer)
    label_run(run_copy, SETTINGS, chat=fake)
    follow_ups = [c[-1]["content"] for c in fake.conversations if len(c) > 2]
    assert follow_ups and all('"2031"' in f and "name" not in f.split(";")[0] for f in follow_ups)
    topics = topics_of(run_copy).values()
    assert all(t["summary"] == "Customers asking how to solve this." for t in topics)
    # (a keyword label may still fit one sub-group of a topic: the coverage check's "narrow")
    assert all("unsupported-claim" not in t["label_flags"] for t in topics)


# ------------------------------------------------------------------------ exemplars and coverage
def class_of(run: Path) -> dict[str, str]:
    docs = pd.read_parquet(run / "documents.parquet", columns=["text", "class"])
    return dict(zip(docs["text"], docs["class"]))


def two_intents_in_one_topic(run: Path) -> tuple[int, str, str]:
    """Merge the card-arrival topic into the exchange-rate one: a topic of two sub-groups."""
    docs = pd.read_parquet(run / "documents.parquet", columns=["topic", "class"])
    majority = docs[docs["topic"] >= 0].groupby("topic")["class"].agg(lambda c: c.mode()[0])
    exchange = int(majority[majority == "exchange_rate"].index[0])
    arrival = int(majority[majority == "card_arrival"].index[0])
    folder = Run(run)
    merged = plan_merge(folder, [exchange, arrival], embed=label_embedder(run))
    folder.replace_topics(
        merged.documents, merged.records, change=lambda tx: tx.drop_topic(arrival)
    )
    return exchange, "exchange_rate", "card_arrival"


def test_a_topic_of_two_sub_groups_shows_exemplars_of_both(run_copy):
    topic, first, second = two_intents_in_one_topic(run_copy)
    fake = FakeChat(lambda user, follow: keyword_answer(user, "Customers asking about this."))
    label_run(run_copy, SETTINGS, chat=fake, topics=[topic])
    user = fake.conversations[0][1]["content"]
    classes = class_of(run_copy)
    shown = [classes.get(d) for d in shown_documents(user)]
    assert first in shown and second in shown
    assert "Sub-groups: " in user


def test_a_label_that_fits_one_sub_group_is_asked_again_with_the_sub_groups_named(run_copy):
    topic, _, _ = two_intents_in_one_topic(run_copy)
    narrow = {"label": "Card Delivery Times", "summary": "Customers waiting for their new card."}
    broad = {
        "label": "Card Arrival and Exchange Rates",
        "summary": "Customers asking when their card arrives and what exchange rate applies.",
    }
    fake = FakeChat(lambda user, follow: broad if follow else narrow)
    label_run(run_copy, SETTINGS, chat=fake, topics=[topic])
    assert len(fake.conversations) == 2
    follow_up = fake.conversations[1][-1]["content"]
    user = fake.conversations[0][1]["content"]
    groups = user.split("Sub-groups: ")[1].splitlines()[0].split("; ")
    assert "fits only" in follow_up and len(groups) >= 2
    for group in groups:  # every sub-group's words are named to the model
        assert group.split("% ", 1)[1] in follow_up
    assert topics_of(run_copy)[topic]["label"] == broad["label"]

    # A model that insists keeps its label (a narrow label beats none), unflagged.
    stubborn = FakeChat(lambda user, follow: narrow)
    stubborn.identity = "another-fake-chat"  # not answered from the cache
    label_run(run_copy, SETTINGS, chat=stubborn, topics=[topic], force=True)
    assert len(stubborn.conversations) == 2
    record = topics_of(run_copy)[topic]
    assert record["label"] == narrow["label"] and record["label_source"] == "llm"


# ------------------------------------------------------------------------ narrow labels
def one_document_words(run: Path) -> dict[int, str]:
    """Per topic of 30+ documents, two words that one of its documents alone holds (what a label
    copied from one vivid exemplar names)."""
    from labeler.labels.narrow import _forms

    docs = pd.read_parquet(run / "documents.parquet", columns=["topic", "text"])
    picked = {}
    for topic, texts in docs[docs["topic"] >= 0].groupby("topic")["text"]:
        if len(texts) < 30:
            continue
        held = [_forms(t) for t in texts]
        counts = pd.Series([w for h in held for w in h]).value_counts()
        for forms in held:
            once = sorted(v for w, v in forms.items() if counts[w] == 1 and w.isalpha())
            once = [w for w in once if len(w) >= 4]
            if len(once) >= 2:
                picked[int(topic)] = " ".join(w.title() for w in once[:2])
                break
    return picked


@pytest.mark.parametrize("corrects", [True, False], ids=["corrects-itself", "insists"])
def test_a_label_naming_one_document_is_asked_again_and_flagged_narrow_if_it_persists(
    run_copy, corrects
):
    baseline = shutil.copytree(run_copy, run_copy.parent / "baseline")
    broad = FakeChat(lambda user, _: keyword_answer(user, "Customers asking about this."))
    label_run(baseline, SETTINGS, chat=broad)
    # topics whose keyword answer passes every check (some fit one sub-group: flagged anyway)
    clean = {n for n, t in topics_of(baseline).items() if not t["label_flags"]}
    rare = {n: w for n, w in one_document_words(run_copy).items() if n in clean}
    snippets = {t["representative_docs"][0][:40]: n for n, t in topics_of(run_copy).items()}
    assert len(rare) >= 3

    def answer(user, follow_ups):
        topic = next((n for s, n in snippets.items() if s in user), None)
        broad = keyword_answer(user, "Customers asking about this.")
        if topic in rare and not (corrects and follow_ups):
            first = broad["label"].split()[0]
            return {"label": f"{rare[topic]} {first}", "summary": "Customers asking about this."}
        return broad

    fake = FakeChat(answer)
    label_run(run_copy, SETTINGS, chat=fake)
    topics = topics_of(run_copy)
    for n, words in rare.items():
        asked = fake.asked(topics[n]["representative_docs"][0][:40])
        assert len(asked) == 2  # asked once more, naming the words
        follow_up = asked[1][-1]["content"]
        assert "found in only a few" in follow_up
        assert all(repr(w) in follow_up for w in words.split())
        if corrects:
            assert not topics[n]["label"].startswith(words)
            assert "narrow" not in topics[n]["label_flags"]
        else:
            assert topics[n]["label"].startswith(words) and "narrow" in topics[n]["label_flags"]
    if not corrects:
        flagged = ReviewRun(run_copy).summaries("flagged")
        narrow = {t["id"] for t in flagged if "narrow-label" in [f["kind"] for f in t["flags"]]}
        assert narrow >= set(rare)
        assert "narrow" in (run_copy / "report.html").read_text()
