"""Mixed live/offline runs: send each upstream's requests to the network or to the world.

In ``auto`` mode some providers are live and others answer from the offline world. The HTTP
client stays one shared client; this transport picks, per request host, the real network
transport or the :class:`~underfoot_lab.world.WorldTransport`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import httpx

from ..settings import Settings

if TYPE_CHECKING:  # pragma: no cover
    from ..world import World
    from .providers import Selection

# Which settings field holds each provider's upstream base URL.
_UPSTREAM_OF = {
    "serpapi_web": "serpapi_base_url",
    "serpapi_local": "serpapi_base_url",
    "serpapi_events": "serpapi_base_url",
    "reddit": "reddit_base_url",
    "geoapify": "geoapify_base_url",
    "openai": "openai_base_url",
}


class RoutingTransport(httpx.AsyncBaseTransport):
    """Requests to ``live_hosts`` go to the network; all others to the offline world."""

    def __init__(
        self,
        live_hosts: frozenset[str],
        world: Callable[[], World],
        network: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.live_hosts = live_hosts
        self._world_factory = world
        self._world_transport: httpx.AsyncBaseTransport | None = None
        self._network = network or httpx.AsyncHTTPTransport()

    @classmethod
    def for_selection(
        cls, settings: Settings, selection: Selection, world: Callable[[], World]
    ) -> RoutingTransport:
        hosts = set()
        for choice in selection.all():
            field = _UPSTREAM_OF.get(choice.provider)
            if choice.live and field:
                hosts.add(urlsplit(getattr(settings, field)).netloc)
        return cls(frozenset(hosts), world)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.netloc.decode() in self.live_hosts:
            return await self._network.handle_async_request(request)
        if self._world_transport is None:
            from ..world import WorldTransport

            self._world_transport = WorldTransport(self._world_factory())
        return await self._world_transport.handle_async_request(request)

    async def aclose(self) -> None:
        await self._network.aclose()
