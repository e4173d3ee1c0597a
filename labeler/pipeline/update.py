"""`labeler update RUN NEW_DOCS`: add documents to a finished run without refitting it.

A growing corpus should not cost a refit, a relabel of every topic or a reviewer's work. So the
new documents are embedded with the run's own embedder (config.json records it) and assigned to
the existing topics by the fitted model's own rule (`reassign.knn_vote`, what
`TopicModel.transform` does: a similarity-weighted vote of the 15 nearest documents of the run,
whose outliers vote too), with one more rule for documents that fit no topic: a document joins
its voted topic only when it is at least as close to that topic's centre as the topic's own
documents mostly are (`FIT_QUANTILE`: the 5th percentile of their cosine to the centre). The
documents that fit no topic are clustered on their own (the fit's UMAP + HDBSCAN, with the run's
minimum topic size) and each cluster becomes a new topic with a new id (after the highest the
run ever had); the rest are outliers.

Every existing topic keeps its id, label, summary and review. A topic that received documents
is described again only to decide whether it *changed*: its top-10 c-TF-IDF keywords kept fewer
than half of the old ones (`KEYWORDS_KEPT`), or it grew by more than a quarter of its size
(`GROWTH`). A changed topic gets its new description (keywords, representative documents) and,
with an LLM, a new label; a reviewed one keeps its label and status, and the review log says it
changed. A topic that grew without changing keeps its record as it was, with its new size. Only
new and changed topics go to the LLM.

The change is a revision like a surgery's (`labeler.surgery`): recorded in run.sqlite, the files
it replaced (documents.parquet, embeddings.npy, topics.json, config.json, hierarchy.json) and the
label state kept in `revisions/<id>/`, so `labeler topics RUN undo` puts the run back byte for
byte. Nothing is written before every input is checked and the new documents are embedded.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from labeler import reassign, vectors
from labeler.cluster import cluster, default_min_cluster_size, reduce
from labeler.corpus import CorpusSpec
from labeler.errors import LabelerError, printable
from labeler.run.folder import Run
from labeler.run.layout import EMBEDDINGS
from labeler.run.records import params_from_config, query_model
from labeler.surgery import (
    OUTLIER,
    label_revision,
    next_topic_id,
    replan,
    tree_named,
    who_default,
)

log = logging.getLogger("labeler")

FIT_QUANTILE = 0.05  # a new document fits its voted topic at or above this quantile of the
# cosine between the topic's own documents and its centre
KEYWORDS_KEPT = 0.5  # a topic changed when fewer than this share of its top words stayed
TOP_WORDS = 10  # how many c-TF-IDF words that compares
GROWTH = 0.25  # a topic changed when it grew by more than this share of its size
NEIGHBOURS = 15  # the vote's neighbours, as TopicModel.transform
NEW = -2  # the new documents' side in the vote that finds what the run has not seen
DUPLICATE_CENTRE = 0.9  # a cluster of new documents this close to a topic's centre joins it


@dataclass
class Update:
    """What `update_run` did."""

    revision: int
    summary: str
    added: int  # documents added
    skipped: int  # documents skipped: their text is already in the run
    joined: int  # new documents that joined existing topics
    outliers: int  # new documents left as outliers
    new_topics: list[int]
    changed: list[int]  # existing topics described again (and relabelled with an LLM)
    counts: dict[int, tuple[int, int]]  # every topic whose size changed: (before, after)
    sizes: dict
    relabelled: list[int] = field(default_factory=list)
    llm: object | None = None
    llm_error: str | None = None
    parents: int = 0

    @property
    def llm_calls(self) -> int:
        return int(getattr(self.llm, "calls", 0) or 0)


@dataclass
class _New:
    """The new documents, checked and embedded."""

    frame: pd.DataFrame  # doc_id, text (+ timestamp, class)
    embeddings: np.ndarray
    skipped: int
    source: str


# ---------------------------------------------------------------------------- reading
def run_embedder(run: Run, cache_dir: Path | None = None):
    """The run's own embedder, rebuilt from config.json (as `labeler eval` and relabeling do),
    cached by text in the embedding cache."""
    from labeler.embedding import make_embedder
    from labeler.embedding.cache import EmbeddingCache
    from labeler.embedding.sbert import CachedEmbedder

    model = query_model(run.config())
    if not model:
        raise LabelerError(
            f"{run.name} was fitted on precomputed embeddings without --embedding-model: "
            "labeler update cannot embed new documents in its space"
        )
    return CachedEmbedder(make_embedder(model, cache_dir), EmbeddingCache(cache_dir))


def _id_kind(ids: pd.Series) -> str:
    return "int" if pd.api.types.is_integer_dtype(ids) else "str"


def read_new(run: Run, corpus: CorpusSpec, documents: pd.DataFrame) -> pd.DataFrame:
    """The new corpus as documents.parquet's first columns, those already in the run (same
    text) left out; refused when nothing is left or its ids cannot join the run's."""
    params = params_from_config(run.config())
    loaded = corpus.load(int(params.get("seed") or 42))
    frame = loaded.to_frame()
    known = set(documents["text"].astype(str))
    fresh = ~frame["text"].isin(known).to_numpy()
    skipped = int((~fresh).sum())
    frame = frame[fresh].reset_index(drop=True)
    name = printable(Path(corpus.path).name)
    if frame.empty:
        raise LabelerError(
            f"{name}: all {skipped:,} documents are already in {run.name} (same text): "
            "nothing to add"
        )
    kind = _id_kind(documents["doc_id"])
    if corpus.id_column is None:
        if kind != "int":
            raise LabelerError(
                f"{run.name}'s documents have ids of their own: give --id-column for the new "
                "documents' ids"
            )
        start = int(documents["doc_id"].max()) + 1 if len(documents) else 0
        frame["doc_id"] = np.arange(start, start + len(frame), dtype=np.int64)
    else:
        ids = frame["doc_id"]
        if kind == "int":
            as_int = pd.to_numeric(ids.astype(str), errors="coerce")
            if as_int.isna().any() or (as_int % 1 != 0).any():
                raise LabelerError(
                    f"--id-column {corpus.id_column!r}: {run.name}'s ids are numbers, but "
                    f"{name} has ids such as {printable(ids[as_int.isna()].iloc[0])!r}"
                )
            frame["doc_id"] = as_int.astype(np.int64)
        else:
            frame["doc_id"] = ids.astype(str)
        taken = frame["doc_id"].isin(set(documents["doc_id"]))
        if taken.any():
            raise LabelerError(
                f"--id-column {corpus.id_column!r}: {int(taken.sum()):,} ids of {name} are "
                f"already ids of {run.name} with another text (e.g. "
                f"{printable(frame['doc_id'][taken].iloc[0])!r})"
            )
    frame.attrs["skipped"] = skipped
    return frame


