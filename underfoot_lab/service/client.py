"""A client for any service speaking production's contract (ours, production's own, a
teammate's branch): posts a query, validates the answer with the contract's own models and
returns a typed :class:`ServiceAnswer`; failures become the workbench's error classes.

Error mapping (the body's ``error`` code first, the status second):

* ``VALIDATION_ERROR`` -> :class:`~underfoot_lab.errors.BadQuery`;
* ``UNDERFOOT_ERROR`` with a 4xx -> :class:`~underfoot_lab.errors.LocationNotFound` when the
  server says so (``context.kind``, or a message about the place), else ``BadQuery``;
* 429 -> :class:`~underfoot_lab.errors.UpstreamError` ``rate_limited``; 401/403 -> ``auth``;
  any other status -> ``http_error``; a 200 that breaks the contract -> ``bad_payload``;
  a timeout -> ``timeout``; a connection failure -> ``error``.

Only httpx and pydantic are needed (no FastAPI), so ``evaluate --target`` works without the
``service`` extra.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import httpx
from pydantic import ValidationError

from ..errors import BadQuery, LocationNotFound, UpstreamError
from .models import ErrorBody, SearchResponse

SEARCH_PATH = "/underfoot/search"


@dataclass(frozen=True, slots=True)
class Exchange:
    """One raw request/answer: the status, the parsed JSON body (None when not JSON), the
    client-side latency and the response's request id."""

    status: int
    body: Any
    elapsed_ms: float
    request_id: str | None


@dataclass(frozen=True, slots=True)
class ServiceAnswer:
    """A validated 200 answer of ``POST /underfoot/search``."""

    target: str
    query: str
    response: SearchResponse
    elapsed_ms: float
    """Measured by the client, network included (the server's own: ``debug.execution_time_ms``)."""
    request_id: str

    @property
    def cache(self) -> str | None:
        """The server's ``debug.cache``: "hit", "miss" or None."""
        return self.response.debug.cache


def error_of(exchange: Exchange) -> Exception | None:
    """The workbench error an exchange amounts to, or None for a valid 200 answer."""
    if exchange.status == 200:
        try:
            SearchResponse.model_validate(exchange.body)
        except ValidationError as exc:
            return UpstreamError("bad_payload", f"answer breaks the contract: {_first(exc)}")
        return None
    err: ErrorBody | None = None
    try:
        err = ErrorBody.model_validate(exchange.body)
    except ValidationError:
        err = None
    message = err.message if err else f"HTTP {exchange.status}"
    code = err.error if err else None
    if exchange.status == 429:
        return UpstreamError("rate_limited", message)
    if exchange.status in (401, 403):
        return UpstreamError("auth", message)
    if 400 <= exchange.status < 500 and code == "VALIDATION_ERROR":
        return BadQuery(message)
    if 400 <= exchange.status < 500 and code == "UNDERFOOT_ERROR":
        kind = str(err.context.get("kind", "")) if err else ""
        if kind == "LocationNotFound" or (not kind and "place" in message.lower()):
            suggestions = err.context.get("suggestions", ()) if err else ()
            # The server's message already carries its suggestions; keep them as data only.
            found = LocationNotFound(message)
            found.suggestions = tuple(str(s) for s in suggestions or ())
            return found
        return BadQuery(message)
    return UpstreamError("http_error", f"HTTP {exchange.status} {code or ''}: {message}".strip())


def error_type(exchange: Exchange) -> str | None:
    """A short label for error-rate-by-type tables: the body's code, else ``HTTP_<status>``,
    ``BAD_PAYLOAD`` for a 200 that breaks the contract; None when the answer is valid."""
    if error_of(exchange) is None:
        return None
    if exchange.status == 200:
        return "BAD_PAYLOAD"
    code = exchange.body.get("error") if isinstance(exchange.body, dict) else None
    return str(code) if isinstance(code, str) and code else f"HTTP_{exchange.status}"


