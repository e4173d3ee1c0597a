"""Commands that turn a saved run into shareable artifacts: `labeler report` (and exports)."""

from __future__ import annotations

from pathlib import Path

import click

from labeler.cli import user_errors


@click.command()
@click.argument("run_dir", type=click.Path(path_type=Path))
@user_errors
def report(run_dir: Path) -> None:
    """Re-render report.html and report.md from a saved run (no refitting)."""
    from labeler.report import render_reports
    from labeler.store import check_run

    for path in render_reports(check_run(run_dir)):
        click.echo(str(path))


SHARE_COMMANDS = [report]
