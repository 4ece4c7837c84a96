"""The example bundle: the mini region set collected from the test suite's loopback upstreams.

The loopback server (``tests/live/live_servers.py``) speaks SerpAPI, Reddit, Geoapify and
OpenAI with fake keys; the bundle's manifest labels it as such (it is not real data).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "live"))

from live_servers import UpstreamServer

from underfoot_lab.cli import main
from underfoot_lab.http import reset_rate_limits, set_rate_limit

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


@pytest.fixture(autouse=True)
def _fast_rate_limits() -> Iterator[None]:
    # Reddit's polite 3 per 3 s would make collecting slow; the limiter is tested elsewhere.
    reset_rate_limits()
    set_rate_limit("reddit", 50, 1.0)
    yield
    reset_rate_limits()


@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Example]:
    """Collect the example bundle and run the live evaluation, then STOP the upstreams."""
    import json

    from underfoot_lab.evaluation.runner import RunStore

    home = tmp_path_factory.mktemp("home")
    out = tmp_path_factory.mktemp("bundles") / "mini-example"
    reset_rate_limits()
    set_rate_limit("reddit", 50, 1.0)
    server = UpstreamServer().start()
    try:
        with pytest.MonkeyPatch.context() as mp:
            live_env(mp, server, home)
            code = cli("collect", "--region-set", MINI, "--out", out, "--yes",
                       "--no-progress", "--label", LABEL)  # fmt: skip
            assert code == 0
            requests = len(server.seen)
            assert cli("evaluate", "--region-set", MINI, "--no-cache", "--no-mlflow",
                       "--no-progress", "--json", "--concurrency", "1") == 0  # fmt: skip
        store = RunStore(home / "runs.sqlite3")
        run_id = store.run_ids()[-1]
        rankings = {}
        for qid, row in store.rows(run_id).items():
            result = row.result()
            assert result is not None
            rankings[qid] = [r.id for r in result.results]
        assert json.loads((out / "manifest.json").read_text())["label"] == LABEL
    finally:
        server.stop()
        reset_rate_limits()
    yield Example(out, home, requests, rankings)
