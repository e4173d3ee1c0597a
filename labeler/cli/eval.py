"""`labeler eval`: how far a run's topics and labels can be trusted, as a table or JSON."""

from __future__ import annotations

import json
from pathlib import Path

import click

from labeler.cli.common import user_errors


@click.command("eval")
@click.argument("run", type=click.Path(path_type=Path))
@click.option(
    "--label-column",
    help="Ground-truth column of the run's corpus, joined on document ids ('class': the run's own "
    "--class-column).",
)
@click.option(
    "--label-names",
    type=click.Path(path_type=Path),
    help="JSON object or two-column CSV mapping raw category values to readable names.",
)
@click.option(
    "--corpus",
    type=click.Path(path_type=Path),
    help="The run's corpus, when it has moved since the run [the path the run records].",
)
@click.option("--json", "as_json", is_flag=True, help="Print the figures as one JSON object.")
@user_errors
def eval_command(
    run: Path, label_column: str | None, label_names: Path | None, corpus: Path | None, as_json
) -> None:
    """Trust figures for RUN: keyword coherence and diversity, outliers, the largest topic, label
    fit, duplicate labels and unsupported claims; with --label-column also ARI, NMI, purity and
    whether each label names its topic's majority category. Added to the report's overview."""
    import os

    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    from labeler.views import evaluation

    figures = evaluation.evaluate_run(
        run, label_column, label_names, corpus, check_claims=claim_checker()
    )
    from labeler.views.report import render_reports

    evaluation.save(run, figures)
    render_reports(run)
    if as_json:
        click.echo(json.dumps(figures, ensure_ascii=False))
    else:
        click.echo(evaluation.table(figures))


def claim_checker():
    """The labeling step's own claim check (labeler.labels.claims) when this labeler has it, so
    `labeler eval` counts exactly what labeling asks about; else evaluate's simple check."""
    try:
        from labeler.labels import claims
    except ImportError:
        return None

    def check(label: str, summary: str | None, evidence: str) -> list[str]:
        found = claims.find_claims(label or "", title_case=True)
        found += claims.find_claims(summary or "")
        return [c.text for c in claims.unsupported(found, claims.Evidence([evidence]))]

    return check


EVAL_COMMANDS = [eval_command]
