"""The label step: LLM labels and summaries for the topics of a saved run.

Reads only what the fit left on disk (topics.json, documents.parquet, embeddings.npy) and writes
only label versions, the answer cache (both in run.sqlite) and the label fields of topics.json
(`Run.refresh()`); it never renders the reports: its caller does, once (`labeler.api.label_run`,
the commands, the review app). Every answer is cached by content as soon as it arrives, so a
rerun with the same prompt makes no call and an interrupted run resumes with the topics still
missing. No topic's bad answer stops the run: it falls back to its keyword label, flagged.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from labeler import vectors
from labeler.corpus.languages import Detector, corpus_languages, detector, language_name
from labeler.errors import LabelerError
from labeler.guided import USER_SOURCES
from labeler.labels import claims as claim_check
from labeler.labels import exemplars as cover
from labeler.labels.distinct import (  # noqa: F401 - re-exported for the review app
    distinguish,
    duplicate_groups,
    label_embedder,
    relevance_check,
)
from labeler.labels.injection import injection_check
from labeler.labels.narrow import narrow_words, too_narrow
from labeler.labels.progress import Progress
from labeler.llm.answers import (
    AnswerError,
    clean_label,
    clean_summary,
    label_schema,
    parse_label,
)
from labeler.llm.asker import Asker, LabelStats, Outcome, cache_key, cache_lookup
from labeler.llm.client import ChatModel, LLMError, Unreachable
from labeler.llm.prompts import FENCE, Prompt, estimate_tokens, fit_messages, load_prompt
from labeler.llm.settings import (  # noqa: F401 - LLMSettings is part of this module's API
    LLMSettings,
    identity_without_starting,
    open_chat_model,
)
from labeler.run.folder import Run, as_run

log = logging.getLogger("labeler")

NEIGHBOURS = 3
# Reviewed topics a relabel leaves alone unless forced: an accepted or edited label stays, and a
# rejected LLM label must not come back from the answer cache.
PROTECTED = {"accepted", "edited", "rejected"}
# Label sources a keyword fallback (a failed answer) never replaces.
KEPT_OVER_KEYWORDS = ("llm", "review", *USER_SOURCES)


# ---------------------------------------------------------------------------------- inputs
@dataclass
class LabelInput:
    id: int
    size: int
    keywords: list[str]
    keybert: list[str]
    mmr: list[str]
    documents: list[str]
    keyword_label: str
    current_label: str
    representative_ids: list = field(default_factory=list)
    members: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    split: bool = False  # large or spread-out: its sub-groups are looked for
    # Set by TopicDocuments.prepare: the prompt's exemplars and sub-groups, and what the answer is
    # checked against (documents the prompt did not show; what the documents say).
    exemplars: list[str] | None = None
    groups: list[dict] = field(default_factory=list)
    subgroups: cover.SubGroups | None = None
    held_out: list[np.ndarray] = field(default_factory=list)
    evidence: claim_check.Evidence | None = None

    @property
    def words(self) -> list[str]:
        """The three keyword stages merged, c-TF-IDF first, each word once: the stages overlap
        heavily, and every repeated word is prompt time on a small CPU."""
        return list(dict.fromkeys([*self.keywords, *self.keybert, *self.mmr]))

    def context(self) -> dict:
        return {
            "id": self.id, "size": self.size, "keywords": self.keywords,
            "keybert": self.keybert, "mmr": self.mmr, "words": self.words,
        }  # fmt: skip


class TopicDocuments:
    """The run's documents and embeddings, for choosing a topic's exemplars and checking its
    answer against the documents the prompt did not show. Topics are prepared on first use, once
    (labeling threads share it)."""

    def __init__(self, texts: list[str], embeddings: np.ndarray, doc_ids: list):
        self.texts = texts
        self.vectors = vectors.unit(embeddings)
        self.row = {d: i for i, d in enumerate(doc_ids)}
        self._lock = threading.Lock()

    def prepare(self, topic: LabelInput, prompt: Prompt) -> LabelInput:
        with self._lock:
            if topic.exemplars is not None:
                return topic
            members = topic.members
            if len(members) == 0:  # nothing on disk to go by: the fit's documents as they are
                topic.exemplars = list(topic.documents)
                return topic
            vectors = self.vectors[members]
            split = cover.find_subgroups if topic.split else lambda v, seed: cover.one_group(v)
            groups = split(vectors, seed=max(topic.id, 0))
            # The fit's representative documents, with the text topics.json holds for them.
            position = {int(r): i for i, r in enumerate(members)}
            preferred, text_of = [], {}
            for doc_id, text in zip(topic.representative_ids, topic.documents):
                row = self.row.get(doc_id)
                if row is not None and row in position:
                    preferred.append(position[row])
                    text_of[position[row]] = text
            n = cover.exemplar_count(topic.size, groups.k, prompt.min_docs, prompt.max_docs)
            chosen = cover.choose_exemplars(vectors, groups, preferred, n)
            topic.exemplars = [text_of.get(i, self.texts[members[i]]) for i in chosen]
            topic.subgroups = groups
            if groups.k > 1:
                texts = [self.texts[i] for i in members]
                words = cover.subgroup_keywords(texts, groups)
                topic.groups = [
                    {"share": share, "keywords": kws}
                    for share, kws in zip(groups.shares, words)
                ]  # fmt: skip
                topic.held_out = cover.held_out(groups, chosen, seed=max(topic.id, 0))
            return topic

    def evidence(self, topic: LabelInput, extra: list[str]) -> claim_check.Evidence:
        """What the topic's documents and keywords say (built on the first claim to check)."""
        with self._lock:
            if topic.evidence is None:
                texts = [self.texts[i] for i in topic.members]
                words = [*topic.words, *(w for g in topic.groups for w in g["keywords"])]
                topic.evidence = claim_check.Evidence(
                    [*texts, *topic.documents, " ".join(words), *extra]
                )
            return topic.evidence


