"""Reddit's JSON search listing: the Reddit call Underfoot's production backend makes (no key).

One request (``REDDIT_BASE_URL`` moves only the scheme, host and port)::

    GET https://www.reddit.com/search.json?q=<intent> <Town>, <ST>&limit=10&sort=relevance

with a descriptive ``User-Agent`` (Reddit throttles generic agents). The answer is a
``Listing``: ``{"kind": "Listing", "data": {"children": [{"kind": "t3", "data": {...}}]}}``;
each post's ``title``, ``selftext``, ``permalink``, ``subreddit``, ``score``, ``num_comments``
and ``created_utc`` become a :class:`Candidate` (the vote score in ``votes``, the comment count
in ``comments``, the subreddit in ``community``). The URL is production's,
``"https://reddit.com" + permalink``. Unlike the Atom feeds (:mod:`.reddit`) the listing carries
vote scores, which production's scorer rewards (+0.1 above 100).

Failures are :class:`UpstreamError`: HTTP errors, 429 and timeouts from
:func:`underfoot_lab.http.fetch_json`; ``bad_payload`` for JSON that is not a listing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from ...errors import UpstreamError
from ...records import Availability, Candidate, ParsedQuery, Place, SourceType
from ...registry import UpstreamProvider
from ...settings import Settings, endpoint
from .names import short_label

__all__ = ["LIMIT", "RedditJsonSource", "parse_listing"]

SEARCH_URL = "https://www.reddit.com/search.json"
PERMALINK_BASE = "https://reddit.com"
"""Production prefixes permalinks with this (no ``www.``)."""
UPSTREAM = "reddit"  # the same host as the Atom feeds: one rate limit
LIMIT = 10


class RedditJsonSource(UpstreamProvider):
    """Reddit's site-wide JSON search listing, as production calls it."""

    name: str = "reddit_json"
    upstream = UPSTREAM
    source_type: SourceType = "reddit"

    @classmethod
    def availability(cls, settings: Settings) -> Availability:
        if settings.mode == "offline":
            return Availability(True, "offline world")
        return Availability(True, "public JSON listing, no key needed")

    def request(self, parsed: ParsedQuery, place: Place) -> tuple[str, dict[str, str]]:
        """(URL, query parameters): production's ``q="{intent} {location}"``, 10, relevance."""
        location = short_label(place.name, place.admin1_code, place.admin1)
        params = {"q": f"{parsed.intent} {location}", "limit": str(LIMIT), "sort": "relevance"}
        return endpoint(self.ctx.settings.reddit_base_url, SEARCH_URL), params

    async def fetch(self, parsed: ParsedQuery, place: Place) -> list[Candidate]:
        url, params = self.request(parsed, place)
        data = await self.get_json(
            url, params, headers={"User-Agent": self.ctx.settings.user_agent}
        )
        return parse_listing(data, source=self.name, simulated=self.ctx.simulated)


def parse_listing(
    data: Mapping[str, Any], *, source: str = "reddit_json", simulated: bool = False
) -> list[Candidate]:
    """Candidates from a ``Listing`` (its first :data:`LIMIT` children, as production reads).

    Children that are not posts (``kind`` other than ``t3``) or lack a title or permalink are
    skipped; ranks count the posts kept.
    """
    listing = data.get("data")
    children = listing.get("children") if isinstance(listing, Mapping) else None
    if data.get("kind") != "Listing" or not isinstance(children, Sequence):
        raise UpstreamError("bad_payload", f"{UPSTREAM}: expected a Listing with data.children")
    out: list[Candidate] = []
    for child in children[:LIMIT]:
        if not isinstance(child, Mapping) or child.get("kind", "t3") != "t3":
            continue
        post = child.get("data")
        if not isinstance(post, Mapping):
            continue
        title = " ".join(_str(post.get("title")).split())
        permalink = _str(post.get("permalink"))
        if not title or not permalink:
            continue
        post_id = _str(post.get("id"))
        native_id = _str(post.get("name")) or (f"t3_{post_id}" if post_id else permalink)
        out.append(
            Candidate(
                source=source,
                source_type="reddit",
                native_id=native_id,
                title=title,
                name=title,
                description=_str(post.get("selftext")),
                url=permalink if "://" in permalink else PERMALINK_BASE + permalink,
                rank=len(out) + 1,
                published_at=_utc(post.get("created_utc")),
                simulated=simulated,
                votes=_int(post.get("score")),
                comments=_int(post.get("num_comments")),
                community=_str(post.get("subreddit")) or None,
            )
        )
    return out


def _str(value: object) -> str:
    return value.strip() if isinstance(value, str) else ""


def _int(value: object) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return int(value)


def _utc(value: object) -> datetime | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        return datetime.fromtimestamp(float(value), tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None
