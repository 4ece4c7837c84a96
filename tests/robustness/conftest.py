"""Fixtures for the robustness tests: the loopback upstreams of ``tests/live`` and a fresh home.

The loopback server module lives in ``tests/live``; it is put on ``sys.path`` here so these
tests use the very same server (one fault mechanism, not two).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "live"))

from live_servers import UpstreamServer

from underfoot_lab.geo.gazetteer import get_gazetteer
from underfoot_lab.http import reset_rate_limits, set_rate_limit
from underfoot_lab.settings import Settings
from underfoot_lab.world import World, build_world


@pytest.fixture(scope="session")
def world() -> World:
    """The simulated world that renders the loopback server's payloads."""
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
    # Reddit's polite default (3 per 3 s) would make the fault matrix slow.
    reset_rate_limits()
    set_rate_limit("reddit", 200, 1.0)
    yield
    reset_rate_limits()
