"""Pieces shared by the command modules: error handling and the LLM options."""

from __future__ import annotations

import contextlib
import errno
import functools
import logging
import math
import os
import re
import sqlite3
import sys
import urllib.parse
from pathlib import Path

import click

from labeler.defaults import LLM_SLOTS
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
    level = logging.WARNING if quiet else logging.INFO
    log.setLevel(logging.DEBUG if os.environ.get("LABELER_DEBUG") else level)
    if quiet:
        os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        # Read when they are imported: libraries already loaded (the Python API, a test
        # session) are told directly, or transformers' "Loading weights" bar still shows.
        if "huggingface_hub" in sys.modules:
            sys.modules["huggingface_hub"].utils.disable_progress_bars()
        if "transformers" in sys.modules:
            sys.modules["transformers"].utils.logging.disable_progress_bar()
    log.propagate = False
    ctx = click.get_current_context(silent=True)
    if ctx is not None and not isinstance(ctx.command, click.Group):
        log_sources(option_sources(ctx))


# ---------------------------------------------------------------- where values come from
# Options whose default is read from the environment by the code below the CLI, not by Click.
IMPLICIT_ENV = {"cache_dir": "LABELER_CACHE_DIR"}
# The command line wins over the environment, which wins over the defaults.
SOURCE_RANK = {"COMMANDLINE": 3, "PROMPT": 3, "ENVIRONMENT": 2, "DEFAULT_MAP": 1, "DEFAULT": 0}


def source_of(ctx: click.Context, name: str) -> tuple[int, str]:
    """(rank, words) of where a parameter's value came from: the command line, the
    environment (naming the variable) or the default."""
    source = ctx.get_parameter_source(name)
    kind = source.name if source is not None else "DEFAULT"
    if kind == "ENVIRONMENT":
        param = next((p for p in ctx.command.params if p.name == name), None)
        envvar = getattr(param, "envvar", None)
        envvar = envvar[0] if isinstance(envvar, (list, tuple)) and envvar else envvar
        return SOURCE_RANK[kind], f"environment (${envvar})" if envvar else "environment"
    if kind in ("DEFAULT", "DEFAULT_MAP") and os.environ.get(IMPLICIT_ENV.get(name, "")):
        return SOURCE_RANK["ENVIRONMENT"], f"environment (${IMPLICIT_ENV[name]})"
    if kind in ("COMMANDLINE", "PROMPT"):
        return SOURCE_RANK[kind], "command line"
    return SOURCE_RANK.get(kind, 0), "default"


def option_sources(ctx: click.Context) -> dict[str, tuple[int, str]]:
    """Every parameter of the command (and of the groups above it) with its source; an option
    given to the command overrides the same option given to its group."""
    chain = []
    while ctx is not None:
        chain.append(ctx)
        ctx = ctx.parent
    sources: dict[str, tuple[int, str]] = {}
    for c in reversed(chain):
        for param in c.command.params:
            if param.name in c.params and isinstance(param, click.Option):
                rank, words = source_of(c, param.name)
                if param.name not in sources or rank >= sources[param.name][0]:
                    sources[param.name] = (rank, words)
    return sources


def log_sources(sources: dict[str, tuple[int, str]]) -> None:
    """One debug line (LABELER_DEBUG=1): each option's effective source."""
    if sources and log_is_debug():
        parts = [f"--{name.replace('_', '-')}: {words}" for name, (_, words) in sources.items()]
        logging.getLogger("labeler").debug("option sources: %s", "; ".join(parts))


def log_is_debug() -> bool:
    return logging.getLogger("labeler").isEnabledFor(logging.DEBUG)


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
        except BrokenPipeError:
            # The reader of stdout went away (`labeler tree RUN | head`): nothing is wrong and
            # there is nobody to tell. stdout goes to /dev/null so that Python's own flush at
            # exit does not fail again; 141 is what a shell reports for SIGPIPE.
            with contextlib.suppress(OSError, ValueError):
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            sys.exit(141)
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


