"""Figures that say whether a run's topics and labels can be trusted (`labeler eval`, issue 10).

One implementation serves `labeler eval`, the report's overview and `benchmarks/labels_quality.py`,
so a figure in the benchmark table means exactly what the same figure means on a user's run.

Definitions (all stated so they can be recomputed by hand):
- NPMI: for each topic's top-10 keywords, the mean over word pairs of
  log(p(a,b) / (p(a) p(b))) / -log p(a,b), with p the share of *documents* containing the word(s)
  (document co-occurrence, not gensim's sliding window: no extra dependency, and it is exact);
  a pair that never co-occurs scores -1. Keywords absent from the tokenised corpus are skipped.
- diversity: unique share of the top-25 keywords over all topics (1.0 = no word shared).
- label fit: cosine of each label's embedding to the mean of its own topic's document vectors,
  against the most similar other topic's; a label "fits" when its own topic is the nearest.
- label match: a topic's label names its majority category when that category's readable name is
  the nearest of *all* category names to the label (embedding cosine).
- purity: share of non-outlier documents in their topic's majority category; ARI and NMI are
  computed on non-outlier documents.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence

import numpy as np

from labeler.vectors import centre_rows, unit

# ---------------------------------------------------------------------------- keywords


def _analyzer() -> Callable[[str], list[str]]:
    """Tokens exactly as the keywords are made (c-TF-IDF), so "top-up" is one word."""
    from sklearn.feature_extraction.text import CountVectorizer

    from labeler.represent.ctfidf import TOKEN_PATTERN

    return CountVectorizer(lowercase=True, token_pattern=TOKEN_PATTERN).build_analyzer()


def npmi_coherence(topic_words: Sequence[Sequence[str]], texts: Sequence[str], top_n: int = 10):
    """Mean NPMI over topics (document co-occurrence); None when no topic has two known words."""
    analyze = _analyzer()
    docs = [set(analyze(t)) for t in texts]
    n = len(docs)
    if n == 0:
        return None
    cache: dict[tuple[str, ...], set[int]] = {}

    def holders(word: str) -> set[int] | None:
        tokens = tuple(analyze(word))
        if not tokens:
            return None
        if tokens not in cache:
            cache[tokens] = {i for i, d in enumerate(docs) if all(t in d for t in tokens)}
        return cache[tokens] or None

    scores = []
    for words in topic_words:
        sets = [s for s in (holders(w) for w in list(words)[:top_n]) if s]
        pairs = []
        for i in range(len(sets)):
            for j in range(i + 1, len(sets)):
                joint = len(sets[i] & sets[j]) / n
                if joint == 0:
                    pairs.append(-1.0)
                    continue
                pa, pb = len(sets[i]) / n, len(sets[j]) / n
                if joint >= 1.0:  # both words in every document: independent by definition
                    pairs.append(0.0)
                    continue
                pairs.append(math.log(joint / (pa * pb)) / -math.log(joint))
        if pairs:
            scores.append(sum(pairs) / len(pairs))
    return float(np.mean(scores)) if scores else None


def keyword_diversity(topic_words: Sequence[Sequence[str]], top_n: int = 25) -> float | None:
    words = [list(ws)[:top_n] for ws in topic_words]
    total = sum(len(ws) for ws in words)
    return len({w for ws in words for w in ws}) / total if total else None


# ---------------------------------------------------------------------------- labels


def normalise_label(label: str) -> str:
    return " ".join(str(label).lower().split())


def duplicate_labels(labels: Iterable[str]) -> int:
    """Labels that repeat an earlier one (case and spacing ignored): 3 × "Card Fees" counts 2."""
    labels = [normalise_label(x) for x in labels]
    return len(labels) - len(set(labels))


_NUMBER = re.compile(r"\d[\d,.]*\d|\d")
_WORD = re.compile(r"[^\W\d_][\w'’-]*", re.UNICODE)
_SENTENCE_END = re.compile(r"[.!?:;]\s*$")


def _claims(text: str, names: bool) -> list[str]:
    """Numbers (years, amounts) anywhere; with `names`, capitalised words that do not open a
    sentence (a summary's proper names). Title-cased labels capitalise every word, so they are
    checked for numbers only."""
    found = [m.group(0).rstrip(".,") for m in _NUMBER.finditer(text)]
    if names:
        for m in _WORD.finditer(text):
            word = m.group(0)
            before = text[: m.start()]
            if not before.strip() or _SENTENCE_END.search(before):
                continue
            if word[0].isupper() and not word.isupper() or (word.isupper() and len(word) > 1):
                found.append(word)
    return found


def simple_unsupported_claims(label: str, summary: str | None, evidence: str) -> list[str]:
    """Numbers, years and proper names in a label or summary that the evidence (the topic's
    documents and keywords) never mentions; case-insensitive, "2,000" matches "2000".

    Deliberately simple and conservative: it flags what a reader could check in seconds. It is
    the fallback behind `unsupported_claims`, so a better checker can replace it in one place.
    """
    haystack = evidence.lower()
    digits = re.sub(r"(?<=\d)[,.](?=\d)", "", haystack)
    missing = []
    for claim in _claims(label or "", names=False) + _claims(summary or "", names=True):
        if claim[0].isdigit():
            number = re.sub(r"[,.]", "", claim)
            if not re.search(rf"(?<!\d){re.escape(number)}(?!\d)", digits):
                missing.append(claim)
        elif not re.search(rf"(?<!\w){re.escape(claim.lower())}", haystack):
            missing.append(claim)
    return list(dict.fromkeys(missing))


def topic_evidence(topic: int, texts: Iterable[str], keywords: Iterable[str]) -> str:
    """What a topic's label and summary may draw on: its documents, its keywords and its own
    number (a keyword label such as "4_arsenal_wenger" carries it; that is no invented claim)."""
    return "\n".join(map(str, texts)) + "\n" + " ".join(keywords) + f"\n{topic}"


def unsupported_claims(label: str, summary: str | None, evidence: str) -> list[str]:
    """The one entry point for the faithfulness figure (swap the checker here only)."""
    return simple_unsupported_claims(label, summary, evidence)


def label_matches(
    label_vectors: np.ndarray, category_vectors: np.ndarray, majority: Sequence[int]
) -> np.ndarray:
    """For each label: is the nearest category name (cosine) the topic's majority category?"""
    lab = unit(label_vectors)
    cat = unit(category_vectors)
    nearest = np.argmax(lab @ cat.T, axis=1)
    return nearest == np.asarray(majority)


def label_fit(
    label_vectors: np.ndarray, doc_vectors: np.ndarray, doc_topics: np.ndarray, topics: list[int]
) -> dict:
    """Each label's cosine to its own topic's mean document vector vs the nearest other topic's."""
    centres = centre_rows(doc_vectors, doc_topics, topics)
    sims = unit(label_vectors) @ centres.T
    own = np.diag(sims)
    if len(topics) > 1:
        others = sims.copy()
        np.fill_diagonal(others, -np.inf)
        other = others.max(axis=1)
    else:
        other = np.full(len(topics), np.nan)
    return {
        "label_fit_own": float(own.mean()),
        "label_fit_other": float(np.nanmean(other)) if len(topics) > 1 else None,
        "label_fit_share": float((own > other).mean()) if len(topics) > 1 else None,
    }


# ---------------------------------------------------------------------------- against classes


def majority_classes(doc_topics: np.ndarray, classes: Sequence) -> dict[int, tuple[object, int]]:
    """Per topic (outliers excluded): its most common class and how many documents hold it."""
    out: dict[int, tuple[object, int]] = {}
    classes = np.asarray(classes, dtype=object)
    for t in sorted({int(t) for t in doc_topics if t >= 0}):
        counts = Counter(classes[doc_topics == t])
        # Ties go to the alphabetically first class so the figure is reproducible.
        best = min(counts.items(), key=lambda kv: (-kv[1], str(kv[0])))
        out[t] = best
    return out


def cluster_agreement(doc_topics: np.ndarray, classes: Sequence) -> dict:
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    doc_topics = np.asarray(doc_topics)
    classes = np.asarray([str(c) for c in classes], dtype=object)
    mask = doc_topics >= 0
    if not mask.any():
        return {"ari": None, "nmi": None, "purity": None}
    held = sum(n for _, n in majority_classes(doc_topics, classes).values())
    return {
        "ari": float(adjusted_rand_score(classes[mask], doc_topics[mask])),
        "nmi": float(normalized_mutual_info_score(classes[mask], doc_topics[mask])),
        "purity": held / int(mask.sum()),
    }
