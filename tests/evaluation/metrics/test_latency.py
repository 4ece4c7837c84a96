"""Latency percentiles (against numpy) and cache hit rates from traces."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from underfoot_lab.evaluation.metrics.latency import (
    LATENCY_COLUMNS,
    CacheStats,
    cache_stats,
    latency_table,
    percentiles,
    stage_samples,
)
from underfoot_lab.records import (
    Answer,
    CacheInfo,
    CacheStatus,
    ParsedQuery,
    Place,
    SearchResult,
    StageTrace,
)


def result(trace: list[tuple[str, float]], status: CacheStatus = "miss") -> SearchResult:
    return SearchResult(
        query="q",
        parsed=ParsedQuery("q", "Ely, MN", "hidden gems", 1.0, "heuristic"),
        place=Place("Ely", "Minnesota", "MN", None, "US", 47.9, -91.9, 3000, 1.0, "gazetteer"),
        results=(),
        answer=Answer("", "template"),
        trace=tuple(StageTrace(stage, ms, "ok") for stage, ms in trace),
        sources=(),
        cache=CacheInfo(status=status, key="k"),
        scorer="seed-v1",
        simulated=True,
    )


def test_percentiles_match_numpy_linear() -> None:
    rng = np.random.default_rng(3)
    values = rng.lognormal(3.0, 1.0, size=257).tolist()
    got = percentiles(values)
    want = np.percentile(np.asarray(values), [50, 90, 95, 99], method="linear")
    assert list(got) == ["p50", "p90", "p95", "p99"]
    assert [got[k] for k in got] == want.tolist()
    # the documented definition: linear interpolation at position q/100 * (n - 1)
    s = sorted(values)
    pos = 0.9 * (len(s) - 1)
    lo = math.floor(pos)
    assert got["p90"] == pytest.approx(s[lo] + (s[lo + 1] - s[lo]) * (pos - lo))


def test_percentiles_small_and_empty() -> None:
    assert percentiles([7.0]) == {"p50": 7.0, "p90": 7.0, "p95": 7.0, "p99": 7.0}
    assert percentiles([1.0, 2.0]) == pytest.approx(
        {"p50": 1.5, "p90": 1.9, "p95": 1.95, "p99": 1.99}
    )
    assert all(math.isnan(v) for v in percentiles([]).values())
    assert set(percentiles([1.0, 2.0], qs=(25,))) == {"p25"}


def test_latency_table_per_stage_and_source() -> None:
    rng = np.random.default_rng(11)
    results = []
    sources_web: list[float] = []
    totals: list[float] = []
    for _ in range(40):
        web, reddit = float(rng.uniform(1, 100)), float(rng.uniform(50, 300))
        total = web + reddit + 5
        sources_web.append(web)
        totals.append(total)
        results.append(
            result(
                [
                    ("validate", 0.01),
                    ("parse", 1.0),
                    ("sources", max(web, reddit)),
                    ("sources.serpapi_web", web),
                    ("sources.reddit", reddit),
                    ("total", total),
                ]
            )
        )
    # a cache hit only has validate, cache and total: it must not dilute parse or sources
    results.append(result([("validate", 0.01), ("cache", 0.2), ("total", 0.3)], "hit-memory"))
    totals.append(0.3)
    frame = latency_table(results)
    assert list(frame.columns) == list(LATENCY_COLUMNS)
    stages = list(frame["stage"])
    assert stages[-1] == "total"
    assert stages[:5] == ["validate", "parse", "sources", "sources.serpapi_web", "sources.reddit"]
    row = frame.set_index("stage").loc["sources.serpapi_web"]
    assert row["n"] == 40
    want = np.percentile(sources_web, [50, 90, 95, 99])
    assert [row["p50"], row["p90"], row["p95"], row["p99"]] == want.tolist()
    assert row["max"] == max(sources_web)
    by_stage = frame.set_index("stage")
    assert by_stage.loc["total", "n"] == 41
    assert by_stage.loc["total", "p95"] == float(np.percentile(totals, 95))
    assert frame.set_index("stage").loc["parse", "n"] == 40
    assert stage_samples(results)["cache"] == [0.2]
    assert latency_table([]).empty


def test_cache_stats_rates() -> None:
    statuses = ["miss"] * 5 + ["hit-memory"] * 3 + ["hit-sqlite"] * 2 + ["bypass"] * 4
    stats = cache_stats(statuses)
    assert stats.searches == 14 and stats.lookups == 10 and stats.bypass == 4
    assert stats.memory_hit_rate == 0.3
    assert stats.sqlite_hit_rate == 2 / 7  # of the lookups that reached SQLite
    assert stats.hit_rate == 0.5
    assert CacheStats.from_dict(stats.to_dict()) == stats
    assert stats.to_dict()["hit_rate"] == 0.5

    off = cache_stats([result([("total", 1.0)], "bypass")] * 3)
    assert off.lookups == 0 and math.isnan(off.hit_rate) and math.isnan(off.memory_hit_rate)
    all_memory = cache_stats(["hit-memory", "hit-memory"])
    assert all_memory.hit_rate == 1.0 and math.isnan(all_memory.sqlite_hit_rate)
    with pytest.raises(ValueError, match="unknown cache status"):
        cache_stats(["warm"])
    r = result([("total", 1.0)])
    assert cache_stats([r, replace(r, cache=CacheInfo("hit-sqlite", "k"))]).hit_rate == 0.5
