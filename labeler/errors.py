"""Errors a user can act on.

The CLI prints a `LabelerError` as one line on stderr and exits non-zero; anything else is a bug
and keeps its traceback so it can be reported.
"""


class LabelerError(Exception):
    """A problem with the user's input or environment, described in one actionable sentence."""
