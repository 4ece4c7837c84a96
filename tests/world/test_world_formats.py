"""Every engine's payload has the upstream's shape, for 20 seeded-random towns (tiny ones too)."""

from __future__ import annotations

import html
import json
import random
from datetime import datetime
from typing import Any

import feedparser
import pytest

from underfoot_lab.geo.gazetteer import Gazetteer, Town, get_gazetteer
from underfoot_lab.world import World

CLOCK = datetime.fromisoformat("2026-06-15T12:00:00+00:00")


@pytest.fixture(scope="module")
def gazetteer() -> Gazetteer:
    return get_gazetteer()


@pytest.fixture(scope="module")
def world(gazetteer: Gazetteer) -> World:
    return World(20261126, gazetteer, CLOCK)


def _towns(gazetteer: Gazetteer) -> list[Town]:
    towns = random.Random(42).sample(gazetteer.towns, 18)
    tiny = sorted(gazetteer.towns, key=lambda t: (t.population, t.key))
    return [*towns, tiny[0], tiny[1]]


def _json(world: World, params: dict[str, str]) -> dict[str, Any]:
    res = world.respond("GET", "/search.json", params)
    assert res.status == 200
    assert res.content_type.startswith("application/json")
    body: dict[str, Any] = json.loads(res.body)
    assert body["search_metadata"]["status"] == "Success"
    assert body["search_metadata"]["simulated"] is True
    assert body["search_parameters"]["engine"] == params["engine"]
    return body


def _check_google(body: dict[str, Any], town: Town) -> None:
    organic = body["organic_results"]
    assert isinstance(organic, list) and organic
    for pos, item in enumerate(organic, start=1):
        assert item["position"] == pos
        for key in ("title", "link", "displayed_link", "snippet", "source", "favicon"):
            assert isinstance(item[key], str) and item[key]
        assert isinstance(item["snippet_highlighted_words"], list)
        host = item["link"].split("/")[2]
        assert host.endswith(".example") or host == "www.reddit.com"
    if "local_results" in body:
        local = body["local_results"]
        assert isinstance(local, dict)
        assert local["more_locations_link"]
        for place in local["places"]:
            for key in ("position", "title", "place_id", "rating", "reviews", "type", "address"):
                assert key in place
            gps = place["gps_coordinates"]
            assert -90 <= gps["latitude"] <= 90 and -180 <= gps["longitude"] <= 180
            assert place["links"]["directions"].startswith("https://maps.example/")
            if "website" in place["links"]:
                assert place["links"]["website"].split("/")[2].endswith(".example")


def _check_maps(body: dict[str, Any]) -> None:
    local = body["local_results"]
    assert isinstance(local, list) and local
    for pos, place in enumerate(local, start=1):
        assert place["position"] == pos
        assert place["place_id"].startswith("ChIJ") and len(place["place_id"]) == 27
        assert place["data_id"].startswith("0x") and ":0x" in place["data_id"]
        assert place["data_cid"].isdigit()
        for key in ("title", "rating", "reviews", "type", "types", "address", "description"):
            assert key in place
        assert set(place["gps_coordinates"]) == {"latitude", "longitude"}


def _check_events(body: dict[str, Any]) -> None:
    events = body["events_results"]
    assert isinstance(events, list) and events
    for ev in events:
        assert ev["title"]
        assert set(ev["date"]) == {"start_date", "when"}
        assert isinstance(ev["address"], list) and len(ev["address"]) == 2
        assert ev["link"].split("/")[2].endswith(".example")
        assert {"name", "rating", "reviews"} <= set(ev["venue"])
        assert ev["description"] and ev["thumbnail"]


def _check_feed(world: World, path: str, params: dict[str, str]) -> int:
    res = world.respond("GET", path, params)
    assert res.status == 200
    assert res.content_type == "application/atom+xml; charset=UTF-8"
    assert res.body.startswith(b'<?xml version="1.0" encoding="UTF-8"?><feed xmlns=')
    assert b"<subtitle>offline world (simulated)</subtitle>" in res.body
    feed = feedparser.parse(res.body)
    assert not feed.bozo
    for entry in feed.entries:
        assert entry.title and entry.link and entry.id.startswith("t3_")
        assert entry.author.startswith("/u/")
        assert entry.link.startswith("https://www.reddit.com/r/")
        assert "/comments/" + entry.id[3:] + "/" in entry.link
        assert entry.tags[0]["label"] == "r/" + entry.tags[0]["term"]
        content = entry.content[0].value
        assert "<!-- SC_OFF -->" in content and "<!-- SC_ON -->" in content
        assert entry.published and entry.updated
    # The raw XML keeps the HTML entity-escaped, as Reddit's does.
    if feed.entries:
        assert b"&lt;!-- SC_OFF --&gt;&lt;div class=&quot;md&quot;&gt;" in res.body
        assert "<!-- SC_OFF -->" in html.unescape(res.body.decode())
    assert b"score" not in res.body.lower()
    return len(feed.entries)


