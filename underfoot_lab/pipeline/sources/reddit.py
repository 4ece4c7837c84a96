"""Reddit: what locals post about a place, from Reddit's public search feeds (no key).

Requests (``REDDIT_BASE_URL`` moves only the scheme, host and port), concurrently:

* ``GET https://www.reddit.com/search.rss?q=<intent> <Town>, <ST>&sort=relevance&t=all&limit=25``
* ``GET https://www.reddit.com/r/<sub>/search.rss?q=<same>&restrict_sr=1&sort=relevance&t=all
  &limit=25`` for the state's subreddit and the town's (:func:`.names.subreddits_for`).

The feeds are Atom 1.0 (despite ``.rss``), parsed with :mod:`feedparser`. Entries are merged most
local first (town subreddit, state subreddit, then site-wide), deduplicated by entry id; only
posts (``t3_`` ids) are kept. A feed that fails is skipped when another answered (a town may have
no subreddit); when every feed fails, the site-wide feed's error is raised. The feeds carry no
vote score or comment count, so candidates have none.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Self

import feedparser

from ...errors import UpstreamError
from ...http import RetryPolicy, fetch_xml
from ...records import Availability, Candidate, ParsedQuery, Place, SourceType
from ...registry import ProviderContext
from ...settings import Settings, endpoint
from .names import reddit_selftext, short_label, subreddits_for

__all__ = ["RedditSource"]

SEARCH_URL = "https://www.reddit.com/search.rss"
SUBREDDIT_SEARCH_URL = "https://www.reddit.com/r/{sub}/search.rss"
UPSTREAM = "reddit"
DEFAULT_INTENT = "hidden gems"


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
                cand = self._candidate(entry, rank=len(out) + 1)
                if cand is None or cand.native_id in seen:
                    continue
                seen.add(cand.native_id)
                out.append(cand)
        return out

    async def _feed(self, url: str, params: dict[str, str]) -> list[Mapping[str, Any]]:
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
        parsed = feedparser.parse(body)
        if parsed.get("bozo") and not parsed.get("entries") and not parsed.get("feed"):
            raise UpstreamError("bad_payload", f"{UPSTREAM}: unreadable feed")
        return list(parsed.get("entries") or [])

    def _candidate(self, entry: Mapping[str, Any], rank: int) -> Candidate | None:
        native_id = str(entry.get("id") or "").strip()
        title = " ".join(str(entry.get("title") or "").split())
        if not native_id.startswith("t3_") or not title:
            return None  # comments (t1_) and subreddits (t5_) are not posts about a place
        content = entry.get("content") or []
        html = str(content[0].get("value") or "") if content else ""
        return Candidate(
            source=self.name,
            source_type=self.source_type,
            native_id=native_id,
            title=title,
            name=title,
            description=reddit_selftext(html),
            url=str(entry.get("link") or ""),
            rank=rank,
            published_at=_when(entry.get("published") or entry.get("updated")),
            simulated=self.ctx.simulated,
        )


def _when(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return dt if dt.tzinfo is not None else dt.replace(tzinfo=UTC)
