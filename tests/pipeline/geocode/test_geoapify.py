"""Geoapify geocoder: request shape, GeoJSON mapping, alternatives and errors, over real HTTP."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import httpx
import pytest

# The loopback server and settings helpers are shared with the sources tests.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "sources"))
from upstream_support import (
    API_KEY,
    Loopback,
    Reply,
    client_ctx,
    fixture_bytes,
    make_ctx,
    make_settings,
    parsed_query,
    start_loopback,
    stop_loopback,
)

from underfoot_lab.errors import LocationNotFound, UpstreamError
from underfoot_lab.http import RetryPolicy, make_client
from underfoot_lab.pipeline.geocode.geoapify import GeoapifyGeocoder
from underfoot_lab.records import Availability, Place, PlaceRef
from underfoot_lab.settings import Settings


@pytest.fixture
def loopback() -> Iterator[Loopback]:
    server = start_loopback()
    try:
        yield server
    finally:
        stop_loopback(server)


async def geocode(
    body: bytes,
    *,
    location: str = "Pikeville KY",
    admin1_hint: str | None = "KY",
    settings: Settings | None = None,
) -> tuple[Place, httpx.Request]:
    settings = settings or make_settings()
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, content=body, headers={"Content-Type": "application/json"})

    client = make_client(settings, transport=httpx.MockTransport(handler))
    parsed = parsed_query(location=location)
    if admin1_hint != parsed.admin1_hint:
        parsed = replace(parsed, admin1_hint=admin1_hint)
    try:
        place = await GeoapifyGeocoder.create(make_ctx(settings, client)).geocode(parsed)
    finally:
        await client.aclose()
    assert len(seen) == 1
    return place, seen[0]


async def test_request_shape() -> None:
    _, request = await geocode(fixture_bytes("geoapify_search.json"))
    assert request.method == "GET"
    assert str(request.url).startswith("https://api.geoapify.com/v1/geocode/search?")
    assert dict(request.url.params) == {
        "text": "Pikeville KY",
        "filter": "countrycode:us",
        "limit": "5",
        "format": "geojson",
        "apiKey": API_KEY,
    }


async def test_feature_mapping_and_alternatives() -> None:
    place, _ = await geocode(fixture_bytes("geoapify_search.json"))
    assert place == Place(
        name="Pikeville",
        admin1="Kentucky",
        admin1_code="KY",
        county="Pike County",
        country="US",
        lat=37.4792672,
        lon=-82.5187618,
        population=7012,  # from the gazetteer: Geoapify has no population
        confidence=1.0,
        geocoder="geoapify",
        kind="city",
        alternatives=(
            PlaceRef(
                name="Pikeville",
                admin1="Tennessee",
                county="Bledsoe County",
                country="US",
                lat=35.6056238,
                lon=-85.1888517,
                population=1636,
            ),
            PlaceRef(
                name="Pikeville",
                admin1="North Carolina",
                county="Wayne County",
                country="US",
                lat=35.4976614,
                lon=-77.9849807,
                population=0,  # not in the gazetteer
            ),
        ),
    )


async def test_state_hint_picks_the_matching_feature() -> None:
    place, _ = await geocode(fixture_bytes("geoapify_search.json"), admin1_hint="TN")
    assert (place.name, place.admin1_code, place.population) == ("Pikeville", "TN", 1636)
    assert place.confidence == 0.5
    assert [a.admin1 for a in place.alternatives] == ["Kentucky", "North Carolina"]


async def test_postcode_result_and_lowercase_state_code() -> None:
    data = json.loads(fixture_bytes("geoapify_search.json"))
    feature = data["features"][0]
    feature["properties"].update(result_type="postcode", state_code="ky", postcode="41501")
    del feature["properties"]["lat"], feature["properties"]["lon"]  # fall back to geometry
    data["features"] = [feature]
    place, _ = await geocode(json.dumps(data).encode(), location="41501")
    assert place.kind == "postcode"
    assert place.admin1_code == "KY"
    assert (place.lat, place.lon) == (37.4792672, -82.5187618)
    assert place.alternatives == ()


async def test_no_features_is_location_not_found_with_suggestions() -> None:
    body = json.dumps(
        {"type": "FeatureCollection", "features": [], "query": {"text": "Pikevile KY"}}
    ).encode()
    with pytest.raises(LocationNotFound) as info:
        await geocode(body, location="Pikevile")
    assert "Pikevile" in str(info.value)
    assert "Pikeville, KY" in info.value.suggestions


async def test_no_location_in_query() -> None:
    settings = make_settings()
    client = make_client(settings, transport=httpx.MockTransport(lambda r: httpx.Response(500)))

    try:
        with pytest.raises(LocationNotFound):
            await GeoapifyGeocoder.create(make_ctx(settings, client)).geocode(
                replace(parsed_query(), location=None)
            )
    finally:
        await client.aclose()


async def test_base_url_override(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GEOAPIFY_BASE_URL", "http://127.0.0.1:8002")
    _, request = await geocode(fixture_bytes("geoapify_search.json"), settings=make_settings())
    assert str(request.url).startswith("http://127.0.0.1:8002/v1/geocode/search?")


async def test_invalid_key_is_auth_over_real_http(loopback: Loopback) -> None:
    loopback.script(
        "/v1/geocode/search",
        Reply(
            401,
            b'{"statusCode": 401, "error": "Unauthorized", "message": "Invalid apiKey"}',
        ),
    )
    settings = make_settings(geoapify_base_url=loopback.base_url)
    async with client_ctx(settings) as ctx:
        geocoder = GeoapifyGeocoder(ctx, retry=RetryPolicy(attempts=1))
        with pytest.raises(UpstreamError) as info:
            await geocoder.geocode(parsed_query())
    assert info.value.error_class == "auth"
    assert API_KEY not in str(info.value)
    assert "apiKey=***" in str(info.value)
    assert loopback.seen[0].query["apiKey"] == API_KEY


async def test_real_answer_over_loopback(loopback: Loopback) -> None:
    loopback.script("/v1/geocode/search", Reply(200, fixture_bytes("geoapify_search.json")))
    settings = make_settings(geoapify_base_url=loopback.base_url)
    async with client_ctx(settings) as ctx:
        place = await GeoapifyGeocoder.create(ctx).geocode(parsed_query())
    assert place.label == "Pikeville, Kentucky"
    assert loopback.seen[0].query["filter"] == "countrycode:us"


def test_availability() -> None:
    offline = Settings(_env_file=None, mode="offline")
    assert GeoapifyGeocoder.availability(offline) == Availability(True, "offline world")
    live = Settings(_env_file=None, mode="live", geoapify_api_key=None)
    assert GeoapifyGeocoder.availability(live) == Availability(False, "GEOAPIFY_API_KEY not set")
    with_key = make_settings(mode="live")
    assert GeoapifyGeocoder.availability(with_key).ok
    assert API_KEY not in GeoapifyGeocoder.availability(with_key).reason
    assert GeoapifyGeocoder.name == "geoapify"
