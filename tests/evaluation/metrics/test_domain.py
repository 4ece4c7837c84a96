"""Domain metrics on hand-made search results (no pipeline, no world unless said so)."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest

from underfoot_lab.evaluation.metrics.domain import (
    DomainContext,
    answer_faithfulness,
    corroboration_at_k,
    domain_metric_specs,
    domain_metrics,
    error_values,
    expired_event_rate_at_k,
    geo_precision_at_k,
    geocode_error_km,
    hiddenness,
    hiddenness_at_k,
    intent_classes,
    nearby_ratio,
    parse_intent_ok,
    parse_location_ok,
    source_diversity_at_k,
)
from underfoot_lab.evaluation.regions import ExpectedPlace, RegionQuery
from underfoot_lab.geo.gazetteer import Gazetteer, haversine_km
from underfoot_lab.records import (
    Answer,
    CacheInfo,
    Candidate,
    ParsedQuery,
    Place,
    RankedResult,
    SearchResult,
    SourceStatus,
    StageTrace,
)

CLOCK = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)
SOURCES = ("serpapi_web", "serpapi_local", "serpapi_events", "reddit")


def mention(
    source: str = "serpapi_local",
    *,
    reviews: int | None = None,
    starts_at: datetime | None = None,
    url: str = "https://x.example/a",
) -> Candidate:
    source_type = {
        "serpapi_web": "web",
        "serpapi_local": "local",
        "serpapi_events": "events",
        "reddit": "reddit",
    }[source]
    return Candidate(
        source=source,
        source_type=source_type,  # type: ignore[arg-type]
        native_id=url,
        title="t",
        name="n",
        description="",
        url=url,
        rank=1,
        reviews=reviews,
        starts_at=starts_at,
    )


def res(
    rid: str,
    *,
    sources: tuple[str, ...] = ("serpapi_local",),
    distance: float | None = 5.0,
    category: str = "primary",
    mentions: tuple[Candidate, ...] | None = None,
    score: float = 0.5,
) -> RankedResult:
    return RankedResult(
        id=rid,
        title=rid,
        url=f"https://x.example/{rid}",
        sources=sources,
        score=score,
        category=category,  # type: ignore[arg-type]
        distance_km=distance,
        lat=None if distance is None else 37.0,
        lon=None if distance is None else -82.0,
        description="",
        mentions=mentions if mentions is not None else tuple(mention(s) for s in sources),
        simulated=False,
    )


def search(
    results: tuple[RankedResult, ...],
    *,
    answer: Answer | None = None,
    location: str | None = "Pikeville, KY",
    intent: str = "hidden gems",
    admin1_hint: str | None = "KY",
    lat: float = 37.4793,
    lon: float = -82.5188,
    sources: tuple[str, ...] = SOURCES,
) -> SearchResult:
    return SearchResult(
        query="q",
        parsed=ParsedQuery(
            text="q",
            location=location,
            intent=intent,
            confidence=1.0,
            parser="heuristic",
            admin1_hint=admin1_hint,
        ),
        place=Place(
            name="Pikeville",
            admin1="Kentucky",
            admin1_code="KY",
            county="Pike County",
            country="US",
            lat=lat,
            lon=lon,
            population=7000,
            confidence=1.0,
            geocoder="gazetteer",
        ),
        results=results,
        answer=answer or Answer(text="", responder="template"),
        trace=(StageTrace("total", 10.0, "ok"),),
        sources=tuple(SourceStatus(s, "ok", 1, 1.0) for s in sources),
        cache=CacheInfo(status="bypass", key=""),
        scorer="seed-v1",
        simulated=False,
    )


def query(tags: tuple[str, ...] = ("general", "in-town"), place: str = "Pikeville") -> RegionQuery:
    return RegionQuery(
        id="app-pikeville-ky-01",
        text="hidden gems in Pikeville KY",
        expected=ExpectedPlace(place=place, state="KY"),
        tags=tags,
        region="appalachia",
    )


# ------------------------------------------------------------------------------ hiddenness
def test_hiddenness_scale() -> None:
    assert hiddenness(0) == 1.0
    assert hiddenness(10_000) == 0.0
    assert hiddenness(1_000_000) == 0.0
    assert hiddenness(100) == pytest.approx(1 - math.log1p(100) / math.log1p(10_000))
    assert hiddenness(-3) == 1.0


def test_hiddenness_at_k_uses_review_counts_and_skips_unknown() -> None:
    r = search(
        (
            res("a", mentions=(mention(reviews=0), mention("reddit"))),
            res("b", mentions=(mention(reviews=10_000),)),
            res("c", mentions=(mention("reddit"),)),  # no popularity signal: left out
            res("d", mentions=(mention(reviews=50), mention(reviews=5))),  # max over mentions
        )
    )
    assert hiddenness_at_k(r, 3) == pytest.approx((1.0 + 0.0) / 2)
    assert hiddenness_at_k(r, 10) == pytest.approx((1.0 + 0.0 + hiddenness(50)) / 3)
    only_unknown = search((res("c", mentions=(mention("reddit"),)),))
    assert math.isnan(hiddenness_at_k(only_unknown, 10))


def test_hiddenness_uses_the_worlds_latent_popularity(gazetteer: Gazetteer) -> None:
    from underfoot_lab.world import World

    world = World(7, gazetteer, CLOCK)
    town = world.resolve_town("Pikeville", "KY")
    assert town is not None
    entity = world.universe(town).entities[0]
    url = f"https://backroads-wanderer.example/{world.towns.slug(town)}/{entity.slug}"
    assert world.entity_for_url(url) is not None
    # The mention claims 9999 reviews; the world knows the truth.
    r = search((res("e", mentions=(mention(reviews=9999, url=url),)),))
    assert hiddenness_at_k(r, 10, world=world) == pytest.approx(hiddenness(entity.reviews))
    assert hiddenness_at_k(r, 10) == pytest.approx(hiddenness(9999))


# ------------------------------------------------------------------------------ geography
def test_geo_precision_counts_unknown_distance_as_outside() -> None:
    r = search(
        (
            res("a", distance=3.0),
            res("b", distance=25.0),
            res("c", distance=25.1),
            res("d", distance=None),
        )
    )
    assert geo_precision_at_k(r, 10, radius_km=25.0) == 0.5
    assert geo_precision_at_k(r, 2, radius_km=25.0) == 1.0
    assert geo_precision_at_k(search(()), 10) == 0.0


def test_nearby_ratio() -> None:
    r = search((res("a"), res("b", category="nearby"), res("c", category="nearby"), res("d")))
    assert nearby_ratio(r) == 0.5
    assert math.isnan(nearby_ratio(search(())))


# ------------------------------------------------------------------------------ sources
def test_source_diversity_and_corroboration() -> None:
    r = search(
        (
            res("a", sources=("serpapi_local", "reddit")),
            res("b", sources=("serpapi_local",)),
            res("c", sources=("serpapi_web", "serpapi_local", "reddit")),
        )
    )
    assert source_diversity_at_k(r, 2) == 2 / 4
    assert source_diversity_at_k(r, 10) == 3 / 4
    assert corroboration_at_k(r, 2) == 1.5
    assert corroboration_at_k(r, 10) == 2.0
    assert source_diversity_at_k(search((), sources=()), 10) == 0.0
    assert corroboration_at_k(search(()), 10) == 0.0


# ------------------------------------------------------------------------------ events
def test_expired_event_rate() -> None:
    past = CLOCK - timedelta(days=3)
    future = CLOCK + timedelta(days=3)
    r = search(
        (
            res("old", mentions=(mention("serpapi_events", starts_at=past),)),
            res("soon", mentions=(mention("serpapi_events", starts_at=future),)),
            # a stale listing and a fresh one: the latest start decides
            res(
                "mixed",
                mentions=(
                    mention("serpapi_events", starts_at=past),
                    mention("reddit", starts_at=future),
                ),
            ),
            res("place"),
            res("undated", mentions=(mention("serpapi_events"),)),
        )
    )
    assert expired_event_rate_at_k(r, 10, clock=CLOCK) == pytest.approx(1 / 5)
    assert expired_event_rate_at_k(r, 1, clock=CLOCK) == 1.0
    assert expired_event_rate_at_k(r, 10, clock=past - timedelta(days=1)) == 0.0
    assert expired_event_rate_at_k(search(()), 10, clock=CLOCK) == 0.0


# ------------------------------------------------------------------------------ answer
@pytest.mark.parametrize(
    ("named", "unsupported", "expected"),
    [
        ((), (), 1.0),
        (("a", "b"), (), 1.0),
        (("a", "b"), ("Ghost Diner",), 2 / 3),
        (("a", "zzz"), (), 0.5),  # a named id that is not a result is unsupported too
        ((), ("Ghost Diner", "Fake Falls"), 0.0),
    ],
)
def test_answer_faithfulness(
    named: tuple[str, ...], unsupported: tuple[str, ...], expected: float
) -> None:
    answer = Answer("text", "template", named_ids=named, unsupported_names=unsupported)
    r = search((res("a"), res("b"), res("c")), answer=answer)
    assert answer_faithfulness(r) == pytest.approx(expected)


# ------------------------------------------------------------------------------ parse
def test_intent_classes() -> None:
    assert intent_classes("hidden gems") == {"general"}
    assert intent_classes("swimming holes") == {"outdoors"}
    assert intent_classes("dive bars") == {"nightlife"}
    assert intent_classes("weird stuff") == {"weird"}
    assert intent_classes("local history museums") == {"history"}
    assert intent_classes("what's happening this weekend") == {"events"}
    assert intent_classes("live music bars") == {"nightlife", "events"}


def test_parse_location_and_intent(gazetteer: Gazetteer) -> None:
    q = query()
    assert parse_location_ok(search(()), q, gazetteer)
    assert parse_location_ok(search((), location="pikeville, Kentucky"), q, gazetteer)
    assert not parse_location_ok(search((), location="Pikeville, TN"), q, gazetteer)
    assert not parse_location_ok(search((), location="Hazard, KY"), q, gazetteer)
    assert not parse_location_ok(search((), location=None), q, gazetteer)
    # no state parsed: fine only when the text names none
    stateless = search((), location="Pikeville", admin1_hint=None)
    assert not parse_location_ok(stateless, q, gazetteer)
    assert parse_location_ok(stateless, query(("general", "no-state")), gazetteer)
    # "St." and "Saint" are the same town
    st = RegionQuery(
        id="x-1",
        text="St. Ignace MI mystery spot",
        expected=ExpectedPlace(place="Saint Ignace", state="MI"),
        tags=("weird",),
    )
    assert parse_location_ok(search((), location="St. Ignace, MI"), st, gazetteer)

    assert parse_intent_ok(search(()), q)
    assert not parse_intent_ok(search((), intent="dive bars"), q)


def test_geocode_error_km(gazetteer: Gazetteer) -> None:
    town = gazetteer.lookup("Pikeville", "KY")[0]
    exact = search((), lat=town.lat, lon=town.lon)
    assert geocode_error_km(exact, query(), gazetteer) == 0.0
    off = search((), lat=town.lat + 0.5, lon=town.lon)
    assert geocode_error_km(off, query(), gazetteer) == pytest.approx(
        haversine_km(town.lat + 0.5, town.lon, town.lat, town.lon)
    )
    assert 50 < geocode_error_km(off, query(), gazetteer) < 60


# ------------------------------------------------------------------------------ together
def test_domain_metrics_names_and_values(gazetteer: Gazetteer) -> None:
    r = search(
        (
            res("a", sources=("serpapi_local", "reddit"), distance=2.0),
            res("b", category="nearby", distance=40.0),
        ),
        answer=Answer("t", "template", named_ids=("a",)),
    )
    ctx = DomainContext(k=10, primary_radius_km=25.0, clock=CLOCK, gazetteer=gazetteer)
    values = domain_metrics(r, query(), ctx)
    assert list(values) == [m.name for m in domain_metric_specs(10)]
    assert values["geo_precision_at_10"] == 0.5
    assert values["nearby_ratio"] == 0.5
    assert values["corroboration_at_10"] == 1.5
    assert values["source_diversity_at_10"] == 0.5
    assert values["answer_faithfulness"] == 1.0
    assert values["parse_accuracy"] == 1.0
    assert values["expired_event_rate_at_10"] == 0.0
    assert values["geocode_error_km"] < 1.0
    no_query = domain_metrics(r, None, ctx)
    assert math.isnan(no_query["parse_accuracy"]) and math.isnan(no_query["geocode_error_km"])
    k5 = domain_metrics(r, query(), DomainContext(k=5, clock=CLOCK, gazetteer=gazetteer))
    assert "hiddenness_at_5" in k5 and "hiddenness_at_10" not in k5


def test_error_values_penalise_and_never_flatter() -> None:
    errors = error_values(10)
    for spec in domain_metric_specs(10):
        if spec.higher_is_better:
            assert errors[spec.name] == 0.0, spec.name
        else:  # lower-is-better or descriptive: NaN, so a failure cannot improve the mean
            assert math.isnan(errors[spec.name]), spec.name
    with pytest.raises(ValueError, match="positive"):
        geo_precision_at_k(search(()), 0)
