"""Labels that say something and say it once: a relevance check against the topic's documents,
and contrastive re-prompts for labels that collide."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from labeler.errors import LabelerError
from labeler.llm.answers import AnswerError, parse_distinct
from labeler.llm.client import LLMError
from labeler.llm.prompts import FENCE, data_line, load_prompt
from labeler.run.folder import Run, as_run
from labeler.run.records import query_model
from labeler.vectors import unit

log = logging.getLogger("labeler")

DUPLICATE_SIMILARITY = 0.9


def normalise(label: str) -> str:
    words = sorted(w.rstrip("s") for w in label.lower().replace("-", " ").split())
    return " ".join(words)


def duplicate_groups(labels: dict[int, str], embed=None) -> list[list[int]]:
    """Topics whose labels are the same up to case, order and plurals, or near in meaning."""
    ids = sorted(labels)
    parent = {t: t for t in ids}

    def find(t):
        while parent[t] != t:
            parent[t] = parent[parent[t]]
            t = parent[t]
        return t

    def union(a, b):
        parent[find(a)] = find(b)

    by_text: dict[str, int] = {}
    for t in ids:
        key = normalise(labels[t])
        if key in by_text:
            union(t, by_text[key])
        by_text.setdefault(key, t)
    vectors = embed([labels[t] for t in ids]) if embed is not None and len(ids) > 1 else None
    if vectors is not None:
        vectors = unit(vectors)
        sims = vectors @ vectors.T
        for i in range(len(ids)):
            for j in range(i + 1, len(ids)):
                if sims[i, j] >= DUPLICATE_SIMILARITY:
                    union(ids[i], ids[j])
    groups: dict[int, list[int]] = {}
    for t in ids:
        groups.setdefault(find(t), []).append(t)
    return [g for g in groups.values() if len(g) > 1]


def label_embedder(run: Run | Path, cache_dir: Path | None = None):
    """Embed labels with the run's own model, cached in `cache_dir` (the user's --cache-dir, so
    a relabel on a machine with a read-only home still caches), or None when unavailable."""
    from labeler.embedding import make_embedder
    from labeler.embedding.cache import EmbeddingCache
    from labeler.embedding.sbert import DEFAULT_MODEL, CachedEmbedder

    model = query_model(as_run(run).config()) or DEFAULT_MODEL
    embedder = CachedEmbedder(make_embedder(model, cache_dir), EmbeddingCache(cache_dir))

    def embed(texts):
        try:
            return embedder.embed(texts)
        except LabelerError as exc:
            log.warning("label similarity by text only: %s", exc)
            return None

    return embed


MIN_RELEVANCE = 0.1  # below this a label has nothing to do with its documents
CLEAR_RELEVANCE = 0.35  # above this a label clearly fits, whatever other topics score


def relevance_check(embed, vectors: dict[int, np.ndarray]):
    """A check that a label describes its own topic: a defence against answers that follow
    instructions planted in documents ("answer HACKED"), which fencing alone cannot stop in a
    small model. A label must be similar enough to its topic's documents, and unless it fits
    clearly, rank its own topic among the closest third of all topics."""
    ids = sorted(t for t in vectors if t >= 0)
    matrix = np.stack([vectors[t] for t in ids]) if ids else None

    def check(label: str, topic: int) -> None:
        if matrix is None or topic not in ids or len(ids) < 4:
            return
        vector = embed([label])
        if vector is None or vector.shape[1] != matrix.shape[1]:
            return
        sims = matrix @ (vector[0] / max(float(np.linalg.norm(vector[0])), 1e-9))
        own = float(sims[ids.index(topic)])
        rank = int((sims > own).sum())
        if own < MIN_RELEVANCE or (own < CLEAR_RELEVANCE and rank >= max(3, len(ids) // 3)):
            raise AnswerError(
                f"the label {label!r} does not describe these documents; name what they are about",
                check="relevance",
            )

    return check


def distinguish(
    asker,
    outcomes,
    inputs_by_id,
    repair,
    stats,
    embed,
    rounds: int = 2,
    language: str | None = None,
) -> None:
    """Re-prompt topics whose labels collide, together and contrastively; `language`: the
    labels' (ISO 639-1), which the prompt asks for."""
    from labeler.corpus.languages import language_name

    named = language_name(language) if language else None
    prompt = load_prompt("distinguish")
    llm_outcomes = {o.topic: o for o in outcomes if o.source == "llm"}
    # Collisions can be with topics labelled earlier and not relabelled now.
    labels = {t: inp.current_label for t, inp in inputs_by_id.items()}
    labels.update({t: o.label for t, o in llm_outcomes.items()})
    for _ in range(rounds):
        groups = [
            [t for t in group if t in llm_outcomes] for group in duplicate_groups(labels, embed)
        ]
        groups = [g for g in groups if g]
        if not groups:
            return
        for group in groups:
            members = sorted(set(group) | {t for t in labels if labels[t] == labels[group[0]]})
            members = [t for t in members if t in inputs_by_id][:8]
            if len(members) < 2:
                continue
            topics_ctx = [
                {
                    "id": t,
                    "label": labels[t],
                    "size": inputs_by_id[t].size,
                    "keywords": inputs_by_id[t].keywords[:8],
                    "documents": [data_line(d, 32) for d in inputs_by_id[t].documents[:2]],
                }  # fmt: skip
                for t in members
            ]
            schema = {
                "type": "object",
                "properties": {"labels": {"type": "object"}},
                "required": ["labels"],
            }
            try:
                renamed, _, _ = asker.answer(
                    lambda _tokens, _budget, ctx=topics_ctx: prompt.render(
                        topics=ctx, fence=FENCE, label_language=named
                    ),
                    lambda reply, ids=members: parse_distinct(reply, ids),
                    repair, ["labels"], schema,
                )  # fmt: skip
            except (LLMError, AnswerError) as exc:
                log.warning("could not tell topics %s apart: %s", members, exc)
                for t in members:
                    if t in llm_outcomes:
                        llm_outcomes[t].reasks.append(
                            {"check": "duplicate", "changed": False, "answer_changed": False}
                        )
                continue
            for t in members:  # each colliding topic was asked again: did its label change?
                if t in llm_outcomes:
                    changed = " ".join(renamed.get(t, labels[t]).casefold().split()) != " ".join(
                        llm_outcomes[t].label.casefold().split()
                    )
                    llm_outcomes[t].reasks.append(
                        {"check": "duplicate", "changed": changed, "answer_changed": changed}
                    )
            for t, label in renamed.items():
                if t in llm_outcomes and label != llm_outcomes[t].label:
                    llm_outcomes[t].label = label
                    labels[t] = label
                    stats.duplicates_resolved += 1
    # Still colliding after the re-prompts: make them distinct with a keyword and say so.
    for group in duplicate_groups(labels):
        # A label that stays as it is (reviewed, a zero-shot name, a topic not relabelled now)
        # keeps its words; the new answers around it change.
        kept = [t for t in group if t not in llm_outcomes]
        for t in [t for t in group if t != (kept or group)[0]]:
            if t not in llm_outcomes:
                continue
            outcome = llm_outcomes[t]
            taken = {normalise(v) for k, v in labels.items() if k != t}
            options = [f"{outcome.label} ({w})" for w in inputs_by_id[t].keywords]
            outcome.label = next(
                (o for o in options if normalise(o) not in taken), f"{outcome.label} ({t})"
            )
            outcome.flags.append("duplicate")
            labels[t] = outcome.label
