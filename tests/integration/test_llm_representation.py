"""BERTopic's LLM representation models on labeler: `OpenAI(client, ...)` and `TextGeneration`
name the fitted topics through labeler's label step (labels, summaries, checks), only changed
topics are asked again after surgery, and a saved model keeps what they said, never the key."""

from __future__ import annotations

import re
import threading

import openai
import pytest
from llm_stub import StubLLM, completion, label_json, topic_label

import labeler
from labeler.bertopic import BERTopic
from labeler.bertopic.representation import (
    KeyBERTInspired,
    OpenAI,
    PartOfSpeech,
    TextGeneration,
)
from labeler.errors import LabelerError
from labeler.llm.client import OpenAIChat
from labeler.run.db import RunDB

SECRET = "sk-test-secret-0123456789"
KEYWORD_NAME = re.compile(r"^-?\d+_")


@pytest.fixture(scope="module")
def docs(banking_rows) -> list[str]:
    return [r["text"] for r in banking_rows]


def stub_answer(request, n):
    return 200, {}, completion(label_json(topic_label(request)))


class CountingChat:
    """A ChatModel around a real one that counts the label step's requests."""

    def __init__(self, inner):
        self.inner = inner
        self.identity = inner.identity
        self.calls = 0
        self._lock = threading.Lock()

    def chat(self, messages, **kw):
        with self._lock:
            self.calls += 1
        return self.inner.chat(messages, **kw)


def test_openai_representation_with_the_packaged_model(docs, small_llm, tmp_path):
    """The README's call, with the client pointed at a real model on 127.0.0.1."""
    client = openai.OpenAI(base_url=small_llm.base_url, api_key=SECRET)
    representation_model = OpenAI(client, model="gpt-3.5-turbo", chat=True)
    topic_model = BERTopic(representation_model=representation_model, nr_topics=4)
    topics, _ = topic_model.fit_transform(docs)
    info = topic_model.get_topic_info()
    named = info[info.Topic >= 0]
    assert len(named) == 4 and set(topics) >= {0, 1, 2, 3}
    # Each topic has the LLM's label (not its keyword name) as Name and main representation.
    llm = topic_model.llm_labels_
    assert set(llm) == set(named.Topic)
    for t, name in zip(named.Topic, named.Name):
        assert name == llm[t]["label"] and not KEYWORD_NAME.match(name)
        assert topic_model.get_topic(t)[0][0] == name
        assert llm[t]["source"] == "llm" and llm[t]["model"].startswith("gpt-3.5-turbo@")
    assert (named.Summary.str.len() > 10).sum() >= 3  # labeler's summaries come with them

    path = topic_model.save(tmp_path / "run")
    for f in path.rglob("*"):
        if f.is_file():
            assert SECRET.encode() not in f.read_bytes(), f
    current = RunDB(path).current_labels()
    assert {t: current[t]["label"] for t in llm} == {t: r["label"] for t, r in llm.items()}
    assert all(current[t]["summary"] == llm[t]["summary"] for t in llm)
    reopened = labeler.load_run(path)
    assert reopened.get_topic_info().Name.tolist() == info.Name.tolist()
    html = (path / "report.html").read_text(encoding="utf-8")
    assert all(name.replace("&", "&amp;") in html for name in named.Name if "'" not in name)


def test_only_changed_topics_are_asked_again(docs, tmp_path):
    """merge_topics describes every topic again; those with the same documents keep their
    names, and the LLM is asked about the merged one only."""
    with StubLLM(stub_answer) as stub:
        chat = CountingChat(OpenAIChat(stub.base_url, "stub", max_retries=0))
        topic_model = BERTopic(representation_model=TextGeneration(chat), nr_topics=5)
        topic_model.fit(docs)
        first = chat.calls
        names = dict(topic_model.labels_)
        assert first >= 5 and all(not KEYWORD_NAME.match(names[t]) for t in range(5))
        sizes = dict(topic_model.topic_sizes_)
        topic_model.merge_topics(docs, [3, 4])
        asked = chat.calls - first
        assert 1 <= asked <= 2  # the merged topic (and at most one re-ask of it)
        # The untouched topics kept their names, whatever their ids are now.
        kept = {topic_model.labels_[t] for t in topic_model.topic_ids_ if t >= 0}
        untouched = {names[t] for t in (0, 1, 2)}
        assert untouched <= kept
        assert sum(topic_model.topic_sizes_.values()) == sum(sizes.values())


