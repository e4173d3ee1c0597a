"""The run folder's file names and the one way every file in it is written.

Open formats only: JSON, Parquet, NumPy and SQLite. Every file is written next to its destination
and renamed into place (`atomic_write`), so a reader never sees half a file; a whole run is written
into a hidden staging folder and renamed into place at the end (`write_run_dir`), so an
interrupted run never leaves a folder that looks complete. `run.json` (written last) is what marks
a folder as a finished run.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

from labeler import __version__
from labeler.errors import LabelerError
from labeler.files import atomic_write, umask

MANIFEST = "run.json"
CONFIG = "config.json"
TOPICS = "topics.json"
DOCUMENTS = "documents.parquet"
EMBEDDINGS = "embeddings.npy"
DATABASE = "run.sqlite"
REPORT_HTML = "report.html"
REPORT_MD = "report.md"
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


def is_run(path: Path) -> bool:
    return (Path(path) / MANIFEST).is_file()


def check_out(out: Path) -> Path:
    """Refuse an --out that cannot become a run folder, before any work is done."""
    out = Path(out).absolute()
    if out.exists() and not out.is_dir():
        raise LabelerError(f"--out {out} is a file, not a folder")
    if out.is_dir() and any(out.iterdir()) and not is_run(out):
        raise LabelerError(f"{out} exists and is not a labeler run: choose another --out")
    # The run is staged beside --out, so the nearest existing folder above it must be writable.
    parent = next((p for p in out.parents if p.exists()), None)
    if parent is not None and not (parent.is_dir() and os.access(parent, os.W_OK | os.X_OK)):
        raise LabelerError(f"--out {out}: cannot write in {parent}")
    return out


def write_run_dir(out: Path, writer: Callable[[Path], None]) -> Path:
    """Let `writer` fill a staging folder, mark it complete, then swap it into place."""
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
        if out.exists():
            old = out.parent / f".{out.name}.old-{os.getpid()}"
            os.rename(out, old)
            os.rename(staging, out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.rename(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return out


def check_run(path: Path) -> Path:
    path = Path(path)
    if not path.is_dir():
        raise LabelerError(f"run directory not found: {path}")
    if not is_run(path):
        raise LabelerError(
            f"{path} is not a finished labeler run (no {MANIFEST}): it may have been interrupted; "
            "run `labeler run` again"
        )
    manifest = read_json(path / MANIFEST)
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise LabelerError(f"{path / MANIFEST} is not a labeler run manifest")
    if manifest.get("schema_version", 0) > SCHEMA_VERSION:
        raise LabelerError(f"{path} was written by a newer labeler; upgrade labeler to read it")
    return path
