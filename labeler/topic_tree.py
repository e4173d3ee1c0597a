"""Build (or rebuild) a run's topic tree, `hierarchy.json`, from the files of the run.

`labeler run` writes the tree with the fit; this step builds it for a run that has none (written
before trees existed) and rebuilds it after the topics change (a merge, a split): the layers are
recomputed from the current topics, and every node whose leaf topics are unchanged finds its
stored name again (names are kept in run.sqlite under the node's key, see `labeler.tree`).
"""

from __future__ import annotations

from pathlib import Path

from labeler.errors import LabelerError
from labeler.run.folder import Run


def build_run_tree(run_dir: Path) -> dict:
    """Recompute hierarchy.json from the run's current topics and write it (names synced).

    `Run.replace_topics` does the same after every change to the topics."""
    run = Run(run_dir)
    run.rebuild_tree()
    tree = run.hierarchy()
    if tree is None:
        raise LabelerError(f"the topic tree of {run.path.name} could not be built (see above)")
    return tree


def ensure_tree(run_dir: Path) -> dict:
    """The run's hierarchy.json, built first when the run has none."""
    tree = Run(run_dir).hierarchy()
    return tree if tree is not None else build_run_tree(run_dir)