def load_inputs(run: Run | Path) -> tuple[list[LabelInput], dict[int, np.ndarray]]:
    inputs, vectors, _ = load_topics(as_run(run))
    return inputs, vectors


def load_topics(run: Run) -> tuple[list[LabelInput], dict[int, np.ndarray], TopicDocuments]:
    topics = run.topics()
    db = run.db
    labels = db.current_labels()
    fitted_labels = db.keyword_labels()  # the latest keyword label (a merge makes a new one)
    docs = run.documents(columns=["doc_id", "text", "topic"])
    embeddings = run.embeddings()
    from labeler.represent import topic_vectors

    assignments = docs["topic"].to_numpy()
    vectors = topic_vectors(embeddings, assignments)
    corpus = TopicDocuments(docs["text"].astype(str).tolist(), embeddings, docs["doc_id"].tolist())
    inputs = []
    for r in topics:
        if r.get("is_outlier") or r["topic"] < 0:
            continue
        words = [w for w, _ in r.get("keywords", [])]
        keyword_label = fitted_labels.get(int(r["topic"]), "_".join([str(r["topic"]), *words[:3]]))
        inputs.append(
            LabelInput(
                id=int(r["topic"]),
                size=int(r["size"]),
                keywords=words,
                keybert=[w for w, _ in r.get("keywords_keybert", [])],
                mmr=[w for w, _ in r.get("keywords_mmr", [])],
                documents=list(r.get("representative_docs", [])),
                keyword_label=keyword_label,
                current_label=labels.get(int(r["topic"]), {}).get("label", keyword_label),
                representative_ids=list(r.get("representative_doc_ids", [])),
                members=np.flatnonzero(assignments == int(r["topic"])),
            )  # fmt: skip
        )
    sizes = {t.id: len(t.members) for t in inputs}
    spreads = {t.id: cover.spread(corpus.vectors[t.members]) for t in inputs if len(t.members)}
    split = cover.worth_splitting(sizes, spreads, len(assignments))
    for t in inputs:
        t.split = t.id in split
    return inputs, vectors, corpus


