"""A scripted OpenAI-compatible server on 127.0.0.1 for fault cases the real model cannot show
on demand (rate limits, server errors, timeouts, malformed replies). The happy path is tested
against the real local model instead."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def completion(content: str, prompt_tokens: int = 50, completion_tokens: int = 10) -> dict:
    return {
        "id": "stub",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": "stub",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": "stop",
            }
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


def ok(content: str):
    return 200, {}, completion(content)


def label_json(label: str, summary: str = "Documents about this subject and nothing else.") -> str:
    return json.dumps({"label": label, "summary": summary})


def topic_label(request: dict) -> str:
    """A distinct, sensible label per topic: its first two keywords from the prompt."""
    text = "\n".join(m["content"] for m in request["messages"] if m["role"] == "user")
    line = next(
        (ln for ln in text.splitlines() if ln.startswith("Keywords")), "Keywords: misc, other"
    )
    words = line.split(":", 1)[1].replace(",", " ").split()[:2]
    return " ".join(w.title() for w in words) + " Requests"


class StubLLM:
    """`script(request, n)` returns (status, headers, body dict | str) or sleeps first."""

    def __init__(self, script):
        self.script = script
        self.requests: list[dict] = []
        self.headers: list[dict] = []
        self._lock = threading.Lock()
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                self._send(200, {}, {"object": "list", "data": [{"id": "stub"}]})

            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length) or b"{}")
                with stub._lock:
                    stub.requests.append(body)
                    stub.headers.append({k.lower(): v for k, v in self.headers.items()})
                    n = len(stub.requests)
                status, headers, payload = stub.script(body, n)
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self._send(status, headers, payload)

            def _send(self, status, headers, payload):
                data = (
                    payload.encode() if isinstance(payload, str) else json.dumps(payload).encode()
                )
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for key, value in headers.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    def user_texts(self) -> list[str]:
        return [m["content"] for r in self.requests for m in r["messages"] if m["role"] == "user"]
