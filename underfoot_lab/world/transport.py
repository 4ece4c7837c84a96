"""``WorldTransport``: an httpx transport (sync and async) that answers from the offline world.

Routes by path only, so any base URL works (``settings.serpapi_base_url`` etc. keep their
defaults): ``/search.json`` -> SerpAPI, ``/search.rss`` and ``/r/<sub>/search.rss`` -> Reddit,
``/v1/geocode/search`` -> Geoapify, anything else -> 404::

    client = httpx.AsyncClient(transport=WorldTransport(world))
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Protocol

import httpx


class _Answer(Protocol):
    @property
    def status(self) -> int: ...
    @property
    def content_type(self) -> str: ...
    @property
    def body(self) -> bytes: ...


class Responder(Protocol):
    """What the transport needs of a world (no import of :mod:`.core`: no circle)."""

    def respond(self, method: str, path: str, params: Iterable[tuple[str, str]]) -> _Answer: ...


class WorldTransport(httpx.BaseTransport, httpx.AsyncBaseTransport):
    """Serves every request from a :class:`~underfoot_lab.world.core.World` (no network, no
    sockets)."""

    def __init__(self, world: Responder) -> None:
        self.world = world

    def _respond(self, request: httpx.Request) -> httpx.Response:
        res = self.world.respond(request.method, request.url.path, request.url.params.multi_items())
        body = b"" if request.method == "HEAD" else res.body
        return httpx.Response(
            res.status,
            headers={
                "content-type": res.content_type,
                "x-underfoot-world": "simulated",
            },
            content=body,
            request=request,
        )

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        return self._respond(request)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        # Rendering (and a town's first universe) is CPU work: off the event loop, so sources
        # overlap as they do live, deadlines fire on time, and the trace's per-source times
        # mean what they mean live (the world is thread-safe).
        return await asyncio.to_thread(self._respond, request)
