"""Names that survive a refit: `labeler run CORPUS --prior OLD_RUN`.

A refit (new parameters, more data) renumbers and reshapes topics, and a user should not lose
the labels, summaries and reviews the old run's topics earned. So after the fit each new topic
is matched to at most one old topic by the documents they share (documents are the same when
their texts are): a one-to-one Hungarian matching (scipy's `linear_sum_assignment`) of largest
total Jaccard index between the two topics' sets of distinct texts. A pair counts as a match
when the documents they share are at least `MIN_OVERLAP` (half) of each: most of the new topic
was the old one, and most of the old one is in it. So a topic split in two keeps its name on
one half at most (the larger, when it holds at least half), two topics merged into one give it
the larger one's name, and a topic that grew or lost a few documents keeps its own. (A Jaccard
threshold of 0.5 is stricter where the sizes differ: an old topic of 38 documents whose new
topic is 20 of them plus 4 others, Jaccard 0.48, would lose its name.) Documents that were the
old run's outliers do not count on the new topic's side: a steered refit puts fewer documents
in the outliers (on 20 Newsgroups 10% against 25%), and an old topic of 46 posts that took in
53 old outliers is that topic grown, not another one (it lost its name that way before).
Documents new to the corpus do count, so a new theme that took in a few old documents does not
take their topic's name.

A matched topic gets the old topic's current label version (label, summary, source, model,
prompt; flagged `prior`) and its review status (with a line in the review log saying where it
came from); a keyword label is never carried (it names the old topic's number), nor over a
zero-shot or custom name of the new run. Only topics without a carried label go to the LLM.

Matching alone loses names to chance: UMAP and HDBSCAN with 1% more documents split or merge a
few topics differently (on 2,000 documents of BANKING77, CLINC150 and Stack Overflow titles,
86-89% of the old names survived). So a refit with a prior is steered toward the old topics
first (`prior_targets`, `TopicModel.fit(prior_topics=...)`): the old documents' topics are
target-supervised UMAP's partial targets (new documents and old outliers unknown) at the weak
weight of a semi-supervised fit, and HDBSCAN still finds the topics in that layout, so new
themes can still form. A refit that changes the clustering's parameters (`CLUSTERING_PARAMS`)
is not steered: it is meant to make other topics, and it gets them; its names are carried by
overlap alone.

The old run is read whole (`read_prior`) before the new one is written, so `--prior` may name
the folder the new run replaces (`--out reports/x --prior reports/x`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from labeler.errors import LabelerError, printable
from labeler.guided import USER_SOURCES
from labeler.run.folder import Run
from labeler.run.layout import DATABASE, DOCUMENTS, check_files, check_run

MIN_OVERLAP = 0.5
OUTLIER = -1
# The parameters that shape the clusters: a refit that changes one of them is a deliberate
# reshaping, so it is not steered toward the old topics (`steers`). With a larger
# min_cluster_size, steering packs the old topics' documents into groups the new size turns
# into outliers: BANKING77's 2,000 + 1% at min_cluster_size 40, ARI 0.23 steered, 0.28 not.
CLUSTERING_PARAMS = ("min_cluster_size", "min_samples", "cluster_selection", "max_topic_share",
                     "n_topics", "hdbscan_model")  # fmt: skip
_CARRIED_FIELDS = ("summary", "source", "prompt_name", "prompt_hash", "model", "request",
                   "raw_answer", "params", "flags")  # fmt: skip


@dataclass
class Prior:
    """The old run's topics (their distinct texts) and names, read before anything is written."""

    name: str
    members: dict[int, set[str]]
    labels: dict[int, dict]  # current label version per topic
    statuses: dict[int, dict]  # review status rows per topic
    params: dict = field(default_factory=dict)  # the old run's TopicModel parameters
    outliers: frozenset[str] = frozenset()  # texts the old run left in no topic

    def steers(self, params: dict) -> list[str]:
        """The clustering parameters (`CLUSTERING_PARAMS`) in which `params` differ from the
        old run's: a refit is steered toward the old topics only when there are none (and
        neither uses its own clusterer)."""
        changed = [k for k in CLUSTERING_PARAMS if params.get(k) != self.params.get(k)]
        if not changed and params.get("hdbscan_model") is not None:
            changed = ["hdbscan_model"]
        return changed


@dataclass
class Carried:
    """What `carry_labels` did: new topic → (old topic, Jaccard) for every match."""

    prior: str
    matches: dict[int, tuple[int, float]] = field(default_factory=dict)
    carried: list[int] = field(default_factory=list)  # new topics that got an old label
    reviews: list[int] = field(default_factory=list)  # ... and an old review status
    unmatched: list[int] = field(default_factory=list)  # new topics with no carried label

    def line(self) -> str:
        total = len(self.carried) + len(self.unmatched)
        return (
            f"prior {self.prior}: {len(self.matches)} of {total} topics matched, "
            f"{len(self.carried)} names and {len(self.reviews)} reviews carried, "
            f"{len(self.unmatched)} topics to name"
        )


