"""The service's outermost middleware (plain ASGI, so it adds no per-request task or copy):

* a request id on every request and response (``X-Request-ID``; a sane incoming one is kept);
* security headers on every response (CSP, HSTS, X-Frame-Options, X-Content-Type-Options);
* inbound rate limiting per client IP, answering 429 with ``Retry-After`` and the error body;
* request metrics and the ``request.complete`` log event;
* a last guard: an exception that escaped the app becomes production's ``INTERNAL_ERROR`` body
  (never a traceback), still with the request id and the headers.

The client IP is the socket peer: ``X-Forwarded-For`` is not trusted, because anyone can send
it; behind a proxy, run uvicorn with ``--proxy-headers`` from trusted addresses instead.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Collection
from typing import TYPE_CHECKING, Any

from .. import logs
from .models import error_body

if TYPE_CHECKING:  # pragma: no cover
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

    from .metrics import ServiceMetrics
    from .ratelimit import TokenBucketLimiter

REQUEST_ID_HEADER = "x-request-id"
_SANE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$")

# The API serves JSON only: nothing may load, frame or run. The docs page needs the Swagger UI
# assets (scripts and styles from its CDN, inline bootstrapping), so it gets its own policy.
API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "img-src 'self' data: https://fastapi.tiangolo.com; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "strict-transport-security": "max-age=31536000; includeSubDomains",
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
}
DOCS_PATHS = ("/docs", "/redoc")


def request_id_from(raw: str | None) -> str:
    """The incoming id when it is sane (1..128 of ``A-Za-z0-9._:-``), else a fresh one."""
    if raw and _SANE_ID.match(raw):
        return raw
    return uuid.uuid4().hex


class ServiceMiddleware:
    """Request ids, security headers, rate limit, metrics, ``request.complete``, last guard."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        limiter: TokenBucketLimiter,
        metrics: ServiceMetrics,
        endpoints: Collection[str],
        unlimited: Collection[str] = ("/health", "/metrics"),
    ) -> None:
        self.app = app
        self.limiter = limiter
        self.metrics = metrics
        self.endpoints = frozenset(endpoints)
        self.unlimited = frozenset(unlimited)
        self.log = logs.get_logger("service")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        raw_id = None
        for name, value in scope.get("headers", ()):
            if name == b"x-request-id":
                raw_id = value.decode("latin-1")
                break
        rid = request_id_from(raw_id)
        scope.setdefault("state", {})["request_id"] = rid
        path: str = scope.get("path", "")
        endpoint = path if path in self.endpoints else "other"
        csp = DOCS_CSP if path.startswith(DOCS_PATHS) else API_CSP
        state: dict[str, Any] = {"status": 500, "started": False}

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                state["status"] = message["status"]
                state["started"] = True
                headers = list(message.get("headers", ()))
                present = {k.lower() for k, _ in headers}
                extra = {"x-request-id": rid, "content-security-policy": csp, **SECURITY_HEADERS}
                for key, value in extra.items():
                    if key.encode() not in present:
                        headers.append((key.encode(), value.encode("latin-1")))
                message = {**message, "headers": headers}
            await send(message)

        with logs.bound(request_id=rid):
            try:
                if path in self.unlimited or scope.get("method") == "OPTIONS":
                    await self.app(scope, receive, send_with_headers)
                else:
                    client = scope.get("client")
                    decision = self.limiter.take(client[0] if client else "unknown")
                    if decision.allowed:
                        await self.app(scope, receive, send_with_headers)
                    else:
                        self.metrics.observe_error("RATE_LIMITED")
                        await _send_json(
                            send_with_headers,
                            429,
                            error_body(
                                "RATE_LIMITED",
                                "too many requests from this client; retry after "
                                f"{decision.retry_after_header} s",
                                rid,
                                {"retry_after_s": round(decision.retry_after_s, 3)},
                            ),
                            (("retry-after", decision.retry_after_header),),
                        )
            except Exception as exc:
                # Whatever escaped the app: one line in the log (redacted), production's body
                # on the wire; never a traceback.
                self.log.error("request.failed", error_class=type(exc).__name__, error=str(exc))
                self.metrics.observe_error("INTERNAL_ERROR")
                if not state["started"]:
                    await _send_json(
                        send_with_headers,
                        500,
                        error_body("INTERNAL_ERROR", "internal error", rid),
                        (),
                    )
            finally:
                elapsed = time.perf_counter() - start
                self.metrics.observe_request(
                    endpoint, scope.get("method", ""), state["status"], elapsed
                )
                self.log.info(
                    "request.complete",
                    method=scope.get("method"),
                    path=endpoint,
                    status=state["status"],
                    elapsed_ms=round(elapsed * 1000.0, 3),
                )


async def _send_json(
    send: Send, status: int, body: dict[str, Any], headers: tuple[tuple[str, str], ...]
) -> None:
    payload = json.dumps(body).encode()
    raw = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(payload)).encode()),
        *((k.encode(), v.encode("latin-1")) for k, v in headers),
    ]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": payload})
