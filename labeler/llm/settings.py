"""Where and how to ask: endpoint settings, and the packaged model served lazily."""

from __future__ import annotations

import contextlib
import hashlib
import math
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from labeler.errors import LabelerError, redact_url
from labeler.llm.client import ChatModel, OpenAIChat

PACKAGED = ("local", "small")


@dataclass
class LLMSettings:
    """Where and how to ask. The API key is named by an environment variable, never held."""

    provider: str = "local"  # local | small | endpoint | path to a .gguf file
    base_url: str | None = None
    model: str | None = None
    api_key_env: str = "OPENAI_API_KEY"
    temperature: float = 0.0
    max_tokens: int = 200
    timeout: float | None = None  # seconds per request; None: request_timeout's default
    max_retries: int = 4
    concurrency: int | None = None
    # The packaged server's parallel slots (None: defaults.LLM_SLOTS); ignored for an endpoint.
    slots: int | None = None
    context: int = 4096
    prompt: str = "label_summary"
    corpus_description: str | None = None
    # Labels and summaries in this language (ISO 639-1, or a name: `check` makes it the code),
    # whatever the documents' language; None: the prompt's (English) and no check.
    label_language: str | None = None

    MIN_PROMPT_TOKENS = 256  # what a label prompt needs at least, besides the answer

    def check(self) -> LLMSettings:
        """Refuse values no endpoint should receive (one line naming the option)."""

        def number(value, option: str, low: float, high: float) -> None:
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise LabelerError(f"{option} takes a number, not {value!r}")
            if not math.isfinite(value) or not low <= value <= high:
                raise LabelerError(f"{option} takes a number from {low:g} to {high:g}, not {value}")

        number(self.temperature, "--temperature", 0.0, 2.0)
        number(self.max_tokens, "--max-tokens", 16, 4096)
        number(self.context, "--llm-context", 512, 1_048_576)
        if self.timeout is not None:
            number(self.timeout, "--llm-timeout", 1.0, 86_400.0)
        if self.concurrency is not None:
            number(self.concurrency, "--concurrency", 1, 64)
        if self.slots is not None:
            number(self.slots, "--llm-slots", 1, 16)
        if self.label_language is not None:
            from labeler.corpus.languages import language_code

            code = language_code(self.label_language)
            if code is None:
                raise LabelerError(
                    f"--label-language {str(self.label_language)[:40]!r}: give a language as an "
                    "ISO 639-1 code or English name, e.g. de, fr, german"
                )
            self.label_language = code
        if self.prompt_budget < self.MIN_PROMPT_TOKENS:
            raise LabelerError(
                f"--max-tokens {self.max_tokens} leaves {max(self.prompt_budget, 0)} tokens for "
                f"the prompt in --llm-context {self.context}: lower --max-tokens or raise "
                "--llm-context"
            )
        return self

    @property
    def server_slots(self) -> int:
        """The packaged server's parallel slots."""
        from labeler.defaults import LLM_SLOTS

        return self.slots or LLM_SLOTS

    @property
    def workers(self) -> int:
        """Requests in flight: one more than the packaged server's slots, so no slot idles
        while the client checks an answer; 4 for an endpoint."""
        return self.concurrency or (self.server_slots + 1 if self.is_local else 4)

    @property
    def prompt_budget(self) -> int:
        """Tokens a prompt may take: the window less the answer and the chat template's share."""
        return self.context - self.max_tokens - 64

    @property
    def request_timeout(self) -> float:
        """A remote endpoint that takes a minute is in trouble; the packaged model on a busy
        CPU may just be slow (a 3,000-token prompt on two shared cores), and timing it out
        turns every label into its keyword fallback, so it gets ten minutes."""
        if self.timeout is not None:
            return self.timeout
        return 600.0 if self.is_local else 60.0

    @property
    def is_local(self) -> bool:
        return self.base_url is None

    def public(self) -> dict:
        """What is recorded in config.json and label versions: everything but secrets."""
        return {
            "provider": "endpoint" if self.base_url else self.provider,
            "base_url": redact_url(self.base_url),
            "model": self.model,
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
            "context": self.context,
            **({"slots": self.server_slots} if self.is_local else {}),
            "prompt": self.prompt,
            **({"corpus_description": self.corpus_description} if self.corpus_description else {}),
            **({"label_language": self.label_language} if self.label_language else {}),
        }


