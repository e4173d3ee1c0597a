"""Review decisions: validate a request, record it, and change the label it concerns.

Each decision is one transaction in run.sqlite: the `reviews` row (what, who, when, the label and
summary before and after, the note), the topic's `topic_status` and, where the label changes, a
new label version. SQLite commits it durably before the reply is sent, so a server killed right
after a click loses nothing. topics.json is synced after the commit and `on_change` is called: the
review app re-renders the reports in the background there (`ReportRenderer`, with the renderer the
app hands it; nothing here imports one). Both are derived from the database and catch up on the
next decision or `labeler report`.

Statuses: accept → accepted, edit → edited (both kept by `labeler relabel` unless --force),
reject → rejected (back to the keyword label), or, when the reviewer asks the LLM to try again
with a note, the topic is relabelled and becomes unreviewed (the new label awaits a look);
not_a_topic → not_a_topic (never relabelled); note leaves the status alone; merge makes the kept
topic unreviewed with a regenerated label and removes the other one; split divides a topic along
its sub-groups (new topics, unreviewed, labelled). Merges, splits and outlier reduction are
revisions of the run (`labeler.surgery`), so `labeler topics RUN undo` takes them back.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

from labeler.errors import LabelerError
from labeler.run.folder import Run, RunLike, as_run

log = logging.getLogger("labeler")

ACTIONS = ("accept", "edit", "reject", "note", "not_a_topic", "merge", "split")
REJECT_MODES = ("keywords", "relabel")
MAX_LABEL = 120
MAX_SUMMARY = 1000
MAX_NOTE = 2000


class ReviewError(Exception):
    """A request that cannot be carried out; `status` is the HTTP status to answer with."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class Decision:
    """A validated review request (the JSON body of `POST /api/topics/{id}/review`)."""

    action: str
    label: str | None = None
    summary: str | None = None
    summary_given: bool = False
    note: str | None = None
    mode: str = "keywords"
    other: int | None = None


def _text(body: dict, key: str, limit: int, one_line: bool = False) -> str | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ReviewError(400, f"{key!r} must be a string")
    value = " ".join(value.split()) if one_line else value.strip()
    if len(value) > limit:
        raise ReviewError(400, f"{key!r} is longer than {limit} characters")
    return value


def parse_decision(body) -> Decision:
    """Check a request body; raises ReviewError(400) with a sentence for the person or script."""
    if not isinstance(body, dict):
        raise ReviewError(400, "the body must be a JSON object")
    action = body.get("action")
    if action not in ACTIONS:
        raise ReviewError(400, f"'action' must be one of {', '.join(ACTIONS)}")
    unknown = set(body) - {"action", "label", "summary", "note", "mode", "other"}
    if unknown:
        raise ReviewError(400, f"unknown field(s): {', '.join(sorted(unknown))}")
    decision = Decision(
        action=action,
        label=_text(body, "label", MAX_LABEL, one_line=True),
        summary=_text(body, "summary", MAX_SUMMARY),
        summary_given="summary" in body,
        note=_text(body, "note", MAX_NOTE) or None,
        mode=body.get("mode") or "keywords",
    )
    if decision.mode not in REJECT_MODES:
        raise ReviewError(400, f"'mode' must be one of {', '.join(REJECT_MODES)}")
    if action == "edit":
        if decision.label is None and not decision.summary_given:
            raise ReviewError(400, "an edit needs a 'label' and/or a 'summary'")
        if decision.label is not None and not decision.label:
            raise ReviewError(400, "the label cannot be empty")
    if action == "note" and not decision.note:
        raise ReviewError(400, "a note needs a 'note'")
    if action == "reject" and decision.mode == "relabel" and not decision.note:
        raise ReviewError(400, "a relabel needs a 'note' telling the LLM what was wrong")
    if action == "merge":
        other = body.get("other")
        if isinstance(other, bool) or not isinstance(other, int):
            raise ReviewError(400, "a merge needs 'other': the id of the topic to merge into this")
        decision.other = other
    return decision


