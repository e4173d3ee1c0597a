"""Prompt files (Jinja2, in `prompts/` or any path) rendered into chat messages that fit.

Token counts are estimated from UTF-8 bytes (2.5 bytes a token: safe for English, code and most
scripts; uuencoded blobs are denser, which the caller handles by shrinking on "context exceeded").
Estimating keeps rendering independent of the server, so a fully cached rerun never starts one.
"""

from __future__ import annotations

import hashlib
import math
import re
from dataclasses import dataclass
from pathlib import Path

import jinja2

from labeler.errors import LabelerError
from labeler.resources import data_dir

BYTES_PER_TOKEN = 2.5
MESSAGE_OVERHEAD = 8  # role markers and separators per message
DOC_TOKENS = 128  # first cut per document unless a prompt file sets `{% set doc_tokens = N %}`
# Exemplars per topic unless a prompt file sets `min_docs` / `max_docs`: `min_docs` for a topic of
# up to 100 documents, more for larger ones (see labeler.labels.exemplars.exemplar_count).
MIN_DOCS = 3
MAX_DOCS = 6
# The marker line around documents. It is constant and short (3 tokens: a nonce in hex costs 13
# on Qwen's tokenizer, twice per prompt), and unforgeable because `data_line` breaks every run of
# three or more angle brackets in a document.
FENCE = "<<<DATA>>>"
_MARKER_RUN = re.compile(r"<{3,}|>{3,}")


def estimate_tokens(text: str) -> int:
    return math.ceil(len(text.encode("utf-8")) / BYTES_PER_TOKEN)


def data_line(text: str, max_tokens: int) -> str:
    """A document as one line of prompt data: cut to about `max_tokens` on a character boundary
    (the cut marked), with no `FENCE` in it, so it can neither end the data block early nor fake
    a line of its own."""
    text = " ".join(text.split())  # whitespace runs cost tokens and carry no meaning here
    text = _MARKER_RUN.sub(lambda m: m.group()[:2], text)
    limit = int(max_tokens * BYTES_PER_TOKEN)
    raw = text.encode("utf-8")
    if len(raw) <= limit:
        return text
    return raw[: max(0, limit - 3)].decode("utf-8", errors="ignore").rstrip() + "…"


@dataclass
class Prompt:
    name: str
    text_hash: str
    template: jinja2.Template
    fields: list[str]
    doc_tokens: int = DOC_TOKENS
    min_docs: int = MIN_DOCS
    max_docs: int = MAX_DOCS

    @property
    def has_prefill(self) -> bool:
        return "prefill" in self.template.blocks

    def doc_cut(self, n_docs: int, doc_tokens: int | None = None) -> int:
        """Tokens per document when showing `n_docs`: the prompt's documents keep the budget of
        `min_docs` documents at `doc_tokens` each (prompt time is what a CPU pays per topic), so
        more exemplars are each cut shorter, to no fewer than 16 tokens."""
        doc_tokens = self.doc_tokens if doc_tokens is None else doc_tokens
        share = doc_tokens * self.min_docs // max(n_docs, 1)
        return max(min(doc_tokens, 16), min(doc_tokens, share))

    def instructions(self, **context) -> str:
        """The system block's text without its worked examples (`{% block examples %}`): the
        words the model was told, which an answer may repeat without the documents saying them."""
        parts = {}
        for name in ("system", "examples"):
            block = self.template.blocks.get(name)
            try:
                parts[name] = "".join(block(self.template.new_context(context))) if block else ""
            except jinja2.TemplateError:
                parts[name] = ""
        if not parts["examples"]:
            return parts["system"]
        return parts["system"].replace(parts["examples"], "")

    def render(self, prefill: bool = False, **context) -> list[dict]:
        """Chat messages: system, user and, with `prefill`, the start of the assistant's answer
        from `{% block prefill %}` (for servers that continue a trailing assistant message)."""
        messages = []
        roles = (("system", "system"), ("user", "user"), ("prefill", "assistant"))
        for name, role in roles:
            block = self.template.blocks.get(name)
            if block is None or (name == "prefill" and not prefill):
                continue
            try:
                text = "".join(block(self.template.new_context(context)))
            except jinja2.TemplateError as exc:
                raise LabelerError(f"prompt {self.name}: {exc}") from exc
            messages.append({"role": role, "content": text if name == "prefill" else text.strip()})
        if not any(m["role"] == "user" for m in messages):
            raise LabelerError(f"prompt {self.name} has no {{% block user %}}")
        return messages


