"""Eventbrite's organizer and venue event listings (``/v3/organizations/{id}/events/``,
``/v3/venues/{id}/events/``), rendered from a town's events.

Ids are the world's own and say which town (and venue) they are about, so a listing can be
answered in a fresh process:

* an organization id is ``10**12 + <town index>`` (one organizer per town: the town's events
  calendar), see :func:`organization_id`;
* a venue id is ``2 * 10**12 + <town index> * 1000 + <venue entity index>``, one per place
  that hosts events (:func:`venue_id`);
* an event id is the event entity's ``cid``, which :meth:`World.entity_for_url` resolves.

The events are those of the town (or held at the venue), ranked by the scenario's events
engine without a query (a listing has none): upcoming first, past ones mostly gone (status
``live`` asks for events not yet ended). The shape is Eventbrite's: ``pagination{object_count,
page_number, page_size, page_count, has_more_items}`` and ``events[]{name{text, html},
description{text, html}, id, url, start{timezone, local, utc}, end{...}, organization_id,
created, changed, status, currency, listed, online_event, is_free, venue_id, venue{...}}``
(``venue`` only with ``expand=venue``). SIMULATED, like everything the world says.
"""

from __future__ import annotations

import html
import random
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from .engines import order, popularity, score
from .model import Entity, TownUniverse
from .scenario import Engines
from .truth import EVENT_HORIZON

ORG_BASE = 10**12
VENUE_BASE = 2 * 10**12
PAGE_SIZE = 50


def organization_id(town_index: int) -> str:
    """The organizer id of a town's events calendar."""
    return str(ORG_BASE + town_index)


def venue_id(town_index: int, venue_index: int) -> str:
    """The venue id of a place hosting events."""
    return str(VENUE_BASE + town_index * 1000 + venue_index)


def decode_id(kind: str, text: str) -> tuple[int, int | None] | None:
    """(town index, venue index or None) behind an organization or venue id; None when the
    id is not the world's."""
    if not text.isdigit():
        return None
    n = int(text)
    if kind == "organizations" and ORG_BASE <= n < VENUE_BASE:
        return n - ORG_BASE, None
    if kind == "venues" and n >= VENUE_BASE:
        rest = n - VENUE_BASE
        return rest // 1000, rest % 1000
    return None


def _when(dt: datetime, tz: ZoneInfo) -> dict[str, str]:
    utc = dt.astimezone(UTC)
    return {
        "timezone": tz.key,
        "local": dt.astimezone(tz).strftime("%Y-%m-%dT%H:%M:%S"),
        "utc": utc.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def _event(u: TownUniverse, e: Entity, org: str, tz: ZoneInfo, expand: bool) -> dict[str, Any]:
    assert e.starts_at is not None
    ends = e.ends_at or e.starts_at + timedelta(hours=3)
    vid = venue_id(u.town_index, e.venue_index) if e.venue_index is not None else None
    created = (e.starts_at - timedelta(days=30 + e.cid % 60)).astimezone(UTC)
    item: dict[str, Any] = {
        "name": {"text": e.name, "html": html.escape(e.name)},
        "description": {"text": e.description, "html": f"<p>{html.escape(e.description)}</p>"},
        "id": str(e.cid),
        "url": f"https://www.eventbrite.com/e/{e.slug}-tickets-{e.cid}",
        "start": _when(e.starts_at, tz),
        "end": _when(ends, tz),
        "organization_id": org,
        "created": created.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "changed": created.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "status": "live",
        "currency": "USD",
        "listed": True,
        "online_event": False,
        "is_free": e.price in (None, "", "Free"),
        "venue_id": vid,
    }
    if expand:
        item["venue"] = {
            "id": vid,
            "name": e.venue or "",
            "address": {
                "city": e.locality,
                "region": e.locality_state,
                "localized_address_display": e.address,
            },
            "latitude": f"{e.lat:.6f}",
            "longitude": f"{e.lon:.6f}",
        }
    return item


def render_listing(
    u: TownUniverse | None,
    venue_index: int | None,
    params: Mapping[str, str],
    clock: datetime,
    rng: random.Random,
    engines: Engines,
) -> dict[str, Any]:
    """One listing page: the town's events (or the venue's), ranked by the events engine."""
    events: list[dict[str, Any]] = []
    if u is not None:
        tz = ZoneInfo(u.timezone)
        spec = engines.events
        scored: list[tuple[float, int, Entity]] = []
        for e in u.entities:
            if e.kind != "event" or e.starts_at is None:
                continue
            if venue_index is not None and e.venue_index != venue_index:
                continue
            if e.expired(clock):
                if params.get("status", "live") == "live" or rng.random() > 0.3:
                    continue
                timing = 0.2
            elif e.starts_at - clock <= EVENT_HORIZON:
                timing = 1.0
            else:
                timing = 0.3
            s = score(spec, rng, match=0.5, pop=popularity(e.reviews), fresh=timing)
            scored.append((s, e.index, e))
        org = organization_id(u.town_index)
        expand = "venue" in params.get("expand", "").split(",")
        events = [_event(u, e, org, tz, expand) for e in order(scored, spec, rng)[:PAGE_SIZE]]
    return {
        "pagination": {
            "object_count": len(events),
            "page_number": 1,
            "page_size": PAGE_SIZE,
            "page_count": 1,
            "has_more_items": False,
        },
        "events": events,
    }


def not_found(path: str) -> dict[str, Any]:
    """Eventbrite's 404 body."""
    return {
        "status_code": 404,
        "error_description": f"The path you requested does not exist: {path}",
        "error": "NOT_FOUND",
    }
