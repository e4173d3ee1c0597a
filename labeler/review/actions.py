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
import itertools
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from labeler.errors import LabelerError
from labeler.run.folder import Run, RunLike, as_run
from labeler.run.layout import read_json

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
    parts: int | None = None  # a split's number of parts (None: the best the preview found)


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
    unknown = set(body) - {"action", "label", "summary", "note", "mode", "other", "parts"}
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
    if action == "split" and body.get("parts") is not None:
        parts = body["parts"]
        if isinstance(parts, bool) or not isinstance(parts, int) or not 2 <= parts <= 8:
            raise ReviewError(400, "'parts' is how many parts a split makes: from 2 to 8")
        decision.parts = parts
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


# ---------------------------------------------------------------------------- changes as jobs
CHANGES = ("merge", "split")  # decisions that change the topics: run as a job, in the background
KEEP_JOBS = 20  # finished jobs remembered (their answers and undo) for the pages that poll them


def runs_as_job(decision: Decision) -> bool:
    """Decisions that run as a job: a merge or split, and a relabel (the LLM may take minutes);
    the others are one short transaction, answered at once."""
    return decision.action in CHANGES or (
        decision.action == "reject" and decision.mode == "relabel"
    )


class Cancelled(Exception):
    """A reviewer cancelled the job: raised at its next checkpoint, before anything is written
    (or, once the change is written, the change is taken back)."""


class Job:
    """A long change (a merge, a split, its preview, an outlier reduction) running in a thread:
    which step it is on, how many of how many, the seconds since it started; its answer when
    done. `check()` at every checkpoint raises `Cancelled` once a cancel was asked for."""

    def __init__(self, job_id: int, kind: str, title: str, steps: list[str], topic: int | None):
        self.id = job_id
        self.kind = kind
        self.title = title
        self.steps = steps
        self.topic = topic
        self.started = time.monotonic()
        self.state = "running"  # running | done | failed | cancelled
        self.step = 0
        self.done: int | None = None
        self.total: int | None = None
        self.detail: str | None = None
        self.result: dict | None = None
        self.error: str | None = None
        self.status = 200  # the HTTP status of a failure
        self.warnings: list[str] = []
        self.cancel_asked = False
        self.finished: float | None = None
        self.revision: int | None = None  # written and not yet confirmed: undone on a cancel
        self._lock = threading.Lock()
        self._ended = threading.Event()

    @property
    def running(self) -> bool:
        return self.state == "running"

    def check(self) -> None:
        if self.cancel_asked:
            raise Cancelled()

    def at(self, name: str, done: int | None = None, total: int | None = None,
           detail: str | None = None) -> None:  # fmt: skip
        """Now on step `name` (added to the steps if the job did not know it would take it)."""
        self.check()
        with self._lock:
            if name not in self.steps:
                self.steps.append(name)
            self.step = self.steps.index(name)
            self.done, self.total, self.detail = done, total, detail

    def count(self, done: int, total: int | None = None, detail: str | None = None) -> None:
        self.check()
        with self._lock:
            self.done = done
            self.total = self.total if total is None else total
            self.detail = detail if detail is not None else self.detail

    def end(self, state: str, result: dict | None = None, error: str | None = None,
            status: int = 200) -> None:  # fmt: skip
        with self._lock:
            self.state, self.result, self.error, self.status = state, result, error, status
            self.finished = time.monotonic()
        self._ended.set()

    def wait(self, timeout: float | None = None) -> bool:
        return self._ended.wait(timeout)

    def busy_reason(self) -> str:
        with self._lock:
            step = self.steps[self.step]
            count = f", {self.done} of {self.total}" if self.total else ""
        return (
            f"{self.title} is running (step {self.step + 1} of {len(self.steps)}: {step}{count}, "
            f"{time.monotonic() - self.started:.0f} s); decisions are refused until it "
            "finishes: send this one again then"
        )

    def as_dict(self) -> dict:
        with self._lock:
            end = self.finished if self.finished is not None else time.monotonic()
            return {
                "id": self.id, "kind": self.kind, "title": self.title, "topic": self.topic,
                "state": self.state, "step": self.step + 1, "steps": len(self.steps),
                "step_name": self.steps[self.step], "step_names": list(self.steps),
                "done": self.done, "total": self.total, "detail": self.detail,
                "elapsed": round(end - self.started, 1), "cancel_asked": self.cancel_asked,
                "result": self.result, "error": self.error, "warnings": list(self.warnings),
            }  # fmt: skip


class _WatchedChat:
    """The chat model a job labels with: every answer counted for its progress, and a cancel
    honoured before the next question (label_topics stops; the job takes the change back)."""

    def __init__(self, chat, job: Job, total: int):
        self._chat = chat
        self._job = job
        self._total = total
        self._calls = 0
        self._lock = threading.Lock()

    def __getattr__(self, name):
        return getattr(self._chat, name)

    def chat(self, messages, **options):
        self._job.check()
        result = self._chat.chat(messages, **options)
        with self._lock:
            self._calls += 1
            calls = self._calls
        self._job.count(min(calls, self._total), detail=f"{calls} answers")
        return result


