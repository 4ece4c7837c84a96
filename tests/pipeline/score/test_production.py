"""The production per-item scorer: candidates -> production's items -> ranked results, no merge.

Expected scores are worked out by hand from the seed rules (``seed-system.md``)."""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime
from typing import Any

from records_support import PIKEVILLE, parsed

from underfoot_lab.pipeline.score.merge import merge_candidates
from underfoot_lab.pipeline.score.production import ProductionSeedScorer, production_item
from underfoot_lab.records import Candidate, SourceType

PLACE = PIKEVILLE
PARSED = parsed("garden in Pikeville KY", intent="garden")


def cand(
    source: str,
    source_type: SourceType,
    title: str,
    description: str = "",
    *,
    url: str,
    rank: int = 1,
    **extra: Any,
) -> Candidate:
    return Candidate(
        source=source,
        source_type=source_type,
        native_id=url,
        title=title,
        name=title,
        description=description,
        url=url,
        rank=rank,
        **extra,
    )


# The self-text's only keyword ("unique") sits past character 200, where production cuts.
LONG_SELFTEXT = "x" * 210 + " unique"
W1 = cand(
    "serpapi_organic", "web", "Secret garden tours", "hidden local walks", url="https://w.example/1"
)
W2 = cand("serpapi_organic", "web", "City hall", url="https://w.example/2", rank=2)
L1 = cand("serpapi_local", "local", "Garden cafe", url="https://l.example/1", lat=37.5, lon=-82.5)
R1 = cand(
    "reddit_json",
    "reddit",
    "Best garden?",
    LONG_SELFTEXT,
    url="https://reddit.com/r/Kentucky/comments/abc1234/best_garden/",
    votes=150,
    community="Kentucky",
)
R2 = cand("reddit", "reddit", "Garden", url="https://www.reddit.com/r/x/comments/def5678/garden/")
E1 = cand(
    "serpapi_events",
    "events",
    "Garden quirky fest",
    url="https://e.example/1",
    starts_at=datetime(2026, 6, 20, 19, tzinfo=UTC),
    address="Main St",
)

EXPECTED = [
    # W1: 0.3 intent + 0.1*3 (secret, hidden, local) + 0.15 serp = 0.75
    (W1, 0.75, "primary"),
    # R1: 0.3 intent + 0 keywords ("unique" cut away) + 0.2 reddit + 0.1 (150 > 100) = 0.6
    (R1, 0.6, "primary"),
    # R2: 0.3 intent + 0.2 reddit = 0.5 (Atom: no votes, score 0)
    (R2, 0.5, "primary"),
    # E1: 0.3 intent + 0.1 ("quirky") + 0 + 0.1 eventbrite metadata = 0.5; ties R2, and comes
    # after it: production's order puts Reddit before events
    (E1, 0.5, "primary"),
    # L1: 0.3 intent + 0.15 serp = 0.45
    (L1, 0.45, "nearby"),
    # W2: 0.15 serp
    (W2, 0.15, "nearby"),
]


def test_ranks_raw_candidates_in_production_order() -> None:
    scrambled = [E1, R1, W1, L1, R2, W2]  # gather order does not matter, kinds do
    ranked = ProductionSeedScorer().rank_items(PARSED, PLACE, scrambled)
    assert [r.url for r in ranked] == [c.url for c, _, _ in EXPECTED]
    for r, (c, score, category) in zip(ranked, EXPECTED, strict=True):
        assert math.isclose(r.score, score, abs_tol=1e-9), r.title
        assert r.category == category
        assert r.mentions == (c,) and r.sources == (c.source,) and r.title == c.title
        assert re.fullmatch(r"[a-z0-9-]+", r.id)
    assert len({r.id for r in ranked}) == len(ranked)
    by_url = {r.url: r for r in ranked}
    assert by_url[R1.url].description == LONG_SELFTEXT[:200]
    assert by_url[L1.url].distance_km is not None and by_url[L1.url].distance_km < 5
    assert by_url[W1.url].distance_km is None


def test_no_merging_and_stable_ids() -> None:
    # two pages about the same place, and the same URL twice: four results
    same_place = cand("serpapi_organic", "web", "Secret garden tours", url="https://w.example/9")
    ranked = ProductionSeedScorer().rank_items(PARSED, PLACE, [W1, same_place, W1, W2])
    assert len(ranked) == 4
    ids = [r.id for r in ranked]
    assert len(set(ids)) == 4
    again = ProductionSeedScorer().rank_items(PARSED, PLACE, [W1, same_place, W1, W2])
    assert [r.id for r in again] == ids  # ids come from the URL, not the run


def test_items_are_production_mappings() -> None:
    assert production_item(W1) == {
        "name": "Secret garden tours",
        "description": "hidden local walks",
        "source": "serp",
        "url": W1.url,
        "metadata": {"position": 1},
    }
    assert production_item(R1)["metadata"] == {"subreddit": "Kentucky", "score": 150}
    start = "2026-06-20T19:00:00+00:00"
    assert production_item(E1)["metadata"] == {"start": start, "venue": "Main St"}


def test_rank_unmerges_entities() -> None:
    candidates = [W1, W2, L1, R1, R2, E1]
    entities = merge_candidates(candidates, PLACE)
    scorer = ProductionSeedScorer()
    from_entities = scorer.rank(PARSED, PLACE, entities)
    direct = scorer.rank_items(PARSED, PLACE, candidates)
    assert sorted(r.url for r in from_entities) == sorted(r.url for r in direct)
    assert sorted(r.score for r in from_entities) == sorted(r.score for r in direct)
