"""Eventbrite's organizer and venue listings over real loopback HTTP: the requests (Bearer
token, the mapped ids), production's item mapping, the world's truth behind each event, the
failures (401, 429), the skip reasons, and the mapping file's validation."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from live_servers import EVENTBRITE_TOKEN, Fault, UpstreamServer, provider_ctx

from underfoot_lab.errors import ConfigError, SourceSkipped, UpstreamError
from underfoot_lab.http import RetryPolicy
from underfoot_lab.pipeline.sources import SOURCES
from underfoot_lab.pipeline.sources.eventbrite import EventbriteSource
from underfoot_lab.pipeline.sources.eventbrite_map import load_eventbrite_map
from underfoot_lab.pipeline.sources.gather import gather_sources
from underfoot_lab.records import ParsedQuery, Place
from underfoot_lab.settings import Settings

PIKEVILLE = Place(
    "Pikeville", "Kentucky", "KY", "Pike County", "US", 37.47927, -82.51876, 7012, 1.0, "x"
)
ELY = Place("Ely", "Minnesota", "MN", "St. Louis County", "US", 47.9, -91.87, 3400, 1.0, "x")
PARSED = ParsedQuery("live music in Pikeville KY", "Pikeville KY", "live music", 0.9, "x")
NO_WAIT = RetryPolicy(attempts=2, base_delay_s=0.0, max_wait_s=1.0)


def write_map(server: UpstreamServer, path: Path) -> dict[str, list[str]]:
    town = server.world.gazetteer.lookup("Pikeville", "KY")[0]
    ids = server.world.eventbrite_ids(town)
    entry = {"place": "Pikeville", "state": "KY", **ids}
    path.write_text(json.dumps({"towns": [entry]}), encoding="utf-8")
    return ids


def source(
    server: UpstreamServer, client: httpx.AsyncClient, home: Path, **over: object
) -> EventbriteSource:
    values: dict[str, object] = {
        "eventbrite_token": EVENTBRITE_TOKEN,
        "eventbrite_base_url": server.base_url,
        "eventbrite_map": home / "eventbrite.yaml",
    }
    values.update(over)
    return EventbriteSource(provider_ctx(server.settings(home, **values), client), retry=NO_WAIT)


async def test_listings_become_production_items(
    server: UpstreamServer, live_client: httpx.AsyncClient, tmp_path: Path
) -> None:
    ids = write_map(server, tmp_path / "eventbrite.yaml")
    found = await source(server, live_client, tmp_path).fetch(PARSED, PIKEVILLE)
    seen = server.requests_for("eventbrite")
    # listings are fetched concurrently: arrival order at the server is not the source's order
    org_path = f"/v3/organizations/{ids['organizations'][0]}/events/"
    assert sorted(s.path for s in seen) == sorted(
        [org_path] + [f"/v3/venues/{v}/events/" for v in ids["venues"]]
    )
    assert all(s.headers["authorization"] == f"Bearer {EVENTBRITE_TOKEN}" for s in seen)
    first = next(s for s in seen if s.path == org_path)
    assert first.query == {"status": "live", "order_by": "start_asc", "expand": "venue"}
    page = server.world.respond("GET", first.path, list(first.query.items()))
    events = json.loads(page.body)["events"]
    assert 0 < len(found) <= 10 and len({c.native_id for c in found}) == len(found)
    for cand, ev in zip(found, events, strict=False):
        assert cand.source == "eventbrite" and cand.source_type == "events"
        assert cand.name == ev["name"]["text"] and cand.url == ev["url"]
        assert cand.description == ev["description"]["text"][:200]
        assert cand.address == ev["venue"]["name"]
        assert cand.starts_at is not None
        # the world knows which event each id is, so the world judge grades it
        entity = server.world.entity_for_url(cand.native_id)
        assert entity is not None and entity.kind == "event" and entity.name == cand.name


@pytest.mark.parametrize(
    ("fault", "error_class"),
    [
        (None, "auth"),  # a wrong token: Eventbrite's own 401 body
        (Fault(429, b'{"error": "HIT_RATE_LIMIT"}', headers={"Retry-After": "0"}), "rate_limited"),
    ],
)
async def test_failures(
    server: UpstreamServer,
    live_client: httpx.AsyncClient,
    tmp_path: Path,
    fault: Fault | None,
    error_class: str,
) -> None:
    write_map(server, tmp_path / "eventbrite.yaml")
    if fault is not None:
        server.fail("eventbrite", fault)
    token = EVENTBRITE_TOKEN if fault is not None else "wrong-token-value"
    src = source(server, live_client, tmp_path, eventbrite_token=token)
    with pytest.raises(UpstreamError) as info:
        await src.fetch(PARSED, PIKEVILLE)
    assert info.value.error_class == error_class
    assert "wrong-token-value" not in str(info.value) and EVENTBRITE_TOKEN not in str(info.value)
    # through the gatherer: the source fails alone, with its class
    _, [status] = await gather_sources([src], PARSED, PIKEVILLE, deadline_s=5.0)
    assert status.status == "error" and status.error_class == error_class


async def test_skipped_with_a_reason(
    server: UpstreamServer, live_client: httpx.AsyncClient, tmp_path: Path
) -> None:
    write_map(server, tmp_path / "eventbrite.yaml")
    src = source(server, live_client, tmp_path)
    _, [status] = await gather_sources([src], PARSED, ELY, deadline_s=5.0)
    assert status.status == "skipped" and status.message is not None
    assert "no organizer or venue mapped for Ely, MN" in status.message
    nomap = source(server, live_client, tmp_path, eventbrite_map=None)
    with pytest.raises(SourceSkipped, match="no mapping"):
        await nomap.fetch(PARSED, PIKEVILLE)
    assert not server.requests_for("eventbrite")


def test_availability_and_registration(tmp_path: Path) -> None:
    assert SOURCES.get("eventbrite") is EventbriteSource
    mapping = tmp_path / "eb.yaml"
    mapping.write_text("towns:\n  - {place: Ely, state: MN, venues: ['12']}\n", encoding="utf-8")
    live = Settings(_env_file=None, mode="live", eventbrite_map=mapping)
    assert EventbriteSource.availability(live).reason == "no EVENTBRITE_TOKEN"
    assert EventbriteSource.availability(live.model_copy(update={"eventbrite_map": None})).reason
    ok = live.model_copy(update={"eventbrite_token": "t"})
    assert EventbriteSource.availability(ok).ok
    assert load_eventbrite_map(mapping).for_town("ely", "mn") is not None


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("towns:\n  - {place: Ely, state: MN}\n", "name an organization or a venue"),
        ("towns:\n  - {place: Ely, state: MN, venues: ['abc']}\n", "towns.0.venues"),
        ("towns:\n  - {place: Ely, state: Minnesota, venues: ['1']}\n", "towns.0.state"),
        ("towns:\n  - {place: Ely, state: MN, venue: ['1']}\n", "towns.0.venue"),
    ],
)
def test_bad_mapping_names_the_field(tmp_path: Path, text: str, field: str) -> None:
    path = tmp_path / "eb.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_eventbrite_map(path)
    assert field in str(info.value) and "\n" not in str(info.value)
