"""Labels that name one document, not the topic: "Supra 9600 Fax Modem and Monochrome X Station"
for a 154-post hardware-for-sale topic. Small models copy a vivid exemplar's specifics into the
label; the claim check passes them (the words are in the documents) and the sub-group coverage
check misses them (one post is no sub-group). What gives them away is how few of the topic's
documents hold the label's words.

A label word is *rare* when at most `max(RARE_DOCS, RARE_SHARE * n)` of the topic's n documents
contain it (after folding plurals and -ing/-ed), *common* when at least COMMON_SHARE do. Words
found in no document are abstractions ("Hardware for Sale" over posts that never say "hardware")
and count for neither. A label is narrow when it has a rare word and either more than half of
its words found in the documents are rare or none of them is common. Topics under MIN_DOCS
documents are never judged: there one document is a real share.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

from labeler.llm.answers import AnswerError

MIN_DOCS = 30
RARE_DOCS = 2
RARE_SHARE = 0.02
COMMON_SHARE = 0.1
_WORD = re.compile(r"[^\W_]+", re.UNICODE)


def _fold(word: str) -> str:
    """A crude stem, enough to match "Delays" to "delay" and "charging" to "charge"."""
    for suffix in ("ing", "ies", "es", "ed", "s"):
        if len(word) > len(suffix) + 2 and word.endswith(suffix):
            stem = word[: -len(suffix)]
            return stem + "y" if suffix == "ies" else stem
    return word


def _forms(text: str) -> dict[str, str]:
    """Folded word → the word as written (content words of three letters or more)."""
    return {
        _fold(w.lower()): w for w in _WORD.findall(text)
        if len(w) >= 3 and w.lower() not in ENGLISH_STOP_WORDS
    }  # fmt: skip


def _words(text: str) -> set[str]:
    return set(_forms(text))


def narrow_words(label: str, texts: Sequence[str]) -> list[str]:
    """The label's rare words, as the label writes them, when the label is narrow (see the
    module docstring), else []."""
    n = len(texts)
    forms = _forms(label)
    if n < MIN_DOCS or not forms:
        return []
    held = [_words(t) for t in texts]
    df = {w: sum(w in h for h in held) for w in forms}
    found = [w for w in forms if df[w] > 0]
    rare = [w for w in found if df[w] <= max(RARE_DOCS, RARE_SHARE * n)]
    common = [w for w in found if df[w] >= COMMON_SHARE * n]
    if rare and (2 * len(rare) > len(found) or not common):
        return [forms[w] for w in rare]
    return []


def too_narrow(answer: dict, word: str, fits: str, whole: str, also: str, check: str):
    """The question asked again when a `word` (label, name) fits only part of its `whole`
    (topic, group): what it fits and what it misses, named; the fallback keeps the answer,
    flagged `narrow`. Shared by a topic's sub-group check and a parent's children check."""
    return AnswerError(
        f"the {word} {answer['label']!r} fits only {fits}, but this {whole} also covers {also}: "
        f"give a broader {word} (and summary) that covers all of them",
        fallback={**answer, "flags": sorted({*answer.get("flags", []), "narrow"})},
        check=check,
    )
