"""Reddit's JSON listing connector over real loopback HTTP: the request production makes, the
listing parsed into candidates (vote score, subreddit, production's URL), and its failures."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from live_servers import Fault, UpstreamServer, provider_ctx, server_error
from records_support import parsed, pikeville

from underfoot_lab.errors import UpstreamError
from underfoot_lab.http import RetryPolicy
from underfoot_lab.pipeline.sources import SOURCES
from underfoot_lab.pipeline.sources.reddit_json import RedditJsonSource

PIKEVILLE = pikeville(geocoder="geoapify")
PARSED = parsed(parser="openai")
NO_WAIT = RetryPolicy(attempts=2, base_delay_s=0.0, max_wait_s=1.0)


def source(server: UpstreamServer, client: httpx.AsyncClient, home: Path) -> RedditJsonSource:
    return RedditJsonSource(provider_ctx(server.settings(home), client), retry=NO_WAIT)


async def test_listing_becomes_candidates(
    server: UpstreamServer, live_client: httpx.AsyncClient, tmp_path: Path
) -> None:
    found = await source(server, live_client, tmp_path).fetch(PARSED, PIKEVILLE)
    [seen] = server.requests_for("reddit_json")
    assert seen.path == "/search.json"
    assert seen.query == {"q": "hidden gems Pikeville, KY", "limit": "10", "sort": "relevance"}
    assert seen.headers["user-agent"] == server.settings(tmp_path).user_agent
    assert not server.requests_for("serpapi")  # the shared path did not reach SerpAPI
    # What the server sent, read independently of the connector.
    world = server.world.respond("GET", "/search.json", list(seen.query.items()))
    posts = [c["data"] for c in json.loads(world.body)["data"]["children"]]
    assert 0 < len(found) == len(posts) <= 10
    for rank, (cand, post) in enumerate(zip(found, posts, strict=True), start=1):
        assert cand.source == "reddit_json" and cand.source_type == "reddit"
        assert cand.rank == rank and not cand.simulated
        assert cand.native_id == f"t3_{post['id']}"
        assert cand.title == cand.name == post["title"]
        assert cand.description == post["selftext"]
        assert cand.url == "https://reddit.com" + post["permalink"]
        assert cand.votes == post["score"] and cand.comments == post["num_comments"]
        assert cand.community == post["subreddit"]
        assert cand.published_at is not None
        assert cand.published_at.timestamp() == post["created_utc"]
        # the world resolves production's URL form (no www.) to the post's subject
        subject = server.world.entity_for_url(cand.url)
        assert subject == server.world.entity_for_url(cand.native_id)


async def test_rate_limited(
    server: UpstreamServer, live_client: httpx.AsyncClient, tmp_path: Path
) -> None:
    body = b'{"message": "Too Many Requests", "error": 429}'
    server.fail("reddit_json", Fault(429, body, headers={"Retry-After": "0"}))
    with pytest.raises(UpstreamError) as info:
        await source(server, live_client, tmp_path).fetch(PARSED, PIKEVILLE)
    assert info.value.error_class == "rate_limited"
    assert len(server.requests_for("reddit_json")) == 2  # retried once, then gave up


async def test_server_error_then_recovery(
    server: UpstreamServer, live_client: httpx.AsyncClient, tmp_path: Path
) -> None:
    server.fail("reddit_json", server_error())
    with pytest.raises(UpstreamError) as info:
        await source(server, live_client, tmp_path).fetch(PARSED, PIKEVILLE)
    assert info.value.error_class == "http_error" and "HTTP 500" in str(info.value)
    server.clear()
    server.fail("reddit_json", Fault(503, b'{"error": 503}', times=1))
    found = await source(server, live_client, tmp_path).fetch(PARSED, PIKEVILLE)
    assert found and len(server.requests_for("reddit_json")) == 2


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"kind": "Listing", "data": {"children": [{"kind": "t3", "da', "malformed JSON"),
        (b'{"kind": "Listing", "data": {"after": null}}', "expected a Listing"),
        (b"[]", "expected a JSON object"),
    ],
    ids=["truncated", "no-children", "not-an-object"],
)
async def test_malformed_listing_is_bad_payload(
    server: UpstreamServer,
    live_client: httpx.AsyncClient,
    tmp_path: Path,
    body: bytes,
    message: str,
) -> None:
    server.fail("reddit_json", Fault(200, body))
    with pytest.raises(UpstreamError) as info:
        await source(server, live_client, tmp_path).fetch(PARSED, PIKEVILLE)
    assert info.value.error_class == "bad_payload"
    assert message in str(info.value)


def test_registered_and_available(server: UpstreamServer, tmp_path: Path) -> None:
    registered: object = SOURCES.get("reddit_json")
    assert registered is RedditJsonSource
    live = RedditJsonSource.availability(server.settings(tmp_path))
    assert live.ok and "no key" in live.reason
