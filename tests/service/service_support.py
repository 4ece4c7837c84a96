"""Helpers of the service tests: the real service on uvicorn, on a free loopback port, in a
thread; it stops itself.

``service`` (one per test package): offline mode, its own home, fake API keys (so "no secret in
logs" has secrets to leak), one allowed CORS origin, no rate limit, and every structured log
line captured in ``service.log``. Rate-limit tests start their own small server with
:func:`running_service`.
"""

from __future__ import annotations

import io
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn

from underfoot_lab.service.app import create_app
from underfoot_lab.settings import Settings

FAKE_OPENAI = "sk-fake-service-test-0123456789abcdef"
FAKE_SERPAPI = "serp-fake-service-test-fedcba9876543210"
ALLOWED_ORIGIN = "http://notebook.example"


@dataclass
class Service:
    """A running server: its base URL, settings and captured log stream."""

    base: str
    settings: Settings
    log: io.StringIO

    def events(self) -> list[dict[str, Any]]:
        """Every captured log line, parsed (each must be one JSON object)."""
        return [json.loads(line) for line in self.log.getvalue().splitlines() if line.strip()]

    def request_events(self, request_id: str) -> list[dict[str, Any]]:
        """The events of one request, once its ``request.complete`` is written: the server logs
        it after the last byte is sent, so the client can read the answer first."""
        deadline = time.monotonic() + 10
        while True:
            mine = [e for e in self.events() if e.get("request_id") == request_id]
            if any(e["event"] == "request.complete" for e in mine) or time.monotonic() > deadline:
                return mine
            time.sleep(0.01)


def service_settings(home: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "mode": "offline",
        "home": home,
        "openai_api_key": FAKE_OPENAI,
        "serpapi_api_key": FAKE_SERPAPI,
        "service_cors_origins": (ALLOWED_ORIGIN,),
        "service_rate_limit_per_s": 0.0,
    }
    values.update(overrides)
    return Settings(**values)


@contextmanager
def running_service(settings: Settings) -> Iterator[str]:
    """Serve ``create_app(settings)`` on 127.0.0.1 (port chosen by the OS); yield the base URL;
    stop the server and wait for its thread on exit."""
    config = uvicorn.Config(
        create_app(settings),
        host="127.0.0.1",
        port=0,
        log_level="warning",
        access_log=False,
        lifespan="on",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="service-under-test", daemon=True)
    thread.start()
    # Startup builds the offline world; wait for it (a guard, not a timing assertion).
    deadline = time.monotonic() + 120
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            raise RuntimeError("the service did not start")
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
