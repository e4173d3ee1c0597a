"""`labeler update RUN NEW_DOCS`: add documents to a run without refitting it. The work is
`labeler.pipeline.update`'s; this module parses, renders once and prints."""

from __future__ import annotations

from pathlib import Path

import click

from labeler.cli.common import llm_options, llm_settings, path_option, setup_logging, user_errors
from labeler.errors import LabelerError, printable

EXAMPLES = """
\b
Examples:
  labeler update reports/tickets new_tickets.csv --text-column body --id-column ticket_id
  labeler update reports/tickets more.jsonl --llm none
  labeler topics reports/tickets undo      # takes the update back
"""


@click.command(epilog=EXAMPLES)
@click.argument("run_dir", type=path_option())
@click.argument("new_docs", type=path_option())
@click.option("--text-column", help="Column holding the text [text].")
@click.option("--id-column", help="Column of document ids [the run's numbering continues].")
@click.option("--time-column", help="Column of timestamps, carried to the outputs.")
@click.option("--class-column", help="Column of known classes, carried to the outputs.")
@click.option("--encoding", help="Text encoding of the corpus [detected].")
@click.option("--delimiter", help="Field delimiter of CSV/TSV [detected from the data].")
@llm_options
@click.option("--cache-dir", type=path_option(), help="Cache folder and packaged models.")
@click.option("--reviewer", help="Name recorded with the change [the OS user].")
@click.option("-q", "--quiet", is_flag=True, help="Only warnings and errors.")
@user_errors
def update(run_dir: Path, new_docs: Path, **opts) -> None:
    """Add the documents of NEW_DOCS to RUN_DIR without refitting: each joins its nearest topic
    or, with others that fit none, forms a new topic; every topic keeps its id, label and
    review, and only new and changed topics go to the LLM (--llm none: keyword labels). One
    revision: `labeler topics RUN_DIR undo` takes it back."""
    import os

    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    from labeler.corpus import CorpusSpec
    from labeler.pipeline.update import update_run
    from labeler.run.folder import Run
    from labeler.run.layout import check_run, run_lock
    from labeler.views.report import render_reports

    setup_logging(opts.pop("quiet"))
    check_run(run_dir, "topics")  # refused before the corpus is read or a model loaded
    reviewer, cache_dir = opts.pop("reviewer"), opts.pop("cache_dir")
    settings = llm_settings(opts)
    spec = CorpusSpec(
        new_docs, opts["text_column"], opts["id_column"], opts["time_column"],
        opts["class_column"], opts["encoding"], None, opts["delimiter"],
    )  # fmt: skip
    if not Path(new_docs).exists():
        raise LabelerError(f"{printable(new_docs)}: not found")
    with run_lock(run_dir):
        run = Run(run_dir)
        done = update_run(run, spec, settings=settings, who=reviewer, cache_dir=cache_dir)
        render_reports(run)  # once, after the change and its labels
    s = done.sizes
    click.echo(
        printable(
            f"revision {done.revision}: {done.summary} (topics {s['topics_before']} → "
            f"{s['topics_after']}, outliers {s['outliers_before']} → {s['outliers_after']})"
        )
    )
    click.echo(f"new topics: {_ids(done.new_topics) or 'none'}")
    click.echo(f"changed (described again): {_ids(done.changed) or 'none'}")
    if done.llm is not None:
        click.echo(f"LLM calls: {done.llm_calls} (asked about {_ids(done.relabelled)})")
        click.echo(done.llm.line())
    elif done.llm_error:
        click.echo(printable(f"LLM calls: none made ({done.llm_error}); keyword labels kept"))
    else:
        click.echo("LLM calls: 0 (no LLM: keyword labels for new and changed topics)")
    click.echo(printable(f"report: {Path(run_dir) / 'report.html'}"))


def _ids(ids) -> str:
    return ", ".join(str(t) for t in ids)


UPDATE_COMMANDS = [update]
