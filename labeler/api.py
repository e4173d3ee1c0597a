"""The Python API's calls that write a run folder and leave its reports up to date.

The steps they call never render (`labeler.labels.labeling.label_topics`: labels, then
`Run.refresh()`); like the commands and the review app, these render the reports once, at the
end. `labeler.save` and `labeler.label_run` are these.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from labeler.labels.labeling import label_topics
from labeler.labels.prior import carry_labels, read_prior
from labeler.run.folder import Run, as_run
from labeler.run.records import model_config, save_model
from labeler.views.report import render_reports

if TYPE_CHECKING:
    from labeler.llm.asker import LabelStats
    from labeler.llm.client import ChatModel
    from labeler.llm.settings import LLMSettings
    from labeler.pipeline.update import Update


def save(
    model, run_dir: str | Path, config: dict | None = None, prior: str | Path | None = None
) -> Path:
    """Save a fitted TopicModel as a run folder, reports included. (`run_dir` and
    `label_run`'s `run_dir` keep 0.1.0's names: they are the public API's.)

    `prior`: an earlier run whose topics' labels, summaries and reviews go to the topics that
    match them by documents (`labeler.labels.prior`; it may be `run_dir` itself)."""
    config = config or model_config(model)
    old = read_prior(prior) if prior is not None else None  # before run_dir is replaced

    def writer(staging: Path) -> None:
        save_model(model, staging, config)
        if old is None:
            render_reports(Run(staging, check=False))

    run = Run.create(Path(run_dir), writer)
    if old is not None:
        carry_labels(run, old)
        render_reports(run)
    return run.path


def update(
    run_dir: Run | str | Path,
    corpus: str | Path,
    *,
    text_column: str | None = None,
    id_column: str | None = None,
    settings: LLMSettings | None = None,
    chat: ChatModel | None = None,
    cache_dir: Path | None = None,
    who: str | None = None,
) -> Update:
    """`labeler update`: add the documents of `corpus` to a saved run without refitting (one
    revision, which `labeler.surgery.undo` takes back), under the run's lock; the reports are
    rendered once after it."""
    from labeler.corpus import CorpusSpec
    from labeler.pipeline.update import update_run
    from labeler.run.layout import run_lock

    run = as_run(run_dir)
    with run_lock(run.path):
        done = update_run(
            run, CorpusSpec(Path(corpus), text_column, id_column), settings=settings, chat=chat,
            who=who, cache_dir=cache_dir,
        )  # fmt: skip
        render_reports(run)
    return done


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