# ---------------------------------------------------------------- option types
# One validation layer for option values: every numeric option of every command goes through
# these types, so a value is finite, in range and of the right type before a command starts.
class FiniteFloat(click.FloatRange):
    """Click's FloatRange, finite: nan compares false with every bound (so `--max-topic-share
    nan` passed as in range) and inf passes an open top; both are refused here."""

    def convert(self, value, param, ctx):
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            try:
                value = float(str(value).strip())
            except ValueError:
                self.fail(f"{value!r} is not a number", param, ctx)
        if not math.isfinite(value):
            self.fail(f"{value!r} is not a finite number", param, ctx)
        return super().convert(float(value), param, ctx)


class EndpointURL(click.ParamType):
    """An http(s) URL with a host and a valid port, e.g. http://host:8000/v1."""

    name = "url"

    def convert(self, value, param, ctx):
        text = str(value)
        shown = re.sub(r"//[^/?#@]*@", "//", text)  # no credentials in the message
        problem = None
        if not text.strip():
            problem = "is empty"
        elif any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in text):
            problem = "holds spaces or control characters"
        else:
            parts = urllib.parse.urlsplit(text)
            try:
                parts.port  # noqa: B018 - raises ValueError for a port out of range or not a number
            except ValueError:
                problem = "has a port that is not a number from 1 to 65535"
            if problem is None and parts.scheme.lower() not in ("http", "https"):
                problem = "has no http:// or https:// scheme"
            elif problem is None and not parts.hostname:
                problem = "has no host"
            elif problem is None and parts.port == 0:
                problem = "has port 0"
        if problem:
            self.fail(f"{shown!r} {problem}; give a URL such as http://host:8000/v1", param, ctx)
        return text


class EnvVarName(click.ParamType):
    """The name of an environment variable (the key is read from it, never given itself)."""

    name = "name"

    def convert(self, value, param, ctx):
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", str(value)):
            self.fail(
                f"{printable(str(value))[:40]!r} is not an environment variable name "
                "(letters, digits and _): name the variable that holds the key, not the key",
                param,
                ctx,
            )
        return str(value)


class TitleText(click.ParamType):
    """A report's title: one line of printable text, 1 to 200 characters."""

    name = "text"

    def convert(self, value, param, ctx):
        text = " ".join(str(value).split())
        if not text:
            self.fail("an empty title; give some words, or leave --title out", param, ctx)
        if len(text) > 200:
            self.fail(f"a title of {len(text)} characters; keep it under 200", param, ctx)
        return printable(text)


class PathOption(click.Path):
    """click.Path that refuses an empty value (Path("") is the current folder)."""

    def convert(self, value, param, ctx):
        if isinstance(value, str) and not value.strip():
            self.fail("an empty path; give a file or folder", param, ctx)
        return super().convert(value, param, ctx)


def path_option(**kwargs) -> PathOption:
    return PathOption(path_type=Path, **kwargs)


RAY_ADDRESS_HINT = "give host:port or ray://host:port (or auto)"


class RayAddress(click.ParamType):
    """`auto`, `local`, `host:port` or `ray://host:port` (checked for reachability later)."""

    name = "address"

    def convert(self, value, param, ctx):
        from labeler.pipeline.ray import ray_host_port

        text = str(value)
        try:
            ray_host_port(text)
        except ValueError as exc:
            self.fail(f"{printable(text)[:80]!r}: {exc}; {RAY_ADDRESS_HINT}", param, ctx)
        return text


class OneLineUsageError(click.ClickException):
    """A Click usage error (bad option value, unknown option, missing argument) printed as the
    project's one `labeler: error:` line, exit 2, with the --help to read."""

    exit_code = 2

    def show(self, file=None) -> None:
        click.echo(f"labeler: error: {printable(redact_text(self.message))}", err=True)


def one_line_usage(exc: click.UsageError) -> OneLineUsageError:
    message = " ".join(exc.format_message().split())
    param, ctx = getattr(exc, "param", None), exc.ctx
    if param is not None and ctx is not None and param.name:
        _, words = source_of(ctx, param.name)
        if words.startswith("environment"):
            message = f"{message.rstrip('.')} (from the {words})."
    if ctx is not None:
        message = f"{message.rstrip('.')}. See '{ctx.command_path} --help'."
    return OneLineUsageError(message)


