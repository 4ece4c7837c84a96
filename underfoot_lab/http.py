"""The one shared HTTP client and a careful GET helper for every upstream.

:func:`make_client` builds the process-wide :class:`httpx.AsyncClient` that providers receive as
``ctx.http`` (providers never build their own). :func:`fetch_json` and :func:`fetch_xml` wrap one
GET with everything an upstream call needs:

* a per-upstream rate limit (:mod:`aiolimiter`; :data:`DEFAULT_RATE_LIMITS`, see
  :func:`set_rate_limit`), applied unless ``settings.mode`` is ``offline`` (every request then
  goes to the in-process offline world) or the caller says otherwise (``rate_limit=``),
* retries with exponential backoff on 429, 5xx and connection failures, honouring
  ``Retry-After`` (seconds or an HTTP date) up to :attr:`RetryPolicy.max_wait_s` (the loop
  tenacity's ``AsyncRetrying`` ran here before, written out: importing tenacity, and the
  tornado it loads when installed, was ~20 ms of every search process's start-up),
* a streamed body capped at ``settings.max_response_bytes``, a content-type check and a parse,
* errors classified into :class:`~underfoot_lab.errors.UpstreamError` (``auth``,
  ``rate_limited``, ``timeout``, ``http_error``, ``bad_payload``) whose messages are one line and
  never contain a secret: key-like query parameters are masked and every configured secret is
  redacted (:func:`underfoot_lab.redaction.scrub`).
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import random
import weakref
import xml.parsers.expat
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal, TypedDict, Unpack

import httpx

from .errors import UpstreamError
from .redaction import scrub
from .settings import Settings

if TYPE_CHECKING:  # pragma: no cover
    from aiolimiter import AsyncLimiter

__all__ = [
    "DEFAULT_RATE_LIMITS",
    "FetchOptions",
    "RetryPolicy",
    "fetch_json",
    "fetch_xml",
    "limiter_for",
    "make_client",
    "reset_rate_limits",
    "set_rate_limit",
]

Expect = Literal["json", "xml"]

JSON_TYPES = ("application/json", "text/json")
XML_TYPES = ("application/atom+xml", "application/rss+xml", "application/xml", "text/xml")

# ------------------------------------------------------------------------------ client


def make_client(
    settings: Settings, transport: httpx.AsyncBaseTransport | None = None
) -> httpx.AsyncClient:
    """The shared async client: settings' timeout and User-Agent, bounded pool, no redirects.

    Redirects are not followed on purpose: an upstream that redirects is answering something
    other than the documented endpoint, and following it could carry the API key elsewhere.
    """
    timeout = httpx.Timeout(settings.http_timeout_s, connect=min(settings.http_timeout_s, 5.0))
    return httpx.AsyncClient(
        timeout=timeout,
        limits=httpx.Limits(max_connections=32, max_keepalive_connections=16),
        headers={"User-Agent": settings.user_agent},
        follow_redirects=False,
        transport=transport,
    )


# ------------------------------------------------------------------------------ rate limits

DEFAULT_RATE_LIMITS: dict[str, tuple[float, float]] = {
    # (max_rate, time_period_s): a leaky bucket allowing bursts of max_rate.
    "serpapi": (5.0, 1.0),
    # Reddit asks unauthenticated clients to go slowly: one request a second on average, with a
    # burst of three so the site-wide and two subreddit feeds of one search leave together.
    "reddit": (3.0, 3.0),
    "geoapify": (5.0, 1.0),  # the free plan's documented 5 requests/s
}
FALLBACK_RATE_LIMIT = (5.0, 1.0)

_rate_limits: dict[str, tuple[float, float]] = dict(DEFAULT_RATE_LIMITS)
# An AsyncLimiter belongs to one event loop, so limiters are kept per running loop.
_limiters: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, AsyncLimiter]] = (
    weakref.WeakKeyDictionary()
)


def set_rate_limit(upstream: str, max_rate: float, time_period_s: float = 1.0) -> None:
    """Override one upstream's rate limit (takes effect for new requests)."""
    if max_rate <= 0 or time_period_s <= 0:
        raise ValueError("rate limits must be positive")
    _rate_limits[upstream] = (float(max_rate), float(time_period_s))
    for per_loop in _limiters.values():
        per_loop.pop(upstream, None)


def reset_rate_limits() -> None:
    """Back to :data:`DEFAULT_RATE_LIMITS`."""
    _rate_limits.clear()
    _rate_limits.update(DEFAULT_RATE_LIMITS)
    _limiters.clear()


def limiter_for(upstream: str) -> AsyncLimiter:
    """The running loop's limiter for ``upstream`` (created on first use)."""
    per_loop = _limiters.setdefault(asyncio.get_running_loop(), {})
    limiter = per_loop.get(upstream)
    if limiter is None:
        # Imported here: aiolimiter loads importlib.metadata (~10 ms), and an offline search
        # never throttles (its requests go to the in-process world).
        from aiolimiter import AsyncLimiter

        max_rate, period = _rate_limits.get(upstream, FALLBACK_RATE_LIMIT)
        limiter = per_loop[upstream] = AsyncLimiter(max_rate, period)
    return limiter


