"""World judgments: retrieved results graded by their mentions, plus the town's relevant places
no result resolves to (``world:<entity id>``), in the store and in the metrics."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from underfoot_lab.evaluation.judging.judgments import JudgmentStore
from underfoot_lab.evaluation.judging.world_judge import (
    UNRETRIEVED_PREFIX,
    WORLD_JUDGE,
    export_world_judgments,
    judge_query,
    judge_result,
    mention_tokens,
    qrels_for,
    resolve_entity,
    town_for,
    union_qrels,
    unretrieved_doc_id,
    unretrieved_entity_id,
    world_judgments,
    world_note,
)
from underfoot_lab.evaluation.metrics.kernel import evaluate
from underfoot_lab.evaluation.regions import RegionQuery
from underfoot_lab.evaluation.results.build import trec_scores
from underfoot_lab.harness import build_harness
from underfoot_lab.records import SearchResult
from underfoot_lab.settings import Settings
from underfoot_lab.world import World

QUERY = RegionQuery.model_validate(
    {
        "id": "w-pikeville-01",
        "text": "hidden gems in Pikeville KY",
        "expected": {"place": "Pikeville", "state": "KY"},
        "tags": ["general", "in-town"],
    }
)
WRONG_TOWN = RegionQuery.model_validate(
    {
        "id": "w-elsewhere-01",
        "text": "hidden gems in Pikeville KY",
        "expected": {"place": "Marfa", "state": "TX"},
        "tags": ["general", "in-town"],
    }
)


@pytest.fixture(scope="module")
def searched(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[World, SearchResult]]:
    home = tmp_path_factory.mktemp("home")
    with build_harness(Settings(_env_file=None, home=home), use_cache=False) as harness:
        result = harness.pipeline.search(QUERY.text)
        assert harness.world is not None
        yield harness.world, result


def test_unretrieved_relevant_places_carry_their_world_grade(
    searched: tuple[World, SearchResult],
) -> None:
    world, result = searched
    judged = judge_query(world, result, QUERY)
    town = town_for(world, QUERY, result)
    assert town is not None and town.name == "Pikeville"
    intent = result.parsed.intent
    # the retrieved part is the grading rule as before: majority entity of the mention URLs
    assert judged.retrieved == judge_result(world, result, QUERY)
    for r in result.results:
        assert judged.retrieved[r.id] == world.grade_urls(town, intent, mention_tokens(r, world))
        entity = resolve_entity(world, r)
        assert judged.resolved[r.id] == (None if entity is None else entity.id)
    covered = {e for e in judged.resolved.values() if e is not None}
    expected = {
        unretrieved_doc_id(e.id): world.grade(town, intent, e)
        for e in world.universe(town).entities
        if e.id not in covered and world.grade(town, intent, e) > 0
    }
    assert judged.unretrieved == expected
    assert len(expected) >= 3  # the sources miss relevant places of this town
    assert set(world.judgments(town, intent)) >= {unretrieved_entity_id(d) for d in expected}
    # every relevant entity of the town is judged exactly once: retrieved or world:<id>
    relevant = {e.id for e in world.universe(town).entities if world.grade(town, intent, e) > 0}
    retrieved_relevant = {
        judged.resolved[d] for d, g in judged.retrieved.items() if g > 0 and judged.resolved[d]
    }
    assert relevant == retrieved_relevant | {unretrieved_entity_id(d) for d in expected}


def test_doc_ids_never_collide(searched: tuple[World, SearchResult]) -> None:
    world, result = searched
    judged = judge_query(world, result, QUERY)
    assert all(re.fullmatch(r"[a-z0-9-]+", d) for d in judged.retrieved)  # merge slugs
    assert all(d.startswith(UNRETRIEVED_PREFIX) for d in judged.unretrieved)
    assert not set(judged.retrieved) & set(judged.unretrieved)
    assert len(judged.qrels) == len(judged.retrieved) + len(judged.unretrieved)
    assert unretrieved_entity_id("world:pikeville-ky/x") == "pikeville-ky/x"
    assert unretrieved_entity_id("pikeville-ky-x") is None
    rows = world_judgments(world, [(QUERY.id, result, QUERY)])
    assert {j.doc_id: j.grade for j in rows} == judged.qrels
    assert {(j.judge, j.note) for j in rows} == {(WORLD_JUDGE, world_note(world))}


def test_recall_counts_what_no_source_retrieved(searched: tuple[World, SearchResult]) -> None:
    world, result = searched
    qrels = {QUERY.id: judge_query(world, result, QUERY).qrels}
    run = {QUERY.id: trec_scores(result.results)}
    assert len(run[QUERY.id]) <= 100
    got = evaluate(qrels, run, ["R@100", "nDCG@10", "AP"]).per_query[QUERY.id]
    relevant_retrieved = sum(1 for d in run[QUERY.id] if qrels[QUERY.id][d] > 0)
    relevant_total = sum(1 for g in qrels[QUERY.id].values() if g > 0)
    assert 0 < relevant_retrieved < relevant_total
    assert got["R@100"] == relevant_retrieved / relevant_total < 1.0
    # retrieved-only judging (the old qrels) had R@100 = 1 by construction
    only = {QUERY.id: judge_result(world, result, QUERY)}
    old = evaluate(only, run, ["R@100", "nDCG@10", "AP"]).per_query[QUERY.id]
    assert old["R@100"] == 1.0
    assert got["nDCG@10"] <= old["nDCG@10"] and got["AP"] < old["AP"]


def test_a_search_of_the_wrong_town_misses_every_relevant_place(
    searched: tuple[World, SearchResult],
) -> None:
    world, result = searched
    judged = judge_query(world, result, WRONG_TOWN)
    marfa = town_for(world, WRONG_TOWN, None)
    assert marfa is not None
    assert set(judged.retrieved.values()) == {0}
    assert {unretrieved_entity_id(d) for d in judged.unretrieved} == {
        e for e, g in world.judgments(marfa, result.parsed.intent).items() if g > 0
    }


def test_the_store_judges_each_place_once_across_runs(
    searched: tuple[World, SearchResult], tmp_path: Path
) -> None:
    """Run B misses a relevant place run A retrieved: sharing one store, the pooled qrels list
    it once, under A's result id, whichever run exported first."""
    world, result = searched
    full = judge_query(world, result, QUERY)
    hits = [e for e in full.resolved.values() if e is not None]
    dropped = next(  # a relevant result, the only one about its place
        r
        for r in result.results
        if full.retrieved[r.id] > 0
        and full.resolved[r.id] is not None
        and hits.count(full.resolved[r.id]) == 1
    )
    entity_id = full.resolved[dropped.id]
    assert entity_id is not None
    missing = replace(result, results=tuple(r for r in result.results if r is not dropped))
    partial = judge_query(world, missing, QUERY)
    assert unretrieved_doc_id(entity_id) in partial.unretrieved  # B alone: unretrieved
    for order in ((result, missing), (missing, result)):
        store = JudgmentStore(tmp_path / f"{id(order)}.sqlite3")
        for r in order:
            export_world_judgments(store, world, [(QUERY.id, r, QUERY)])
        qrels = qrels_for(store, [QUERY.id], world=world)
        assert qrels == {QUERY.id: dict(sorted(full.qrels.items()))}
        assert unretrieved_doc_id(entity_id) not in qrels[QUERY.id]
        # the raw store keeps B's row; only the pooled qrels leave it out
        raw = store.qrels(WORLD_JUDGE, [QUERY.id])[QUERY.id]
        assert unretrieved_doc_id(entity_id) in raw and dropped.id in raw
        # another world's resolutions never hide this world's judgments
        assert qrels_for(store, [QUERY.id], world=None) == {}
    store.delete_judge(WORLD_JUDGE)
    assert store.resolved([QUERY.id], world_note(world)) == []


def test_union_of_reports_qrels_keeps_a_place_once() -> None:
    a = {"q1": {"coal-run-falls": 2, "world:t/laurel-hole": 3}, "q2": {"world:t/x": 2}}
    b = {"q1": {"coal-run-falls": 2, "laurel-hole": 3}}
    assert union_qrels(a, b) == {
        "q1": {"coal-run-falls": 2, "laurel-hole": 3},
        "q2": {"world:t/x": 2},  # only A judged q2: nothing says it was retrieved
    }
    both = {"q1": {"coal-run-falls": 2, "world:t/laurel-hole": 3}}
    assert union_qrels(a, both)["q1"] == {"coal-run-falls": 2, "world:t/laurel-hole": 3}
