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

Which world answers is ``settings.world`` (a scenario name or YAML file); :func:`world_identity`
names it (scenario name and hash) without building it. The pipeline gets that identity as an
opaque ``simulation`` string for its cache keys, so answers of two worlds never mix in a cache.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Unpack, cast

from .pipeline.providers import Selection, select_providers, upstream_url
from .pipeline.run import Pipeline, PipelineOptions
from .settings import Settings

if TYPE_CHECKING:  # pragma: no cover
    import httpx

    from .world import World

__all__ = [
    "Harness",
    "MountedTransport",  # noqa: F822 - defined on first use (module __getattr__)
    "WorldIdentity",
    "build_harness",
    "load_world",
    "world_identity",
    "world_transport",
]

Origin = tuple[str, str, int | None]


def _origin(url: httpx.URL) -> Origin:
    """(scheme, host, port) of a URL, the default port as None: what an httpx mount matches."""
    return (url.scheme, url.host, url.port)


@lru_cache(maxsize=1)
def _mounted_transport() -> Any:
    """``MountedTransport``, defined on first use: it subclasses httpx's transport, and
    importing httpx (~0.05 s) is a cost an offline search answered from the cache never
    needs."""
    import httpx

    class MountedTransport(httpx.AsyncBaseTransport):
        """httpx ``mounts`` as one transport: a request whose origin (scheme, host, port) is a
        key of ``mounts`` goes to that transport, every other request to ``default``.

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

    return MountedTransport


def __getattr__(name: str) -> Any:
    if name == "MountedTransport":
        return _mounted_transport()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class _LazyWorldTransport:
    """The offline world's transport, the world built on the first request that needs it.

    An httpx transport by its methods (httpx.AsyncBaseTransport's four) rather than by
    subclassing, so that building a harness does not import httpx: a search answered from
    the cache never sends a request.
    """

    async def __aenter__(self) -> _LazyWorldTransport:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

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
        return cast("httpx.AsyncBaseTransport", _LazyWorldTransport(world))
    if all(c.live for c in choices):
        return None
    import httpx

    mounts: dict[str, httpx.AsyncBaseTransport] = {}
    network = httpx.AsyncHTTPTransport()
    for choice in choices:
        base = upstream_url(settings, choice.provider)
        if choice.live and base:
            mounts[base] = network
    mixed: httpx.AsyncBaseTransport = _mounted_transport()(mounts, _LazyWorldTransport(world))
    return mixed


@dataclass(frozen=True, slots=True)
class WorldIdentity:
    """Which offline world: the scenario's ``name``, its ``hash`` (16 hex digits over the
    scenario's content and the world's code) and ``path``, the scenario file when it was given
    as a file rather than by name (a user's own scenario is found again by it)."""

    name: str
    hash: str
    path: str | None = None

    @property
    def simulation_id(self) -> str:
        """The opaque id the pipeline puts into its cache keys."""
        return f"{self.name}@{self.hash}"

    @property
    def label(self) -> str:
        """``offline world 'null' (a1b2c3d4), simulated``: how headers name it."""
        from .provenance import world_label

        return world_label(self.name, self.hash)

    @property
    def ref(self) -> str:
        """What to load the scenario by: its file when recorded and present, else its name."""
        if self.path and Path(self.path).is_file():
            return self.path
        return self.name


def world_identity(settings: Settings | str | Path) -> WorldIdentity:
    """The identity of ``settings.world`` (or of a scenario name/path): loads and validates the
    scenario (ConfigError naming the file and field when it is invalid), builds no world.

    With settings, a scenario file validated before (same path, size, modification time and
    world code) is not parsed again: its name and hash are read from
    ``UNDERFOOT_HOME/derived/world-identities.json`` (a cached search needs nothing else).
    """
    from .world.scenario import load_scenario, resolve_scenario_path, world_code_hash

    ref = settings.world if isinstance(settings, Settings) else settings
    path = resolve_scenario_path(ref)
    by_name = not (isinstance(ref, Path) or str(ref).endswith((".yaml", ".yml")) or "/" in str(ref))
    where = None if by_name else str(path.resolve())
    if not isinstance(settings, Settings):
        scenario = load_scenario(ref)
        return WorldIdentity(scenario.name, scenario.hash, where)
    stat = path.stat()
    key = f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}|{world_code_hash()}"
    cache = Path(settings.home) / "derived" / "world-identities.json"
    known = _read_identities(cache)
    if isinstance(found := known.get(key), list) and len(found) == 2:
        return WorldIdentity(str(found[0]), str(found[1]), where)
    scenario = load_scenario(ref)
    known[key] = [scenario.name, scenario.hash]
    from .storage import write_atomically

    write_atomically(cache, json.dumps(known))
    return WorldIdentity(scenario.name, scenario.hash, where)


def _read_identities(path: Path) -> dict[str, object]:
    try:
        known = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return known if isinstance(known, dict) else {}


def load_world(
    identity: WorldIdentity, seed: int, clock: datetime, *, what: str = "the run"
) -> World:
    """Rebuild the world a run or pool recorded: its scenario (by file, else by name), checked
    against the recorded hash. A different hash means the world's code or the scenario file
    changed since: ConfigError, rather than judging old results by another world's truth."""
    from .errors import ConfigError
    from .geo.gazetteer import get_gazetteer
    from .world import World
    from .world.scenario import load_scenario

    scenario = load_scenario(identity.ref)
    if scenario.hash != identity.hash:
        raise ConfigError(
            f"offline world {identity.name!r} has changed since {what} (hash {scenario.hash} != "
            f"recorded {identity.hash}): the world's code or scenario file differs; "
            "re-run it in the current world"
        )
    return World(seed, get_gazetteer(), clock, scenario=scenario)


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
    transport: httpx.AsyncBaseTransport | None = None,
    **options: Unpack[PipelineOptions],
) -> Harness:
    """A :class:`Harness`: the pipeline for ``settings`` (default: from the environment) with
    the transport its provider selection needs (see the module docstring).

    ``transport`` replaces that choice (tests: a counting or failing wrapper around
    :func:`world_transport`); ``options`` are :class:`Pipeline`'s (:class:`PipelineOptions`).
    """
    settings = settings or Settings()
    world = _WorldSlot(settings)  # record/replay overrides leave the world seed and clock alone
    selection = select_providers(settings)
    if transport is None:
        transport = _transport_for(settings, selection, world.get)
    # Validated here (a bad scenario file fails before any search) and keyed into the cache.
    simulation = world_identity(settings).simulation_id if selection.simulated else None
    pipeline = Pipeline(settings, transport=transport, simulation=simulation, **options)
    return Harness(pipeline, world)
