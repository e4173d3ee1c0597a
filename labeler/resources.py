"""Where the Jinja2 templates and prompts live, installed or in a source checkout.

A wheel carries them under `labeler/_data/`; an editable install or a checkout reads the
top-level `templates/` and `prompts/` folders directly.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def data_dir(name: str) -> Path:
    for candidate in (_PACKAGE / "_data" / name, _PACKAGE.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"labeler's {name}/ folder is missing from this installation")