def test_an_llm_aspect_beside_keywords(docs):
    with StubLLM(stub_answer) as stub:
        client = openai.OpenAI(base_url=stub.base_url, api_key=SECRET, max_retries=0)
        topic_model = BERTopic(
            representation_model={"Main": KeyBERTInspired(), "OpenAI": OpenAI(client)},
            nr_topics=3,
        )
        topic_model.fit(docs)
    info = topic_model.get_topic_info()
    row = info[info.Topic == 0].iloc[0]
    assert len(row.Representation) > 3  # the keywords stay the main representation
    assert len(row.OpenAI) == 1 and row.OpenAI[0].endswith(" Requests")  # the stub's label
    assert KEYWORD_NAME.match(row.Name)  # an aspect does not rename the topic


def test_what_the_llm_models_refuse(docs):
    client = openai.OpenAI(base_url="http://127.0.0.1:9/v1", api_key=SECRET)
    with pytest.raises(LabelerError, match=r"\[KEYWORDS\]"):
        OpenAI(client, prompt="I have a topic with [KEYWORDS] and [DOCUMENTS]")
    with pytest.raises(LabelerError, match="generator_kwargs: top_p"):
        OpenAI(client, generator_kwargs={"top_p": 0.5})
    with pytest.raises(LabelerError, match="openai.OpenAI client"):
        OpenAI("sk-a-key-not-a-client")
    with pytest.raises(LabelerError, match="ends a chain"):
        BERTopic(representation_model=[OpenAI(client), KeyBERTInspired()]).fit(docs[:50])
    with pytest.raises(LabelerError, match="no such .gguf"):
        TextGeneration("missing.gguf")


def test_part_of_speech_needs_spacy_or_a_pipeline():
    try:
        import spacy  # noqa: F401
    except ImportError:
        with pytest.raises(LabelerError, match="pip install spacy"):
            PartOfSpeech("en_core_web_sm")
    with pytest.raises(LabelerError, match="spaCy pipeline"):
        PartOfSpeech(42)


class Tagged:
    def __init__(self, pos: str):
        self.pos_ = pos


class LookupTagger:
    """A tagger by word list, standing in for a spaCy pipeline (none can be downloaded here)."""

    NOUNS = {"card", "rate", "money", "account", "transfer", "identity", "cash", "exchange"}
    ADJ = {"new", "wrong", "lost", "pending", "stolen"}

    def pipe(self, texts):
        for text in texts:
            tags = ["NOUN" if w in self.NOUNS else "ADJ" if w in self.ADJ else "VERB"
                    for w in text.split()]  # fmt: skip
            yield [Tagged(t) for t in tags]


def test_part_of_speech_keeps_the_patterns_words(docs):
    topic_model = BERTopic(representation_model=PartOfSpeech(LookupTagger()), nr_topics=3)
    topic_model.fit(docs)
    tagger = LookupTagger()
    for t in range(3):
        words = [w for w, _ in topic_model.get_topic(t)]
        assert words and all(w in tagger.NOUNS | tagger.ADJ for w in words)
        scores = [s for _, s in topic_model.get_topic(t)]
        assert scores == sorted(scores, reverse=True)  # the c-TF-IDF order, kept


def test_custom_labels_are_kept_by_the_saved_run(docs, tmp_path):
    topic_model = BERTopic(nr_topics=3).fit(docs)
    topic_model.set_topic_labels({0: "Card deliveries", 2: "Identity checks"})
    path = topic_model.save(tmp_path / "run")
    current = RunDB(path).current_labels()
    assert current[0]["label"] == "Card deliveries" and current[0]["source"] == "custom"
    assert current[1]["source"] == "keywords"
    reopened = labeler.load_run(path)
    assert reopened.custom_labels_ == topic_model.custom_labels_
    assert "Card deliveries" in (path / "report.html").read_text(encoding="utf-8")
