# ruff: noqa: E501 - the catalogue is a table: one case per row reads better than wrapped code
"""The option catalogue (issue 20): every command's option values are checked before any work
(finite, in range, of the right type, well-formed URLs and addresses), guided files are read by
LF/CRLF lines only, the command line wins over the environment, and a Ray address where nothing
listens fails in seconds. Each case: (id, args, env, expected); args may name `{tmp}` and the
files `build` writes there. Nearly every case is refused before a corpus is read or a run
changed, so the table runs in seconds.
"""

from __future__ import annotations

import hashlib
import importlib.util
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from catalog_helpers import invoke, one_line_error

from labeler.guided import read_seed_topics, read_zero_shot_topics


@dataclass
class Error:
    needles: tuple[str, ...]  # all in the one `labeler: error:` line
    absent: tuple[str, ...] = ()  # none of them in it (credentials, the losing source)


@dataclass
class Case:
    id: str
    args: list[str]
    env: dict = field(default_factory=dict)
    expected: Error = None
    files: dict = field(default_factory=dict)  # name -> bytes written under {tmp}
    # Gets past the options to the corpus (whose absence is the error): the run's lock beside
    # --out may be left there (issue 20's litter item, fixed with the run layout).
    reaches_corpus: bool = False


def E(*needles, absent=()):
    return Error(needles, tuple(absent))


RUN = ["run", "{tmp}/missing.csv", "--out", "{tmp}/out"]

