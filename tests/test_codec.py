"""The JSON codec round-trips records exactly (the SQLite cache and run store depend on it)."""

from __future__ import annotations

from datetime import UTC, datetime

from underfoot_lab import codec
from underfoot_lab.records import (
    Answer,
    CacheInfo,
    Candidate,
    ParsedQuery,
    Place,
    PlaceRef,
    RankedResult,
    SearchResult,
    SourceStatus,
    StageTrace,
)


def sample() -> SearchResult:
    cand = Candidate(
        source="serpapi_events",
        source_type="events",
        native_id="e1",
        title="Fiddle night",
        name="Fiddle night",
        description="live music",
        url="https://x.example/e1",
        rank=1,
        lat=37.5,
        lon=-82.5,
        rating=4.7,
        reviews=12,
        starts_at=datetime(2026, 6, 20, 19, tzinfo=UTC),
        simulated=True,
    )
    res = RankedResult(
        id="fiddle-night",
        title="Fiddle night",
        url=cand.url,
        sources=("serpapi_events",),
        score=0.1 + 0.2,  # a float that needs the exact repr
        category="nearby",
        distance_km=None,
        lat=37.5,
        lon=-82.5,
        description="live music",
        mentions=(cand,),
        simulated=True,
        features=(("intent_match", 0.0),),
    )
    return SearchResult(
        query="q",
        parsed=ParsedQuery("q", "Pikeville, KY", "hidden gems", 0.9, "heuristic", (3, 9)),
        place=Place(
            "Pikeville",
            "Kentucky",
            "KY",
            "Pike County",
            "US",
            37.48,
            -82.52,
            7012,
            0.9,
            "gazetteer",
            alternatives=(PlaceRef("Pikeville", "Tennessee", None, "US", 35.6, -85.2, 1636),),
        ),
        results=(res,),
        answer=Answer("text", "template", ("fiddle-night",)),
        trace=(StageTrace("parse", 1.5, "ok", provider="heuristic"),),
        sources=(SourceStatus("reddit", "timeout", 0, 8000.0, "timeout", "deadline"),),
        cache=CacheInfo("miss", "abc"),
        scorer="seed-v1",
        simulated=True,
        world_seed=7,
        candidates=(cand,),
    )


def test_round_trip_is_exact() -> None:
    original = sample()
    back = codec.loads(SearchResult, codec.dumps(original))
    assert back == original
    assert back.results[0].score == 0.1 + 0.2
    assert back.candidates[0].starts_at == datetime(2026, 6, 20, 19, tzinfo=UTC)
    assert isinstance(back.place.alternatives[0], PlaceRef)
