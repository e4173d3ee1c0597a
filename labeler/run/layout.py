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
# A multimodal run's unit image vectors (zeros where a document has no usable image), row for row
# with documents.parquet, whose `image` column holds each document's image path.
IMAGE_EMBEDDINGS = "image_embeddings.npy"
# A full supervised fit's linear classifier as arrays (`labeler.model.supervised`), no pickle.
CLASSIFIER = "classifier.npz"
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


def write_parquet_batches(path: Path, frames) -> Path:
    """One Parquet file from frames of the same columns, written as they come (a corpus too
    large to hold as one frame)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    def write(tmp: str) -> None:
        writer = None
        try:
            for frame in frames:
                table = pa.Table.from_pandas(frame, preserve_index=False)
                if writer is None:
                    writer = pq.ParquetWriter(tmp, table.schema)
                writer.write_table(table.cast(writer.schema))
        finally:
            if writer is not None:
                writer.close()
        if writer is None:
            raise ValueError(f"no rows to write to {Path(path).name}")

    return atomic_write(path, write)


def write_npy(path: Path, array) -> Path:
    import numpy as np

    def write(tmp: str) -> None:
        with open(tmp, "wb") as fh:
            np.save(fh, array, allow_pickle=False)

    return atomic_write(path, write)


def write_npz(path: Path, arrays: dict) -> Path:
    import numpy as np

    def write(tmp: str) -> None:
        with open(tmp, "wb") as fh:
            np.savez(fh, **arrays)

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
    """The lock of a run folder: a file under the cache folder's `locks/`, named by the run's
    absolute path (the folder itself is swapped whole, so it cannot hold its own lock, and a lock
    file beside it would be litter in the user's output folder). Every writer of the same path
    takes the same file, whether the run exists yet or not."""
    import hashlib

    from labeler.embedding.cache import default_cache_dir

    run_dir = Path(os.path.abspath(Path(run_dir)))
    with contextlib.suppress(OSError, RuntimeError):
        run_dir = run_dir.resolve()  # a symlinked path and its target share one lock
    digest = hashlib.sha256(str(run_dir).encode("utf-8", "surrogateescape")).hexdigest()[:24]
    name = "".join(c if c.isalnum() or c in "-_" else "_" for c in run_dir.name)[:40]
    return _lock_folder(default_cache_dir()) / f"{name or 'run'}-{digest}.lock"


def _lock_folder(cache: Path) -> Path:
    """`locks/` under the cache folder, or under the temp folder when the cache folder cannot be
    written (a read-only home): the same choice for every process of one user."""
    for base in (
        Path(cache),
        Path(tempfile.gettempdir()) / f"labeler-{getattr(os, 'getuid', lambda: 0)()}",
    ):
        folder = base / "locks"
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError:
            continue
        if os.access(folder, os.W_OK | os.X_OK):
            return folder
    raise LabelerError(
        f"cannot create a lock file under {cache}: pass a writable --cache-dir "
        "(or $LABELER_CACHE_DIR)"
    )


@contextlib.contextmanager
def run_lock(run_dir: Path):
    """Hold the run folder's lock, or fail at once with a clear message: two processes writing
    one run would interleave label versions and swap folders under each other. The kernel
    releases it when a process dies, kill -9 included."""
    from filelock import FileLock, Timeout

    path = lock_path(run_dir)
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
# hierarchy.json is optional (a run may have no tree), but when it is there the commands that
# rewrite or show it need it whole; `report` goes without the tree instead, and
# `labeler tree --rebuild` (the "tree" entry: it reads everything but the tree) rebuilds it.
NEEDS = {
    "report": (MANIFEST, CONFIG, TOPICS, DOCUMENTS),
    "export": (MANIFEST, TOPICS, DOCUMENTS),
    "labels": (MANIFEST, DATABASE),
    "relabel": (MANIFEST, CONFIG, TOPICS, DOCUMENTS, EMBEDDINGS, DATABASE, HIERARCHY),
    "review": (MANIFEST, CONFIG, TOPICS, DOCUMENTS, EMBEDDINGS, DATABASE, HIERARCHY),
    "topics": (MANIFEST, CONFIG, TOPICS, DOCUMENTS, EMBEDDINGS, DATABASE, HIERARCHY),
    "tree": (MANIFEST, CONFIG, TOPICS, DOCUMENTS, EMBEDDINGS, DATABASE),
    "eval": (MANIFEST, CONFIG, TOPICS, DOCUMENTS, EMBEDDINGS),
}
OPTIONAL = (HIERARCHY,)  # a missing optional file is no problem


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _topics_problem(data: list) -> str | None:
    """topics.json's records: the fields every reader takes, of the types they take."""
    keys = {"topic", "size", "label", "keywords"}
    if not all(isinstance(r, dict) and keys <= set(r) for r in data):
        return "has the wrong shape (each record needs topic, size, label and keywords)"
    for r in data:
        if not _is_int(r["topic"]) or not isinstance(r["keywords"], list):
            return "has the wrong shape (a topic that is not a number, or keywords not a list)"
        if not _is_int(r["size"]) or r["size"] < 0:
            return f"has the wrong shape (topic {r['topic']}'s size {r['size']!r} is not a count)"
        if not isinstance(r["label"], str):
            return f"has the wrong shape (topic {r['topic']}'s label is not text)"
        for key in ("representative_docs", "representative_doc_ids"):
            if not isinstance(r.get(key, []), list):
                return f"has the wrong shape (topic {r['topic']}'s {key} is not a list)"
    seen: set[int] = set()
    for r in data:
        if r["topic"] in seen:
            return f"has the wrong shape (topic {r['topic']} is listed twice)"
        seen.add(r["topic"])
    return None


def _tree_problem(data: dict) -> str | None:
    """hierarchy.json's nodes: what `labeler tree`, the report and review read of each."""
    nodes = data.get("nodes")
    if not isinstance(nodes, list):
        return "has the wrong shape (no list of nodes)"
    ids: set[int] = set()
    for node in nodes:
        if not isinstance(node, dict):
            return "has the wrong shape (a node that is not an object)"
        if not all(_is_int(node.get(k)) for k in ("id", "layer", "size")):
            return "has the wrong shape (a node without a numeric id, layer and size)"
        if node["id"] in ids:
            return f"has the wrong shape (node {node['id']} is listed twice)"
        ids.add(node["id"])
        if not (node.get("parent") is None or _is_int(node.get("parent"))):
            return f"has the wrong shape (node {node['id']}'s parent is not a node id)"
        children = node.get("children")
        if not (isinstance(children, list) and all(_is_int(c) for c in children)):
            return f"has the wrong shape (node {node['id']}'s children are not a list of ids)"
        if not isinstance(node.get("label"), str):
            return f"has the wrong shape (node {node['id']}'s label is not text)"
        topics = node.get("topics", [node["id"]] if node["layer"] == 0 else None)
        if not (isinstance(topics, list) and all(_is_int(t) for t in topics)):
            return f"has the wrong shape (node {node['id']}'s topics are not a list of ids)"
        if node["layer"] > 0 and not isinstance(node.get("key"), str):
            return f"has the wrong shape (node {node['id']} has no key)"
    if not isinstance(data.get("layers", []), list):
        return "has the wrong shape (layers is not a list)"
    return None


def _json_problem(path: Path, kind: type) -> str | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError, RecursionError):
        return "is damaged (not valid JSON; truncated?)"
    if not isinstance(data, kind):
        return f"has the wrong shape (not a JSON {'object' if kind is dict else 'list'})"
    if path.name == TOPICS:
        return _topics_problem(data)
    if path.name == HIERARCHY:
        return _tree_problem(data)
    return None


