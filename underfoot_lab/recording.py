"""Record and replay upstream HTTP exchanges, and keep secrets out of recordings and logs.

:class:`RecordingTransport` wraps the pipeline's transport and writes every exchange (method,
URL, request headers and body, status, response headers and body; or the transport error) as one
JSON file, with credentials removed first:

* URLs: the values of ``api_key``, ``apiKey``, ``key``, ``token``, ``access_token`` (any case)
  and any user:password part become ``***``;
* headers: ``Authorization``, ``api-key``, ``x-api-key``, ``Cookie``, ``Set-Cookie`` and
  ``Proxy-Authorization`` become ``***``;
* everywhere (URL, headers, bodies): every configured secret value becomes ``***``.

A file is named ``<METHOD>-<last path segment>-<key>-<seq>.json``, where ``key`` hashes the
method, the scrubbed URL and the scrubbed request body, and ``seq`` counts repeats of the same
request (retries) within the recording session. ``manifest.json`` keeps the session's clock, so
a replay computes dates ("3 days ago", event years) against the same "now".

:class:`ReplayTransport` serves a recording: it matches method + scrubbed URL + scrubbed body,
answers the n-th repeat with the n-th recorded exchange (cycling when a request repeats more
often than recorded), re-raises recorded transport errors, and for a request that was never
recorded raises :class:`ReplayMiss` (an :class:`~underfoot_lab.errors.UpstreamError` naming the
URL without secrets). No network is touched during a replay.

:func:`install_log_redaction` makes every log record secret-free at creation (httpx logs each
request URL at INFO, API key included), for every logger and handler.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import logging
import os
import re
import threading
import traceback
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx

from .errors import UpstreamError
from .settings import redact

__all__ = [
    "FORMAT",
    "RecordingTransport",
    "ReplayMiss",
    "ReplayTransport",
    "exchange_key",
    "install_log_redaction",
    "read_manifest",
    "redact_text",
    "scrub_headers",
    "scrub_url",
]

FORMAT = "underfoot-recording/1"
MANIFEST = "manifest.json"
MASK = "***"

SECRET_PARAMS = frozenset({"api_key", "apikey", "key", "token", "access_token"})
"""URL query parameters whose values are credentials (compared lower-cased)."""
SECRET_HEADERS = frozenset(
    {"authorization", "proxy-authorization", "api-key", "x-api-key", "cookie", "set-cookie"}
)
# Headers describing the wire encoding of a body we store decoded; they are recomputed on replay.
_WIRE_HEADERS = frozenset({"content-encoding", "transfer-encoding", "content-length"})
_NAME_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


# ------------------------------------------------------------------------------ redaction


def scrub_url(url: str | httpx.URL, secrets: Iterable[str] = ()) -> str:
    """``url`` with credential parameters and user info masked and every secret redacted."""
    parts = urlsplit(str(url))
    netloc = parts.netloc
    if "@" in netloc:
        netloc = f"{MASK}@{netloc.rsplit('@', 1)[1]}"
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        if any(k.lower() in SECRET_PARAMS for k, _ in pairs):
            query = urlencode(
                [(k, MASK if k.lower() in SECRET_PARAMS else v) for k, v in pairs], safe="*"
            )
    out = urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))
    return redact_text(out, secrets)


def redact_text(text: str, secrets: Iterable[str] = ()) -> str:
    """Every secret in ``text`` (also URL-encoded) replaced by ``***``."""
    from urllib.parse import quote, quote_plus

    values = [s for s in secrets if s]
    # Longest first, so a secret containing another is masked whole.
    variants = sorted(
        {v for s in values for v in (s, quote(s, safe=""), quote_plus(s))}, key=len, reverse=True
    )
    return redact(text, tuple(variants))


def scrub_headers(
    headers: Iterable[tuple[str, str]], secrets: Iterable[str] = ()
) -> list[list[str]]:
    """Header pairs with credential headers masked and secrets redacted (names lower-cased)."""
    secrets = tuple(secrets)
    out: list[list[str]] = []
    for name, value in headers:
        low = name.lower()
        out.append([low, MASK if low in SECRET_HEADERS else redact_text(value, secrets)])
    return out


def exchange_key(method: str, scrubbed_url: str, scrubbed_body: bytes) -> str:
    """The hex digest that identifies one request in a recording."""
    h = hashlib.sha256()
    h.update(method.upper().encode())
    h.update(b"\n")
    h.update(scrubbed_url.encode())
    h.update(b"\n")
    h.update(scrubbed_body)
    return h.hexdigest()


def _scrub_body(body: bytes, secrets: tuple[str, ...]) -> bytes:
    if not body or not secrets:
        return body
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        out = body
        for s in secrets:
            if s:
                out = out.replace(s.encode(), MASK.encode())
        return out
    return redact_text(text, secrets).encode("utf-8")


def _encode_body(body: bytes) -> dict[str, str]:
    try:
        return {"encoding": "utf-8", "data": body.decode("utf-8")}
    except UnicodeDecodeError:
        return {"encoding": "base64", "data": base64.b64encode(body).decode("ascii")}


def _decode_body(stored: Mapping[str, Any]) -> bytes:
    data = str(stored.get("data", ""))
    if stored.get("encoding") == "base64":
        return base64.b64decode(data)
    return data.encode("utf-8")


def _file_name(method: str, url: str, key: str, seq: int) -> str:
    segment = urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1] or "root"
    segment = _NAME_SAFE.sub("_", segment)[:40]
    return f"{method.upper()}-{segment}-{key[:16]}-{seq:03d}.json"


def _write_json(path: Path, data: Mapping[str, Any]) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def read_manifest(directory: Path | str) -> dict[str, Any]:
    """The recording's ``manifest.json`` (empty when there is none)."""
    path = Path(directory) / MANIFEST
    if not path.is_file():
        return {}
    data = json.loads(path.read_text(encoding="utf-8"))
    return data if isinstance(data, dict) else {}


