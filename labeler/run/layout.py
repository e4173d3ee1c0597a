"""The run folder's file names and the one way every file in it is written.

Open formats only: JSON, Parquet, NumPy and SQLite. Every file is written next to its destination
and renamed into place (`atomic_write`), so a reader never sees half a file; a whole run is written
into a hidden staging folder and renamed into place at the end (`write_run_dir`), so an
interrupted run never leaves a folder that looks complete. `run.json` (written last) is what marks
a folder as a finished run.
"""

from __future__ import annotations

import contextlib
import glob
import json
import logging
import os
import shutil
import signal
import tempfile
import threading
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

from labeler import __version__
from labeler.errors import LabelerError
from labeler.files import atomic_write, umask

log = logging.getLogger("labeler")

MANIFEST = "run.json"
CONFIG = "config.json"
TOPICS = "topics.json"
DOCUMENTS = "documents.parquet"
EMBEDDINGS = "embeddings.npy"
DATABASE = "run.sqlite"
REPORT_HTML = "report.html"
REPORT_MD = "report.md"
HIERARCHY = "hierarchy.json"
# Topic surgery keeps, per revision, the files it replaced (`revisions/<id>/`), for undo.
REVISIONS = "revisions"
FORMAT = "labeler-run"
# The folder layout's version (run.json); the database has its own (run/migrations.py).
SCHEMA_VERSION = 1


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _json_default(value):
    import numpy as np

    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, datetime) or type(value).__name__ == "Timestamp":
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def write_text(path: Path, text: str) -> Path:
    return atomic_write(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))


def write_json(path: Path, data) -> Path:
    text = json.dumps(data, ensure_ascii=False, indent=1, default=_json_default) + "\n"
    return write_text(path, text)


def write_parquet(path: Path, frame) -> Path:
    return atomic_write(path, lambda tmp: frame.to_parquet(tmp, index=False))


def write_npy(path: Path, array) -> Path:
    import numpy as np

    def write(tmp: str) -> None:
        with open(tmp, "wb") as fh:
            np.save(fh, array, allow_pickle=False)

    return atomic_write(path, write)


def read_json(path: Path):
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise LabelerError(f"{path} is missing: the run directory is incomplete") from exc
    except (ValueError, UnicodeDecodeError) as exc:
        raise LabelerError(f"{path} is damaged (not valid JSON): run `labeler run` again") from exc


def is_run(path: Path) -> bool:
    return (Path(path) / MANIFEST).is_file()


def check_out(out: Path) -> Path:
    """Refuse an --out that cannot become a run folder, before any work is done."""
    out = Path(out).absolute()
    if out.exists() and not out.is_dir():
        raise LabelerError(f"--out {out} is a file, not a folder")
    above = next((p for p in out.parents if p.exists()), None)
    if above is not None and not above.is_dir():
        raise LabelerError(f"--out {out}: {above} is a file, not a folder")
    if out.is_dir() and any(out.iterdir()) and not is_run(out):
        raise LabelerError(f"{out} exists and is not a labeler run: choose another --out")
    # The run is staged beside --out, so the nearest existing folder above it must be writable.
    parent = next((p for p in out.parents if p.exists()), None)
    if parent is not None and not (parent.is_dir() and os.access(parent, os.W_OK | os.X_OK)):
        raise LabelerError(f"--out {out}: cannot write in {parent}")
    return out


def lock_path(run_dir: Path) -> Path:
    """The lock beside a run folder (the folder itself is swapped whole, so it cannot hold it)."""
    run_dir = Path(run_dir).absolute()
    return run_dir.parent / f".{run_dir.name}.lock"


@contextlib.contextmanager
def run_lock(run_dir: Path):
    """Hold the run folder's lock, or fail at once with a clear message: two processes writing
    one run would interleave label versions and swap folders under each other. The kernel
    releases it when a process dies, kill -9 included."""
    from filelock import FileLock, Timeout

    path = lock_path(run_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(path), timeout=0, thread_local=False)
    try:
        lock.acquire()
    except Timeout as exc:
        raise LabelerError(
            f"another labeler process is working on {Path(run_dir)} (lock: {path}): wait for it "
            "to finish, or choose another --out"
        ) from exc
    try:
        yield
    finally:
        lock.release()


def recover(out: Path) -> None:
    """Put back a run that a killed process had moved aside but not yet replaced, and remove
    staging folders of killed runs. Called with the run's lock held, so none is in use."""
    out = Path(out).absolute()
    if not out.parent.is_dir():
        return
    for old in sorted(out.parent.glob(f".{glob.escape(out.name)}.old-*")):
        if not out.exists() and is_run(old):
            os.rename(old, out)
            log.warning("restored %s: the run that replaced it was interrupted", out)
        else:
            shutil.rmtree(old, ignore_errors=True)
    for partial in out.parent.glob(f".{glob.escape(out.name)}.*.partial"):
        shutil.rmtree(partial, ignore_errors=True)