# ------------------------------------------------------------------------------ retries

Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently to retry (429, 5xx, connection failures).

    ``sleep`` is injectable so tests can record the waits instead of sleeping.
    """

    attempts: int = 3
    """Total attempts, the first included."""
    base_delay_s: float = 0.5
    """Backoff without ``Retry-After``: base * 2**(n-1) plus up to ``base`` of jitter."""
    max_wait_s: float = 10.0
    """Longest single wait. A ``Retry-After`` above it is not waited for: the call fails."""
    sleep: Sleep = field(default=asyncio.sleep)


DEFAULT_RETRY = RetryPolicy()


class _Retryable(UpstreamError):
    """An UpstreamError worth another attempt (maybe after the server's ``Retry-After``)."""

    def __init__(self, error_class: str, message: str, retry_after: float | None = None) -> None:
        super().__init__(error_class, message)
        self.retry_after = retry_after


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """``Retry-After`` as seconds from now: delta-seconds or an HTTP date; None if unusable."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    now = now or datetime.now(UTC)
    return max(0.0, (when - now).total_seconds())


def _wait(policy: RetryPolicy, exc: _Retryable, attempt_number: int) -> float:
    """Seconds to wait after failed attempt number ``attempt_number`` (1 = the first)."""
    if exc.retry_after is not None:
        return min(exc.retry_after, policy.max_wait_s)
    backoff = policy.base_delay_s * float(2 ** (attempt_number - 1))
    jitter = random.uniform(0, policy.base_delay_s)  # nosec B311 -- retry jitter, not crypto
    return min(policy.max_wait_s, backoff + jitter)


# ------------------------------------------------------------------------------ fetching


class FetchOptions(TypedDict, total=False):
    """The optional parts of a GET with :func:`fetch_json` or :func:`fetch_xml`."""

    params: Mapping[str, str] | None
    """The query parameters."""
    headers: Mapping[str, str] | None
    """Request headers besides the client's."""
    retry: RetryPolicy | None
    """None: :data:`DEFAULT_RETRY`."""
    rate_limit: bool | None
    """Force the upstream's rate limit on or off (None: on unless ``settings.mode`` is
    ``offline``)."""


async def fetch_json(
    client: httpx.AsyncClient,
    url: str,
    *,
    upstream: str,
    settings: Settings,
    **options: Unpack[FetchOptions],
) -> dict[str, Any]:
    """GET ``url`` and return its JSON object (see the module docstring for the guarantees).

    ``retry`` defaults to :data:`DEFAULT_RETRY`; ``rate_limit`` (None: by ``settings.mode``)
    forces the upstream's rate limit on or off. Raises :class:`UpstreamError`; ``bad_payload``
    when the body is not a JSON object.
    """
    body = await _fetch(client, url, "json", upstream, settings, options)
    try:
        data = json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise UpstreamError(
            "bad_payload", f"{upstream}: malformed JSON ({_short(str(exc), settings)})"
        ) from None
    if not isinstance(data, dict):
        raise UpstreamError("bad_payload", f"{upstream}: expected a JSON object")
    return data


async def fetch_xml(
    client: httpx.AsyncClient,
    url: str,
    *,
    upstream: str,
    settings: Settings,
    **options: Unpack[FetchOptions],
) -> bytes:
    """GET ``url`` and return its body, checked to be well-formed XML without a DTD."""
    body = await _fetch(client, url, "xml", upstream, settings, options)
    _check_xml(body, upstream)
    return body


def _check_xml(body: bytes, upstream: str) -> None:
    parser = xml.parsers.expat.ParserCreate()

    def no_dtd(*_args: object) -> None:
        # Feeds have no business declaring entities; refusing DTDs rules out entity expansion.
        raise ValueError("DTDs are not accepted")

    parser.StartDoctypeDeclHandler = no_dtd
    try:
        parser.Parse(body, True)
    except (xml.parsers.expat.ExpatError, ValueError) as exc:
        raise UpstreamError("bad_payload", f"{upstream}: malformed XML ({exc})") from None


async def _fetch(
    client: httpx.AsyncClient,
    url: str,
    expect: Expect,
    upstream: str,
    settings: Settings,
    options: FetchOptions,
) -> bytes:
    params, headers = options.get("params"), options.get("headers")
    retry = options.get("retry") or DEFAULT_RETRY
    rate_limit = options.get("rate_limit")
    secrets = settings.secret_values()
    # The offline world answers in-process; throttling it would only slow evaluations.
    throttle = settings.mode != "offline" if rate_limit is None else rate_limit

    async def attempt() -> bytes:
        try:
            request = client.build_request("GET", url, params=params, headers=headers)
        except (httpx.InvalidURL, httpx.UnsupportedProtocol, ValueError, TypeError) as exc:
            raise UpstreamError(
                "http_error", f"{upstream}: invalid URL ({scrub(str(exc), secrets)})"
            ) from None
        where = scrub(str(request.url), secrets)
        if throttle:
            await limiter_for(upstream).acquire()
        try:
            # httpx's timeout bounds each network operation; this bounds the whole attempt, so a
            # server trickling bytes cannot hold a request open indefinitely.
            async with asyncio.timeout(settings.http_timeout_s):
                response = await client.send(request, stream=True)
                try:
                    return await _handle(
                        response, upstream, settings, expect, where, retry.max_wait_s
                    )
                finally:
                    await response.aclose()
        except UpstreamError:
            raise
        except (httpx.TimeoutException, TimeoutError):
            raise UpstreamError(
                "timeout",
                f"{upstream}: no answer within {settings.http_timeout_s:g}s from {where}",
            ) from None
        except (httpx.ConnectError, httpx.RemoteProtocolError) as exc:
            raise _Retryable(
                "http_error",
                f"{upstream}: connection failed to {where} ({_exc_text(exc, secrets)})",
            ) from None
        except httpx.DecodingError as exc:
            raise UpstreamError(
                "bad_payload",
                f"{upstream}: undecodable body from {where} ({_exc_text(exc, secrets)})",
            ) from None
        except httpx.HTTPError as exc:
            raise UpstreamError(
                "http_error", f"{upstream}: request to {where} failed ({_exc_text(exc, secrets)})"
            ) from None

    # Only a _Retryable failure is tried again, at most ``attempts`` times in all; anything else
    # (and the last _Retryable) propagates as it is.
    attempts = max(1, retry.attempts)
    number = 1
    while True:
        try:
            return await attempt()
        except _Retryable as exc:
            if number >= attempts:
                suffix = f" (gave up after {retry.attempts} attempts)" if retry.attempts > 1 else ""
                raise UpstreamError(exc.error_class, f"{exc}{suffix}") from None
            delay = _wait(retry, exc, number)
        await retry.sleep(delay)
        number += 1


async def _handle(
    response: httpx.Response,
    upstream: str,
    settings: Settings,
    expect: Expect,
    where: str,
    max_wait_s: float,
) -> bytes:
    status = response.status_code
    if status >= 300:
        detail = await _error_detail(response, settings)
        head = f"{upstream}: HTTP {status} from {where}"
        if detail:
            head = f"{head}: {detail}"
        if status in (401, 403):
            raise UpstreamError("auth", head)
        if status == 429:
            wait = parse_retry_after(response.headers.get("Retry-After"))
            if wait is not None and wait > max_wait_s:
                raise UpstreamError(
                    "rate_limited", f"{head} (asks to retry after {wait:g}s; not waiting)"
                )
            raise _Retryable("rate_limited", head, retry_after=wait)
        if status >= 500:
            raise _Retryable("http_error", head)
        if 300 <= status < 400:
            location = scrub(response.headers.get("Location", "?"), settings.secret_values())
            raise UpstreamError("http_error", f"{head} (redirect to {location} not followed)")
        raise UpstreamError("http_error", head)

    mime = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
    allowed = JSON_TYPES if expect == "json" else XML_TYPES
    ok = mime in allowed or (expect == "json" and mime.endswith("+json"))
    # A missing content type is tolerated (the parse still guards us); a wrong one is not.
    if mime and not ok:
        raise UpstreamError(
            "bad_payload", f"{upstream}: expected {expect}, got content type {mime!r} from {where}"
        )
    return await _read_capped(response, settings.max_response_bytes, upstream, where)


async def _read_capped(response: httpx.Response, cap: int, upstream: str, where: str) -> bytes:
    too_big = UpstreamError(
        "bad_payload", f"{upstream}: response from {where} is larger than {cap} bytes"
    )
    declared = response.headers.get("Content-Length")
    if declared is not None and declared.isdigit() and int(declared) > cap:
        raise too_big
    chunks: list[bytes] = []
    size = 0
    # aiter_bytes yields decoded (decompressed) bytes, so the cap also bounds gzip bombs.
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > cap:
            raise too_big
        chunks.append(chunk)
    return b"".join(chunks)


async def _error_detail(response: httpx.Response, settings: Settings) -> str:
    """A short, secret-free reason from an error body (SerpAPI sends ``{"error": ...}``)."""
    try:
        body = await _read_capped(response, 16_384, "", "")
    except (UpstreamError, httpx.HTTPError):
        return ""
    text = body.decode("utf-8", "replace")
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if isinstance(data, dict):
        for key in ("error", "message", "detail"):
            if isinstance(data.get(key), str):
                text = data[key]
                break
    elif "<html" in text[:500].lower():
        return ""  # an HTML error page says nothing a one-liner could use
    return _short(text, settings)


def _short(text: str, settings: Settings, limit: int = 200) -> str:
    text = scrub(text, settings.secret_values())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _exc_text(exc: BaseException, secrets: tuple[str, ...]) -> str:
    return scrub(str(exc) or type(exc).__name__, secrets)