# fmt: off
CASES = [
    # ---- numbers: finite and in range (Click's FloatRange let nan through every bound)
    Case("run-max-topic-share-nan", [*RUN, "--max-topic-share", "nan"], expected=E("--max-topic-share", "not a finite number")),
    Case("run-max-topic-share-inf", [*RUN, "--max-topic-share", "inf"], expected=E("--max-topic-share", "not a finite number")),
    Case("run-max-topic-share-zero", [*RUN, "--max-topic-share", "0"], expected=E("--max-topic-share", "range")),
    Case("run-max-topic-share-word", [*RUN, "--max-topic-share", "half"], expected=E("--max-topic-share", "not a number")),
    Case("run-zero-shot-min-similarity-nan", [*RUN, "--zero-shot-min-similarity", "NaN"], expected=E("--zero-shot-min-similarity", "finite")),
    Case("run-temperature-negative", [*RUN, "--temperature", "-5"], expected=E("--temperature", "0.0<=x<=2.0")),
    Case("run-temperature-nan", [*RUN, "--temperature", "nan"], expected=E("--temperature", "finite")),
    Case("run-temperature-huge", [*RUN, "--temperature", "1e400"], expected=E("--temperature", "finite")),
    Case("run-llm-timeout-inf", [*RUN, "--llm-timeout", "inf"], expected=E("--llm-timeout", "finite")),
    Case("run-llm-timeout-zero", [*RUN, "--llm-timeout", "0"], expected=E("--llm-timeout", "range")),
    Case("run-seed-negative", [*RUN, "--seed", "-1"], expected=E("--seed", "range")),
    Case("run-seed-over-32-bits", [*RUN, "--seed", str(2**32)], expected=E("--seed", "range")),
    Case("run-llm-context-absurd", [*RUN, "--llm-context", str(10**9)], expected=E("--llm-context", "range")),
    Case("run-llm-slots-zero", [*RUN, "--llm-slots", "0"], expected=E("--llm-slots", "range")),
    Case("run-max-tokens-fill-the-context", [*RUN, "--llm", "small", "--max-tokens", "4096", "--llm-context", "512"], expected=E("--max-tokens 4096", "--llm-context 512")),
    Case("run-sample-zero", [*RUN, "--sample", "0"], expected=E("--sample", "range")),
    Case("run-unknown-option", [*RUN, "--temprature", "0.2"], expected=E("No such option", "--help")),
    # ---- URLs, addresses, names and paths
    Case("run-llm-base-url-no-scheme", [*RUN, "--llm-base-url", "gpu-box:8000/v1"], expected=E("--llm-base-url", "http://")),
    Case("run-llm-base-url-bad-port", [*RUN, "--llm-base-url", "http://gpu-box:99999/v1"], expected=E("--llm-base-url", "port")),
    Case("run-llm-base-url-no-host", [*RUN, "--llm-base-url", "http:///v1"], expected=E("--llm-base-url", "no host")),
    Case("run-llm-base-url-credentials-hidden", [*RUN, "--llm-base-url", "http://ana:s3cret@gpu-box:x/v1"], expected=E("--llm-base-url", "port", absent=["s3cret"])),
    Case("run-llm-base-url-space", [*RUN, "--llm-base-url", "http://gpu box/v1"], expected=E("--llm-base-url", "spaces")),
    Case("run-embedding-base-url-ftp", [*RUN, "--embedding-base-url", "ftp://host/v1"], expected=E("--embedding-base-url", "http://")),
    Case("run-embedding-base-url-empty", [*RUN, "--embedding-base-url", ""], expected=E("--embedding-base-url", "empty")),
    Case("run-api-key-env-holds-a-key", [*RUN, "--llm-api-key-env", "sk-abc 123"], expected=E("--llm-api-key-env", "environment variable name")),
    Case("run-cache-dir-empty", [*RUN, "--cache-dir", ""], expected=E("--cache-dir", "empty path")),
    Case("run-out-empty", ["run", "{tmp}/missing.csv", "--out", ""], expected=E("--out", "empty path")),
    Case("run-ray-address-no-port", [*RUN, "--engine", "ray", "--ray-address", "headnode"], expected=E("--ray-address", "no port")),
    Case("run-ray-address-bad-port", [*RUN, "--engine", "ray", "--ray-address", "ray://head:70000"], expected=E("--ray-address", "port")),
    Case("run-ray-address-http", [*RUN, "--engine", "ray", "--ray-address", "http://head:8265"], expected=E("--ray-address", "ray://")),
    # ---- other commands (parsed before the run folder is opened)
    Case("topics-outliers-max-share-nan", ["topics", "{tmp}/run", "outliers", "--max-share", "nan"], expected=E("--max-share", "finite")),
    Case("topics-outliers-max-share-one", ["topics", "{tmp}/run", "outliers", "--max-share", "1"], expected=E("--max-share", "range")),
    Case("topics-group-temperature-nan", ["topics", "--temperature", "nan", "{tmp}/run", "merge", "0", "1"], expected=E("--temperature", "finite")),
    Case("topics-sub-llm-base-url-bad", ["topics", "{tmp}/run", "merge", "0", "1", "--llm-base-url", "localhost:8000"], expected=E("--llm-base-url")),
    Case("relabel-temperature-negative", ["relabel", "{tmp}/run", "--temperature", "-0.5"], expected=E("--temperature", "range")),
    Case("relabel-llm-timeout-nan", ["relabel", "{tmp}/run", "--llm-timeout", "nan"], expected=E("--llm-timeout", "finite")),
    Case("review-llm-base-url-bad", ["review", "{tmp}/run", "--llm-base-url", "http://h:-1/v1"], expected=E("--llm-base-url", "port")),
    Case("review-port-out-of-range", ["review", "{tmp}/run", "--port", "70000"], expected=E("--port", "range")),
    Case("labels-topic-below-outliers", ["labels", "{tmp}/run", "--topic", "-2"], expected=E("--topic", "range")),
    Case("labels-set-current-overflow", ["labels", "{tmp}/run", "--set-current", "0", str(2**70)], expected=E("--set-current", "range")),
    Case("llm-serve-port-out-of-range", ["llm", "serve", "--port", "99999"], expected=E("--port", "range")),
    Case("llm-serve-context-absurd", ["llm", "serve", "--context", str(10**8)], expected=E("--context", "range")),
    Case("report-out-empty", ["report", "{tmp}/run", "--out", ""], expected=E("--out", "empty path")),
    # ---- the environment: named when it is the source, beaten by the command line
    Case("env-embedding-backend-bogus", RUN, env={"LABELER_EMBEDDING_BACKEND": "gpu"}, expected=E("--embedding-backend", "$LABELER_EMBEDDING_BACKEND")),
    Case("env-embedding-backend-beaten-by-option", [*RUN, "--embedding-backend", "torch"], env={"LABELER_EMBEDDING_BACKEND": "gpu"}, expected=E("missing.csv", absent=["backend"]), reaches_corpus=True),
    Case("env-llm-bogus", RUN, env={"LABELER_LLM": "gpt-9"}, expected=E("--llm 'gpt-9'", "$LABELER_LLM")),
    Case("env-llm-beaten-by-option", [*RUN, "--llm", "none"], env={"LABELER_LLM": "gpt-9"}, expected=E("missing.csv", absent=["gpt-9"]), reaches_corpus=True),
    Case("env-llm-beaten-by-missing-gguf", [*RUN, "--llm", "{tmp}/no.gguf"], env={"LABELER_LLM": "none"}, expected=E("no.gguf", absent=["$LABELER_LLM"])),
    # ---- guided files: LF/CRLF lines only, no control characters, named by file and line
    *[
        Case(f"zero-shot-{name}-inside-a-name", [*RUN, "--zero-shot", "{tmp}/names.txt"], files={"names.txt": f"lost card\nexchange{ch}rate\n".encode()}, expected=E("names.txt, line 2", code))
        for name, ch, code in [("u2028", "\u2028", "U+2028"), ("u2029", "\u2029", "U+2029"), ("nel", "\x85", "U+0085"), ("vt", "\v", "U+000B"), ("ff", "\f", "U+000C"), ("lone-cr", "\r", "U+000D"), ("escape", "\x1b[31m", "U+001B")]
    ],
    Case("seed-topics-bidi-override", [*RUN, "--seed-topics", "{tmp}/seeds.txt"], files={"seeds.txt": "card, fee\n\u202eevil, words\n".encode()}, expected=E("seeds.txt, line 2", "U+202E")),
    Case("zero-shot-only-blank-lines", [*RUN, "--zero-shot", "{tmp}/names.txt"], files={"names.txt": b"\n  \n\t\r\n"}, expected=E("names.txt is empty")),
    Case("zero-shot-empty-file", [*RUN, "--zero-shot", "{tmp}/names.txt"], files={"names.txt": b""}, expected=E("names.txt is empty")),
    Case("zero-shot-duplicate-name", [*RUN, "--zero-shot", "{tmp}/names.txt"], files={"names.txt": b"lost card\nfees\nLost   Card\n"}, expected=E("names.txt, line 3", "named twice", "line 1")),
    Case("zero-shot-absurdly-long-name", [*RUN, "--zero-shot", "{tmp}/names.txt"], files={"names.txt": b"ok\n" + b"word " * 100 + b"\n"}, expected=E("names.txt, line 2", "over 300 characters")),
    Case("zero-shot-latin-1", [*RUN, "--zero-shot", "{tmp}/names.txt"], files={"names.txt": "caf\xe9\n".encode("latin-1")}, expected=E("names.txt", "not UTF-8")),
    Case("zero-shot-binary", [*RUN, "--zero-shot", "{tmp}/names.txt"], files={"names.txt": b"\x89PNG\r\n\x1a\n\x00\x00"}, expected=E("names.txt", "binary")),
    Case("zero-shot-a-folder", [*RUN, "--zero-shot", "{tmp}"], expected=E("zero-shot file", "is a folder")),
    Case("seed-topics-empty-path", [*RUN, "--seed-topics", ""], expected=E("--seed-topics", "empty path")),
]
# fmt: on


