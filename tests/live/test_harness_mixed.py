"""A mixed (auto) run through the composition root: the live upstream's requests reach the
loopback server, every other upstream answers from the offline world, and a recording of the
run holds both."""

from __future__ import annotations

import json
from pathlib import Path

from live_servers import UpstreamServer

from underfoot_lab.harness import build_harness
from underfoot_lab.settings import Settings

QUERY = "hidden gems in Pikeville KY"


def mixed(server: UpstreamServer, home: Path) -> Settings:
    # Reddit live (named, keyless); SerpAPI without a key, at an origin nobody serves.
    return server.settings(
        home,
        mode="auto",
        live_sources=("reddit",),
        openai_api_key=None,
        serpapi_api_key=None,
        geoapify_api_key=None,
        serpapi_base_url="https://serpapi.invalid",
    )


def test_live_source_goes_to_the_network_the_rest_to_the_world(
    server: UpstreamServer, tmp_path: Path
) -> None:
    with build_harness(mixed(server, tmp_path), use_cache=False) as harness:
        live = {c.provider for c in harness.pipeline.selection.all() if c.live}
        assert live == {"reddit"} and harness.simulated
        result = harness.pipeline.search(QUERY)
        assert harness.world_built
    assert server.seen and {s.route.split(":")[0] for s in server.seen} == {"reddit"}
    status = {s.source: s.status for s in result.sources}
    assert status == dict.fromkeys(
        ("serpapi_web", "serpapi_local", "serpapi_events", "reddit"), "ok"
    )
    by_source = {r.sources: r.simulated for r in result.results if len(r.sources) == 1}
    assert by_source.get(("reddit",)) is False  # a live source's results are real
    assert by_source.get(("serpapi_local",)) is True  # the world's are simulated


def test_recording_a_mixed_run_holds_both_upstreams(server: UpstreamServer, tmp_path: Path) -> None:
    recording = tmp_path / "rec"
    with build_harness(mixed(server, tmp_path), record_dir=recording) as harness:
        harness.pipeline.search(QUERY)
    hosts = {
        json.loads(p.read_text())["request"]["url"].split("/")[2]
        for p in recording.glob("*.json")
        if p.name != "manifest.json"
    }
    assert "serpapi.invalid" in hosts and any(h.startswith("127.0.0.1") for h in hosts)
