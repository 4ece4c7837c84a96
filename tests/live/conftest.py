"""Fixtures for the live-mode tests: the loopback upstream server and fresh rate limits."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from live_servers import UpstreamServer
from loopback_fixtures import reddit_rate_limit, server, world

from underfoot_lab.http import make_client

__all__ = ["server", "world"]  # shared fixtures, imported so pytest finds them here


@pytest.fixture(autouse=True)
def _fast_rate_limits() -> Iterator[None]:
    with reddit_rate_limit(50):
        yield


@pytest.fixture
async def live_client(server: UpstreamServer, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    """The production client (real network transport) with the server's live settings."""
    client = make_client(server.settings(tmp_path))
    try:
        yield client
    finally:
        await client.aclose()
