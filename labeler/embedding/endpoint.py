"""An OpenAI-compatible embeddings endpoint (vLLM, TEI, Ollama, OpenAI) as an embedding backend.

Texts go in batches, several batches in flight at once (a bounded thread pool: the server, not
this process, does the work), each retried by the openai client on timeouts, 429 and 5xx. Rows
come back in input order whatever order the batches finish in. The API key is read from an
environment variable at call time and never stored: the cache key and run config carry only the
model name and the URL without credentials.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit, urlunsplit

import numpy as np

from labeler.errors import LabelerError

PREFIX = "endpoint:"


def public_url(url: str) -> str:
    """The URL without user:password@, query or fragment (where tokens like to hide)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path.rstrip("/"), "", ""))


class EndpointEmbedder:
    def __init__(
        self,
        base_url: str,
        model: str,
        api_key_env: str = "OPENAI_API_KEY",
        batch_size: int = 64,
        concurrency: int = 4,
        timeout: float = 120.0,
        max_retries: int = 3,
    ):
        if not urlsplit(base_url).scheme.startswith("http"):
            raise LabelerError(f"--embedding-base-url must be an http(s) URL, not {base_url!r}")
        self.base_url = base_url
        self.model = model
        self.api_key_env = api_key_env
        self.batch_size = batch_size
        self.concurrency = max(1, concurrency)
        self.timeout = timeout
        self.max_retries = max_retries
        self._client = None
        self._lock = threading.Lock()

    @property
    def key(self) -> str:
        return f"{PREFIX}{self.model}@{public_url(self.base_url)}"

    def _client_once(self):
        with self._lock:
            if self._client is None:
                from openai import OpenAI

                self._client = OpenAI(
                    base_url=self.base_url,
                    api_key=os.environ.get(self.api_key_env) or "not-needed",
                    timeout=self.timeout,
                    max_retries=self.max_retries,
                )
        return self._client

    def _batch(self, texts: list[str]) -> np.ndarray:
        import openai

        try:
            reply = self._client_once().embeddings.create(model=self.model, input=texts)
        except openai.APIStatusError as exc:
            raise LabelerError(
                f"embedding endpoint {public_url(self.base_url)} answered {exc.status_code}: "
                f"{_first_line(exc.message)}"
            ) from exc
        except openai.APIError as exc:
            raise LabelerError(
                f"embedding endpoint {public_url(self.base_url)}: {type(exc).__name__}: "
                f"{_first_line(str(exc))}"
            ) from exc
        rows = sorted(reply.data, key=lambda d: d.index)
        if len(rows) != len(texts):
            raise LabelerError(
                f"embedding endpoint {public_url(self.base_url)} returned {len(rows)} vectors "
                f"for {len(texts)} texts"
            )
        return np.asarray([r.embedding for r in rows], dtype=np.float32)

    def embed(self, texts: Sequence[str], show_progress: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        texts = [t if t.strip() else " " for t in texts]  # some servers reject empty input
        chunks = [texts[i : i + self.batch_size] for i in range(0, len(texts), self.batch_size)]
        with ThreadPoolExecutor(max_workers=self.concurrency) as pool:
            parts = list(pool.map(self._batch, chunks))  # map keeps the input order
        return np.concatenate(parts)


def _first_line(text: str) -> str:
    return (str(text).strip().splitlines() or [""])[0][:200]
