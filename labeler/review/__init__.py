"""`labeler review`: people check, edit and reject LLM labels in the browser (issue 4).

app.py (pages and JSON API), data.py (what a reviewer sees), flags.py (what to look at first),
actions.py (decisions, recorded in run.sqlite), security.py (token, CSRF, hosts), server.py
(binding and serving).
"""

from labeler.review.app import create_app

__all__ = ["create_app"]
