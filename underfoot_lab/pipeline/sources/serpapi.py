"""SerpAPI: Google web results, Google Maps places and Google Events for a place.

All three sources call ``GET https://serpapi.com/search.json`` (``SERPAPI_BASE_URL`` moves only
the scheme, host and port) with a different ``engine``:

========================  ================  ==================================================
source                    engine            parameters (besides ``engine`` and ``api_key``)
========================  ================  ==================================================
``serpapi_web``           ``google``        ``q="<intent> in <Town>, <ST>"``,
                                            ``location="<Town>, <State>, United States"``,
                                            ``hl=en``, ``gl=us``, ``num=20``
``serpapi_local``         ``google_maps``   ``q="<intent> in <Town>, <ST>"``,
                                            ``ll="@<lat>,<lon>,12z"``, ``type=search``
``serpapi_events``        ``google_events`` ``q="<intent> events in <Town>, <ST>"`` (``"events
                                            in <Town>, <ST>"`` for a generic intent), ``hl=en``,
                                            ``gl=us``
``serpapi_organic``       ``google``        production's call: ``q="<intent> <Town>, <ST>
                                            underground local hidden"``,
                                            ``location="<Town>, <ST>"``, ``hl=en``, ``gl=us``,
                                            ``num=10``; organic results only, the first 10
========================  ================  ==================================================

Attribution choice: the local pack that ``engine=google`` returns beside its organic results is
emitted by ``serpapi_web`` under its own name (``source="serpapi_web"``, ``source_type="web"``),
ranked before the organic results as on the page. ``serpapi_local`` is reserved for the Maps
engine, so a candidate's ``source`` always names the request that produced it and per-source
statuses and counts add up.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import quote

from ...errors import UpstreamError
from ...geo.gazetteer import normalize_name
from ...records import Availability, Candidate, ParsedQuery, Place, SourceType
from ...redaction import scrub
from ...registry import UpstreamProvider, api_key, key_availability
from ...settings import Settings, endpoint
from .names import place_name_from_title, short_label

__all__ = [
    "GENERIC_INTENTS",
    "SerpApiEventsSource",
    "SerpApiLocalSource",
    "SerpApiOrganicSource",
    "SerpApiWebSource",
    "parse_event_start",
]

SEARCH_URL = "https://serpapi.com/search.json"
UPSTREAM = "serpapi"
DEFAULT_INTENT = "hidden gems"

GENERIC_INTENTS = frozenset(
    {
        "",
        "hidden gems",
        "hidden gem",
        "gems",
        "things to do",
        "stuff to do",
        "what to do",
        "fun things to do",
        "fun",
        "local favorites",
        "local favourites",
        "underrated spots",
        "anything",
    }
)
"""Intents that say nothing about the kind of event, so the events query is just "events in X"."""

_NO_RESULTS = "hasn't returned any results"


class _SerpApiSource(UpstreamProvider):
    """Shared plumbing: availability, the key, the request, SerpAPI's in-band errors."""

    name: str = "serpapi"
    upstream = UPSTREAM
    source_type: SourceType = "web"
    engine: str = ""

    @classmethod
    def availability(cls, settings: Settings) -> Availability:
        return key_availability(settings, "serpapi_api_key", "SERPAPI_API_KEY")

    def request_params(self, parsed: ParsedQuery, place: Place) -> dict[str, str]:
        """The query parameters of this source's request, without ``api_key``."""
        raise NotImplementedError

    def parse(self, data: Mapping[str, Any], place: Place) -> list[Candidate]:
        """Candidates from one SerpAPI answer."""
        raise NotImplementedError

    async def fetch(self, parsed: ParsedQuery, place: Place) -> list[Candidate]:
        key = api_key(self.ctx.settings.serpapi_api_key)
        if key is None:
            if not self.ctx.simulated:
                raise UpstreamError("auth", f"{self.name}: SERPAPI_API_KEY not set")
            key = "offline-world"  # the offline world does not check keys
        params = {**self.request_params(parsed, place), "api_key": key}
        data = await self.get_json(endpoint(self.ctx.settings.serpapi_base_url, SEARCH_URL), params)
        error = data.get("error")
        if isinstance(error, str) and error:
            # SerpAPI reports "no results" in band, with a 200; anything else is a failure.
            if _NO_RESULTS in error:
                return []
            message = scrub(error, self.ctx.settings.secret_values())
            raise UpstreamError("http_error", f"{self.name}: {message}")
        return self.parse(data, place)

    def _candidate(self, **fields: Any) -> Candidate:
        return Candidate(
            source=self.name,
            source_type=self.source_type,
            simulated=self.ctx.simulated,
            **fields,
        )

    def _place_candidate(self, raw: Mapping[str, Any], rank: int) -> Candidate | None:
        """A local/maps place (engine=google local pack or engine=google_maps) as a candidate."""
        title = _str(raw.get("title"))
        if not title:
            return None
        gps = raw.get("gps_coordinates")
        gps = gps if isinstance(gps, Mapping) else {}
        lat, lon = _float(gps.get("latitude")), _float(gps.get("longitude"))
        links = raw.get("links")
        links = links if isinstance(links, Mapping) else {}
        website = _str(links.get("website")) or _str(raw.get("website"))
        place_id = _str(raw.get("place_id"))
        url = website or _maps_link(place_id, _str(raw.get("data_cid")), title, lat, lon)
        place_type = _str(raw.get("type"))
        if not place_type and isinstance(raw.get("types"), list) and raw["types"]:
            place_type = _str(raw["types"][0])
        return self._candidate(
            native_id=place_id or _str(raw.get("data_id")) or _str(raw.get("data_cid")) or url,
            title=title,
            name=title,
            description=_str(raw.get("description")),
            url=url,
            rank=rank,
            lat=lat,
            lon=lon,
            rating=_float(raw.get("rating")),
            reviews=_int(raw.get("reviews")),
            address=_str(raw.get("address")) or None,
            place_type=place_type or None,
        )


