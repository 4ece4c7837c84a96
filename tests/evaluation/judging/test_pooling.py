"""Judging pools: union of the top k under several weights, deterministic rank-blind order."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from underfoot_lab.errors import ConfigError
from underfoot_lab.evaluation.judging.pooling import (
    DEFAULT_POOL_WEIGHTS,
    build_judging_pool,
    default_weights_dir,
    judging_order,
    load_weights,
    pool_from_results,
)
from underfoot_lab.evaluation.regions import RegionQuery, RegionSet, load_region_set
from underfoot_lab.harness import build_harness
from underfoot_lab.pipeline.run import Pipeline
from underfoot_lab.pipeline.score.engine import FeatureScorer
from underfoot_lab.pipeline.score.merge import merge_candidates
from underfoot_lab.pipeline.score.weights import ScoringWeights
from underfoot_lab.records import SearchResult
from underfoot_lab.settings import Settings

SET = """\
name: pooltest
description: pooling tests (one town the gazetteer does not know)
queries:
  - id: p-pikeville-01
    text: hidden gems in Pikeville KY
    expected: {place: Pikeville, state: KY}
    tags: [general]
    region: appalachia
  - id: p-nowhere-01
    text: hidden gems in Qqqzzyxville KY
    expected: {place: Qqqzzyxville, state: KY}
    tags: [general]
    region: appalachia
  - id: p-astoria-01
    text: where to eat in Astoria OR
    expected: {place: Astoria, state: OR}
    tags: [food]
    region: pacific-northwest
"""


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("pool-home")


@pytest.fixture(scope="module")
def pipe(home: Path) -> Iterator[Pipeline]:
    with build_harness(Settings(_env_file=None, home=home)) as harness:
        p = harness.pipeline
        yield p


@pytest.fixture(scope="module")
def region_set(home: Path) -> RegionSet:
    path = home / "sets" / "pooltest.yaml"
    path.parent.mkdir()
    path.write_text(SET)
    return load_region_set(path, validate_places=False)


@pytest.fixture(scope="module")
def searches(region_set: RegionSet, pipe: Pipeline) -> list[tuple[RegionQuery, SearchResult]]:
    return [(region_set.get(q), pipe.search(region_set.get(q).text)) for q in
            ("p-pikeville-01", "p-astoria-01")]  # fmt: skip


def weights() -> list[ScoringWeights]:
    return [load_weights(n) for n in DEFAULT_POOL_WEIGHTS]


def test_pool_is_the_union_of_every_settings_top_k(
    searches: list[tuple[RegionQuery, SearchResult]], pipe: Pipeline
) -> None:
    now = pipe.settings.world_clock
    ws = weights()
    pool = pool_from_results("t", searches, ws, k=5, now=now)
    for query, sr in searches:
        entities = merge_candidates(sr.candidates, sr.place)
        tops = [
            [
                r.id
                for r in FeatureScorer(w, clock=lambda: now).rank(sr.parsed, sr.place, entities)[:5]
            ]
            for w in ws
        ]
        items = pool.for_query(query.id)
        assert {i.doc_id for i in items} == set(tops[0]) | set(tops[1])
        for i in items:
            expected = [(w.name, top.index(i.doc_id) + 1) for w, top in zip(ws, tops, strict=True)
                        if i.doc_id in top]  # fmt: skip
            assert list(i.ranks) == expected
            assert i.intent == sr.parsed.intent and i.place == sr.place and i.simulated
        # rank-blind, deterministic order: by the hash of (query id, doc id)
        assert [i.doc_id for i in items] == sorted(
            (i.doc_id for i in items), key=lambda d: judging_order(query.id, d)
        )
    assert pool.weights == tuple(w.version for w in ws)
    assert [i.query_id for i in pool.items] == sorted(
        (i.query_id for i in pool.items), key=["p-pikeville-01", "p-astoria-01"].index
    )
    again = pool_from_results("t", searches, ws, k=5, now=now)
    assert again.keys == pool.keys
    one = pool_from_results("t", searches, ws[:1], k=5, now=now)
    assert all(len(one.for_query(q.id)) == 5 for q, _ in searches)
    assert len(pool) >= len(one)


def test_pool_frame_and_lookup(
    searches: list[tuple[RegionQuery, SearchResult]], pipe: Pipeline
) -> None:
    pool = pool_from_results("t", searches, weights(), k=3, now=pipe.settings.world_clock)
    frame = pool.to_frame()
    assert len(frame) == len(pool)
    assert {"query_id", "doc_id", "title", "sources", "pooled_by", "best_rank"} <= set(
        frame.columns
    )
    assert pool.index_of(pool.items[-1].key) == len(pool) - 1
    assert all(1 <= i.best_rank <= 3 for i in pool)
    with pytest.raises(ValueError):
        pool_from_results("t", searches, weights(), k=0, now=pipe.settings.world_clock)
    with pytest.raises(ValueError):
        pool_from_results("t", searches, [], k=3, now=pipe.settings.world_clock)


def test_build_records_failed_queries_and_uses_the_cache(
    region_set: RegionSet, pipe: Pipeline
) -> None:
    calls: list[tuple[int, int]] = []
    pool = build_judging_pool(
        region_set, k=4, pipeline=pipe, progress=lambda d, t: calls.append((d, t))
    )
    assert [q for q, _ in pool.errors] == ["p-nowhere-01"]
    assert "LocationNotFound" in pool.errors[0][1]
    assert pool.query_ids == region_set.ids  # every query of the set, failed ones included
    assert {i.query_id for i in pool} == {"p-pikeville-01", "p-astoria-01"}
    assert sorted(calls)[-1] == (3, 3)
    again = build_judging_pool(region_set, k=4, pipeline=pipe)
    assert all(sr.cache.status.startswith("hit") for sr in again.results.values())
    assert again.keys == pool.keys
    assert pool.simulated and pool.now == pipe.settings.world_clock


def test_load_weights(tmp_path: Path) -> None:
    assert default_weights_dir().name == "weights"
    by_name = load_weights("tuned-default-world")
    assert by_name.name == "tuned-default-world"
    assert load_weights(default_weights_dir() / "tuned-default-world.yaml") == by_name
    assert load_weights(by_name) is by_name
    with pytest.raises(ConfigError, match="does not exist"):
        load_weights("no-such-weights")
    with pytest.raises(ConfigError):
        load_weights(tmp_path / "missing.yaml")
