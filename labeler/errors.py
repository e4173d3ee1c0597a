"""Errors a user can act on, and text that is safe to show on a terminal or write to disk.

The CLI prints a `LabelerError` as one line on stderr and exits 2. Every string that reaches a
terminal may come from a corpus (a column name, a path) and is passed through `printable`, so an
escape sequence cannot recolour or rewrite the user's terminal and a newline cannot turn one
message into two. URLs pass through `redact_url` before they are written anywhere, so a password
in `--llm-base-url` never reaches a file, a report or a log.
"""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit


class LabelerError(Exception):
    """A problem with the user's input or environment, described in one actionable sentence."""


# C0/C1 controls, DEL, format characters (bidi overrides, zero-width), line/paragraph separators.
_UNPRINTABLE = re.compile(
    r"[\x00-\x1f\x7f-\x9f\u00ad\u061c\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\ufff9-\ufffb]"
)


def _escape(match: re.Match) -> str:
    ch = match.group()
    code = ord(ch)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str) -> str:
    """`text` as one line with every control, format and separator character escaped."""
    text = _UNPRINTABLE.sub(_escape, str(text))
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") for ch in text):
        text = "".join(
            f"\\u{ord(ch):04x}" if unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") else ch
            for ch in text
        )
    return text


_SECRET_PARAM = re.compile(r"key|token|secret|password|passwd|pwd|sig|auth|credential", re.I)
_USERINFO = re.compile(r"(\b[a-z][a-z0-9+.-]*://)[^/\s@]*@", re.I)


def redact_url(url: str | None) -> str | None:
    """The URL without user info (`user:secret@`) and with secret-looking query values hidden."""
    if not url:
        return url
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
    except ValueError:
        return _USERINFO.sub(r"\1", url)
    if ":" in host:
        host = f"[{host}]"
    netloc = host + (f":{parts.port}" if _port(parts) else "")
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        query = urlencode([(k, "***" if _SECRET_PARAM.search(k) else v) for k, v in pairs])
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def _port(parts) -> int | None:
    try:
        return parts.port
    except ValueError:
        return None


def redact_text(text: str) -> str:
    """Any `scheme://user:pass@` in free text (an exception message, a log line) without the
    user info."""
    return _USERINFO.sub(r"\1", text)
