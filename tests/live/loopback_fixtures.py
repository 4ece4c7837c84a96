"""Fixtures shared by the suites that talk to the loopback upstreams (``tests/live``,
``tests/robustness``, ``tests/bundles``): the simulated world behind the server, the server
itself, and fresh rate limits. A conftest imports the ones it uses, so there is one of each.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from live_servers import UpstreamServer

from underfoot_lab.geo.gazetteer import get_gazetteer
from underfoot_lab.http import reset_rate_limits, set_rate_limit
from underfoot_lab.settings import Settings
from underfoot_lab.world import World, build_world


@pytest.fixture(scope="session")
def world() -> World:
    """The simulated offline world that renders the loopback server's payloads."""
    return build_world(Settings(_env_file=None), get_gazetteer())


@pytest.fixture
def server(world: World) -> Iterator[UpstreamServer]:
    """A loopback upstream server for one test, stopped after it."""
    srv = UpstreamServer(world).start()
    try:
        yield srv
    finally:
        srv.stop()


@contextmanager
def reddit_rate_limit(per_second: int) -> Iterator[None]:
    """Fresh rate limits with Reddit's raised to ``per_second``, reset afterwards.

    Reddit's polite default (3 per 3 s) would make retry and collection tests slow; the limiter
    itself is tested in tests/pipeline/sources.
    """
    reset_rate_limits()
    set_rate_limit("reddit", per_second, 1.0)
    try:
        yield
    finally:
        reset_rate_limits()
