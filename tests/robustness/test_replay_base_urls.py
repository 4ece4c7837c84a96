"""A recording replays under any base URL settings (issue 14 case 10): exchanges are keyed by
upstream and path+query, not by host; first-format recordings (keyed by host) still load."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from live_servers import SECRETS, UpstreamServer

from underfoot_lab.pipeline.run import Pipeline
from underfoot_lab.recording import FORMAT, FORMAT_V1, exchange_key, request_key, upstream_name
from underfoot_lab.records import SearchResult

QUERY = "hidden gems in Pikeville KY"
ELSEWHERE = {
    # Nothing listens on these; a replay must never try them.
    "openai_base_url": "http://127.0.0.2:9/proxy/v1",
    "serpapi_base_url": "http://127.0.0.3:9",
    "reddit_base_url": "http://127.0.0.4:9",
    "geoapify_base_url": "https://geo.example.invalid",
}


def comparable(result: SearchResult) -> dict[str, Any]:
    d: dict[str, Any] = json.loads(json.dumps(result.to_dict()))
    d.pop("cache")
    for row in (*d["trace"], *d["sources"]):
        row.pop("elapsed_ms")
    return d


def record(server: UpstreamServer, home: Path) -> tuple[Path, SearchResult]:
    recording = home / "recording"
    with Pipeline(server.settings(home), record_dir=recording) as pipe:
        live = pipe.search(QUERY)
    server.stop()
    return recording, live


def test_the_key_ignores_scheme_host_port_and_openai_prefix() -> None:
    a = request_key("GET", "http://127.0.0.1:8001/search.json?engine=google&q=x&api_key=***", b"")
    b = request_key("GET", "https://serpapi.com/search.json?engine=google&q=x&api_key=***", b"")
    assert a == b
    reddit = request_key("GET", "https://serpapi.com/search.json?q=x", b"")
    assert reddit != a  # same path, another upstream
    body = b'{"model": "m"}'
    assert request_key("POST", "https://api.openai.com/v1/chat/completions", body) == request_key(
        "POST", "http://10.0.0.1:3128/proxy/v1/chat/completions", body
    )
    assert upstream_name("/v1/geocode/search", "text=x") == "geoapify"
    assert upstream_name("/r/hiking/search.rss", "q=x") == "reddit"
    assert upstream_name("/search.json", "engine=google_maps") == "serpapi"


def test_a_recording_replays_under_other_base_urls(server: UpstreamServer, tmp_path: Path) -> None:
    recording, live = record(server, tmp_path)
    files = [p for p in recording.iterdir() if p.name != "manifest.json"]
    upstreams = {json.loads(p.read_text())["upstream"] for p in files}
    assert upstreams == {"openai", "serpapi", "reddit", "geoapify"}
    assert all(json.loads(p.read_text())["format"] == FORMAT for p in files)

    settings = server.settings(tmp_path, replay_dir=recording, **ELSEWHERE)
    with Pipeline(settings) as pipe:
        replayed = pipe.search(QUERY)
    assert comparable(replayed) == comparable(live)
    assert {s.status for s in replayed.sources} == {"ok"}
    assert all(t.status != "fallback" for t in replayed.trace)
    for path in recording.iterdir():
        data = path.read_bytes()
        assert not any(s.encode() in data for s in SECRETS), path.name


def test_first_format_recordings_still_load(server: UpstreamServer, tmp_path: Path) -> None:
    recording, live = record(server, tmp_path)
    # Rewrite the recording as the first format wrote it: keyed by the whole URL (host too).
    for path in recording.iterdir():
        if path.name == "manifest.json":
            continue
        data = json.loads(path.read_text())
        req = data["request"]
        body = req["body"]["data"].encode() if req["body"]["encoding"] == "utf-8" else b""
        data.update(format=FORMAT_V1, key=exchange_key(req["method"], req["url"], body))
        data.pop("upstream")
        path.write_text(json.dumps(data))

    same = server.settings(tmp_path, replay_dir=recording)
    moved = server.settings(tmp_path, replay_dir=recording, **ELSEWHERE)
    for settings in (same, moved):
        with Pipeline(settings) as pipe:
            replayed = pipe.search(QUERY)
        assert comparable(replayed) == comparable(live)
