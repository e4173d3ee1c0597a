"""Guided and zero-shot topics: what a user already knows, given to the fit.

Seed topics (`seed_topic_list`, `labeler run --seed-topics FILE`) nudge the clustering and the
keywords towards lists of words, as BERTopic's guided topic modeling does: each seed list is
embedded, a document more similar to a seed list than to the corpus' mean is pulled a quarter of
the way towards that list's embedding before UMAP, and the seed words' c-TF-IDF weight is raised
(`labeler.represent.ctfidf.SEED_MULTIPLIER`). The stored embeddings stay the documents' own.

Zero-shot topics (`zeroshot_topic_list`, `--zero-shot FILE`) are topic names: a document whose
cosine similarity to a name's embedding reaches `zeroshot_min_similarity` goes to the most similar
name's topic before clustering, and the rest are clustered as usual; a clustered topic whose
centre reaches the same similarity joins the named topics, each of its documents going to the
name most similar to it (a cluster of recipe and meal questions joins "recipe" and "meal
suggestion" each with its own). Those topics are named by
the user, so they keep the name as their label (source "zero-shot") until a review or
`labeler relabel --force` replaces it.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from labeler import vectors
from labeler.errors import LabelerError, printable

ZERO_SHOT_SOURCE = "zero-shot"  # the label source of a zero-shot topic's name (run.sqlite)
# A name from `set_topic_labels` on a saved model. Like a zero-shot name, the user gave it:
# relabeling leaves both until a review or --force (labeler.labels.labeling).
CUSTOM_SOURCE = "custom"
USER_SOURCES = (ZERO_SHOT_SOURCE, CUSTOM_SOURCE)
# BERTopic's weights: a seeded document keeps 3/4 of its own embedding.
SEED_PULL = 0.25
# BERTopic's default. With the packaged MiniLM it is the precise end (benchmarks/guided_topics.py:
# 93% of the documents in named topics on a CLINC150 slice belong to the named intent, 72% on
# BANKING77, whose intents sit close together).
ZEROSHOT_MIN_SIMILARITY = 0.7
MAX_NAMED_TOPICS = 200  # lines in a seed or zero-shot file
MAX_LINE_CHARS = 300
MAX_FILE_BYTES = 1_000_000
# Bidi embeddings, overrides and isolates: they reorder what a name looks like in the report.
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def _bad_character(line: str) -> str | None:
    """The first character a name must not hold: a control character (tab aside, which
    separates words), a line or paragraph separator, or a bidi override."""
    for ch in line:
        if ch == "\t":
            continue
        if unicodedata.category(ch) in ("Cc", "Zl", "Zp") or ch in BIDI_CONTROLS:
            return f"U+{ord(ch):04X}"
    return None


def _lines(path: Path, what: str, unique: bool = False) -> list[tuple[int, str]]:
    """The file's non-blank lines (numbered from 1), or one clear error about the file.

    Only LF and CRLF end a line: a U+2028, U+2029, NEL, vertical tab or form feed inside a line
    is refused with its line number rather than splitting one name in two (str.splitlines)."""
    path = Path(path)
    if path.is_dir():
        raise LabelerError(f"{what} file {path} is a folder: give a text file, one entry a line")
    if not path.exists():
        raise LabelerError(f"{what} file not found: {path}")
    if not path.is_file():
        raise LabelerError(f"{what} file {path} is not a regular file (a pipe or device?)")
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise LabelerError(f"{what} file {path.name} is over {MAX_FILE_BYTES:,} bytes")
        data = path.read_bytes()
    except OSError as exc:
        raise LabelerError(f"cannot read {what} file {path}: {exc.strerror or exc}") from exc
    if b"\x00" in data:
        raise LabelerError(f"{what} file {path.name} is binary, not text (one entry a line)")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise LabelerError(f"{what} file {path.name} is not UTF-8 text: {exc.reason}") from exc
    lines = []
    for n, raw in enumerate(text.split("\n"), 1):
        line = raw[:-1] if raw.endswith("\r") else raw
        bad = _bad_character(line)
        if bad:
            raise LabelerError(
                f"{what} file {path.name}, line {n}: holds the control character {bad}; "
                "write plain text, one entry a line"
            )
        line = line.strip()
        if line and not line.startswith("#"):
            lines.append((n, line))
    if not lines:
        raise LabelerError(f"{what} file {path.name} is empty: write one entry a line")
    if len(lines) > MAX_NAMED_TOPICS:
        raise LabelerError(
            f"{what} file {path.name} has {len(lines)} lines; at most {MAX_NAMED_TOPICS}"
        )
    seen: dict[str, int] = {}
    for n, line in lines:
        if len(line) > MAX_LINE_CHARS:
            raise LabelerError(
                f"{what} file {path.name}, line {n}: over {MAX_LINE_CHARS} characters"
            )
        key = " ".join(line.split()).lower()
        if unique and key in seen:
            raise LabelerError(
                f"{what} file {path.name}, line {n}: {printable(key)!r} is named twice "
                f"(first on line {seen[key]}); give each name once"
            )
        seen[key] = n
    return lines


def seed_words(line: str) -> list[str]:
    """One seed line's words: comma-separated (phrases allowed), else whitespace-separated."""
    parts = line.split(",") if "," in line else line.split()
    return [w for w in (" ".join(p.split()) for p in parts) if re.search(r"\w", w)]