def _first(exc: ValidationError) -> str:
    e = exc.errors()[0]
    return f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}"


def _payload(text: str, force: bool) -> dict[str, Any]:
    return {"chat_input": text, "force": force}


def _parse(resp: httpx.Response, elapsed_ms: float) -> Exchange:
    try:
        body: Any = resp.json()
    except ValueError:
        body = None
    return Exchange(resp.status_code, body, elapsed_ms, resp.headers.get("x-request-id"))


def _transport_error(exc: httpx.HTTPError, target: str) -> UpstreamError:
    if isinstance(exc, httpx.TimeoutException):
        return UpstreamError("timeout", f"{target} did not answer in time")
    return UpstreamError("error", f"{target} unreachable: {type(exc).__name__}")


class ServiceClient:
    """Talks production's contract to ``base_url`` (sync and async; reuse one instance).

    ``transport`` replaces the HTTP transport (tests may pass one; the service tests use a real
    loopback server instead).
    """

    def __init__(
        self,
        base_url: str,
        *,
        timeout_s: float = 30.0,
        max_connections: int = 16,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout_s = timeout_s
        self._limits = httpx.Limits(
            max_connections=max_connections, max_keepalive_connections=max_connections
        )
        self._transport = transport
        self._aclient: httpx.AsyncClient | None = None

    # ------------------------------------------------------------------------------ async
    def _async_client(self) -> httpx.AsyncClient:
        if self._aclient is None:
            self._aclient = httpx.AsyncClient(
                base_url=self.base_url,
                timeout=self.timeout_s,
                limits=self._limits,
                transport=self._transport,
            )
        return self._aclient

    async def apost(
        self, text: str, *, force: bool = False, request_id: str | None = None
    ) -> Exchange:
        """Post one query and return the raw exchange (transport errors raise
        :class:`~underfoot_lab.errors.UpstreamError`)."""
        headers = {"x-request-id": request_id} if request_id else None
        start = time.perf_counter()
        try:
            resp = await self._async_client().post(
                SEARCH_PATH, json=_payload(text, force), headers=headers
            )
        except httpx.HTTPError as exc:
            raise _transport_error(exc, self.base_url) from None
        return _parse(resp, (time.perf_counter() - start) * 1000.0)

    async def asearch(
        self, text: str, *, force: bool = False, request_id: str | None = None
    ) -> ServiceAnswer:
        """Post one query; a valid answer or the mapped workbench error."""
        return self._answer(text, await self.apost(text, force=force, request_id=request_id))

    async def aclose(self) -> None:
        if self._aclient is not None:
            await self._aclient.aclose()
            self._aclient = None

    async def __aenter__(self) -> ServiceClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # ------------------------------------------------------------------------------ sync
    def post(self, text: str, *, force: bool = False, request_id: str | None = None) -> Exchange:
        """Synchronous :meth:`apost` (a short-lived connection; for scripts and notebooks)."""
        headers = {"x-request-id": request_id} if request_id else None
        start = time.perf_counter()
        try:
            with httpx.Client(base_url=self.base_url, timeout=self.timeout_s) as http:
                resp = http.post(SEARCH_PATH, json=_payload(text, force), headers=headers)
        except httpx.HTTPError as exc:
            raise _transport_error(exc, self.base_url) from None
        return _parse(resp, (time.perf_counter() - start) * 1000.0)

    def search(
        self, text: str, *, force: bool = False, request_id: str | None = None
    ) -> ServiceAnswer:
        """Synchronous :meth:`asearch`."""
        return self._answer(text, self.post(text, force=force, request_id=request_id))

    def _answer(self, text: str, exchange: Exchange) -> ServiceAnswer:
        problem = error_of(exchange)
        if problem is not None:
            raise problem
        response = SearchResponse.model_validate(exchange.body)
        return ServiceAnswer(
            target=self.base_url,
            query=text,
            response=response,
            elapsed_ms=exchange.elapsed_ms,
            request_id=exchange.request_id or response.debug.request_id,
        )
