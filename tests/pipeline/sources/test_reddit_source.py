"""Reddit connector: feed requests, Atom parsing with entity-escaped HTML, merging, errors."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime

import httpx
import pytest
from upstream_support import (
    PIKEVILLE,
    Loopback,
    Reply,
    client_ctx,
    fixture_bytes,
    make_ctx,
    make_settings,
    parsed_query,
)

from underfoot_lab.errors import UpstreamError
from underfoot_lab.http import RetryPolicy, make_client
from underfoot_lab.pipeline.sources import SOURCES
from underfoot_lab.pipeline.sources.reddit import RedditSource
from underfoot_lab.records import Availability, Candidate
from underfoot_lab.settings import Settings

ATOM = "application/atom+xml; charset=UTF-8"
EMPTY_FEED = (
    b'<?xml version="1.0" encoding="UTF-8"?><feed xmlns="http://www.w3.org/2005/Atom" '
    b'xmlns:media="http://search.yahoo.com/mrss/"><category term="pikeville" '
    b'label="r/pikeville"/><updated>2026-06-15T11:58:04+00:00</updated>'
    b"<id>/r/pikeville/search.rss</id><title>pikeville: search results</title></feed>"
)
UA = "python:underfoot-lab-tests:0.1 (by /u/underfoot)"


def feeds_by_path(
    routes: dict[str, tuple[int, bytes]], seen: list[httpx.Request]
) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        status, body = routes.get(request.url.path, (404, b"<html>not found</html>"))
        ctype = ATOM if status == 200 else "text/html; charset=UTF-8"
        return httpx.Response(status, content=body, headers={"Content-Type": ctype})

    return httpx.MockTransport(handler)


DEFAULT_ROUTES = {
    "/search.rss": (200, fixture_bytes("reddit_search.atom")),
    "/r/Kentucky/search.rss": (200, fixture_bytes("reddit_subreddit.atom")),
    "/r/pikeville/search.rss": (200, EMPTY_FEED),
}


async def run(
    routes: dict[str, tuple[int, bytes]] | None = None, *, settings: Settings | None = None
) -> tuple[list[Candidate], list[httpx.Request]]:
    settings = settings or make_settings(user_agent=UA)
    seen: list[httpx.Request] = []
    client = make_client(settings, transport=feeds_by_path(routes or DEFAULT_ROUTES, seen))
    try:
        source = RedditSource(make_ctx(settings, client), retry=RetryPolicy(attempts=1))
        found = await source.fetch(parsed_query(), PIKEVILLE)
    finally:
        await client.aclose()
    return list(found), seen


async def test_request_shapes() -> None:
    _, seen = await run()
    by_path = {r.url.path: r for r in seen}
    assert sorted(by_path) == ["/r/Kentucky/search.rss", "/r/pikeville/search.rss", "/search.rss"]
    common = {"q": "hidden gems Pikeville, KY", "sort": "relevance", "t": "all", "limit": "25"}
    assert dict(by_path["/search.rss"].url.params) == common
    for sub in ("Kentucky", "pikeville"):
        request = by_path[f"/r/{sub}/search.rss"]
        assert dict(request.url.params) == {**common, "restrict_sr": "1"}
        assert str(request.url).startswith(f"https://www.reddit.com/r/{sub}/search.rss?")
    assert all(r.headers["User-Agent"] == UA for r in seen)


async def test_entries_are_mapped_merged_and_deduplicated() -> None:
    found, _ = await run()
    # Most local first: r/pikeville (empty), r/Kentucky, then site-wide; t3_1d2x3yz is in both
    # the state feed and the site-wide feed and appears once; the t5_ subreddit entry is dropped.
    assert [c.native_id for c in found] == ["t3_1e5f6gh", "t3_1d2x3yz", "t3_1c9k8lm", "t3_1b7q2rs"]
    assert [c.rank for c in found] == [1, 2, 3, 4]
    assert {c.source for c in found} == {"reddit"}
    assert {c.source_type for c in found} == {"reddit"}

    hidden = found[1]
    assert hidden == Candidate(
        source="reddit",
        source_type="reddit",
        native_id="t3_1d2x3yz",
        title="Hidden gems in Pikeville?",
        name="Hidden gems in Pikeville?",
        description=(
            "Passing through Pikeville next month. Don't want the usual stuff & chains \u2014 "
            "where do locals actually go? So far I have Dils Cemetery and the Cut-Through "
            "overlook."
        ),
        url="https://www.reddit.com/r/Kentucky/comments/1d2x3yz/hidden_gems_in_pikeville/",
        rank=2,
        published_at=datetime(2026, 5, 28, 14, 3, 11, tzinfo=UTC),
        simulated=False,
    )
    assert hidden.rating is None and hidden.reviews is None  # the feed has no score

    link_post = found[2]
    assert link_post.title == "Sunset from Bob Amos Park, Pikeville KY"
    assert link_post.description == ""  # a link post has no self text
    assert link_post.url.endswith("/sunset_from_bob_amos_park_pikeville_ky/")

    bakery = found[3]
    assert bakery.description == (
        "The salt-rising bread at Blue Raven Bakery is worth the drive. Get there before 9."
    )
    assert bakery.published_at == datetime(2026, 3, 2, 16, 20, 45, tzinfo=UTC)


async def test_missing_subreddit_does_not_sink_the_others() -> None:
    routes = {
        "/search.rss": (200, fixture_bytes("reddit_search.atom")),
        "/r/Kentucky/search.rss": (200, fixture_bytes("reddit_subreddit.atom")),
        # r/pikeville is not routed: 404
    }
    found, seen = await run(routes)
    assert len(seen) == 3
    assert [c.native_id for c in found][:2] == ["t3_1e5f6gh", "t3_1d2x3yz"]
    assert len(found) == 4


async def test_all_feeds_failing_raises_the_sitewide_error() -> None:
    routes = {"/search.rss": (503, b"<html>down</html>")}
    with pytest.raises(UpstreamError) as info:
        await run(routes)
    assert info.value.error_class == "http_error"
    assert "HTTP 503" in str(info.value)
    assert "/search.rss" in str(info.value)


async def test_feeds_are_fetched_concurrently() -> None:
    arrived = 0
    all_in = asyncio.Event()

    async def handler(request: httpx.Request) -> httpx.Response:
        nonlocal arrived
        arrived += 1
        if arrived == 3:
            all_in.set()
        # Each answer waits until all three requests are in flight: sequential fetching would
        # deadlock here (and time out).
        await asyncio.wait_for(all_in.wait(), timeout=2.0)
        return httpx.Response(200, content=EMPTY_FEED, headers={"Content-Type": ATOM})

    settings = make_settings()
    client = make_client(settings, transport=httpx.MockTransport(handler))
    try:
        found = await RedditSource.create(make_ctx(settings, client)).fetch(
            parsed_query(), PIKEVILLE
        )
    finally:
        await client.aclose()
    assert found == []
    assert arrived == 3


async def test_rate_limited_through_loopback(loopback: Loopback) -> None:
    for path in ("/search.rss", "/r/Kentucky/search.rss", "/r/pikeville/search.rss"):
        loopback.script(path, Reply(429, b"Too Many Requests", content_type="text/plain"))
    settings = make_settings(reddit_base_url=loopback.base_url)
    async with client_ctx(settings) as ctx:
        source = RedditSource(ctx, retry=RetryPolicy(attempts=1))
        with pytest.raises(UpstreamError) as info:
            await source.fetch(parsed_query(), PIKEVILLE)
    assert info.value.error_class == "rate_limited"
    assert sorted(loopback.paths()) == [
        "/r/Kentucky/search.rss",
        "/r/pikeville/search.rss",
        "/search.rss",
    ]


async def test_real_feed_through_loopback(loopback: Loopback) -> None:
    loopback.script("/search.rss", Reply(200, fixture_bytes("reddit_search.atom"), ATOM))
    loopback.script("/r/Kentucky/search.rss", Reply(200, EMPTY_FEED, ATOM))
    loopback.script("/r/pikeville/search.rss", Reply(200, EMPTY_FEED, ATOM))
    settings = make_settings(reddit_base_url=loopback.base_url, user_agent=UA)
    async with client_ctx(settings) as ctx:
        found = await RedditSource.create(ctx).fetch(parsed_query(), PIKEVILLE)
    assert [c.native_id for c in found] == ["t3_1d2x3yz", "t3_1c9k8lm", "t3_1b7q2rs"]
    assert {s.headers["user-agent"] for s in loopback.seen} == {UA}


async def test_malformed_feed_is_bad_payload() -> None:
    routes = {
        "/search.rss": (200, b"<feed><entry><title>half"),
        "/r/Kentucky/search.rss": (200, b"<feed><entry>"),
        "/r/pikeville/search.rss": (200, b"not xml at all"),
    }
    with pytest.raises(UpstreamError) as info:
        await run(routes)
    assert info.value.error_class == "bad_payload"


async def test_town_without_state_subreddit() -> None:
    settings = make_settings()
    seen: list[httpx.Request] = []
    client = make_client(
        settings, transport=feeds_by_path({"/search.rss": (200, EMPTY_FEED)}, seen)
    )
    place = replace(PIKEVILLE, admin1_code="")
    try:
        source = RedditSource(make_ctx(settings, client), retry=RetryPolicy(attempts=1))
        await source.fetch(parsed_query(), place)
    finally:
        await client.aclose()
    assert sorted(r.url.path for r in seen) == ["/r/pikeville/search.rss", "/search.rss"]
    assert dict(seen[0].url.params)["q"] == "hidden gems Pikeville, Kentucky"


def test_registered_and_available() -> None:
    registered: object = SOURCES.get("reddit")
    assert registered is RedditSource
    assert RedditSource.name == "reddit"
    assert RedditSource.source_type == "reddit"
    offline = Settings(_env_file=None, mode="offline")
    assert RedditSource.availability(offline) == Availability(True, "offline world")
    live = Settings(_env_file=None, mode="live")
    assert RedditSource.availability(live).ok
