"""`python -m labeler.cli` runs the command line (as `python -m labeler` does)."""

from labeler.cli import main

main()