class LazyLocalChat:
    """The packaged model, served on first use only: a fully cached rerun never loads it."""

    def __init__(self, settings: LLMSettings, cache_dir: Path | None = None):
        from labeler.embedding.cache import default_cache_dir
        from labeler.llm.local import LocalServer

        self._server = LocalServer(
            settings.provider, context=settings.context, cache_dir=cache_dir,
            prefix_dir=(cache_dir or default_cache_dir()) / "llm-prefixes",
            # Slots decode their topics together (benchmarks/llm_slots.py measures 1 to 4); each
            # has its own window, and reads the (cached) system prompt once. The client keeps
            # `workers` requests in flight, so no slot idles.
            parallel=settings.server_slots,
        )  # fmt: skip
        self._settings = settings
        self._chat: OpenAIChat | None = None
        self._lock = threading.Lock()
        self._last_messages: list[dict] | None = None  # the prompt the server answered last

    def _prefix_key(self, messages: list[dict]) -> str:
        """Names the saved prompt cache: same weights, window and system prompt."""
        system = messages[0]["content"] if messages and messages[0]["role"] == "system" else ""
        text = f"{self.identity}\0{self._settings.context}\0{system}"
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:24]

    @property
    def identity(self) -> str:
        return self._server.identity

    supports_prefill = True  # llama.cpp's server continues a trailing assistant message

    def chat(self, messages, *, schema, temperature, max_tokens):
        with self._lock:
            if self._chat is None:
                base_url = self._server.start()
                self._server.restore_prefix(self._prefix_key(messages))
                self._chat = OpenAIChat(
                    base_url, self._server.alias, timeout=self._settings.request_timeout,
                    max_retries=self._settings.max_retries, identity=self.identity,
                    supports_prefill=True,
                )  # fmt: skip
        result = self._chat.chat(
            messages, schema=schema, temperature=temperature, max_tokens=max_tokens
        )
        self._last_messages = messages  # one reference, set atomically: no lock needed
        return result

    def close(self) -> None:
        if self._last_messages is not None:
            # Nothing is in flight now: slot 0 holds the last answered prompt (with one slot;
            # with more, some prompt that starts with a system prompt of this run).
            self._server.save_prefix(self._prefix_key(self._last_messages))
        self._server.stop()


@contextlib.contextmanager
def open_chat_model(settings: LLMSettings, cache_dir: Path | None = None) -> Iterator[ChatModel]:
    settings.check()
    if settings.base_url:
        if not settings.model:
            raise LabelerError(
                "--llm-base-url needs --llm-model (the model name the endpoint serves)"
            )
        yield OpenAIChat(
            settings.base_url, settings.model, settings.api_key_env, settings.request_timeout,
            settings.max_retries, identity=f"{settings.model}@{redact_url(settings.base_url)}",
        )  # fmt: skip
        return
    if settings.provider not in PACKAGED and not Path(settings.provider).is_file():
        raise LabelerError(
            f"--llm {settings.provider!r}: choose local, small, none, a .gguf file, "
            "or an endpoint with --llm-base-url"
        )
    chat = LazyLocalChat(settings, cache_dir)
    try:
        yield chat
    finally:
        chat.close()


def identity_without_starting(settings: LLMSettings) -> str:
    if settings.base_url:
        return f"{settings.model}@{redact_url(settings.base_url)}"
    from labeler.llm.local import LocalServer

    return LocalServer(settings.provider).identity
