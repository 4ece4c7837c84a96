"""Shared pieces of the bundle tests (a module of its own: ``conftest`` names collide across
test folders, so tests import from here)."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "live"))

from live_servers import UpstreamServer

from underfoot_lab.cli import main

MINI = Path(__file__).resolve().parents[1] / "fixtures" / "regions" / "mini.yaml"
LABEL = "example: collected from the test suite's loopback upstream servers, not real data"


@dataclass
class Example:
    """The example bundle and what collecting it cost."""

    path: Path
    home: Path
    requests: int
    """Requests the loopback server saw while collecting it, uninterrupted."""
    live_rankings: dict[str, list[str]]
    """query id -> result ids of a live ``evaluate`` against the same server."""


def cli(*args: str) -> int:
    return main([str(a) for a in args])


def live_env(mp: pytest.MonkeyPatch, server: UpstreamServer, home: Path) -> None:
    for key in ("UNDERFOOT_SOURCES", "UNDERFOOT_LIVE_SOURCES", "UNDERFOOT_WEIGHTS"):
        mp.delenv(key, raising=False)
    for key, value in server.env().items():
        mp.setenv(key, value)
    mp.setenv("UNDERFOOT_HOME", str(home))
    mp.setenv("UNDERFOOT_HTTP_TIMEOUT_S", "2")
    mp.delenv("MLFLOW_TRACKING_URI", raising=False)
    mp.chdir(home)  # no stray .env


def offline_env(mp: pytest.MonkeyPatch, home: Path) -> None:
    """No key, offline mode: what someone replaying a bundle needs (nothing)."""
    for key in ("OPENAI_API_KEY", "SERPAPI_API_KEY", "GEOAPIFY_API_KEY", "UNDERFOOT_SOURCES"):
        mp.delenv(key, raising=False)
    for key in ("OPENAI_BASE_URL", "SERPAPI_BASE_URL", "REDDIT_BASE_URL", "GEOAPIFY_BASE_URL"):
        mp.delenv(key, raising=False)
    mp.setenv("UNDERFOOT_MODE", "offline")
    mp.setenv("UNDERFOOT_HOME", str(home))
    mp.delenv("MLFLOW_TRACKING_URI", raising=False)
    mp.chdir(home)
