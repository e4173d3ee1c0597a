"""Serving the review app: bind first (so port 0 and "port in use" are known before anything is
printed), then run uvicorn on that socket with no access log (URLs may carry the token)."""

from __future__ import annotations

import getpass
import socket

from labeler.errors import LabelerError


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on host:port (port 0: a free one)."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
    except socket.gaierror as exc:
        raise LabelerError(f"--host {host}: {exc.strerror}") from exc
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
    except OSError as exc:
        sock.close()
        raise LabelerError(
            f"cannot listen on {host}:{port} ({exc.strerror}): choose another --port "
            "(0 picks a free one)"
        ) from exc
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def url(host: str, port: int, token: str) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/?token={token}"


def default_reviewer() -> str:
    """The OS user, which is who made a decision unless --reviewer says otherwise."""
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no user database entry (containers)
        return "reviewer"


def make_server(app):
    """A uvicorn server for `app`: quiet, no access log (the token must never be logged).

    Run from the main thread it stops gracefully on Ctrl-C/SIGTERM; from another thread (tests)
    it installs no signal handlers and stops when `should_exit` is set."""
    import uvicorn

    config = uvicorn.Config(
        app,
        log_level="warning",
        access_log=False,
        lifespan="on",
        server_header=False,
        timeout_graceful_shutdown=5,
    )
    return uvicorn.Server(config)