class SerpApiWebSource(_SerpApiSource):
    """Google web search (``engine=google``): organic results plus the local pack."""

    name = "serpapi_web"
    source_type: SourceType = "web"
    engine = "google"

    def request_params(self, parsed: ParsedQuery, place: Place) -> dict[str, str]:
        return {
            "engine": self.engine,
            "q": f"{_intent(parsed)} in {_label(place)}",
            "location": f"{place.name}, {place.admin1}, United States",
            "hl": "en",
            "gl": "us",
            "num": "20",
        }

    def parse(self, data: Mapping[str, Any], place: Place) -> list[Candidate]:
        out: list[Candidate] = []
        # The local pack is an object {places: [...]} for engine=google; a bare list is accepted
        # too, in case the shape changes (it is a list for engine=google_maps).
        for raw in _places(data.get("local_results")):
            cand = self._place_candidate(raw, rank=len(out) + 1)
            if cand is not None:
                out.append(cand)
        locality = (
            place.name,
            place.admin1,
            place.admin1_code,
            f"{place.name} {place.admin1_code}",
            f"{place.name} {place.admin1}",
        )
        for raw in _dicts(data.get("organic_results")):
            title, link = _str(raw.get("title")), _str(raw.get("link"))
            if not title or not link:
                continue
            out.append(
                self._candidate(
                    native_id=link,
                    title=title,
                    name=place_name_from_title(
                        title,
                        site=_str(raw.get("source")) or None,
                        displayed_link=_str(raw.get("displayed_link")) or None,
                        locality=locality,
                    ),
                    description=_str(raw.get("snippet")),
                    url=link,
                    rank=len(out) + 1,
                    published_at=_page_date(_str(raw.get("date")), self.ctx.clock()),
                )
            )
        return out


