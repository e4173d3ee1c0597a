"""The label step's one progress bar: topics and tree nodes together, so its ETA is the step's.

`label_topics` opens it with the topics it will ask about plus the tree nodes `name_tree` will
name, and both advance it; a bar per phase would restart its estimate halfway. Shown on stderr
at INFO level only (hidden by `-q`), never in a report.
"""

from __future__ import annotations

import logging
import threading

log = logging.getLogger("labeler")


class Progress:
    """A counter of finished items (`done` of `total`) drawn as one tqdm bar."""

    def __init__(self, total: int, desc: str = "labeling", unit: str = "item"):
        self.total = int(total)
        self.done = 0
        self._lock = threading.Lock()
        self._bar = None
        if self.total > 0 and log.isEnabledFor(logging.INFO):
            from tqdm.auto import tqdm

            # smoothing=0: the ETA from the average rate over the whole step, not the last few
            # items (answers arrive in bursts with several slots, and cached ones at once).
            self._bar = tqdm(total=self.total, desc=desc, unit=unit, leave=False, smoothing=0)

    def describe(self, desc: str) -> None:
        if self._bar is not None:
            self._bar.set_description_str(desc, refresh=False)

    def update(self, n: int = 1) -> None:
        with self._lock:
            self.done += n
            if self._bar is not None:
                self._bar.update(n)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