def database_version(path: Path) -> int | None:
    """run.sqlite's schema version (`PRAGMA user_version`), read only; None when unreadable."""
    import sqlite3

    if not Path(path).is_file():
        return None
    try:
        con = sqlite3.connect(f"{Path(path).resolve().as_uri()}?mode=ro", uri=True, timeout=30)
        try:
            return int(con.execute("PRAGMA user_version").fetchone()[0])
        finally:
            con.close()
    except (sqlite3.Error, OSError, ValueError):
        return None


def newer_database(path: Path) -> str | None:
    """The refusal of a run.sqlite written by a newer labeler (the same line `RunDB` gives), or
    None."""
    from labeler.run.migrations import LATEST

    version = database_version(path)
    if version is None or version <= LATEST:
        return None
    return (
        f"{path} has database schema {version}, newer than this labeler reads ({LATEST}): "
        "upgrade labeler to open this run"
    )


def file_problem(run_dir: Path, name: str) -> str | None:
    """What is wrong with one file of a run folder, or None when it reads."""
    import sqlite3

    path = Path(run_dir) / name
    if not path.is_file():
        return None if name in OPTIONAL and not path.exists() else "is missing"
    try:
        if name in (MANIFEST, CONFIG, TOPICS, HIERARCHY):
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


def _agreement_problem(run_dir: Path) -> str | None:
    """topics.json against documents.parquet: every document's topic has a record, and every
    record's size is its number of documents (None when they agree)."""
    import numpy as np
    import pandas as pd

    records = json.loads((Path(run_dir) / TOPICS).read_text(encoding="utf-8"))
    try:
        column = pd.read_parquet(Path(run_dir) / DOCUMENTS, columns=["topic"])["topic"]
        topics = column.to_numpy(dtype=np.int64)
    except (ValueError, TypeError):
        return "does not match documents.parquet (its topic column is not numbers)"
    ids, counts = np.unique(topics, return_counts=True)
    found = {int(t): int(c) for t, c in zip(ids, counts)}
    sizes = {int(r["topic"]): int(r["size"]) for r in records}
    unlisted = sorted(set(found) - set(sizes))
    if unlisted:
        shown = ", ".join(map(str, unlisted[:5])) + (", ..." if len(unlisted) > 5 else "")
        return (
            f"does not match documents.parquet (documents in topic {shown}, which topics.json "
            "does not list)"
        )
    for topic, size in sorted(sizes.items()):
        if found.get(topic, 0) != size:
            return (
                f"does not match documents.parquet (topic {topic}: size {size} in topics.json, "
                f"{found.get(topic, 0)} documents in documents.parquet)"
            )
    return None


