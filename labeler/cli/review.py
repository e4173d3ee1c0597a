"""`labeler review`: the browser review of labels (issue 4)."""

from __future__ import annotations

import contextlib
import logging
from pathlib import Path

import click

from labeler.cli.common import llm_options, llm_settings, path_option, setup_logging, user_errors

EXAMPLES = """
\b
Examples:
  labeler review reports/tickets
  labeler review reports/tickets --port 0 --reviewer ana --llm none
  labeler review reports/tickets --llm-base-url http://gpu-box:8000/v1 --llm-model Qwen2.5-7B
"""


@click.command(epilog=EXAMPLES)
@click.argument("run_dir", type=path_option())
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8040,
    show_default=True,
    help="Port to listen on; 0 picks a free one.",
)
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on; off loopback, reads need the token.",
)
@click.option("--reviewer", help="Name recorded with each decision [the OS user].")
@llm_options
@click.option("--cache-dir", type=path_option(), help="Where packaged models are assembled.")
@click.option("-q", "--quiet", is_flag=True, help="Only errors on stderr.")
@user_errors
def review(run_dir: Path, port: int, host: str, reviewer, cache_dir, quiet, **opts) -> None:
    """Review the labels of RUN_DIR in the browser: accept, edit, reject, merge.

    Prints the URL to open (with its access token) on the first line, then serves until Ctrl-C.
    Decisions are saved in RUN_DIR/run.sqlite as they are made; relabels (a rejected label with a
    note to the LLM, a merged topic) use the LLM options.
    """
    from labeler.llm.settings import open_chat_model
    from labeler.review.app import create_app
    from labeler.review.security import is_loopback, new_token
    from labeler.review.server import bind, default_reviewer, make_server, url
    from labeler.run.layout import check_run, run_lock

    setup_logging(quiet)
    log = logging.getLogger("labeler")
    run_dir = check_run(run_dir, "review").resolve()
    settings = llm_settings(opts)
    reviewer = reviewer or default_reviewer()
    loopback = is_loopback(host)
    token = new_token()
    sock = bind(host, port)
    with contextlib.ExitStack() as stack:
        stack.enter_context(run_lock(run_dir))
        stack.callback(sock.close)
        chat = stack.enter_context(open_chat_model(settings, cache_dir)) if settings else None
        app = create_app(
            run_dir, token, reviewer=reviewer, loopback=loopback, settings=settings, chat=chat
        )
        click.echo(url(host, sock.getsockname()[1], token))
        if not loopback:
            log.warning(
                "listening on %s: reachable beyond this machine (the token guards it)", host
            )
        log.info("reviewing %s as %s; Ctrl-C stops", run_dir, reviewer)
        with contextlib.suppress(KeyboardInterrupt):
            make_server(app).run(sockets=[sock])
    log.info("review server stopped; decisions are in %s", run_dir / "run.sqlite")


REVIEW_COMMANDS: list = [review]