def _fill(arg: str, tmp: Path) -> str:
    return arg.replace("{tmp}", str(tmp))


def _snapshot(tmp: Path) -> dict:
    return {
        str(p): (p.stat().st_mtime_ns, hashlib.sha256(p.read_bytes()).hexdigest())
        for p in sorted(tmp.rglob("*"))
        if p.is_file()
    }


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_option_catalog(case: Case, tmp_path):
    for name, data in case.files.items():
        (tmp_path / name).write_bytes(data)
    before = _snapshot(tmp_path)
    env = {k: _fill(v, tmp_path) for k, v in case.env.items()}
    result = invoke(*[_fill(a, tmp_path) for a in case.args], env=env)
    line = one_line_error(result, *[_fill(n, tmp_path) for n in case.expected.needles])
    for word in case.expected.absent:
        assert _fill(word, tmp_path) not in line, line
    # Refused before anything was written: no run folder, no lock, every file as it was.
    after = _snapshot(tmp_path)
    if case.reaches_corpus:
        after = {k: v for k, v in after.items() if not k.endswith(".out.lock")}
    assert after == before
    assert not (tmp_path / "out").exists()


def test_catalog_is_large_enough():
    assert len(CASES) >= 25 and len({c.id for c in CASES}) == len(CASES)


# ---------------------------------------------------------------- guided files read as intended
def test_guided_files_split_on_lf_and_crlf_only(tmp_path):
    names = tmp_path / "names.txt"
    names.write_bytes(b"lost card\r\nexchange\trate\n\n# a comment\ncard fees")
    assert read_zero_shot_topics(names) == ["lost card", "exchange rate", "card fees"]
    seeds = tmp_path / "seeds.txt"
    seeds.write_bytes(b"card, arrival\r\nfee rate\r\n")
    assert read_seed_topics(seeds) == [["card", "arrival"], ["fee", "rate"]]


