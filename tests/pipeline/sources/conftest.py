"""Fixtures for the sources-stage tests (helpers live in ``upstream_support``)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from upstream_support import Loopback, make_settings, start_loopback, stop_loopback

from underfoot_lab.http import make_client, reset_rate_limits


@pytest.fixture
def loopback() -> Iterator[Loopback]:
    server = start_loopback()
    try:
        yield server
    finally:
        stop_loopback(server)


@pytest.fixture(autouse=True)
def _fresh_rate_limits() -> Iterator[None]:
    reset_rate_limits()
    yield
    reset_rate_limits()


@pytest.fixture
async def real_client() -> AsyncIterator[httpx.AsyncClient]:
    """The production client (real network transport), for loopback tests."""
    client = make_client(make_settings(http_timeout_s=2.0))
    try:
        yield client
    finally:
        await client.aclose()
