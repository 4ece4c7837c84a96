"""The example bundle: the mini region set collected from the test suite's loopback upstreams.

The loopback server (``tests/live/live_servers.py``) speaks SerpAPI, Reddit, Geoapify and
OpenAI with fake keys; the bundle's manifest labels it as such (it is not real data).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "live"))

from bundle_support import LABEL, MINI, Example, cli, live_env
from live_servers import UpstreamServer
from loopback_fixtures import reddit_rate_limit

from underfoot_lab.http import reset_rate_limits, set_rate_limit


@pytest.fixture(autouse=True)
def _fast_rate_limits() -> Iterator[None]:
    with reddit_rate_limit(50):
        yield


@pytest.fixture(scope="session")
def example(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Example]:
    """Collect the example bundle and run the live evaluation, then STOP the upstreams (once per
    session: every test reads it, or works on a copy)."""
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
