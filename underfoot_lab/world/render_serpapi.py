"""SerpAPI answers (``engine=google``, ``google_maps``, ``google_events``) from a town universe.

Each renderer ranks the universe's pages, places or events with the scenario's engine
(:mod:`.engines`: the query's words against the item's text, popularity, authority, freshness,
distance, noise; never the judge's relevance), then writes the upstream's JSON shape. The noise
comes from an RNG seeded by the request, so the same request always gets the same bytes.
"""

from __future__ import annotations

import hashlib
import random
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any
from urllib.parse import quote_plus
from zoneinfo import ZoneInfo

from ..geo.gazetteer import haversine_km
from .engines import age_freshness, memo_terms, order, popularity, query_terms, score, terms_match
from .ids import IdCodec
from .model import MAPS_HOST, Entity, TownUniverse, WebPage
from .scenario import Engines
from .truth import EVENT_HORIZON, Intent

NOTE = (
    "offline world (simulated): every item below is invented by underfoot_lab.world; "
    "links on .example domains do not exist"
)


def pages_terms(u: TownUniverse) -> tuple[frozenset[str], ...]:
    """The :func:`~.engines.terms` of each page's title and snippet (memoised)."""
    return memo_terms(u.memo, "pages", lambda: (f"{p.title} {p.snippet}" for p in u.pages))


def places_terms(u: TownUniverse) -> tuple[frozenset[str], ...]:
    """The :func:`~.engines.terms` of each entity's :func:`place_text` (memoised)."""
    return memo_terms(u.memo, "places", lambda: (place_text(e) for e in u.entities))


def events_terms(u: TownUniverse) -> tuple[frozenset[str], ...]:
    """The :func:`~.engines.terms` of each entity's name, tags and description (memoised)."""
    return memo_terms(
        u.memo, "events", lambda: (" ".join((e.name, *e.tags, e.description)) for e in u.entities)
    )


def error(message: str, status: int = 400) -> tuple[int, dict[str, Any]]:
    return status, {"error": message}


def metadata(params: Mapping[str, str], clock: datetime, rng: random.Random) -> dict[str, Any]:
    canon = "&".join(f"{k}={params[k]}" for k in sorted(params) if k != "api_key")
    sid = hashlib.sha1(canon.encode(), usedforsecurity=False).hexdigest()[:24]
    stamp = clock.astimezone(ZoneInfo("UTC")).strftime("%Y-%m-%d %H:%M:%S UTC")
    return {
        "id": sid,
        "status": "Success",
        "created_at": stamp,
        "processed_at": stamp,
        "total_time_taken": round(0.6 + 1.4 * rng.random(), 2),
        "simulated": True,
        "note": NOTE,
    }


def _base_parameters(params: Mapping[str, str], engine: str) -> dict[str, Any]:
    out: dict[str, Any] = {"engine": engine, "q": params.get("q", "")}
    return out


# ----------------------------------------------------------------------------- helpers
def _hours_text(e: Entity, clock: datetime, tz: ZoneInfo) -> str:
    if e.hours is None:
        return "Open 24 hours"
    open_h, close_h = e.hours
    local = clock.astimezone(tz)
    h = local.hour + local.minute / 60.0
    is_open = open_h <= h < close_h or (close_h > 24 and h < close_h - 24)
    if is_open:
        return f"Open ⋅ Closes {_clock_label(close_h % 24)}"
    return f"Closed ⋅ Opens {_clock_label(open_h % 24)}"


def _clock_label(hour: int, minute: int = 0) -> str:
    suffix = "AM" if hour < 12 else "PM"
    h12 = hour % 12 or 12
    return f"{h12}:{minute:02d} {suffix}" if minute else f"{h12} {suffix}"


def _operating_hours(e: Entity) -> dict[str, str] | None:
    if e.hours is None:
        return None
    open_h, close_h = e.hours
    span = f"{_clock_label(open_h % 24)}–{_clock_label(close_h % 24)}"
    days = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
    closed = {"monday"} if e.category in {"museum", "antique_shop", "record_store"} else set()
    return {d: ("Closed" if d in closed else span) for d in days}


def _highlights(snippet: str, intent: Intent, town: str) -> list[str]:
    found: list[str] = []
    lower = snippet.lower()
    for phrase in (*intent.phrases, town.lower()):
        i = lower.find(phrase)
        if i >= 0:
            word = snippet[i : i + len(phrase)]
            if word not in found:
                found.append(word)
    return found


def place_text(e: Entity) -> str:
    """What a map engine indexes of a place: name, types, tags, description."""
    return " ".join((e.name, *e.google_types, *e.tags, e.description))


def _page_date(page: WebPage) -> datetime | None:
    return _parse_page_date(page.date) if page.date else None