# ---------------------------------------------------------------- each option's source
def test_sources_are_logged_at_debug_level(tmp_path):
    args = [*RUN, "--embedding-backend", "torch", "--llm", "none"]
    env = {"LABELER_DEBUG": "1", "LABELER_EMBEDDING_BACKEND": "onnx", "LABELER_LLM": "small"}
    result = invoke(*[_fill(a, tmp_path) for a in args], env=env)
    assert result.exit_code == 2
    debug = next(ln for ln in result.stderr.splitlines() if "option sources:" in ln)
    assert "--embedding-backend: command line" in debug and "--llm: command line" in debug
    assert "--seed: default" in debug
    result = invoke(
        *[_fill(a, tmp_path) for a in RUN], env={**env, "LABELER_CACHE_DIR": str(tmp_path / "c")}
    )
    debug = next(ln for ln in result.stderr.splitlines() if "option sources:" in ln)
    assert "--embedding-backend: environment ($LABELER_EMBEDDING_BACKEND)" in debug
    assert "--llm: environment ($LABELER_LLM)" in debug
    assert "--cache-dir: environment ($LABELER_CACHE_DIR)" in debug


def test_topics_group_option_beats_the_environment(tmp_path):
    """`labeler topics --llm X RUN merge 0 1` with LABELER_LLM=none set asked no LLM: the
    subcommand's --llm (holding only the environment's value) won over the group's. An --llm
    that names a missing model file now reaches the LLM check and is refused."""
    env = {"LABELER_LLM": "none", "LABELER_DEBUG": "1"}
    result = invoke(
        "topics", "--llm", tmp_path / "no.gguf", tmp_path / "run", "merge", "0", "1", env=env
    )
    debug = next(ln for ln in result.stderr.splitlines() if "option sources:" in ln)
    assert "--llm: command line" in debug, debug
    # After the subcommand, too; and the environment still wins over a default.
    result = invoke("topics", tmp_path / "run", "merge", "0", "1", "--llm", "small", env=env)
    assert "--llm: command line" in next(
        ln for ln in result.stderr.splitlines() if "option sources:" in ln
    )
    result = invoke("topics", tmp_path / "run", "merge", "0", "1", env=env)
    assert "--llm: environment ($LABELER_LLM)" in next(
        ln for ln in result.stderr.splitlines() if "option sources:" in ln
    )


def test_topics_group_llm_beats_the_environment_on_a_run(banking_run):
    before = {p.name: p.read_bytes() for p in banking_run.iterdir() if p.is_file()}
    missing = banking_run.parent / "no-such-model.gguf"
    result = invoke(
        "topics", "--llm", missing, banking_run, "merge", "0", "1", env={"LABELER_LLM": "none"}
    )
    one_line_error(result, "no-such-model.gguf")
    assert {p.name: p.read_bytes() for p in banking_run.iterdir() if p.is_file()} == before


# ---------------------------------------------------------------- no hang
@pytest.mark.skipif(importlib.util.find_spec("ray") is None, reason="ray is not installed")
def test_ray_address_where_nothing_listens_fails_in_seconds(tmp_path):
    with socket.socket() as sock:  # a port that was free a moment ago: nothing listens there
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    corpus = tmp_path / "c.txt"
    corpus.write_text("one document\n")
    started = time.perf_counter()
    result = invoke(
        "run",
        corpus,
        "--engine",
        "ray",
        "--ray-address",
        f"127.0.0.1:{port}",
        "--llm",
        "none",
        "--out",
        tmp_path / "out",
    )
    one_line_error(result, "cannot reach the Ray cluster", f"127.0.0.1:{port}")
    assert time.perf_counter() - started < 15
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("value", ["nan", "abc", "-1", "inf", "0"])
def test_memory_budget_from_the_environment_is_checked(monkeypatch, value):
    from labeler.errors import LabelerError
    from labeler.pipeline.large import MAX_FIT, fit_size

    monkeypatch.setenv("LABELER_MEMORY_GB", value)
    with pytest.raises(LabelerError, match="LABELER_MEMORY_GB"):
        fit_size()
    monkeypatch.setenv("LABELER_MEMORY_GB", "8")
    assert fit_size() == MAX_FIT
    assert fit_size(budget_gb=1.0) < MAX_FIT  # an explicit budget wins over the environment
