# ruff: noqa: E501 - the catalog is a table: one case per row reads better than wrapped code
"""Hostile requests to the review API (issue 20): every bad request is a 4xx with one JSON
message, never a 500 and never a change to the run; a damaged run file is a 409 naming it.

Starlette's TestClient drives the real app (no model: labels compared by text, reports counted,
not rendered) on a copy of the session's `banking_run`.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest

TOKEN = "t" * 32
AUTH = {"Authorization": f"Bearer {TOKEN}"}
JSON = {**AUTH, "Content-Type": "application/json"}


def _nested(depth: int) -> bytes:
    return b'{"action": "note", "note": ' + b"[" * depth + b"]" * depth + b"}"


def _damage(kind: str, run: Path) -> None:
    if kind == "tree-list":
        (run / "hierarchy.json").write_text("[]")
    elif kind == "tree-truncated":
        (run / "hierarchy.json").write_bytes((run / "hierarchy.json").read_bytes()[:40])
    elif kind == "topics-size":
        records = json.loads((run / "topics.json").read_text())
        records[0]["size"] += 3
        (run / "topics.json").write_text(json.dumps(records))


R = "/api/topics/0/review"
OUT = "/api/outliers"
# (id, damage, method, path, body (bytes: raw; else JSON), headers, status, substring of the message)
CASES = [
    ("deep-list", None, "POST", R, b"[" * 50_000 + b"]" * 50_000, JSON, 413, "too large"),
    ("deep-list-small", None, "POST", R, b"[" * 20_000 + b"]" * 20_000, JSON, 400, "nested too deeply"),
    ("nested-20", None, "POST", R, _nested(20), JSON, 400, "nested too deeply"),
    ("huge-share", None, "POST", OUT, b'{"max_share": 1e400}', JSON, 400, "out of range"),
    ("nan-literal", None, "POST", OUT, b'{"max_share": NaN}', JSON, 400, "NaN is not a number"),
    ("infinity-literal", None, "POST", OUT, b'{"max_share": Infinity}', JSON, 400, "Infinity is not a number"),
    ("negative-share", None, "POST", OUT, {"max_share": -0.5}, JSON, 400, "share of the corpus"),
    ("share-one", None, "POST", OUT, {"max_share": 1}, JSON, 400, "share of the corpus"),
    ("share-bool", None, "POST", OUT, {"max_share": True}, JSON, 400, "'max_share' a number"),
    ("share-string", None, "POST", OUT, {"max_share": "0.1"}, JSON, 400, "'max_share' a number"),
    ("strategy-number", None, "POST", OUT, {"strategy": 3}, JSON, 400, "'strategy' is a name"),
    ("strategy-unknown", None, "POST", OUT, {"strategy": "magic"}, JSON, 400, "magic"),
    ("outliers-extra-key", None, "POST", OUT, {"strategy": "embeddings", "x": 1}, JSON, 400, "send an object"),
    ("outliers-list", None, "POST", OUT, [1, 2], JSON, 400, "send an object"),
    ("declared-too-large", None, "POST", R, b"{}", {**JSON, "Content-Length": "999999999"}, 413, "too large"),
    ("streamed-too-large", None, "POST", R, {"action": "note", "note": "x" * 70_000}, JSON, 413, "too large"),
    ("text-plain", None, "POST", R, b'{"action": "accept"}', {**AUTH, "Content-Type": "text/plain"}, 415, "Content-Type: application/json"),
    ("no-content-type", None, "POST", R, b'{"action": "accept"}', AUTH, 415, "application/json"),
    ("not-json", None, "POST", R, b"{not json", JSON, 400, "not valid JSON"),
    ("not-utf8", None, "POST", R, b'{"action": "\xff\xfe"}', JSON, 400, "not valid JSON"),
    ("empty-body", None, "POST", R, b"", JSON, 400, ""),
    ("review-list", None, "POST", R, [1, 2], JSON, 400, ""),
    ("review-action-number", None, "POST", R, {"action": 5}, JSON, 400, ""),
    ("review-unknown-action", None, "POST", R, {"action": "destroy"}, JSON, 400, ""),
    ("review-unknown-topic", None, "POST", "/api/topics/999/review", {"action": "accept"}, JSON, 404, "999"),
    ("review-string-topic", None, "POST", "/api/topics/abc/review", {"action": "accept"}, JSON, 404, "Not Found"),
    ("review-get", None, "GET", R, None, AUTH, 405, "Method Not Allowed"),
    ("merge-string-other", None, "POST", R, {"action": "merge", "other": "1"}, JSON, 400, ""),
    ("merge-huge-other", None, "POST", R, {"action": "merge", "other": 10**30}, JSON, 404, ""),
    ("no-token-write", None, "POST", R, {"action": "accept"}, {"Content-Type": "application/json"}, 401, "review token"),
    ("bad-filter", None, "GET", "/api/topics?filter=%00", None, AUTH, 400, "filter must be one of"),
    ("unknown-topic-read", None, "GET", "/api/topics/424242", None, AUTH, 404, "no topic 424242"),
    ("tree-list-api", "tree-list", "GET", "/api/tree", None, AUTH, 409, "hierarchy.json has the wrong shape"),
    ("tree-truncated-api", "tree-truncated", "GET", "/api/tree", None, AUTH, 409, "hierarchy.json is damaged"),
    ("tree-list-page", "tree-list", "GET", "/tree", None, AUTH, 409, "hierarchy.json"),
    ("tree-truncated-node-review", "tree-truncated", "POST", "/api/nodes/0/review", {"action": "accept"}, JSON, 409, "hierarchy.json"),
]  # fmt: skip


@pytest.fixture()
def run(banking_run, tmp_path) -> Path:
    return Path(shutil.copytree(banking_run, tmp_path / "run"))


def _files(run: Path) -> dict[str, str]:
    return {
        str(p.relative_to(run)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(run.rglob("*"))
        if p.is_file() and p.suffix not in (".html", ".md", ".png") and "-wal" not in p.name
    }


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_review_api_catalog(run, case):
    from starlette.testclient import TestClient

    from labeler.review.actions import ReportRenderer
    from labeler.review.app import create_app

    name, damage, method, path, body, headers, status, needle = case
    if damage:
        _damage(damage, run)
    before = _files(run)
    renderer = ReportRenderer(run, render=lambda run_dir: None)
    app = create_app(run, TOKEN, reviewer="eve", embed=lambda texts: None, renderer=renderer)
    raw = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
    with TestClient(app, base_url="http://127.0.0.1:8000", raise_server_exceptions=False) as client:
        reply = client.request(method, path, content=raw, headers=headers)
    renderer.close()
    assert reply.status_code == status, (reply.status_code, reply.text[:300])
    if path.startswith("/api/"):
        message = reply.json()["error"]
        assert needle in message and "\n" not in message and "Traceback" not in message
    else:
        assert needle in reply.text
    assert _files(run) == before  # a refused request changes nothing
