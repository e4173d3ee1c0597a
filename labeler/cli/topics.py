"""`labeler topics RUN ...`: topic surgery on a saved run (merge, split, reduce, outliers,
delete), its history and undo. The work is `labeler.surgery`'s; this module parses and prints."""

from __future__ import annotations

import json
from pathlib import Path

import click

from labeler.cli.common import (
    FiniteFloat,
    llm_options,
    llm_settings,
    path_option,
    setup_logging,
    source_of,
    user_errors,
)
from labeler.errors import LabelerError, printable

EXAMPLES = """
\b
Examples:
  labeler topics reports/tickets merge 3 7
  labeler topics reports/tickets split 5 --llm small
  labeler topics reports/tickets reduce --to 20
  labeler topics reports/tickets outliers --strategy c-tf-idf --max-share 0.05
  labeler topics reports/tickets delete 9 --llm none
  labeler topics reports/tickets history
  labeler topics reports/tickets undo
"""


def change_options(func):
    """The LLM options of `labeler relabel`, and who makes the change: accepted before the
    subcommand (`labeler topics --llm none RUN merge 3 7`) and after it."""
    func = click.option("-q", "--quiet", is_flag=True, help="Only warnings and errors.")(func)
    func = click.option(
        "--cache-dir", type=path_option(), help="Where packaged models are assembled."
    )(func)
    func = llm_options(func)
    return click.option("--reviewer", help="Name recorded with the change [the OS user].")(func)


@click.group(epilog=EXAMPLES)
@click.argument("run_dir", type=path_option())
@change_options
@click.pass_context
def topics(ctx: click.Context, run_dir: Path, **opts) -> None:
    """Change the topics of RUN_DIR without refitting; each change is a revision undo takes back.

    Only the topics a change touches are described again and labelled again (with the LLM
    options, given before RUN_DIR or after the subcommand; --llm none keeps keyword labels).
    """
    ctx.obj = {"run_dir": run_dir, "opts": opts, "sources": {n: source_of(ctx, n) for n in opts}}


def _options(ctx: click.Context, own: dict) -> dict:
    """The group's options, overridden by those given after the subcommand. The command line
    wins over the environment wherever each was given: `labeler topics --llm small RUN merge 0 1`
    with LABELER_LLM=none set asks the small model (the subcommand's --llm only holds the
    environment's value)."""
    parent = ctx.obj
    merged = dict(parent["opts"])
    for name, value in own.items():
        rank = source_of(ctx, name)[0]
        if rank >= parent["sources"].get(name, (0, "default"))[0]:
            merged[name] = value
    return merged


def _change(ctx: click.Context, action: str, own: dict, *args, **kwargs) -> None:
    from labeler import surgery
    from labeler.run.folder import Run
    from labeler.run.layout import check_run, run_lock
    from labeler.views.report import render_reports

    opts = _options(ctx, own)
    setup_logging(opts.pop("quiet"))
    run_dir = ctx.obj["run_dir"]
    check_run(run_dir, "topics")
    reviewer, cache_dir = opts.pop("reviewer"), opts.pop("cache_dir")
    settings = llm_settings(opts)
    with run_lock(run_dir):
        run = Run(run_dir)  # opened once: the change, its labels and the render share it
        change = getattr(surgery, action)(
            run, *args, **kwargs, settings=settings, who=reviewer, cache_dir=cache_dir, lock=False
        )
        render_reports(run)  # once, after the change and its labels
    s = change.sizes
    click.echo(
        f"revision {change.revision}: {change.summary} (topics {s['topics_before']} → "
        f"{s['topics_after']}, outliers {s['outliers_before']} → {s['outliers_after']})"
    )
    described_ids = [t for t in change.touched if t >= 0]
    described = [_ids(described_ids)] if described_ids else []
    if -1 in change.touched:
        described.append("the outliers")
    click.echo(f"described again: {' and '.join(d for d in described if d) or 'nothing'}")
    if change.llm is not None:
        click.echo(f"LLM calls: {change.llm_calls} (relabelled {_ids(change.relabelled)})")
        click.echo(change.llm.line())
        if change.parents:
            click.echo(
                f"tree: {change.parents} parent name(s) asked again (their children changed)"
            )
    elif change.llm_error:
        click.echo(
            printable(
                f"LLM calls: none made ({change.llm_error}); keyword labels kept: "
                f"labeler relabel {run_dir} --topics {','.join(map(str, described_ids))}"
            )
        )
    else:
        click.echo("LLM calls: 0 (no LLM: keyword labels)")
    if change.marked:
        click.echo(f"back to review (their documents changed): {_ids(change.marked)}")
    click.echo(f"report: {Path(run_dir) / 'report.html'}")


