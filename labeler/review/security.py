"""Who may read and change a run through the review server.

The server is a local tool that can rewrite a run, so:

- a random token (printed once, in the URL) is required for every state change: in an
  `Authorization: Bearer` header (scripts), or as the HttpOnly, SameSite=Strict cookie the printed
  URL sets plus an `X-CSRF-Token` header derived from the token (the browser UI). Another site can
  neither send the cookie (SameSite) nor set the header without a CORS preflight, which this
  server never answers;
- reading needs the token too when the server listens beyond loopback;
- on loopback, requests must name a loopback host: a DNS-rebinding page (evil.example resolving
  to 127.0.0.1) is refused before it can read anything;
- tokens are compared in constant time, and never logged (the access log is off, and the
  token in the URL is swapped for the cookie by a redirect at once).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets

from starlette.requests import Request

LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "::1"})
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cache-control", b"no-store"),
    (b"cross-origin-resource-policy", b"same-origin"),
]


def new_token() -> str:
    return secrets.token_urlsafe(32)


def is_loopback(host: str) -> bool:
    host = host.strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def host_name(header: str) -> str:
    """The name part of a Host header: `127.0.0.1:8040` → 127.0.0.1, `[::1]:8040` → ::1."""
    header = header.strip().lower()
    if header.startswith("["):
        return header[1 : header.find("]")] if "]" in header else header
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header


def _same(given: str | None, expected: str) -> bool:
    return given is not None and hmac.compare_digest(given.encode(), expected.encode())


class Guard:
    """Checks a request's credentials against the server's token."""

    def __init__(self, token: str, loopback: bool):
        if len(token) < 16:
            raise ValueError("the review token must be at least 16 characters")
        self.token = token
        self.loopback = loopback  # listening on loopback only: reading needs no token
        self.csrf = hmac.new(token.encode(), b"labeler-review-csrf", hashlib.sha256).hexdigest()

    @staticmethod
    def cookie_name(request: Request) -> str:
        """Per port: cookies ignore ports, and two review servers must not share one."""
        server = request.scope.get("server") or ("", 0)
        return f"labeler_review_{server[1]}"

    def bearer(self, request: Request) -> bool:
        scheme, _, value = request.headers.get("authorization", "").partition(" ")
        return scheme.lower() == "bearer" and _same(value.strip(), self.token)

    def cookie(self, request: Request) -> bool:
        return _same(request.cookies.get(self.cookie_name(request)), self.token)

    def signed_in(self, request: Request) -> bool:
        return self.bearer(request) or self.cookie(request)

    def can_read(self, request: Request) -> bool:
        return self.loopback or self.signed_in(request)

    def write_problem(self, request: Request) -> tuple[int, str] | None:
        """Why this state-changing request is refused (status, reason), or None if it may go."""
        origin = request.headers.get("origin")
        if origin is not None and origin != f"{request.url.scheme}://{request.headers.get('host')}":
            return 403, "cross-origin requests are refused"
        if self.bearer(request):
            return None
        if self.cookie(request):
            if _same(request.headers.get("x-csrf-token"), self.csrf):
                return None
            return 403, "missing or wrong X-CSRF-Token header"
        return 401, "this needs the review token: Authorization: Bearer <token>"

    def token_in_query(self, request: Request) -> bool | None:
        """None: no ?token=; else whether it is the right one."""
        given = request.query_params.get("token")
        return None if given is None else _same(given, self.token)


class SecurityMiddleware:
    """Pure ASGI: refuse unexpected Host headers on loopback; add security headers everywhere."""

    def __init__(self, app, loopback: bool):
        self.app = app
        self.loopback = loopback

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self.loopback:
            headers = dict(scope.get("headers") or [])
            host = host_name(headers.get(b"host", b"").decode("latin-1"))
            if host not in LOOPBACK_NAMES:
                await _plain(send, 421, b"unexpected Host header: open the URL labeler printed\n")
                return

        async def with_headers(message):
            if message["type"] == "http.response.start":
                message = dict(message)
                message["headers"] = list(message.get("headers", [])) + SECURITY_HEADERS
            await send(message)

        await self.app(scope, receive, with_headers)


async def _plain(send, status: int, body: bytes) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"text/plain; charset=utf-8"), *SECURITY_HEADERS],
        }
    )
    await send({"type": "http.response.body", "body": body})
