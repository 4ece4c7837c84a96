"""The lean Atom reader (``reddit.parse_feed``) against feedparser, which it replaced: the same
candidate fields on the recorded fixtures and on many feeds of the offline world."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import feedparser
import pytest
from upstream_support import fixture_bytes

from underfoot_lab.errors import UpstreamError
from underfoot_lab.geo.gazetteer import get_gazetteer
from underfoot_lab.pipeline.sources.base import iso_datetime
from underfoot_lab.pipeline.sources.names import reddit_selftext, subreddits_for
from underfoot_lab.pipeline.sources.reddit import parse_feed
from underfoot_lab.settings import Settings
from underfoot_lab.world import build_world

Fields = tuple[str, str, str, str, datetime | None]


def old_fields(body: bytes) -> list[Fields]:
    """What the feedparser version of the source took from each entry (its code, verbatim)."""
    out = []
    for entry in feedparser.parse(body).get("entries") or []:
        content: Any = entry.get("content") or []
        html = str(content[0].get("value") or "") if content else ""
        out.append(
            (
                str(entry.get("id") or "").strip(),
                " ".join(str(entry.get("title") or "").split()),
                reddit_selftext(html),
                str(entry.get("link") or ""),
                iso_datetime(entry.get("published") or entry.get("updated")),
            )
        )
    return out


def new_fields(body: bytes) -> list[Fields]:
    return [
        (
            e.id.strip(),
            " ".join(e.title.split()),
            reddit_selftext(e.content_html),
            e.link,
            iso_datetime(e.published),
        )
        for e in parse_feed(body)
    ]


@pytest.mark.parametrize("name", ["reddit_search.atom", "reddit_subreddit.atom"])
def test_fixtures_read_alike(name: str) -> None:
    body = fixture_bytes(name)
    assert new_fields(body) == old_fields(body)
    assert len(new_fields(body)) >= 2


def world_feeds() -> Iterator[bytes]:
    world = build_world(Settings(_env_file=None, world="default"), get_gazetteer())
    towns = get_gazetteer().largest(n=400)[::10] + get_gazetteer().largest("KY", n=6)
    for town in towns:
        for intent in ("hidden gems", "swimming holes", "weird stuff to do", "live music"):
            q = f"{intent} {town.name}, {town.state_code}"
            paths = ["/search.rss"] + [
                f"/r/{sub}/search.rss" for sub in subreddits_for(town.name, town.state_code)
            ]
            for path in paths:
                params = [("q", q), ("sort", "relevance"), ("t", "all"), ("limit", "25")]
                if path != "/search.rss":
                    params.append(("restrict_sr", "1"))
                answer = world.respond("GET", path, params)
                if answer.status == 200:
                    yield answer.body


def test_world_feeds_read_alike() -> None:
    feeds = list(world_feeds())
    entries = 0
    for body in feeds:
        new = new_fields(body)
        assert new == old_fields(body)
        entries += len(new)
    assert len(feeds) >= 300
    assert entries >= 1000  # the comparison covered real content, not empty feeds


def test_alternate_link_entities_and_missing_fields() -> None:
    body = (
        b'<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom">'
        b"<entry><id> t3_a </id><title>Fish &amp; Chips\n  Shack</title>"
        b'<link rel="self" href="https://x/self"/><link href="https://x/alt"/>'
        b"<updated>2026-01-02T03:04:05Z</updated></entry>"
        b"<entry><id>t1_comment</id></entry></feed>"
    )
    entries = parse_feed(body)
    assert [e.id for e in entries] == [" t3_a ", "t1_comment"]
    assert entries[0].title == "Fish & Chips\n  Shack"
    assert entries[0].link == "https://x/alt"
    assert entries[0].published == "2026-01-02T03:04:05Z"  # <updated> when no <published>
    assert entries[1].content_html == "" and entries[1].link == ""
    assert new_fields(body)[0] == old_fields(body)[0]
    # feedparser used the id as the link of a link-less entry; an id is not a URL (and such
    # an entry, here a comment, never becomes a candidate).
    assert old_fields(body)[1][3] == "t1_comment" and new_fields(body)[1][3] == ""


def test_not_a_feed_has_no_entries_and_garbage_is_bad_payload() -> None:
    assert parse_feed(b"<html><body>maintenance</body></html>") == []
    with pytest.raises(UpstreamError) as info:
        parse_feed(b"<feed><entry>")
    assert info.value.error_class == "bad_payload"
