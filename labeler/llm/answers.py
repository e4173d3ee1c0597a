"""Turn a model's reply into a label (and summary), or say precisely what is wrong with it.

Schema-constrained output guarantees shape, not sense, and servers without json_schema wrap JSON
in code fences or prose: so the reply is unwrapped, parsed and checked for content.
"""

from __future__ import annotations

import json
import re

MAX_LABEL_CHARS = 60
MAX_LABEL_WORDS = 8
MAX_SUMMARY_CHARS = 400
PLACEHOLDERS = {"", "...", "label", "topic", "unknown", "n/a", "none", "null", "untitled", "misc"}
# A summary whose last word is one of these stopped mid-sentence (a model cut off by its length
# limit or by a character it could not write).
DANGLING = {"a", "an", "and", "as", "at", "by", "for", "from", "in", "including", "into", "like",
            "of", "on", "or", "such", "than", "that", "the", "to", "with"}  # fmt: skip


class AnswerError(ValueError):
    """The reply cannot be used; the message is sent back to the model in the repair prompt.

    `fallback`, when given, is what to use if the model does not do better when asked again: the
    answer was usable, only not as good as it should be (a claim the documents do not support,
    removed; a label that covers one sub-group of the topic).

    `check` names what found the fault (`format` for the answer's shape; the label step's checks:
    relevance, injection, claims, language, coverage, narrow): the asker counts, per check, how
    often asking again changed the label (`Asker.answer`'s `reasks`)."""

    def __init__(self, message: str, fallback: dict | None = None, check: str = "format"):
        super().__init__(message)
        self.fallback = fallback
        self.check = check


def reply_answer(reply: str) -> tuple[str | None, str | None]:
    """The (label, summary) a reply proposes, compared loosely (case and spaces), None where
    missing: whether a re-ask changed the answer, judged on the model's own words before any
    check edits them."""
    try:
        value = extract_json(reply)
    except AnswerError:
        return None, None

    def loose(text) -> str | None:
        return " ".join(text.casefold().split()) if isinstance(text, str) else None

    return loose(value.get("label")), loose(value.get("summary"))


def extract_json(content: str) -> dict:
    text = (content or "").strip()
    if not text:
        raise AnswerError("the reply was empty")
    fenced = re.search(r"```(?:json)?\s*(.*?)```", text, flags=re.S)
    if fenced:
        text = fenced.group(1).strip()
    start = text.find("{")
    if start < 0:
        raise AnswerError("the reply held no JSON object")
    try:
        value, _ = json.JSONDecoder().raw_decode(text[start:])
    except json.JSONDecodeError as exc:
        raise AnswerError(f"the JSON was invalid ({exc.msg})") from exc
    if not isinstance(value, dict):
        raise AnswerError("the reply was not a JSON object")
    return value


def clean_label(value) -> str:
    if not isinstance(value, str):
        raise AnswerError("the label was not a string")
    label = " ".join(value.split()).strip(" \"'`*.:;-")
    if label.lower() in PLACEHOLDERS or not re.search(r"[^\W\d_]", label):
        raise AnswerError(f"the label {label!r} is a placeholder, not a name for the topic")
    if label.count(",") >= 2 or label.count(";") >= 2:
        raise AnswerError(
            "the label is a list of keywords; write a short name of 2 to 4 words instead"
        )
    if len(label) > MAX_LABEL_CHARS or len(label.split()) > MAX_LABEL_WORDS:
        raise AnswerError(f"the label is too long ({len(label.split())} words): use 2 to 5 words")
    return label


def clean_summary(value) -> str:
    if not isinstance(value, str) or not value.strip():
        raise AnswerError("the summary was missing or empty")
    summary = " ".join(value.split())
    if len(summary) > MAX_SUMMARY_CHARS:
        raise AnswerError("the summary is too long: write one or two sentences")
    if len(summary) < 12:
        raise AnswerError("the summary is too short to describe the topic")
    if summary[-1] in ",;:" or summary.split()[-1].lower() in DANGLING:
        raise AnswerError("the summary stops mid-sentence: write one complete sentence")
    return summary


def parse_label(content: str, fields: list[str]) -> dict:
    data = extract_json(content)
    lowered = {str(k).lower(): v for k, v in data.items()}
    if "label" not in lowered:
        raise AnswerError('the JSON had no "label" key')
    answer = {"label": clean_label(lowered["label"]), "summary": None}
    if "summary" in fields:
        answer["summary"] = clean_summary(lowered.get("summary"))
    elif isinstance(lowered.get("summary"), str) and lowered["summary"].strip():
        answer["summary"] = " ".join(lowered["summary"].split())[:MAX_SUMMARY_CHARS]
    return answer


def parse_distinct(content: str, topic_ids: list[int]) -> dict[int, str]:
    data = extract_json(content)
    labels = data.get("labels", data)
    if not isinstance(labels, dict):
        raise AnswerError('"labels" was not an object of topic id to label')
    out = {}
    for key, value in labels.items():
        match = re.search(r"-?\d+", str(key))
        if match and int(match.group()) in topic_ids:
            out[int(match.group())] = clean_label(value)
    missing = [t for t in topic_ids if t not in out]
    if missing:
        raise AnswerError(f"labels were missing for topics {missing}")
    return out


def label_schema(fields: list[str]) -> dict:
    """JSON schema for the answer. Length limits and "no commas" make grammar-constrained
    servers (llama.cpp) stop rambling models and rule out keyword lists as labels."""
    properties = {"label": {"type": "string", "minLength": 3, "maxLength": MAX_LABEL_CHARS,
                            "pattern": "^[^,;\\n]+$"}}  # fmt: skip
    if "summary" in fields:
        properties["summary"] = {"type": "string", "minLength": 12, "maxLength": 300}
    return {"type": "object", "properties": properties, "required": list(properties)}