# ---------------------------------------------------------------------------- assigning
def fits(
    embeddings: np.ndarray, topics: np.ndarray, new: np.ndarray, voted: np.ndarray
) -> np.ndarray:
    """Whether each new document is close enough to its voted topic's centre to join it: at
    least the FIT_QUANTILE of the topic's own documents' cosine to the centre."""
    ids = reassign.topic_ids(topics)
    ok = np.zeros(len(new), dtype=bool)
    if not ids:
        return ok
    centres = vectors.centre_rows(embeddings, topics, ids)
    position = {t: i for i, t in enumerate(ids)}
    new_unit = vectors.unit(np.asarray(new, dtype=np.float32))
    for t in ids:
        rows = np.flatnonzero(voted == t)
        if not len(rows):
            continue
        members = np.flatnonzero(topics == t)
        own = vectors.unit(np.asarray(embeddings[members], dtype=np.float32)) @ centres[position[t]]
        floor = float(np.quantile(own, FIT_QUANTILE))
        ok[rows] = new_unit[rows] @ centres[position[t]] >= floor
    return ok


def cluster_rest(pool: np.ndarray, min_cluster_size: int, params: dict) -> np.ndarray:
    """The fit's clustering (5-d UMAP, HDBSCAN) on the documents that fit no topic: a cluster
    number per document (0 = largest), -1 for those that form none."""
    if len(pool) < max(2, min_cluster_size):
        return np.full(len(pool), OUTLIER, dtype=np.int64)
    reduced, _ = reduce(
        np.asarray(pool, dtype=np.float32), n_neighbors=int(params.get("n_neighbors") or 15),
        n_components=int(params.get("n_components") or 5), seed=int(params.get("seed") or 42),
        with_layout=False,
    )  # fmt: skip
    labels, _ = cluster(reduced, min_cluster_size, params.get("min_samples"))
    return labels


