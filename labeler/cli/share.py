"""Commands that turn a saved run into shareable artifacts: `labeler report`, `labeler export`."""

from __future__ import annotations

import contextlib
from pathlib import Path

import click

from labeler.cli.common import TitleText, path_option, user_errors
from labeler.errors import printable

REPORT_EXAMPLES = """
\b
Examples:
  labeler report reports/tickets
  labeler report reports/tickets --no-text --out shared/tickets
  labeler report reports/tickets --max-docs 2 --no-map-text --images
"""

EXPORT_EXAMPLES = """
\b
Examples:
  labeler export reports/tickets --format csv
  labeler export reports/tickets --format parquet --out exports/tickets
  labeler export reports/tickets --format json --no-text
"""


@click.command(epilog=REPORT_EXAMPLES)
@click.argument("run_dir", type=path_option())
@click.option(
    "--out",
    type=path_option(),
    help="Folder for report.html and report.md [RUN_DIR].",
)
@click.option(
    "--no-text",
    is_flag=True,
    help="Leave out all document text and ids: labels, summaries, keywords and counts only.",
)
@click.option(
    "--max-docs",
    type=click.IntRange(min=0),
    help="At most N example documents per topic [all representative documents].",
)
@click.option(
    "--no-map-text", is_flag=True, help="The map shows topics on hover, not document text."
)
@click.option(
    "--images", is_flag=True, help="Also write the charts as PNG files (images/) for report.md."
)
@click.option("--title", type=TitleText(), help="The reports' title [the run's].")
@user_errors
def report(
    run_dir: Path,
    out: Path | None,
    no_text: bool,
    max_docs: int | None,
    no_map_text: bool,
    images: bool,
    title: str | None,
) -> None:
    """Re-render report.html and report.md from a saved run (no refitting)."""
    from labeler.run.layout import check_run, run_lock
    from labeler.views.report import ReportOptions, render_reports

    options = ReportOptions(
        text=not no_text,
        max_docs=max_docs,
        map_text=not no_map_text,
        images=images,
        title=title,
    )
    run_dir = check_run(run_dir, "report")
    with contextlib.ExitStack() as stack:
        if out is None:  # rendering into the run: not while another process writes it
            stack.enter_context(run_lock(run_dir))
        paths = render_reports(run_dir, out, options)
    for path in paths:
        click.echo(printable(str(path)))


@click.command("export", epilog=EXPORT_EXAMPLES)
@click.argument("run_dir", type=path_option())
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["csv", "parquet", "json"]),
    default="csv",
    show_default=True,
    help="File format of the tables.",
)
@click.option("--out", type=path_option(), help="Folder for the tables [RUN_DIR/export].")
@click.option("--no-text", is_flag=True, help="Leave the document text column out.")
@click.option(
    "--raw-csv",
    is_flag=True,
    help="Write CSV cells as they are, even those a spreadsheet runs as formulas (=, +, -, @).",
)
@user_errors
def export(run_dir: Path, fmt: str, out: Path | None, no_text: bool, raw_csv: bool) -> None:
    """Write topics, documents and keywords as flat tables (one row per topic, document, word)."""
    from labeler.run.layout import check_run
    from labeler.views.export import export_run

    run_dir = check_run(run_dir, "export")
    target = out or run_dir / "export"
    for path in export_run(run_dir, fmt, target, text=not no_text, raw_csv=raw_csv):
        click.echo(printable(str(path)))


@click.command()
@click.argument("run_dir", type=path_option())
@click.option(
    "--rebuild",
    is_flag=True,
    help="Recompute the layers from the current topics (names of unchanged nodes are kept).",
)
@click.option("--json", "as_json", is_flag=True, help="Print hierarchy.json's nodes as JSON.")
@user_errors
def tree(run_dir: Path, rebuild: bool, as_json: bool) -> None:
    """Print the topic tree of RUN_DIR (hierarchy.json; built first when the run has none)."""
    import json

    from labeler.run.folder import Run
    from labeler.run.layout import check_run, run_lock
    from labeler.tree import text_tree

    check_run(run_dir, "tree")
    with run_lock(run_dir):
        run = Run(run_dir)
        if rebuild:
            found = run.tree(rebuild=True)
            from labeler.views.report import render_reports

            render_reports(run)
        else:
            found = run.tree()
    if as_json:
        click.echo(json.dumps(found["nodes"], ensure_ascii=True, indent=1))
        return
    for line in text_tree(found["nodes"]).splitlines():
        click.echo(printable(line))  # names come from an LLM or a reviewer: never raw


SHARE_COMMANDS = [report, export, tree]
