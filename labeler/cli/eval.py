"""`labeler eval`: how far a run's topics and labels can be trusted, as a table or JSON."""

from __future__ import annotations

import json
from pathlib import Path

import click

from labeler.cli.common import llm_options, llm_settings, path_option, setup_logging, user_errors
from labeler.errors import LabelerError


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
@click.option(
    "--reconstruct",
    is_flag=True,
    help="Also ask the LLM to sort held-out documents into the topics knowing only their labels "
    "and summaries: how often it finds each document's own topic (cached, resumable).",
)
@click.option(
    "--sample",
    type=click.IntRange(1, 100_000),
    default=200,
    show_default=True,
    help="--reconstruct: held-out documents in all, spread evenly over the topics.",
)
@click.option(
    "--candidates",
    type=click.IntRange(0, 1000),
    default=5,
    show_default=True,
    help="--reconstruct: topics shown per document, the nearest by label (0: every topic).",
)
@click.option(
    "--dry-run", is_flag=True, help="--reconstruct: print what it would cost and ask nothing."
)
@llm_options
@click.option("--cache-dir", type=path_option(), help="Where packaged models are assembled.")
@click.option("--json", "as_json", is_flag=True, help="Print the figures as one JSON object.")
@click.option("-q", "--quiet", is_flag=True)
@user_errors
def eval_command(
    run: Path,
    label_column: str | None,
    label_names: Path | None,
    corpus: Path | None,
    reconstruct: bool,
    sample: int,
    candidates: int,
    dry_run: bool,
    cache_dir: Path | None,
    as_json: bool,
    quiet: bool,
    **opts,
) -> None:
    """Trust figures for RUN: keyword coherence and diversity, outliers, the largest topic, label
    fit, duplicate labels and unsupported claims; with --label-column also ARI, NMI, purity and
    whether each label names its topic's majority category; with --reconstruct, how often the
    LLM puts held-out documents back in their own topic from the labels and summaries alone
    (the packaged model unless --llm or --llm-base-url say otherwise). Added to the report's
    overview."""
    import os

    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    from labeler.run.folder import Run
    from labeler.run.layout import check_run, run_lock
    from labeler.views import evaluation

    setup_logging(quiet or as_json)
    check_run(run, "eval")
    given = click.get_current_context().get_parameter_source
    typed = click.core.ParameterSource.COMMANDLINE
    if not reconstruct and (dry_run or given("sample") == typed or given("candidates") == typed):
        raise LabelerError("--sample, --candidates and --dry-run go with --reconstruct")
    if reconstruct:
        if opts.get("llm") == "none" and not opts.get("llm_base_url"):
            if given("llm") == typed:
                raise LabelerError(
                    "--reconstruct asks an LLM: drop --llm none (the packaged model is the "
                    "default), or give --llm small|FILE.gguf or --llm-base-url"
                )
            opts["llm"] = "local"  # a default of none (LABELER_LLM) means the packaged model
        settings = llm_settings(opts)
        if dry_run:
            from labeler.labels.reconstruct import reconstruct as reconstruct_run

            cost = reconstruct_run(Run(run), settings, sample=sample, dry_run=True,
                                   cache_dir=cache_dir, candidates=candidates)  # fmt: skip
            if as_json:
                click.echo(json.dumps(cost))
            else:
                click.echo(
                    f"would sort {cost['reconstruct_documents']} held-out documents into "
                    f"{cost['reconstruct_topics']} topics: {cost['calls']} LLM calls "
                    f"({cost['cache_hits']} answers cached), {cost['candidates']} topics shown "
                    f"per document, about {cost['prompt_tokens']:,} prompt tokens and at most "
                    f"{cost['completion_tokens']:,} completion tokens"
                )
            return
    figures = evaluation.evaluate_run(
        run, label_column, label_names, corpus, check_claims=claim_checker()
    )
    from labeler.views.report import render_reports

    with run_lock(run):
        if reconstruct:
            from labeler.labels.reconstruct import reconstruct as reconstruct_run

            figures.update(
                reconstruct_run(
                    Run(run), settings, sample=sample, cache_dir=cache_dir, candidates=candidates
                )
            )
        else:
            figures.update(evaluation.kept_reconstruction(run, figures))
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