NODE_ACTIONS = ("accept", "edit")


def parse_node_decision(body) -> Decision:
    """A decision on a topic-tree node's name (`POST /api/nodes/{id}/review`): accept it as it
    is, or edit its label and/or summary."""
    if not isinstance(body, dict) or body.get("action") not in NODE_ACTIONS:
        raise ReviewError(400, f"'action' must be one of {', '.join(NODE_ACTIONS)}")
    unknown = set(body) - {"action", "label", "summary", "note"}
    if unknown:
        raise ReviewError(400, f"unknown field(s): {', '.join(sorted(unknown))}")
    return parse_decision(body)


# ---------------------------------------------------------------------------- the reviewer
class Reviewer:
    """Carries out decisions on one run, one at a time (decisions write files)."""

    def __init__(
        self,
        run: RunLike,
        reviewer: str,
        settings=None,
        chat=None,
        on_change: Callable[[], None] | None = None,
        embed=None,
    ):
        self.run = as_run(run)
        self.reviewer = reviewer
        # LLMSettings, or None: no LLM (relabels are refused, merged topics keep keyword labels)
        self.settings = settings
        self.chat = chat  # an open chat model shared by every relabel, or None: opened per relabel
        self.on_change = on_change or (lambda: None)
        self.embed = embed
        self.db = self.run.db
        self._lock = threading.Lock()

    def review_node(self, node_id: int, decision: Decision) -> dict:
        """Accept or edit the name of a node above the topics: a new version of its name with
        source `review`, which `labeler relabel` keeps unless --force. Returns the node."""
        with self._lock:
            self.run.check("review")  # a file damaged while serving: one 4xx line, no write
            tree = self.run.hierarchy() or {}
            node = next(
                (n for n in tree.get("nodes", []) if n["id"] == node_id and n["layer"] > 0), None
            )
            if node is None:
                raise ReviewError(404, f"no topic-tree node {node_id} above the topics")
            current = self.db.current_node_labels().get(node["key"]) or {}
            label = current.get("label", node["label"])
            summary = current.get("summary")
            if decision.action == "edit":
                label = decision.label or label
                summary = decision.summary if decision.summary_given else summary
            self.db.add_node_label_version(
                node["key"], node["layer"], label, summary=summary or None, source="review",
                model=self.reviewer, params={"note": decision.note} if decision.note else None,
            )  # fmt: skip
            self.run.refresh()
            self.on_change()
            return {"id": node_id, "label": label, "summary": summary or None, "source": "review"}

    def topics(self) -> set[int]:
        return {int(r["topic"]) for r in self.run.topics() if int(r["topic"]) >= 0}

    def apply(self, topic: int, decision: Decision) -> dict:
        """Carry out one decision on `topic`; returns the reviews row written."""
        with self._lock:
            self.run.check("review")
            if topic not in self.topics():
                raise ReviewError(404, f"no topic {topic} in this run")
            handler = getattr(self, f"_{decision.action}")
            row = handler(topic, decision)
            # Inside the lock: a refresh racing a merge could write the merged-away topic back.
            # The reports are rendered in the background (on_change → ReportRenderer).
            self.run.refresh()
        self.on_change()
        return row

    def _simple(self, topic: int, decision: Decision, action: str, status: str | None) -> dict:
        with self.db.transaction() as tx:
            current = tx.current_label(topic)
            return tx.record_review(
                topic, action, current, current, decision.note, self.reviewer, status
            )

    def _accept(self, topic: int, decision: Decision) -> dict:
        return self._simple(topic, decision, "accept", "accepted")

    def _note(self, topic: int, decision: Decision) -> dict:
        return self._simple(topic, decision, "note", None)

    def _not_a_topic(self, topic: int, decision: Decision) -> dict:
        return self._simple(topic, decision, "not_a_topic", "not_a_topic")

    def _edit(self, topic: int, decision: Decision) -> dict:
        with self.db.transaction() as tx:
            before = tx.current_label(topic) or {}
            label = decision.label if decision.label is not None else before.get("label")
            summary = before.get("summary")
            if decision.summary_given:
                summary = decision.summary or None
            if label == before.get("label") and summary == before.get("summary"):
                raise ReviewError(400, "the edit changes nothing (to keep the label, accept it)")
            tx.add_label_version(topic, label, summary=summary, source="review", flags=[])
            after = {"label": label, "summary": summary}
            return tx.record_review(
                topic, "edit", before, after, decision.note, self.reviewer, "edited"
            )

    def _reject(self, topic: int, decision: Decision) -> dict:
        if decision.mode == "relabel":
            return self._relabel(topic, decision)
        with self.db.transaction() as tx:
            before = tx.current_label(topic) or {}
            keyword = tx.keyword_label(topic) or before.get("label")
            after = before
            if before.get("source") != "keywords" or before.get("label") != keyword:
                tx.add_label_version(topic, keyword, summary=None, source="keywords", flags=[])
                after = {"label": keyword, "summary": None}
            return tx.record_review(
                topic, "reject", before, after, decision.note, self.reviewer, "rejected"
            )

    def _llm(self):
        if self.settings is None:
            raise ReviewError(
                409, "no LLM configured: start `labeler review` with --llm or --llm-base-url"
            )
        return self.settings

    def _label_with_llm(self, topic: int | list[int], settings):
        from labeler.labels.labeling import label_topics

        topics = [topic] if isinstance(topic, int) else list(topic)
        try:
            return label_topics(self.run, settings, topics=topics, force=True, chat=self.chat)
        except LabelerError as exc:
            raise ReviewError(502, f"the LLM could not relabel topic {topic}: {exc}") from exc

    def _relabel(self, topic: int, decision: Decision) -> dict:
        """Ask the LLM again, telling it the rejected label and the reviewer's note."""
        settings = self._llm()
        before = self.db.current_label(topic) or {}
        hint = (
            f"A reviewer rejected the label {before.get('label')!r} for this topic and noted: "
            f"{decision.note}"
        )
        described = " ".join(p for p in (settings.corpus_description, hint) if p)
        self._label_with_llm(topic, dataclasses.replace(settings, corpus_description=described))
        with self.db.transaction() as tx:
            after = tx.current_label(topic) or {}
            if after.get("version") == before.get("version"):
                raise ReviewError(
                    502,
                    "the LLM gave no new label (unreachable, unusable answers, or the same label "
                    "again); nothing was changed",
                )
            return tx.record_review(
                topic, "reject", before, after, decision.note, self.reviewer, "unreviewed"
            )

    def _merge(self, topic: int, decision: Decision) -> dict:
        """Merge topic `other` into `topic`; the merged topic gets a regenerated label."""
        from labeler import surgery

        other = int(decision.other)
        if other not in self.topics():
            raise ReviewError(404, f"no topic {other} in this run")
        if other == topic:
            raise ReviewError(400, "a topic cannot be merged with itself")
        with self.db.transaction() as tx:
            before = tx.current_label(topic) or {}
            gone = tx.current_label(other) or {}
        try:
            plan = surgery.plan_merge(self.run, [topic, other], embed=self.embed)
        except LabelerError as exc:
            raise ReviewError(400, str(exc)) from exc
        merged_note = f"merged topic {other} ({gone.get('label')!r}) into this topic"
        rows = []

        def record(tx, revision: int, marked: list[int]) -> None:
            note = " ".join(p for p in (merged_note + ".", decision.note) if p)
            tx.record_review(
                other, "merge", gone, None, f"merged into topic {topic}", self.reviewer
            )
            after = {"label": plan.keyword_labels[topic], "summary": None}
            rows.append(
                tx.record_review(topic, "merge", before, after, note, self.reviewer, "unreviewed")
            )

        return self._change(plan, record, [topic], rows)

    def _split(self, topic: int, decision: Decision) -> dict:
        """Split `topic` along its sub-groups: the largest part keeps the id, the others are new
        topics; every part is unreviewed with a regenerated label."""
        from labeler import surgery

        before = self.db.current_label(topic) or {}
        try:
            plan = surgery.plan_split(self.run, topic, embed=self.embed)
        except LabelerError as exc:
            raise ReviewError(400, str(exc)) from exc
        rows = []

        def record(tx, revision: int, marked: list[int]) -> None:
            parts = ", ".join(str(t) for t in plan.added)
            note = " ".join(p for p in (f"split into this topic and {parts}.", decision.note) if p)
            after = {"label": plan.keyword_labels[topic], "summary": None}
            rows.append(
                tx.record_review(topic, "split", before, after, note, self.reviewer, "unreviewed")
            )

        return self._change(plan, record, plan.touched, rows)

    def _change(self, plan, record, relabel: list[int], rows: list) -> dict:
        """Apply a surgery plan as a revision; the LLM's labels are new versions on top (the
        keyword labels stand if the LLM fails)."""
        from labeler import surgery

        # The files and the database rows change together, or neither does.
        change = surgery.apply(self.run, plan, who=self.reviewer, reviews=record)
        if self.settings is not None:
            with contextlib.suppress(ReviewError):
                stats = self._label_with_llm([t for t in relabel if t >= 0], self.settings)
                self.db.set_revision_calls(change.revision, stats.calls)
        return rows[0]

    def reduce_outliers(self, strategy: str, max_share: float | None) -> dict:
        """Reassign outliers (`labeler topics RUN outliers`): the topics that receive documents
        are described and labelled again. Returns the revision."""
        from labeler import surgery

        with self._lock:
            try:
                plan = surgery.plan_outliers(self.run, strategy, max_share, embed=self.embed)
            except LabelerError as exc:
                raise ReviewError(400, str(exc)) from exc
            change = surgery.apply(self.run, plan, who=self.reviewer)
            if self.settings is not None:
                with contextlib.suppress(ReviewError):
                    relabel = [t for t in plan.touched if t >= 0]
                    stats = self._label_with_llm(relabel, self.settings)
                    self.db.set_revision_calls(change.revision, stats.calls)
            self.run.refresh()
        self.on_change()
        return next(r for r in self.db.revisions() if r["id"] == change.revision)