class SerpApiOrganicSource(_SerpApiSource):
    """Google web search as Underfoot's production backend calls it: organic results only.

    Production's query string (``"{intent} {location} underground local hidden"``), its
    ``location``/``hl``/``gl``/``num=10`` and ``organic_results[:10]``; the local pack is
    ignored. ``rank`` is SerpAPI's ``position`` (production's ``metadata.position``) and
    ``name`` is the page title, as production names its items.
    """

    name = "serpapi_organic"
    source_type: SourceType = "web"
    engine = "google"
    QUERY_SUFFIX = "underground local hidden"
    LIMIT = 10

    def request_params(self, parsed: ParsedQuery, place: Place) -> dict[str, str]:
        location = _label(place)
        return {
            "engine": self.engine,
            "q": f"{parsed.intent} {location} {self.QUERY_SUFFIX}",
            "location": location,
            "hl": "en",
            "gl": "us",
            "num": str(self.LIMIT),
        }

    def parse(self, data: Mapping[str, Any], place: Place) -> list[Candidate]:
        out: list[Candidate] = []
        for n, raw in enumerate(_dicts(data.get("organic_results"))[: self.LIMIT], start=1):
            title, link = _str(raw.get("title")), _str(raw.get("link"))
            if not title or not link:
                continue  # nothing to show or to judge
            position = raw.get("position")
            rank = position if isinstance(position, int) and not isinstance(position, bool) else n
            out.append(
                self._candidate(
                    native_id=link,
                    title=title,
                    name=title,
                    description=_str(raw.get("snippet")),
                    url=link,
                    rank=rank,
                    published_at=_page_date(_str(raw.get("date")), self.ctx.clock()),
                )
            )
        return out


class SerpApiLocalSource(_SerpApiSource):
    """Google Maps search (``engine=google_maps``) around the place's centre."""

    name = "serpapi_local"
    source_type: SourceType = "local"
    engine = "google_maps"

    def request_params(self, parsed: ParsedQuery, place: Place) -> dict[str, str]:
        return {
            "engine": self.engine,
            "q": f"{_intent(parsed)} in {_label(place)}",
            "ll": f"@{place.lat:.7f},{place.lon:.7f},12z",
            "type": "search",
        }

    def parse(self, data: Mapping[str, Any], place: Place) -> list[Candidate]:
        out: list[Candidate] = []
        raw_results = data.get("local_results")
        if raw_results is None and isinstance(data.get("place_results"), Mapping):
            # A query naming exactly one place makes Maps answer with that place alone.
            raw_results = [data["place_results"]]
        for raw in _places(raw_results):
            cand = self._place_candidate(raw, rank=len(out) + 1)
            if cand is not None:
                out.append(cand)
        return out


class SerpApiEventsSource(_SerpApiSource):
    """Google Events (``engine=google_events``) in the place."""

    name = "serpapi_events"
    source_type: SourceType = "events"
    engine = "google_events"

    def request_params(self, parsed: ParsedQuery, place: Place) -> dict[str, str]:
        intent = " ".join(parsed.intent.split())
        intent = re.sub(r"(?i)\s*\bevents?$", "", intent).strip()
        what = "events" if normalize_name(intent) in GENERIC_INTENTS else f"{intent} events"
        return {
            "engine": self.engine,
            "q": f"{what} in {_label(place)}",
            "hl": "en",
            "gl": "us",
        }

    def parse(self, data: Mapping[str, Any], place: Place) -> list[Candidate]:
        now = self.ctx.clock()
        out: list[Candidate] = []
        for raw in _dicts(data.get("events_results")):
            title = _str(raw.get("title"))
            if not title:
                continue
            when = raw.get("date")
            when = when if isinstance(when, Mapping) else {}
            start_date, when_text = _str(when.get("start_date")), _str(when.get("when"))
            address_parts = raw.get("address")
            if isinstance(address_parts, str):
                address_parts = [address_parts]
            address = ", ".join(_str(a) for a in address_parts or [] if _str(a))
            venue = raw.get("venue")
            venue_name = _str(venue.get("name")) if isinstance(venue, Mapping) else ""
            if venue_name and venue_name.lower() not in address.lower():
                address = f"{venue_name}, {address}" if address else venue_name
            link = _str(raw.get("link"))
            out.append(
                self._candidate(
                    native_id=link or f"{title}|{start_date or when_text}",
                    title=title,
                    name=title,
                    description=_str(raw.get("description")) or when_text,
                    url=link,
                    rank=len(out) + 1,
                    address=address or None,
                    place_type="event",
                    starts_at=parse_event_start(start_date, when_text, now),
                )
            )
        return out