def _layout(documents: pd.DataFrame, nearest: np.ndarray, sims: np.ndarray) -> np.ndarray:
    """Map positions of new documents: the similarity-weighted mean of their neighbours'."""
    xy = documents[["x", "y"]].to_numpy(dtype=np.float64)
    weights = np.clip(sims, 0, None) + 1e-6
    weights = weights / weights.sum(axis=1, keepdims=True)
    return np.einsum("nk,nkd->nd", weights, xy[nearest]).astype(np.float32)


def _words(record: dict) -> list[str]:
    return [w for w, _ in (record.get("keywords") or [])[:TOP_WORDS]]


def changed_topic(before: dict, after: dict) -> bool:
    """Whether a topic that received documents changed enough to be described and labelled
    again: fewer than KEYWORDS_KEPT of its top words stayed, or it grew by more than GROWTH."""
    old, new = _words(before), set(_words(after))
    if old and len([w for w in old if w in new]) < KEYWORDS_KEPT * len(old):
        return True
    return int(after["size"]) - int(before["size"]) > GROWTH * max(int(before["size"]), 1)


def assign(
    embeddings: np.ndarray,
    topics: np.ndarray,
    new: np.ndarray,
    min_size: int,
    params: dict,
    next_id: int,
) -> tuple[np.ndarray, np.ndarray, list[int], np.ndarray, np.ndarray]:
    """Each new document's topic: (topics, probabilities, the new topics' ids, each document's
    nearest old documents and their similarities).

    1. A vote over the old *and* the new documents (`reassign.knn_vote`, itself left out): where
       the new documents win, the document is in a region the run has not seen, and it goes to
       the pool; elsewhere the winner (a topic, if the document `fits` it, or the outliers).
    2. The pool is clustered (`cluster_rest`); a cluster whose centre is as close to an existing
       topic's centre as DUPLICATE_CENTRE is that topic grown (it joins it), any other is a new
       topic; pooled documents in no cluster go by the vote over the old documents alone."""
    n_old = len(topics)
    old_vote, old_share, nearest, sims = reassign.knn_vote(new, embeddings, topics, NEIGHBOURS)
    old_fit = (old_vote != OUTLIER) & fits(embeddings, topics, new, old_vote)
    by_old = np.where(old_fit, old_vote, OUTLIER)
    share_old = np.where(old_fit, old_share, 0.0)
    # the vote with the new documents as one more "topic" (NEW), each one's own row left out
    both = np.concatenate([np.asarray(embeddings, dtype=np.float32), new])
    labels = np.concatenate([topics, np.full(len(new), NEW, dtype=np.int64)])
    _, _, idx, near = reassign.knn_vote(new, both, labels, NEIGHBOURS + 1)
    unseen = np.zeros(len(new), dtype=bool)
    for row in range(len(new)):
        keep = idx[row] != n_old + row
        votes: dict[int, float] = {}
        for t, w in zip(labels[idx[row][keep]], np.clip(near[row][keep], 0, None) + 1e-6):
            votes[int(t)] = votes.get(int(t), 0.0) + float(w)
        unseen[row] = max(votes, key=votes.get) == NEW
    out = by_old.copy()
    probability = share_old.astype(np.float32)
    pool = np.flatnonzero(unseen | ~old_fit)
    parts = cluster_rest(new[pool], min_size, params)
    ids = reassign.topic_ids(topics)
    centres = vectors.centre_rows(embeddings, topics, ids)
    new_ids: list[int] = []
    for part in range(int(parts.max()) + 1 if len(parts) else 0):
        rows = pool[parts == part]
        centre = vectors.unit(new[rows].mean(axis=0, keepdims=True))[0]
        sim = centres @ centre if len(ids) else np.zeros(0)
        log.debug(
            "new cluster of %d: nearest topic centre %.3f",
            len(rows),
            float(sim.max()) if len(ids) else 0.0,
        )
        if len(ids) and float(sim.max()) >= DUPLICATE_CENTRE:
            out[rows] = ids[int(sim.argmax())]  # an existing topic's documents, more of them
            probability[rows] = 1.0
            continue
        out[rows] = next_id
        probability[rows] = 1.0
        new_ids.append(next_id)
        next_id += 1
    return out, probability, new_ids, nearest, sims