def neighbours_of(
    topic: LabelInput, inputs: list[LabelInput], vectors: dict[int, np.ndarray]
) -> list[dict]:
    """The most similar other topics, by their keywords only (stable across reruns)."""
    others = [t for t in inputs if t.id != topic.id]
    if not others or topic.id not in vectors:
        return []
    sims = [float(vectors[topic.id] @ vectors[t.id]) for t in others]
    order = np.argsort(sims)[::-1][:NEIGHBOURS]
    return [
        {"label": ", ".join(others[i].keywords[:3]), "keywords": others[i].keywords[:6]}
        for i in order
    ]


# ---------------------------------------------------------------------------------- the step
def label_topics(
    run: Run,
    settings: LLMSettings,
    topics: list[int] | None = None,
    force: bool = False,
    dry_run: bool = False,
    chat: ChatModel | None = None,
    cache_dir: Path | None = None,
    tree: bool = False,
    label_language: str | None = None,
) -> LabelStats:
    """Label (or relabel) the topics of a saved run; returns what it cost.

    With `tree`, the topic tree's layers above the topics are named afterwards with the same
    model (`labeler.labels.naming`; its cost in `stats.tree`): nodes whose children's names did not
    change find their answers cached. `label_language` (else `settings.label_language`, else the
    one the run's labels were asked in, config.json's `llm.label_language`): the prompt asks for
    that language, and an answer that py3langid finds in another is asked about once, then
    kept, flagged `wrong-language`. Ends with `run.refresh()`; the reports are the caller's."""
    if label_language is not None:
        settings = dataclasses.replace(settings, label_language=label_language)
    settings = with_label_language(run, settings)
    prompt = load_prompt(settings.prompt)
    repair = load_prompt("repair")
    inputs, vectors, corpus = load_topics(run)
    if topics is not None:
        unknown = sorted(set(topics) - {t.id for t in inputs})
        if unknown:
            raise LabelerError(f"no such topic(s) in {run.name}: {unknown}")
        selected = [t for t in inputs if t.id in set(topics)]
    else:
        selected = list(inputs)
    stats = LabelStats()
    statuses = run.db.status_names()
    if not force:
        kept = [t for t in selected if statuses.get(t.id) in PROTECTED]
        stats.skipped_reviewed = len(kept)
        selected = [t for t in selected if statuses.get(t.id) not in PROTECTED]
        # A zero-shot or custom name is the user's: it stays until a review or --force.
        sources = {t: r.get("source") for t, r in run.db.current_labels().items()}
        stats.skipped_named = sum(sources.get(t.id) in USER_SOURCES for t in selected)
        selected = [t for t in selected if sources.get(t.id) not in USER_SOURCES]
    selected = [t for t in selected if statuses.get(t.id) != "not_a_topic"]
    schema = label_schema(prompt.fields)

    # Only servers that continue a trailing assistant message get the prompt's prefill: the
    # packaged one (no base URL: `open_chat_model` serves it with llama.cpp), or an injected
    # chat model that says so.
    supports = getattr(chat, "supports_prefill", False) if chat is not None else settings.is_local
    prefill = prompt.has_prefill and supports
    language = settings.label_language

    def builder(topic: LabelInput):
        corpus.prepare(topic, prompt)
        context = {
            "topic": topic.context(),
            "groups": topic.groups,
            "neighbours": neighbours_of(topic, inputs, vectors),
            "corpus_description": settings.corpus_description,
            "label_language": language_name(language) if language else None,
        }
        return lambda doc_tokens, budget: fit_messages(
            prompt, topic.exemplars, budget, prefill=prefill,
            doc_tokens=prompt.doc_cut(len(topic.exemplars), doc_tokens), **context,
        )  # fmt: skip

    if dry_run:
        return estimate(run, selected, builder, settings, chat, schema, prompt.doc_tokens)

    started = time.perf_counter()
    nodes = 0
    if tree and run.hierarchy() is not None:
        from labeler.labels.naming import planned_nodes

        nodes = planned_nodes(run.tree())
    with contextlib.ExitStack() as stack:
        # One bar over the topics and the tree's nodes: its ETA is the whole step's.
        progress = stack.enter_context(
            Progress(len(selected), desc="labeling topics", unit="label", nodes=nodes)
        )
        if chat is None:
            chat = stack.enter_context(open_chat_model(settings, cache_dir))
        asker = Asker(run.db, chat, settings, stats)
        embed = remembered(label_embedder(run, cache_dir))
        fits = relevance_check(embed, vectors)
        told = prompt.instructions(fence=FENCE, corpus_description=settings.corpus_description)
        told += " " + (settings.corpus_description or "")
        told_words = claim_check.Evidence([told]).words
        others = tuple(corpus_languages(run.config().get("languages")))
        detect = detector(language, others) if language else None

        def parse(reply: str, topic: LabelInput) -> dict:
            answer = parse_label(reply, prompt.fields)
            fits(answer["label"], topic.id)
            injection_check(answer["label"], topic.documents, topic.words)
            answer = check_claims(answer, topic, corpus, told, told_words, names=not language
                                  or language == "en")  # fmt: skip
            if detect is not None:
                check_language(answer, detect)
            check_coverage(answer, topic, corpus, embed)
            check_narrow(answer, topic, corpus)
            return answer

        outcomes = ask_all(
            asker, selected, builder, parse, prompt, repair, schema, settings, progress
        )
        if outcomes:
            distinguish(
                asker, outcomes, {t.id: t for t in inputs}, repair, stats, embed,
                language=language,
            )  # fmt: skip
        for o in outcomes:
            stats.count_reasks(o.reasks)
        stats.topics = len(selected)
        stats.seconds = time.perf_counter() - started
        stats.new_versions = save_outcomes(run, outcomes, prompt, chat, settings)
        if tree and run.hierarchy() is not None:
            from labeler.labels.naming import name_tree

            run.refresh()  # the parents' prompts read their children's new labels
            progress.describe("naming the tree")
            stats.tree = name_tree(run, settings, chat=chat, progress=progress)
        stats.progress = (progress.done, progress.total)
    record_settings(run, settings, chat)
    run.refresh()
    return stats


