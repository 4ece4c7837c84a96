"""The offline world's Reddit JSON listing: the Atom feed's posts in Reddit's listing format."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

import feedparser
import pytest

from underfoot_lab.geo.gazetteer import get_gazetteer
from underfoot_lab.world import World
from underfoot_lab.world.render_reddit_json import post_votes

CLOCK = datetime(2026, 6, 15, 12, tzinfo=UTC)
PARAMS = {"q": "hidden gems Pikeville, KY", "limit": "10", "sort": "relevance"}


@pytest.fixture(scope="module")
def world() -> World:
    return World(3, get_gazetteer(), CLOCK)


def listing(world: World, params: dict[str, str]) -> dict[str, Any]:
    res = world.respond("GET", "/search.json", params)
    assert res.status == 200
    assert res.content_type == "application/json; charset=UTF-8"
    body: dict[str, Any] = json.loads(res.body)
    return body


def test_same_posts_as_the_atom_feed(world: World) -> None:
    posts = [c["data"] for c in listing(world, PARAMS)["data"]["children"]]
    feed = feedparser.parse(world.respond("GET", "/search.rss", PARAMS).body)
    assert [p["name"] for p in posts] == [e["id"] for e in feed["entries"]]
    assert 0 < len(posts) <= 10
    for post, entry in zip(posts, feed["entries"], strict=True):
        assert post["title"] == entry["title"]
        assert "https://www.reddit.com" + post["permalink"] == entry["link"]
        assert post["subreddit"] == entry["tags"][0]["term"]


def test_listing_format(world: World) -> None:
    body = listing(world, PARAMS)
    assert body["kind"] == "Listing"
    data = body["data"]
    assert 0 < data["dist"] == len(data["children"]) <= 10
    assert data["before"] is None
    # Reddit names the last post as ``after`` only when the page is full.
    full = data["dist"] == int(PARAMS["limit"])
    assert data["after"] == (data["children"][-1]["data"]["name"] if full else None)
    for child in data["children"]:
        assert child["kind"] == "t3"
        post = child["data"]
        assert post["name"] == f"t3_{post['id']}"
        path = rf"/r/{post['subreddit']}/comments/{post['id']}/[a-z0-9_]+/"
        assert re.fullmatch(path, post["permalink"])
        assert post["url"] == "https://www.reddit.com" + post["permalink"]
        assert post["subreddit_name_prefixed"] == f"r/{post['subreddit']}"
        assert isinstance(post["score"], int) and post["score"] == post["ups"] >= 0
        assert isinstance(post["num_comments"], int) and post["num_comments"] >= 0
        assert isinstance(post["created_utc"], float) and post["created_utc"] < CLOCK.timestamp()
        assert post["is_self"] is True and isinstance(post["selftext"], str)
        # the subject of the post is what the world says the permalink is about
        world_post = world.post_for_url(post["permalink"])
        assert world_post is not None and world_post.title == post["title"]
        assert post["selftext"] == "\n\n".join(world_post.paragraphs)


def test_short_page_has_no_after_and_unknown_town_is_empty(world: World) -> None:
    few = listing(world, {**PARAMS, "limit": "100"})["data"]
    assert few["dist"] < 100 and few["after"] is None
    nowhere = listing(world, {"q": "hidden gems Atlantis, ZZ", "limit": "10"})["data"]
    assert nowhere["children"] == [] and nowhere["dist"] == 0


def test_votes_are_a_function_of_the_post(world: World) -> None:
    town = world.resolve_town("Pikeville", "KY")
    assert town is not None
    posts = world.universe(town).posts
    votes = [post_votes(p) for p in posts]
    assert votes == [post_votes(p) for p in posts]
    # heavy-tailed: most posts are small, a few clear production's "score > 100" bar
    popular = sum(1 for score, _, _ in votes if score > 100) / len(votes)
    assert 0.0 < popular < 0.25
    assert all(0.82 <= ratio <= 0.99 for _, _, ratio in votes)


def test_serpapi_keeps_its_path(world: World) -> None:
    with_engine = world.respond("GET", "/search.json", {"engine": "google", "q": PARAMS["q"]})
    assert "organic_results" in json.loads(with_engine.body)
    with_key = world.respond("GET", "/search.json", {"q": PARAMS["q"], "api_key": "k"})
    assert "organic_results" in json.loads(with_key.body)  # SerpAPI's default engine
