"""Entity resolution across sources: names, proximity, posts that mention a place."""

from __future__ import annotations

from underfoot_lab.pipeline.score.merge import merge_candidates, merge_key
from underfoot_lab.records import Candidate, Place

PLACE = Place("Pikeville", "Kentucky", "KY", "Pike County", "US", 37.479, -82.519, 7012, 0.9, "t")


def c(
    source: str,
    stype: str,
    title: str,
    *,
    name: str | None = None,
    lat: float | None = None,
    lon: float | None = None,
    desc: str = "",
    rank: int = 1,
) -> Candidate:
    return Candidate(
        source=source,
        source_type=stype,
        native_id=f"{source}:{title}:{rank}",  # type: ignore[arg-type]
        title=title,
        name=name or title,
        description=desc,
        url=f"https://x.example/{rank}",
        rank=rank,
        lat=lat,
        lon=lon,
    )


def test_merge_key_ignores_case_punctuation_and_articles() -> None:
    assert merge_key("The Rusty Spur!") == merge_key("rusty spur")
    assert merge_key("St. Mary's Overlook") == merge_key("Saint Marys Overlook")


def test_same_name_close_together_merges_across_sources() -> None:
    ents = merge_candidates(
        [
            c("serpapi_local", "local", "Coal Run Falls", lat=37.50, lon=-82.50),
            c("serpapi_web", "local", "coal run falls", lat=37.501, lon=-82.501, rank=2),
        ],
        PLACE,
    )
    assert len(ents) == 1
    assert ents[0].sources == ("serpapi_local", "serpapi_web")
    assert ents[0].distance_km is not None and ents[0].distance_km < 5


def test_same_name_far_apart_stays_separate_with_unique_ids() -> None:
    ents = merge_candidates(
        [
            c("serpapi_local", "local", "Blue Hole", lat=37.50, lon=-82.50),
            c("serpapi_local", "local", "Blue Hole", lat=37.80, lon=-82.10, rank=2),
        ],
        PLACE,
    )
    assert len(ents) == 2
    assert {e.id for e in ents} == {"blue-hole", "blue-hole-2"}


def test_posts_that_mention_a_place_corroborate_it() -> None:
    ents = merge_candidates(
        [
            c("serpapi_local", "local", "Coal Run Falls", lat=37.5, lon=-82.5),
            c("reddit", "reddit", "Best swim spot?", desc="Go to Coal Run Falls early", rank=1),
            c(
                "serpapi_web",
                "web",
                "Coal Run Falls: Pike County's secret - Wander Blog",
                name="Coal Run Falls",
                rank=2,
            ),
            c("reddit", "reddit", "Anyone know a good diner?", rank=3),
        ],
        PLACE,
    )
    falls = next(e for e in ents if e.id == "coal-run-falls")
    assert set(falls.sources) == {"serpapi_local", "reddit", "serpapi_web"}
    assert len(falls.mentions) == 3
    assert any(e.name == "Anyone know a good diner?" for e in ents)


def test_merge_is_independent_of_input_order() -> None:
    items = [
        c("serpapi_local", "local", "Coal Run Falls", lat=37.5, lon=-82.5),
        c("reddit", "reddit", "Coal Run Falls rocks", rank=1),
        c("serpapi_events", "events", "Fiddle Night", rank=1),
    ]
    a = merge_candidates(items, PLACE)
    b = merge_candidates(list(reversed(items)), PLACE)
    assert [(e.id, e.mentions) for e in a] == [(e.id, e.mentions) for e in b]