# ---------------------------------------------------------------------------- the step
def update_run(
    run: Run,
    corpus: CorpusSpec,
    *,
    settings=None,
    chat=None,
    who: str | None = None,
    cache_dir: Path | None = None,
    embedder=None,
) -> Update:
    """Add the documents of `corpus` to `run` as one revision (see the module docstring):
    `settings` None keeps keyword labels; `embedder` (anything with `embed(texts)`) replaces the
    run's own. The reports are the caller's to render."""
    run.check("topics")  # every file the update reads or rewrites, before anything is read
    documents = run.documents()
    old_embeddings = run.embeddings()
    if len(old_embeddings) != len(documents):
        raise LabelerError(
            f"{run.name}: embeddings.npy has {len(old_embeddings):,} rows for {len(documents):,} "
            "documents: `labeler run` again rebuilds the folder"
        )
    if run.config().get("scale"):
        raise LabelerError(
            f"{run.name} was fitted on a sample (--sample-fit): labeler update adds documents "
            "to runs of the ordinary path"
        )
    frame = read_new(run, corpus, documents)
    skipped = int(frame.attrs.get("skipped", 0))
    embedder = embedder or run_embedder(run, cache_dir)
    log.info("embedding %s new documents", f"{len(frame):,}")
    new_vectors = np.asarray(embedder.embed(frame["text"].tolist()), dtype=np.float32)
    if new_vectors.shape != (len(frame), old_embeddings.shape[1]):
        raise LabelerError(
            f"the run's embedder gave vectors of shape {new_vectors.shape}, but {run.name}'s "
            f"are {old_embeddings.shape[1]}-dimensional: not the model the run was fitted with"
        )
    new = _New(frame, new_vectors, skipped, printable(Path(corpus.path).name))
    return _apply(run, documents, old_embeddings, new, settings, chat, who, cache_dir)


