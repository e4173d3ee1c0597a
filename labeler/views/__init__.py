"""What reads a run and writes elsewhere: reports, charts, images, exports, evaluation.

report.py (report.html and report.md from the Jinja2 templates), charts.py, images.py (PNGs for
report.md), export.py (tables), run_view.py (topics with their current labels and review state,
the one view every reader shares), evaluation.py (`labeler eval` on a run), metrics.py (the trust
figures, shared with the benchmarks).
"""