_CHECKED: dict[tuple, dict[str, str | None]] = {}


def _stamp(path: Path) -> tuple:
    try:
        stat = path.stat()
    except OSError:
        return (None,)
    return (stat.st_mtime_ns, stat.st_size, stat.st_ino)


def run_problems(run_dir: Path) -> dict[str, str | None]:
    """What is wrong with each file of a run folder (None: it reads), topics.json checked
    against documents.parquet too. Remembered per file stamp, so a server checking before every
    change reads an unchanged folder once."""
    run_dir = Path(run_dir)
    names = sorted({f for needs in NEEDS.values() for f in needs})
    key = (str(run_dir.absolute()), *(_stamp(run_dir / n) for n in names))
    if key in _CHECKED:
        return dict(_CHECKED[key])
    problems = {name: file_problem(run_dir, name) for name in names}
    if problems[TOPICS] is None and problems[DOCUMENTS] is None:
        try:
            problems[TOPICS] = _agreement_problem(run_dir)
        except (OSError, ValueError) as exc:
            problems[DOCUMENTS] = f"is damaged ({type(exc).__name__})"
    if len(_CHECKED) > 64:
        _CHECKED.clear()
    _CHECKED[key] = problems
    return dict(problems)


def _remedy(name: str, run_dir: Path) -> str:
    if name == HIERARCHY:
        return f"`labeler tree {run_dir} --rebuild` rebuilds it"
    return "`labeler run` again rebuilds the folder"


def still_works(problems: dict[str, str | None]) -> str:
    """`still works: ...` for the commands none of whose files has a problem."""
    works = []
    for other, needs in NEEDS.items():
        if any(problems.get(f) for f in needs):
            continue
        if other == "tree" and problems.get(HIERARCHY):
            other = "tree --rebuild"
        works.append(f"`labeler {other}`")
    return f"still works: {', '.join(works)}" if works else "nothing else works"


def problem_message(run_dir: Path, name: str, problem: str, command: str, problems: dict) -> str:
    """One line: the file, what is wrong, which command needs it, what still works, the fix."""
    return (
        f"{Path(run_dir) / name} {problem}: `labeler {command}` needs it "
        f"({still_works(problems)}; {_remedy(name, Path(run_dir))})"
    )


def check_files(run_dir: Path, command: str, names: tuple[str, ...] | None = None) -> None:
    """Raise for the first file `command` reads (`names`: those instead of NEEDS[command])
    that has a problem."""
    problems = run_problems(run_dir)
    for name in names if names is not None else NEEDS[command]:
        if problems.get(name):
            raise LabelerError(problem_message(run_dir, name, problems[name], command, problems))


def check_run(path: Path, command: str | None = None) -> Path:
    """The run folder, checked for what `command` reads: a damaged or missing file is one
    message naming it, and what still works without it. A database from a newer labeler is
    refused by every command (none can tell what its tables mean)."""
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
    version = manifest.get("schema_version", 0)
    if not _is_int(version):
        raise LabelerError(
            f"{path / MANIFEST} has the wrong shape (schema_version is not a number)"
        )
    if version > SCHEMA_VERSION:
        raise LabelerError(f"{path} was written by a newer labeler; upgrade labeler to read it")
    newer = newer_database(path / DATABASE)
    if newer:
        raise LabelerError(newer)
    if command in NEEDS:
        check_files(path, command)
    return path