def with_label_language(run: Run, settings: LLMSettings) -> LLMSettings:
    """`settings` with the label language checked (a code), or the run's recorded one: a
    relabel without --label-language keeps the language the labels were asked in."""
    if settings.label_language is None:
        recorded = (run.config().get("llm") or {}).get("label_language")
        if recorded:
            settings = dataclasses.replace(settings, label_language=recorded)
    if settings.label_language is not None:
        settings = dataclasses.replace(settings).check()
    return settings


def check_language(answer: dict, detect: Detector) -> None:
    """An answer in another language than the asked one is asked about again (once: the asker's
    soft repair), then kept as it is, flagged `wrong-language`."""
    text = " ".join(p for p in (answer["label"], answer.get("summary")) if p)
    found = detect.wrong(text)
    if found is None:
        return
    asked = language_name(detect.target)
    flags = sorted({*answer.get("flags", []), "wrong-language"})
    raise AnswerError(
        f"the answer is in {language_name(found)}, not {asked}: write the label"
        + (" and the summary" if answer.get("summary") else "")
        + f" in {asked}",
        fallback={**answer, "flags": flags},
        check="language",
    )


def remembered(embed):
    """`embed` with each text's vector kept: a label is embedded for the relevance check and again
    for the coverage check."""
    memory: dict[str, np.ndarray | None] = {}
    lock = threading.Lock()

    def embed_once(texts: list[str]):
        missing = [t for t in dict.fromkeys(texts) if t not in memory]
        if missing:
            found = embed(missing)
            with lock:
                for i, t in enumerate(missing):
                    memory[t] = None if found is None else np.asarray(found[i])
        vectors = [memory.get(t) for t in texts]
        return None if any(v is None for v in vectors) else np.stack(vectors)

    return embed_once