def manifest_clock(directory: Path | str) -> datetime | None:
    """The clock a recording was made with, if it says."""
    value = read_manifest(directory).get("clock")
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


# ------------------------------------------------------------------------------ recording


class RecordingTransport(httpx.AsyncBaseTransport):
    """Passes every request to ``inner`` and writes the exchange, secret-free, to ``directory``.

    ``max_body_bytes`` (the pipeline passes ``settings.max_response_bytes``) bounds what is read
    from the upstream: a longer body is stored cut at ``max_body_bytes + 1`` bytes (``truncated``),
    which the size cap rejects on replay exactly as it rejected the original.
    """

    def __init__(
        self,
        inner: httpx.AsyncBaseTransport,
        directory: Path | str,
        secrets: Iterable[str] = (),
        *,
        max_body_bytes: int | None = None,
        manifest: Mapping[str, Any] | None = None,
    ) -> None:
        self.inner = inner
        self.directory = Path(directory)
        self.secrets = tuple(s for s in secrets if s)
        self.max_body_bytes = max_body_bytes
        self.directory.mkdir(parents=True, exist_ok=True)
        self._seq: dict[str, int] = {}
        self._lock = threading.Lock()
        self.files: list[Path] = []
        meta: dict[str, Any] = {"format": FORMAT, "created_at": datetime.now(UTC).isoformat()}
        meta.update(manifest or {})
        _write_json(
            self.directory / MANIFEST, json.loads(redact_text(json.dumps(meta), self.secrets))
        )

    def _next(self, key: str) -> int:
        with self._lock:
            seq = self._seq.get(key)
            if seq is None:
                # First time this session: drop what an earlier session recorded for this request,
                # so its extra repeats do not leak into this session's replay.
                for old in self.directory.glob(f"*-{key[:16]}-*.json"):
                    old.unlink(missing_ok=True)
                seq = 0
            self._seq[key] = seq + 1
            return seq

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        url = scrub_url(request.url, self.secrets)
        req_body = _scrub_body(body, self.secrets)
        key = exchange_key(request.method, url, req_body)
        seq = self._next(key)
        record: dict[str, Any] = {
            "format": FORMAT,
            "key": key,
            "seq": seq,
            "recorded_at": datetime.now(UTC).isoformat(),
            "request": {
                "method": request.method,
                "url": url,
                "headers": scrub_headers(request.headers.multi_items(), self.secrets),
                "body": _encode_body(req_body),
            },
        }
        path = self.directory / _file_name(request.method, url, key, seq)
        try:
            response = await self.inner.handle_async_request(request)
            content, truncated = await self._read(response)
        except asyncio.CancelledError:
            # The caller gave up waiting (a deadline): replay waits the same way.
            record["error"] = {"type": "cancelled", "message": "the caller stopped waiting"}
            self._save(path, record)
            raise
        except httpx.TransportError as exc:
            record["error"] = {
                "type": type(exc).__name__,
                "message": redact_text(str(exc), self.secrets)[:500],
            }
            self._save(path, record)
            raise
        headers = [(k, v) for k, v in response.headers.multi_items()]
        kept = [(k, v) for k, v in headers if k.lower() not in _WIRE_HEADERS]
        if truncated:
            # Keep the declared length: the size cap sees what it saw live.
            kept += [(k, v) for k, v in headers if k.lower() == "content-length"]
        record["response"] = {
            "status": response.status_code,
            "http_version": response.extensions.get("http_version", b"HTTP/1.1").decode(),
            "reason_phrase": response.extensions.get("reason_phrase", b"").decode(),
            "headers": scrub_headers(kept, self.secrets),
            "body": _encode_body(_scrub_body(content, self.secrets)),
            "truncated": truncated,
        }
        self._save(path, record)
        return _build_response(request, record["response"])

    async def _read(self, response: httpx.Response) -> tuple[bytes, bool]:
        cap = self.max_body_bytes
        chunks: list[bytes] = []
        size = 0
        truncated = False
        try:
            async for chunk in response.aiter_bytes():
                chunks.append(chunk)
                size += len(chunk)
                if cap is not None and size > cap:
                    truncated = True
                    break
        finally:
            await response.aclose()
        content = b"".join(chunks)
        if truncated and cap is not None:
            content = content[: cap + 1]
        return content, truncated

    def _save(self, path: Path, record: Mapping[str, Any]) -> None:
        _write_json(path, record)
        self.files.append(path)

    async def aclose(self) -> None:
        await self.inner.aclose()