def _watched_embed(embed, job: Job):
    """The word embedder a job describes topics with: a cancel honoured between batches."""
    if embed is None:
        return None

    def watched(texts):
        job.check()
        return embed(texts)

    return watched


@dataclass
class SplitOption:
    parts: np.ndarray  # the part of each of the topic's documents
    silhouette: float


@dataclass
class SplitPreview:
    """The partitions a split of `topic` can use, worked out for the documents as they were
    (`stamp`: documents.parquet's), shown to the reviewer before the split."""

    topic: int
    stamp: tuple
    options: dict[int, SplitOption]
    best: int
    shown: dict  # the preview as the API answers it


# ---------------------------------------------------------------------------- the reviewer
class Reviewer:
    """Carries out decisions on one run, one at a time (decisions write files). Changes of the
    topics (merge, split, outliers) run as a `Job` in a thread; while one runs, every other
    decision is refused at once with the job's step (never held for minutes)."""

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
        self._jobs: dict[int, Job] = {}
        self._job_ids = itertools.count(1)
        self._active: Job | None = None
        # What undo puts back is kept in run.sqlite (`RunDB.record_undo`), not here: a restarted
        # server still undoes the decisions of the notices shown before.
        self._previews: dict[int, SplitPreview] = {}

    # ------------------------------------------------------------------ one at a time
    def _refuse_if_busy(self) -> None:
        job = self._active
        if job is not None and job.running:
            raise ReviewError(409, job.busy_reason())

    @contextlib.contextmanager
    def _turn(self):
        """The run to oneself for one decision: refused at once while a job runs."""
        self._refuse_if_busy()
        with self._lock:
            self._refuse_if_busy()
            yield

    def job(self, job_id: int) -> Job:
        job = self._jobs.get(job_id)
        if job is None:
            raise ReviewError(404, f"no job {job_id} (finished jobs are kept for a while only)")
        return job

    def active(self) -> Job | None:
        job = self._active
        return job if job is not None and job.running else None

    def cancel(self, job_id: int) -> Job:
        job = self.job(job_id)
        if job.running:
            job.cancel_asked = True
        return job

    def start(self, kind: str, title: str, steps: list[str], topic: int | None, work) -> Job:
        """Run `work(job)` in a thread as the one job of the run; returns the job at once."""
        self._refuse_if_busy()
        with self._lock:
            self._refuse_if_busy()
            job = Job(next(self._job_ids), kind, title, list(steps), topic)
            self._jobs[job.id] = job
            for old in sorted(self._jobs)[:-KEEP_JOBS]:
                del self._jobs[old]
            self._active = job
        threading.Thread(
            target=self._run_job, args=(job, work), name=f"review-job-{job.id}", daemon=True
        ).start()
        return job

    def _run_job(self, job: Job, work) -> None:
        changed = False
        try:
            with self._lock:
                try:
                    result = work(job)
                    changed = kind_changes(job.kind)
                    job.end("done", result)
                except Cancelled:
                    changed = self._take_back(job)
                    job.end("cancelled", {"message": f"cancelled: {job.title.lower()} "
                                          "was stopped and nothing was changed"})  # fmt: skip
                except ReviewError as exc:
                    changed = self._take_back(job)
                    job.end("failed", error=exc.message, status=exc.status)
                except LabelerError as exc:
                    changed = self._take_back(job)
                    job.end("failed", error=str(exc), status=400)
                except Exception as exc:  # noqa: BLE001 - a job must always end, and say why
                    log.exception("review job %d failed", job.id)
                    changed = self._take_back(job)
                    job.end("failed", error=f"{job.title} failed: {exc}", status=500)
        finally:
            if not job._ended.is_set():
                job.end("failed", error=f"{job.title} stopped")
            if changed:
                self.on_change()

    def _take_back(self, job: Job) -> bool:
        """A job stopped after it wrote its revision: the revision is undone (files and labels as
        before), so a cancel or failure leaves nothing half-written. Returns whether it was."""
        from labeler import surgery

        if job.revision is None:
            return False
        surgery.undo_revision(self.run, self.reviewer)
        self.run.refresh()
        self._previews.clear()
        job.revision = None
        return True

    # ------------------------------------------------------------------ tree names
    def review_node(self, node_id: int, decision: Decision) -> dict:
        """Accept or edit the name of a node above the topics: a new version of its name with
        source `review`, which `labeler relabel` keeps unless --force. Returns the node."""
        with self._turn():
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
            with self.db.transaction() as tx:  # the name and its undo, together
                version = tx.add_node_label_version(
                    node["key"], node["layer"], label, summary=summary or None, source="review",
                    model=self.reviewer, params={"note": decision.note} if decision.note else None,
                )  # fmt: skip
                token = tx.record_undo("name", node=node_id, node_key=node["key"],
                                       version_before=current.get("version"),
                                       version_made=version)  # fmt: skip
            self.run.refresh()
            self.on_change()
            return {"id": node_id, "label": label, "summary": summary or None, "source": "review",
                    "undo": {"name": token}}  # fmt: skip

    def _undo_name(self, token: int) -> dict:
        with self.db.transaction() as tx:  # checked, put back and used up together
            kept = _undoable(tx.undo_token("name", token), token, "name decision")
            node_id, key = kept["node"], kept["node_key"]
            if (tx.current_node_labels().get(key) or {}).get("version") != kept["version_made"]:
                raise ReviewError(409, f"the name of group {node_id} changed since: it cannot be "
                                  "undone any more")  # fmt: skip
            tx.set_current_node_version(key, kept["version_before"])
            _use_up(tx, kept, token, "name decision", self.reviewer)
            label = (tx.current_node_labels().get(key) or {}).get("label")
        return {"node": node_id, "label": label}

    def topics(self) -> set[int]:
        return {int(r["topic"]) for r in self.run.topics() if int(r["topic"]) >= 0}

    # ------------------------------------------------------------------ decisions
    def apply(self, topic: int, decision: Decision) -> dict:
        """Carry out one decision on `topic`; returns the reviews row written, with `undo` (what
        `undo` takes to put the topic back). A merge, split or relabel runs as a job and is
        waited for here (`start_decision` answers at once instead)."""
        if runs_as_job(decision):
            job = self.start_decision(topic, decision)
            job.wait()
            if job.state != "done":
                raise ReviewError(job.status if job.state == "failed" else 409,
                                  job.error or job.result["message"])  # fmt: skip
            return job.result["review"]
        with self._turn():
            self.run.check("review")
            if topic not in self.topics():
                raise ReviewError(404, f"no topic {topic} in this run")
            handler = getattr(self, f"_{decision.action}")
            row = handler(topic, decision, self._undo_state(topic))
            # Inside the lock: a refresh racing a merge could write the merged-away topic back.
            # The reports are rendered in the background (on_change → ReportRenderer).
            self.run.refresh()
        self.on_change()
        return row

    def undo(
        self, review: int | None = None, revision: int | None = None, name: int | None = None
    ) -> dict:
        """Take back one decision (`review`: its reviews row id; the topic's label and status as
        they were, an `undo` row in the log) or one change (`revision`: `surgery.undo_revision`,
        only the last one, and only while no decision followed it). Returns what was undone."""
        from labeler import surgery

        with self._turn():
            self.run.check("review")
            if revision is not None:
                live = [r for r in self.db.revisions() if not r.get("undone_at")]
                if not live or live[-1]["id"] != revision:
                    raise ReviewError(409, f"change {revision} is not the last change of the "
                                      "topics: only the last one can be undone")  # fmt: skip
                state = self.run.revision_dir(revision) / "labels.json"
                last_review = read_json(state).get("last_review", 0) if state.exists() else 0
                after = [r for r in self.db.reviews() if r["id"] > last_review
                         and r["action"] not in ("merge", "split", "revision")]  # fmt: skip
                if after:
                    raise ReviewError(409, f"decisions were made after change {revision} (topic "
                                      f"{after[0]['topic']}: {after[0]['action']}): undo them "
                                      "first")  # fmt: skip
                row = surgery.undo_revision(self.run, self.reviewer)
                self._previews.clear()
                self.run.refresh()
                undone = {"revision": row["id"], "summary": row["summary"]}
            elif name is not None:
                undone = self._undo_name(int(name))
                self.run.refresh()
            else:
                undone = self._undo_review(int(review))
                self.run.refresh()
        self.on_change()
        return undone

    def _undo_state(self, topic: int) -> dict:
        """What the undo of a decision on `topic` about to be made needs (`RunDB.record_undo`):
        its label version and status row now, and the revisions not undone."""
        return {
            "topic": topic,
            "version_before": (self.db.current_label(topic) or {}).get("version"),
            "status_before": self.db.statuses().get(topic),
            "live_revisions": len([r for r in self.db.revisions() if not r.get("undone_at")]),
        }

    def _decided(self, tx, row: dict, undo: dict) -> dict:
        """The reviews row just written in `tx`, its undo recorded in the same transaction;
        returns the row with `undo` (what `POST /api/undo` takes)."""
        tx.record_undo("review", review=int(row["id"]), **undo)
        return {**row, "undo": {"review": int(row["id"])}}

    def _undo_review(self, review: int) -> dict:
        with self.db.transaction() as tx:  # checked, put back and used up together
            kept = _undoable(tx.undo_token("review", review), review, "decision")
            topic, version, status = kept["topic"], kept["version_before"], kept["status_before"]
            log_ = tx.reviews(topic)
            if not log_ or log_[-1]["id"] != review:
                raise ReviewError(409, f"topic {topic} has a later decision: undo that one first")
            live = len([r for r in tx.revisions() if not r.get("undone_at")])
            if live != kept["live_revisions"]:
                raise ReviewError(409, f"the topics changed after decision {review}: it cannot "
                                  "be undone any more")  # fmt: skip
            done = log_[-1]
            now_label = tx.current_label(topic) or {}
            if version is not None and now_label.get("version") != version:
                tx.set_current_version(topic, version)
            back = tx.current_label(topic) or {}
            tx.record_review(
                topic, "undo", now_label, back, f"undid the {done['action']} of decision "
                f"{review}", self.reviewer,
            )  # fmt: skip
            if status is None:
                tx.set_status(topic, "unreviewed", None)
            else:
                tx.set_status(topic, status["status"], status["reviewer"], status["updated_at"])
            _use_up(tx, kept, review, "decision", self.reviewer)
        return {"review": review, "topic": topic, "action": done["action"],
                "label": back.get("label")}  # fmt: skip

    def _simple(self, topic: int, decision: Decision, undo: dict, action: str,
                status: str | None) -> dict:  # fmt: skip
        with self.db.transaction() as tx:
            current = tx.current_label(topic)
            row = tx.record_review(
                topic, action, current, current, decision.note, self.reviewer, status
            )
            return self._decided(tx, row, undo)

    def _accept(self, topic: int, decision: Decision, undo: dict) -> dict:
        return self._simple(topic, decision, undo, "accept", "accepted")

    def _note(self, topic: int, decision: Decision, undo: dict) -> dict:
        return self._simple(topic, decision, undo, "note", None)

    def _not_a_topic(self, topic: int, decision: Decision, undo: dict) -> dict:
        return self._simple(topic, decision, undo, "not_a_topic", "not_a_topic")

    def _edit(self, topic: int, decision: Decision, undo: dict) -> dict:
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
            row = tx.record_review(
                topic, "edit", before, after, decision.note, self.reviewer, "edited"
            )
            return self._decided(tx, row, undo)

    def _reject(self, topic: int, decision: Decision, undo: dict) -> dict:
        """Back to the keyword label (a reject with a note for the LLM is `start_relabel`)."""
        with self.db.transaction() as tx:
            before = tx.current_label(topic) or {}
            keyword = tx.keyword_label(topic) or before.get("label")
            after = before
            if before.get("source") != "keywords" or before.get("label") != keyword:
                tx.add_label_version(topic, keyword, summary=None, source="keywords", flags=[])
                after = {"label": keyword, "summary": None}
            row = tx.record_review(
                topic, "reject", before, after, decision.note, self.reviewer, "rejected"
            )
            return self._decided(tx, row, undo)

    def _llm(self):
        if self.settings is None:
            raise ReviewError(
                409, "no LLM configured: start `labeler review` with --llm or --llm-base-url"
            )
        return self.settings

    def start_decision(self, topic: int, decision: Decision) -> Job:
        """Start a decision that runs as a job (`runs_as_job`): a merge, a split or a relabel;
        returns the job at once, or refuses at once (ReviewError)."""
        if decision.action in CHANGES:
            return self.start_change(topic, decision)
        return self.start_relabel(topic, decision)

    def start_relabel(self, topic: int, decision: Decision) -> Job:
        """Check a reject-and-relabel and start it as a job: the LLM asked again for this topic,
        told the rejected label and the reviewer's note. Refused at once (ReviewError) when the
        topic is unknown, no LLM is configured or another job runs."""
        self.run.check("review")
        if topic not in self.topics():
            raise ReviewError(404, f"no topic {topic} in this run")
        self._llm()
        steps = ["checking the topic", "asking the LLM for a new label"]
        return self.start("relabel", f"Relabelling topic {topic}", steps, topic,
                          lambda job: self._relabel(job, topic, decision))  # fmt: skip

    def _relabel(self, job: Job, topic: int, decision: Decision) -> dict:
        """Ask the LLM again, telling it the rejected label and the reviewer's note; the new
        label becomes current and the topic unreviewed. A cancel puts the label (and the run's
        recorded LLM settings) back as they were: nothing is left half-done."""
        from labeler.labels.labeling import label_topics
        from labeler.llm.settings import open_chat_model

        settings = self._llm()
        job.at("checking the topic")
        self.run.check("review")
        if topic not in self.topics():
            raise ReviewError(404, f"no topic {topic} in this run")
        before = self.db.current_label(topic) or {}
        undo = self._undo_state(topic)
        config = self.run.config()
        hint = (
            f"A reviewer rejected the label {before.get('label')!r} for this topic and noted: "
            f"{decision.note}"
        )
        described = " ".join(p for p in (settings.corpus_description, hint) if p)
        told = dataclasses.replace(settings, corpus_description=described)
        job.at("asking the LLM for a new label", 0, 1, detail="asking the LLM")
        try:
            with contextlib.ExitStack() as stack:
                chat = self.chat or stack.enter_context(open_chat_model(told))
                watched = _WatchedChat(chat, job, 1)
                try:
                    label_topics(self.run, told, topics=[topic], force=True, chat=watched)
                except LabelerError as exc:
                    raise ReviewError(
                        502, f"the LLM could not relabel topic {topic}: {exc}"
                    ) from exc
            job.check()
        except Cancelled:
            self._put_back_label(topic, before, config)
            raise
        with self.db.transaction() as tx:
            after = tx.current_label(topic) or {}
            if after.get("version") == before.get("version"):
                raise ReviewError(
                    502,
                    "the LLM gave no new label (unreachable, unusable answers, or the same label "
                    "again); nothing was changed",
                )
            row = tx.record_review(
                topic, "reject", before, after, decision.note, self.reviewer, "unreviewed"
            )
            row = self._decided(tx, row, undo)
        self.run.refresh()
        label = after.get("label")
        return {"review": row, "undo": row["undo"], "topic": topic, "label": label,
                "message": f"Relabelled topic {topic} “{label}”."}  # fmt: skip

    def _put_back_label(self, topic: int, before: dict, config: dict) -> None:
        """A cancelled relabel: the label version current before is current again (the LLM's
        answer stays cached and in the history, never current) and config.json as it was."""
        now_label = self.db.current_label(topic) or {}
        if before.get("version") is not None and now_label.get("version") != before["version"]:
            self.db.set_current_version(topic, before["version"])
        if self.run.config() != config:
            self.run.write_config(config)
        self.run.refresh()

    # ------------------------------------------------------------------ changes of the topics
    def _was(self, topic: int) -> str | None:
        """`topic`'s earlier review, said for the log ("accepted as 'X' by ana"), or None."""
        status = self.db.statuses().get(topic) or {}
        name = status.get("status")
        if not name or name == "unreviewed":
            return None
        label = (self.db.current_label(topic) or {}).get("label")
        by = f" by {status['reviewer']}" if status.get("reviewer") else ""
        return f"{name.replace('_', ' ')} as {label!r}{by}"

    def start_change(self, topic: int, decision: Decision) -> Job:
        """Check a merge or split and start it as a job; refused at once (ReviewError) when the
        request is wrong or another job runs."""
        self.run.check("review")
        known = self.topics()
        if topic not in known:
            raise ReviewError(404, f"no topic {topic} in this run")
        label = "with the LLM" if self.settings is not None else "by keywords"
        tail = [f"labelling the changed topics {label}"]
        if decision.action == "merge":
            other = int(decision.other)
            if other not in known:
                raise ReviewError(404, f"no topic {other} in this run")
            if other == topic:
                raise ReviewError(400, "a topic cannot be merged with itself")
            steps = ["checking the topics", "moving the documents and describing the merged "
                     "topic", "writing the change", *tail]  # fmt: skip
            return self.start("merge", f"Merging topic {other} into topic {topic}", steps, topic,
                              lambda job: self._merge(job, topic, decision))  # fmt: skip
        steps = ["checking the topic", "trying 2 to 8 parts", "describing the parts",
                 "writing the change", *tail]  # fmt: skip
        return self.start("split", f"Splitting topic {topic}", steps, topic,
                          lambda job: self._split(job, topic, decision))  # fmt: skip

    def _merge(self, job: Job, topic: int, decision: Decision) -> dict:
        """Merge topic `other` into `topic`; the merged topic gets a regenerated label."""
        from labeler import surgery

        other = int(decision.other)
        job.at("checking the topics")
        before = self.db.current_label(topic) or {}
        gone = self.db.current_label(other) or {}
        was, was_other = self._was(topic), self._was(other)
        job.at("moving the documents and describing the merged topic")
        try:
            embed = _watched_embed(self.embed, job)
            plan = surgery.plan_merge(self.run, [topic, other], embed=embed)
        except LabelerError as exc:
            raise ReviewError(400, str(exc)) from exc
        merged_note = f"merged topic {other} ({gone.get('label')!r}) into this topic."
        earlier = [f"This topic was {was}." if was else "",
                   f"Topic {other} was {was_other}." if was_other else ""]  # fmt: skip
        rows = []

        def record(tx, revision: int, marked: list[int]) -> None:
            note = " ".join(p for p in (merged_note, *earlier, decision.note) if p)
            tx.record_review(
                other, "merge", gone, None, f"merged into topic {topic}", self.reviewer
            )
            after = {"label": plan.keyword_labels[topic], "summary": None}
            rows.append(
                tx.record_review(topic, "merge", before, after, note, self.reviewer, "unreviewed")
            )

        result = self._change(job, plan, record, rows)
        if was or was_other:
            result["carried"] = [f"topic {topic} was {was}" if was else "",
                                 f"topic {other} was {was_other}" if was_other else ""]  # fmt: skip
            result["carried"] = [c for c in result["carried"] if c]
        left = plan.sizes["topics_after"]
        result["message"] = f"Merged topic {other} into topic {topic} ({left} topics now)."
        return result

    def merge_preview(self, topic: int, other: int) -> dict:
        """What a merge of `other` into `topic` makes, before it is made: both topics and the
        merged one with their sizes, top keywords (c-TF-IDF refitted as the merge would) and
        two documents each."""
        self.run.check("review")
        known = self.topics()
        for t in (topic, other):
            if t not in known:
                raise ReviewError(404, f"no topic {t} in this run")
        if topic == other:
            raise ReviewError(400, "a topic cannot be merged with itself")
        docs = self.run.documents()
        before = docs["topic"].to_numpy(dtype=np.int64)
        after = np.where(before == other, topic, before)
        weights = _ctfidf(self.run, docs, [before, after])
        records = {int(r["topic"]): r for r in self.run.topics()}
        labels = self.db.current_labels()

        def side(t: int, words) -> dict:
            record = records[t]
            texts = record.get("representative_docs", [])[:2]
            ids = record.get("representative_doc_ids", [])[:2]
            return {
                "id": t, "label": (labels.get(t) or {}).get("label", record.get("label")),
                "size": int(record["size"]), "keywords": [w for w, _ in words],
                "documents": [{"doc_id": d, "text": _short(x)} for d, x in zip(ids, texts)],
            }  # fmt: skip

        first, merged = weights
        return {
            "topic": side(topic, first.topic_words(topic, 6) if first else []),
            "other": side(other, first.topic_words(other, 6) if first else []),
            "merged": {
                "id": topic,
                "size": int((after == topic).sum()),
                "keywords": [w for w, _ in (merged.topic_words(topic, 6) if merged else [])],
            },  # fmt: skip
        }

    def split_preview(self, topic: int) -> Job:
        """Work out the ways `topic` can be split (2 to 8 parts) as a job: each part's size, top
        keywords and two documents, each partition's silhouette against the run's one-theme
        threshold. The split then uses the partition the reviewer chose."""
        self.run.check("review")
        if topic not in self.topics():
            raise ReviewError(404, f"no topic {topic} in this run")
        steps = ["checking the topic", "trying 2 to 8 parts", "describing the parts"]
        return self.start("split-preview", f"Previewing a split of topic {topic}", steps, topic,
                          lambda job: self._preview(job, topic).shown)  # fmt: skip

    def _stamp(self) -> tuple:
        stat = (self.run.path / "documents.parquet").stat()
        return (stat.st_mtime_ns, stat.st_size, stat.st_ino)

    def _preview(self, job: Job, topic: int) -> SplitPreview:
        from labeler import surgery
        from labeler.cluster import SPLIT_SILHOUETTE

        job.at("checking the topic")
        stamp = self._stamp()
        try:
            members = surgery.split_members(self.run, topic)
            partitions = surgery.split_partitions(self.run, topic)
            options: dict[int, SplitOption] = {}
            job.at("trying 2 to 8 parts", 0, None)
            for k, ks, score, parts in partitions:
                job.count(k - 1, ks, detail=f"{k} parts")
                if score is not None:
                    options[k] = SplitOption(parts, score)
        except LabelerError as exc:
            raise ReviewError(400, str(exc)) from exc
        if not options:
            raise ReviewError(400, f"topic {topic} has no two sub-groups big enough to be topics")
        job.at("describing the parts", 0, len(options))
        shown = describe_partitions(self.run, members, options, job)
        best = max(options, key=lambda k: options[k].silhouette)
        threshold = SPLIT_SILHOUETTE
        listed = [
            {**shown[k], "parts_count": k, "silhouette": round(options[k].silhouette, 4),
             "one_theme": options[k].silhouette < threshold}
            for k in sorted(options)
        ]  # fmt: skip
        preview = SplitPreview(topic, stamp, options, best, {
            "topic": topic, "size": int(len(members)), "best": best, "threshold": threshold,
            "options": listed,
        })  # fmt: skip
        self._previews[topic] = preview
        return preview

    def _split(self, job: Job, topic: int, decision: Decision) -> dict:
        """Split `topic` into the previewed parts (or the best ones): the largest part keeps the
        id, the others are new topics; every part is unreviewed with a regenerated label, and
        the topic's earlier review is said in each part's log (never dropped silently)."""
        from labeler import surgery

        job.at("checking the topic")
        before = self.db.current_label(topic) or {}
        was = self._was(topic)
        preview = self._previews.get(topic)
        if preview is None or preview.stamp != self._stamp():
            preview = self._preview(job, topic)
        k = decision.parts or preview.best
        if k not in preview.options:
            raise ReviewError(400, f"topic {topic} cannot be split into {k} parts of at least "
                              f"the run's smallest topic size (possible: "
                              f"{', '.join(map(str, sorted(preview.options)))})")  # fmt: skip
        option = preview.options[k]
        job.at("describing the parts")
        try:
            plan = surgery.plan_split(self.run, topic, embed=_watched_embed(self.embed, job),
                                      parts=option.parts, silhouette=option.silhouette)  # fmt: skip
        except LabelerError as exc:
            raise ReviewError(400, str(exc)) from exc
        rows = []
        earlier = f"Topic {topic} was {was}: look again." if was else ""

        def record(tx, revision: int, marked: list[int]) -> None:
            parts = ", ".join(str(t) for t in plan.added)
            note = " ".join(p for p in (f"split into this topic and {parts}.", earlier,
                                        decision.note) if p)  # fmt: skip
            after = {"label": plan.keyword_labels[topic], "summary": None}
            rows.append(
                tx.record_review(topic, "split", before, after, note, self.reviewer, "unreviewed")
            )
            for t in plan.added:
                tx.record_review(
                    t, "split", before, {"label": plan.keyword_labels.get(t), "summary": None},
                    " ".join(p for p in (f"split off topic {topic}.", earlier) if p),
                    self.reviewer, "unreviewed",
                )  # fmt: skip

        self._previews.pop(topic, None)
        result = self._change(job, plan, record, rows)
        result["parts"] = [topic, *plan.added]
        if was:
            result["carried"] = [f"topic {topic} was {was}: its parts need a new look"]
        result["message"] = (f"Split topic {topic} into {len(plan.added) + 1} parts (topics "
                             f"{', '.join(map(str, result['parts']))}).")  # fmt: skip
        return result

    def _change(self, job: Job, plan, record, rows: list) -> dict:
        """Apply a surgery plan as a revision, then the LLM's labels of the changed topics and
        the names of the tree's changed groups (the keyword labels stand if the LLM fails).
        A cancel after the revision was written takes it back (`_take_back`)."""
        from labeler import surgery

        job.at("writing the change")
        named_tree = surgery.tree_named(self.run)
        # The files and the database rows change together, or neither does.
        change = surgery.apply(self.run, plan, who=self.reviewer, reviews=record)
        job.revision = change.revision
        self._previews.clear()
        self._relabel_change(job, change.revision, [t for t in plan.touched if t >= 0], named_tree)
        job.check()
        job.revision = None  # done: the change stands
        self.run.refresh()
        last = self.db.reviews()
        return {
            "review": {**rows[0], "undo": {"revision": change.revision}} if rows else None,
            "revision": change.revision, "summary": plan.summary,
            "undo": {"revision": change.revision}, "touched": plan.touched,
            "last_review": last[-1]["id"] if last else 0,
        }  # fmt: skip

    def _relabel_change(self, job: Job, revision: int, topics: list[int], named_tree: bool):
        from labeler import surgery
        from labeler.labels.labeling import label_topics
        from labeler.llm.settings import open_chat_model

        if self.settings is None or not topics:
            return
        name = next(s for s in job.steps if s.startswith("labelling"))
        job.at(name, 0, len(topics), detail="asking the LLM")
        with contextlib.ExitStack() as stack:
            chat = self.chat or stack.enter_context(open_chat_model(self.settings))
            watched = _WatchedChat(chat, job, len(topics))
            try:
                stats = label_topics(self.run, self.settings, topics=topics, chat=watched)
            except LabelerError as exc:  # the change stands, with keyword labels
                job.warnings.append(f"the LLM could not label the changed topics: {exc}")
                return
            self.db.set_revision_calls(revision, stats.calls)
            self._no_copied_labels(topics)
            if named_tree:
                job.at("naming the changed groups of the topic tree", detail="asking the LLM")
                surgery.name_changed_parents(self.run, self.settings, watched, None)

    def _no_copied_labels(self, topics: list[int]) -> None:
        """A changed topic whose new label is another topic's (up to case, order and plurals)
        goes back to its keyword label, flagged: it never shows a copy of another's name."""
        from labeler.labels.distinct import normalise

        current = self.db.current_labels()
        for t in topics:
            mine = current.get(t)
            if not mine or mine.get("source") != "llm":
                continue
            same = [o for o, r in current.items() if o != t and o >= 0
                    and normalise(r["label"]) == normalise(mine["label"])]  # fmt: skip
            if same:
                keyword = self.db.keyword_label(t) or mine["label"]
                self.db.add_label_version(t, keyword, summary=mine.get("summary"),
                                          source="keywords", flags=["copied-label"])  # fmt: skip

    def reduce_outliers(self, strategy: str, max_share: float | None) -> dict:
        """Reassign outliers (`labeler topics RUN outliers`), waited for; returns the revision."""
        job = self.start_outliers(strategy, max_share)
        job.wait()
        if job.state != "done":
            raise ReviewError(job.status if job.state == "failed" else 409,
                              job.error or job.result["message"])  # fmt: skip
        return next(r for r in self.db.revisions() if r["id"] == job.result["revision"])

    def start_outliers(self, strategy: str, max_share: float | None) -> Job:
        """Reassign outliers as a job: the topics that receive documents are described and
        labelled again."""
        label = "with the LLM" if self.settings is not None else "by keywords"
        steps = ["matching outliers to topics", "describing the topics that receive them",
                 "writing the change", f"labelling the changed topics {label}"]  # fmt: skip
        return self.start("outliers", "Reassigning outliers", steps, None,
                          lambda job: self._outliers(job, strategy, max_share))  # fmt: skip

    def _outliers(self, job: Job, strategy: str, max_share: float | None) -> dict:
        from labeler import surgery

        job.at("matching outliers to topics")
        try:
            plan = surgery.plan_outliers(self.run, strategy, max_share,
                                         embed=_watched_embed(self.embed, job))  # fmt: skip
        except LabelerError as exc:
            raise ReviewError(400, str(exc)) from exc
        job.at("writing the change")
        result = self._change(job, plan, None, [])
        result["message"] = plan.summary[:1].upper() + plan.summary[1:] + "."
        return result


