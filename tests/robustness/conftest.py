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

from loopback_fixtures import reddit_rate_limit, server, world

__all__ = ["server", "world"]  # shared fixtures, imported so pytest finds them here


@pytest.fixture(autouse=True)
def _fast_rate_limits() -> Iterator[None]:
    # Reddit's polite default would make the fault matrix slow.
    with reddit_rate_limit(200):
        yield
