"""LLM commands: `labeler relabel`, `labeler labels`, `labeler llm serve`."""

from __future__ import annotations

import contextlib
import json
import logging
import re
import signal
import threading
from pathlib import Path

import click

from labeler.cli.common import (
    MAX_CONTEXT,
    llm_options,
    llm_settings,
    path_option,
    setup_logging,
    user_errors,
)
from labeler.errors import LabelerError, printable


def _parse_topics(text: str | None) -> list[int] | None:
    """`3,7,10-15` → [3, 7, 10, 11, 12, 13, 14, 15]."""
    if not text:
        return None
    ids: set[int] = set()
    for part in filter(None, text.replace(" ", "").split(",")):
        match = re.fullmatch(r"(\d+)(?:-(\d+))?", part)
        start, end = (int(match[1]), int(match[2] or match[1])) if match else (0, -1)
        if end < start:
            raise LabelerError(
                f"--topics takes topic ids and ranges separated by commas (3,7,10-15), not {part!r}"
            )
        ids.update(range(start, end + 1))
    return sorted(ids)


@click.command()
@click.argument("run_dir", type=path_option())
@llm_options
@click.option("--topics", help="Only these topic ids and ranges, e.g. 3,7,10-15 [all].")
@click.option("--force", is_flag=True, help="Also relabel topics a reviewer accepted or edited.")
@click.option(
    "--layer",
    type=click.IntRange(min=0),
    help="Only this layer of the topic tree: 0 is the topics, 1 their parents, … "
    "[the topics, then every layer above].",
)
@click.option(
    "--dry-run", is_flag=True, help="Print the calls and tokens it would take; call nothing."
)
@click.option("--cache-dir", type=path_option(), help="Where packaged models are assembled.")
@click.option("-q", "--quiet", is_flag=True)
@user_errors
def relabel(run_dir: Path, topics, force, layer, dry_run, cache_dir, quiet, **opts) -> None:
    """Rerun only the label step of RUN_DIR (no refitting): a new label version per topic,
    then the names of the topic tree's layers above (bottom-up); --layer N names one layer."""
    from labeler.labels.labeling import label_topics
    from labeler.run.folder import Run
    from labeler.run.layout import check_run, run_lock
    from labeler.views.report import render_reports

    setup_logging(quiet)
    check_run(run_dir, "relabel")
    settings = llm_settings(opts)
    if settings is None:
        raise LabelerError("relabel needs an LLM: --llm local|small|FILE.gguf or --llm-base-url")
    if layer:
        if topics or dry_run:
            raise LabelerError("--layer N (N ≥ 1) names tree nodes: no --topics or --dry-run")
        from labeler.labels.naming import name_tree

        with run_lock(run_dir):
            run = Run(run_dir)
            stats = name_tree(run, settings, layers=[layer], force=force, cache_dir=cache_dir)
            render_reports(run)
        click.echo(_tree_line(layer, stats))
        if stats.skipped_reviewed:
            click.echo(f"kept {stats.skipped_reviewed} reviewed names (use --force to rename them)")
        click.echo(f"{stats.new_versions} new name versions; report: {run_dir / 'report.html'}")
        return
    with run_lock(run_dir):
        run = Run(run_dir)
        stats = label_topics(
            run, settings, topics=_parse_topics(topics), force=force, dry_run=dry_run,
            cache_dir=cache_dir, tree=layer is None,
        )  # fmt: skip
        if not dry_run:
            render_reports(run)  # once, after the labels and the tree's names
    if dry_run:
        click.echo(
            f"would label {stats.topics} topics: {stats.calls} LLM calls "
            f"({stats.cache_hits} answers cached), about {stats.prompt_tokens:,} prompt tokens "
            f"and at most {stats.completion_tokens:,} completion tokens"
        )
        return
    click.echo(stats.line())
    if stats.tree is not None:
        click.echo(_tree_line(None, stats.tree))
    if stats.skipped_reviewed:
        click.echo(f"kept {stats.skipped_reviewed} reviewed labels (use --force to relabel them)")
    if stats.skipped_named:
        click.echo(f"kept {stats.skipped_named} zero-shot names (use --force to relabel them)")
    click.echo(f"{stats.new_versions} new label versions; report: {Path(run_dir) / 'report.html'}")


def _tree_line(layer: int | None, stats) -> str:
    return stats.line(f"layer {layer} names" if layer else "tree names", "node")


@click.command()
@click.argument("run_dir", type=path_option())
@click.option("--topic", type=click.IntRange(-1, 2**31 - 1), help="Only this topic's versions.")
@click.option("--set-current", nargs=2, type=click.IntRange(-1, 2**31 - 1), metavar="TOPIC VERSION",
              help="Make an older (or newer) version the current label.")  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@user_errors
def labels(run_dir: Path, topic, set_current, as_json) -> None:
    """List label versions per topic (* = current); --set-current picks another one."""
    from labeler.run.folder import Run
    from labeler.run.layout import check_run, run_lock

    check_run(run_dir, "labels")
    run = Run(run_dir)
    db = run.db
    if set_current:
        from labeler.views.report import render_reports

        check_run(run_dir, "report")
        with run_lock(run_dir):
            db.set_current_version(*set_current)
            run.refresh()
            render_reports(run)
    history = db.label_history(topic)
    if as_json:
        fields = ("topic", "version", "label", "summary", "source", "prompt_name", "model",
                  "flags", "created_at", "is_current")  # fmt: skip
        click.echo(json.dumps([{k: row[k] for k in fields} for row in history], indent=1))
        return
    for row in history:
        mark = "*" if row["is_current"] else " "
        origin = row["source"]
        if row["source"] == "llm":
            origin = f"llm {row['model']} · {row['prompt_name']}"
        flags = (
            f" [{', '.join(json.loads(row['flags']))}]" if row["flags"] not in (None, "[]") else ""
        )
        line = f"{mark} topic {row['topic']:>4} v{row['version']:<3} {row['label']}"
        line += f"  ({origin}){flags}"
        click.echo(printable(line))  # labels come from an LLM or a reviewer: never raw


@click.group()
def llm() -> None:
    """The packaged local LLM."""


@llm.command()
@click.option("--model", default="local", show_default=True, help="local, small or a .gguf file.")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=click.IntRange(0, 65535), default=8765, show_default=True)
@click.option("--context", type=click.IntRange(512, MAX_CONTEXT), default=4096, show_default=True)
@click.option("--parallel", type=click.IntRange(1, 16), default=2, show_default=True)
@user_errors
def serve(model: str, host: str, port: int, context: int, parallel: int) -> None:
    """Serve the packaged model as an OpenAI-compatible endpoint until Ctrl-C."""
    from labeler.llm.local import LocalServer

    setup_logging(False)
    if host not in ("127.0.0.1", "localhost", "::1"):
        logging.getLogger("labeler").warning("serving on %s: reachable beyond this machine", host)
    server = LocalServer(model, host=host, port=port, context=context, parallel=parallel)
    with server:
        click.echo(f"{server.base_url}  (model name: {server.alias}; Ctrl-C stops)")
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        with contextlib.suppress(KeyboardInterrupt):
            stop.wait()


LLM_COMMANDS = [relabel, labels, llm]
