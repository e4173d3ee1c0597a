"""Pieces shared by the command modules: error handling and the LLM options."""

from __future__ import annotations

import errno
import functools
import logging
import os
import sqlite3
import sys
from pathlib import Path

import click

from labeler.errors import LabelerError, printable, redact_text


class SafeFormatter(logging.Formatter):
    """Log lines are one line each, escaped, and free of URL credentials."""

    def format(self, record: logging.LogRecord) -> str:
        return printable(redact_text(super().format(record)))


def setup_logging(quiet: bool) -> None:
    """Progress lines as `labeler: ...` on stderr (only warnings with --quiet)."""
    log = logging.getLogger("labeler")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(SafeFormatter("labeler: %(message)s"))
    log.handlers[:] = [handler]
    log.setLevel(logging.WARNING if quiet else logging.INFO)
    if quiet:
        os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    log.propagate = False


def fail(message: str, status: int = 2) -> None:
    """Print one `labeler: error:` line (escaped, credentials removed) and exit."""
    click.echo(f"labeler: error: {printable(redact_text(str(message)))}", err=True)
    sys.exit(status)


def os_error_message(exc: OSError) -> str:
    """One sentence for an operating-system error, naming the path it concerns."""
    where = f" {exc.filename}" if exc.filename else ""
    if exc.errno == errno.ENOSPC:
        return (
            f"no space left on the device while writing{where}: free some space and run again "
            "(a finished run in that folder is left as it was)"
        )
    if exc.errno == errno.EDQUOT:
        return f"disk quota exceeded while writing{where}: free some space and run again"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return f"permission denied:{where or ' ' + str(exc)}"
    if exc.errno == errno.EROFS:
        return f"read-only file system:{where}: choose another --out"
    if exc.errno == errno.ENOTDIR:
        return f"not a folder:{where} (a part of this path is a file)"
    if exc.errno == errno.EISDIR:
        return f"a folder where a file was expected:{where}"
    if exc.errno == errno.ELOOP:
        return f"symlink loop:{where}"
    if exc.errno == errno.ENAMETOOLONG:
        return f"file name too long:{where}"
    return f"{exc.strerror or type(exc).__name__}:{where or ' ' + str(exc)}"


def user_errors(func):
    """Every failure is one `labeler: error: ...` line on stderr and exit 2, never a traceback;
    Ctrl-C is exit 130. Bugs say so in one line too (LABELER_DEBUG=1 shows the traceback)."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except (click.exceptions.Exit, click.ClickException, SystemExit):
            raise
        except LabelerError as exc:
            fail(str(exc))
        except KeyboardInterrupt:
            click.echo("labeler: interrupted; finished work is kept and a rerun resumes", err=True)
            sys.exit(130)
        except MemoryError:
            fail("out of memory: try --sample N, or a machine with more memory")
        except OSError as exc:
            if os.environ.get("LABELER_DEBUG"):
                raise
            fail(os_error_message(exc))
        except sqlite3.DatabaseError as exc:
            if os.environ.get("LABELER_DEBUG"):
                raise
            fail(f"a database is damaged or unreadable ({exc}); rerun `labeler run`")
        except Exception as exc:  # noqa: BLE001 - the promise is one line, even for a bug
            if os.environ.get("LABELER_DEBUG"):
                raise
            fail(
                f"internal error ({type(exc).__name__}: {exc}); this is a bug in labeler: "
                "rerun with LABELER_DEBUG=1 for the traceback and report it"
            )

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
    click.option(
        "--llm-timeout", type=click.FloatRange(min=1.0),
        help="Seconds per request [60 for an endpoint, 600 for the packaged model].",
    ),
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
