"""The review app served for real on 127.0.0.1 (uvicorn in a thread), and a plain HTTP client
(http.client: no redirects followed, any Host header) for the review tests."""

from __future__ import annotations

import http.client
import json
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

from labeler.review.app import create_app
from labeler.review.server import bind, make_server

TOKEN = "test-token-0123456789-abcdefghijklmnop"


class ThreadServer:
    """`with ThreadServer(run) as server:` serves the run until the block ends; leaving it stops
    the server the way Ctrl-C does (lifespan shutdown: pending report renders finish)."""

    def __init__(self, run_dir: Path, token: str = TOKEN, reviewer: str = "ana", **options):
        self.token = token
        self.app = create_app(run_dir, token, reviewer=reviewer, **options)
        self.sock = bind("127.0.0.1", 0)
        self.port = self.sock.getsockname()[1]
        self.base = f"http://127.0.0.1:{self.port}"
        self.server = make_server(self.app)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True
        )

    def __enter__(self) -> ThreadServer:
        self.thread.start()
        deadline = time.monotonic() + 60
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the review server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(120)
        self.sock.close()

    def call(self, method: str, path: str, body=None, auth: bool = False, **kw):
        headers = dict(kw.pop("headers", {}))
        if auth:
            headers["Authorization"] = f"Bearer {self.token}"
        return call(method, self.base + path, body, headers=headers, **kw)

    def review(self, topic: int, auth: bool = True, **body):
        return self.call("POST", f"/api/topics/{topic}/review", body, auth=auth)


class Reply:
    def __init__(self, status: int, headers: http.client.HTTPMessage, raw: bytes):
        self.status = status
        self.headers = headers
        self.raw = raw

    @property
    def json(self):
        return json.loads(self.raw)

    @property
    def text(self) -> str:
        return self.raw.decode("utf-8")


def call(method: str, url: str, body=None, headers: dict | None = None, raw: bytes | None = None):
    """One HTTP request; a dict `body` is sent as JSON."""
    parts = urlsplit(url)
    headers = dict(headers or {})
    data = raw
    if body is not None:
        data = json.dumps(body).encode()
        headers.setdefault("Content-Type", "application/json")
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=120)
    try:
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        connection.request(method, path, body=data, headers=headers)
        response = connection.getresponse()
        return Reply(response.status, response.headers, response.read())
    finally:
        connection.close()