_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
# "%b %d, %Y" as strptime reads it in the C locale (the months' English abbreviations, any
# case; a day of 1-31 or 01-09; four digits of year), for the spellings the world writes.
_PAGE_DATE = re.compile(r"([A-Za-z]{3}) (3[01]|[12]\d|0[1-9]|[1-9]), (\d{4})\Z")


@lru_cache(maxsize=8192)
def _parse_page_date(text: str) -> datetime | None:
    # strptime is slow (importing it and building its locale's patterns cost a cold search a
    # few ms) and every rendered result list dates its pages again; dates repeat. Anything
    # the pattern does not take goes to strptime itself, which decides as before.
    m = _PAGE_DATE.match(text)
    if m is not None and (month := m.group(1).lower()) in _MONTHS:
        try:
            return datetime(int(m.group(3)), _MONTHS.index(month) + 1, int(m.group(2)), tzinfo=UTC)
        except ValueError:
            pass
    try:
        return datetime.strptime(text, "%b %d, %Y").replace(tzinfo=UTC)
    except ValueError:
        return None


def _directions(u: TownUniverse, e: Entity) -> str:
    return f"https://{MAPS_HOST}/dir/{u.town_slug}/{e.slug}"


def _street(e: Entity) -> str:
    return e.address.split(",", 1)[0]


# ----------------------------------------------------------------------------- google
_LINK_POPULARITY = {"listicle": 0.9, "generic": 0.6, "reddit": 0.4}
"""How much of the web links to a page that is not about one place."""


def _organic(
    u: TownUniverse,
    intent: Intent,
    num: int,
    clock: datetime,
    rng: random.Random,
    engines: Engines,
) -> list[dict[str, Any]]:
    spec = engines.google
    q = query_terms(intent.text)
    scored: list[tuple[float, int, WebPage]] = []
    page_terms = pages_terms(u)
    for i, page in enumerate(u.pages):
        pop = _LINK_POPULARITY.get(page.kind, 0.0)
        fresh = age_freshness(_page_date(page), clock)
        if page.entity is not None and page.kind != "reddit":
            e = u.entities[page.entity]
            pop = popularity(e.reviews)
            if e.kind == "event":
                fresh = 0.0 if e.expired(clock) else 1.0
        m = terms_match(q, page_terms[i])
        s = score(spec, rng, match=m, pop=pop, authority=page.authority, fresh=fresh)
        scored.append((s, i, page))
    out: list[dict[str, Any]] = []
    for pos, page in enumerate(order(scored, spec, rng)[:num], start=1):
        host = page.link.split("/")[2]
        item: dict[str, Any] = {
            "position": pos,
            "title": page.title,
            "link": page.link,
            "displayed_link": page.displayed_link,
            "favicon": f"https://{host}/favicon.ico",
        }
        if page.date:
            item["date"] = page.date
        item["snippet"] = page.snippet
        item["snippet_highlighted_words"] = _highlights(page.snippet, intent, u.town.name)
        item["source"] = page.source
        out.append(item)
    return out


def _ranked_places(
    u: TownUniverse,
    intent: Intent,
    center: tuple[float, float],
    rng: random.Random,
    engines: Engines,
    *,
    pack: bool,
) -> tuple[list[Entity], int]:
    """Places by the engine's score, matching ones first; and how many match the query."""
    spec = engines.local_pack if pack else engines.maps
    q = query_terms(intent.text)
    matched: list[tuple[float, int, Entity]] = []
    padding: list[tuple[float, int, Entity]] = []
    place_terms = places_terms(u)
    for e in u.entities:
        if e.kind != "place":
            continue
        d = haversine_km(center[0], center[1], e.lat, e.lon)
        if d > 90.0:
            continue
        m = terms_match(q, place_terms[e.index])
        s = score(spec, rng, match=m, pop=popularity(e.reviews), distance_km=d)
        (matched if m > 0 else padding).append((s, e.index, e))
    return order(matched, spec, rng) + order(padding, spec, rng), len(matched)


def _local_places(
    u: TownUniverse,
    intent: Intent,
    clock: datetime,
    rng: random.Random,
    tz: ZoneInfo,
    engines: Engines,
) -> list[dict[str, Any]]:
    if intent.groups == frozenset({"events"}):
        return []
    ranked, _ = _ranked_places(u, intent, (u.town.lat, u.town.lon), rng, engines, pack=True)
    places: list[dict[str, Any]] = []
    for pos, e in enumerate(ranked[:3], start=1):
        place: dict[str, Any] = {
            "position": pos,
            "title": e.name,
            "place_id": str(e.cid),
            "rating": e.rating,
            "reviews": e.reviews,
        }
        if e.price:
            place["price"] = e.price
        place["type"] = e.google_type
        place["address"] = e.address
        place["hours"] = _hours_text(e, clock, tz)
        place["description"] = e.description
        place["gps_coordinates"] = {"latitude": e.lat, "longitude": e.lon}
        links: dict[str, str] = {}
        if e.website:
            links["website"] = e.website
        links["directions"] = _directions(u, e)
        place["links"] = links
        places.append(place)
    return places


