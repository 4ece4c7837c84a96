"""The world judge on production's per-item results: each page or post graded by the place its
URL is about (no place: 0; a decoy: the decoy's grade; one place twice: graded twice)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import httpx
import pytest

from underfoot_lab.evaluation.judging.world_judge import judge_query, town_for
from underfoot_lab.evaluation.regions import RegionQuery
from underfoot_lab.geo.gazetteer import get_gazetteer
from underfoot_lab.pipeline.run import Pipeline
from underfoot_lab.pipeline.score.production import ProductionSeedScorer
from underfoot_lab.pipeline.sources.reddit_json import RedditJsonSource
from underfoot_lab.pipeline.sources.serpapi import SerpApiOrganicSource
from underfoot_lab.records import Candidate, SearchResult
from underfoot_lab.registry import ProviderContext
from underfoot_lab.settings import Settings
from underfoot_lab.world import World

QUERIES = [
    RegionQuery.model_validate(
        {
            "id": f"items-{n:02d}",
            "text": text,
            "expected": {"place": town, "state": state},
            "tags": ["general", "in-town"],
        }
    )
    for n, (text, town, state) in enumerate(
        [
            ("hidden gems in Pikeville KY", "Pikeville", "KY"),
            ("dive bars in Ely NV", "Ely", "NV"),
            ("food in Marfa TX", "Marfa", "TX"),
        ]
    )
]


@pytest.fixture(scope="module")
def searched(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[World, Settings, list[SearchResult]]]:
    home: Path = tmp_path_factory.mktemp("home")
    settings = Settings(_env_file=None, home=home)
    with Pipeline(settings, use_cache=False) as pipe:
        yield pipe.world, settings, [pipe.search(q.text) for q in QUERIES]


async def production_results(
    world: World, settings: Settings, result: SearchResult
) -> SearchResult:
    """``result`` re-ranked as production would: its own sources, per item, no merge."""
    async with httpx.AsyncClient(transport=world.transport()) as client:
        ctx = ProviderContext(
            settings=settings,
            http=client,
            clock=lambda: world.clock,
            gazetteer_loader=get_gazetteer,
            simulated=True,
        )
        candidates: list[Candidate] = []
        for source in (SerpApiOrganicSource.create(ctx), RedditJsonSource.create(ctx)):
            candidates.extend(await source.fetch(result.parsed, result.place))
    ranked = ProductionSeedScorer().rank_items(result.parsed, result.place, candidates)
    return replace(result, results=tuple(ranked), candidates=tuple(candidates))


async def test_pages_and_posts_are_graded_by_the_place_they_are_about(
    searched: tuple[World, Settings, list[SearchResult]],
) -> None:
    world, settings, results = searched
    about_nothing = decoys = repeated = 0
    for query, merged in zip(QUERIES, results, strict=True):
        result = await production_results(world, settings, merged)
        assert result.results and {r.sources[0] for r in result.results} == {
            "serpapi_organic",
            "reddit_json",
        }
        town = town_for(world, query, result)
        assert town is not None and town.name == query.expected.place
        judged = judge_query(world, result, query)
        assert set(judged.retrieved) == {r.id for r in result.results}  # one judgment per item
        seen: set[str] = set()
        for r in result.results:
            entity = world.entity_for_url(r.url)  # the place this page or post is about
            if entity is None:
                about_nothing += 1
                assert judged.retrieved[r.id] == 0 and judged.resolved[r.id] is None
                continue
            assert judged.resolved[r.id] == entity.id
            assert judged.retrieved[r.id] == world.grade(town, result.parsed.intent, entity)
            if entity.decoy:
                decoys += 1
                assert judged.retrieved[r.id] <= 1  # a tourist trap is never a good result
            repeated += entity.id in seen
            seen.add(entity.id)
        # a place some page or post is about is not also judged as unretrieved
        assert not {f"world:{e}" for e in seen} & set(judged.unretrieved)
    assert about_nothing > 0  # listicles and generic posts
    assert repeated > 0  # no merging: one place, several results, each graded
    assert decoys > 0