def check_claims(
    answer: dict,
    topic: LabelInput,
    corpus: TopicDocuments,
    told: str,
    ignore: set[str],
    names: bool = True,
) -> dict:
    """Numbers, dates and names the documents do not support: asked about again (the error names
    them), and if the model insists, removed from the answer, which is flagged. `told`: the
    prompt's instructions and the corpus description, whose words (`ignore`) are never claims.
    `names`: whether capitalised words count as names; only in English (German capitalises
    every noun, so an answer asked in another language is checked for numbers and dates)."""
    found = {
        "label": claim_check.find_claims(answer["label"], title_case=True, ignore=ignore),
        "summary": claim_check.find_claims(answer["summary"] or "", ignore=ignore),
    }
    if not names:
        found = {part: [c for c in cs if c.kind in ("date", "year", "number")]
                 for part, cs in found.items()}  # fmt: skip
    if not any(found.values()):
        return answer
    evidence = corpus.evidence(topic, [told])
    bad = {part: claim_check.unsupported(c, evidence) for part, c in found.items()}
    if not any(bad.values()):
        return answer
    claims = [c for part in ("label", "summary") for c in bad[part]]
    named = ", ".join(dict.fromkeys(c.describe() for c in claims))
    problem = (
        f"the documents do not mention {named}; state only what the documents say, "
        "with no names, numbers or dates of your own"
    )
    try:
        label = clean_label(claim_check.remove_claims(answer["label"], bad["label"], True))
        summary = answer["summary"]
        if summary and bad["summary"]:
            summary = clean_summary(claim_check.remove_claims(summary, bad["summary"]))
    except AnswerError:
        # nothing usable is left without the claims
        raise AnswerError(problem, check="claims") from None
    flags = sorted({*answer.get("flags", []), "unsupported-claim"})
    raise AnswerError(problem, fallback={**answer, "label": label, "summary": summary,
                                         "flags": flags}, check="claims")  # fmt: skip


def check_coverage(answer: dict, topic: LabelInput, corpus: TopicDocuments, embed) -> None:
    """A label that fits one of the topic's sub-groups far better than another (judged on
    documents the prompt did not show) is asked about again, with the sub-groups named."""
    groups = topic.subgroups
    if groups is None or groups.k < 2 or not topic.held_out:
        return
    vector = embed([answer["label"]])
    if vector is None or vector.shape[1] != corpus.vectors.shape[1]:
        return
    members = corpus.vectors[topic.members]
    best, missed = cover.uncovered(vector[0], members, topic.held_out, groups.shares)
    if not missed:
        return

    def about(g: int) -> str:
        return f"{', '.join(topic.groups[g]['keywords'])} ({groups.shares[g]:.0%})"

    others = "; ".join(about(g) for g in missed)
    raise too_narrow(
        answer, "label", f"the documents about {about(best)}", "topic", others, "coverage"
    )


def check_narrow(answer: dict, topic: LabelInput, corpus: TopicDocuments) -> None:
    """A label whose words only a few of the topic's documents hold (`labels/narrow.py`) is
    asked about again; kept, flagged `narrow`, if the next answer is no better."""
    texts = [corpus.texts[i] for i in topic.members] or list(topic.documents)
    rare = narrow_words(answer["label"], texts)
    if not rare:
        return
    flags = sorted({*answer.get("flags", []), "narrow"})
    raise AnswerError(
        f"the label {answer['label']!r} names {', '.join(repr(w) for w in rare)}, found in only a "
        f"few of the topic's {len(texts)} documents: name what most of the documents "
        "are about, not one of them",
        fallback={**answer, "flags": flags},
        check="narrow",
    )


