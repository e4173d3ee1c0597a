"""Flags that steer a reviewer to the labels most worth a second look.

A reviewer of forty topics reads the first few carefully and skims the rest; the flags point at
the ones where a label is most likely wrong, each with a reason a person can check on the page:

- `duplicate-label`: the label equals or nearly equals another topic's (same words up to case,
  order and plurals, or closer than 0.9 by embedding; labeling's own rule), or the LLM had to be
  told apart by a keyword;
- `fits-other-topic`: the label is closer, by embedding, to another topic's documents than to its
  own, so a reader would file these documents under the wrong name;
- `keyword-label`: the topic has no LLM label (the LLM failed, was unreachable or not used);
- `small` / `large`: under half or over 2.5 times the median topic size: often a fragment or a
  catch-all that a label cannot describe well;
- `near-duplicate-documents`: most documents have a near twin in the topic (cosine >= 0.95):
  a template or a bot rather than a subject;
- `narrow-label`: the label names what only a few documents or one sub-group hold, and the LLM
  kept it when asked again (`labels/narrow.py`, the coverage check);
- `unsupported-claim`: the LLM kept writing a number, date or name that the topic's documents do
  not contain; the labeler removed it, and the raw answer shows what it was.

Every function here is pure (arrays and dicts in, flags out), so the thresholds are testable
without a server.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from statistics import median

import numpy as np

from labeler.labels.distinct import duplicate_groups
from labeler.represent import unit

SMALL_SHARE_OF_MEDIAN = 0.5
LARGE_SHARE_OF_MEDIAN = 2.5
NEAR_DUPLICATE = 0.95  # cosine between two documents that say the same thing
MOSTLY = 0.5  # share of a topic's documents with a near twin that makes it "mostly"
FITS_MARGIN = 0.02  # another topic must beat the own one by this much, not by noise
MAX_PAIRWISE = 1500  # documents per topic compared pairwise (a seeded sample beyond)

Embed = Callable[[list[str]], "np.ndarray | None"]


@dataclass
class Flag:
    """One reason to look again: a machine-readable kind, a sentence, and topics it points to."""

    kind: str
    detail: str
    topics: list[int] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)


def stored_flags(labels: dict[int, dict]) -> dict[int, list[Flag]]:
    """Flags from how the current label was made (label source and the labeler's own flags)."""
    flags: dict[int, list[Flag]] = {}
    for topic, current in labels.items():
        marks = set(current.get("label_flags") or [])
        found = []
        if current.get("label_source") == "keywords":
            if "llm-unreachable" in marks:
                reason = "the LLM was unreachable, so the topic kept its keyword label"
            elif "fallback" in marks:
                reason = "the LLM's answers were unusable, so the topic kept its keyword label"
            else:
                reason = "a keyword label: no LLM label was made for this topic"
            found.append(Flag("keyword-label", reason))
        if "duplicate" in marks:
            found.append(
                Flag("duplicate-label", "the LLM named another topic the same; a keyword was added")
            )
        if "unsupported-claim" in marks:
            found.append(
                Flag(
                    "unsupported-claim",
                    "asked again, the LLM still wrote a number, date or name that the documents "
                    "do not contain; it was removed (the raw answer shows it)",
                )
            )
        if "narrow" in marks:
            found.append(
                Flag(
                    "narrow-label",
                    "asked again, the LLM still named words that only a few of the topic's "
                    "documents hold (one document or one sub-group, not the topic)",
                )
            )
        if found:
            flags[topic] = found
    return flags


def duplicate_label_flags(labels: dict[int, str], vectors: dict[int, np.ndarray] | None):
    """Labels the same up to case, order and plurals, or near in meaning (labeling's rule)."""
    embed = None
    if vectors is not None:

        def embed(texts: list[str]) -> np.ndarray:  # duplicate_groups embeds in sorted-id order
            return np.stack([vectors[t] for t in sorted(labels)])

    flags: dict[int, list[Flag]] = {}
    for group in duplicate_groups(labels, embed):
        for topic in group:
            others = [t for t in group if t != topic]
            names = ", ".join(f"{t} ({labels[t]!r})" for t in others)
            flags.setdefault(topic, []).append(
                Flag("duplicate-label", f"same or nearly the same label as topic {names}", others)
            )
    return flags


def misfit_flags(
    labels: dict[int, str], label_vectors: dict[int, np.ndarray], topic_vectors: dict
) -> dict[int, list[Flag]]:
    """Labels closer (by embedding) to another topic's documents than to their own."""
    ids = sorted(t for t in topic_vectors if t >= 0 and t in label_vectors)
    if len(ids) < 2:
        return {}
    matrix = np.stack([topic_vectors[t] for t in ids])
    flags: dict[int, list[Flag]] = {}
    for topic in ids:
        sims = matrix @ unit(label_vectors[topic])
        own = float(sims[ids.index(topic)])
        best = int(np.argmax(sims))
        if ids[best] != topic and float(sims[best]) > own + FITS_MARGIN:
            other = ids[best]
            flags[topic] = [
                Flag(
                    "fits-other-topic",
                    f"the label fits topic {other}'s documents better ({float(sims[best]):.2f}) "
                    f"than its own ({own:.2f})",
                    [other],
                )
            ]
    return flags


def size_flags(sizes: dict[int, int]) -> dict[int, list[Flag]]:
    """Topics far below or above the median size."""
    real = {t: s for t, s in sizes.items() if t >= 0}
    if len(real) < 3:
        return {}
    middle = median(real.values())
    flags: dict[int, list[Flag]] = {}
    for topic, size in real.items():
        if size < SMALL_SHARE_OF_MEDIAN * middle:
            flags[topic] = [
                Flag("small", f"{size} documents, under half the median topic ({middle:g})")
            ]
        elif size > LARGE_SHARE_OF_MEDIAN * middle:
            flags[topic] = [
                Flag("large", f"{size} documents, over 2.5 times the median topic ({middle:g})")
            ]
    return flags


def near_duplicate_share(vectors: np.ndarray, seed: int = 0) -> float:
    """Share of documents that have a near twin (cosine >= NEAR_DUPLICATE) among the others."""
    if len(vectors) < 2:
        return 0.0
    if len(vectors) > MAX_PAIRWISE:
        rng = np.random.default_rng(seed)
        vectors = vectors[rng.choice(len(vectors), MAX_PAIRWISE, replace=False)]
    normed = unit(vectors)
    sims = normed @ normed.T
    np.fill_diagonal(sims, -1.0)
    return float((sims.max(axis=1) >= NEAR_DUPLICATE).mean())


def duplicate_document_flags(embeddings: np.ndarray, topics: np.ndarray) -> dict[int, list[Flag]]:
    """Topics mostly made of near-duplicate documents."""
    flags: dict[int, list[Flag]] = {}
    for topic in np.unique(topics):
        if topic < 0:
            continue
        share = near_duplicate_share(embeddings[topics == topic], seed=int(topic))
        if share >= MOSTLY:
            flags[int(topic)] = [
                Flag(
                    "near-duplicate-documents",
                    f"{share:.0%} of the documents have a near-identical twin in the topic",
                )
            ]
    return flags


def merge_flags(*parts: dict[int, list[Flag]]) -> dict[int, list[Flag]]:
    """Combine flag maps; one flag per kind and topic (the first reason wins)."""
    merged: dict[int, list[Flag]] = {}
    for part in parts:
        for topic, flags in part.items():
            kinds = {f.kind for f in merged.get(topic, [])}
            for flag in flags:
                if flag.kind not in kinds:
                    merged.setdefault(topic, []).append(flag)
                    kinds.add(flag.kind)
    return merged


def label_flags(
    labels: dict[int, dict], topic_vectors: dict[int, np.ndarray], embed: Embed | None
) -> dict[int, list[Flag]]:
    """Every label-dependent flag. `labels`: topic → {label, label_source, label_flags}."""
    texts = {t: str(v["label"]) for t, v in labels.items()}
    vectors = None
    if embed is not None and texts:
        ids = sorted(texts)
        found = embed([texts[t] for t in ids])
        if found is not None and len(found) == len(ids):
            vectors = dict(zip(ids, np.asarray(found, dtype=np.float32)))
    parts = [duplicate_label_flags(texts, vectors), stored_flags(labels)]
    if vectors is not None:
        dims = {v.shape[0] for v in topic_vectors.values()}
        if dims == {next(iter(vectors.values())).shape[0]}:
            parts.append(misfit_flags(texts, vectors, topic_vectors))
    return merge_flags(*parts)
