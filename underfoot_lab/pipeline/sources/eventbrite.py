"""Eventbrite as production has it, for today's API: organizer and venue event listings.

Production called ``/v3/events/search/``, which Eventbrite closed (2019-12-12; refused since
2020-02-20). What remains lists one organizer's or one venue's events, so the towns to read are
configured (:mod:`.eventbrite_map`, ``settings.eventbrite_map``). Per mapped id, one request
(``EVENTBRITE_BASE_URL`` moves only scheme, host and port)::

    GET https://www.eventbriteapi.com/v3/organizations/<id>/events/?status=live&order_by=start_asc&expand=venue
    GET https://www.eventbriteapi.com/v3/venues/<id>/events/?status=live&order_by=start_asc&expand=venue
    Authorization: Bearer <EVENTBRITE_TOKEN>

Items as production maps them: ``name = name.text``, ``description = description.text[:200]``,
``url``, ``start.local`` and ``venue.name`` (here ``starts_at`` from ``start.utc``, and
``address`` = the venue's name); the native id is the event id. Organizations first, then
venues, each in the listing's order; an event listed twice is kept once; at most
:data:`LIMIT`.

Skipped (``SourceSkipped``: status ``skipped`` with the reason) when no mapping is configured,
when the mapping does not cover the town, or, against the real API, when no token is set.
HTTP failures are :class:`UpstreamError` (401 ``auth``, 429 ``rate_limited``, ...).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any

from ...errors import ConfigError, SourceSkipped, UpstreamError
from ...records import Availability, Candidate, ParsedQuery, Place, SourceType
from ...registry import UpstreamProvider
from ...settings import Settings, endpoint
from .base import iso_datetime
from .names import short_label

__all__ = ["LIMIT", "EventbriteSource", "listing_urls", "parse_events"]

API = "https://www.eventbriteapi.com"
UPSTREAM = "eventbrite"
LIMIT = 10
DESCRIPTION_CHARS = 200
PARAMS = {"status": "live", "order_by": "start_asc", "expand": "venue"}


def listing_urls(base_url: str, organizations: Sequence[str], venues: Sequence[str]) -> list[str]:
    """The listing URLs to read, organizations first."""
    return [endpoint(base_url, f"{API}/v3/organizations/{i}/events/") for i in organizations] + [
        endpoint(base_url, f"{API}/v3/venues/{i}/events/") for i in venues
    ]


class EventbriteSource(UpstreamProvider):
    """Organizer and venue event listings for the towns the mapping names."""

    name: str = "eventbrite"
    upstream = UPSTREAM
    source_type: SourceType = "events"

    @classmethod
    def availability(cls, settings: Settings) -> Availability:
        if settings.eventbrite_map is None:
            return Availability(False, "no Eventbrite mapping (UNDERFOOT_EVENTBRITE_MAP)")
        try:
            from .eventbrite_map import load_eventbrite_map

            load_eventbrite_map(settings.eventbrite_map)
        except ConfigError as exc:
            return Availability(False, str(exc))
        if settings.mode == "offline":
            return Availability(True, "offline world")
        if settings.eventbrite_token is None:
            return Availability(False, "no EVENTBRITE_TOKEN")
        return Availability(True, "token and mapping set")

    def urls(self, place: Place) -> list[str]:
        """The listings to read for ``place`` (SourceSkipped when none is mapped)."""
        from .eventbrite_map import load_eventbrite_map

        s = self.ctx.settings
        label = short_label(place.name, place.admin1_code, place.admin1)
        if s.eventbrite_map is None:
            raise SourceSkipped("eventbrite: no mapping configured (UNDERFOOT_EVENTBRITE_MAP)")
        town = load_eventbrite_map(s.eventbrite_map).for_town(place.name, place.admin1_code)
        if town is None:
            raise SourceSkipped(f"eventbrite: no organizer or venue mapped for {label}")
        return listing_urls(s.eventbrite_base_url, town.organizations, town.venues)

    async def fetch(self, parsed: ParsedQuery, place: Place) -> list[Candidate]:
        urls = self.urls(place)
        token = self.ctx.settings.eventbrite_token
        if token is None and not self.ctx.simulated:
            raise SourceSkipped("eventbrite: no EVENTBRITE_TOKEN")
        # The offline world needs no token; a placeholder keeps the request's shape.
        bearer = token.get_secret_value() if token is not None else "offline"
        pages = await asyncio.gather(
            *(
                self.get_json(url, PARAMS, headers={"Authorization": f"Bearer {bearer}"})
                for url in urls
            )
        )
        return parse_events(pages, simulated=self.ctx.simulated)


def parse_events(
    pages: Sequence[Mapping[str, Any]], *, source: str = "eventbrite", simulated: bool = False
) -> list[Candidate]:
    """Candidates from listing pages (``{"pagination", "events": [...]}``), in order, each
    event once, at most :data:`LIMIT`; events without a name or URL are skipped."""
    out: list[Candidate] = []
    seen: set[str] = set()
    for page in pages:
        events = page.get("events")
        if not isinstance(events, list):
            raise UpstreamError("bad_payload", f"{UPSTREAM}: expected a listing with events")
        for ev in events:
            if len(out) >= LIMIT:
                return out
            if not isinstance(ev, Mapping):
                continue
            name = " ".join(_text(ev.get("name")).split())
            url = _str(ev.get("url"))
            eid = _str(ev.get("id")) or url
            if not name or not url or eid in seen:
                continue
            seen.add(eid)
            venue = ev.get("venue")
            venue_name = _str(venue.get("name")) if isinstance(venue, Mapping) else ""
            start = ev.get("start")
            starts_at = iso_datetime(start.get("utc")) if isinstance(start, Mapping) else None
            out.append(
                Candidate(
                    source=source,
                    source_type="events",
                    native_id=eid,
                    title=name,
                    name=name,
                    description=_text(ev.get("description"))[:DESCRIPTION_CHARS],
                    url=url,
                    rank=len(out) + 1,
                    address=venue_name or None,
                    place_type="event",
                    starts_at=starts_at,
                    simulated=simulated,
                )
            )
    return out


def _str(value: object) -> str:
    return value.strip() if isinstance(value, str) else ""


def _text(value: object) -> str:
    """Eventbrite's multipart text: ``{"text": ..., "html": ...}``."""
    return _str(value.get("text")) if isinstance(value, Mapping) else ""