@dataclass(frozen=True)
class SerpRequest:
    """One SerpAPI request as the engine renderers see it."""

    u: TownUniverse | None
    """The town's universe; None for a town the world does not know (an empty answer)."""
    intent: Intent
    params: Mapping[str, str]
    """The request's query parameters."""
    clock: datetime
    rng: random.Random
    """The request's own random stream (seeded by the request)."""
    codec: IdCodec
    engines: Engines


def render_google(r: SerpRequest) -> dict[str, Any]:
    """``engine=google``: organic results plus a three-place local pack."""
    u, intent, params, clock, rng, engines = r.u, r.intent, r.params, r.clock, r.rng, r.engines
    q = params.get("q", "")
    try:
        num = max(1, min(100, int(params.get("num", "10"))))
    except ValueError:
        num = 10
    body: dict[str, Any] = {"search_metadata": metadata(params, clock, rng)}
    sp = _base_parameters(params, "google")
    if "location" in params:
        sp["location_requested"] = params["location"]
        sp["location_used"] = params["location"]
    sp.update(
        {
            "google_domain": "google.com",
            "hl": params.get("hl", "en"),
            "gl": params.get("gl", "us"),
            "num": str(num),
            "device": "desktop",
        }
    )
    body["search_parameters"] = sp
    organic = _organic(u, intent, num, clock, rng, engines) if u is not None else []
    body["search_information"] = {
        "query_displayed": q,
        "total_results": (len(u.pages) * 1731 + 40_000) if u is not None else 0,
        "time_taken_displayed": round(0.25 + 0.4 * rng.random(), 2),
        "organic_results_state": "Results for exact spelling" if organic else "Fully empty",
    }
    if u is not None:
        tz = ZoneInfo(u.timezone)
        places = _local_places(u, intent, clock, rng, tz, engines)
        if places:
            body["local_map"] = {
                "link": f"https://{MAPS_HOST}/search?q={quote_plus(q)}",
                "gps_coordinates": {
                    "latitude": u.town.lat,
                    "longitude": u.town.lon,
                    "altitude": 15000,
                },
            }
            body["local_results"] = {
                "places": places,
                "more_locations_link": f"https://{MAPS_HOST}/search?q={quote_plus(q)}&tbm=lcl",
            }
    body["organic_results"] = organic
    return body


# ----------------------------------------------------------------------------- google_maps
_LL = re.compile(r"@?\s*(-?\d+(?:\.\d+)?)\s*,\s*(-?\d+(?:\.\d+)?)(?:\s*,\s*(\d+(?:\.\d+)?)z)?")


def parse_ll(value: str) -> tuple[float, float, float] | None:
    """ "@37.47927,-82.51876,12z" -> (37.47927, -82.51876, 12.0)."""
    m = _LL.fullmatch(value.strip())
    if not m:
        return None
    lat, lon = float(m.group(1)), float(m.group(2))
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return None
    return lat, lon, float(m.group(3) or 14)


def render_google_maps(r: SerpRequest) -> dict[str, Any]:
    """``engine=google_maps`` (``type=search``): up to 20 places as a flat list."""
    u, intent, params, clock, rng, engines = r.u, r.intent, r.params, r.clock, r.rng, r.engines
    codec = r.codec
    body: dict[str, Any] = {"search_metadata": metadata(params, clock, rng)}
    sp = _base_parameters(params, "google_maps")
    sp["type"] = params.get("type", "search")
    if "ll" in params:
        sp["ll"] = params["ll"]
    sp.update({"google_domain": "google.com", "hl": params.get("hl", "en")})
    body["search_parameters"] = sp
    results: list[dict[str, Any]] = []
    if u is not None:
        center = parse_ll(params.get("ll", "")) or (u.town.lat, u.town.lon, 12.0)
        tz = ZoneInfo(u.timezone)
        ranked, n_matched = _ranked_places(u, intent, center[:2], rng, engines, pack=False)
        # What Maps shows when little matches: the best of the rest as padding.
        keep = ranked[:20] if n_matched < 8 else ranked[: min(20, n_matched)]
        for pos, e in enumerate(keep, start=1):
            item: dict[str, Any] = {
                "position": pos,
                "title": e.name,
                "place_id": codec.maps_place_id(e.cid),
                "data_id": codec.data_id(e.cid, u.town.key),
                "data_cid": str(e.cid),
                "gps_coordinates": {"latitude": e.lat, "longitude": e.lon},
                "rating": e.rating,
                "reviews": e.reviews,
            }
            if e.price:
                item["price"] = e.price
            item["type"] = e.google_type
            item["types"] = list(e.google_types)
            item["type_id"] = e.google_type.lower().replace(" ", "_")
            item["type_ids"] = [t.lower().replace(" ", "_") for t in e.google_types]
            item["address"] = e.address
            hours = _hours_text(e, clock, tz)
            item["open_state"] = hours
            item["hours"] = hours
            if (oh := _operating_hours(e)) is not None:
                item["operating_hours"] = oh
            if e.phone:
                item["phone"] = e.phone
            if e.website:
                item["website"] = e.website
            item["description"] = e.description
            item["thumbnail"] = e.thumbnail
            results.append(item)
    body["search_information"] = {
        "local_results_state": "Results for exact spelling" if results else "Fully empty",
        "query_displayed": params.get("q", ""),
    }
    body["local_results"] = results
    return body


