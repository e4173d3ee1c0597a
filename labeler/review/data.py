"""What a reviewer sees of a run: topics with their labels, evidence, history and flags.

Everything is read from disk on each request (labels and statuses from run.sqlite through
`labeler.views.run_view`, the topic records from topics.json), so a `labeler relabel` running
beside the
review server shows up on the next page load. Only what is expensive and changes rarely is kept in
memory: the documents and embeddings (reloaded when documents.parquet changes, i.e. after a
merge) and the flags (recomputed when a label or a topic changes).
"""

from __future__ import annotations

import json
import threading

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from labeler.defaults import MIX_SHOWN
from labeler.represent import STAGES as KEYWORD_STAGES
from labeler.represent import topic_vectors, unit
from labeler.review import flags as flagging
from labeler.run.folder import RunLike, as_run
from labeler.run.layout import DOCUMENTS, EMBEDDINGS, check_files
from labeler.run.records import MIX_COLUMNS
from labeler.views import run_view, thumbnails

DOC_CHARS = 2000  # a document longer than this is cut on the page and in the API
SAMPLE_DOCS = 6  # random documents per topic, beside the representative ones
NEIGHBOURS = 6  # nearest topics offered for a merge
FILTERS = ("all", "unreviewed", "flagged")
STAGES = tuple((s.name, s.key) for s in KEYWORD_STAGES)  # (name in the API, topics.json key)


class UnknownTopic(LookupError):
    """No such (non-outlier) topic in the run."""


def _cut(text: str) -> str:
    text = str(text)
    return text if len(text) <= DOC_CHARS else text[: DOC_CHARS - 1] + "…"


def _json_list(value) -> list | None:
    if value in (None, ""):
        return None
    try:
        return json.loads(value)
    except ValueError:
        return None