class LabelerGroup(click.Group):
    """The `labeler` group: usage errors of every command below it are one line."""

    def make_context(self, info_name, args, parent=None, **extra):
        try:
            return super().make_context(info_name, args, parent=parent, **extra)
        except click.exceptions.NoArgsIsHelpError:
            raise
        except click.UsageError as exc:
            raise one_line_usage(exc) from exc

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except click.exceptions.NoArgsIsHelpError:
            raise
        except click.UsageError as exc:
            raise one_line_usage(exc) from exc


MAX_TIMEOUT_S = 86_400.0  # a day per request: longer is a typo
MAX_CONTEXT = 1_048_576  # tokens: no model has a larger window

LLM_OPTIONS = [
    click.option(
        "--llm", default="local", show_default=True, envvar="LABELER_LLM",
        help="local (packaged Qwen2.5-Coder-1.5B), small (0.5B), none (keyword labels), "
        "or a .gguf file; ignored with --llm-base-url. Default from $LABELER_LLM.",
    ),
    click.option(
        "--llm-base-url", type=EndpointURL(),
        help="Any OpenAI-compatible endpoint, e.g. http://host:8000/v1.",
    ),
    click.option("--llm-model", help="Model name at --llm-base-url."),
    click.option(
        "--llm-api-key-env", type=EnvVarName(), default="OPENAI_API_KEY", show_default=True,
        help="Environment variable holding the API key (never written anywhere).",
    ),
    click.option(
        "--temperature", type=FiniteFloat(0.0, 2.0), default=0.0, show_default=True,
        help="Sampling temperature, 0 to 2 (0: the same answer every time).",
    ),
    click.option("--max-tokens", type=click.IntRange(16, 4096), default=200, show_default=True),
    click.option(
        "--llm-timeout", type=FiniteFloat(1.0, MAX_TIMEOUT_S),
        help="Seconds per request [60 for an endpoint, 600 for the packaged model].",
    ),
    click.option(
        "--concurrency", type=click.IntRange(1, 64),
        help="Requests in flight [--llm-slots + 1 for the packaged model, 4 for an endpoint].",
    ),
    click.option(
        "--llm-slots", type=click.IntRange(1, 16),
        help=f"Parallel slots of the packaged model's server: topics decoded together, each with "
        f"its own --llm-context window [{LLM_SLOTS}].",
    ),
    click.option(
        "--llm-context", type=click.IntRange(512, MAX_CONTEXT), default=4096, show_default=True,
        help="Context window in tokens; prompts are fitted to it.",
    ),
    click.option(
        "--prompt", default="label_summary", show_default=True,
        help="Prompt file (Jinja2) by path, or a name in prompts/ (label_summary, label_only).",
    ),
    click.option("--corpus-description", help="One sentence about the corpus, given to the LLM."),
    click.option(
        "--label-language", metavar="LANG",
        help="Labels and summaries in this language (ISO 639-1 code or name: de, fr, german), "
        "whatever the documents' language; each answer is checked and asked again once.",
    ),
]  # fmt: skip


def llm_options(func):
    for option in reversed(LLM_OPTIONS):
        func = option(func)
    return func


def llm_settings(opts: dict):
    """Pop the LLM options from a command's keyword arguments; None means no LLM."""
    from labeler.labels.labeling import LLMSettings

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
        slots=opts.pop("llm_slots"),
        context=opts.pop("llm_context"),
        prompt=opts.pop("prompt"),
        corpus_description=opts.pop("corpus_description"),
        label_language=opts.pop("label_language"),
    )
    if provider == "none" and not settings.base_url:
        return None
    settings.check()
    packaged = provider in ("local", "small", "none")
    if not packaged and not settings.base_url and not Path(provider).is_file():
        ctx = click.get_current_context(silent=True)
        words = option_sources(ctx).get("llm", (0, ""))[1] if ctx is not None else ""
        given = " (from the " + words + ")" if words.startswith("environment") else ""
        raise LabelerError(
            f"--llm {provider!r}{given}: choose local, small, none or a .gguf file "
            "(or give --llm-base-url)"
        )
    return settings
