"""``underfoot-lab collect``: confirmation, budget, resume without duplicate calls."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from bundle_support import MINI, Example, cli, live_env
from live_servers import SECRETS, UpstreamServer


def manifest(path: Path) -> dict:  # type: ignore[type-arg]
    return json.loads((path / "manifest.json").read_text())


def test_example_bundle_is_complete_labelled_and_secret_free(example: Example) -> None:
    m = manifest(example.path)
    assert m["format"] == "underfoot-bundle/1"
    assert m["status"] == "complete"
    assert "not real data" in m["label"]
    assert {q["status"] for q in m["queries"].values()} == {"done"}
    # Every call the server saw is counted, per provider, with a cost estimate.
    assert sum(m["counts"]["calls"].values()) == example.requests
    assert set(m["counts"]["calls"]) == {"openai", "geoapify", "serpapi", "reddit"}
    assert m["cost"]["by_provider_usd"]["serpapi"] > 0
    assert m["providers"]["settings"]["mode"] == "live"
    for file in example.path.rglob("*"):
        if file.is_file():
            data = file.read_bytes()
            assert not any(s.encode() in data for s in SECRETS), file


def test_collect_stops_at_max_requests_and_resumes_without_duplicates(
    example: Example, tmp_path: Path
) -> None:
    out = tmp_path / "b"
    server = UpstreamServer().start()
    try:
        with pytest.MonkeyPatch.context() as mp:
            live_env(mp, server, tmp_path)
            assert cli("collect", "--region-set", MINI, "--out", out, "--yes", "--no-progress",
                       "--max-requests", "15") == 0  # fmt: skip
            first = len(server.seen)
            assert first <= 15
            m = manifest(out)
            assert m["status"] == "partial"
            statuses = [q["status"] for q in m["queries"].values()]
            assert statuses.count("done") == 1 and statuses.count("pending") == 2
            # Without --resume an existing bundle is refused.
            assert cli("collect", "--region-set", MINI, "--out", out, "--yes") == 2
            assert cli("collect", "--region-set", MINI, "--out", out, "--yes", "--no-progress",
                       "--resume") == 0  # fmt: skip
            assert manifest(out)["status"] == "complete"
            # Interrupted + resumed asked the upstreams exactly as often as one clean run.
            assert len(server.seen) == example.requests
            assert cli("collect", "--region-set", MINI, "--out", out, "--yes", "--no-progress",
                       "--resume") == 0  # fmt: skip
            assert len(server.seen) == example.requests  # nothing left to fetch
    finally:
        server.stop()
    assert len(manifest(out)["sessions"]) == 3


def test_collect_without_terminal_needs_yes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    server = UpstreamServer().start()
    try:
        with pytest.MonkeyPatch.context() as mp:
            live_env(mp, server, tmp_path)
            code = cli("collect", "--region-set", MINI, "--out", tmp_path / "b")
    finally:
        server.stop()
    assert code == 2
    assert "--yes" in capsys.readouterr().err
    assert server.seen == []


def test_collect_refuses_offline_sources(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    server = UpstreamServer().start()
    try:
        with pytest.MonkeyPatch.context() as mp:
            live_env(mp, server, tmp_path)
            mp.delenv("SERPAPI_API_KEY")
            code = cli("collect", "--region-set", MINI, "--out", tmp_path / "b", "--yes")
    finally:
        server.stop()
    assert code == 2
    assert "serpapi_web" in capsys.readouterr().err
    assert server.seen == []
