"""The CLI's one-line errors for bad corpora, checked through a real `labeler` process.

These start a Python process each (seconds apiece), so they live here rather than in the unit tier.
"""

from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.mark.parametrize(
    "args, content",
    [
        (["missing.csv"], None),
        (["empty.csv"], b""),
        (["bad.csv", "--text-column", "nope"], b"text\nhello\n"),
        (["latin.csv", "--encoding", "utf-8"], b"text\ncaf\xe9 au lait\n"),
        (["blank.csv"], b"text\n  \n"),
    ],
)
def test_cli_bad_input_exits_nonzero_with_one_line(tmp_path, args, content):
    if content is not None:
        (tmp_path / args[0]).write_bytes(content)
    proc = subprocess.run(
        [sys.executable, "-m", "labeler.cli", "run", *args, "--out", str(tmp_path / "out")],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("labeler: error: "), proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "out").exists()
