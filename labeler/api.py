"""The Python API's calls that write a run folder and leave its reports up to date.

The steps they call never render (`labeler.labels.labeling.label_topics`: labels, then
`Run.refresh()`); like the commands and the review app, these render the reports once, at the
end. `labeler.save` and `labeler.label_run` are these.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from labeler.labels.labeling import label_topics
from labeler.run.folder import Run, as_run
from labeler.run.records import model_config, save_model
from labeler.views.report import render_reports

if TYPE_CHECKING:
    from labeler.llm.asker import LabelStats
    from labeler.llm.client import ChatModel
    from labeler.llm.settings import LLMSettings


def save(model, run_dir: str | Path, config: dict | None = None) -> Path:
    """Save a fitted TopicModel as a run folder, reports included. (`run_dir` and
    `label_run`'s `run_dir` keep 0.1.0's names: they are the public API's.)"""
    config = config or model_config(model)

    def writer(staging: Path) -> None:
        save_model(model, staging, config)
        render_reports(Run(staging, check=False))

    return Run.create(Path(run_dir), writer).path


def label_run(
    run_dir: Run | str | Path,
    settings: LLMSettings,
    topics: list[int] | None = None,
    force: bool = False,
    dry_run: bool = False,
    chat: ChatModel | None = None,
    cache_dir: Path | None = None,
    tree: bool = False,
    label_language: str | None = None,
) -> LabelStats:
    """Label (or relabel) the topics of a saved run, then render its reports once; returns what
    it cost (`dry_run`: what it would cost; nothing is written).

    With `tree`, the topic tree's layers above the topics are named afterwards with the same
    model (`labeler.labels.naming`; its cost in `stats.tree`): nodes whose children's names did not
    change find their answers cached. `label_language` ("de", "german"; else
    `settings.label_language`, else the run's recorded one): labels and summaries in that
    language, checked and asked again once when wrong (`--label-language`)."""
    run = as_run(run_dir)
    stats = label_topics(
        run, settings, topics=topics, force=force, dry_run=dry_run, chat=chat,
        cache_dir=cache_dir, tree=tree, label_language=label_language,
    )  # fmt: skip
    if not dry_run:
        render_reports(run)
    return stats
