"""Ground truth: ids/URLs resolve back to entities (even in a fresh process) and grades."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime
from typing import Any

import feedparser
import pytest

from underfoot_lab.geo.gazetteer import Gazetteer, Town, get_gazetteer
from underfoot_lab.world import World, parse_intent
from underfoot_lab.world.truth import PRIMARY_RADIUS_KM

CLOCK = datetime.fromisoformat("2026-06-15T12:00:00+00:00")
SEED = 20261126
INTENTS = ("hidden gems", "swimming holes", "dive bars", "weird stuff", "history", "events")


@pytest.fixture(scope="module")
def gazetteer() -> Gazetteer:
    return get_gazetteer()


@pytest.fixture(scope="module")
def world(gazetteer: Gazetteer) -> World:
    return World(SEED, gazetteer, CLOCK)


@pytest.fixture(scope="module")
def town(gazetteer: Gazetteer) -> Town:
    return gazetteer.lookup("Pikeville", "KY")[0]


def _emitted(world: World, town: Town, intent: str) -> dict[str, list[str]]:
    """Every URL/id one round of requests emits, by kind."""
    loc = f"{town.name}, {town.state_code}"
    out: dict[str, list[str]] = {"entity": [], "maybe": []}

    def get(params: dict[str, str]) -> Any:
        return json.loads(world.respond("GET", "/search.json", params).body)

    google = get({"engine": "google", "q": f"{intent} in {loc}", "num": "20"})
    for item in google["organic_results"]:
        out["maybe"].append(item["link"])
    for place in google.get("local_results", {}).get("places", []):
        out["entity"] += [place["place_id"], *place["links"].values()]
    maps = get({"engine": "google_maps", "q": f"{intent} in {loc}", "type": "search"})
    for place in maps["local_results"]:
        out["entity"] += [place["place_id"], place["data_id"], place["data_cid"]]
        out["entity"] += [place["thumbnail"], *([place["website"]] if "website" in place else [])]
    events = get({"engine": "google_events", "q": f"events in {loc}"})
    for ev in events["events_results"]:
        out["entity"] += [ev["link"], ev["thumbnail"]]
    feed = feedparser.parse(
        world.respond("GET", "/search.rss", {"q": f"{intent} {loc}", "limit": "100"}).body
    )
    for entry in feed.entries:
        out["maybe"] += [entry.link, entry.id]
    return out


def test_entity_for_url_round_trips_every_emitted_id(world: World, town: Town) -> None:
    fresh = World(SEED, world.gazetteer, CLOCK)  # nothing rendered, nothing cached
    resolved_maybe = 0
    for intent in INTENTS:
        emitted = _emitted(world, town, intent)
        for url in emitted["entity"]:
            e = fresh.entity_for_url(url)
            assert e is not None, url
            assert e == world.entity_for_url(url)
            assert e.town_key == town.key
        for url in emitted["maybe"]:
            e = fresh.entity_for_url(url)
            if e is not None:
                resolved_maybe += 1
                assert e.town_key == town.key
    assert resolved_maybe > 10


def test_entity_pages_resolve_and_generic_pages_do_not(world: World, town: Town) -> None:
    u = world.universe(town)
    for page in u.pages:
        e = world.entity_for_url(page.link)
        if page.kind in {"listicle", "generic"}:
            assert e is None, page.link
        else:
            assert e is not None and e.index == page.entity, page.link
    for post in u.posts:
        e = world.entity_for_url(f"t3_{post.id36}")
        assert (e.index if e else None) == post.subject
        assert world.post_for_url(post.permalink) == post


def test_ids_resolve_in_a_fresh_process(world: World, town: Town) -> None:
    u = world.universe(town)
    probes = [str(u.entities[3].cid), world.codec.maps_place_id(u.entities[4].cid)]
    probes += [u.entities[5].website or u.pages[0].link, f"t3_{u.posts[1].id36}"]
    code = (
        "import sys, json\n"
        "from datetime import datetime\n"
        "from underfoot_lab.geo.gazetteer import get_gazetteer\n"
        "from underfoot_lab.world import World\n"
        f"w = World({SEED}, get_gazetteer(), datetime.fromisoformat('{CLOCK.isoformat()}'))\n"
        "out = []\n"
        "for url in json.loads(sys.argv[1]):\n"
        "    e = w.entity_for_url(url)\n"
        "    out.append(e.id if e else None)\n"
        "print(json.dumps(out))\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", code, json.dumps(probes)],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    expected = [(e.id if (e := world.entity_for_url(p)) else None) for p in probes]
    assert json.loads(run.stdout) == expected
    assert expected[0] == u.entities[3].id


def test_ids_from_another_seed_do_not_resolve(world: World, town: Town) -> None:
    other = World(SEED + 1, world.gazetteer, CLOCK)
    u = other.universe(town)
    cids = [str(e.cid) for e in u.entities]
    assert sum(world.entity_for_url(c) is not None for c in cids) == 0


def test_grades_span_zero_to_three(world: World, town: Town) -> None:
    for intent in ("hidden gems", "dive bars", "swimming holes"):
        grades = set(world.judgments(town, intent).values())
        assert {0, 1, 3} <= grades, intent
    assert set(world.judgments(town, "hidden gems").values()) == {0, 1, 2, 3}


def test_decoys_exist_and_never_grade_above_one(world: World, gazetteer: Gazetteer) -> None:
    for name, st in (("Pikeville", "KY"), ("Austin", "TX"), ("Ely", "NV")):
        t = gazetteer.lookup(name, st)[0]
        decoys = [e for e in world.universe(t).entities if e.decoy]
        assert decoys
        for e in decoys:
            assert not e.hidden and e.quality < 0.5
            for intent in (*INTENTS, e.category.replace("_", " ")):
                assert world.grade(t, intent, e) <= 1
        # Decoys are sold in "hidden gem" clickbait.
        bait = [p for p in world.universe(t).pages if p.kind == "clickbait"]
        assert any("hidden gem" in p.title.lower() or "must-see" in p.snippet for p in bait)


def test_geography_and_event_timing(world: World, gazetteer: Gazetteer) -> None:
    for name, st in (("Pikeville", "KY"), ("Ely", "NV"), ("Boston", "MA")):
        t = gazetteer.lookup(name, st)[0]
        u = world.universe(t)
        far = [e for e in u.entities if e.distance_km > PRIMARY_RADIUS_KM]
        assert 0.15 * len(u.entities) <= len(far) <= 0.5 * len(u.entities)
        statuses = [e.event_status(CLOCK) for e in u.events]
        assert {"expired", "upcoming", "far_future"} <= set(statuses)
        for e in u.entities:
            # Timing and zone are latent: the grade reads them, never the dates or coordinates.
            if e.timing == "past" or e.zone == "far":
                assert world.grade(t, "events", e) == 0
        assert 38 <= len(u.entities) <= 72
        assert len({e.name for e in u.entities}) == len(u.entities)


def test_grade_rules(world: World, town: Town, gazetteer: Gazetteer) -> None:
    u = world.universe(town)
    for e in u.entities:
        g = world.grade(town, "hidden gems", e)
        if g == 3:
            assert e.hidden and e.quality >= 0.6 and e.zone == "core" and not e.decoy
            assert e.esteem >= world.scenario.grade.gem_esteem and e.timing == "current"
        if e.zone == "far":
            assert g == 0
    other = gazetteer.lookup("Austin", "TX")[0]
    assert all(world.grade(other, "hidden gems", e) == 0 for e in u.entities)


def test_grade_urls_majority_and_generic(world: World, town: Town) -> None:
    u = world.universe(town)
    listicle = next(p for p in u.pages if p.kind == "listicle")
    assert world.grade_urls(town, "hidden gems", [listicle.link]) == 0
    assert world.grade_urls(town, "hidden gems", []) == 0
    gem = next(e for e in u.entities if world.grade(town, "hidden gems", e) == 3)
    trap = next(e for e in u.entities if e.decoy)
    urls = [str(trap.cid), str(gem.cid), world.codec.maps_place_id(gem.cid), listicle.link]
    assert world.grade_urls(town, "hidden gems", urls) == 3
    assert world.grade_urls(town, "hidden gems", [str(trap.cid), str(gem.cid)]) == 1


def test_intent_parsing() -> None:
    assert parse_intent("hidden gems").broad
    assert parse_intent("cool things to do").broad
    assert parse_intent("swimming holes").groups == {"swimming"}
    assert parse_intent("dive bars").groups == {"bars"}
    assert parse_intent("nightlife").groups == {"bars"}
    assert parse_intent("where to eat").groups == {"food"}
    assert parse_intent("weird roadside stuff").groups == {"oddities"}
    assert parse_intent("historic museums").groups == {"history"}
    assert parse_intent("hiking trails and waterfalls").groups == {"outdoors"}
    concerts = parse_intent("concerts")
    assert concerts.groups == {"events"} and concerts.event_types == {"concert"}


def test_split_query(world: World) -> None:
    town, intent = world.split_query("hidden gems in Pikeville, KY")
    assert town is not None and town.key == "pikeville|KY|pike county" and intent == "hidden gems"
    town, intent = world.split_query("swimming holes Coal Run Village, KY")
    assert town is not None and town.name == "Coal Run Village" and intent == "swimming holes"
    town, intent = world.split_query("live music events in Pikeville, Kentucky")
    assert town is not None and intent == "live music events"
    assert world.split_query("hidden gems") == (None, "hidden gems")
    assert world.resolve_town("Pikeville", "KY") is not None
    assert world.resolve_town("Pikeville", "ZZ") is None


def test_url_reading_fast_path_equals_urlsplit() -> None:
    """Judging reads mention URLs with one regex when they are plain; same answer as urlsplit."""
    from urllib.parse import urlsplit

    from underfoot_lab.world.core import _host_and_path

    for url in (
        "https://Blue-Raven.pikeville-ky.example/",
        "https://www.atlasobscura.example/pikeville-ky/coal-run-falls",
        "https://www.reddit.com/r/Kentucky/comments/abc1234/title/",
        "https://h.example",
        "https://A.Example/x?y#z",
        "http://u@h.example:80/p",
        "https://h.example/a b",
        "https://h.example/a\tb",
        "https://[::1]/x",
        "https://h.éxample/x",
        "HTTPS://H.EXAMPLE/X",
        "https://h.example//x/%7E",
    ):
        parts = urlsplit(url)
        assert _host_and_path(url) == ((parts.hostname or "").lower(), parts.path), url
