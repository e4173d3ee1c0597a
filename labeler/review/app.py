"""The review web app: HTML pages for people, a JSON API for the pages and for scripts.

Datasette's shape: module-level handlers and one routes table (`ROUTES`); what a handler needs
of the run (the review service: `ReviewRun` to read, `Reviewer` to decide, the guard, the page
templates) is one `Review` object on `app.state`. Every JSON body goes through `read_body` (size
checked while it streams in, before anything is parsed; nesting depth and numbers bounded), and
every refusal is an exception mapped to one JSON (or page) answer by the handlers at the bottom,
so a damaged run file is a 409 with its one-line message, never a 500.

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
import math
import threading
from pathlib import Path
from urllib.parse import urlencode

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import (
    HTMLResponse,
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
)
from starlette.routing import Route

from labeler.errors import LabelerError
from labeler.represent import STAGES as KEYWORD_STAGES
from labeler.resources import data_dir
from labeler.review.actions import (
    ReportRenderer,
    Reviewer,
    ReviewError,
    parse_decision,
    parse_node_decision,
    runs_as_job,
)
from labeler.review.data import FILTERS, ReviewRun, UnknownTopic
from labeler.review.data import select as _select
from labeler.review.security import Guard, SecurityMiddleware
from labeler.run.folder import RunLike, as_run

log = logging.getLogger("labeler")

MAX_BODY = 64 * 1024
OUTLIER_STRATEGIES = ("embeddings", "c-tf-idf")  # a run keeps no soft memberships
MAX_DEPTH = 16  # a decision is a flat object; deeper is an attack, not a review
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


class BadRequest(Exception):
    """A request the API refuses: `status` and one message for the client."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e400 parses as inf
        raise BadRequest(400, f"the number {text[:20]} is out of range")
    return value


def _refuse_constant(name: str):
    raise BadRequest(400, f"{name} is not a number a review accepts")


def _depth(value, limit: int = MAX_DEPTH) -> int:
    stack, deepest = [(value, 1)], 0
    while stack:
        item, depth = stack.pop()
        deepest = max(deepest, depth)
        if deepest > limit:
            break
        children = (
            item.values() if isinstance(item, dict) else item if isinstance(item, list) else ()
        )
        stack.extend((child, depth + 1) for child in children)
    return deepest


async def read_body(request: Request, default=None):
    """The request's JSON body, for every handler that takes one: the writer's credentials and
    the content type first, then at most MAX_BODY bytes (counted while they arrive, so a huge
    body is refused without being read), then JSON with finite numbers and bounded nesting."""
    problem = request.app.state.review.guard.write_problem(request)
    if problem is not None:
        raise BadRequest(*problem)
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
        raise BadRequest(415, "send the request as JSON (Content-Type: application/json)")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY:
        raise BadRequest(413, "the request body is too large")
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            raise BadRequest(413, "the request body is too large")
    if not body:
        return default
    try:
        data = json.loads(body, parse_float=_finite, parse_constant=_refuse_constant)
    except RecursionError:
        raise BadRequest(400, "the body is nested too deeply") from None
    except (ValueError, UnicodeDecodeError):
        raise BadRequest(400, "the body is not valid JSON") from None
    if _depth(data) > MAX_DEPTH:
        raise BadRequest(400, "the body is nested too deeply")
    return data


