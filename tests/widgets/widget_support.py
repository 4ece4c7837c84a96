"""Helpers for the widget tests (imported by ``conftest.py`` and the tests; a unique module
name, since several ``conftest`` modules share one name)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import httpx

from underfoot_lab.settings import Settings

SCRIPT_TITLE = "<script>alert(1)</script>"


def make_settings(home: Path, **kw: object) -> Settings:
    return Settings(_env_file=None, home=home, **kw)  # type: ignore[arg-type]


class CountingTransport(httpx.AsyncBaseTransport):
    """The offline world behind a counter; ``rewrite`` may edit chosen JSON answers."""

    def __init__(
        self,
        inner: httpx.AsyncBaseTransport,
        rewrite: Callable[[httpx.Request, dict[str, object]], None] | None = None,
    ) -> None:
        self.inner = inner
        self.rewrite = rewrite
        self.requests: list[httpx.Request] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        response = await self.inner.handle_async_request(request)
        if self.rewrite is None or "json" not in response.headers.get("content-type", ""):
            return response
        data = json.loads(await response.aread())
        self.rewrite(request, data)
        return httpx.Response(response.status_code, json=data, request=request)


def inject_script(request: httpx.Request, data: dict[str, object]) -> None:
    """Make the first Google Maps place hostile: script title, javascript: website."""
    if request.url.params.get("engine") != "google_maps":
        return
    places = data.get("local_results")
    if isinstance(places, list) and places:
        first = places[0]
        first["title"] = SCRIPT_TITLE
        first["website"] = "javascript:alert(2)"
        first["description"] = '<img src=x onerror="alert(3)"> & more'
