"""`Run`: one run folder, the only way its files change after the fit.

What a run knows after the fit (label versions, reviews, the LLM answer cache) is stored once, in
`run.sqlite` (`RunDB`). `topics.json`'s and `hierarchy.json`'s label fields are derived from it
by `refresh()`; nothing else writes them (the reports are rendered by the command or app that
changed the run, never here). The fit's outputs (documents.parquet, topics.json) are
written at creation (`create`, through a staging folder) and afterwards only by `replace_topics`
(a merge), inside the database transaction that records the same change: a failure on either
side leaves both as they were.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import os
import shutil
from collections.abc import Callable
from pathlib import Path

from labeler.errors import LabelerError
from labeler.run.db import RunDB
from labeler.run.layout import (
    CONFIG,
    DOCUMENTS,
    EMBEDDINGS,
    HIERARCHY,
    REVISIONS,
    TOPICS,
    atomic_write,
    check_files,
    check_run,
    file_problem,
    read_json,
    write_json,
    write_npy,
    write_parquet,
    write_run_dir,
)

# What a topic change replaces, and a revision keeps for undo (hierarchy.json only when present).
REVISION_FILES = (DOCUMENTS, TOPICS, CONFIG, HIERARCHY)
LABEL_STATE = "labels.json"


def sync_labels(folder: Path, db: RunDB) -> None:
    """Copy each topic's current label version and review status into topics.json."""
    path = Path(folder) / TOPICS
    topics = read_json(path)
    labels = db.current_labels()
    statuses = db.status_names()
    for record in topics:
        current = labels.get(int(record["topic"]))
        if current:
            record["label"] = current["label"]
            record["summary"] = current["summary"]
            record["label_source"] = current["source"]
            record["label_version"] = current["version"]
            record["label_model"] = current["model"]
            record["label_prompt"] = current["prompt_name"]
            record["label_flags"] = json.loads(current["flags"]) if current["flags"] else []
        record["review_status"] = statuses.get(int(record["topic"]), "unreviewed")
    write_json(path, topics)
    sync_tree(folder, db, topics)


def sync_tree(folder: Path, db: RunDB, topics: list[dict] | None = None) -> None:
    """Copy the current names into hierarchy.json: a leaf's from its topic (topics.json, already
    synced), a node above from its own label versions (by node key); a node never named keeps
    its keyword label."""
    path = Path(folder) / HIERARCHY
    if not path.is_file():
        return
    problem = file_problem(Path(folder), HIERARCHY)
    if problem:  # left as it is: `labeler tree --rebuild` replaces it
        logging.getLogger("labeler").warning(
            "%s %s: its names were not updated (`labeler tree %s --rebuild` rebuilds it)",
            path,
            problem,
            folder,
        )
        return
    tree = read_json(path)
    topics = topics if topics is not None else read_json(Path(folder) / TOPICS)
    by_topic = {int(r["topic"]): r for r in topics}
    names = db.current_node_labels()
    for node in tree.get("nodes", []):
        if node["layer"] == 0:
            record = by_topic.get(int(node["id"]))
            if record is None:
                continue
            node["label"], node["summary"] = record["label"], record.get("summary")
            node["label_source"] = record.get("label_source", "keywords")
            node["review_status"] = record.get("review_status", "unreviewed")
            continue
        current = names.get(node["key"])
        if current is None:
            node["label"] = node.get("keyword_label", node["label"])
            node["summary"], node["label_source"], node["label_flags"] = None, "keywords", []
            continue
        node["label"], node["summary"] = current["label"], current["summary"]
        node["label_source"] = current["source"]
        node["label_version"] = current["version"]
        node["label_model"] = current["model"]
        node["label_flags"] = json.loads(current["flags"]) if current["flags"] else []
    write_json(path, tree)


def topic_homes(old_documents: bytes, documents) -> dict[int, int | None]:
    """Each new topic's home: the old topic (not the outliers) most of its documents were in,
    or None. Documents keep their rows through a change (an update appends rows after them)."""
    import io

    import pandas as pd

    from labeler.reassign import OUTLIER

    old = pd.read_parquet(io.BytesIO(old_documents), columns=["topic"])["topic"].to_numpy()
    new = pd.DataFrame(documents)["topic"].to_numpy()[: len(old)]
    pairs = pd.DataFrame({"new": new, "old": old[: len(new)]})
    pairs = pairs[pairs["old"] != OUTLIER]
    counts = pairs.groupby(["new", "old"]).size().reset_index(name="n")
    best = counts.sort_values(["n", "old"], ascending=[False, True]).drop_duplicates("new")
    homes: dict[int, int | None] = {
        int(t): None for t in pd.unique(pd.DataFrame(documents)["topic"])
    }
    homes.update({int(r.new): int(r.old) for r in best.itertuples()})
    return homes


