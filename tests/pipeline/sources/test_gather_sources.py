"""gather_sources: concurrency, per-source deadlines, partial results, redacted statuses."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence

import httpx
from upstream_support import (
    API_KEY,
    PIKEVILLE,
    Loopback,
    Reply,
    client_ctx,
    make_settings,
    parsed_query,
)

from underfoot_lab.errors import UpstreamError
from underfoot_lab.http import RetryPolicy
from underfoot_lab.pipeline.sources import Source, gather_sources
from underfoot_lab.pipeline.sources.serpapi import SerpApiWebSource
from underfoot_lab.records import Candidate, ParsedQuery, Place, SourceType


def candidate(source: str, rank: int) -> Candidate:
    return Candidate(
        source=source,
        source_type="web",
        native_id=f"{source}-{rank}",
        title=f"Place {rank}",
        name=f"Place {rank}",
        description="",
        url=f"https://example.com/{source}/{rank}",
        rank=rank,
    )


class Returns:
    source_type: SourceType = "web"

    def __init__(self, name: str, n: int, delay_s: float = 0.0) -> None:
        self.name = name
        self.n = n
        self.delay_s = delay_s

    async def fetch(self, parsed: ParsedQuery, place: Place) -> Sequence[Candidate]:
        await asyncio.sleep(self.delay_s)
        return [candidate(self.name, i + 1) for i in range(self.n)]


class Raises:
    source_type: SourceType = "web"

    def __init__(self, name: str, exc: Exception) -> None:
        self.name = name
        self.exc = exc

    async def fetch(self, parsed: ParsedQuery, place: Place) -> Sequence[Candidate]:
        raise self.exc


class Hangs:
    source_type: SourceType = "web"

    def __init__(self, name: str) -> None:
        self.name = name
        self.cancelled = False

    async def fetch(self, parsed: ParsedQuery, place: Place) -> Sequence[Candidate]:
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            self.cancelled = True
            raise
        return []


async def test_one_fails_one_times_out_one_succeeds() -> None:
    hangs = Hangs("slow")
    sources: list[Source] = [
        Raises(
            "broken",
            UpstreamError(
                "auth",
                "serpapi: HTTP 401 from https://serpapi.com/search.json?q=x&api_key=sk-test-123",
            ),
        ),
        hangs,
        Returns("good", 2, delay_s=0.05),
    ]
    started = time.monotonic()
    found, statuses = await gather_sources(
        sources, parsed_query(), PIKEVILLE, deadline_s=0.3, secrets=(API_KEY,)
    )
    elapsed = time.monotonic() - started
    assert elapsed < 1.0  # the hanging source was cut at its deadline
    assert hangs.cancelled
    assert [c.native_id for c in found] == ["good-1", "good-2"]
    by_name = {s.source: s for s in statuses}
    assert [s.source for s in statuses] == ["broken", "slow", "good"]

    broken = by_name["broken"]
    assert (broken.status, broken.error_class, broken.count) == ("error", "auth", 0)
    assert broken.message is not None
    assert API_KEY not in broken.message
    assert "HTTP 401" in broken.message

    slow = by_name["slow"]
    assert (slow.status, slow.error_class, slow.count) == ("timeout", "timeout", 0)
    assert slow.message == "slow: no answer within 0.3s"
    assert 250 <= slow.elapsed_ms < 1000

    good = by_name["good"]
    assert (good.status, good.error_class, good.count, good.message) == ("ok", None, 2, None)
    assert good.elapsed_ms >= 40


async def test_sources_run_concurrently() -> None:
    sources = [Returns(f"s{i}", 1, delay_s=0.2) for i in range(5)]
    started = time.monotonic()
    found, statuses = await gather_sources(sources, parsed_query(), PIKEVILLE, deadline_s=2.0)
    assert time.monotonic() - started < 0.6  # five 0.2 s sources, not 1 s
    assert [c.source for c in found] == ["s0", "s1", "s2", "s3", "s4"]
    assert all(s.status == "ok" for s in statuses)


async def test_empty_and_unexpected_errors() -> None:
    secret = "zzz-secret-value"
    sources: list[Source] = [
        Returns("nothing", 0),
        Raises("bug", KeyError(f"boom {secret}\nsecond line")),
        Raises("odd", UpstreamError("weird-class", "strange")),
        Raises("upstream-timeout", UpstreamError("timeout", "reddit: no answer within 6s")),
    ]
    found, statuses = await gather_sources(
        sources, parsed_query(), PIKEVILLE, deadline_s=1.0, secrets=(secret,)
    )
    assert found == []
    nothing, bug, odd, upstream_timeout = statuses
    assert (nothing.status, nothing.count, nothing.error_class) == ("empty", 0, None)
    assert (bug.status, bug.error_class) == ("error", "error")
    assert bug.message is not None
    assert bug.message.startswith("bug: KeyError")
    assert secret not in bug.message
    assert "\n" not in bug.message
    assert (odd.status, odd.error_class) == ("error", "error")
    assert (upstream_timeout.status, upstream_timeout.error_class) == ("timeout", "timeout")


async def test_no_sources() -> None:
    assert await gather_sources([], parsed_query(), PIKEVILLE, deadline_s=1.0) == ([], [])


async def test_real_source_failing_over_http(loopback: Loopback) -> None:
    loopback.script("/search.json", Reply(500, b'{"error": "Internal error"}'))
    settings = make_settings(serpapi_base_url=loopback.base_url)
    async with client_ctx(settings) as ctx:
        failing = SerpApiWebSource(ctx, retry=RetryPolicy(attempts=2, base_delay_s=0.001))
        found, statuses = await gather_sources(
            [failing, Returns("good", 1)],
            parsed_query(),
            PIKEVILLE,
            deadline_s=3.0,
            secrets=settings.secret_values(),
        )
    assert [c.source for c in found] == ["good"]
    web, good = statuses
    assert (web.source, web.status, web.error_class) == ("serpapi_web", "error", "http_error")
    assert web.message is not None
    assert API_KEY not in web.message
    assert "api_key=***" in web.message
    assert good.status == "ok"
    assert isinstance(ctx.http, httpx.AsyncClient)
