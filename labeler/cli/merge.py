"""`labeler merge-runs A B --out C`: one run from two (`labeler.pipeline.merge`)."""

from __future__ import annotations

from pathlib import Path

import click

from labeler.cli.common import path_option, setup_logging, user_errors
from labeler.errors import printable

MERGE_EXAMPLES = """
\b
Examples:
  labeler merge-runs reports/january reports/february --out reports/q1
  labeler merge-runs reports/a reports/b --out reports/ab --min-similarity 0.8 --force
"""


@click.command("merge-runs", epilog=MERGE_EXAMPLES)
@click.argument("run_a", type=path_option())
@click.argument("run_b", type=path_option())
@click.option("--out", type=path_option(), required=True, help="The new run folder C.")
@click.option(
    "--min-similarity",
    type=click.FloatRange(0, 1),
    default=0.7,
    show_default=True,
    help="A topic of B whose centre is at least this similar (cosine) to one of A's joins it; "
    "the others are added to C as new topics.",
)
@click.option("--force", is_flag=True, help="Replace --out if it is a run already.")
@click.option("--quiet", "-q", is_flag=True, help="Only warnings and errors on stderr.")
@user_errors
def merge_runs(
    run_a: Path, run_b: Path, out: Path, min_similarity: float, force: bool, quiet: bool
) -> None:
    """Merge two finished runs into a new one: A's documents and topics, plus B's topics that
    match none of A's, with the names and reviews of both (BERTopic's merge_models)."""
    from labeler.pipeline.merge import check_merge
    from labeler.pipeline.merge import merge_runs as merge
    from labeler.views.report import render_reports

    setup_logging(quiet)
    check_merge(run_a, run_b, out, force)  # before anything is read in
    result = merge(run_a, run_b, out, min_similarity=min_similarity, force=force)
    render_reports(result.run)  # once, after the merge
    click.echo(printable(result.line()))
    click.echo(printable(str(result.run.path / "report.html")))


MERGE_COMMANDS = [merge_runs]