def _ids(ids) -> str:
    return ", ".join(str(t) for t in ids)


def _topic_id(value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise LabelerError(f"a topic is a number, not {value!r}") from None


@topics.command()
@click.argument("topic_ids", nargs=-1, required=True)
@change_options
@click.pass_context
@user_errors
def merge(ctx: click.Context, topic_ids, **own) -> None:
    """Merge the other topics into the first: merge 3 7 [9 ...]."""
    _change(ctx, "merge", own, [_topic_id(t) for t in topic_ids])


@topics.command()
@click.argument("topic")
@click.option("--parts", type=int, default=None,
              help="How many parts (2 to 8; the review app's split preview offers the same). "
                   "Default: the best number.")  # fmt: skip
@change_options
@click.pass_context
@user_errors
def split(ctx: click.Context, topic, parts, **own) -> None:
    """Split a topic along its sub-groups (the largest part keeps the id)."""
    from labeler.cluster import MAX_SUBGROUPS

    topic_id = _topic_id(topic)
    if parts is not None and not 2 <= parts <= MAX_SUBGROUPS:
        raise LabelerError(f"--parts is how many parts a split makes: from 2 to {MAX_SUBGROUPS}, "
                           f"not {parts}")  # fmt: skip
    _change(ctx, "split", own, topic_id, parts=parts)


@topics.command()
@click.option("--to", "to", required=True, help="The number of topics to keep.")
@change_options
@click.pass_context
@user_errors
def reduce(ctx: click.Context, to, **own) -> None:
    """Merge the most similar topics until --to remain."""
    try:
        number = int(to)
    except ValueError:
        raise LabelerError(f"--to takes a number of topics, not {to!r}") from None
    _change(ctx, "reduce", own, number)


@topics.command()
@click.option("--strategy", default="embeddings", show_default=True,
              help="embeddings, c-tf-idf or probabilities.")  # fmt: skip
@click.option("--max-share", type=FiniteFloat(0, 1, max_open=True),
              help="Reassign until at most this share of documents are outliers "
              "(most confident first) [all outliers].")  # fmt: skip
@change_options
@click.pass_context
@user_errors
def outliers(ctx: click.Context, strategy, max_share, **own) -> None:
    """Reassign outlier documents to their nearest topic."""
    _change(ctx, "outliers", own, strategy, max_share)


@topics.command()
@click.argument("topic")
@change_options
@click.pass_context
@user_errors
def delete(ctx: click.Context, topic, **own) -> None:
    """A topic's documents become outliers."""
    _change(ctx, "delete", own, _topic_id(topic))


@topics.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
@user_errors
def history(ctx: click.Context, as_json) -> None:
    """The run's revisions: what, when, who, sizes before and after."""
    from labeler import surgery
    from labeler.run.layout import check_run

    run_dir = ctx.obj["run_dir"]
    check_run(run_dir, "labels")
    rows = surgery.history(run_dir)
    current = surgery.current_revision(rows)
    if as_json:
        click.echo(json.dumps({"current": current, "revisions": rows}, indent=1))
        return
    click.echo("revision 0: the fit")
    for r in rows:
        calls = "-" if r["llm_calls"] is None else r["llm_calls"]
        line = (
            f"revision {r['id']}: {r['summary']}; topics {r['topics_before']} → "
            f"{r['topics_after']}, outliers {r['outliers_before']} → {r['outliers_after']}, "
            f"LLM calls {calls}; {r['created_at']} by {r['who']}"
        )
        if r["undone_at"]:
            line += f" (undone {r['undone_at']} by {r['undone_by']})"
        click.echo(printable(line))
    click.echo(f"current: revision {current}")


@topics.command()
@click.pass_context
@user_errors
def undo(ctx: click.Context) -> None:
    """Take back the last change: files byte for byte, labels and reviews as they were."""
    from labeler import surgery
    from labeler.run.folder import Run
    from labeler.run.layout import check_run, run_lock
    from labeler.views.report import render_reports

    run_dir = ctx.obj["run_dir"]
    setup_logging(ctx.obj["opts"]["quiet"])
    check_run(run_dir, "labels")
    with run_lock(run_dir):
        run = Run(run_dir)
        row = surgery.undo(run, who=ctx.obj["opts"]["reviewer"], lock=False)
        render_reports(run)
    current = surgery.current_revision(surgery.history(run))
    click.echo(printable(f"undid revision {row['id']}: {row['summary']}"))
    click.echo(f"current: revision {current}")


TOPICS_COMMANDS: list = [topics]