def _build_response(request: httpx.Request, stored: Mapping[str, Any]) -> httpx.Response:
    headers = [(str(k), str(v)) for k, v in stored.get("headers", [])]
    extensions: dict[str, Any] = {
        "http_version": str(stored.get("http_version") or "HTTP/1.1").encode(),
        "reason_phrase": str(stored.get("reason_phrase") or "").encode(),
    }
    return httpx.Response(
        int(stored["status"]),
        headers=headers,
        content=_decode_body(stored.get("body", {})),
        request=request,
        extensions=extensions,
    )


# ------------------------------------------------------------------------------ replay


class ReplayMiss(UpstreamError):
    """A request the recording does not contain."""

    def __init__(self, message: str) -> None:
        super().__init__("http_error", message)


_TRANSPORT_ERRORS: dict[str, type[httpx.TransportError]] = {
    cls.__name__: cls
    for cls in (
        httpx.ConnectTimeout,
        httpx.ReadTimeout,
        httpx.WriteTimeout,
        httpx.PoolTimeout,
        httpx.ConnectError,
        httpx.ReadError,
        httpx.WriteError,
        httpx.RemoteProtocolError,
        httpx.LocalProtocolError,
        httpx.ProxyError,
        httpx.UnsupportedProtocol,
        httpx.NetworkError,
        httpx.TimeoutException,
        httpx.ProtocolError,
        httpx.TransportError,
    )
}


