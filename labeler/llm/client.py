"""The ChatModel protocol and its one implementation, over the `openai` client.

OpenAI, vLLM, llama.cpp's server and Ollama all speak this API. The openai client already retries
429/5xx/timeouts/connection errors with exponential backoff and honours Retry-After; this module
adds what it cannot know: structured-output negotiation (json_schema → json_object → plain) and
telling "the prompt is too long" apart from other errors so the caller can shrink it.
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from labeler.errors import redact_url

log = logging.getLogger("labeler")


class LLMError(Exception):
    """A request failed for good (after the client's own retries)."""


class ContextExceeded(LLMError):
    """The endpoint rejected the prompt as longer than its context window."""


class Unreachable(LLMError):
    """The endpoint cannot be reached at all (connection refused, DNS, repeated timeouts)."""


@dataclass
class ChatResult:
    content: str
    prompt_tokens: int = 0
    completion_tokens: int = 0


@runtime_checkable
class ChatModel(Protocol):
    """What the label step needs from an LLM."""

    @property
    def identity(self) -> str:
        """Stable name of the model behind the endpoint (part of the cache key)."""
        ...

    def chat(
        self, messages: list[dict], *, schema: dict | None, temperature: float, max_tokens: int
    ) -> ChatResult: ...


_CONTEXT_HINTS = ("context", "too long", "maximum", "exceed", "n_ctx", "tokens")

# JSON string characters without quote, backslash and control characters (llama.cpp GBNF). A
# summary may also hold an escaped quote or backslash: without them a model that wanted to quote
# something could only end the string there, leaving the sentence cut off.
_GBNF_LABEL = r"[^\"\\,;\x00-\x1F\x7F]"
_GBNF_SUMMARY_CHAR = r'schar ::= [^\"\\\x00-\x1F\x7F] | "\\" [\"\\/]'


def continuation_grammar(prefill: str, schema: dict | None) -> str | None:
    """A llama.cpp grammar for the rest of a prefilled `{"label": "` answer, keeping what the
    JSON schema would have enforced (lengths, no commas in labels) without restating the start.
    None for any other prefill or schema: the answer is then validated after the fact only."""
    props = (schema or {}).get("properties", {})
    if prefill != '{"label": "' or not set(props) <= {"label", "summary"} or "label" not in props:
        return None

    def text(name: str, chars: str) -> str:
        lo, hi = props[name].get("minLength", 1), props[name].get("maxLength", 300)
        return f"{name} ::= {chars}{{{lo},{hi}}}"

    rules = [text("label", _GBNF_LABEL)]
    if "summary" in props:
        rules.insert(0, 'root ::= label "\\", \\"summary\\": \\"" summary "\\"}"')
        rules += [text("summary", "schar"), _GBNF_SUMMARY_CHAR]
    else:
        rules.insert(0, 'root ::= label "\\"}"')
    return "\n".join(rules)


def _is_context_error(message: str) -> bool:
    text = message.lower()
    return ("context" in text or "n_ctx" in text or "too long" in text) and any(
        h in text for h in _CONTEXT_HINTS[2:]
    )


class OpenAIChat:
    """Any OpenAI-compatible endpoint. The API key is read from the environment, never stored."""

    FORMATS = ("json_schema", "json_object", "none")

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key_env: str = "OPENAI_API_KEY",
        timeout: float = 60.0,
        max_retries: int = 4,
        identity: str | None = None,
        http_client=None,
        supports_prefill: bool = False,
    ):
        from openai import OpenAI

        self.base_url = base_url
        self.model = model
        self._identity = identity or model
        self.timeout = timeout
        # Local servers need no key; the client insists on a non-empty string.
        key = os.environ.get(api_key_env) or "not-needed"
        kwargs = {"http_client": http_client} if http_client is not None else {}
        self._client = OpenAI(
            base_url=base_url, api_key=key, timeout=timeout, max_retries=max_retries, **kwargs
        )
        self._format = 0  # index into FORMATS: downgraded once when a server rejects one
        # Whether the server continues a trailing assistant message (llama.cpp does; OpenAI
        # answers it afresh), so a prompt may write the start of the answer itself.
        self.supports_prefill = supports_prefill
        self._lock = threading.Lock()

    @classmethod
    def from_client(cls, client, model: str, identity: str | None = None) -> OpenAIChat:
        """The user's own `openai.OpenAI` client (BERTopic's `OpenAI(client, ...)`): its key,
        base URL, timeout and retries stay the client's, and nothing here reads or keeps the
        key."""
        chat = cls.__new__(cls)
        chat.base_url = str(client.base_url)
        chat.model = model
        chat._identity = identity or model
        chat.timeout = getattr(client, "timeout", None)
        chat._client = client
        chat._format = 0
        chat.supports_prefill = False
        chat._lock = threading.Lock()
        return chat

    @property
    def identity(self) -> str:
        return self._identity

    def _response_format(self, schema: dict | None) -> dict | None:
        kind = self.FORMATS[self._format]
        if schema is None or kind == "none":
            return None
        if kind == "json_object":
            return {"type": "json_object"}
        return {"type": "json_schema", "json_schema": {"name": "answer", "schema": schema}}

    def chat(
        self, messages: list[dict], *, schema: dict | None, temperature: float, max_tokens: int
    ) -> ChatResult:
        import openai

        # A prefilled answer is continued as text: a grammar would have to match from its start.
        prefill = messages[-1]["content"] if messages[-1]["role"] == "assistant" else None
        while True:
            fmt = self._format
            kwargs = {}
            response_format = None if prefill is not None else self._response_format(schema)
            if response_format:
                kwargs["response_format"] = response_format
            grammar = continuation_grammar(prefill, schema) if prefill is not None else None
            if grammar:
                kwargs["extra_body"] = {"grammar": grammar}
            try:
                reply = self._client.chat.completions.create(
                    model=self.model,
                    messages=messages,
                    temperature=temperature,
                    max_tokens=max_tokens,
                    **kwargs,
                )
            except openai.BadRequestError as exc:
                message = str(exc)
                if _is_context_error(message):
                    raise ContextExceeded(message) from exc
                if (
                    response_format
                    and fmt < len(self.FORMATS) - 1
                    and ("response_format" in message or "schema" in message or "json" in message)
                ):
                    with self._lock:
                        if self._format == fmt:
                            self._format += 1
                            log.info("endpoint rejects %s output; trying %s", self.FORMATS[fmt],
                                     self.FORMATS[self._format])  # fmt: skip
                    continue
                raise LLMError(f"rejected by the endpoint: {message[:300]}") from exc
            except (openai.APIConnectionError, openai.APITimeoutError) as exc:
                raise Unreachable(f"{type(exc).__name__}: {exc}"[:300]) from exc
            except openai.APIStatusError as exc:
                if exc.status_code in (401, 403):
                    raise Unreachable(
                        f"not authorised by {redact_url(self.base_url)} ({exc.status_code})"
                    ) from exc
                raise LLMError(f"HTTP {exc.status_code}: {str(exc)[:300]}") from exc
            except openai.OpenAIError as exc:
                raise LLMError(f"{type(exc).__name__}: {str(exc)[:300]}") from exc
            choice = reply.choices[0] if reply.choices else None
            content = (choice.message.content if choice and choice.message else None) or ""
            usage = reply.usage
            if prefill and not content.startswith(prefill):
                content = prefill + content  # servers differ: some echo the prefilled start
            return ChatResult(
                content=content,
                prompt_tokens=getattr(usage, "prompt_tokens", 0) or 0,
                completion_tokens=getattr(usage, "completion_tokens", 0) or 0,
            )