def read_seed_topics(path: Path) -> list[list[str]]:
    """A seed-topics file: one topic a line, its seed words separated by commas or spaces
    (`#` starts a comment line)."""
    topics = []
    for n, line in _lines(path, "seed topics"):
        words = seed_words(line)
        if not words:
            raise LabelerError(f"seed topics file {Path(path).name}, line {n}: no words")
        topics.append(words)
    return topics


def read_zero_shot_topics(path: Path) -> list[str]:
    """A zero-shot file: one topic name a line."""
    names = []
    for n, line in _lines(path, "zero-shot", unique=True):
        name = " ".join(line.split())
        if not re.search(r"\w", name):
            raise LabelerError(f"zero-shot file {Path(path).name}, line {n}: no words")
        names.append(name)
    return check_zeroshot_topic_list(names)


def check_seed_topic_list(seed_topic_list: Sequence[Sequence[str]]) -> list[list[str]]:
    """The parameter as given in the API, checked like a file."""
    if isinstance(seed_topic_list, str) or not len(seed_topic_list):
        raise LabelerError("seed_topic_list must be a non-empty list of lists of words")
    checked = []
    for i, words in enumerate(seed_topic_list):
        if isinstance(words, str):
            raise LabelerError(f"seed_topic_list[{i}] is a string; give a list of words")
        words = [" ".join(str(w).split()) for w in words]
        words = [w for w in words if re.search(r"\w", w)]
        if not words:
            raise LabelerError(f"seed_topic_list[{i}] has no words")
        checked.append(words)
    return checked


def check_zeroshot_topic_list(names: Sequence[str]) -> list[str]:
    if isinstance(names, str) or not len(names):
        raise LabelerError("zeroshot_topic_list must be a non-empty list of topic names")
    names = [" ".join(str(n).split()) for n in names]
    for i, name in enumerate(names):
        if not re.search(r"\w", name):
            raise LabelerError(f"zero-shot topic {i + 1} has no words")
    seen = set()
    for name in names:
        if name.lower() in seen:
            raise LabelerError(f"zero-shot topic {name!r} is named twice")
        seen.add(name.lower())
    return names


def nudge(embeddings: np.ndarray, seed_vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """BERTopic's guided step: each document more similar to a seed list than to the corpus'
    mean is moved `SEED_PULL` of the way to that list's embedding. Returns the nudged copy (for
    UMAP and clustering only) and the seed list per document (-1: none)."""
    unit = vectors.unit(embeddings)
    anchors = vectors.unit(
        np.vstack([vectors.unit(seed_vectors), unit.mean(axis=0, keepdims=True)])
    )
    nearest = (unit @ anchors.T).argmax(axis=1)
    nearest[nearest == len(seed_vectors)] = -1
    nudged = unit.copy()
    for s in range(len(seed_vectors)):
        rows = nearest == s
        nudged[rows] = (1 - SEED_PULL) * unit[rows] + SEED_PULL * anchors[s]
    return nudged, nearest.astype(np.int64)


def zero_shot(
    embeddings: np.ndarray, name_vectors: np.ndarray, min_similarity: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per document: the named topic (-1: no name reached `min_similarity`), the most similar
    name whatever its similarity, and that cosine similarity."""
    sims = vectors.unit(embeddings) @ vectors.unit(name_vectors).T
    best = sims.argmax(axis=1).astype(np.int64)
    top = sims[np.arange(len(sims)), best].astype(np.float32)
    return np.where(top >= min_similarity, best, -1), best, top


def joining_clusters(
    labels: np.ndarray, embeddings: np.ndarray, name_vectors: np.ndarray, min_similarity: float
) -> dict[int, int]:
    """Clustered topics that are about a named topic: cluster id → name index, for each cluster
    whose centre (mean of its unit embeddings) reaches `min_similarity` to a name.

    A centre is closer to its theme than most single documents are (averaging cancels what each
    document says besides it), so a cluster of weather questions reaches "weather forecast" while
    most of its questions alone do not; without this the report shows the named topic and a
    second, keyword-labelled topic about the same thing (BERTopic's behaviour).
    """
    unit = vectors.unit(embeddings)
    names = vectors.unit(name_vectors)
    joined = {}
    for topic in np.unique(labels[labels >= 0]):
        centre = vectors.unit(unit[labels == topic].mean(axis=0, keepdims=True))[0]
        sims = names @ centre
        if sims.max() >= min_similarity:
            joined[int(topic)] = int(sims.argmax())
    return joined