def read_prior(path: str | Path) -> Prior:
    """The old run at `path`: refused unless it is a finished run whose documents and database
    read."""
    path = Path(path)
    check_run(path)
    check_files(path, "labels", names=(DOCUMENTS, DATABASE))
    run = Run(path)
    docs = run.documents(columns=["text", "topic"])
    members = _members(docs["text"].astype(str).to_numpy(), docs["topic"].to_numpy())
    placed = set().union(*members.values()) if members else set()
    outliers = set(docs.loc[docs["topic"].to_numpy() == OUTLIER, "text"].astype(str)) - placed
    return Prior(
        name=printable(path.name),
        members=members,
        labels=run.db.current_labels(),
        statuses=run.db.statuses(),
        params=dict(run.config().get("params") or {}),
        outliers=frozenset(outliers),
    )


def prior_targets(prior: Prior, texts) -> np.ndarray:
    """The old run's topic of each of `texts` (-1: new, or an outlier there), for
    `TopicModel.fit(prior_topics=...)`: the refit's reduction is steered toward the old topics,
    so that a few more documents do not reshuffle UMAP's layout and HDBSCAN's clusters with it
    (without it, refitting 2,000 documents plus 1% kept 86-89% of the names; with it, 98-100%:
    `benchmarks/update.py`)."""
    owner = {text: t for t, members in prior.members.items() for text in members}
    return np.array([owner.get(str(text), OUTLIER) for text in texts], dtype=np.int64)


def _members(texts: np.ndarray, topics: np.ndarray) -> dict[int, set[str]]:
    frame = pd.DataFrame({"text": texts, "topic": np.asarray(topics, dtype=np.int64)})
    frame = frame[frame["topic"] != OUTLIER]
    return {int(t): set(g["text"]) for t, g in frame.groupby("topic")}


def match_topics(
    old: dict[int, set[str]],
    new: dict[int, set[str]],
    min_overlap: float = MIN_OVERLAP,
    outliers: frozenset[str] | set[str] = frozenset(),
) -> dict[int, tuple[int, float]]:
    """new topic → (old topic, Jaccard index) for the one-to-one matching of largest total
    Jaccard index, pairs sharing less than `min_overlap` of either topic's documents left out.
    `outliers`: the old run's outliers' texts, left out of the new topics' sizes."""
    from scipy.optimize import linear_sum_assignment

    old_ids, new_ids = sorted(old), sorted(new)
    if not old_ids or not new_ids:
        return {}
    owner = {text: t for t in old_ids for text in old[t]}
    shared = np.zeros((len(new_ids), len(old_ids)))
    position = {t: j for j, t in enumerate(old_ids)}
    for i, t in enumerate(new_ids):
        for text in new[t]:
            j = position.get(owner.get(text, OUTLIER))
            if j is not None:
                shared[i, j] += 1
    sizes_new = np.array([len(new[t] - outliers) for t in new_ids], dtype=float)[:, None]
    sizes_old = np.array([len(old[t]) for t in old_ids], dtype=float)[None, :]
    jaccard = shared / np.maximum(sizes_new + sizes_old - shared, 1)
    rows, cols = linear_sum_assignment(-jaccard)
    least = np.minimum(shared / np.maximum(sizes_new, 1), shared / np.maximum(sizes_old, 1))
    return {
        new_ids[i]: (old_ids[j], round(float(jaccard[i, j]), 4))
        for i, j in zip(rows, cols)
        if shared[i, j] > 0 and least[i, j] >= min_overlap
    }


def _fields(row: dict) -> dict:
    out = {name: row.get(name) for name in _CARRIED_FIELDS}
    for name in ("params", "flags"):
        value = out[name]
        if isinstance(value, str):
            try:
                out[name] = json.loads(value)
            except ValueError:
                out[name] = [value] if name == "flags" else None
    out["flags"] = [*(out["flags"] or []), "prior"]
    return out


def carry_labels(
    run: Run, prior: Prior, *, min_overlap: float = MIN_OVERLAP, who: str | None = None
) -> Carried:
    """Give each topic of the new `run` that matches one of `prior`'s (`match_topics`) the old
    topic's current label and review status; ends with `run.refresh()`."""
    if not 0.0 < float(min_overlap) <= 1.0:
        raise LabelerError(f"min_overlap takes a share above 0 and at most 1, not {min_overlap}")
    docs = run.documents(columns=["text", "topic"])
    new = _members(docs["text"].astype(str).to_numpy(), docs["topic"].to_numpy())
    result = Carried(prior.name, match_topics(prior.members, new, min_overlap, prior.outliers))
    current = run.db.current_labels()
    with run.db.transaction() as tx:
        for t in sorted(new):
            found = result.matches.get(t)
            row = prior.labels.get(found[0]) if found else None
            mine = (current.get(t) or {}).get("source")
            if not row or row.get("source", "keywords") == "keywords" or mine in USER_SOURCES:
                result.unmatched.append(t)
                continue
            old, jaccard = found
            tx.add_label_version(t, row["label"], **_fields(row))
            result.carried.append(t)
            status = prior.statuses.get(old)
            if status and (status.get("status") or "unreviewed") != "unreviewed":
                tx.record_review(
                    t, "prior", current.get(t), row,
                    f"carried from {prior.name} topic {old} (Jaccard {jaccard:.2f}): "
                    f"{status['status']} there", who or status.get("reviewer"),
                )  # fmt: skip
                tx.set_status(t, status["status"], status.get("reviewer"), status.get("updated_at"))
                result.reviews.append(t)
    run.refresh()
    return result