def ask_all(
    asker, selected, builder, parse, prompt, repair, schema, settings, progress: Progress
) -> list[Outcome]:
    """Every selected topic's outcome, in topic order: `settings.workers` topics in flight (the
    packaged server decodes `settings.server_slots` of them together). Each answer is cached as
    it arrives, so an interrupted step resumes with the topics still missing."""

    def one(topic: LabelInput) -> Outcome:
        reasks: list[dict] = []
        try:
            value, messages, reply = asker.answer(
                builder(topic), lambda r: parse(r, topic), repair,
                prompt.fields, schema, doc_tokens=prompt.doc_tokens, reasks=reasks,
            )  # fmt: skip
            flags = list(value.get("flags", []))
            label, summary = value["label"], value["summary"]
            return Outcome(topic.id, label, summary, "llm", flags, messages, reply, reasks)
        except (LLMError, AnswerError) as exc:
            flag = "llm-unreachable" if isinstance(exc, Unreachable) else "fallback"
            log.warning("topic %d: %s; keeping its keyword label", topic.id, exc)
            with asker.stats.lock:
                asker.stats.fallbacks += 1
            return Outcome(topic.id, topic.keyword_label, None, "keywords", [flag], reasks=reasks)

    outcomes: list[Outcome] = []
    if not selected:
        return outcomes
    pool = ThreadPoolExecutor(max_workers=settings.workers)
    try:
        futures = [pool.submit(one, t) for t in selected]
        for future in as_completed(futures):
            outcomes.append(future.result())
            progress.update(1)
    except BaseException:
        pool.shutdown(wait=True, cancel_futures=True)  # answers so far are cached: resumable
        raise
    pool.shutdown(wait=True)
    return sorted(outcomes, key=lambda o: o.topic)


def record_settings(run: Run, settings: LLMSettings, chat: ChatModel) -> None:
    """config.json says which LLM and prompt produced the current labels (no secrets)."""
    config = run.config()
    config["llm"] = {**settings.public(), "identity": chat.identity}
    run.write_config(config)


def save_outcomes(run: Run, outcomes: list[Outcome], prompt: Prompt, chat, settings) -> int:
    """One new version per topic whose label, summary, prompt or model changed.

    A failed answer never replaces an earlier LLM label: it only lands where the topic had
    nothing better than keywords."""
    db = run.db
    current = db.current_labels()
    added = 0
    with db.transaction() as tx:
        for o in outcomes:
            before = current.get(o.topic, {})
            if o.source == "keywords" and before.get("source") in KEPT_OVER_KEYWORDS:
                continue
            if o.same_as(before, prompt, chat.identity):
                continue
            flags = sorted(set(o.flags))
            tx.add_label_version(
                o.topic, o.label, summary=o.summary, source=o.source,
                prompt_name=prompt.name, prompt_hash=prompt.text_hash, model=chat.identity,
                params=o.params(settings), flags=flags,
                request=json.dumps(o.request) if o.request else None, raw_answer=o.raw,
            )  # fmt: skip
            added += 1
    return added


def estimate(run: Run, selected, builder, settings, chat, schema, doc_tokens) -> LabelStats:
    """--dry-run: how many calls and tokens labeling would cost, given what is cached."""
    stats = LabelStats(topics=len(selected))
    identity = chat.identity if chat is not None else identity_without_starting(settings)
    for topic in selected:
        messages = builder(topic)(doc_tokens, settings.prompt_budget)
        if cache_lookup(run.db, cache_key(identity, messages, schema, settings)) is not None:
            stats.cache_hits += 1
            continue
        stats.calls += 1
        stats.prompt_tokens += sum(estimate_tokens(m["content"]) for m in messages)
        stats.completion_tokens += settings.max_tokens
    return stats
