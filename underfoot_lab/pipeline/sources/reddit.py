"""Reddit: what locals post about a place, from Reddit's public search feeds (no key).

Requests (``REDDIT_BASE_URL`` moves only the scheme, host and port), concurrently:

* ``GET https://www.reddit.com/search.rss?q=<intent> <Town>, <ST>&sort=relevance&t=all&limit=25``
* ``GET https://www.reddit.com/r/<sub>/search.rss?q=<same>&restrict_sr=1&sort=relevance&t=all
  &limit=25`` for the state's subreddit and the town's (:func:`.names.subreddits_for`).

The feeds are Atom 1.0 (despite ``.rss``). Only the fields used (entry id, title, HTML content,
alternate link, published/updated) are read, with the standard library's XML parser
(:func:`parse_feed`; :func:`~underfoot_lab.http.fetch_xml` has already refused any DTD, so no
entity is ever declared or expanded): feedparser, with its sanitizer pass over HTML the
workbench turns into plain text anyway, was 42 % of an uncached evaluation (issue 15), and gave
the same candidates (``tests/pipeline/sources/test_reddit_parse.py``). Entries are merged most
local first (town subreddit, state subreddit, then site-wide), deduplicated by entry id; only
posts (``t3_`` ids) are kept. A feed that fails is skipped when another answered (a town may have
no subreddit); when every feed fails, the site-wide feed's error is raised. The feeds carry no
vote score or comment count, so candidates have none.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Self
from xml.etree import ElementTree  # nosec B405 -- DTDs refused before parsing (no entities)

from ...errors import UpstreamError
from ...http import RetryPolicy, fetch_xml
from ...records import Availability, Candidate, ParsedQuery, Place, SourceType
from ...registry import ProviderContext
from ...settings import Settings, endpoint
from .base import iso_datetime
from .names import reddit_selftext, short_label, subreddits_for

__all__ = ["FeedEntry", "RedditSource", "parse_feed"]

SEARCH_URL = "https://www.reddit.com/search.rss"
SUBREDDIT_SEARCH_URL = "https://www.reddit.com/r/{sub}/search.rss"
UPSTREAM = "reddit"
DEFAULT_INTENT = "hidden gems"

ATOM = "{http://www.w3.org/2005/Atom}"


@dataclass(frozen=True, slots=True)
class FeedEntry:
    """The fields of one Atom entry that become a candidate (raw strings, "" when absent)."""

    id: str
    title: str
    content_html: str
    """The first ``<content>``'s text: for ``type="html"`` the HTML, entities decoded."""
    link: str
    """The entry's alternate link (a ``<link>`` with ``rel="alternate"`` or no ``rel``)."""
    published: str
    """``<published>``, else ``<updated>``."""


def parse_feed(body: bytes) -> list[FeedEntry]:
    """The entries of an Atom feed, in document order.

    ``body`` is well-formed and DTD-free (checked by ``fetch_xml``). A document that is not an
    Atom feed has no entries, as feedparser had none for it.
    """
    if b"<!DOCTYPE" in body or b"<!ENTITY" in body:
        # No DTD means no entity to expand: the XML attacks bandit warns about need one.
        raise UpstreamError("bad_payload", f"{UPSTREAM}: feed with a DTD refused")
    try:
        root = ElementTree.fromstring(body)  # nosec B314 -- DTD-free, checked just above
    except ElementTree.ParseError:
        raise UpstreamError("bad_payload", f"{UPSTREAM}: unreadable feed") from None
    if root.tag != f"{ATOM}feed":
        return []
    return [_entry(e) for e in root.iterfind(f"{ATOM}entry")]


