"""The search as a FastAPI app speaking production's contract (``/work/shared/seed-system.md``).

``create_app(settings)`` gives an ASGI app with ``POST /underfoot/search``, ``GET /health``,
``GET /metrics`` and OpenAPI docs at ``/docs``. Status codes of errors (body: production's
``{"error", "message", "request_id", "timestamp", "context"}``):

* 422 ``VALIDATION_ERROR``: the body is not JSON, a field is missing or unknown, ``chat_input``
  is not 2..500 characters after cleaning, or it contains dangerous markup. 422 is FastAPI's
  (and so, by default, production's) status for a body that fails validation;
* 400 ``UNDERFOOT_ERROR``: the pipeline refused the query (:class:`~underfoot_lab.errors.BadQuery`
  or :class:`~underfoot_lab.errors.LocationNotFound`, ``context.kind`` names which, with any
  place suggestions); another :class:`~underfoot_lab.errors.UnderfootError` (a server
  configuration problem) is a 500 with the same code;
* 429 ``RATE_LIMITED`` (with ``Retry-After``), 404 ``NOT_FOUND``, 405 ``HTTP_ERROR``;
* 500 ``INTERNAL_ERROR``: anything else; the body never carries a traceback.

The pipeline is built by :func:`build_pipeline` (the one place; it will call the harness) and
searched on its own event loop, awaited here without holding a thread, so concurrent requests
run concurrently.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.cors import CORSMiddleware

from .. import __version__, logs
from ..errors import BadQuery, LocationNotFound, UnderfootError
from ..records import CacheInfo
from ..settings import Settings
from .health import HealthState, health_report
from .metrics import CONTENT_TYPE, ServiceMetrics
from .middleware import ServiceMiddleware
from .models import (
    ErrorBody,
    Health,
    SearchRequest,
    SearchResponse,
    cache_state,
    error_body,
    to_response,
)
from .ratelimit import TokenBucketLimiter

if TYPE_CHECKING:  # pragma: no cover
    from ..harness import Harness
    from ..pipeline.run import Pipeline
    from ..records import SearchResult

SEARCH_PATH = "/underfoot/search"
ENDPOINTS = (SEARCH_PATH, "/health", "/metrics", "/docs", "/openapi.json", "/redoc")

PipelineFactory = Callable[[Settings], "Harness"]


def build_pipeline(settings: Settings) -> Harness:
    """The one place the service builds its pipeline: through the composition root."""
    from ..harness import build_harness

    return build_harness(settings)


def warm_up(harness: Harness) -> None:
    """Build what a first search would (the offline world, the providers and the HTTP client)
    before the server accepts requests, so the first user does not pay seconds for it."""
    if harness.simulated:
        harness.world  # noqa: B018 -- the property builds the world
    harness.pipeline.warm()


async def run_search(pipeline: Pipeline, text: str, *, use_cache: bool | None) -> SearchResult:
    """Run one search on the pipeline's own loop and await it from this one.

    The pipeline owns a background event loop (its HTTP client and providers live there); the
    coroutine is scheduled onto it and awaited through a wrapped future, so no server thread
    blocks and concurrent requests overlap on the pipeline's loop.
    """
    return await asyncio.wrap_future(pipeline.submit(pipeline.asearch(text, use_cache=use_cache)))


async def _store_forced(pipeline: Pipeline, result: SearchResult) -> None:
    """A forced search refreshes the cache, as production's ``force`` does (read bypassed,
    write kept)."""
    fresh = replace(result, cache=CacheInfo(status="miss", key=result.cache.key))
    coro = asyncio.to_thread(pipeline.cache.put, result.cache.key, result.query, fresh)
    await asyncio.wrap_future(pipeline.submit(coro))


def _responses() -> dict[int | str, dict[str, Any]]:
    return {code: {"model": ErrorBody} for code in (400, 422, 429, 500)}


def create_app(
    settings: Settings | None = None,
    *,
    pipeline_factory: PipelineFactory = build_pipeline,
) -> FastAPI:
    """The service app. The pipeline is built at startup and closed at shutdown."""
    settings = settings or Settings()
    logs.add_secrets(settings.secret_values())
    log = logs.get_logger("service")
    metrics = ServiceMetrics()
    health_state = HealthState(window_s=settings.service_degraded_window_s)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        harness = pipeline_factory(settings)
        app.state.pipeline = harness.pipeline
        await asyncio.to_thread(warm_up, harness)
        try:
            yield
        finally:
            await asyncio.to_thread(harness.close)

    app = FastAPI(
        title="Underfoot search (underfoot_lab)",
        version=__version__,
        description="Production's contract for the hidden-gems search, served from the "
        "workbench's pipeline. Offline mode answers from a simulated world (debug.simulated).",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.metrics = metrics
    app.state.health = health_state

    def rid(request: Request) -> str:
        value: str = request.scope.get("state", {}).get("request_id", "")
        return value

    def error(request: Request, status: int, code: str, message: str, **context: Any) -> Response:
        metrics.observe_error(code)
        log.info("request.error", code=code, status=status, message=message)
        return JSONResponse(error_body(code, message, rid(request), context), status_code=status)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        problems = [
            {
                "loc": [str(p) for p in e.get("loc", ())],
                "msg": str(e.get("msg", "")),
                "type": str(e.get("type", "")),
            }
            for e in exc.errors()
        ]
        first = problems[0] if problems else {"loc": [], "msg": "invalid request"}
        where = ".".join(p for p in first["loc"] if p != "body") or "body"
        message = f"{where}: {str(first['msg']).removeprefix('Value error, ')}"
        return error(request, 422, "VALIDATION_ERROR", message, errors=problems)

    @app.exception_handler(UnderfootError)
    async def _underfoot(request: Request, exc: UnderfootError) -> Response:
        user_error = isinstance(exc, BadQuery | LocationNotFound)
        context: dict[str, Any] = {"kind": type(exc).__name__}
        if isinstance(exc, LocationNotFound) and exc.suggestions:
            context["suggestions"] = list(exc.suggestions)
        message = logs.redact_value(str(exc))
        return error(request, 400 if user_error else 500, "UNDERFOOT_ERROR", message, **context)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        code = "NOT_FOUND" if exc.status_code == 404 else "HTTP_ERROR"
        return error(request, exc.status_code, code, str(exc.detail))

    @app.post(
        SEARCH_PATH,
        response_model=SearchResponse,
        responses=_responses(),
        summary="Search hidden gems near a place",
    )
    async def search(body: SearchRequest, request: Request) -> SearchResponse:
        start = time.perf_counter()
        request_id = rid(request)
        pipeline: Pipeline = request.app.state.pipeline
        log.info("search.start", chat_input=body.chat_input, force=body.force)
        result = await run_search(
            pipeline, body.chat_input, use_cache=False if body.force else None
        )
        if body.force and pipeline.use_cache:
            await _store_forced(pipeline, result)
        elapsed_ms = (time.perf_counter() - start) * 1000.0
        metrics.observe_search(result)
        health_state.observe(result)
        logs.log_search(result, elapsed_ms=elapsed_ms, request_id=request_id, logger=log)
        return to_response(
            result,
            request_id=request_id,
            execution_time_ms=elapsed_ms,
            cache=cache_state(result, force=body.force, caching=pipeline.use_cache),
        )

    @app.get(
        "/health",
        response_model=Health,
        response_model_exclude_none=True,
        summary="Service and dependency status",
    )
    async def health(request: Request) -> Health:
        pipeline: Pipeline = request.app.state.pipeline
        return await health_report(pipeline, settings, health_state, version=__version__)

    @app.get("/metrics", summary="Prometheus metrics", response_class=Response)
    async def prometheus() -> Response:
        return Response(metrics.render(), media_type=CONTENT_TYPE)

    # Added last = outermost: the service middleware sees every request, CORS answers inside it.
    app.add_middleware(
        CORSMiddleware,
        allow_origins=list(settings.service_cors_origins),
        allow_methods=["GET", "POST"],
        allow_headers=["content-type", "x-request-id"],
        expose_headers=["x-request-id", "retry-after"],
        max_age=600,
    )
    app.add_middleware(
        ServiceMiddleware,
        limiter=TokenBucketLimiter(
            settings.service_rate_limit_per_s, settings.service_rate_limit_burst
        ),
        metrics=metrics,
        endpoints=ENDPOINTS,
    )
    return app
