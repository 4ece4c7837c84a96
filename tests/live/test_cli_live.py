"""The issue's done-when, in subprocesses: ``UNDERFOOT_MODE=live underfoot-lab search ... --json``
against the loopback upstreams uses the live providers, degrades to partial results when some
fail, records and replays, and no key appears in stdout, stderr (DEBUG logs included), the
cache file or the recordings. Also ``underfoot-lab doctor``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from live_servers import SECRETS, UpstreamServer, rate_limited, server_error

pytestmark = pytest.mark.slow

QUERY = "hidden gems in Pikeville KY"
# The CLI with logging at DEBUG on stderr, as someone chasing a problem would run it.
DEBUG_CLI = (
    "import logging, sys; logging.basicConfig(level=logging.DEBUG, stream=sys.stderr); "
    "from underfoot_lab.cli import main; sys.exit(main())"
)


def cli(
    args: list[str], home: Path, env: dict[str, str], *, debug: bool = False
) -> subprocess.CompletedProcess[str]:
    full_env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("UNDERFOOT_", "OPENAI_", "SERPAPI_", "GEOAPIFY_", "REDDIT_"))
    }
    full_env.update(env)
    full_env["UNDERFOOT_HOME"] = str(home)
    command = ["-c", DEBUG_CLI] if debug else ["-m", "underfoot_lab.cli"]
    return subprocess.run(
        [sys.executable, *command, *args],
        capture_output=True,
        text=True,
        env=full_env,
        cwd=home,  # no stray .env file
        timeout=180,
    )


def assert_no_secrets(*texts: str | bytes) -> None:
    for text in texts:
        data = text if isinstance(text, bytes) else text.encode()
        for secret in SECRETS:
            assert secret.encode() not in data
            assert secret[:8].encode() not in data  # not even a prefix


def comparable(out: dict[str, Any]) -> dict[str, Any]:
    out.pop("cache")
    for row in (*out["trace"], *out["sources"]):
        row.pop("elapsed_ms")
    return out


def test_live_search_record_and_replay(server: UpstreamServer, tmp_path: Path) -> None:
    recording = tmp_path / "recording"
    p = cli(
        ["search", QUERY, "--json", "--record", str(recording)], tmp_path, server.env(), debug=True
    )
    assert p.returncode == 0, p.stderr[-3000:]
    out = json.loads(p.stdout)
    assert out["parsed"]["parser"] == "openai"
    assert any(t["stage"] == "geocode" and t["provider"] == "geoapify" for t in out["trace"])
    assert out["place"]["geocoder"] == "geoapify"
    assert out["simulated"] is False and out["world"] is None
    assert out["results"] and all(r["simulated"] is False for r in out["results"])
    assert out["answer_detail"]["responder"] == "openai"
    assert {s["status"] for s in out["sources"]} == {"ok"}
    # DEBUG logging did happen (httpx logs every URL), scrubbed.
    assert "HTTP Request: GET" in p.stderr and "api_key=***" in p.stderr
    assert_no_secrets(p.stdout, p.stderr)
    files = list(recording.iterdir())
    assert len(files) == sum(server.hits.values()) + 1
    assert_no_secrets(*(f.read_bytes() for f in files))

    server.stop()
    again = cli(["search", QUERY, "--json", "--replay", str(recording)], tmp_path, server.env())
    assert again.returncode == 0, again.stderr[-3000:]
    assert comparable(json.loads(again.stdout)) == comparable(out)
    assert_no_secrets(again.stdout, again.stderr)


def test_live_search_degrades_to_partial_results(server: UpstreamServer, tmp_path: Path) -> None:
    server.fail("reddit", server_error())
    server.fail("serpapi:google_events", rate_limited("1"))  # 429 forever
    p = cli(["search", QUERY, "--json"], tmp_path, server.env(), debug=True)
    assert p.returncode == 0, p.stderr[-3000:]
    out = json.loads(p.stdout)
    sources = {s["source"]: s for s in out["sources"]}
    assert sources["reddit"]["status"] == "error"
    assert sources["reddit"]["error_class"] == "http_error"
    assert sources["serpapi_events"]["status"] == "error"
    assert sources["serpapi_events"]["error_class"] == "rate_limited"
    assert sources["serpapi_web"]["status"] == sources["serpapi_local"]["status"] == "ok"
    assert next(t for t in out["trace"] if t["stage"] == "sources")["status"] == "partial"
    assert out["results"] and out["parsed"]["parser"] == "openai"
    assert out["cache"]["status"] == "miss"
    assert server.hits["serpapi:google_events"] == 3  # retried, honouring Retry-After
    cache_files = [f for f in tmp_path.rglob("*") if f.is_file()]
    assert any(f.name.startswith("cache.sqlite3") for f in cache_files)
    assert_no_secrets(p.stdout, p.stderr, *(f.read_bytes() for f in cache_files))

    table = cli(["search", QUERY], tmp_path, server.env())  # the table, from the cache
    assert table.returncode == 0, table.stderr[-3000:]
    assert "Pikeville" in table.stdout and "offline world" not in table.stdout
    assert_no_secrets(table.stdout, table.stderr)


def test_doctor(server: UpstreamServer, tmp_path: Path) -> None:
    env = {**server.env(), "SERPAPI_API_KEY": ""}
    p = cli(["doctor", "--json"], tmp_path, env)
    assert p.returncode == 0, p.stderr
    data = json.loads(p.stdout)
    assert data["mode"] == "live"
    by_stage = {s["stage"]: s for s in data["stages"]}
    assert set(by_stage) == {
        "parse",
        "geocode",
        "source serpapi_web",
        "source serpapi_local",
        "source serpapi_events",
        "source reddit",
        "respond",
    }
    assert by_stage["parse"]["provider"] == "openai" and by_stage["parse"]["live"]
    assert by_stage["parse"]["key"] == "OPENAI_API_KEY" and by_stage["parse"]["key_set"] is True
    assert by_stage["geocode"]["provider"] == "geoapify"
    web = by_stage["source serpapi_web"]
    assert (
        not web["live"] and web["key_set"] is False and "SERPAPI_API_KEY not set" in web["reason"]
    )
    assert by_stage["source reddit"]["live"] and by_stage["source reddit"]["key"] is None
    assert data["keys"] == {
        "OPENAI_API_KEY": True,
        "SERPAPI_API_KEY": False,
        "GEOAPIFY_API_KEY": True,
        "EVENTBRITE_TOKEN": False,
    }
    assert data["base_urls"]["openai"] == server.base_url  # host only: no /v1
    assert data["simulated"] is True and data["world"]["used"] is True
    assert data["cache"]["path"].endswith("cache.sqlite3")
    assert isinstance(data["world"]["seed"], int)

    text = cli(["doctor"], tmp_path, env)
    assert text.returncode == 0, text.stderr
    assert "mode: live" in text.stdout and "OPENAI_API_KEY: yes" in text.stdout
    assert "SERPAPI_API_KEY: no" in text.stdout and "world: seed" in text.stdout
    assert_no_secrets(p.stdout, p.stderr, text.stdout, text.stderr)


def test_doctor_offline(tmp_path: Path) -> None:
    p = cli(["doctor"], tmp_path, {"UNDERFOOT_MODE": "offline"})
    assert p.returncode == 0, p.stderr
    assert "mode: offline" in p.stdout
    assert "heuristic" in p.stdout and "gazetteer" in p.stdout and "template" in p.stdout
    assert "OPENAI_API_KEY: no" in p.stdout