def _entry(e: ElementTree.Element) -> FeedEntry:
    content = e.find(f"{ATOM}content")
    published = e.findtext(f"{ATOM}published") or e.findtext(f"{ATOM}updated") or ""
    link = ""
    for el in e.iterfind(f"{ATOM}link"):
        if el.get("rel", "alternate") == "alternate" and el.get("href"):
            link = el.get("href", "")
            break
    return FeedEntry(
        id=e.findtext(f"{ATOM}id") or "",
        title=e.findtext(f"{ATOM}title") or "",
        content_html=(content.text or "") if content is not None else "",
        link=link.strip(),
        published=published.strip(),
    )


class RedditSource:
    """Reddit search feeds: site-wide plus the state's and the town's subreddits."""

    name: str = "reddit"
    source_type: SourceType = "reddit"

    def __init__(self, ctx: ProviderContext, *, retry: RetryPolicy | None = None) -> None:
        self.ctx = ctx
        self.retry = retry

    @classmethod
    def availability(cls, settings: Settings) -> Availability:
        if settings.mode == "offline":
            return Availability(True, "offline world")
        return Availability(True, "public feeds, no key needed")

    @classmethod
    def create(cls, ctx: ProviderContext) -> Self:
        return cls(ctx)

    def requests(self, parsed: ParsedQuery, place: Place) -> list[tuple[str, dict[str, str]]]:
        """(URL, query parameters) of every feed this source reads, most local first."""
        base = self.ctx.settings.reddit_base_url
        intent = " ".join(parsed.intent.split()) or DEFAULT_INTENT
        q = f"{intent} {short_label(place.name, place.admin1_code, place.admin1)}"
        common = {"sort": "relevance", "t": "all", "limit": "25"}
        out = [
            (
                endpoint(base, SUBREDDIT_SEARCH_URL.format(sub=sub)),
                {"q": q, "restrict_sr": "1", **common},
            )
            for sub in reversed(subreddits_for(place.name, place.admin1_code))
        ]
        out.append((endpoint(base, SEARCH_URL), {"q": q, **common}))
        return out

    async def fetch(self, parsed: ParsedQuery, place: Place) -> list[Candidate]:
        requests = self.requests(parsed, place)
        feeds = await asyncio.gather(
            *(self._feed(url, params) for url, params in requests), return_exceptions=True
        )
        for result in feeds:
            if isinstance(result, BaseException) and not isinstance(result, UpstreamError):
                raise result  # a bug or a cancellation, not an upstream failure
        answered = [f for f in feeds if isinstance(f, list)]
        if not answered:
            errors = [f for f in feeds if isinstance(f, UpstreamError)]
            raise errors[-1]  # the site-wide feed's (it is requested last)
        out: list[Candidate] = []
        seen: set[str] = set()
        for entries in answered:
            for entry in entries:
                # A post already taken (the feeds overlap) is skipped before it is built:
                # building parses its HTML.
                if entry.id.strip() in seen:
                    continue
                cand = self._candidate(entry, rank=len(out) + 1)
                if cand is None:
                    continue
                seen.add(cand.native_id)
                out.append(cand)
        return out

    async def _feed(self, url: str, params: dict[str, str]) -> list[FeedEntry]:
        body = await fetch_xml(
            self.ctx.http,
            url,
            upstream=UPSTREAM,
            settings=self.ctx.settings,
            params=params,
            # Reddit throttles generic agents hard; the client's descriptive one is sent
            # explicitly in case a caller's client lacks it.
            headers={"User-Agent": self.ctx.settings.user_agent},
            retry=self.retry,
        )
        return parse_feed(body)

    def _candidate(self, entry: FeedEntry, rank: int) -> Candidate | None:
        native_id = entry.id.strip()
        title = " ".join(entry.title.split())
        if not native_id.startswith("t3_") or not title:
            return None  # comments (t1_) and subreddits (t5_) are not posts about a place
        return Candidate(
            source=self.name,
            source_type=self.source_type,
            native_id=native_id,
            title=title,
            name=title,
            description=reddit_selftext(entry.content_html),
            url=entry.link,
            rank=rank,
            published_at=iso_datetime(entry.published),
            simulated=self.ctx.simulated,
        )
