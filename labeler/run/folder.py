"""`Run`: one run folder, the only way its files change after the fit.

What a run knows after the fit (label versions, reviews, the LLM answer cache) is stored once, in
`run.sqlite` (`RunDB`). `topics.json`'s label fields and the reports are derived from it by
`refresh()`; nothing else writes them. The fit's outputs (documents.parquet, topics.json) are
written at creation (`create`, through a staging folder) and afterwards only by `replace_topics`
(a merge), inside the database transaction that records the same change: a failure on either
side leaves both as they were.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from labeler.run.db import RunDB
from labeler.run.layout import (
    CONFIG,
    DOCUMENTS,
    EMBEDDINGS,
    TOPICS,
    atomic_write,
    check_run,
    read_json,
    write_json,
    write_parquet,
    write_run_dir,
)

Renderer = Callable[[Path], object]  # writes the reports of a run folder (labeler.report)


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


class Run:
    """A finished run folder (checked on open; its database upgraded if it is older)."""

    def __init__(self, path: str | Path):
        self.path = check_run(Path(path))
        self.db = RunDB(self.path)

    @classmethod
    def create(cls, out: str | Path, write: Callable[[Path], None]) -> Run:
        """`write(staging)` fills a staging folder (the fit's files and `RunDB(staging,
        create=True)`); its label fields are synced, then it is renamed into place as `out`."""

        def fill(staging: Path) -> None:
            write(staging)
            sync_labels(staging, RunDB(staging))

        return cls(write_run_dir(Path(out), fill))

    # ------------------------------------------------------------------ reading
    def config(self) -> dict:
        return read_json(self.path / CONFIG)

    def topics(self) -> list[dict]:
        """topics.json as written (label fields as of the last refresh)."""
        return read_json(self.path / TOPICS)

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

    def refresh(self, render: Renderer | None = None) -> None:
        """Rederive what is derived from the database: topics.json's label fields and review
        status, then the reports when `render` is given (the caller's view layer)."""
        sync_labels(self.path, self.db)
        if render is not None:
            render(self.path)

    def replace_topics(
        self, documents, records: list[dict], change: Callable[[RunDB], None] | None = None
    ) -> None:
        """Replace documents.parquet and topics.json and apply `change` to the database as one
        step: the files are written inside the database transaction, and restored if it fails.

        documents.parquet is written before topics.json, so even a kill between the two leaves
        every document in a topic that exists."""
        saved = {name: (self.path / name).read_bytes() for name in (DOCUMENTS, TOPICS)}
        try:
            with self.db.transaction() as tx:
                if change is not None:
                    change(tx)
                write_parquet(self.path / DOCUMENTS, documents)
                write_json(self.path / TOPICS, records)
        except BaseException:
            for name, data in saved.items():
                atomic_write(self.path / name, lambda tmp, data=data: Path(tmp).write_bytes(data))
            raise
        sync_labels(self.path, self.db)