def _apply(run, documents, old_embeddings, new: _New, settings, chat, who, cache_dir) -> Update:
    params = params_from_config(run.config())
    before = documents["topic"].to_numpy(dtype=np.int64)
    n_old, n_new = len(documents), len(new.frame)
    hdb = run.config().get("hdbscan", {})
    min_size = int(
        hdb.get("min_cluster_size") or params.get("min_cluster_size")
        or default_min_cluster_size(n_old)
    )  # fmt: skip

    topics_new, probability, new_ids, nearest, sims = assign(
        old_embeddings, before, new.embeddings, min_size, params, next_topic_id(run, before)
    )
    joined = np.isin(topics_new, reassign.topic_ids(before))

    # documents.parquet and embeddings.npy with the new rows after the old ones
    rows = new.frame.copy()
    rows["topic"] = topics_new
    rows["probability"] = np.round(probability, 5)
    layout = _layout(documents, nearest, sims)
    rows["x"], rows["y"] = layout[:, 0], layout[:, 1]
    rows["representative"] = False
    combined = pd.concat([documents, rows[[c for c in rows.columns if c in documents.columns]]],
                         ignore_index=True)  # fmt: skip
    if "duplicate" in combined.columns:
        combined["duplicate"] = combined["text"].duplicated(keep=False).to_numpy()
    combined = combined[list(documents.columns)]
    embeddings = np.concatenate(
        [np.asarray(old_embeddings), new.embeddings.astype(old_embeddings.dtype)]
    )
    after = combined["topic"].to_numpy(dtype=np.int64)

    gained = {int(t) for t in np.unique(topics_new)}
    from labeler.labels.distinct import label_embedder

    docs, records, keyword_labels = replan(
        run, combined, after, gained, label_embedder(run, cache_dir), embeddings
    )
    old_records = {int(r["topic"]): r for r in run.topics()}
    n = len(docs)
    changed, kept = [], []
    out = []
    for record in records:
        t = int(record["topic"])
        old = old_records.get(t)
        if t < 0 or old is None or t not in gained:
            out.append(record)
            continue
        if changed_topic(old, record):
            changed.append(t)
            out.append(record)
            continue
        kept.append(t)  # grew without changing: its record as it was, with its new size
        size = int((after == t).sum())
        out.append({**old, "size": size, "share": round(size / n, 5)})
    for record in out:  # every share is of the grown corpus
        record["share"] = round(int(record["size"]) / n, 5)
    if kept and "representative" in docs.columns:
        was = np.concatenate([documents["representative"].to_numpy(bool), np.zeros(n_new, bool)])
        rows_kept = np.isin(after, kept)
        docs.loc[rows_kept, "representative"] = was[rows_kept]
    counts = {
        t: (int((before == t).sum()), int((after == t).sum()))
        for t in sorted({*reassign.topic_ids(before), *reassign.topic_ids(after), OUTLIER})
        if int((before == t).sum()) != int((after == t).sum())
    }
    sizes = {
        "topics_before": len(reassign.topic_ids(before)),
        "topics_after": len(reassign.topic_ids(after)),
        "outliers_before": int((before == OUTLIER).sum()),
        "outliers_after": int((after == OUTLIER).sum()),
    }
    n_joined, n_out = int(joined.sum()), int((topics_new == OUTLIER).sum())
    formed = n_new - n_joined - n_out
    summary = (
        f"added {n_new:,} documents from {new.source}"
        + (f" ({new.skipped:,} already in the run skipped)" if new.skipped else "")
        + f": {n_joined:,} joined topics"
        + (f", {formed:,} formed {len(new_ids)} new topic(s)" if new_ids else ", no new topic")
        + f", {n_out:,} outliers"
    )
    args = {
        "corpus": new.source,
        "documents": n_new,
        "skipped_duplicates": new.skipped,
        "joined": n_joined,
        "outliers": n_out,
        "new_topics": new_ids,
        "changed": sorted(changed),
        "counts": {str(t): list(c) for t, c in counts.items()},
        "rules": {"fit_quantile": FIT_QUANTILE, "keywords_kept": KEYWORDS_KEPT,
                  "growth": GROWTH, "min_cluster_size": min_size},
    }  # fmt: skip
    touched = sorted({*changed, *new_ids, *([OUTLIER] if OUTLIER in gained else [])})
    db = run.db
    current = db.current_labels()
    statuses = db.status_names()
    who = who or who_default()
    made: dict[str, int] = {}

    def record(tx) -> None:
        revision = tx.add_revision("update", args, summary, who, sizes, touched)
        made["revision"] = revision
        run.keep_files(revision, tx, extra=(EMBEDDINGS,))  # before any label changes
        for t in new_ids:
            tx.add_label_version(t, keyword_labels[t], summary=None, source="keywords",
                                 flags=["update"])  # fmt: skip
        for t in changed:
            if (current.get(t) or {}).get("source", "keywords") == "keywords":
                tx.add_label_version(t, keyword_labels[t], summary=None, source="keywords",
                                     flags=["update"])  # fmt: skip
            if statuses.get(t, "unreviewed") != "unreviewed":
                c = counts.get(t, (0, 0))
                tx.record_review(
                    t, "revision", current.get(t), current.get(t),
                    f"revision {revision} added documents ({c[0]} → {c[1]}); its label and "
                    f"review are kept: look again", who,
                )  # fmt: skip

    named_tree = tree_named(run)
    run.replace_topics(docs, out, change=record, embeddings=embeddings)
    revision = made["revision"]
    update = Update(
        revision, summary, n_new, new.skipped, n_joined, n_out, new_ids, sorted(changed),
        counts, sizes,
    )  # fmt: skip
    ask = sorted({*new_ids, *changed})
    if settings is not None and ask:
        from labeler.labels.labeling import PROTECTED

        if label_revision(run, revision, ask, update, settings, chat, cache_dir, named_tree):
            kept = {*PROTECTED, "not_a_topic"}  # label_topics leaves their labels as they are
            update.relabelled = [t for t in ask if db.status_names().get(t) not in kept]
    elif settings is not None:
        db.set_revision_calls(revision, 0)
    run.refresh()
    return update
