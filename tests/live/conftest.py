"""Fixtures for the live-mode tests: the loopback upstream server and fresh rate limits."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from live_servers import UpstreamServer

from underfoot_lab.geo.gazetteer import get_gazetteer
from underfoot_lab.http import make_client, reset_rate_limits, set_rate_limit
from underfoot_lab.settings import Settings
from underfoot_lab.world import World, build_world


@pytest.fixture(scope="session")
def world() -> World:
    """The simulated offline world that renders the loopback server's payloads."""
    return build_world(Settings(_env_file=None), get_gazetteer())


@pytest.fixture
def server(world: World) -> Iterator[UpstreamServer]:
    srv = UpstreamServer(world).start()
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture(autouse=True)
def _fast_rate_limits() -> Iterator[None]:
    # Reddit's polite default (3 per 3 s) would make retry tests slow; the limiter itself is
    # tested in tests/pipeline/sources.
    reset_rate_limits()
    set_rate_limit("reddit", 50, 1.0)
    yield
    reset_rate_limits()


@pytest.fixture
async def live_client(server: UpstreamServer, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    """The production client (real network transport) with the server's live settings."""
    client = make_client(server.settings(tmp_path))
    try:
        yield client
    finally:
        await client.aclose()