class ReplayTransport(httpx.AsyncBaseTransport):
    """Answers every request from a recording directory; never touches the network."""

    CANCELLED_WAIT_S = 600.0
    """How long a replayed "the caller gave up" exchange waits before failing on its own."""

    def __init__(self, directory: Path | str, secrets: Iterable[str] = ()) -> None:
        self.directory = Path(directory)
        if not self.directory.is_dir():
            from .errors import ConfigError

            raise ConfigError(f"no recording at {self.directory}")
        self.secrets = tuple(s for s in secrets if s)
        self.manifest = read_manifest(self.directory)
        self._exchanges: dict[str, list[dict[str, Any]]] = {}
        for path in sorted(self.directory.glob("*.json")):
            if path.name == MANIFEST:
                continue
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            if isinstance(data, dict) and data.get("format") == FORMAT and "key" in data:
                self._exchanges.setdefault(str(data["key"]), []).append(data)
        for items in self._exchanges.values():
            items.sort(key=lambda d: int(d.get("seq", 0)))
        self._served: dict[str, int] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return sum(len(v) for v in self._exchanges.values())

    @property
    def clock(self) -> datetime | None:
        return manifest_clock(self.directory)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        url = scrub_url(request.url, self.secrets)
        key = exchange_key(request.method, url, _scrub_body(body, self.secrets))
        items = self._exchanges.get(key)
        if not items:
            raise ReplayMiss(
                f"replay: no recorded exchange for {request.method} {url} in {self.directory}"
            )
        with self._lock:
            n = self._served.get(key, 0)
            self._served[key] = n + 1
        record = items[n % len(items)]
        error = record.get("error")
        if isinstance(error, Mapping):
            kind = str(error.get("type", "TransportError"))
            if kind == "cancelled":
                # Live, the caller's deadline fired first; wait for it to fire again.
                await asyncio.sleep(self.CANCELLED_WAIT_S)
                raise httpx.ReadTimeout("replay: recorded exchange never answered", request=request)
            cls = _TRANSPORT_ERRORS.get(kind, httpx.TransportError)
            raise cls(str(error.get("message", kind)), request=request)
        return _build_response(request, record["response"])


# ------------------------------------------------------------------------------ logs

_QUERY_SECRET = re.compile(r"(?i)([?&](?:api_?key|key|token|access_token)=)[^&#\s\"'<>]*")
_AUTH_HEADER = re.compile(
    r"(?i)\b(authorization['\"]?\s*[:=]\s*['\"]?(?:bearer|basic)\s+)[^\s'\",}]+"
)
_log_secrets: set[str] = set()
_log_lock = threading.Lock()
_log_installed = False


def _log_clean(text: str) -> str:
    text = _QUERY_SECRET.sub(rf"\1{MASK}", text)
    text = _AUTH_HEADER.sub(rf"\1{MASK}", text)
    return redact_text(text, tuple(_log_secrets))


def _scrub_record(record: logging.LogRecord) -> None:
    try:
        message = record.getMessage()
    except Exception:  # a malformed record is the logging module's to report
        return
    clean = _log_clean(message)
    if clean != message:
        record.msg = clean
        record.args = None
    if record.exc_info and not record.exc_text:
        text = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
        clean = _log_clean(text)
        if clean != text:
            record.exc_text = clean
    if record.stack_info:
        record.stack_info = _log_clean(record.stack_info)


def install_log_redaction(secrets: Iterable[str] = ()) -> None:
    """Scrub every log record from now on: key-like URL parameters, bearer tokens, ``secrets``.

    Works through the record factory, so it covers every logger (httpx, httpcore, openai, ...)
    and every handler, including ones added later (pytest's caplog, notebooks). Idempotent;
    secrets accumulate over calls.
    """
    global _log_installed
    with _log_lock:
        _log_secrets.update(s for s in secrets if s)
        if _log_installed:
            return
        previous = logging.getLogRecordFactory()

        def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
            record = previous(*args, **kwargs)
            _scrub_record(record)
            return record

        logging.setLogRecordFactory(factory)
        _log_installed = True
