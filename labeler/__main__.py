"""`python -m labeler` runs the command line."""

from labeler.cli import main

main()
