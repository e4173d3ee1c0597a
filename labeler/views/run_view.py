"""A saved run as readers see it: topics with their current labels, review status and history.

Reports and exports read the same merged view, so a label edited in review (stored in
`run.sqlite`) shows up everywhere without rewriting `topics.json`. Opening the database upgrades a
run from an older labeler (`RunDB`), so every table is there; a database that cannot be read is an
error, never "nothing recorded".
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from labeler.errors import LabelerError
from labeler.run.folder import Run, as_run

STATUSES = ("unreviewed", "accepted", "edited", "rejected", "not_a_topic")


def _flags(value) -> list[str]:
    if not value:
        return []
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return [value]
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def label_history(run: Run | Path) -> dict[int, list[dict]]:
    """Every label version per topic, oldest first."""
    history: dict[int, list[dict]] = {}
    for row in as_run(run).db.label_history():
        row["flags"] = _flags(row.get("flags"))
        row["is_current"] = bool(row.get("is_current"))
        history.setdefault(int(row["topic"]), []).append(row)
    return history


def topic_status(run: Run | Path) -> dict[int, str]:
    """Review status per topic; topics without a row are simply not reviewed yet."""
    return as_run(run).db.status_names()


def node_names(run: Run | Path) -> dict[str, dict]:
    """The current name of each topic-tree node above the topics, by node key (run.sqlite);
    none from a damaged database: the tree keeps the names hierarchy.json was written with."""
    try:
        return as_run(run).db.current_node_labels()
    except LabelerError as exc:
        logging.getLogger("labeler").warning("%s; tree names as of hierarchy.json", exc)
        return {}


def topics(run: Run | Path) -> list[dict]:
    """`topics.json` records merged with the current label row and the review status.

    Adds `label_source`, `label_model`, `label_prompt`, `label_version`, `label_flags`,
    `status` and `history` to every record, whatever the run recorded.
    """
    run = as_run(run)
    records = run.topics()
    try:
        history = label_history(run)
        status = topic_status(run)
    except LabelerError as exc:  # a damaged run.sqlite: reports and exports still work
        logging.getLogger("labeler").warning("%s; labels as of topics.json", exc)
        history, status = {}, {}
    for record in records:
        topic = int(record["topic"])
        versions = history.get(topic, [])
        current = next((v for v in reversed(versions) if v["is_current"]), None)
        record.setdefault("summary", None)
        record.setdefault("label_source", "keywords")
        record.setdefault("label_flags", [])
        record.setdefault("label_model", None)
        record.setdefault("label_prompt", None)
        record.setdefault("label_version", None)
        if current:
            record["label"] = current["label"]
            record["summary"] = current.get("summary")
            record["label_source"] = current.get("source") or record["label_source"]
            record["label_model"] = current.get("model") or record["label_model"]
            record["label_prompt"] = current.get("prompt_name") or record["label_prompt"]
            record["label_version"] = current.get("version")
            record["label_flags"] = current["flags"] or _flags(record["label_flags"])
        else:
            record["label_flags"] = _flags(record["label_flags"])
        record["status"] = status.get(topic, record.get("review_status") or "unreviewed")
        record["history"] = versions
    return records


def review_progress(records: list[dict]) -> dict:
    """Counts per review status over the real topics (outliers are not reviewed)."""
    real = [r for r in records if not r.get("is_outlier")]
    counts = {s: 0 for s in STATUSES}
    for r in real:
        counts[r["status"]] = counts.get(r["status"], 0) + 1
    reviewed = len(real) - counts.get("unreviewed", 0)
    return {"counts": counts, "reviewed": reviewed, "total": len(real)}


def revisions(run: Run | Path) -> dict | None:
    """The run's topic changes (`labeler topics`): the current revision and every revision,
    oldest first, or None before the first change (or without a readable database)."""
    try:
        rows = as_run(run).db.revisions()
    except LabelerError:
        return None
    if not rows:
        return None
    live = [r["id"] for r in rows if not r.get("undone_at")]
    return {"current": live[-1] if live else 0, "history": rows}


def last_update(revisions: dict | None, topics: list[dict]) -> dict | None:
    """The report's "since the last update" section: the latest `labeler update` revision not
    undone, with its new topics and the topics whose document counts changed (before → after,
    current labels), or None when the run was never updated."""
    if not revisions:
        return None
    live = [r for r in revisions["history"] if r["action"] == "update" and not r.get("undone_at")]
    if not live:
        return None
    row = live[-1]
    args = row["args"]
    by_id = {int(t["topic"]): t for t in topics}
    changed = set(args.get("changed", []))

    def label(t: int) -> str:
        found = by_id.get(t)
        return str(found.get("label") or "") if found else "(no longer a topic)"

    counts = {int(t): tuple(c) for t, c in (args.get("counts") or {}).items()}
    new = [{"topic": t, "label": label(t), "size": counts.get(t, (0, 0))[1]}
           for t in args.get("new_topics", [])]  # fmt: skip
    moved = [
        {"topic": t, "label": label(t), "before": b, "after": a, "changed": t in changed}
        for t, (b, a) in counts.items()
        if t >= 0 and t not in args.get("new_topics", [])
    ]
    moved.sort(key=lambda m: (-(m["after"] - m["before"]), m["topic"]))
    return {
        "revision": row["id"],
        "created_at": row["created_at"],
        "corpus": args.get("corpus"),
        "documents": int(args.get("documents", 0)),
        "skipped": int(args.get("skipped_duplicates", 0)),
        "joined": int(args.get("joined", 0)),
        "outliers": counts.get(-1, (row["outliers_before"], row["outliers_after"])),
        "new": new,
        "grew": [m for m in moved if m["after"] > m["before"]],
        "shrank": [m for m in moved if m["after"] < m["before"]],
    }