def kind_changes(kind: str) -> bool:
    return kind != "split-preview"


def describe_partitions(run: Run, members: np.ndarray, options: dict, job: Job) -> dict[int, dict]:
    """Each partition's parts, largest first: size, top keywords (c-TF-IDF of the parts against
    the rest of the corpus, the run's own vectorizer settings) and the two documents nearest
    each part's centre."""
    from labeler.represent import topic_vectors, unit

    docs = run.documents()
    texts = docs["text"].astype(str).tolist()
    before = docs["topic"].to_numpy(dtype=np.int64)
    marker = int(before.max()) + 1
    ks = sorted(options)
    assignments = []
    for k in ks:
        after = before.copy()
        after[members] = marker + options[k].parts
        assignments.append(after)
    weights = _ctfidf(run, docs, assignments)
    vectors = unit(np.asarray(run.embeddings()[members], dtype=np.float32))
    ids = docs["doc_id"].to_numpy()
    shown = {}
    for i, k in enumerate(ks):
        job.count(i + 1, detail=f"{k} parts")
        parts = options[k].parts
        centres = topic_vectors(vectors, parts)
        out = []
        for part in sorted(set(parts.tolist()), key=lambda p: (-(parts == p).sum(), p)):
            rows = np.flatnonzero(parts == part)
            near = rows[np.argsort(-(vectors[rows] @ centres[part]))[:2]]
            words = weights[i].topic_words(marker + part, 6) if weights[i] is not None else []
            out.append({
                "size": int(len(rows)),
                "keywords": [w for w, _ in words],
                "documents": [{"doc_id": _plain(ids[members[j]]),
                               "text": _short(texts[members[j]])} for j in near],
            })  # fmt: skip
        shown[k] = {"parts": out}
    return shown


