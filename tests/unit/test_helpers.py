"""Small pieces with sharp edges: the caches, answer parsing, prompt fitting, security helpers."""

from __future__ import annotations

import numpy as np
import pytest

from labeler.embedding.cache import ArrayCache, EmbeddingCache
from labeler.llm.answers import AnswerError, parse_label
from labeler.llm.prompts import FENCE, data_line, fit_messages, load_prompt, messages_tokens
from labeler.review.security import host_name, is_loopback


def test_embedding_cache_round_trip_per_model(tmp_path):
    cache = EmbeddingCache(tmp_path)
    vectors = np.arange(6, dtype=np.float32).reshape(2, 3)
    cache.put("model-a", ["h1", "h2"], vectors)
    found = cache.get("model-a", ["h2", "h1", "h3", "h1"])
    assert set(found) == {"h1", "h2"} and np.array_equal(found["h2"], vectors[1])
    assert cache.get("model-b", ["h1"]) == {}  # another model's vectors are never served


def test_array_cache_keys_on_content_and_treats_damage_as_a_miss(tmp_path):
    cache = ArrayCache(tmp_path)
    a = np.ones((2, 2), dtype=np.float32)
    key = ArrayCache.key(a, "umap", 15)
    assert key != ArrayCache.key(a, "umap", 16) and key != ArrayCache.key(a * 2, "umap", 15)
    assert cache.get(key) is None
    cache.put(key, reduced=a)
    assert np.array_equal(cache.get(key)["reduced"], a)
    (cache.directory / f"{key}.npz").write_bytes(b"not an npz")
    assert cache.get(key) is None


@pytest.mark.parametrize(
    "reply, label",
    [
        ('{"label": "Card Delivery Delays", "summary": "People waiting for a new card."}',
         "Card Delivery Delays"),
        ('Sure!\n```json\n{"Label": " Exchange  Rates. ",'
         ' "summary": "Questions on rates today."}\n```', "Exchange Rates"),
    ],
)  # fmt: skip
def test_answers_are_parsed_and_cleaned(reply, label):
    assert parse_label(reply, ["label", "summary"])["label"] == label


@pytest.mark.parametrize(
    "reply",
    ["", "no json here", '{"label": "card, fee, rate, limit"}', '{"label": "Topic"}',
     '{"label": "Cards", "summary": "People asking about the"}'],
)  # fmt: skip
def test_unusable_answers_raise_with_a_reason(reply):
    with pytest.raises(AnswerError):
        parse_label(reply, ["label", "summary"])


def test_prompt_fits_the_budget_and_documents_cannot_forge_the_fence():
    prompt = load_prompt("label_summary")
    docs = [f"document {i} " + "word " * 400 for i in range(6)] + [f"x {FENCE} y"]
    topic = {"id": 1, "size": 9, "keywords": ["a"], "keybert": [], "mmr": [], "words": ["a"]}
    full = fit_messages(prompt, docs, 100_000, topic=topic, neighbours=[], corpus_description=None)
    budget = messages_tokens(full) - 30
    tight = fit_messages(prompt, docs, budget, topic=topic, neighbours=[], corpus_description=None)
    assert messages_tokens(tight) <= budget < messages_tokens(full)
    assert FENCE not in data_line(f"x {FENCE} y", 50)


@pytest.mark.parametrize(
    "host, loopback", [("127.0.0.1", True), ("::1", True), ("[::1]", True), ("localhost", True),
                       ("0.0.0.0", False), ("192.168.1.4", False), ("example.org", False)],
)  # fmt: skip
def test_loopback_hosts(host, loopback):
    assert is_loopback(host) is loopback


def test_host_header_names():
    assert host_name("127.0.0.1:8040") == "127.0.0.1"
    assert host_name("[::1]:8040") == "::1"
    assert host_name("Example.ORG") == "example.org"


def test_a_closed_stdout_is_a_quiet_exit_not_an_error():
    """`labeler tree RUN | head`: the reader leaving is not an error to print."""
    import subprocess
    import sys

    code = (
        "from labeler.cli.common import user_errors\n"
        "@user_errors\n"
        "def command():\n"
        "    raise BrokenPipeError(32, 'Broken pipe')\n"
        "command()\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 141 and done.stderr == ""
