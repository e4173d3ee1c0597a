"""Pieces shared by the command modules: error handling and the LLM options."""

from __future__ import annotations

import functools
import logging
import os
import sys
from pathlib import Path

import click

from labeler.errors import LabelerError


def setup_logging(quiet: bool) -> None:
    """Progress lines as `labeler: ...` on stderr (only warnings with --quiet)."""
    log = logging.getLogger("labeler")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("labeler: %(message)s"))
    log.handlers[:] = [handler]
    log.setLevel(logging.WARNING if quiet else logging.INFO)
    if quiet:
        os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    log.propagate = False


def user_errors(func):
    """Turn LabelerError into one line on stderr and a non-zero exit; Ctrl-C into exit 130."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except LabelerError as exc:
            click.echo(f"labeler: error: {exc}", err=True)
            sys.exit(2)
        except KeyboardInterrupt:
            click.echo("labeler: interrupted; finished work is kept and a rerun resumes", err=True)
            sys.exit(130)

    return wrapper


LLM_OPTIONS = [
    click.option(
        "--llm", default="local", show_default=True, envvar="LABELER_LLM",
        help="local (packaged Qwen2.5-Coder-1.5B), small (0.5B), none (keyword labels), "
        "or a .gguf file; ignored with --llm-base-url. Default from $LABELER_LLM.",
    ),
    click.option("--llm-base-url", help="Any OpenAI-compatible endpoint, e.g. http://host:8000/v1."),
    click.option("--llm-model", help="Model name at --llm-base-url."),
    click.option(
        "--llm-api-key-env", default="OPENAI_API_KEY", show_default=True,
        help="Environment variable holding the API key (never written anywhere).",
    ),
    click.option("--temperature", type=float, default=0.0, show_default=True),
    click.option("--max-tokens", type=click.IntRange(16, 4096), default=200, show_default=True),
    click.option("--llm-timeout", type=float, default=60.0, show_default=True, help="Seconds."),
    click.option("--concurrency", type=click.IntRange(1, 64), help="Parallel requests [2 local]."),
    click.option(
        "--llm-context", type=click.IntRange(512), default=4096, show_default=True,
        help="Context window in tokens; prompts are fitted to it.",
    ),
    click.option(
        "--prompt", default="label_summary", show_default=True,
        help="Prompt file (Jinja2) by path, or a name in prompts/ (label_summary, label_only).",
    ),
    click.option("--corpus-description", help="One sentence about the corpus, given to the LLM."),
]  # fmt: skip


def llm_options(func):
    for option in reversed(LLM_OPTIONS):
        func = option(func)
    return func


def llm_settings(opts: dict):
    """Pop the LLM options from a command's keyword arguments; None means no LLM."""
    from labeler.llm.labeling import LLMSettings

    provider = opts.pop("llm")
    settings = LLMSettings(
        provider=provider,
        base_url=opts.pop("llm_base_url"),
        model=opts.pop("llm_model"),
        api_key_env=opts.pop("llm_api_key_env"),
        temperature=opts.pop("temperature"),
        max_tokens=opts.pop("max_tokens"),
        timeout=opts.pop("llm_timeout"),
        concurrency=opts.pop("concurrency"),
        context=opts.pop("llm_context"),
        prompt=opts.pop("prompt"),
        corpus_description=opts.pop("corpus_description"),
    )
    if provider == "none" and not settings.base_url:
        return None
    packaged = provider in ("local", "small", "none")
    if not packaged and not settings.base_url and not Path(provider).is_file():
        raise LabelerError(
            f"--llm {provider!r}: choose local, small, none or a .gguf file "
            "(or give --llm-base-url)"
        )
    return settings
