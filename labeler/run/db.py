"""`RunDB`: every SQL statement against a run's `run.sqlite`.

The database holds what a run learns after the fit: label versions (keyword, LLM, review), the
LLM answer cache, review decisions and each topic's review status. Files derived from it
(`topics.json`'s label fields, the reports) are rewritten by `Run.refresh()`.

Opening a database upgrades it (run/migrations.py) and refuses one from a newer labeler, so no
reader ever has to guess whether a table exists: an `OperationalError` here is a real error.
Each method is its own short transaction; `transaction()` gives a `RunDB` bound to one write
transaction (`BEGIN IMMEDIATE`, taken before the first read so nothing changes in between) for
decisions that read and write together.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Iterable, Iterator
from pathlib import Path

from labeler.errors import LabelerError
from labeler.run.layout import DATABASE, now
from labeler.run.migrations import LATEST, MIGRATIONS

_LABEL_FIELDS = (
    "summary", "source", "prompt_name", "prompt_hash", "model", "request", "raw_answer",
)  # fmt: skip


class RunDB:
    """The database of one run folder (`run_dir/run.sqlite`)."""

    def __init__(self, run_dir: Path, *, create: bool = False):
        self.path = Path(run_dir) / DATABASE
        self._con: sqlite3.Connection | None = None
        if not create and not self.path.is_file():
            raise LabelerError(f"{self.path} is missing: the run directory is incomplete")
        self.version = self._migrate()

    # ------------------------------------------------------------------ connections
    def _connect(self) -> sqlite3.Connection:
        # Autocommit mode: transactions are explicit (BEGIN IMMEDIATE ... COMMIT).
        con = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        con.row_factory = sqlite3.Row
        con.execute("PRAGMA foreign_keys=ON")
        return con

    def _migrate(self) -> int:
        try:
            con = self._connect()
        except sqlite3.Error as exc:
            raise LabelerError(f"cannot open {self.path}: {exc}") from exc
        try:
            version = self._schema_version(con)
            if version < LATEST:
                con.execute("BEGIN IMMEDIATE")
                try:
                    version = self._schema_version(con)  # another process may have upgraded it
                    for number, step in enumerate(MIGRATIONS[version:], start=version + 1):
                        step(con)
                        con.execute(f"PRAGMA user_version = {number}")
                    con.execute(
                        "INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", (str(LATEST),)
                    )
                    con.execute("COMMIT")
                except BaseException:
                    con.execute("ROLLBACK")
                    raise
                version = LATEST
            return version
        except sqlite3.DatabaseError as exc:
            raise LabelerError(f"cannot open {self.path}: {exc}") from exc
        finally:
            con.close()

    def _schema_version(self, con: sqlite3.Connection) -> int:
        version = int(con.execute("PRAGMA user_version").fetchone()[0])
        if version > LATEST:
            raise LabelerError(
                f"{self.path} has database schema {version}, newer than this labeler reads "
                f"({LATEST}): upgrade labeler to open this run"
            )
        return version

    @contextlib.contextmanager
    def _use(self) -> Iterator[sqlite3.Connection]:
        """The bound transaction's connection, or a short one of its own (one autocommit
        statement, or several reads)."""
        if self._con is not None:
            yield self._con
            return
        con = self._connect()
        try:
            yield con
        finally:
            con.close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[RunDB]:
        """A RunDB whose methods all run in one write transaction, committed at the end."""
        if self._con is not None:  # already inside one: join it
            yield self
            return
        con = self._connect()
        bound = object.__new__(RunDB)
        bound.path, bound.version, bound._con = self.path, self.version, con
        try:
            con.execute("BEGIN IMMEDIATE")
            yield bound
            con.execute("COMMIT")
        except BaseException:
            if con.in_transaction:
                con.execute("ROLLBACK")
            raise
        finally:
            bound._con = None
            con.close()

    def _rows(self, sql: str, args: tuple = ()) -> list[dict]:
        with self._use() as con:
            return [dict(r) for r in con.execute(sql, args).fetchall()]

    # ------------------------------------------------------------------ label versions
    def current_labels(self) -> dict[int, dict]:
        rows = self._rows("SELECT * FROM label_versions WHERE is_current = 1")
        return {int(r["topic"]): r for r in rows}

    def current_label(self, topic: int) -> dict | None:
        rows = self._rows(
            "SELECT * FROM label_versions WHERE topic = ? AND is_current = 1", (int(topic),)
        )
        return rows[0] if rows else None

    def label_history(self, topic: int | None = None) -> list[dict]:
        """Every label version (of one topic, or all), by topic then version."""
        if topic is None:
            return self._rows("SELECT * FROM label_versions ORDER BY topic, version")
        return self._rows(
            "SELECT * FROM label_versions WHERE topic = ? ORDER BY version", (int(topic),)
        )

    def keyword_labels(self) -> dict[int, str]:
        """Each topic's latest keyword label (the fit's, or the one a merge computed)."""
        rows = self._rows(
            "SELECT topic, label FROM label_versions WHERE source = 'keywords' ORDER BY version"
        )
        return {int(r["topic"]): r["label"] for r in rows}

    def keyword_label(self, topic: int) -> str | None:
        rows = self._rows(
            "SELECT label FROM label_versions WHERE topic = ? AND source = 'keywords'"
            " ORDER BY version DESC LIMIT 1",
            (int(topic),),
        )
        return rows[0]["label"] if rows else None

    def _add_version(
        self, table: str, column: str, value, label: str, fields: dict, extra: dict | None = None
    ) -> int:
        """Append a version to `table` (label_versions or node_labels) for the topic or node
        whose `column` is `value`, and make it current; `extra`: more columns of the row."""
        with self.transaction() as tx, tx._use() as con:
            version = con.execute(
                f"SELECT COALESCE(MAX(version), 0) + 1 FROM {table} WHERE {column} = ?", (value,)
            ).fetchone()[0]
            con.execute(f"UPDATE {table} SET is_current = 0 WHERE {column} = ?", (value,))
            row = {column: value, **(extra or {}), "version": version, "label": label}
            row.update(created_at=fields.get("created_at") or now(), is_current=1)
            for name in _LABEL_FIELDS:
                row[name] = fields.get(name, "keywords" if name == "source" else None)
            for name in ("params", "flags"):
                row[name] = json.dumps(fields[name]) if fields.get(name) is not None else None
            marks = ", ".join("?" * len(row))
            con.execute(
                f"INSERT INTO {table} ({', '.join(row)}) VALUES ({marks})", list(row.values())
            )
        return int(version)

    def add_label_version(self, topic: int, label: str, **fields) -> int:
        """Append a version and make it current; returns its version number.

        `fields`: summary, source (default "keywords"), prompt_name, prompt_hash, model, request,
        raw_answer, params and flags (stored as JSON), and created_at (default: now)."""
        return self._add_version("label_versions", "topic", int(topic), label, fields)

    def add_keyword_labels(self, labels: dict[int, str]) -> None:
        """The fit's labels, version 1 of each topic."""
        stamp = now()
        with self.transaction() as tx, tx._use() as con:
            con.executemany(
                "INSERT INTO label_versions (topic, version, label, summary, source, created_at,"
                " is_current) VALUES (?, 1, ?, NULL, 'keywords', ?, 1)",
                [(int(t), label, stamp) for t, label in labels.items()],
            )

    def set_current_version(self, topic: int, version: int) -> None:
        with self.transaction() as tx, tx._use() as con:
            found = con.execute(
                "SELECT 1 FROM label_versions WHERE topic = ? AND version = ?",
                (int(topic), int(version)),
            ).fetchone()
            if not found:
                raise LabelerError(f"topic {topic} has no label version {version}")
            con.execute(
                "UPDATE label_versions SET is_current = (version = ?) WHERE topic = ?",
                (int(version), int(topic)),
            )

    def drop_topic(self, topic: int) -> None:
        """A topic merged away: no current label, no review status (its history stays)."""
        with self.transaction() as tx, tx._use() as con:
            con.execute("UPDATE label_versions SET is_current = 0 WHERE topic = ?", (int(topic),))
            con.execute("DELETE FROM topic_status WHERE topic = ?", (int(topic),))

    # ------------------------------------------------------------------ tree node labels
    def current_node_labels(self) -> dict[str, dict]:
        """The current name of each tree node above the topics, by node key."""
        rows = self._rows("SELECT * FROM node_labels WHERE is_current = 1")
        return {str(r["node_key"]): r for r in rows}

    def node_label_history(self, node_key: str | None = None) -> list[dict]:
        if node_key is None:
            return self._rows("SELECT * FROM node_labels ORDER BY layer, node_key, version")
        return self._rows(
            "SELECT * FROM node_labels WHERE node_key = ? ORDER BY version", (str(node_key),)
        )

    def set_current_node_version(self, node_key: str, version: int | None) -> None:
        """Make `version` of a node's name current again (None: no version, so the node shows
        its keyword name): the review app's undo of a name decision."""
        with self.transaction() as tx, tx._use() as con:
            con.execute(
                "UPDATE node_labels SET is_current = (version = ?) WHERE node_key = ?",
                (-1 if version is None else int(version), str(node_key)),
            )

    def add_node_label_version(self, node_key: str, layer: int, label: str, **fields) -> int:
        """Append a version of a node's name and make it current (fields as for
        `add_label_version`)."""
        extra = {"layer": int(layer)}
        return self._add_version("node_labels", "node_key", str(node_key), label, fields, extra)

    # ------------------------------------------------------------------ reviews
    def statuses(self) -> dict[int, dict]:
        """Review status rows per topic; topics without a row are not reviewed yet."""
        return {int(r["topic"]): r for r in self._rows("SELECT * FROM topic_status")}

    def status_names(self) -> dict[int, str]:
        return {t: str(r["status"] or "unreviewed") for t, r in self.statuses().items()}

    def set_status(
        self, topic: int, status: str, reviewer: str | None = None, stamp: str | None = None
    ) -> None:
        with self._use() as con:
            con.execute(
                "INSERT INTO topic_status (topic, status, reviewer, updated_at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (topic) DO UPDATE SET status = excluded.status,"
                " reviewer = excluded.reviewer, updated_at = excluded.updated_at",
                (int(topic), status, reviewer, stamp or now()),
            )

    def reviews(self, topic: int | None = None) -> list[dict]:
        if topic is None:
            return self._rows("SELECT * FROM reviews ORDER BY id")
        return self._rows("SELECT * FROM reviews WHERE topic = ? ORDER BY id", (int(topic),))

    def record_review(
        self,
        topic: int,
        action: str,
        before: dict | None,
        after: dict | None,
        note: str | None,
        reviewer: str | None,
        status: str | None = None,
    ) -> dict:
        """The reviews row, and the topic's status (None: leave it as it is); returns the row."""
        stamp = now()
        before, after = before or {}, after or {}
        with self.transaction() as tx, tx._use() as con:
            cursor = con.execute(
                "INSERT INTO reviews (topic, action, label_before, label_after, summary_before,"
                " summary_after, note, reviewer, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    int(topic), action, before.get("label"), after.get("label"),
                    before.get("summary"), after.get("summary"), note, reviewer, stamp,
                ),
            )  # fmt: skip
            if status is not None:
                tx.set_status(topic, status, reviewer, stamp)
            row = con.execute("SELECT * FROM reviews WHERE id = ?", (cursor.lastrowid,)).fetchone()
        return dict(row)

    # ------------------------------------------------------------------ revisions
    # What a revision keeps of the database: every table of names and review states (node_labels:
    # the topic tree's names, where this schema has them). The LLM answer cache is not among them.
    _STATE_TABLES = ("label_versions", "topic_status", "node_labels")

    def label_state(self) -> dict:
        """Every label version, review status and the review log's end: what a revision saves so
        that undo puts the labels and reviews back as they were."""
        with self._use() as con:
            tables = {
                r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            }
            state: dict = {
                table: [dict(r) for r in con.execute(f"SELECT * FROM {table} ORDER BY rowid")]
                for table in self._STATE_TABLES
                if table in tables
            }
            last = con.execute("SELECT COALESCE(MAX(id), 0) FROM reviews").fetchone()[0]
        state["last_review"] = int(last)
        return state

    def restore_label_state(self, state: dict) -> None:
        """Put back what `label_state` saved (the LLM answer cache is kept: answers paid for stay
        paid for)."""
        with self.transaction() as tx, tx._use() as con:
            con.execute("DELETE FROM reviews WHERE id > ?", (int(state["last_review"]),))
            for table in self._STATE_TABLES:
                if table not in state:
                    continue
                con.execute(f"DELETE FROM {table}")
                rows = state[table]
                if not rows:
                    continue
                columns = list(rows[0])
                con.executemany(
                    f"INSERT INTO {table} ({', '.join(columns)})"
                    f" VALUES ({', '.join('?' * len(columns))})",
                    [tuple(r[c] for c in columns) for r in rows],
                )

    def add_revision(
        self,
        action: str,
        args: dict,
        summary: str,
        who: str | None,
        sizes: dict,
        touched: list[int],
    ) -> int:
        """Record a change; returns its revision id. `sizes`: topics_before, topics_after,
        outliers_before, outliers_after."""
        with self._use() as con:
            cursor = con.execute(
                "INSERT INTO revisions (action, args, summary, who, created_at, topics_before,"
                " topics_after, outliers_before, outliers_after, touched)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    action, json.dumps(args), summary, who, now(), int(sizes["topics_before"]),
                    int(sizes["topics_after"]), int(sizes["outliers_before"]),
                    int(sizes["outliers_after"]), json.dumps(sorted(int(t) for t in touched)),
                ),
            )  # fmt: skip
            return int(cursor.lastrowid)

    def set_revision_calls(self, revision: int, calls: int) -> None:
        with self._use() as con:
            con.execute("UPDATE revisions SET llm_calls = ? WHERE id = ?", (calls, revision))

    def revisions(self) -> list[dict]:
        """Every revision, oldest first (undone ones too, with `undone_at`)."""
        rows = self._rows("SELECT * FROM revisions ORDER BY id")
        for row in rows:
            row["args"] = json.loads(row["args"])
            row["touched"] = json.loads(row["touched"])
        return rows

    def mark_undone(self, revision: int, who: str | None) -> None:
        with self._use() as con:
            con.execute(
                "UPDATE revisions SET undone_at = ?, undone_by = ? WHERE id = ?",
                (now(), who, int(revision)),
            )

    # ------------------------------------------------------------------ undo tokens
    def record_undo(
        self,
        kind: str,
        *,
        review: int | None = None,
        topic: int | None = None,
        node: int | None = None,
        node_key: str | None = None,
        version_before: int | None = None,
        version_made: int | None = None,
        status_before: dict | None = None,
        live_revisions: int | None = None,
    ) -> int:
        """What the review app's undo of a decision puts back: `kind` "review" (its reviews row,
        the topic, the label version and topic_status row before, the revisions not undone
        then) or "name" (a tree node's id and key, its name's version before and the one the
        decision made). Returns the token's id (a name's undo token). Call it inside the
        decision's `transaction()`, so the decision and its undo are committed together."""
        with self._use() as con:
            cursor = con.execute(
                "INSERT INTO undo_tokens (kind, review, topic, node, node_key, version_before,"
                " version_made, status_before, live_revisions, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    kind, _int(review), _int(topic), _int(node), node_key, _int(version_before),
                    _int(version_made), json.dumps(status_before) if status_before else None,
                    _int(live_revisions), now(),
                ),
            )  # fmt: skip
            return int(cursor.lastrowid)

    def undo_token(self, kind: str, key: int) -> dict | None:
        """The undo recorded for a decision (`kind` "review": `key` is its reviews row id) or a
        name (`kind` "name": `key` is the token's id), used or not (`used_at`); None when none
        was recorded. `status_before` comes back as the row it was (a dict, or None)."""
        column = "review" if kind == "review" else "id"
        rows = self._rows(
            f"SELECT * FROM undo_tokens WHERE kind = ? AND {column} = ?", (kind, int(key))
        )
        if not rows:
            return None
        row = rows[0]
        row["status_before"] = json.loads(row["status_before"]) if row["status_before"] else None
        return row

    def consume_undo(self, token: int, who: str | None) -> bool:
        """Mark undo token `token` used; False when it was used already. Call it inside the
        undo's `transaction()`, with the undo's writes: a token is used once, even by two
        servers on one run."""
        with self._use() as con:
            cursor = con.execute(
                "UPDATE undo_tokens SET used_at = ?, used_by = ? WHERE id = ? AND used_at IS NULL",
                (now(), who, int(token)),
            )
            return cursor.rowcount == 1

    # ------------------------------------------------------------------ carrying topics across
    def topic_state(self) -> dict:
        """Every label version, review status, review and tree-node name, rows as stored: what
        another run's `adopt_topics` carries (a merge of runs, `labeler.pipeline.merge`)."""
        with self._use() as con:
            return {
                table: [dict(r) for r in con.execute(f"SELECT * FROM {table} ORDER BY id")]
                for table in ("label_versions", "reviews", "node_labels")
            } | {"topic_status": [dict(r) for r in con.execute("SELECT * FROM topic_status")]}

    def adopt_topics(self, state: dict, mapping: dict[int, int], nodes: bool = False) -> None:
        """Give topics of this run the names and reviews another run's topics had (`state`:
        its `topic_state()`; `mapping`: its topic → this run's topic), in one transaction.

        Each target topic keeps its own keyword versions (its keyword label names it by its id
        here) and gets the source topic's other versions after them, in their order; the
        current one stays current (the keyword label when the source's current label was its
        keyword label). Its status is the source's, and the source's reviews are appended to the
        log under the target's id. `nodes`: also the source's tree-node names (their keys name
        leaf topics by id, so only for a source whose ids are this run's)."""
        mapping = {int(s): int(t) for s, t in mapping.items() if int(s) >= 0}
        fields = [c for c in (state["label_versions"][0] if state["label_versions"] else {})
                  if c not in ("id", "topic", "version", "is_current")]  # fmt: skip
        with self.transaction() as tx, tx._use() as con:
            for source, target in mapping.items():
                rows = [r for r in state["label_versions"] if int(r["topic"]) == source]
                rows.sort(key=lambda r: int(r["version"]))
                given = [r for r in rows if r["source"] != "keywords"]
                current = next((r for r in rows if r["is_current"]), None)
                con.execute(
                    "DELETE FROM label_versions WHERE topic = ? AND source != 'keywords'",
                    (target,),
                )
                if not given:
                    continue
                base = con.execute(
                    "SELECT COALESCE(MAX(version), 0) FROM label_versions WHERE topic = ?",
                    (target,),
                ).fetchone()[0]
                keep_keywords = current is None or current["source"] == "keywords"
                if not keep_keywords:
                    con.execute(
                        "UPDATE label_versions SET is_current = 0 WHERE topic = ?", (target,)
                    )
                columns = ["topic", "version", "is_current", *fields]
                marks = ", ".join("?" * len(columns))
                con.executemany(
                    f"INSERT INTO label_versions ({', '.join(columns)}) VALUES ({marks})",
                    [
                        (target, base + k, int(not keep_keywords and r is current),
                         *(r[c] for c in fields))
                        for k, r in enumerate(given, start=1)
                    ],
                )  # fmt: skip
            statuses = [r for r in state["topic_status"] if int(r["topic"]) in mapping]
            con.executemany(
                "INSERT OR REPLACE INTO topic_status (topic, status, reviewer, updated_at)"
                " VALUES (?, ?, ?, ?)",
                [(mapping[int(r["topic"])], r["status"], r["reviewer"], r["updated_at"])
                 for r in statuses],
            )  # fmt: skip
            review_fields = ("action", "label_before", "label_after", "summary_before",
                             "summary_after", "note", "reviewer", "created_at")  # fmt: skip
            con.executemany(
                f"INSERT INTO reviews (topic, {', '.join(review_fields)})"
                f" VALUES (?, {', '.join('?' * len(review_fields))})",
                [(mapping[int(r["topic"])], *(r[c] for c in review_fields))
                 for r in state["reviews"] if int(r["topic"]) in mapping],
            )  # fmt: skip
            if nodes and state["node_labels"]:
                node_fields = [c for c in state["node_labels"][0] if c != "id"]
                con.executemany(
                    f"INSERT INTO node_labels ({', '.join(node_fields)})"
                    f" VALUES ({', '.join('?' * len(node_fields))})",
                    [tuple(r[c] for c in node_fields) for r in state["node_labels"]],
                )

    # ------------------------------------------------------------------ the LLM answer cache
    def cached_answer(self, key: str) -> str | None:
        rows = self._rows("SELECT response FROM llm_cache WHERE key = ?", (key,))
        return rows[0]["response"] if rows else None

    def store_answer(
        self,
        key: str,
        model: str,
        request: str,
        response: str,
        prompt_tokens: int | None,
        completion_tokens: int | None,
    ) -> None:
        with self._use() as con:
            con.execute(
                "INSERT OR REPLACE INTO llm_cache (key, model, request, response, prompt_tokens,"
                " completion_tokens, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (key, model, request, response, prompt_tokens, completion_tokens, now()),
            )

    def answers(self) -> list[dict]:
        """Every cached answer, to carry into a refit of the same folder (resume, not repay)."""
        return self._rows("SELECT * FROM llm_cache")

    def add_answers(self, rows: Iterable[dict]) -> None:
        columns = ("key", "model", "request", "response", "prompt_tokens", "completion_tokens",
                   "created_at")  # fmt: skip
        values = [tuple(r.get(c) for c in columns) for r in rows]
        if not values:
            return
        with self.transaction() as tx, tx._use() as con:
            con.executemany(
                f"INSERT OR IGNORE INTO llm_cache ({', '.join(columns)})"
                f" VALUES ({', '.join('?' * len(columns))})",
                values,
            )


def _int(value) -> int | None:
    return None if value is None else int(value)
