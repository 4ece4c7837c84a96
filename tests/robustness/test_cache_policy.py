"""Degraded answers are never persisted: after the upstream recovers, the next search asks again.

Issue 14 case 2: with every source failing (401) the empty answer used to be stored for 7 days.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from live_servers import Fault, UpstreamServer

from underfoot_lab.pipeline.run import Pipeline, degraded_reason
from underfoot_lab.records import SearchResult

QUERY = "hidden gems in Pikeville KY"
UNAUTHORIZED = Fault(401, b'{"error": "Invalid API key."}')


def stored_rows(home: Path) -> int:
    with sqlite3.connect(home / "cache.sqlite3") as conn:
        return int(conn.execute("SELECT COUNT(*) FROM answers").fetchone()[0])


def cache_detail(result: SearchResult) -> str:
    return next(s.detail or "" for s in result.trace if s.stage == "cache")


def test_a_failed_upstream_is_not_cached_and_the_fix_is_seen(
    server: UpstreamServer, tmp_path: Path
) -> None:
    for route in ("serpapi", "reddit"):
        server.fail(route, UNAUTHORIZED)
    now = [1000.0]
    settings = server.settings(tmp_path, cache_degraded_ttl_s=30.0)
    with Pipeline(settings, cache_clock=lambda: now[0]) as pipe:
        broken = pipe.search(QUERY)
        assert {s.status for s in broken.sources} == {"error"}
        assert {s.error_class for s in broken.sources} == {"auth"}
        assert degraded_reason(broken) is not None
        assert "not stored: degraded" in cache_detail(broken)
        assert "kept 30s in memory" in cache_detail(broken)
        assert stored_rows(tmp_path) == 0
        # The short in-memory TTL absorbs a burst of repeats, then expires.
        assert pipe.search(QUERY).cache.status == "hit-memory"
        now[0] += 31.0
        assert pipe.search(QUERY).cache.status == "miss"
    assert stored_rows(tmp_path) == 0

    server.clear()  # the key is fixed
    with Pipeline(settings) as pipe:
        fixed = pipe.search(QUERY)
    assert fixed.cache.status == "miss"
    assert {s.status for s in fixed.sources} <= {"ok", "empty"}
    assert fixed.results and degraded_reason(fixed) is None
    assert cache_detail(fixed) == "miss"
    assert stored_rows(tmp_path) == 1
    with Pipeline(settings) as pipe:
        assert pipe.search(QUERY).cache.status == "hit-sqlite"


def test_a_fallback_stage_is_degraded_too(server: UpstreamServer, tmp_path: Path) -> None:
    server.fail("openai:respond", Fault(503, b'{"error": {"message": "overloaded"}}'))
    settings = server.settings(tmp_path, cache_degraded_ttl_s=0.0)
    with Pipeline(settings) as pipe:
        r = pipe.search(QUERY)
        assert "respond=fallback" in (degraded_reason(r) or "")
        assert "not stored: degraded (respond=fallback); not kept" in cache_detail(r)
        assert pipe.search(QUERY).cache.status == "miss"  # TTL 0: not even in memory
    assert stored_rows(tmp_path) == 0