class ReviewRun:
    """Read access to one run for the review app. Thread-safe: requests run in a pool."""

    def __init__(self, run: RunLike, embed: flagging.Embed | None = None):
        self.run = as_run(run)
        self.run_dir = self.run.path
        self._embed = embed
        self._lock = threading.Lock()
        self._docs_stamp: tuple | None = None
        self._docs: pd.DataFrame | None = None
        self._vectors: np.ndarray | None = None
        self._topic_vectors: dict[int, np.ndarray] = {}
        self._doc_flags: dict[int, list[flagging.Flag]] = {}
        self._flags_key: tuple | None = None
        self._flags: dict[int, list[flagging.Flag]] = {}

    # ------------------------------------------------------------------ cached inputs
    def _stamp(self) -> tuple:
        stat = (self.run_dir / DOCUMENTS).stat()
        return (stat.st_mtime_ns, stat.st_size, stat.st_ino)

    def check(self) -> None:
        """The run's files against their contracts (`layout.check_files`; remembered while they
        are unchanged): a file damaged while the server runs is a LabelerError (a 4xx answer
        naming the file), never a crash."""
        check_files(self.run_dir, "review")

    def _load_documents(self) -> None:
        """(Re)read documents and embeddings when documents.parquet changed (a merge)."""
        self.check()
        stamp = self._stamp()
        if stamp == self._docs_stamp:
            return
        columns = ["doc_id", "text", "topic"]
        available = set(pq.read_schema(self.run_dir / DOCUMENTS).names)
        columns += [c for c in MIX_COLUMNS if c in available]  # runs before them lack them
        docs = pd.read_parquet(self.run_dir / DOCUMENTS, columns=columns)
        embeddings = np.load(self.run_dir / EMBEDDINGS, allow_pickle=False)
        topics = docs["topic"].to_numpy(dtype=np.int64)
        self._docs = docs
        self._vectors = unit(embeddings)
        self._topic_vectors = topic_vectors(embeddings, topics)
        self._doc_flags = flagging.duplicate_document_flags(self._vectors, topics)
        self._docs_stamp = stamp

    def documents(self) -> pd.DataFrame:
        with self._lock:
            self._load_documents()
            return self._docs

    def flags(self, records: list[dict]) -> dict[int, list[dict]]:
        """Flags per topic for these records, recomputed only when labels or sizes changed."""
        with self._lock:
            self._load_documents()
            key = (
                self._docs_stamp,
                tuple(
                    (r["topic"], r["label"], r["label_source"], tuple(r["label_flags"]), r["size"])
                    for r in records
                ),
            )
            if key != self._flags_key:
                labels = {r["topic"]: r for r in records}
                self._flags = flagging.merge_flags(
                    flagging.label_flags(labels, self._topic_vectors, self._embed),
                    flagging.size_flags({r["topic"]: r["size"] for r in records}),
                    self._doc_flags,
                )
                self._flags_key = key
            return {t: [f.as_dict() for f in fs] for t, fs in self._flags.items()}

    # ------------------------------------------------------------------ topics
    def records(self) -> list[dict]:
        """Real topics (no outliers) with current label, status and label history."""
        self.check()
        records = [r for r in run_view.topics(self.run) if int(r["topic"]) >= 0]
        for r in records:
            r["topic"] = int(r["topic"])
        return records

    def statuses(self) -> dict[int, dict]:
        return self.run.db.statuses()

    def summaries(self, filter_: str = "all", with_flags: bool = True) -> list[dict]:
        """One row per topic as `GET /api/topics` returns it, in topic order."""
        records = self.records()
        statuses = self.statuses()
        flags = self.flags(records) if with_flags else {}
        rows = [
            self._summary(r, statuses.get(r["topic"], {}), flags.get(r["topic"], []))
            for r in records
        ]
        return select(rows, filter_)

    @staticmethod
    def _summary(record: dict, status: dict, flags: list[dict]) -> dict:
        return {
            "id": record["topic"],
            "label": record["label"],
            "summary": record.get("summary"),
            "label_source": record.get("label_source"),
            "label_version": record.get("label_version"),
            "size": int(record["size"]),
            "share": record.get("share"),
            "keywords": [w for w, _ in record.get("keywords", [])],
            "status": record["status"],
            "reviewer": status.get("reviewer"),
            "reviewed_at": status.get("updated_at"),
            "flags": flags,
        }

    def topic(self, topic: int) -> dict:
        """One topic with its evidence, audit, label history and review log."""
        records = self.records()
        record = next((r for r in records if r["topic"] == topic), None)
        if record is None:
            raise UnknownTopic(topic)
        flags = self.flags(records)
        detail = self._summary(record, self.statuses().get(topic, {}), flags.get(topic, []))
        detail["keyword_stages"] = {
            stage: [[w, s] for w, s in record.get(key, [])] for stage, key in STAGES
        }
        ids = record.get("representative_doc_ids", [])
        texts = record.get("representative_docs", [])
        detail["representative_docs"] = [{"doc_id": d, "text": _cut(t)} for d, t in zip(ids, texts)]
        detail["sample_docs"] = self.sample_documents(topic, set(ids))
        # A multimodal run's image exemplars, inline (data: URIs; never a path on the page).
        detail["images"] = thumbnails.topic_thumbnails(self.run).get(topic, [])
        self._add_mix(topic, detail["representative_docs"] + detail["sample_docs"], records)
        history = [self._version(v) for v in record.get("history", [])]
        detail["history"] = history
        current = next((v for v in reversed(history) if v["is_current"]), None)
        detail["audit"] = current
        detail["reviews"] = self.reviews(topic)
        detail["neighbours"] = self.neighbours(topic, {r["topic"]: r for r in records})
        tree = self.tree()
        leaf = next((n for n in (tree or {}).get("nodes", []) if n["layer"] == 0
                     and n["id"] == topic), None)  # fmt: skip
        detail["parent"] = leaf["parent"] if leaf else None  # its group in the topic tree
        return detail

    @staticmethod
    def _version(row: dict) -> dict:
        keys = (
            "version",
            "label",
            "summary",
            "source",
            "prompt_name",
            "model",
            "flags",
            "created_at",
            "is_current",
            "raw_answer",
        )
        version = {k: row.get(k) for k in keys}
        version["is_current"] = bool(version["is_current"])
        version["request"] = _json_list(row.get("request"))
        version["params"] = _json_list(row.get("params"))
        return version

    def _add_mix(self, topic: int, shown: list[dict], records: list[dict]) -> None:
        """Each shown document's other topics with their shares (documents.parquet's mix, when
        the run has one): `also` = [{id, label, share}], from a share of 5% up (empty for a
        run without a mix)."""
        for doc in shown:
            doc["also"] = []
        docs = self.documents()
        if not set(MIX_COLUMNS) <= set(docs.columns) or not shown:
            return
        labels = {r["topic"]: r["label"] for r in records}
        rows = docs[docs["doc_id"].isin([d["doc_id"] for d in shown])]
        mixes = {_plain(d): list(zip(t, v)) for d, t, v in
                 zip(rows["doc_id"], rows["mix_topics"], rows["mix_shares"])}  # fmt: skip
        for doc in shown:
            mix = mixes.get(doc["doc_id"], [])
            doc["also"] = [
                {"id": int(t), "label": labels[int(t)], "share": round(float(v), 4)}
                for t, v in mix if int(t) != topic and int(t) in labels and v >= MIX_SHOWN
            ]  # fmt: skip

    def sample_documents(self, topic: int, exclude: set) -> list[dict]:
        """A seeded random sample of the topic's other documents: the same on every visit."""
        docs = self.documents()
        members = docs[(docs["topic"] == topic) & ~docs["doc_id"].isin(list(exclude))]
        if members.empty:
            return []
        rng = np.random.default_rng(topic)
        picked = rng.choice(len(members), min(SAMPLE_DOCS, len(members)), replace=False)
        rows = members.iloc[np.sort(picked)]
        pairs = zip(rows["doc_id"], rows["text"])
        return [{"doc_id": _plain(d), "text": _cut(t)} for d, t in pairs]

    def neighbours(self, topic: int, records: dict[int, dict]) -> list[dict]:
        """The most similar other topics (by mean document embedding): merge candidates."""
        with self._lock:
            self._load_documents()
            vectors = self._topic_vectors
        if topic not in vectors:
            return []
        others = [t for t in records if t != topic and t in vectors]
        sims = sorted(((float(vectors[topic] @ vectors[t]), t) for t in others), reverse=True)
        return [
            {"id": t, "label": records[t]["label"], "similarity": round(s, 3)}
            for s, t in sims[:NEIGHBOURS]
        ]

    def tree(self) -> dict | None:
        """The topic tree for review: hierarchy.json's nodes with their current names (topics'
        from their labels, the nodes' above from `node_labels`), each node's name history, and
        its children as `{id, label, size, layer}`; None for a run without a tree."""
        self.check()
        run = self.run
        tree = run.hierarchy()
        if tree is None:
            return None
        labels = {r["id"]: r for r in self.summaries("all", False)}
        names = run.db.current_node_labels()
        nodes = []
        for record in tree.get("nodes", []):
            node = {k: record.get(k) for k in ("id", "layer", "parent", "children", "size", "key")}
            node["keywords"] = [w for w, _ in record.get("keywords", [])][:8]
            if record["layer"] == 0:
                topic = labels.get(record["id"], {})
                node.update(label=topic.get("label", record["label"]),
                            summary=topic.get("summary"), source=topic.get("label_source"),
                            status=topic.get("status", "unreviewed"))  # fmt: skip
            else:
                current = names.get(record["key"]) or {}
                node.update(
                    label=current.get("label", record["label"]),
                    summary=current.get("summary"), source=current.get("source", "keywords"),
                    status="accepted" if current.get("source") == "review" else "unreviewed",
                    history=[self._version(r) for r in run.db.node_label_history(record["key"])],
                )  # fmt: skip
            nodes.append(node)
        by_id = {n["id"]: n for n in nodes}
        for n in nodes:
            n["children"] = [
                {k: by_id[c][k] for k in ("id", "label", "size", "layer")}
                for c in n["children"] or [] if c in by_id
            ]  # fmt: skip
            parent = by_id.get(n["parent"])
            n["parent"] = {"id": parent["id"], "label": parent["label"]} if parent else None
        return {"layers": tree.get("layers", []), "nodes": nodes}

    def reviews(self, topic: int | None = None) -> list[dict]:
        return self.run.db.reviews(topic)


def _plain(value):
    return value.item() if isinstance(value, np.generic) else value


def is_flagged(row: dict) -> bool:
    return bool(row["flags"])


def select(rows: list[dict], filter_: str) -> list[dict]:
    """The topics a filter shows: all, the unreviewed ones, or the flagged ones."""
    if filter_ == "unreviewed":
        return [r for r in rows if r["status"] == "unreviewed"]
    if filter_ == "flagged":
        return [r for r in rows if is_flagged(r)]
    return rows