# ---------------------------------------------------------------------------- the reports
class ReportRenderer:
    """Re-renders report.html/report.md in a background thread after decisions, coalescing bursts
    (a reviewer pressing "accept" ten times in a row costs one or two renders, not ten).

    `render(run)` is the renderer itself, handed in by the review app
    (`labeler.views.report.render_reports`): steps never import it."""

    def __init__(self, run: RunLike, render: Callable[[Run], object]):
        self.run = as_run(run)
        self._render = render
        self._cond = threading.Condition()
        self._pending = False
        self._busy = False
        self._stop = False
        self._thread = threading.Thread(target=self._loop, name="report-renderer", daemon=True)
        self._thread.start()

    def request(self) -> None:
        with self._cond:
            self._pending = True
            self._cond.notify_all()

    def _loop(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._pending or self._stop)
                if not self._pending:
                    return
                self._pending, self._busy = False, True
            try:
                self._render(self.run)
            except Exception as exc:  # noqa: BLE001 - a report problem must not stop reviewing
                log.warning("could not re-render the reports: %s", exc)
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()

    def flush(self, timeout: float = 60.0) -> bool:
        """Wait until every requested render is done; True when it is."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._pending and not self._busy, timeout)

    def close(self, timeout: float = 60.0) -> None:
        """Finish the renders asked for, then stop the thread."""
        self.flush(timeout)
        with self._cond:
            self._stop = True
            self._cond.notify_all()
        self._thread.join(timeout)
