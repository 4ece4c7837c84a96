"""Helpers for upstream tests: settings, a provider context, a real loopback HTTP server.

Imported by the tests here and by ``tests/pipeline/geocode/test_geoapify.py``."""

from __future__ import annotations

import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
from records_support import PIKEVILLE as PIKEVILLE  # re-exported for the source tests
from records_support import parsed

from underfoot_lab.geo.gazetteer import get_gazetteer
from underfoot_lab.records import ParsedQuery
from underfoot_lab.registry import ProviderContext
from underfoot_lab.settings import Settings

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "upstreams"
API_KEY = "sk-test-123"
NOW = datetime(2026, 6, 15, tzinfo=UTC)


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def make_settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {"serpapi_api_key": API_KEY, "geoapify_api_key": API_KEY}
    values.update(overrides)
    return Settings(_env_file=None, **values)


def make_ctx(
    settings: Settings, client: httpx.AsyncClient, simulated: bool = False
) -> ProviderContext:
    return ProviderContext(
        settings=settings,
        http=client,
        clock=lambda: NOW,
        gazetteer_loader=get_gazetteer,
        simulated=simulated,
    )


@asynccontextmanager
async def client_ctx(settings: Settings) -> AsyncIterator[ProviderContext]:
    """A provider context over the production HTTP client (:func:`make_client`), closed after."""
    from underfoot_lab.http import make_client

    client = make_client(settings)
    try:
        yield make_ctx(settings, client)
    finally:
        await client.aclose()


def parsed_query(intent: str = "hidden gems", location: str = "Pikeville KY") -> ParsedQuery:
    return parsed(f"{intent} in {location}", location=location, intent=intent)


class Recorder:
    """An injectable sleep that records the waits it was asked for and returns at once."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


# ------------------------------------------------------------------------------ loopback server


@dataclass
class Reply:
    status: int = 200
    body: bytes = b"{}"
    content_type: str | None = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    send_length: bool = True


@dataclass
class Seen:
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    at: float


class Loopback:
    """A real HTTP server on 127.0.0.1 (port 0) answering scripted replies per path.

    ``script(path, r1, r2, ...)`` answers the path's requests with r1, r2, ... and then keeps
    repeating the last reply. Every request is recorded in ``seen``.
    """

    def __init__(self) -> None:
        self._replies: dict[str, list[Reply]] = {}
        self.seen: list[Seen] = []
        self._lock = threading.Lock()
        loopback = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                with loopback._lock:
                    loopback.seen.append(
                        Seen(
                            parts.path,
                            dict(parse_qsl(parts.query)),
                            {k.lower(): v for k, v in self.headers.items()},
                            time.monotonic(),
                        )
                    )
                    queue = loopback._replies.get(parts.path) or [Reply(404, b'{"error": "nope"}')]
                    reply = queue.pop(0) if len(queue) > 1 else queue[0]
                if reply.delay_s:
                    time.sleep(reply.delay_s)
                try:
                    self.send_response(reply.status)
                    if reply.content_type:
                        self.send_header("Content-Type", reply.content_type)
                    if reply.send_length:
                        self.send_header("Content-Length", str(len(reply.body)))
                    for k, v in reply.headers.items():
                        self.send_header(k, v)
                    self.end_headers()
                    self.wfile.write(reply.body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout tests)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def base_url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    def script(self, path: str, *replies: Reply) -> None:
        with self._lock:
            self._replies[path] = list(replies)

    def paths(self) -> list[str]:
        return [s.path for s in self.seen]


def start_loopback() -> Loopback:
    server = Loopback()
    server.thread.start()
    return server


def stop_loopback(server: Loopback) -> None:
    server.server.shutdown()
    server.server.server_close()