def test_every_engine_parses_for_random_towns(world: World, gazetteer: Gazetteer) -> None:
    entries = 0
    for town in _towns(gazetteer):
        loc = f"{town.name}, {town.state_code}"
        google = _json(
            world,
            {
                "engine": "google",
                "q": f"hidden gems in {loc}",
                "location": f"{town.name}, {town.state}, United States",
                "num": "10",
                "hl": "en",
                "gl": "us",
            },
        )
        _check_google(google, town)
        maps = _json(
            world,
            {
                "engine": "google_maps",
                "q": f"things to do in {loc}",
                "ll": f"@{town.lat},{town.lon},12z",
                "type": "search",
            },
        )
        _check_maps(maps)
        _check_events(_json(world, {"engine": "google_events", "q": f"events in {loc}"}))
        entries += _check_feed(
            world, "/search.rss", {"q": f"hidden gems {loc}", "sort": "relevance", "t": "all"}
        )
        geo = json.loads(
            world.respond("GET", "/v1/geocode/search", {"text": loc, "limit": "5"}).body
        )
        assert geo["type"] == "FeatureCollection"
        keys = [f["properties"]["place_id"] for f in geo["features"]]
        assert keys, loc
        assert any(
            f["properties"]["city"] == town.name
            and f["properties"]["state_code"] == town.state_code
            for f in geo["features"]
        )
    assert entries > 50


def test_subreddit_search_keeps_to_the_subreddit(world: World, gazetteer: Gazetteer) -> None:
    town = gazetteer.lookup("Pikeville", "KY")[0]
    subs = world.universe(town).subreddits
    assert subs[0] == "Kentucky"
    n = _check_feed(
        world,
        "/r/kentucky/search.rss",
        {"q": "things to do Pikeville, KY", "restrict_sr": "1", "limit": "100"},
    )
    feed = feedparser.parse(
        world.respond(
            "GET",
            "/r/kentucky/search.rss",
            {"q": "things to do Pikeville, KY", "restrict_sr": "1", "limit": "100"},
        ).body
    )
    assert n > 0
    assert {e.tags[0]["term"] for e in feed.entries} == {"Kentucky"}
    assert feed.feed.tags[0]["label"] == "r/Kentucky"


def test_geoapify_fields_and_ambiguity(world: World) -> None:
    body = json.loads(
        world.respond(
            "GET",
            "/v1/geocode/search",
            {"text": "Pikeville, KY", "filter": "countrycode:us", "format": "geojson"},
        ).body
    )
    (feature,) = body["features"]
    props = feature["properties"]
    assert props["datasource"]["sourcename"] == "openstreetmap"
    assert props["country_code"] == "us" and props["state_code"] == "KY"
    assert props["county"] == "Pike County" and props["result_type"] == "city"
    assert props["timezone"]["name"] == "America/New_York"
    assert props["rank"]["confidence"] == 1.0
    assert feature["geometry"] == {"type": "Point", "coordinates": [props["lon"], props["lat"]]}
    assert len(feature["bbox"]) == 4
    assert body["query"]["parsed"] == {"city": "pikeville", "state": "ky", "expected_type": "city"}

    many = json.loads(
        world.respond("GET", "/v1/geocode/search", {"text": "Springfield", "limit": "5"}).body
    )["features"]
    assert len(many) == 5
    pops = [f["properties"]["rank"]["popularity"] for f in many]
    assert pops == sorted(pops, reverse=True)
    assert all(f["properties"]["rank"]["confidence"] < 1.0 for f in many)

    zip_hit = json.loads(world.respond("GET", "/v1/geocode/search", {"text": "41501"}).body)
    assert zip_hit["features"][0]["properties"]["result_type"] == "postcode"

    unknown = json.loads(world.respond("GET", "/v1/geocode/search", {"text": "Qwxzzy, KY"}).body)
    assert unknown["type"] == "FeatureCollection" and unknown["features"] == []

    as_json = json.loads(
        world.respond("GET", "/v1/geocode/search", {"text": "Pikeville, KY", "format": "json"}).body
    )
    assert as_json["results"][0]["city"] == "Pikeville"
    assert set(as_json["results"][0]["bbox"]) == {"lon1", "lat1", "lon2", "lat2"}


def test_unresolvable_town_gives_valid_empty_answers(world: World) -> None:
    q = "hidden gems in Nowhereville, ZZ"
    google = _json(world, {"engine": "google", "q": q})
    assert google["organic_results"] == [] and "local_results" not in google
    assert _json(world, {"engine": "google_maps", "q": q})["local_results"] == []
    assert _json(world, {"engine": "google_events", "q": q})["events_results"] == []
    assert _check_feed(world, "/search.rss", {"q": q}) == 0


def test_location_and_ll_params_are_fallbacks(world: World) -> None:
    by_location = _json(
        world,
        {"engine": "google", "q": "dive bars", "location": "Pikeville, Kentucky, United States"},
    )
    assert by_location["organic_results"]
    by_ll = _json(
        world, {"engine": "google_maps", "q": "dive bars", "ll": "@37.47927,-82.51876,12z"}
    )
    assert by_ll["local_results"]
