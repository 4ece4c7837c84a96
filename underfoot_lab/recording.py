"""Record and replay upstream HTTP exchanges, with secrets kept out of the recordings.

:class:`RecordingTransport` wraps the pipeline's transport and writes every exchange (method,
URL, request headers and body, status, response headers and body; or the transport error) as one
JSON file, with credentials removed first:

* URLs: the values of ``api_key``, ``apiKey``, ``key``, ``token``, ``access_token`` (any case)
  and any user:password part become ``***``;
* headers: ``Authorization``, ``api-key``, ``x-api-key``, ``Cookie``, ``Set-Cookie`` and
  ``Proxy-Authorization`` become ``***``;
* everywhere (URL, headers, bodies): every configured secret value becomes ``***``.

A file is named ``<METHOD>-<last path segment>-<key>-<seq>.json``, where ``key`` hashes the
method, the upstream's name, the scrubbed path and query and the scrubbed request body (never
the scheme, host or port: a recording made through a proxy, on a colleague's configuration or
against a loopback server replays under any ``*_BASE_URL`` settings), and ``seq`` counts
repeats of the same request (retries) within the recording session. The upstream's name comes
from its documented path (:func:`upstream_name`). ``manifest.json`` keeps the session's clock, so
a replay computes dates ("3 days ago", event years) against the same "now".

:class:`ReplayTransport` serves a recording: it matches method + scrubbed URL + scrubbed body,
answers the n-th repeat with the n-th recorded exchange (cycling when a request repeats more
often than recorded), re-raises recorded transport errors, and for a request that was never
recorded raises :class:`ReplayMiss` (an :class:`~underfoot_lab.errors.UpstreamError` naming the
URL without secrets). No network is touched during a replay. Recordings in the first format
(``underfoot-recording/1``, keyed by the whole URL, host included) still load: their exchanges
are indexed under both keys.

The scrubbing rules themselves live in :mod:`underfoot_lab.redaction`.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import os
import re
import threading
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from .errors import UpstreamError
from .redaction import redact, scrub_bytes, scrub_headers, scrub_url

__all__ = [
    "FORMAT",
    "FORMATS",
    "RecordingTransport",
    "ReplayMiss",
    "ReplayTransport",
    "exchange_key",
    "read_manifest",
    "request_key",
    "upstream_name",
]

FORMAT = "underfoot-recording/2"
FORMAT_V1 = "underfoot-recording/1"
FORMATS = frozenset({FORMAT, FORMAT_V1})
MANIFEST = "manifest.json"

# Headers describing the wire encoding of a body we store decoded; they are recomputed on replay.
_WIRE_HEADERS = frozenset({"content-encoding", "transfer-encoding", "content-length"})
_NAME_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


def exchange_key(method: str, scrubbed_url: str, scrubbed_body: bytes) -> str:
    """sha256 of method, target and body (the target: :func:`request_key`'s upstream and
    path+query; in the first recording format, the whole scrubbed URL)."""
    h = hashlib.sha256()
    h.update(method.upper().encode())
    h.update(b"\n")
    h.update(scrubbed_url.encode())
    h.update(b"\n")
    h.update(scrubbed_body)
    return h.hexdigest()


_SUBREDDIT_PATH = re.compile(r"^/r/[A-Za-z0-9_]{2,21}/search\.(?:rss|json)$")


def upstream_name(path: str, query: str) -> str:
    """Which upstream a request is for, from its documented path (never its host).

    ``/…/chat/completions`` openai; ``/v1/geocode/…`` geoapify; ``/search.json`` with an
    ``engine`` serpapi; ``/search.json`` without one, ``/search.rss`` and ``/r/<sub>/search.*``
    reddit; ``/v3/…`` eventbrite; anything else ``other``.
    """
    if path.endswith("/chat/completions"):
        return "openai"
    if path.startswith("/v1/geocode/"):
        return "geoapify"
    if path == "/search.json":
        keys = {part.split("=", 1)[0] for part in query.split("&") if part}
        return "serpapi" if "engine" in keys else "reddit"
    if path == "/search.rss" or _SUBREDDIT_PATH.match(path):
        return "reddit"
    if path.startswith("/v3/"):
        return "eventbrite"
    return "other"


def request_key(method: str, scrubbed_url: str, scrubbed_body: bytes) -> str:
    """The key of a request in a recording: method, upstream, path+query and body (no host).

    OpenAI's base URL may carry a path (``/v1``, a proxy's prefix); its requests are keyed from
    ``/chat/completions`` on, so that prefix does not matter either.
    """
    parts = urlsplit(scrubbed_url)
    name = upstream_name(parts.path, parts.query)
    path = "/chat/completions" if name == "openai" else parts.path
    target = f"{name}:{path}" + (f"?{parts.query}" if parts.query else "")
    return exchange_key(method, target, scrubbed_body)


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
        _write_json(self.directory / MANIFEST, json.loads(redact(json.dumps(meta), self.secrets)))

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
        req_body = scrub_bytes(body, self.secrets)
        key = request_key(request.method, url, req_body)
        seq = self._next(key)
        parts = urlsplit(url)
        record: dict[str, Any] = {
            "format": FORMAT,
            "key": key,
            "upstream": upstream_name(parts.path, parts.query),
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
                "message": redact(str(exc), self.secrets)[:500],
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
            "body": _encode_body(scrub_bytes(content, self.secrets)),
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
            if not (isinstance(data, dict) and data.get("format") in FORMATS and "key" in data):
                continue
            self._exchanges.setdefault(str(data["key"]), []).append(data)
            if data["format"] == FORMAT_V1:
                # The first format keyed by the whole URL (host included); index its
                # exchanges by upstream and path+query too, so they replay anywhere.
                key = _rekey(data)
                if key is not None and key != data["key"]:
                    self._exchanges.setdefault(key, []).append(data)
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
        scrubbed = scrub_bytes(body, self.secrets)
        key = request_key(request.method, url, scrubbed)
        items = self._exchanges.get(key)
        if not items:
            # A first-format recording made with these very base URLs: its own (host) key.
            key = exchange_key(request.method, url, scrubbed)
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


def _rekey(record: Mapping[str, Any]) -> str | None:
    """:func:`request_key` of a stored first-format exchange (None when it is incomplete)."""
    req = record.get("request")
    if not isinstance(req, Mapping) or "url" not in req:
        return None
    return request_key(
        str(req.get("method", "GET")), str(req["url"]), _decode_body(req.get("body", {}))
    )
