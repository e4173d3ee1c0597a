"""`atomic_write`: the one way labeler writes a file that someone else may be reading.

It lives in core so that the caches (core) use it too; `labeler.run.layout` builds the run
folder's writers on it.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path


def umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write(path: Path, write: Callable[[str], object]) -> Path:
    """Call `write(tmp)` on a temp file beside `path`, then rename it into place.

    The temp file gets ordinary permissions (mkstemp makes it private) and is removed if `write`
    fails, so `path` is either the old file or the whole new one.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, 0o666 & ~umask())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