# ------------------------------------------------------------------------------ dates

_MONTHS = {
    m: i
    for i, m in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"),
        start=1,
    )
}
_MONTH_DAY = re.compile(
    r"\b(jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?\s+(\d{1,2})(?:st|nd|rd|th)?\b"
    r"(?:,?\s+(\d{4})\b)?",
    re.I,
)
_RELATIVE_DAY = re.compile(r"\b(today|tonight|tomorrow)\b", re.I)
_TIME = re.compile(r"\b(\d{1,2})(?::(\d{2}))?\s*([ap])\.?\s?m\b\.?|\b(\d{1,2}):(\d{2})\b", re.I)
_MERIDIEM = re.compile(r"\b([ap])\.?\s?m\b", re.I)


def parse_event_start(start_date: str, when: str, now: datetime) -> datetime | None:
    """When an event starts, from SerpAPI's ``date.start_date`` ("Jun 20") and ``date.when``
    ("Sat, Jun 20, 7 – 10 PM").

    Google shows no year, so the year is the one that puts the date nearest ahead of ``now``,
    except that a date up to ``STALE_EVENT_DAYS`` in the past is read as past: stale listings
    of events that already happened linger for weeks, and an expired event must look expired.
    The time is the first clock time in ``when`` ("7 – 10 PM" starts at 7 PM); without one the
    event starts at midnight. The wall-clock time carries ``now``'s time zone (the venue's zone
    is unknown). None when no date is found.
    """
    tz = now.tzinfo or UTC
    day: date | None = None
    rest = when
    match = _MONTH_DAY.search(start_date) or _MONTH_DAY.search(when)
    if match is not None:
        month, dom = _MONTHS[match.group(1)[:3].lower()], int(match.group(2))
        year = int(match.group(3)) if match.group(3) else None
        day = _resolve_year(month, dom, year, now.date())
        in_when = _MONTH_DAY.search(when)
        rest = when[in_when.end() :] if in_when else when
    elif rel := _RELATIVE_DAY.search(start_date) or _RELATIVE_DAY.search(when):
        day = now.date() + timedelta(days=1 if rel.group(1).lower() == "tomorrow" else 0)
        rel_in_when = _RELATIVE_DAY.search(when)
        rest = when[rel_in_when.end() :] if rel_in_when else when
    if day is None:
        return None
    hour, minute = _first_time(rest)
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=tz)


STALE_EVENT_DAYS = 120


def _resolve_year(month: int, dom: int, year: int | None, today: date) -> date | None:
    if year is not None:
        try:
            return date(year, month, dom)
        except ValueError:
            return None
    for y in (today.year, today.year + 1, today.year + 2, today.year + 3, today.year + 4):
        try:
            candidate = date(y, month, dom)
        except ValueError:  # Feb 29 outside a leap year
            continue
        if candidate >= today - timedelta(days=STALE_EVENT_DAYS):
            return candidate
    return None


