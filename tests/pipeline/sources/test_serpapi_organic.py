"""``serpapi_organic``: Google web search as production calls it, over real loopback HTTP."""

from __future__ import annotations

import json

import pytest
from upstream_support import (
    API_KEY,
    PIKEVILLE,
    Loopback,
    Reply,
    client_ctx,
    fixture_bytes,
    make_settings,
    parsed_query,
)

from underfoot_lab.errors import UpstreamError
from underfoot_lab.http import RetryPolicy
from underfoot_lab.pipeline.sources import SOURCES
from underfoot_lab.pipeline.sources.serpapi import SerpApiOrganicSource
from underfoot_lab.records import Candidate


async def fetch(loopback: Loopback, body: bytes) -> list[Candidate]:
    loopback.script("/search.json", Reply(200, body))
    settings = make_settings(serpapi_base_url=loopback.base_url)
    async with client_ctx(settings) as ctx:
        source = SerpApiOrganicSource(ctx, retry=RetryPolicy(attempts=1))
        return await source.fetch(parsed_query("dive bars"), PIKEVILLE)


async def test_production_request_and_organic_results_only(loopback: Loopback) -> None:
    raw = json.loads(fixture_bytes("serpapi_google.json"))
    assert raw["local_results"]["places"]  # the fixture has a local pack, which is ignored
    found = await fetch(loopback, fixture_bytes("serpapi_google.json"))
    [seen] = loopback.seen
    assert seen.path == "/search.json"
    assert seen.query == {
        "engine": "google",
        "q": "dive bars Pikeville, KY underground local hidden",
        "location": "Pikeville, KY",
        "hl": "en",
        "gl": "us",
        "num": "10",
        "api_key": API_KEY,
    }
    organic = raw["organic_results"]
    assert [c.url for c in found] == [o["link"] for o in organic]
    assert [c.rank for c in found] == [o["position"] for o in organic]
    for c, o in zip(found, organic, strict=True):
        assert c.source == "serpapi_organic" and c.source_type == "web"
        assert c.title == c.name == o["title"]  # production names items by title
        assert c.description == o.get("snippet", "")


async def test_only_the_first_ten(loopback: Loopback) -> None:
    organic = [
        {"position": n, "title": f"Page {n}", "link": f"https://p.example/{n}", "snippet": "s"}
        for n in range(1, 16)
    ]
    body = json.dumps({"search_metadata": {"status": "Success"}, "organic_results": organic})
    found = await fetch(loopback, body.encode())
    assert [c.rank for c in found] == list(range(1, 11))


def test_registered() -> None:
    registered: object = SOURCES.get("serpapi_organic")
    assert registered is SerpApiOrganicSource
    live_without_key = make_settings(mode="live", serpapi_api_key=None)
    assert not SerpApiOrganicSource.availability(live_without_key).ok


async def test_malformed_answer_is_bad_payload(loopback: Loopback) -> None:
    with pytest.raises(UpstreamError) as info:
        await fetch(loopback, b'{"organic_results": [')
    assert info.value.error_class == "bad_payload"
