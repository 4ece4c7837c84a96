"""The pipeline end to end on the offline world: stages, partial failure, cache, notebooks.

The pipeline gets the world's transport from the composition root (:mod:`underfoot_lab.harness`)
or, to count and break requests, from the test itself."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from underfoot_lab.errors import BadQuery, LocationNotFound
from underfoot_lab.geo.gazetteer import Gazetteer, get_gazetteer, haversine_km
from underfoot_lab.harness import build_harness
from underfoot_lab.pipeline.run import Pipeline
from underfoot_lab.settings import Settings
from underfoot_lab.world import WorldTransport, build_world


def settings(tmp_path: Path, **kw: object) -> Settings:
    return Settings(_env_file=None, home=tmp_path, **kw)  # type: ignore[arg-type]


def world_transport(s: Settings) -> WorldTransport:
    return WorldTransport(build_world(s, get_gazetteer()))


class CountingTransport(httpx.AsyncBaseTransport):
    """Wraps the world transport: counts requests, and can fail or stall chosen paths."""

    def __init__(
        self, inner: httpx.AsyncBaseTransport, fail: str | None = None, stall: str | None = None
    ) -> None:
        self.inner = inner
        self.fail = fail
        self.stall = stall
        self.requests: list[httpx.Request] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.fail and self.fail in str(request.url):
            return httpx.Response(500, json={"error": "boom"}, request=request)
        if self.stall and self.stall in str(request.url):
            await asyncio.sleep(30)
        return await self.inner.handle_async_request(request)


@pytest.fixture
def pipe(tmp_path: Path) -> Iterator[Pipeline]:
    with build_harness(settings(tmp_path)) as h:
        yield h.pipeline


def test_pikeville_end_to_end(pipe: Pipeline) -> None:
    r = pipe.search("hidden gems in Pikeville KY")
    assert r.place.name == "Pikeville" and r.place.admin1 == "Kentucky"
    assert haversine_km(r.place.lat, r.place.lon, 37.479, -82.519) < 5
    assert len(r.results) >= 8
    assert len({s for res in r.results for s in res.sources}) >= 3
    assert r.primary and r.nearby
    stages = [t.stage for t in r.trace if "." not in t.stage]
    assert {"parse", "geocode", "sources", "merge", "score", "respond"} <= set(stages)
    assert r.simulated and all(res.simulated for res in r.results)
    assert "offline world" in r.answer.text
    assert r.cache.status == "miss"
    assert all(s.status == "ok" for s in r.sources)
    payload = r.to_dict()
    for key in ("query", "parsed", "place", "results", "answer", "trace", "cache"):
        assert key in payload
    assert {
        "id",
        "title",
        "url",
        "sources",
        "score",
        "category",
        "distance_km",
        "simulated",
    } <= set(payload["results"][0])


def test_second_search_is_a_memory_hit_without_upstream_calls(tmp_path: Path) -> None:
    s = settings(tmp_path)
    counting = CountingTransport(world_transport(s))
    with Pipeline(s, transport=counting) as pipe:
        first = pipe.search("hidden gems in Pikeville KY")
        n = len(counting.requests)
        assert n >= 4
        second = pipe.search("Hidden gems in  Pikeville, KY")  # same normalised query
        assert second.cache.status == "hit-memory"
        assert len(counting.requests) == n
        assert second.results == first.results
        assert [t.stage for t in second.trace] == ["validate", "cache", "total"]
        # The hit keeps the stage timings the original search measured.
        assert second.original_trace == first.trace
        assert pipe.search("hidden gems in Pikeville KY").original_trace == first.trace


def test_sqlite_layer_answers_a_new_pipeline(tmp_path: Path) -> None:
    s = settings(tmp_path)
    with build_harness(s) as a:
        first = a.pipeline.search("Marfa TX")
    with build_harness(s) as harness:
        b = harness.pipeline
        again = b.search("Marfa TX")
        assert again.cache.status == "hit-sqlite"
        assert again.results == first.results
        assert again.original_trace == first.trace  # stored with the cached result
        assert b.search("Marfa TX").cache.status == "hit-memory"


def test_no_cache_bypasses_both_layers(tmp_path: Path) -> None:
    with build_harness(settings(tmp_path), use_cache=False) as harness:
        pipe = harness.pipeline
        assert pipe.search("Marfa TX").cache.status == "bypass"
        assert pipe.search("Marfa TX").cache.status == "bypass"


def test_failing_source_degrades_to_partial_results(tmp_path: Path) -> None:
    s = settings(tmp_path)
    failing = CountingTransport(world_transport(s), fail="search.rss")
    with Pipeline(s, transport=failing, use_cache=False) as pipe:
        r = pipe.search("hidden gems in Pikeville KY")
    status = {x.source: x for x in r.sources}
    assert status["reddit"].status == "error"
    assert status["reddit"].error_class == "http_error"
    assert status["serpapi_web"].status == "ok"
    assert r.results and all("reddit" not in res.sources for res in r.results)
    sources_stage = next(t for t in r.trace if t.stage == "sources")
    assert sources_stage.status == "partial"


def test_stalled_source_times_out_and_others_finish(tmp_path: Path) -> None:
    s = settings(tmp_path, source_deadline_s=0.5)
    stalling = CountingTransport(world_transport(s), stall="google_events")
    with Pipeline(s, transport=stalling, use_cache=False) as pipe:
        r = pipe.search("hidden gems in Pikeville KY")
    status = {x.source: x for x in r.sources}
    assert status["serpapi_events"].status == "timeout"
    assert status["serpapi_events"].elapsed_ms < 5000
    assert status["reddit"].status == "ok" and r.results


def test_bad_input_raises_clear_errors(pipe: Pipeline) -> None:
    with pytest.raises(BadQuery, match="empty"):
        pipe.search("   ")
    with pytest.raises(BadQuery, match="500"):
        pipe.search("hidden gems in Pikeville KY " + "x" * 600)
    with pytest.raises(BadQuery, match="control"):
        pipe.search("hidden gems\x00 in Pikeville KY")
    with pytest.raises(LocationNotFound):
        pipe.search("best tacos")
    with pytest.raises(LocationNotFound, match="Springfield"):
        pipe.search("hidden gems in Springfeld, IL")


def test_sync_search_works_inside_a_running_event_loop(pipe: Pipeline) -> None:
    async def notebook_cell() -> int:
        # A Jupyter kernel runs cells inside a loop; asyncio.run would fail here.
        return len(pipe.search("Marfa TX").results)

    assert asyncio.run(notebook_cell()) > 0


def test_towns_nobody_wrote_a_test_for(pipe: Pipeline, gazetteer: Gazetteer) -> None:
    rng = random.Random(20261126)
    towns = [t for t in gazetteer.towns if "," not in t.name]
    for town in rng.sample(towns, 8):
        r = pipe.search(f"hidden gems in {town.name}, {town.state_code}")
        assert r.place.name == town.name and r.place.admin1_code == town.state_code
        assert len(r.results) >= 8, town
        assert r.primary or r.nearby
