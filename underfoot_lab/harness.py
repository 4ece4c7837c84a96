"""The composition root: the one place that joins the search pipeline and the offline world.

The pipeline (:mod:`underfoot_lab.pipeline`) talks HTTP through the transport it is given and
knows nothing of the simulated world; the world (:mod:`underfoot_lab.world`) serves upstream
payloads and knows nothing of the pipeline. :func:`build_harness` picks the transport from the
provider selection of the settings:

* every provider offline: the offline world's transport;
* every provider live: none (the network);
* mixed (``auto`` mode): httpx-style mounts, one per live upstream's base URL (scheme, host,
  port) to the network, everything else to the offline world.

The world is built lazily, on the first request that reaches it or the first read of
:attr:`Harness.world`, and never when nothing needs it (building it is costly). Recording and
replay wrap the chosen transport inside the pipeline, as for any transport::

    from underfoot_lab.harness import build_harness

    with build_harness() as harness:
        result = harness.pipeline.search("hidden gems in Pikeville KY")
        truth = harness.world  # the World the results came from (None for live sources)
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import httpx

from .pipeline.providers import Selection, select_providers, upstream_url
from .pipeline.run import Pipeline
from .settings import Settings

if TYPE_CHECKING:  # pragma: no cover
    from .pipeline.score import Scorer
    from .world import World

__all__ = ["Harness", "MountedTransport", "build_harness", "world_transport"]

Origin = tuple[str, str, int | None]


def _origin(url: httpx.URL) -> Origin:
    """(scheme, host, port) of a URL, the default port as None: what an httpx mount matches."""
    return (url.scheme, url.host, url.port)


class MountedTransport(httpx.AsyncBaseTransport):
    """httpx ``mounts`` as one transport: a request whose origin (scheme, host, port) is a key of
    ``mounts`` goes to that transport, every other request to ``default``.

    One transport rather than the client's ``mounts=`` so that recording, which wraps the
    pipeline's transport, still sees every exchange of a mixed run.
    """

    def __init__(
        self, mounts: Mapping[str, httpx.AsyncBaseTransport], default: httpx.AsyncBaseTransport
    ) -> None:
        self._mounts = {_origin(httpx.URL(base)): t for base, t in mounts.items()}
        self._default = default

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        transport = self._mounts.get(_origin(request.url), self._default)
        return await transport.handle_async_request(request)

    async def prepare(self) -> list[str]:
        """Build what the default transport builds lazily (the pipeline's ``setup`` stage)."""
        prepare = getattr(self._default, "prepare", None)
        return list(await prepare()) if prepare is not None else []

    async def aclose(self) -> None:
        for transport in {id(t): t for t in (*self._mounts.values(), self._default)}.values():
            await transport.aclose()


class _LazyWorldTransport(httpx.AsyncBaseTransport):
    """The offline world's transport, the world built on the first request that needs it."""

    def __init__(self, world: Callable[[], World]) -> None:
        self._world = world
        self._inner: httpx.AsyncBaseTransport | None = None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self._inner is None:
            self._inner = world_transport(self._world())
        return await self._inner.handle_async_request(request)

    async def prepare(self) -> list[str]:
        """Build the world now, in a worker thread (the pipeline's ``setup`` stage)."""
        if self._inner is not None:
            return []
        world = await asyncio.to_thread(self._world)
        if self._inner is None:
            self._inner = world_transport(world)
        return ["world"]

    async def aclose(self) -> None:
        if self._inner is not None:
            await self._inner.aclose()


def world_transport(world: World) -> httpx.AsyncBaseTransport:
    """An httpx transport answering every upstream request from ``world``."""
    from .world import WorldTransport

    return WorldTransport(world)


def _transport_for(
    settings: Settings, selection: Selection, world: Callable[[], World]
) -> httpx.AsyncBaseTransport | None:
    choices = selection.all()
    if not any(c.live for c in choices):
        return _LazyWorldTransport(world)
    if all(c.live for c in choices):
        return None
    mounts: dict[str, httpx.AsyncBaseTransport] = {}
    network = httpx.AsyncHTTPTransport()
    for choice in choices:
        base = upstream_url(settings, choice.provider)
        if choice.live and base:
            mounts[base] = network
    return MountedTransport(mounts, _LazyWorldTransport(world))


class _WorldSlot:
    """The world of some settings, built once, on first use."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._world: World | None = None
        # The pipeline's loop thread and the caller's thread may both ask first.
        self._lock = threading.Lock()

    @property
    def built(self) -> bool:
        return self._world is not None

    def get(self) -> World:
        with self._lock:
            if self._world is None:
                from .geo.gazetteer import get_gazetteer
                from .world import build_world

                self._world = build_world(self._settings, get_gazetteer())
            return self._world


class Harness:
    """A pipeline joined to the offline world. Build with :func:`build_harness`; close it (or
    use it as a context manager) to close the pipeline."""

    def __init__(self, pipeline: Pipeline, world: _WorldSlot) -> None:
        self.pipeline = pipeline
        self._world = world

    @property
    def settings(self) -> Settings:
        """The pipeline's settings (record/replay overrides applied)."""
        return self.pipeline.settings

    @property
    def simulated(self) -> bool:
        """True when some source answers from the offline world."""
        return self.pipeline.simulated

    @property
    def world(self) -> World | None:
        """The offline world the simulated results come from (built on first use), or None
        when every source is live (the world's truth says nothing about real places)."""
        return self._world.get() if self.simulated else None

    @property
    def world_built(self) -> bool:
        """Whether the world has been built (by a request that needed it, or by :attr:`world`)."""
        return self._world.built

    def close(self) -> None:
        """Close the pipeline (its HTTP client, background loop and cache)."""
        self.pipeline.close()

    def __enter__(self) -> Harness:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def build_harness(
    settings: Settings | None = None,
    *,
    scorer: Scorer | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    clock: Callable[[], datetime] | None = None,
    cache_clock: Callable[[], float] = time.time,
    use_cache: bool | None = None,
    record_dir: Path | str | None = None,
    replay_dir: Path | str | None = None,
) -> Harness:
    """A :class:`Harness`: the pipeline for ``settings`` (default: from the environment) with
    the transport its provider selection needs (see the module docstring).

    ``transport`` replaces that choice (tests: a counting or failing wrapper around
    :func:`world_transport`); the other arguments are :class:`Pipeline`'s.
    """
    settings = settings or Settings()
    world = _WorldSlot(settings)  # record/replay overrides leave the world seed and clock alone
    if transport is None:
        transport = _transport_for(settings, select_providers(settings), world.get)
    pipeline = Pipeline(
        settings,
        scorer=scorer,
        transport=transport,
        clock=clock,
        cache_clock=cache_clock,
        use_cache=use_cache,
        record_dir=record_dir,
        replay_dir=replay_dir,
    )
    return Harness(pipeline, world)