def _first_time(text: str) -> tuple[int, int]:
    """(hour, minute) of the first clock time in ``text``; (0, 0) when there is none."""
    # Cut at a second date ("Jun 20, 10 AM – Jun 22, 5 PM"): times after it belong to the end.
    head = text
    second = _MONTH_DAY.search(text)
    if second is not None:
        head = text[: second.start()]
    bare = re.search(r"\b(\d{1,2})(?::(\d{2}))?\s*(?=[–—-]|to\b)", head)
    match = _TIME.search(head)
    if bare is not None and (match is None or bare.start() <= match.start()):
        # "7 – 10 PM": the start borrows the end's meridiem.
        meridiem = _MERIDIEM.search(head, bare.end())
        if meridiem is not None:
            hour = _to_24h(int(bare.group(1)), meridiem.group(1))
            if hour is not None:
                return hour, int(bare.group(2) or 0)
    if match is None:
        return 0, 0
    if match.group(3):
        hour = _to_24h(int(match.group(1)), match.group(3))
        minute = int(match.group(2) or 0)
    else:
        hour, minute = int(match.group(4)), int(match.group(5))
    if hour is None or not (0 <= hour < 24 and 0 <= minute < 60):
        return 0, 0
    return hour, minute


def _to_24h(hour: int, meridiem: str) -> int | None:
    if not 1 <= hour <= 12:
        return None
    if meridiem.lower() == "a":
        return 0 if hour == 12 else hour
    return 12 if hour == 12 else hour + 12


def _page_date(text: str, now: datetime) -> datetime | None:
    """An organic result's ``date`` ("Mar 3, 2024", "5 days ago") as an aware datetime."""
    if not text:
        return None
    ago = re.match(r"(\d+)\s+(minute|hour|day|week|month|year)s?\s+ago", text.strip(), re.I)
    if ago:
        n, unit = int(ago.group(1)), ago.group(2).lower()
        days = {"minute": 1 / 1440, "hour": 1 / 24, "day": 1, "week": 7, "month": 30, "year": 365}
        return now - timedelta(days=n * days[unit])
    match = _MONTH_DAY.search(text)
    if match is None or not match.group(3):
        return None
    try:
        return datetime(
            int(match.group(3)),
            _MONTHS[match.group(1)[:3].lower()],
            int(match.group(2)),
            tzinfo=now.tzinfo or UTC,
        )
    except ValueError:
        return None


# ------------------------------------------------------------------------------ helpers


def _intent(parsed: ParsedQuery) -> str:
    return " ".join(parsed.intent.split()) or DEFAULT_INTENT


def _label(place: Place) -> str:
    return short_label(place.name, place.admin1_code, place.admin1)


def _places(value: object) -> list[Mapping[str, Any]]:
    if isinstance(value, Mapping):
        value = value.get("places")
    return _dicts(value)


def _dicts(value: object) -> list[Mapping[str, Any]]:
    if not isinstance(value, Sequence) or isinstance(value, str | bytes):
        return []
    return [v for v in value if isinstance(v, Mapping)]


def _maps_link(
    place_id: str, data_cid: str, title: str, lat: float | None, lon: float | None
) -> str:
    """A Google Maps URL for a place without a website."""
    if place_id and not place_id.isdigit():
        return f"https://www.google.com/maps/place/?q=place_id:{quote(place_id)}"
    cid = data_cid or place_id
    if cid.isdigit():
        return f"https://maps.google.com/?cid={cid}"
    query = f"{lat},{lon}" if lat is not None and lon is not None else title
    return f"https://www.google.com/maps/search/?api=1&query={quote(query)}"


def _str(value: object) -> str:
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return ""


def _float(value: object) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return None
    return None


def _int(value: object) -> int | None:
    """Review counts: 1234, "1,234", "(1.2K)"."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value)
    if isinstance(value, str):
        match = re.search(r"(\d+(?:[.,]\d+)*)\s*([KkMm])?", value)
        if match is None:
            return None
        number, suffix = match.group(1), (match.group(2) or "").lower()
        if suffix:
            return int(float(number.replace(",", "")) * (1000 if suffix == "k" else 1_000_000))
        return int(number.replace(",", "").replace(".", ""))
    return None
