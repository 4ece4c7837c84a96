"""WorldTransport: real httpx responses, sync and async, routed by path (host ignored)."""

from __future__ import annotations

from datetime import datetime

import httpx
import pytest

from underfoot_lab.geo.gazetteer import get_gazetteer
from underfoot_lab.settings import Settings, endpoint
from underfoot_lab.world import World, WorldTransport, build_world

CLOCK = datetime.fromisoformat("2026-06-15T12:00:00+00:00")


@pytest.fixture(scope="module")
def world() -> World:
    return World(3, get_gazetteer(), CLOCK)


def test_sync_client_routes_by_path(world: World) -> None:
    with httpx.Client(transport=WorldTransport(world)) as client:
        serp = client.get(
            "https://serpapi.com/search.json",
            params={"engine": "google", "q": "dive bars in Pikeville, KY", "api_key": "k"},
        )
        assert serp.status_code == 200
        assert serp.headers["content-type"].startswith("application/json")
        assert serp.json()["organic_results"]
        feed = client.get(
            "http://127.0.0.1:9/r/Kentucky/search.rss",
            params={"q": "dive bars Pikeville, KY", "restrict_sr": "1"},
        )
        assert feed.status_code == 200
        assert feed.headers["content-type"] == "application/atom+xml; charset=UTF-8"
        geo = client.get(
            "https://api.geoapify.com/v1/geocode/search",
            params={"text": "Pikeville, KY", "apiKey": "k"},
        )
        assert geo.json()["features"][0]["properties"]["city"] == "Pikeville"


async def test_async_client_and_settings_endpoints(world: World) -> None:
    settings = Settings(serpapi_base_url="http://127.0.0.1:8001")
    url = endpoint(settings.serpapi_base_url, "https://serpapi.com/search.json")
    async with httpx.AsyncClient(transport=WorldTransport(world)) as client:
        res = await client.get(url, params={"engine": "google_events", "q": "events in Ely, NV"})
    assert res.status_code == 200
    assert res.json()["events_results"]


def test_errors(world: World) -> None:
    with httpx.Client(transport=WorldTransport(world)) as client:
        unknown_path = client.get("https://serpapi.com/nope")
        assert unknown_path.status_code == 404
        bad_engine = client.get(
            "https://serpapi.com/search.json", params={"engine": "bing_maps", "q": "x"}
        )
        assert bad_engine.status_code == 400
        assert "error" in bad_engine.json()
        no_q = client.get("https://serpapi.com/search.json", params={"engine": "google"})
        assert no_q.status_code == 400
        assert no_q.json()["error"].startswith("Missing query")
        post = client.post("https://serpapi.com/search.json", json={"q": "x"})
        assert post.status_code == 405
        no_text = client.get("https://api.geoapify.com/v1/geocode/search")
        assert no_text.status_code == 400


def test_build_world_uses_settings() -> None:
    settings = Settings(world_seed=99, world_clock=CLOCK)
    built = build_world(settings, get_gazetteer())
    assert built.seed == 99 and built.clock == CLOCK
    assert isinstance(built.transport(), WorldTransport)


def test_repeated_requests_are_served_from_the_payload_cache(world: World) -> None:
    params = {"engine": "google_maps", "q": "hiking in Boston, MA"}
    first = world.respond("GET", "/search.json", params)
    again = world.respond("GET", "/search.json", params)
    assert again is first