def _ctfidf(run: Run, docs, assignments: list[np.ndarray]) -> list:
    """c-TF-IDF of each assignment of the documents to topics, over one vocabulary (the run's
    vectorizer settings); None each where the documents have no words."""
    from labeler.represent import CTFIDF
    from labeler.represent.ctfidf import topic_counts
    from labeler.run.records import params_from_config

    texts = docs["text"].astype(str).tolist()
    params = params_from_config(run.config())
    language = params.get("language", "english")
    base = CTFIDF(
        params["ngram_range"], params.get("min_df"), params.get("stop_words"), language=language
    ).fit(texts, assignments[0])
    if base.vectorizer_ is None:
        return [None for _ in assignments]
    doc_term = base.doc_term(texts)
    return [
        CTFIDF(base.ngram_range, base.min_df, base.stop_words).from_counts(
            base.vectorizer_, *topic_counts(doc_term, topics)
        )
        for topics in assignments
    ]


def _plain(value):
    return value.item() if isinstance(value, np.generic) else value


def _short(text: str, limit: int = 300) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


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


def _undoable(kept: dict | None, token: int, what: str) -> dict:
    """What `token`'s undo needs, as run.sqlite kept it when the decision was made (so it
    outlives a restart of the review server); 404 when none was kept or it was used."""
    if kept is None:
        raise ReviewError(404, f"{what} {token} cannot be undone here: no undo was recorded "
                          "for it (only the review app's decisions have one)")  # fmt: skip
    if kept["used_at"]:
        raise ReviewError(404, f"{what} {token} was undone already: an undo is used once")
    return kept


def _use_up(tx, kept: dict, token: int, what: str, who: str) -> None:
    """Mark the undo used, in the undo's own transaction (so it is used once)."""
    if not tx.consume_undo(kept["id"], who):
        raise ReviewError(404, f"{what} {token} was undone already: an undo is used once")
