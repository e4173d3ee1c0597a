"""Ordered migrations of `run.sqlite`, recorded in the database itself (`PRAGMA user_version`).

A new database runs them all; a run written by an older labeler runs the ones it lacks, once,
inside one write transaction (two processes opening the same old run cannot both upgrade it); a
database whose version is higher than the last migration here was written by a newer labeler and
is refused rather than misread. Migrations are append-only: never edit one that has shipped,
add the next.

Version 1 is the schema labeler 0.1.0 wrote without recording a version (`CREATE TABLE IF NOT
EXISTS`, so it also completes a 0.1.0 database that predates the review tables).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

Migration = Callable[[sqlite3.Connection], None]
MIGRATIONS: list[Migration] = []


def migration(func: Migration) -> Migration:
    """Append `func` as the next schema version (its position is its version number)."""
    MIGRATIONS.append(func)
    return func


@migration
def m001_initial(con: sqlite3.Connection) -> None:
    con.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    con.execute(
        """CREATE TABLE IF NOT EXISTS label_versions (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            topic INTEGER NOT NULL,
            version INTEGER NOT NULL,
            label TEXT NOT NULL,
            summary TEXT,
            source TEXT NOT NULL,          -- keywords | llm | review
            prompt_name TEXT,
            prompt_hash TEXT,
            model TEXT,
            params TEXT,                   -- JSON
            flags TEXT,                    -- JSON list, e.g. ["fallback"]
            request TEXT,                  -- JSON messages sent to the LLM (audit)
            raw_answer TEXT,               -- the LLM's reply as received (audit)
            created_at TEXT NOT NULL,
            is_current INTEGER NOT NULL DEFAULT 0,
            UNIQUE (topic, version)
        )"""
    )
    con.execute(
        "CREATE INDEX IF NOT EXISTS label_versions_current ON label_versions (topic, is_current)"
    )
    # LLM answers by content hash of (model, messages, generation parameters, schema).
    con.execute(
        """CREATE TABLE IF NOT EXISTS llm_cache (
            key TEXT PRIMARY KEY,
            model TEXT NOT NULL,
            request TEXT NOT NULL,
            response TEXT NOT NULL,
            prompt_tokens INTEGER,
            completion_tokens INTEGER,
            created_at TEXT NOT NULL
        )"""
    )
    # Review decisions: one row per action, and each topic's resulting status.
    con.execute(
        """CREATE TABLE IF NOT EXISTS reviews (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            topic INTEGER NOT NULL,
            action TEXT NOT NULL,          -- accept | edit | reject | note | merge | not_a_topic
            label_before TEXT,
            label_after TEXT,
            summary_before TEXT,
            summary_after TEXT,
            note TEXT,
            reviewer TEXT,
            created_at TEXT NOT NULL
        )"""
    )
    con.execute(
        """CREATE TABLE IF NOT EXISTS topic_status (
            topic INTEGER PRIMARY KEY,
            status TEXT NOT NULL DEFAULT 'unreviewed',  -- accepted, edited, rejected, not_a_topic
            reviewer TEXT,
            updated_at TEXT
        )"""
    )


@migration
def m002_reviews_by_topic(con: sqlite3.Connection) -> None:
    """The review app reads one topic's log per page: index it instead of scanning every row."""
    con.execute("CREATE INDEX IF NOT EXISTS reviews_topic ON reviews (topic, id)")


@migration
def m003_revisions(con: sqlite3.Connection) -> None:
    """Topic surgery (merge, split, reduce, outliers, delete) records each change as a revision:
    what, when, who and the sizes before and after. The files it replaced are kept in the run's
    `revisions/<id>/` folder, so `labeler topics RUN undo` can put them back byte for byte."""
    con.execute(
        """CREATE TABLE IF NOT EXISTS revisions (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            action TEXT NOT NULL,          -- merge | split | reduce | outliers | delete
            args TEXT NOT NULL,            -- JSON: the change's arguments
            summary TEXT NOT NULL,         -- one line for people
            who TEXT,
            created_at TEXT NOT NULL,
            topics_before INTEGER NOT NULL,
            topics_after INTEGER NOT NULL,
            outliers_before INTEGER NOT NULL,
            outliers_after INTEGER NOT NULL,
            touched TEXT NOT NULL,         -- JSON list of the topics re-described
            llm_calls INTEGER,             -- LLM calls its relabel made (NULL: no LLM)
            undone_at TEXT,                -- set by undo; the revision's saved files are removed
            undone_by TEXT
        )"""
    )


@migration
def m004_node_labels(con: sqlite3.Connection) -> None:
    """Names of the topic tree's nodes above the topics (hierarchy.json), versioned like topic
    labels. A node is named by its `node_key` (its layer and leaf topics), which survives a
    rebuild of the tree: an unchanged node keeps its name."""
    con.execute(
        """CREATE TABLE IF NOT EXISTS node_labels (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            node_key TEXT NOT NULL,        -- "<layer>:<leaf topic ids, comma-separated>"
            layer INTEGER NOT NULL,
            version INTEGER NOT NULL,
            label TEXT NOT NULL,
            summary TEXT,
            source TEXT NOT NULL,          -- keywords | llm | review
            prompt_name TEXT,
            prompt_hash TEXT,
            model TEXT,
            params TEXT,                   -- JSON
            flags TEXT,                    -- JSON list
            request TEXT,                  -- JSON messages sent to the LLM (audit)
            raw_answer TEXT,
            created_at TEXT NOT NULL,
            is_current INTEGER NOT NULL DEFAULT 0,
            UNIQUE (node_key, version)
        )"""
    )
    con.execute(
        "CREATE INDEX IF NOT EXISTS node_labels_current ON node_labels (node_key, is_current)"
    )


@migration
def m005_undo_tokens(con: sqlite3.Connection) -> None:
    """What the review app's Undo puts back, for every decision and group name it made: kept
    here rather than in the server's memory, so the Undo of a notice shown before a restart of
    `labeler review` still works. A token is used once (`used_at`)."""
    con.execute(
        """CREATE TABLE IF NOT EXISTS undo_tokens (
            id INTEGER PRIMARY KEY AUTOINCREMENT,  -- a name's token: {"name": id}
            kind TEXT NOT NULL,            -- review | name
            review INTEGER UNIQUE,         -- review: the reviews row ({"review": id})
            topic INTEGER,                 -- review: the topic decided on
            node INTEGER,                  -- name: the tree node's id when it was named
            node_key TEXT,                 -- name: the node's key
            version_before INTEGER,        -- the label (or name) version current before
            version_made INTEGER,          -- name: the version the decision made current
            status_before TEXT,            -- review: JSON topic_status row before (NULL: none)
            live_revisions INTEGER,        -- review: revisions not undone when it was made
            created_at TEXT NOT NULL,
            used_at TEXT,                  -- set by its undo: a token is used once
            used_by TEXT
        )"""
    )


LATEST = len(MIGRATIONS)