def _swap(staging: Path, out: Path) -> None:
    """Replace `out` by `staging` with Ctrl-C held back for the two renames: an interrupt
    between them would leave no run at all (a kill -9 there is undone by `recover`)."""
    main = threading.current_thread() is threading.main_thread()
    blocked = main and hasattr(signal, "pthread_sigmask")
    if blocked:
        previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
    try:
        if out.exists():
            old = out.parent / f".{out.name}.old-{os.getpid()}"
            os.rename(out, old)
            try:
                os.rename(staging, out)
            except BaseException:
                os.rename(old, out)
                raise
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.rename(staging, out)
    finally:
        if blocked:
            signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def write_run_dir(out: Path, writer: Callable[[Path], None]) -> Path:
    """Let `writer` fill a staging folder, mark it complete, then swap it into place."""
    recover(out)
    out = check_out(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".partial", dir=out.parent))
    try:
        os.chmod(staging, 0o777 & ~umask())
        writer(staging)
        write_json(
            staging / MANIFEST,
            {
                "format": FORMAT,
                "schema_version": SCHEMA_VERSION,
                "labeler_version": __version__,
                "created_at": now(),
                "complete": True,
                "files": sorted(p.name for p in staging.iterdir() if not p.name.startswith(".")),
            },
        )
        _swap(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return out


# What each command reads from a run folder; a damaged file stops only the commands that need it.
NEEDS = {
    "report": (MANIFEST, CONFIG, TOPICS, DOCUMENTS),
    "export": (MANIFEST, TOPICS, DOCUMENTS),
    "labels": (MANIFEST, DATABASE),
    "relabel": (MANIFEST, CONFIG, TOPICS, DOCUMENTS, EMBEDDINGS, DATABASE),
    "review": (MANIFEST, CONFIG, TOPICS, DOCUMENTS, EMBEDDINGS, DATABASE),
    "topics": (MANIFEST, CONFIG, TOPICS, DOCUMENTS, EMBEDDINGS, DATABASE),
}


def _json_problem(path: Path, kind: type) -> str | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError):
        return "is damaged (not valid JSON; truncated?)"
    if not isinstance(data, kind):
        return f"has the wrong shape (not a JSON {'object' if kind is dict else 'list'})"
    if path.name == TOPICS:
        keys = {"topic", "size", "label", "keywords"}
        if not all(isinstance(r, dict) and keys <= set(r) for r in data):
            return "has the wrong shape (each record needs topic, size, label and keywords)"
        if not all(isinstance(r["topic"], int) and isinstance(r["keywords"], list) for r in data):
            return "has the wrong shape (a topic that is not a number, or keywords not a list)"
    return None


def file_problem(run_dir: Path, name: str) -> str | None:
    """What is wrong with one file of a run folder, or None when it reads."""
    import sqlite3

    path = Path(run_dir) / name
    if not path.is_file():
        return "is missing"
    try:
        if name in (MANIFEST, CONFIG, TOPICS):
            return _json_problem(path, list if name == TOPICS else dict)
        if name == DOCUMENTS:
            import pyarrow.parquet as pq

            missing = {"doc_id", "text", "topic"} - set(pq.read_schema(path).names)
            return f"lacks the columns {sorted(missing)}" if missing else None
        if name == EMBEDDINGS:
            import numpy as np

            array = np.load(path, allow_pickle=False, mmap_mode="r")
            return None if array.ndim == 2 else "has the wrong shape (not a 2-d array)"
        if name == DATABASE:
            con = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=30)
            try:
                ok = con.execute("PRAGMA quick_check").fetchone()[0]
                con.execute("SELECT 1 FROM label_versions LIMIT 1").fetchall()
            finally:
                con.close()
            return None if ok == "ok" else f"is damaged ({ok})"
    except PermissionError:
        return "cannot be read (permission denied)"
    except (sqlite3.DatabaseError, OSError, ValueError, EOFError) as exc:
        return f"is damaged ({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})"
    except Exception as exc:  # noqa: BLE001 - pyarrow raises many types for a damaged file
        return f"is damaged ({type(exc).__name__})"
    return None


def check_run(path: Path, command: str | None = None) -> Path:
    """The run folder, checked for what `command` reads: a damaged or missing file is one
    message naming it, and what still works without it."""
    path = Path(path)
    if not path.is_dir():
        raise LabelerError(f"run directory not found: {path}")
    if not is_run(path):
        raise LabelerError(
            f"{path} is not a finished labeler run (no {MANIFEST}): it may have been interrupted; "
            "run `labeler run` again"
        )
    problem = file_problem(path, MANIFEST)
    if problem:
        raise LabelerError(f"{path / MANIFEST} {problem}: run `labeler run` again into {path}")
    manifest = read_json(path / MANIFEST)
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise LabelerError(f"{path / MANIFEST} is not a labeler run manifest")
    if manifest.get("schema_version", 0) > SCHEMA_VERSION:
        raise LabelerError(f"{path} was written by a newer labeler; upgrade labeler to read it")
    if command in NEEDS:
        names = {f for needs in NEEDS.values() for f in needs}
        problems = {name: file_problem(path, name) for name in names}
        for name in NEEDS[command]:
            if problems[name]:
                works = [
                    f"`labeler {other}`"
                    for other, needs in NEEDS.items()
                    if not any(problems[f] for f in needs)
                ]
                still = f"still works: {', '.join(works)}" if works else "nothing else works"
                raise LabelerError(
                    f"{path / name} {problems[name]}: `labeler {command}` needs it ({still}; "
                    "`labeler run` again rebuilds the folder)"
                )
    return path
