"""What every hostile-input catalogue shares: run a command in-process and check that it failed
with exactly one escaped `labeler: error:` line."""

from __future__ import annotations


def one_line_error(result, *needles: str) -> str:
    """The command failed with exit 2 and exactly one escaped `labeler: error:` line."""
    assert result.exit_code == 2, (result.exit_code, result.output)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("labeler: error: "), result.stderr
    assert "Traceback" not in result.output and "\x1b" not in result.output
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


def invoke(*args, env: dict | None = None):
    """`labeler ARGS` in this process (Click's runner), stderr kept apart from stdout."""
    from click.testing import CliRunner

    from labeler.cli import main

    return CliRunner().invoke(main, [str(a) for a in args], env=env)
