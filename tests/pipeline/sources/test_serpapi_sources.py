"""SerpAPI connectors: request shapes, every field mapping from hand-made fixtures, errors."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime

import httpx
import pytest
from upstream_support import (
    API_KEY,
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
from underfoot_lab.pipeline.sources.serpapi import (
    SerpApiEventsSource,
    SerpApiLocalSource,
    SerpApiWebSource,
    parse_event_start,
)
from underfoot_lab.records import Availability, Candidate
from underfoot_lab.settings import Settings

Handler = Callable[[httpx.Request], httpx.Response]


def serve(body: bytes, seen: list[httpx.Request], status: int = 200) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(status, content=body, headers={"Content-Type": "application/json"})

    return httpx.MockTransport(handler)


async def run(
    cls: type[SerpApiWebSource | SerpApiLocalSource | SerpApiEventsSource],
    fixture: str,
    *,
    intent: str = "hidden gems",
    settings: Settings | None = None,
    body: bytes | None = None,
) -> tuple[list[Candidate], httpx.Request]:
    settings = settings or make_settings()
    seen: list[httpx.Request] = []
    client = make_client(settings, transport=serve(body or fixture_bytes(fixture), seen))
    try:
        source = cls.create(make_ctx(settings, client))
        found = await source.fetch(parsed_query(intent), PIKEVILLE)
    finally:
        await client.aclose()
    assert len(seen) == 1
    return list(found), seen[0]


def params(request: httpx.Request) -> dict[str, str]:
    return dict(request.url.params)


# ------------------------------------------------------------------------------ web


async def test_web_request_shape() -> None:
    _, request = await run(SerpApiWebSource, "serpapi_google.json")
    assert request.method == "GET"
    assert str(request.url).startswith("https://serpapi.com/search.json?")
    assert params(request) == {
        "engine": "google",
        "q": "hidden gems in Pikeville, KY",
        "location": "Pikeville, Kentucky, United States",
        "hl": "en",
        "gl": "us",
        "num": "20",
        "api_key": API_KEY,
    }


async def test_web_maps_local_pack_then_organic() -> None:
    found, _ = await run(SerpApiWebSource, "serpapi_google.json")
    assert [c.rank for c in found] == [1, 2, 3, 4, 5, 6]
    assert {c.source for c in found} == {"serpapi_web"}
    assert {c.source_type for c in found} == {"web"}
    assert not any(c.simulated for c in found)

    pizza, overlook = found[0], found[1]
    assert pizza == Candidate(
        source="serpapi_web",
        source_type="web",
        native_id="15732198046312594172",
        title="Depot Street Pizza Co.",
        name="Depot Street Pizza Co.",
        description="Wood-fired pizza in a former railroad depot.",
        url="https://depotstreetpizza.example.com/",
        rank=1,
        lat=37.4801,
        lon=-82.5203,
        rating=4.8,
        reviews=212,
        address="112 Depot St, Pikeville, KY 41501",
        place_type="Pizza restaurant",
        simulated=False,
    )
    # No website: a Google Maps link built from the numeric place id (a CID for engine=google).
    assert overlook.url == "https://maps.google.com/?cid=4417260913884216135"
    assert overlook.native_id == "4417260913884216135"
    assert overlook.reviews == 1204
    assert (overlook.lat, overlook.lon) == (37.4756, -82.5302)
    assert overlook.place_type == "Scenic spot"
    assert overlook.description == ""

    dils, listicle, raven, tripadvisor = found[2:]
    assert dils == Candidate(
        source="serpapi_web",
        source_type="web",
        native_id="https://www.atlasobscura.com/places/dils-cemetery",
        title="Dils Cemetery - Pikeville, Kentucky - Atlas Obscura",
        name="Dils Cemetery",
        description=(
            "One of the first integrated cemeteries in Kentucky, high on a hill above town."
        ),
        url="https://www.atlasobscura.com/places/dils-cemetery",
        rank=3,
        published_at=datetime(2024, 3, 3, tzinfo=UTC),
    )
    assert listicle.name == "15 Hidden Gems in Pikeville, KY"
    assert listicle.lat is None and listicle.rating is None
    assert raven.name == "The Blue Raven Restaurant"
    assert raven.published_at == datetime(2026, 6, 10, tzinfo=UTC)  # "5 days ago"
    assert tripadvisor.name == "THE 10 BEST Things to Do in Pikeville (Updated 2026)"
    assert tripadvisor.url.startswith("https://www.tripadvisor.com/")


async def test_web_accepts_local_results_as_a_list() -> None:
    data = json.loads(fixture_bytes("serpapi_google.json"))
    data["local_results"] = data["local_results"]["places"]
    found, _ = await run(SerpApiWebSource, "", body=json.dumps(data).encode())
    assert [c.title for c in found[:2]] == [
        "Depot Street Pizza Co.",
        "Pikeville Cut-Through Overlook",
    ]
    assert len(found) == 6


async def test_web_without_local_pack() -> None:
    data = json.loads(fixture_bytes("serpapi_google.json"))
    del data["local_results"]
    found, _ = await run(SerpApiWebSource, "", body=json.dumps(data).encode())
    assert [c.rank for c in found] == [1, 2, 3, 4]
    assert found[0].name == "Dils Cemetery"


async def test_base_url_override_moves_only_scheme_host_port(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SERPAPI_BASE_URL", "http://127.0.0.1:8001")
    settings = make_settings()
    assert settings.serpapi_base_url == "http://127.0.0.1:8001"
    _, request = await run(SerpApiWebSource, "serpapi_google.json", settings=settings)
    assert str(request.url).startswith("http://127.0.0.1:8001/search.json?")
    assert params(request)["engine"] == "google"


async def test_web_against_real_loopback_server(loopback: Loopback) -> None:
    loopback.script("/search.json", Reply(200, fixture_bytes("serpapi_google.json")))
    settings = make_settings(serpapi_base_url=loopback.base_url + "/ignored/path")
    async with client_ctx(settings) as ctx:
        found = await SerpApiWebSource.create(ctx).fetch(parsed_query(), PIKEVILLE)
    assert len(found) == 6
    assert loopback.seen[0].path == "/search.json"
    assert loopback.seen[0].query["q"] == "hidden gems in Pikeville, KY"


async def test_invalid_key_through_loopback_is_auth_without_key(loopback: Loopback) -> None:
    loopback.script(
        "/search.json",
        Reply(
            401,
            b'{"error": "Invalid API key. Your API key should be here: https://serpapi.com/manage-api-key"}',
        ),
    )
    settings = make_settings(serpapi_base_url=loopback.base_url)
    async with client_ctx(settings) as ctx:
        source = SerpApiLocalSource(ctx, retry=RetryPolicy(attempts=1))
        with pytest.raises(UpstreamError) as info:
            await source.fetch(parsed_query(), PIKEVILLE)
    assert info.value.error_class == "auth"
    assert API_KEY not in str(info.value)
    assert "Invalid API key" in str(info.value)


# ------------------------------------------------------------------------------ local (maps)


async def test_local_request_shape() -> None:
    _, request = await run(SerpApiLocalSource, "serpapi_google_maps.json")
    assert str(request.url).startswith("https://serpapi.com/search.json?")
    assert params(request) == {
        "engine": "google_maps",
        "q": "hidden gems in Pikeville, KY",
        "ll": "@37.4792700,-82.5187600,12z",
        "type": "search",
        "api_key": API_KEY,
    }


async def test_local_maps_places() -> None:
    found, _ = await run(SerpApiLocalSource, "serpapi_google_maps.json")
    assert len(found) == 2
    bakery, park = found
    assert bakery == Candidate(
        source="serpapi_local",
        source_type="local",
        native_id="ChIJ2eUgeAK6RIgR4t0uXq5nW9k",
        title="Blue Raven Bakery",
        name="Blue Raven Bakery",
        description="Tiny bakery known for its salt-rising bread.",
        url="https://blueravenbakery.example.com/",
        rank=1,
        lat=37.4788841,
        lon=-82.5190537,
        rating=4.9,
        reviews=387,
        address="204 Main St, Pikeville, KY 41501",
        place_type="Bakery",
    )
    assert park.url == "https://www.google.com/maps/place/?q=place_id:ChIJq6qqqlW7RIgRpYx7o0x0e1U"
    assert park.rank == 2
    assert park.reviews == 1516
    assert park.place_type == "Park"


async def test_local_accepts_the_object_shape() -> None:
    data = json.loads(fixture_bytes("serpapi_google_maps.json"))
    data["local_results"] = {"places": data["local_results"]}
    found, _ = await run(SerpApiLocalSource, "", body=json.dumps(data).encode())
    assert [c.name for c in found] == ["Blue Raven Bakery", "Bob Amos Park Overlook"]


async def test_local_in_band_no_results_is_empty() -> None:
    body = json.dumps(
        {
            "search_metadata": {"id": "x", "status": "Success"},
            "search_parameters": {"engine": "google_maps"},
            "error": "Google hasn't returned any results for this query.",
        }
    ).encode()
    found, _ = await run(SerpApiLocalSource, "", body=body)
    assert found == []


async def test_in_band_error_raises() -> None:
    body = json.dumps({"error": "Your account has run out of searches."}).encode()
    with pytest.raises(UpstreamError) as info:
        await run(SerpApiLocalSource, "", body=body)
    assert info.value.error_class == "http_error"
    assert "run out of searches" in str(info.value)


# ------------------------------------------------------------------------------ events


async def test_events_request_shape_specific_intent() -> None:
    _, request = await run(SerpApiEventsSource, "serpapi_google_events.json", intent="live music")
    assert params(request) == {
        "engine": "google_events",
        "q": "live music events in Pikeville, KY",
        "hl": "en",
        "gl": "us",
        "api_key": API_KEY,
    }


@pytest.mark.parametrize("intent", ["hidden gems", "Hidden Gems", "things to do", "", "events"])
async def test_events_request_shape_generic_intent(intent: str) -> None:
    _, request = await run(SerpApiEventsSource, "serpapi_google_events.json", intent=intent)
    assert params(request)["q"] == "events in Pikeville, KY"


async def test_events_request_does_not_double_events() -> None:
    _, request = await run(SerpApiEventsSource, "serpapi_google_events.json", intent="art events")
    assert params(request)["q"] == "art events in Pikeville, KY"


async def test_events_mapping() -> None:
    found, _ = await run(SerpApiEventsSource, "serpapi_google_events.json", intent="live music")
    assert len(found) == 3
    bluegrass, songwriters, porch = found
    assert bluegrass == Candidate(
        source="serpapi_events",
        source_type="events",
        native_id="https://www.visitpikeville.example.com/events/bluegrass-on-the-square",
        title="Bluegrass on the Square",
        name="Bluegrass on the Square",
        description="Free outdoor bluegrass night with local pickers. Bring a lawn chair.",
        url="https://www.visitpikeville.example.com/events/bluegrass-on-the-square",
        rank=1,
        address="Pikeville City Park, 150 Hambley Blvd, Pikeville, KY",
        place_type="event",
        starts_at=datetime(2026, 6, 20, 19, 0, tzinfo=UTC),
    )
    # "Jan 9" seen in June is next January's; "7:30 – 9:30 PM" starts at 19:30.
    assert songwriters.starts_at == datetime(2027, 1, 9, 19, 30, tzinfo=UTC)
    assert songwriters.address == "Appalachian Center for the Arts, 314 Main St, Pikeville, KY"
    # No date Google could give: no start; the venue is kept in the address.
    assert porch.starts_at is None
    assert porch.address == "Dils Corner, Pikeville, KY"
    assert porch.description == "Every Thursday"
    assert porch.rank == 3


def test_parse_event_start_variants() -> None:
    now = datetime(2026, 6, 15, 12, tzinfo=UTC)
    assert parse_event_start("Jun 20", "Sat, Jun 20, 11 AM – 2 PM", now) == datetime(
        2026, 6, 20, 11, tzinfo=UTC
    )
    assert parse_event_start("Jun 20", "", now) == datetime(2026, 6, 20, tzinfo=UTC)
    assert parse_event_start("", "Sat, Jun 20, 7 PM", now) == datetime(2026, 6, 20, 19, tzinfo=UTC)
    assert parse_event_start("Dec 31", "Thu, Dec 31, 12 – 1 AM", now) == datetime(
        2026, 12, 31, 0, tzinfo=UTC
    )
    # Started recently (a multi-day event still running): this year, not next.
    assert parse_event_start("Jun 1", "Mon, Jun 1, 10 AM – Jun 22, 5 PM", now) == datetime(
        2026, 6, 1, 10, tzinfo=UTC
    )
    assert parse_event_start("", "Today, 6 – 9 PM", now) == datetime(2026, 6, 15, 18, tzinfo=UTC)
    assert parse_event_start("", "Tomorrow", now) == datetime(2026, 6, 16, tzinfo=UTC)
    assert parse_event_start("Jun 20, 2027", "", now) == datetime(2027, 6, 20, tzinfo=UTC)
    assert parse_event_start("", "Every Thursday", now) is None
    assert parse_event_start("Smarch 40", "soon", now) is None


# ------------------------------------------------------------------------------ providers


@pytest.mark.parametrize(
    ("name", "cls", "source_type"),
    [
        ("serpapi_web", SerpApiWebSource, "web"),
        ("serpapi_local", SerpApiLocalSource, "local"),
        ("serpapi_events", SerpApiEventsSource, "events"),
    ],
)
def test_registered(
    name: str,
    cls: type[SerpApiWebSource | SerpApiLocalSource | SerpApiEventsSource],
    source_type: str,
) -> None:
    registered: object = SOURCES.get(name)
    assert registered is cls
    assert cls.name == name
    assert cls.source_type == source_type


def test_availability() -> None:
    offline = Settings(_env_file=None, mode="offline")
    assert SerpApiWebSource.availability(offline) == Availability(True, "offline world")
    live_no_key = Settings(_env_file=None, mode="live", serpapi_api_key=None)
    assert SerpApiLocalSource.availability(live_no_key) == Availability(
        False, "SERPAPI_API_KEY not set"
    )
    live = make_settings(mode="live")
    avail = SerpApiEventsSource.availability(live)
    assert avail.ok
    assert API_KEY not in avail.reason


async def test_live_without_key_is_auth_error() -> None:
    settings = Settings(_env_file=None, mode="live", serpapi_api_key=None)
    seen: list[httpx.Request] = []
    client = make_client(settings, transport=serve(b"{}", seen))
    try:
        with pytest.raises(UpstreamError) as info:
            await SerpApiWebSource.create(make_ctx(settings, client)).fetch(
                parsed_query(), PIKEVILLE
            )
    finally:
        await client.aclose()
    assert info.value.error_class == "auth"
    assert seen == []


async def test_simulated_flag_is_carried() -> None:
    settings = make_settings()
    seen: list[httpx.Request] = []
    client = make_client(settings, transport=serve(fixture_bytes("serpapi_google_maps.json"), seen))
    try:
        found = await SerpApiLocalSource.create(make_ctx(settings, client, simulated=True)).fetch(
            parsed_query(), PIKEVILLE
        )
    finally:
        await client.aclose()
    assert found and all(c.simulated for c in found)
