"""Shared fixtures: real corpora slices from ../shared/data, the real embedding model, one fit.

The embedding model is loaded once per session (labeler caches it per process) and every test
writes its caches under a session temp folder, never the user's ~/.cache.

Tiers: `tests/unit` (no model, no data, seconds), `tests/integration` (real fits on small slices,
an in-process fake or stub LLM, Starlette's TestClient), `tests/e2e` (Chromium, the real local
LLM, SIGKILL). Everything in e2e, and every test that needs the real LLM or a browser, is marked
`slow` here, so `pytest -m "not slow"` is the quick loop; CI runs them all.
"""

from __future__ import annotations

import gzip
import json
import os
import random
import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("LABELER_SHARED_DATA", REPO.parent / "shared" / "data"))


def read_corpus(name: str) -> list[dict]:
    path = SHARED_DATA / f"{name}.jsonl.gz"
    if not path.exists():
        if os.environ.get("CI"):
            # A skipped data test is a green CI that tested nothing.
            pytest.fail(f"shared corpus {path} is missing: CI needs ../shared/data beside the repo")
        pytest.skip(f"shared corpus {path} not found (set LABELER_SHARED_DATA)")
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    with open(path, "w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row) + "\n")
    return path


SLOW_FIXTURES = {"small_llm", "chromium_browser", "playwright_driver"}


def pytest_collection_modifyitems(config, items):
    """Mark the e2e tier, and whatever needs the real LLM or a browser, `slow`."""
    for item in items:
        e2e = "e2e" in Path(str(item.fspath)).parts
        if e2e or SLOW_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session", autouse=True)
def isolated_cache(tmp_path_factory):
    cache = tmp_path_factory.mktemp("cache")
    os.environ["LABELER_CACHE_DIR"] = str(cache)
    # Fits in tests keep keyword labels unless a test asks for an LLM explicitly.
    os.environ["LABELER_LLM"] = "none"
    # Fits embed with torch, so fixtures do not wait for an ONNX export and calibration; the
    # backends have their own tests (tests/integration/test_embedders.py).
    os.environ["LABELER_EMBEDDING_BACKEND"] = "torch"
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    return cache


@pytest.fixture(scope="session")
def small_llm():
    """The packaged 0.5B model served once for the whole session (on 127.0.0.1)."""
    from labeler.llm.local import LocalServer

    with LocalServer("small", parallel=2) as server:
        yield server


@pytest.fixture(scope="session")
def banking_rows() -> list[dict]:
    """600 BANKING77 queries from 6 distinct intents: topics a person can check by eye."""
    rows = read_corpus("banking77")
    intents = [
        "card_arrival",
        "exchange_rate",
        "lost_or_stolen_card",
        "pending_top_up",
        "cash_withdrawal_charge",
        "verify_my_identity",
    ]
    rng = random.Random(0)
    picked = []
    for intent in intents:
        members = [r for r in rows if r["label"] == intent]
        picked += rng.sample(members, 100)
    rng.shuffle(picked)
    return [{"id": f"b{i}", "text": r["text"], "label": r["label"]} for i, r in enumerate(picked)]


@pytest.fixture(scope="session")
def banking_file(banking_rows, tmp_path_factory) -> Path:
    return write_jsonl(tmp_path_factory.mktemp("corpus") / "banking.jsonl", banking_rows)


@pytest.fixture(scope="session")
def banking_run(banking_file, tmp_path_factory) -> Path:
    """One real `labeler run` over the BANKING77 slice, shared by the read-only tests."""
    from click.testing import CliRunner

    from labeler.cli import main

    out = tmp_path_factory.mktemp("runs") / "banking"
    result = CliRunner().invoke(
        main,
        [
            "run",
            str(banking_file),
            "--id-column",
            "id",
            "--class-column",
            "label",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    before = digest(out)
    yield out
    assert digest(out) == before, "a test changed the shared banking_run: copy it first"


@pytest.fixture
def run_copy(banking_run, tmp_path) -> Path:
    """A writable copy of `banking_run`, for a test that changes its run."""
    target = tmp_path / "run"
    shutil.copytree(banking_run, target)
    return target


@pytest.fixture
def run(run_copy) -> Path:
    """`run_copy` under the name the review and surgery tests give their run."""
    return run_copy


def run_files_hashes(run: Path) -> dict[str, str]:
    """Content hash of the run files a topic change rewrites: equal before and after means the
    change (refused, cancelled or undone) left the run as it was."""
    import hashlib

    return {
        name: hashlib.sha256((run / name).read_bytes()).hexdigest()
        for name in ("topics.json", "documents.parquet", "config.json", "hierarchy.json")
        if (run / name).is_file()
    }


def digest(folder: Path) -> dict[str, str]:
    """Content hash per file: session runs are shared, so no test may change them."""
    import hashlib

    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.iterdir())
        if p.is_file()
    }


@pytest.fixture(scope="session")
def reuters_run(tmp_path_factory) -> Path:
    """A real `labeler run` over 300 Reuters newswires with timestamps and classes (1987).

    Six subjects, 50 wires each, cut to their first 400 characters so embedding stays quick.
    """
    from click.testing import CliRunner

    from labeler.cli import main

    subjects = ("earn", "acq", "crude", "grain", "money-fx", "trade")
    members = {s: [] for s in subjects}
    for row in read_corpus("reuters21578"):
        if row["label"] in members:
            members[row["label"]].append(row)
    picked = [r for s in subjects for r in members[s][:: len(members[s]) // 50][:50]]
    rows = [
        {"id": f"r{i}", "text": r["text"][:400], "timestamp": r["timestamp"], "subject": r["label"]}
        for i, r in enumerate(picked)
    ]
    corpus = write_jsonl(tmp_path_factory.mktemp("corpus") / "reuters.jsonl", rows)
    out = tmp_path_factory.mktemp("runs") / "reuters"
    args = ["run", str(corpus), "--id-column", "id", "--time-column", "timestamp"]
    args += ["--class-column", "subject", "--llm", "none", "--out", str(out)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    before = digest(out)
    yield out
    assert digest(out) == before, "a test changed the shared reuters_run: copy it first"


# ------------------------------------------------------------------------ headless Chromium
# Debian's browser driven by Playwright (never a browser Playwright downloads itself); .ci/run
# installs it. Module-scoped: one Playwright driver per test module at a time.
CHROMIUM = Path(os.environ.get("LABELER_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def playwright_driver():
    """Playwright for the module's tests; skipped without Chromium, except in CI."""
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing: .ci/run installs Debian's chromium")
        pytest.skip(f"no Chromium at {CHROMIUM} (set LABELER_CHROMIUM)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        yield pw


def launch_chromium(pw, *extra: str):
    return pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS + list(extra))


@pytest.fixture(scope="module")
def chromium_browser(playwright_driver):
    browser = launch_chromium(playwright_driver)
    yield browser
    browser.close()