class Review:
    """What the handlers share for one run: the review service (`ReviewRun` reads, `Reviewer`
    decides), the guard, the page templates and the static files."""

    def __init__(self, run: RunLike, token: str, *, reviewer: str, loopback: bool, settings,
                 chat, embed, renderer: ReportRenderer | None):  # fmt: skip
        run = as_run(run)
        if embed is None:
            from labeler.labels.distinct import label_embedder

            embed = label_embedder(run)
        self.token = token
        self.reviewer = reviewer
        self.settings = settings
        self.guard = Guard(token, loopback)
        self.run = ReviewRun(run, embed=embed)
        if renderer is None:
            from labeler.views.report import render_reports

            renderer = ReportRenderer(run, render_reports)
        self.renderer = renderer
        self.actions = Reviewer(
            run, reviewer, settings=settings, chat=chat, on_change=self.renderer.request,
            embed=embed,
        )  # fmt: skip
        self.env = Environment(
            loader=FileSystemLoader(str(templates_dir())),
            autoescape=True,
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.globals["status_names"] = STATUS_NAMES
        self.static = {name: (templates_dir() / name).read_bytes() for name in STATIC}
        self.run_name = run.name

    def csrf(self, request: Request) -> str | None:
        return self.guard.csrf if self.guard.cookie(request) else None

    def page(self, request: Request, template: str, status: int = 200, **context) -> HTMLResponse:
        context.update(
            run_name=self.run_name,
            reviewer=self.reviewer,
            signed_in=self.guard.signed_in(request),
            csrf=self.csrf(request),
            llm=self.settings is not None,
            filters=FILTERS,
            stages=[(s.name, s.title) for s in KEYWORD_STAGES],
        )
        html = self.env.get_template(template).render(**context)
        return HTMLResponse(html, status_code=status)

    def refused(self, request: Request) -> Response | None:
        """For GET: swap a valid ?token= for the cookie; refuse readers without one off-loopback."""
        guard = self.guard
        in_query = guard.token_in_query(request)
        if in_query is True:
            params = {k: v for k, v in request.query_params.items() if k != "token"}
            target = request.url.path + (f"?{urlencode(params)}" if params else "")
            response = RedirectResponse(target, status_code=303)
            response.set_cookie(
                guard.cookie_name(request), self.token, httponly=True, samesite="strict", path="/"
            )
            return response
        if in_query is False:
            return self.page(request, "error.html.j2", 401, message="That link's token is wrong.")
        if not guard.can_read(request):
            message = "Open the link with the token that `labeler review` printed."
            return self.page(request, "error.html.j2", 401, message=message)
        return None

    def check_reader(self, request: Request) -> None:
        if not self.guard.can_read(request):
            raise BadRequest(401, "this needs the review token: Authorization: Bearer <token>")


def _review(request: Request) -> Review:
    return request.app.state.review


# -------------------------------------------------------------------- pages
def index(request: Request) -> Response:
    review = _review(request)
    if (stop := review.refused(request)) is not None:
        return stop
    filter_ = _filter(request)
    rows = review.run.summaries("all")
    sizes = {int(r["topic"]): int(r["size"]) for r in review.actions.run.topics()}
    return review.page(
        request,
        "index.html.j2",
        rows=rows,
        shown=_select(rows, filter_),
        filter=filter_,
        progress=_progress(rows),
        outliers=outlier_form(sizes.get(-1, 0), sum(sizes.values())),
        page_data={"csrf": review.csrf(request)},
    )


def outlier_form(count: int, documents: int) -> dict:
    """The outliers form's numbers, in percent of the documents: the default target is half the
    run's current share (whole percents from 2% up, tenths below), the largest allowed one just
    under it (a target at or above the current share has nothing to reassign)."""
    share = 100 * count / documents if documents else 0.0
    step = 1 if share >= 2 else 0.1
    below = math.ceil(share / step - 1e-9) - 1  # steps strictly under the current share
    target = math.floor(share / 2 / step + 1e-9)
    fmt = (lambda v: str(int(v))) if step == 1 else (lambda v: f"{v * step:.1f}")
    return {
        "count": count,
        "documents": documents,
        "step": str(step),
        "target": fmt(max(0, min(target, below))),
        "target_max": fmt(max(0, below)),
    }


def topic_page(request: Request) -> Response:
    review = _review(request)
    if (stop := review.refused(request)) is not None:
        return stop
    topic = request.path_params["topic"]
    filter_ = _filter(request)
    try:
        detail = review.run.topic(topic)
    except UnknownTopic:
        return review.page(request, "error.html.j2", 404, message=f"There is no topic {topic}.")
    rows = review.run.summaries("all")
    shown = [r["id"] for r in _select(rows, filter_)]
    prev_id, next_id = _neighbours(shown, topic)
    query = "" if filter_ == "all" else f"?filter={filter_}"
    urls = {
        "list": f"/{query}",
        "prev": f"/topics/{prev_id}{query}" if prev_id is not None else None,
        "next": f"/topics/{next_id}{query}" if next_id is not None else None,
        "self": f"/topics/{topic}{query}",
    }
    page_data = {"topic": topic, "urls": urls, "csrf": review.csrf(request)}
    position = shown.index(topic) + 1 if topic in shown else None
    return review.page(
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
    review = _review(request)
    if (stop := review.refused(request)) is not None:
        return stop
    tree = review.run.tree()
    if tree is None:
        return review.page(request, "error.html.j2", 404, message="This run has no topic tree.")
    nodes = tree["nodes"]
    layers = sorted({n["layer"] for n in nodes if n["layer"] > 0}, reverse=True)
    return review.page(
        request,
        "tree.html.j2",
        layers=[(layer, [n for n in nodes if n["layer"] == layer]) for layer in layers],
        filter="all",
        page_data={"csrf": review.csrf(request)},
    )


def static_file(request: Request) -> Response:
    name = request.url.path.rsplit("/", 1)[-1]
    return Response(_review(request).static[name], media_type=STATIC[name])


def favicon(request: Request) -> Response:
    return Response(status_code=204)


# -------------------------------------------------------------------- the API
def api_topics(request: Request) -> Response:
    review = _review(request)
    review.check_reader(request)
    filter_ = request.query_params.get("filter", "all")
    if filter_ not in FILTERS:
        raise BadRequest(400, f"filter must be one of {', '.join(FILTERS)}")
    rows = review.run.summaries("all")
    return JSONResponse(
        {
            "run": review.run_name,
            "filter": filter_,
            "progress": _progress(rows),
            "topics": _select(rows, filter_),
        }
    )


def api_topic(request: Request) -> Response:
    review = _review(request)
    review.check_reader(request)
    try:
        return JSONResponse(review.run.topic(request.path_params["topic"]))
    except UnknownTopic:
        raise BadRequest(404, f"no topic {request.path_params['topic']} in this run") from None


def api_reviews(request: Request) -> Response:
    review = _review(request)
    review.check_reader(request)
    return JSONResponse({"reviews": review.run.reviews()})


def api_tree(request: Request) -> Response:
    review = _review(request)
    review.check_reader(request)
    tree = review.run.tree()
    if tree is None:
        raise BadRequest(404, "this run has no topic tree")
    return JSONResponse(tree)


async def api_node_review(request: Request) -> Response:
    review = _review(request)
    decision = parse_node_decision(await read_body(request))
    node = await run_in_threadpool(
        review.actions.review_node, request.path_params["node"], decision
    )
    return JSONResponse({"node": node})


def _background(request: Request) -> bool:
    """`?async=1`: a change or a relabel answers 202 with its job at once (the pages poll it);
    without, the request waits for it and answers as a decision does (scripts)."""
    return request.query_params.get("async", "") in ("1", "true", "yes")


def _job_answer(job) -> JSONResponse:
    return JSONResponse({"job": job.as_dict()}, status_code=202)


async def api_review(request: Request) -> Response:
    review = _review(request)
    decision = parse_decision(await read_body(request))
    topic = request.path_params["topic"]
    if runs_as_job(decision) and _background(request):  # a merge, split or relabel
        job = await run_in_threadpool(review.actions.start_decision, topic, decision)
        return _job_answer(job)
    row = await run_in_threadpool(review.actions.apply, topic, decision)
    # The topic as it is now, without flags (GET /api/topics/{id} has them): recomputing flags
    # can wait for the embedding model, and a decision should answer at once.
    summary = next((r for r in review.run.summaries("all", False) if r["id"] == topic), None)
    if summary is not None:
        summary.pop("flags", None)
    return JSONResponse({"review": row, "topic": summary, "undo": row.get("undo")})


async def api_split_preview(request: Request) -> Response:
    """Start working out the ways a topic splits (a job: poll GET /api/jobs/{id})."""
    review = _review(request)
    await read_body(request, default={})  # the writer's credentials: a preview costs CPU
    job = await run_in_threadpool(review.actions.split_preview, request.path_params["topic"])
    return _job_answer(job)


async def api_merge_preview(request: Request) -> Response:
    review = _review(request)
    review.check_reader(request)
    other = request.query_params.get("other", "")
    if not other.lstrip("-").isdigit():
        raise BadRequest(400, "send ?other=<the id of the topic to merge into this one>")
    preview = await run_in_threadpool(
        review.actions.merge_preview, request.path_params["topic"], int(other)
    )
    return JSONResponse(preview)


def api_jobs(request: Request) -> Response:
    """The job running now (null when none): a page that loads while one runs shows it."""
    review = _review(request)
    review.check_reader(request)
    job = review.actions.active()
    return JSONResponse({"job": job.as_dict() if job else None})


def api_job(request: Request) -> Response:
    review = _review(request)
    review.check_reader(request)
    return JSONResponse({"job": review.actions.job(request.path_params["job"]).as_dict()})


async def api_job_cancel(request: Request) -> Response:
    review = _review(request)
    await read_body(request, default={})
    job = review.actions.cancel(request.path_params["job"])
    return JSONResponse({"job": job.as_dict()})


async def api_undo(request: Request) -> Response:
    """Take back a decision (`{"review": id}`), a group's name (`{"name": id}`) or a change of
    the topics (`{"revision": id}`): the `undo` their answers carry."""
    review = _review(request)
    data = await read_body(request, default={})
    if not isinstance(data, dict) or len(data) != 1 or set(data) - {"review", "revision", "name"}:
        raise BadRequest(400, 'send {"review": <id>}, {"name": <id>} or {"revision": <id>}')
    ((key, value),) = data.items()
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadRequest(400, f"'{key}' is the id of a decision or change: a whole number")
    undone = await run_in_threadpool(review.actions.undo, **{key: value})
    return JSONResponse(
        {"undone": undone, "progress": _progress(review.run.summaries("all", False))}
    )


async def api_outliers(request: Request) -> Response:
    """Reassign outliers to their nearest topics (`labeler topics RUN outliers`)."""
    review = _review(request)
    data = await read_body(request, default={})
    if not isinstance(data, dict) or set(data) - {"strategy", "max_share"}:
        raise BadRequest(400, "send an object with 'strategy' and (optionally) 'max_share'")
    strategy = data.get("strategy", "embeddings")
    share = data.get("max_share")
    if not isinstance(strategy, str) or (
        share is not None and (isinstance(share, bool) or not isinstance(share, (int, float)))
    ):
        raise BadRequest(400, "'strategy' is a name and 'max_share' a number")
    if share is not None and not 0 <= share < 1:
        raise BadRequest(400, "'max_share' is a share of the corpus: from 0 up to (not incl.) 1")
    if strategy == "probabilities":
        raise BadRequest(400, "this run has no HDBSCAN soft-membership probabilities (it keeps "
                         "only each document's strength in its own topic): reassign by "
                         "embeddings or c-TF-IDF")  # fmt: skip
    if strategy not in OUTLIER_STRATEGIES:
        choices = " or ".join(OUTLIER_STRATEGIES)
        raise BadRequest(400, f"'strategy' {strategy[:40]!r} is not one: choose {choices}")
    count, total = _outlier_counts(review)
    if count == 0:
        raise BadRequest(400, "the run has no outliers to reassign")
    if share is not None and count - math.floor(share * total + 1e-9) <= 0:
        raise BadRequest(
            400, f"at most {share:.0%} outliers: the run already has {count / total:.1%} "
            f"({count} of {total} documents); choose a smaller share",
        )  # fmt: skip
    if _background(request):
        job = await run_in_threadpool(review.actions.start_outliers, strategy, share)
        return _job_answer(job)
    revision = await run_in_threadpool(review.actions.reduce_outliers, strategy, share)
    return JSONResponse({"revision": revision, "progress": _progress(review.run.summaries("all"))})


def _outlier_counts(review: Review) -> tuple[int, int]:
    sizes = {int(r["topic"]): int(r["size"]) for r in review.actions.run.topics()}
    return sizes.get(-1, 0), sum(sizes.values())


ROUTES = [
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
    Route("/api/topics/{topic:int}/split-preview", api_split_preview, methods=["POST"]),
    Route("/api/topics/{topic:int}/merge-preview", api_merge_preview),
    Route("/api/jobs", api_jobs),
    Route("/api/jobs/{job:int}", api_job),
    Route("/api/jobs/{job:int}/cancel", api_job_cancel, methods=["POST"]),
    Route("/api/undo", api_undo, methods=["POST"]),
    Route("/api/nodes/{node:int}/review", api_node_review, methods=["POST"]),
]


# -------------------------------------------------------------------- refusals, in one place
def _refusal(request: Request, status: int, message: str) -> Response:
    if request.url.path.startswith("/api/"):
        return _error(status, message)
    return _review(request).page(request, "error.html.j2", status, message=message)


async def _bad_request(request: Request, exc: BadRequest) -> Response:
    return _refusal(request, exc.status, exc.message)


async def _review_error(request: Request, exc: ReviewError) -> Response:
    return _refusal(request, exc.status, exc.message)


async def _run_damaged(request: Request, exc: LabelerError) -> Response:
    """A run file that fails its contract (a damaged hierarchy.json, a topics.json that does not
    match the documents): the request cannot be served as the run stands, which is a conflict
    with the run's state, not a server fault; the message names the file and the remedy."""
    return _refusal(request, 409, str(exc))


async def _http_error(request: Request, exc: HTTPException) -> Response:
    """Starlette's own refusals (no such route, a method the route does not take): JSON on the
    API like every other answer there."""
    if request.url.path.startswith("/api/"):
        return JSONResponse({"error": exc.detail}, status_code=exc.status_code, headers=exc.headers)
    return PlainTextResponse(exc.detail, status_code=exc.status_code, headers=exc.headers)


EXCEPTION_HANDLERS = {
    HTTPException: _http_error,
    BadRequest: _bad_request,
    ReviewError: _review_error,
    LabelerError: _run_damaged,
}


def create_app(
    run: RunLike,
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
    review = Review(
        run, token, reviewer=reviewer, loopback=loopback, settings=settings, chat=chat,
        embed=embed, renderer=renderer,
    )  # fmt: skip

    @contextlib.asynccontextmanager
    async def lifespan(app):
        # Load the embedding model and compute the flags before the first page asks for them.
        threading.Thread(
            target=_warm, args=(review.run,), name="review-warm-up", daemon=True
        ).start()
        yield
        await run_in_threadpool(review.renderer.close)

    app = Starlette(
        routes=ROUTES,
        middleware=[Middleware(SecurityMiddleware, loopback=loopback)],
        exception_handlers=EXCEPTION_HANDLERS,
        lifespan=lifespan,
    )
    app.state.review = review
    app.state.renderer = review.renderer
    app.state.reviewer = review.actions
    return app


def _warm(run: ReviewRun) -> None:
    try:
        run.summaries("all")
    except Exception as exc:  # noqa: BLE001 - the first request will report it properly
        log.debug("warm-up failed: %s", exc)