class Run:
    """A finished run folder (checked on open; its database opened, and upgraded if it is
    older, on first use), passed to every step and view instead of its path: one object, one
    database connection setting, however many steps read it.

    `check=False` is for the staging folder a new run is written in (not finished yet: no
    run.json), which the pipeline renders before renaming it into place."""

    def __init__(self, path: str | Path, *, check: bool = True):
        self.path = check_run(Path(path)) if check else Path(path)

    @functools.cached_property
    def db(self) -> RunDB:
        """run.sqlite, opened on first use: a damaged database is a LabelerError there, so
        what needs no database (a report from topics.json) still works."""
        return RunDB(self.path)

    @property
    def name(self) -> str:
        return self.path.name

    @classmethod
    def create(cls, out: str | Path, write: Callable[[Path], None]) -> Run:
        """`write(staging)` fills a staging folder (the fit's files and `RunDB(staging,
        create=True)`); its label fields are synced, then it is renamed into place as `out`."""

        def fill(staging: Path) -> None:
            write(staging)
            sync_labels(staging, RunDB(staging))

        return cls(write_run_dir(Path(out), fill))

    def __repr__(self) -> str:
        return f"Run({str(self.path)!r})"

    # ------------------------------------------------------------------ reading
    def config(self) -> dict:
        return read_json(self.path / CONFIG)

    def topics(self) -> list[dict]:
        """topics.json as written (label fields as of the last refresh)."""
        return read_json(self.path / TOPICS)

    def hierarchy(self) -> dict | None:
        """hierarchy.json (`{"layers": [...], "nodes": [...]}`), or None for a run without one;
        a damaged one is a LabelerError saying how to rebuild it."""
        path = self.path / HIERARCHY
        if not path.exists():
            return None
        problem = file_problem(self.path, HIERARCHY)
        if problem:
            raise LabelerError(
                f"{path} {problem}: `labeler tree {self.path} --rebuild` rebuilds it (the topics, "
                "labels and reports still work)"
            )
        return read_json(path)

    def check(self, command: str = "topics") -> None:
        """Every file `command` reads, checked against its contract and against the others
        (`layout.check_files`): called before a change writes anything."""
        check_files(self.path, command)

    def write_hierarchy(self, tree: dict) -> None:
        """Replace hierarchy.json (a rebuilt tree), then copy the stored names into it."""
        write_json(self.path / HIERARCHY, tree)
        sync_tree(self.path, self.db)

    def model(self):
        """The run as a fitted `TopicModel` (every documented attribute set): the run layer
        knows the estimator, not the other way round."""
        from labeler.run.records import load_run

        return load_run(self.path)

    def documents(self, columns: list[str] | None = None):
        import pandas as pd

        return pd.read_parquet(self.path / DOCUMENTS, columns=columns)

    def embeddings(self):
        import numpy as np

        # Memory-mapped, read-only: at a million documents the array is 0.75 GB (float16 on the
        # large path) and labeling or a merge reads only the rows of the topics it touches.
        return np.load(self.path / EMBEDDINGS, allow_pickle=False, mmap_mode="r")

    # ------------------------------------------------------------------ writing
    def write_config(self, config: dict) -> None:
        write_json(self.path / CONFIG, config)

    def refresh(self) -> None:
        """Rederive what is derived from the database: topics.json's label fields and review
        status, and hierarchy.json's names. The reports are not touched: the command or app that
        changed the run renders them, once."""
        sync_labels(self.path, self.db)

    def replace_topics(
        self,
        documents,
        records: list[dict],
        change: Callable[[RunDB], None] | None = None,
        embeddings=None,
    ) -> None:
        """Replace documents.parquet and topics.json and apply `change` to the database as one
        step: the files are written inside the database transaction, and restored if it fails.
        `embeddings`: embeddings.npy's new array too (`labeler update` appends rows to both).

        documents.parquet is written before topics.json, so even a kill between the two leaves
        every document in a topic that exists."""
        names = (DOCUMENTS, TOPICS) if embeddings is None else (DOCUMENTS, EMBEDDINGS, TOPICS)
        saved = {name: (self.path / name).read_bytes() for name in names}
        try:
            with self.db.transaction() as tx:
                if change is not None:
                    change(tx)
                write_parquet(self.path / DOCUMENTS, documents)
                if embeddings is not None:
                    write_npy(self.path / EMBEDDINGS, embeddings)
                write_json(self.path / TOPICS, records)
        except BaseException:
            for name, data in saved.items():
                atomic_write(self.path / name, lambda tmp, data=data: Path(tmp).write_bytes(data))
            raise
        sync_labels(self.path, self.db)
        if (self.path / HIERARCHY).is_file():
            self.rebuild_tree(home=topic_homes(saved[DOCUMENTS], documents))

    def rebuild_tree(self, home: dict[int, int | None] | None = None) -> None:
        """Recompute hierarchy.json from the current topics (after a merge, a split, ...), and
        each node whose key (layer and leaf topics) is unchanged finds its stored name again.
        With `home` (each topic's old topic, `topic_homes`) the old tree's groups are kept where
        the topics did not change (`tree.carried_cuts`); without, Ward cuts the layers afresh.
        A tree that cannot be rebuilt is removed rather than left describing topics that no
        longer exist (`labeler tree` builds it again)."""
        from labeler.run.records import tree_record

        try:
            old = self.hierarchy() if home is not None else None
            model = self.model()
            model.hierarchy_ = None
            if old and old.get("nodes"):
                model.topic_tree(carry=(old["nodes"], home))
            self.write_hierarchy(tree_record(model))
        except (LabelerError, OSError, ValueError) as exc:
            logging.getLogger("labeler").warning("topic tree not rebuilt: %s", exc)
            (self.path / HIERARCHY).unlink(missing_ok=True)

    def tree(self, rebuild: bool = False) -> dict:
        """hierarchy.json, built first when the run has none (written before trees existed) or
        rebuilt when asked (`labeler tree --rebuild`): every node whose leaf topics are unchanged
        finds its stored name again."""
        tree = None if rebuild else self.hierarchy()
        if tree is None:
            self.rebuild_tree()
            tree = self.hierarchy()
        if tree is None:
            raise LabelerError(f"the topic tree of {self.path.name} could not be built (see above)")
        return tree

    # ------------------------------------------------------------------ revisions
    def revision_dir(self, revision: int) -> Path:
        return self.path / REVISIONS / str(int(revision))

    def keep_files(
        self, revision: int, db: RunDB | None = None, extra: tuple[str, ...] = ()
    ) -> Path:
        """Keep the files a change is about to replace (and the label state) as revision
        `revision`'s, for undo; `extra`: more of the run's files it replaces (embeddings.npy for
        `labeler update`, which appends rows to it). Hard links where the file system has them:
        every writer replaces files by renaming a new one into place, so the old bytes stay as
        they are at no cost until the change replaces them (a copy otherwise)."""
        folder = self.revision_dir(revision)
        if folder.exists():  # left by a change whose transaction was rolled back
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
        for name in (*REVISION_FILES, *extra):
            source = self.path / name
            if not source.is_file():
                continue
            try:
                os.link(source, folder / name)
            except OSError:
                shutil.copy2(source, folder / name)
        write_json(folder / LABEL_STATE, (db or self.db).label_state())
        return folder

    def kept_files(self, revision: int) -> dict[str, Path | None]:
        """Revision `revision`'s kept files by name; None: the file did not exist then."""
        folder = self.revision_dir(revision)
        missing = [n for n in (DOCUMENTS, TOPICS, LABEL_STATE) if not (folder / n).is_file()]
        if missing:
            raise LabelerError(
                f"revision {revision}'s saved files are missing ({', '.join(missing)} in "
                f"{folder}): it cannot be undone"
            )
        kept = {n: (folder / n if (folder / n).is_file() else None) for n in REVISION_FILES}
        if (folder / EMBEDDINGS).is_file():  # kept only by a change that replaced it (an update)
            kept[EMBEDDINGS] = folder / EMBEDDINGS
        return kept

    def restore_files(
        self, files: dict[str, Path | None], change: Callable[[RunDB], None] | None = None
    ) -> None:
        """Put back kept files byte for byte (None: remove the file) and apply `change` to the
        database, as one step like `replace_topics`."""
        saved = {
            name: (self.path / name).read_bytes() if (self.path / name).is_file() else None
            for name in files
        }

        def put(name: str, data: bytes | None) -> None:
            if data is None:
                with contextlib.suppress(FileNotFoundError):
                    (self.path / name).unlink()
            else:
                atomic_write(self.path / name, lambda tmp: Path(tmp).write_bytes(data))

        order = sorted(files, key=lambda n: n != DOCUMENTS)  # documents first, as replace_topics
        try:
            with self.db.transaction() as tx:
                if change is not None:
                    change(tx)
                for name in order:
                    source = files[name]
                    put(name, source.read_bytes() if source is not None else None)
        except BaseException:
            for name, data in saved.items():
                put(name, data)
            raise


RunLike = Run | str | Path  # what the Python API takes for a run


def as_run(run: RunLike) -> Run:
    """`run` itself, or the finished run folder at that path: the Python API takes either."""
    return run if isinstance(run, Run) else Run(run)