def _environment(folder: Path) -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(folder)),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,  # plain text for an LLM, never HTML
    )


def _declared(tree, name: str, default):
    """A top-level `{% set name = constant %}` of a prompt file, read without rendering it."""
    from jinja2 import nodes

    for node in tree.find_all(nodes.Assign):
        target, value = node.target, node.node
        named = isinstance(target, nodes.Name) and target.name == name
        if named and isinstance(value, nodes.Const):
            return value.value
    return default


def load_prompt(name_or_path: str | Path) -> Prompt:
    """A prompt by file path, or by name of a file in the packaged `prompts/` folder."""
    path = Path(name_or_path)
    if not path.is_file():
        packaged = data_dir("prompts")
        candidates = [packaged / str(name_or_path), packaged / f"{name_or_path}.jinja"]
        path = next((c for c in candidates if c.is_file()), None)
        if path is None:
            names = ", ".join(sorted(p.stem for p in packaged.glob("*.jinja")))
            raise LabelerError(f"prompt not found: {name_or_path} (packaged prompts: {names})")
    source = path.read_text(encoding="utf-8")
    try:
        environment = _environment(path.parent)
        template = environment.from_string(source)
        tree = environment.parse(source)
        fields = str(_declared(tree, "fields", "label summary")).split()
        doc_tokens = _declared(tree, "doc_tokens", DOC_TOKENS)
        min_docs = _declared(tree, "min_docs", MIN_DOCS)
        max_docs = _declared(tree, "max_docs", None)
    except jinja2.TemplateError as exc:
        raise LabelerError(f"prompt {path.name}: {exc}") from exc
    for name, value, least in (("doc_tokens", doc_tokens, 8), ("min_docs", min_docs, 1),
                               ("max_docs", max_docs, None)):  # fmt: skip
        if name == "max_docs":
            if value is None:
                max_docs = value = max(MAX_DOCS, min_docs)
            least = min_docs
        if not isinstance(value, int) or isinstance(value, bool) or value < least:
            raise LabelerError(
                f"prompt {path.name}: {name} must be a whole number of at least {least}"
            )
    return Prompt(
        name=path.name,
        text_hash=hashlib.sha256(source.encode("utf-8")).hexdigest()[:16],
        template=template,
        fields=fields,
        doc_tokens=doc_tokens,
        min_docs=min_docs,
        max_docs=max_docs,
    )


def messages_tokens(messages: list[dict]) -> int:
    return sum(estimate_tokens(m["content"]) + MESSAGE_OVERHEAD for m in messages)


def fit_messages(
    prompt: Prompt,
    documents: list[str],
    budget: int,
    doc_tokens: int = DOC_TOKENS,
    prefill: bool = False,
    **context,
) -> list[dict]:
    """Render with as much of each document as the budget allows (at least two documents)."""
    context.setdefault("groups", [])  # a topic of one group has no sub-groups to list
    docs = list(documents)
    while True:
        cut = [data_line(d, doc_tokens) for d in docs]
        messages = prompt.render(prefill=prefill, documents=cut, fence=FENCE, **context)
        if messages_tokens(messages) <= budget:
            return messages
        if doc_tokens > 32:
            doc_tokens //= 2
        elif len(docs) > 2:
            docs = docs[:-1]
        else:
            return messages  # the endpoint will say if it is still too long; the caller shrinks