# ----------------------------------------------------------------------------- google_events
def _when(e: Entity, tz: ZoneInfo, clock: datetime) -> tuple[str, str]:
    assert e.starts_at is not None and e.ends_at is not None
    return _when_text(e.starts_at, e.ends_at, tz, clock)


@lru_cache(maxsize=16384)
def _when_text(
    starts_at: datetime, ends_at: datetime, tz: ZoneInfo, clock: datetime
) -> tuple[str, str]:
    # Memoised: an event is listed by many searches of its town.
    s, t = starts_at.astimezone(tz), ends_at.astimezone(tz)
    start_date = f"{s:%b} {s.day}"
    year = f", {s.year}" if s.year != clock.astimezone(tz).year else ""
    if t.date() != s.date() and (t - s) > timedelta(hours=20):
        return start_date, f"{s:%a}, {s:%b} {s.day}{year} – {t:%a}, {t:%b} {t.day}"
    a, b = _clock_label(s.hour, s.minute), _clock_label(t.hour, t.minute)
    if a[-2:] == b[-2:]:
        a = a[:-3]
    return start_date, f"{s:%a}, {s:%b} {s.day}{year}, {a} – {b}"


def render_google_events(r: SerpRequest) -> dict[str, Any]:
    """``engine=google_events``: up to 10 events, including some stale (already past) ones."""
    u, intent, params, clock, rng, engines = r.u, r.intent, r.params, r.clock, r.rng, r.engines
    body: dict[str, Any] = {"search_metadata": metadata(params, clock, rng)}
    sp = _base_parameters(params, "google_events")
    sp.update({"hl": params.get("hl", "en"), "gl": params.get("gl", "us")})
    body["search_parameters"] = sp
    results: list[dict[str, Any]] = []
    if u is not None:
        tz = ZoneInfo(u.timezone)
        spec = engines.events
        q = query_terms(intent.text)
        scored: list[tuple[float, int, Entity]] = []
        event_terms = events_terms(u)
        for e in u.entities:
            if e.kind != "event" or e.starts_at is None:
                continue
            if e.expired(clock):
                if rng.random() > 0.55:
                    continue  # some stale listings linger, most drop out
                timing = 0.2
            elif e.starts_at - clock <= EVENT_HORIZON:
                timing = 1.0
            else:
                timing = 0.3
            m = terms_match(q, event_terms[e.index])
            s = score(spec, rng, match=m, pop=popularity(e.reviews), fresh=timing)
            scored.append((s, e.index, e))
        for e in order(scored, spec, rng)[:10]:
            start_date, when = _when(e, tz, clock)
            assert e.link is not None
            site = e.link.split("/")[2]
            venue = u.entity(e.venue_index) if e.venue_index is not None else None
            item: dict[str, Any] = {
                "title": e.name,
                "date": {"start_date": start_date, "when": when},
                "address": [
                    f"{e.venue}, {_street(e)}",
                    f"{e.locality}, {e.locality_state}",
                ],
                "link": e.link,
                "description": e.description,
                "ticket_info": [
                    {
                        "source": site.split(".")[0].replace("-", " ").title(),
                        "link": e.link,
                        "link_type": "tickets" if e.category == "concert" else "more info",
                    }
                ],
                "venue": {
                    "name": e.venue,
                    "rating": venue.rating if venue is not None else e.rating,
                    "reviews": venue.reviews if venue is not None else 20 + e.cid % 400,
                },
                "thumbnail": e.thumbnail,
            }
            results.append(item)
    body["search_information"] = {
        "events_results_state": "Results for exact spelling" if results else "Fully empty",
        "query_displayed": params.get("q", ""),
    }
    body["events_results"] = results
    return body
