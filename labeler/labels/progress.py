"""The label step's one progress bar: topics and tree nodes together, so its ETA is the step's.

`label_topics` opens it with the topics it will ask about plus the tree nodes `name_tree` will
name, and both advance it; a bar per phase would restart its estimate halfway. A node's answer
takes longer than a topic's (its prompt lists every child's name and summary, and the children's
documents check it), so the bar's length counts a node as `TREE_NODE_COST` topics: with equal
weights the ETA shown while topics were labelled was short by the difference. Shown on stderr at
INFO level only (hidden by `-q`), never in a report.
"""

from __future__ import annotations

import logging
import threading

log = logging.getLogger("labeler")

# Seconds of one tree node's name over one topic's label with the packaged 1.5B model on 2 cores,
# from benchmarks/cold_warm.py's `make demo` run: 10.7 s a node against 6.5 s a topic (a quiet
# machine's earlier run: 6.6 s against 4.3 s).
TREE_NODE_COST = 1.6


class Progress:
    """Finished topics and tree nodes (`done` of `total` items) drawn as one tqdm bar whose
    length weighs a node as `TREE_NODE_COST` topics."""

    def __init__(self, total: int, desc: str = "labeling", unit: str = "item", nodes: int = 0):
        self.topics = int(total)
        self.nodes = int(nodes)
        self.total = self.topics + self.nodes
        self.done = 0
        self._nodes_done = 0
        self._lock = threading.Lock()
        self._bar = None
        if self.total > 0 and log.isEnabledFor(logging.INFO):
            from tqdm.auto import tqdm

            # smoothing=0: the ETA from the average rate over the whole step, not the last few
            # items (answers arrive in bursts with several slots, and cached ones at once).
            # The bar counts weighted work; the text counts items.
            self._bar = tqdm(
                total=self.topics + self.nodes * TREE_NODE_COST, desc=desc, unit=unit,
                leave=False, smoothing=0,
                bar_format="{desc}: {percentage:3.0f}%|{bar}| {postfix} [{elapsed}<{remaining}]",
            )  # fmt: skip
            self._bar.set_postfix_str(self._counts(), refresh=False)

    def _counts(self) -> str:
        topics = f"{self.done - self._nodes_done}/{self.topics} topics" if self.topics else ""
        nodes = f"{self._nodes_done}/{self.nodes} tree nodes" if self.nodes else ""
        return ", ".join(part for part in (topics, nodes) if part)

    def describe(self, desc: str) -> None:
        if self._bar is not None:
            self._bar.set_description_str(desc, refresh=False)

    def update(self, n: int = 1) -> None:
        """`n` topics finished."""
        self._advance(n, n)

    def update_node(self, n: int = 1) -> None:
        """`n` tree nodes finished (on a bar opened with `nodes=`; else they count as topics)."""
        if self.nodes == 0:
            self._advance(n, n)
            return
        with self._lock:
            self._nodes_done += n
        self._advance(n, n * TREE_NODE_COST)

    def _advance(self, items: int, work: float) -> None:
        with self._lock:
            self.done += items
            if self._bar is not None:
                self._bar.set_postfix_str(self._counts(), refresh=False)
                self._bar.update(work)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
