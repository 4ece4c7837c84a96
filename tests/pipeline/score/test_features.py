"""Feature values on hand-made candidates and entities."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from underfoot_lab.pipeline.score.features import (
    FEATURE_NAMES,
    FEATURES,
    RAW_FEATURES,
    SCORED_FEATURES,
    FeatureMatrix,
    FeatureParams,
    build_features,
    feature_spec,
    feature_table,
    tokenize,
)
from underfoot_lab.pipeline.score.merge import Entity, merge_candidates
from underfoot_lab.pipeline.score.seed import seed_components
from underfoot_lab.records import Candidate, ParsedQuery, Place

PLACE = Place("Pikeville", "Kentucky", "KY", "Pike County", "US", 37.479, -82.519, 7012, 0.9, "t")
NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)
SOURCES = {
    "local": "serpapi_local",
    "reddit": "reddit",
    "web": "serpapi_web",
    "events": "serpapi_events",
}


def cand(
    title: str,
    desc: str = "",
    source_type: str = "local",
    n: int = 1,
    **kw: object,
) -> Candidate:
    return Candidate(
        source=str(kw.pop("source", SOURCES[source_type])),
        source_type=source_type,  # type: ignore[arg-type]
        native_id=f"{title}-{n}",
        title=title,
        name=title,
        description=desc,
        url=f"https://x.example/{n}",
        rank=n,
        **kw,  # type: ignore[arg-type]
    )


def entity(*mentions: Candidate, distance_km: float | None = None, eid: str = "e") -> Entity:
    return Entity(
        id=eid,
        name=mentions[0].name,
        key=eid,
        mentions=tuple(mentions),
        lat=None,
        lon=None,
        distance_km=distance_km,
    )


def parsed(intent: str) -> ParsedQuery:
    return ParsedQuery(f"{intent} in Pikeville KY", "Pikeville, KY", intent, 0.9, "t")


def features(intent: str, *entities: Entity, **kw: object) -> FeatureMatrix:
    return build_features(parsed(intent), PLACE, entities, now=NOW, **kw)  # type: ignore[arg-type]


def test_registry_documents_every_column() -> None:
    assert tuple(f.name for f in FEATURES) == FEATURE_NAMES
    assert len(set(FEATURE_NAMES)) == len(FEATURE_NAMES)
    assert set(SCORED_FEATURES) | set(RAW_FEATURES) == set(FEATURE_NAMES)
    for f in FEATURES:
        assert f.meaning and f.range[0] <= f.range[1]
    # the seed's priors come in its sorted kind order (this is what keeps its sums exact)
    assert [n for n in SCORED_FEATURES if n.startswith("src_")] == [
        "src_events",
        "src_reddit",
        "src_web",
    ]
    frame = feature_table()
    assert list(frame["name"]) == list(FEATURE_NAMES)
    assert feature_spec("hiddenness").neutral == 0.5
    with pytest.raises(KeyError, match="known"):
        feature_spec("nope")


def test_values_stay_in_their_documented_ranges() -> None:
    ents = merge_candidates(
        [
            cand("Top 10 must-see famous spots", "bucket list", "web", n=1),
            cand(
                "Laurel Fork Swimming Hole",
                "a secret swim spot",
                "local",
                n=2,
                reviews=12,
                rating=4.9,
                lat=37.5,
                lon=-82.5,
            ),
            cand("Pike Apple Festival", "", "events", n=3, starts_at=NOW + timedelta(days=10)),
            cand(
                "Laurel Fork Swimming Hole is great",
                "Laurel Fork Swimming Hole rocks",
                "reddit",
                n=4,
                published_at=NOW - timedelta(days=30),
            ),
        ],
        PLACE,
    )
    fm = features("swimming holes", *ents)
    for j, spec in enumerate(FEATURES):
        col = fm.values[:, j]
        if spec.group == "raw":
            continue
        assert not np.isnan(col).any(), spec.name
        assert (col >= spec.range[0]).all() and (col <= spec.range[1]).all(), spec.name
    with pytest.raises(ValueError):
        fm.values[0, 0] = 1.0  # read-only


def test_seed_intent_and_keyword_features_equal_the_seed_components() -> None:
    e = entity(cand("Odd Museum", "hidden secret local quirky weird unique; locals only", "web"))
    fm = features("odd museum", e)
    comps = seed_components(e, "odd museum")
    assert fm.row(0)["intent_match"] == comps["intent_match"] == 1.0
    # hidden, secret, local, quirky, weird, unique + "locals only" (which also holds "local")
    assert fm.row(0)["keyword_count"] == comps["keyword_count"] == 7.0
    assert features("diners", e).row(0)["intent_match"] == 0.0


def test_bm25_uses_synonyms_and_is_normalised_within_the_query() -> None:
    spot = entity(cand("Blue Creek", "the best swim spot in the county", "reddit"), eid="a")
    hole = entity(cand("Laurel Fork Swimming Hole", "", "local"), eid="b")
    diner = entity(cand("Main Street Diner", "pie", "local"), eid="c")
    fm = features("swimming holes", spot, hole, diner)
    bm = fm.column("text_bm25")
    assert bm.max() == 1.0
    assert bm[0] > 0 and bm[1] > 0  # "swim spot" ~ "swimming hole"
    assert bm[2] == 0.0
    weird = features(
        "weird stuff",
        entity(cand("Strange Rock Garden", "", "local"), eid="x"),
        entity(cand("Quirky Shed", "", "local"), eid="y"),
        entity(cand("Plain Park", "", "local"), eid="z"),
    ).column("text_bm25")
    assert weird[0] > 0 and weird[1] > 0 and weird[2] == 0
    assert tokenize("Tavern and pubs") == ["bar", "and", "bar"]
    assert tokenize("Hiking trails") == ["hike", "hike"]
    # no intent term at all: zeros, not NaN
    assert (features("the", spot).column("text_bm25") == 0).all()


def test_hidden_language_and_clickbait_are_separate_and_capped() -> None:
    gem = entity(cand("Shed", "an underrated, tucked away hole-in-the-wall", "web"), eid="a")
    trap = entity(
        cand("Top 10 Must-See Hidden Gems", "the most popular famous bucket list spot", "web"),
        eid="b",
    )
    plain = entity(cand("Shop", "sells things", "web"), eid="c")
    fm = features("hidden gems", gem, trap, plain)
    assert fm.row(0)["hidden_language"] == 1.0 and fm.row(0)["clickbait"] == 0.0
    assert fm.row(1)["clickbait"] == 1.0  # capped at 3 of 5 phrases
    assert fm.row(1)["hidden_language"] == pytest.approx(1 / 3)  # "hidden"
    assert fm.row(2)["hidden_language"] == 0.0 and fm.row(2)["clickbait"] == 0.0
    assert features("x", entity(cand("15 Best Diners You Have to See", "", "web"))).row(0)[
        "clickbait"
    ] == pytest.approx(2 / 3)


def test_hiddenness_is_one_minus_the_review_percentile_with_neutral_unknowns() -> None:
    ents = [
        entity(cand("A", "", "local", reviews=10), eid="a"),
        entity(cand("B", "", "local", reviews=100), eid="b"),
        entity(cand("C", "", "local", reviews=5000), eid="c"),
        entity(cand("D", "", "reddit"), eid="d"),
        # max over mentions: 40 and 100 -> 100, ties with B
        entity(cand("E", "", "local", reviews=40), cand("E", "", "web", n=2, reviews=100), eid="e"),
    ]
    fm = features("x", *ents)
    h = dict(zip(fm.entity_ids, fm.column("hiddenness"), strict=True))
    assert h["a"] == 1.0 and h["c"] == 0.0 and h["d"] == 0.5
    assert h["b"] == h["e"] == pytest.approx(0.5)
    assert fm.row(4)["reviews"] == 100.0 and math.isnan(fm.row(3)["reviews"])
    pop = fm.column("popularity")
    assert pop[0] < pop[1] < pop[2] and pop[3] == 0.5
    assert pop[1] == pytest.approx(math.log1p(100) / math.log1p(10_000))
    # one known count: nothing to rank against
    assert features("x", ents[0]).column("hiddenness")[0] == 0.5


def test_distance_decay_and_its_parameter() -> None:
    ents = [
        entity(cand("A", "", "local"), distance_km=0.0, eid="a"),
        entity(cand("B", "", "local"), distance_km=10.0, eid="b"),
        entity(cand("C", "", "local"), distance_km=30.0, eid="c"),
        entity(cand("D", "", "reddit"), distance_km=None, eid="d"),
    ]
    fm = features("x", *ents)
    assert list(fm.column("distance_decay")) == [1.0, 0.5, 0.125, 0.5]
    assert fm.column("distance_km")[1] == 10.0 and math.isnan(fm.column("distance_km")[3])
    far = features("x", *ents, params=FeatureParams(half_distance_km=30.0))
    assert far.column("distance_decay")[2] == 0.5
    with pytest.raises(ValueError):
        FeatureParams(half_distance_km=0)


def test_freshness_of_events_posts_and_undated_items() -> None:
    d = timedelta(days=1)
    ents = [
        entity(cand("Tonight", "", "events", starts_at=NOW + 0.2 * d), eid="now"),
        entity(cand("In 15 days", "", "events", starts_at=NOW + 15 * d), eid="mid"),
        entity(cand("In 90 days", "", "events", starts_at=NOW + 90 * d), eid="far"),
        entity(cand("Over", "", "events", starts_at=NOW - 3 * d), eid="old"),
        entity(cand("Ongoing", "", "events", starts_at=NOW - 0.5 * d), eid="on"),
        entity(cand("Post", "", "reddit", published_at=NOW - 180 * d), eid="post"),
        entity(cand("Place", "", "local"), eid="undated"),
        # naive datetimes are read as UTC
        entity(cand("Naive", "", "events", starts_at=datetime(2026, 6, 30, 12)), eid="naive"),
    ]
    fm = features("x", *ents)
    f = dict(zip(fm.entity_ids, fm.column("freshness"), strict=True))
    assert f["now"] == pytest.approx(1 - 0.2 / 30)
    assert f["mid"] == pytest.approx(0.5)
    assert f["far"] == 0.0
    assert f["old"] == -1.0
    assert f["on"] == 1.0
    assert f["post"] == pytest.approx(0.5)  # one half-life
    assert f["undated"] == 0.0
    assert f["naive"] == pytest.approx(0.5)
    expired = dict(zip(fm.entity_ids, fm.column("event_expired"), strict=True))
    assert expired["old"] == 1.0 and sum(expired.values()) == 1.0
    assert fm.row(1)["event_days"] == pytest.approx(15.0)
    # several dates: the next upcoming start counts
    both = entity(
        cand("Fest", "", "events", starts_at=NOW - 10 * d),
        cand("Fest", "", "events", n=2, starts_at=NOW + 3 * d),
    )
    assert features("x", both).row(0)["event_days"] == pytest.approx(3.0)
    wide = features("x", *ents, params=FeatureParams(freshness_window_days=60.0))
    assert wide.column("freshness")[1] == pytest.approx(0.75)


def test_corroboration_priors_rating_and_rank_from_the_merge() -> None:
    items = [
        cand("Rusty Spur", "dive bar", "local", n=3, rating=4.8, reviews=90, lat=37.48, lon=-82.52),
        cand("Rusty Spur", "", "web", n=1),
        cand("Best bar: The Rusty Spur", "go to the rusty spur", "reddit", n=5),
        cand("Other Bar", "", "local", n=2, lat=37.47, lon=-82.51),
    ]
    ents = merge_candidates(items, PLACE)
    fm = features("dive bars", *ents)
    spur = fm.row(fm.entity_ids.index("rusty-spur"))
    other = fm.row(fm.entity_ids.index("other-bar"))
    assert (spur["n_sources"], spur["n_source_types"]) == (3.0, 3.0)
    assert (spur["src_web"], spur["src_reddit"], spur["src_events"]) == (1.0, 1.0, 0.0)
    assert (other["n_sources"], other["src_web"], other["src_reddit"]) == (1.0, 1.0, 0.0)
    assert spur["source_rank"] == 1.0 and other["source_rank"] == 0.5
    # Bayesian shrinkage: (90 * 4.8 + 10 * 4.0) / 100 = 4.72 -> (4.72 - 1) / 4
    assert spur["rating_quality"] == pytest.approx((4.72 - 1) / 4)
    assert other["rating_quality"] == 0.75  # the prior
    # local + web are both web search: one src_web, two source types
    ents2 = merge_candidates(items[:2], PLACE)
    row = features("x", *ents2).row(0)
    assert row["src_web"] == 1.0 and row["n_source_types"] == 2.0


def test_with_params_recomputes_exactly_what_a_fresh_build_gives() -> None:
    d = timedelta(days=1)
    ents = [
        entity(cand("A", "", "events", starts_at=NOW + 7 * d), distance_km=3.3, eid="a"),
        entity(cand("B", "", "reddit", published_at=NOW - 40 * d), eid="b"),
        entity(cand("C", "", "local"), distance_km=47.1, eid="c"),
    ]
    params = FeatureParams(7.0, 45.0, 90.0)
    direct = features("x", *ents, params=params)
    redone = features("x", *ents).with_params(params)
    assert redone.values.tobytes() == direct.values.tobytes()
    assert redone.params == params
    same = features("x", *ents)
    assert same.with_params(FeatureParams()) is same


def test_empty_query_and_frame() -> None:
    fm = features("x")
    assert fm.values.shape == (0, len(FEATURE_NAMES))
    e = entity(cand("A", "", "local"), eid="a")
    frame = features("x", e).to_frame()
    assert list(frame.index) == ["a"] and list(frame.columns) == list(FEATURE_NAMES)
    with pytest.raises(ValueError, match="shape"):
        FeatureMatrix(FEATURE_NAMES, np.zeros((2, len(FEATURE_NAMES))), ("a",))
