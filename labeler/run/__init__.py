"""The run: a folder of open-format files (`layout`) and its database (`RunDB`).

Names are imported lazily (PEP 562), so importing one module of the run layer does not import
the others.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "Run": "labeler.run.folder",
    "RunDB": "labeler.run.db",
    "atomic_write": "labeler.run.layout",
    "check_run": "labeler.run.layout",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'labeler.run' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
