"""The review web app: HTML pages for people, a JSON API for the pages and for scripts.

Pages are Jinja2 templates from `templates/review/` (autoescaped; data for the page script goes
through `tojson`), styled and scripted by two static files served from a fixed table: no path in a
request ever reaches the filesystem, and no page loads anything from elsewhere (the
Content-Security-Policy forbids it). Every decision goes through `POST /api/topics/{id}/review`,
which the page script calls like any other client.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
from pathlib import Path
from urllib.parse import urlencode

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from labeler.represent import STAGES as KEYWORD_STAGES
from labeler.resources import data_dir
from labeler.review.actions import (
    ReportRenderer,
    Reviewer,
    ReviewError,
    parse_decision,
    parse_node_decision,
)
from labeler.review.data import FILTERS, ReviewRun, UnknownTopic
from labeler.review.data import select as _select
from labeler.review.security import Guard, SecurityMiddleware

log = logging.getLogger("labeler")

MAX_BODY = 64 * 1024
STATIC = {"review.css": "text/css; charset=utf-8", "review.js": "text/javascript; charset=utf-8"}
STATUS_NAMES = {
    "unreviewed": "unreviewed",
    "accepted": "accepted",
    "edited": "edited",
    "rejected": "rejected",
    "not_a_topic": "not a topic",
}


def templates_dir() -> Path:
    return data_dir("templates") / "review"


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def _filter(request: Request) -> str:
    value = request.query_params.get("filter", "all")
    return value if value in FILTERS else "all"


def _progress(rows: list[dict]) -> dict:
    counts = {s: 0 for s in STATUS_NAMES}
    for row in rows:
        counts[row["status"]] = counts.get(row["status"], 0) + 1
    return {"counts": counts, "reviewed": len(rows) - counts["unreviewed"], "total": len(rows)}


def _neighbours(ids: list[int], topic: int) -> tuple[int | None, int | None]:
    """Previous and next topic ids within a filter, also when `topic` has left the filter."""
    if topic in ids:
        i = ids.index(topic)
        return (ids[i - 1] if i > 0 else None), (ids[i + 1] if i + 1 < len(ids) else None)
    before = [t for t in ids if t < topic]
    after = [t for t in ids if t > topic]
    return (before[-1] if before else None), (after[0] if after else None)


def create_app(
    run_dir: Path,
    token: str,
    *,
    reviewer: str,
    loopback: bool = True,
    settings=None,
    chat=None,
    embed=None,
    renderer: ReportRenderer | None = None,
) -> Starlette:
    """The app for one run. `settings` (LLMSettings or None) is what relabels and merges use;
    `chat` an already open chat model to share between them; `embed` embeds labels for the flags
    (default: the run's own embedding model)."""
    run_dir = Path(run_dir)
    if embed is None:
        from labeler.labels.distinct import label_embedder

        embed = label_embedder(run_dir)
    guard = Guard(token, loopback)
    run = ReviewRun(run_dir, embed=embed)
    renderer = renderer or ReportRenderer(run_dir)
    actions = Reviewer(
        run_dir, reviewer, settings=settings, chat=chat, on_change=renderer.request, embed=embed
    )
    env = Environment(
        loader=FileSystemLoader(str(templates_dir())),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["status_names"] = STATUS_NAMES
    static = {name: (templates_dir() / name).read_bytes() for name in STATIC}
    run_name = run_dir.name

    def page(request: Request, template: str, status: int = 200, **context) -> HTMLResponse:
        signed_in = guard.signed_in(request)
        context.update(
            run_name=run_name,
            reviewer=reviewer,
            signed_in=signed_in,
            csrf=guard.csrf if guard.cookie(request) else None,
            llm=settings is not None,
            filters=FILTERS,
            stages=[(s.name, s.title) for s in KEYWORD_STAGES],
        )
        return HTMLResponse(env.get_template(template).render(**context), status_code=status)

    def refused(request: Request) -> Response | None:
        """For GET: swap a valid ?token= for the cookie; refuse readers without one off-loopback."""
        in_query = guard.token_in_query(request)
        if in_query is True:
            params = {k: v for k, v in request.query_params.items() if k != "token"}
            target = request.url.path + (f"?{urlencode(params)}" if params else "")
            response = RedirectResponse(target, status_code=303)
            response.set_cookie(
                guard.cookie_name(request), token, httponly=True, samesite="strict", path="/"
            )
            return response
        if in_query is False:
            return page(request, "error.html.j2", 401, message="That link's token is wrong.")
        if not guard.can_read(request):
            return page(
                request,
                "error.html.j2",
                401,
                message="Open the link with the token that `labeler review` printed.",
            )
        return None

    # ---------------------------------------------------------------- pages
    def index(request: Request) -> Response:
        if (stop := refused(request)) is not None:
            return stop
        filter_ = _filter(request)
        rows = run.summaries("all")
        sizes = {int(r["topic"]): int(r["size"]) for r in actions.run.topics()}
        return page(
            request,
            "index.html.j2",
            rows=rows,
            shown=_select(rows, filter_),
            filter=filter_,
            progress=_progress(rows),
            outliers={"count": sizes.get(-1, 0), "documents": sum(sizes.values())},
            page_data={"csrf": guard.csrf if guard.cookie(request) else None},
        )

    def topic_page(request: Request) -> Response:
        if (stop := refused(request)) is not None:
            return stop
        topic = request.path_params["topic"]
        filter_ = _filter(request)
        try:
            detail = run.topic(topic)
        except UnknownTopic:
            return page(request, "error.html.j2", 404, message=f"There is no topic {topic}.")
        rows = run.summaries("all")
        shown = [r["id"] for r in _select(rows, filter_)]
        prev_id, next_id = _neighbours(shown, topic)
        query = "" if filter_ == "all" else f"?filter={filter_}"
        urls = {
            "list": f"/{query}",
            "prev": f"/topics/{prev_id}{query}" if prev_id is not None else None,
            "next": f"/topics/{next_id}{query}" if next_id is not None else None,
            "self": f"/topics/{topic}{query}",
        }
        page_data = {
            "topic": topic,
            "urls": urls,
            "csrf": guard.csrf if guard.cookie(request) else None,
        }
        position = shown.index(topic) + 1 if topic in shown else None
        return page(
            request,
            "topic.html.j2",
            t=detail,
            rows=rows,
            filter=filter_,
            urls=urls,
            position=position,
            shown=len(shown),
            progress=_progress(rows),
            page_data=page_data,
        )

    def tree_page(request: Request) -> Response:
        if (stop := refused(request)) is not None:
            return stop
        tree = run.tree()
        if tree is None:
            return page(request, "error.html.j2", 404, message="This run has no topic tree.")
        nodes = tree["nodes"]
        layers = sorted({n["layer"] for n in nodes if n["layer"] > 0}, reverse=True)
        return page(
            request,
            "tree.html.j2",
            layers=[(layer, [n for n in nodes if n["layer"] == layer]) for layer in layers],
            filter="all",
            page_data={"csrf": guard.csrf if guard.cookie(request) else None},
        )

    def static_file(request: Request) -> Response:
        name = request.url.path.rsplit("/", 1)[-1]
        return Response(static[name], media_type=STATIC[name])

    def favicon(request: Request) -> Response:
        return Response(status_code=204)

    # ---------------------------------------------------------------- the API
    def api_topics(request: Request) -> Response:
        if not guard.can_read(request):
            return _error(401, "this needs the review token: Authorization: Bearer <token>")
        filter_ = request.query_params.get("filter", "all")
        if filter_ not in FILTERS:
            return _error(400, f"filter must be one of {', '.join(FILTERS)}")
        rows = run.summaries("all")
        return JSONResponse(
            {
                "run": run_name,
                "filter": filter_,
                "progress": _progress(rows),
                "topics": _select(rows, filter_),
            }
        )

    def api_topic(request: Request) -> Response:
        if not guard.can_read(request):
            return _error(401, "this needs the review token: Authorization: Bearer <token>")
        try:
            return JSONResponse(run.topic(request.path_params["topic"]))
        except UnknownTopic:
            return _error(404, f"no topic {request.path_params['topic']} in this run")

    def api_reviews(request: Request) -> Response:
        if not guard.can_read(request):
            return _error(401, "this needs the review token: Authorization: Bearer <token>")
        return JSONResponse({"reviews": run.reviews()})

    def api_tree(request: Request) -> Response:
        if not guard.can_read(request):
            return _error(401, "this needs the review token: Authorization: Bearer <token>")
        tree = run.tree()
        if tree is None:
            return _error(404, "this run has no topic tree")
        return JSONResponse(tree)

    async def _body(request: Request):
        """The JSON body of a decision, or the error response to send instead."""
        problem = guard.write_problem(request)
        if problem is not None:
            return None, _error(*problem)
        if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
            return None, _error(415, "send the decision as JSON (Content-Type: application/json)")
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_BODY:
                return None, _error(413, "the request body is too large")
        try:
            return json.loads(body or b"null"), None
        except ValueError:
            return None, _error(400, "the body is not valid JSON")

    async def api_node_review(request: Request) -> Response:
        body, refusal = await _body(request)
        if refusal is not None:
            return refusal
        try:
            decision = parse_node_decision(body)
            node = await run_in_threadpool(
                actions.review_node, request.path_params["node"], decision
            )
        except ReviewError as exc:
            return _error(exc.status, exc.message)
        return JSONResponse({"node": node})

    async def api_review(request: Request) -> Response:
        problem = guard.write_problem(request)
        if problem is not None:
            return _error(*problem)
        if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
            return _error(415, "send the decision as JSON (Content-Type: application/json)")
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_BODY:
                return _error(413, "the request body is too large")
        try:
            decision = parse_decision(json.loads(body or b"null"))
        except ValueError:
            return _error(400, "the body is not valid JSON")
        except ReviewError as exc:
            return _error(exc.status, exc.message)
        topic = request.path_params["topic"]
        try:
            row = await run_in_threadpool(actions.apply, topic, decision)
        except ReviewError as exc:
            return _error(exc.status, exc.message)
        # The topic as it is now, without flags (GET /api/topics/{id} has them): recomputing
        # flags can wait for the embedding model, and a decision should answer at once.
        summary = next((r for r in run.summaries("all", False) if r["id"] == topic), None)
        if summary is not None:
            summary.pop("flags", None)
        return JSONResponse({"review": row, "topic": summary})

    async def api_outliers(request: Request) -> Response:
        """Reassign outliers to their nearest topics (`labeler topics RUN outliers`)."""
        problem = guard.write_problem(request)
        if problem is not None:
            return _error(*problem)
        if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
            return _error(415, "send the request as JSON (Content-Type: application/json)")
        body = await request.body()
        if len(body) > MAX_BODY:
            return _error(413, "the request body is too large")
        try:
            data = json.loads(body or b"{}")
        except ValueError:
            return _error(400, "the body is not valid JSON")
        if not isinstance(data, dict) or set(data) - {"strategy", "max_share"}:
            return _error(400, "send an object with 'strategy' and (optionally) 'max_share'")
        strategy = data.get("strategy", "embeddings")
        share = data.get("max_share")
        if not isinstance(strategy, str) or (
            share is not None and (isinstance(share, bool) or not isinstance(share, (int, float)))
        ):
            return _error(400, "'strategy' is a name and 'max_share' a number")
        try:
            revision = await run_in_threadpool(actions.reduce_outliers, strategy, share)
        except ReviewError as exc:
            return _error(exc.status, exc.message)
        return JSONResponse({"revision": revision, "progress": _progress(run.summaries("all"))})

    @contextlib.asynccontextmanager
    async def lifespan(app):
        # Load the embedding model and compute the flags before the first page asks for them.
        threading.Thread(target=_warm, args=(run,), name="review-warm-up", daemon=True).start()
        yield
        await run_in_threadpool(renderer.close)

    routes = [
        Route("/", index),
        Route("/topics/{topic:int}", topic_page),
        Route("/tree", tree_page),
        Route("/static/review.css", static_file),
        Route("/static/review.js", static_file),
        Route("/favicon.ico", favicon),
        Route("/api/topics", api_topics),
        Route("/api/topics/{topic:int}", api_topic),
        Route("/api/reviews", api_reviews),
        Route("/api/topics/{topic:int}/review", api_review, methods=["POST"]),
        Route("/api/outliers", api_outliers, methods=["POST"]),
        Route("/api/tree", api_tree),
        Route("/api/nodes/{node:int}/review", api_node_review, methods=["POST"]),
    ]
    app = Starlette(
        routes=routes,
        middleware=[Middleware(SecurityMiddleware, loopback=loopback)],
        lifespan=lifespan,
    )
    app.state.renderer = renderer
    app.state.reviewer = actions
    return app


def _warm(run: ReviewRun) -> None:
    try:
        run.summaries("all")
    except Exception as exc:  # noqa: BLE001 - the first request will report it properly
        log.debug("warm-up failed: %s", exc)
