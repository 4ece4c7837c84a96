"""``/health`` and ``/metrics`` of the running service; degradation after a failed source."""

from __future__ import annotations

from dataclasses import replace

import httpx
from prometheus_client.parser import text_string_to_metric_families
from service_support import Service

from underfoot_lab.records import CacheInfo, SourceStatus
from underfoot_lab.service.health import HealthState
from underfoot_lab.service.models import Health


def test_health_reports_dependencies(service: Service) -> None:
    httpx.post(
        f"{service.base}/underfoot/search",
        json={"chat_input": "hidden gems in Pikeville KY"},
        timeout=60,
    )
    resp = httpx.get(f"{service.base}/health")
    assert resp.status_code == 200
    health = Health.model_validate(resp.json())
    assert health.status == "healthy"
    assert health.version
    deps = resp.json()["dependencies"]
    for name in ("parse.heuristic", "geocode.gazetteer", "source.reddit", "respond.template"):
        assert deps[name]["status"] == "available", name
    assert deps["cache"]["status"] == "ok"
    assert deps["cache"]["rows"] >= 1
    assert deps["cache"]["hits"] + deps["cache"]["misses"] >= 1
    assert "error" not in deps["source.reddit"]


def test_health_state_degrades_after_a_failed_source_and_recovers() -> None:
    from underfoot_lab.records import Answer, ParsedQuery, Place, SearchResult

    now = [100.0]
    state = HealthState(window_s=60, clock=lambda: now[0])
    failed = SourceStatus("reddit", "timeout", 0, 8000.0, error_class="timeout")
    result = SearchResult(
        query="q",
        parsed=ParsedQuery("q", "Ely", "hidden gems", 1.0, "heuristic"),
        place=Place("Ely", "Minnesota", "MN", None, "US", 47.9, -91.9, 3000, 1.0, "gazetteer"),
        results=(),
        answer=Answer("", "template"),
        trace=(),
        sources=(failed,),
        cache=CacheInfo("miss", "k"),
        scorer="seed",
        simulated=True,
    )
    state.observe(result)
    assert state.recent_failure("reddit") == (0.0, "timeout")
    # A cache hit replays old statuses: it neither marks nor clears.
    state.observe(
        replace(result, sources=(replace(failed, status="ok"),), cache=CacheInfo("hit-memory", "k"))
    )
    assert state.recent_failure("reddit") is not None
    now[0] += 61
    assert state.recent_failure("reddit") is None, "outside the window"
    now[0] = 100.0
    state.observe(replace(result, sources=(replace(failed, status="ok", error_class=None),)))
    assert state.recent_failure("reddit") is None, "a success clears the mark"
    assert state.cache_counts == {"hit": 1, "miss": 2}


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def test_metrics_count_requests_cache_and_upstreams(service: Service) -> None:
    url = f"{service.base}/underfoot/search"
    query = {"chat_input": "weird stuff to do in Bisbee AZ"}
    assert httpx.post(url, json=query, timeout=60).status_code == 200
    assert httpx.post(url, json=query, timeout=60).json()["debug"]["cache"] == "hit"
    httpx.post(url, json={"chat_input": "a"})
    resp = httpx.get(f"{service.base}/metrics")
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/plain")
    samples = _samples(resp.text)
    key = (
        "underfoot_http_requests_total",
        (("endpoint", "/underfoot/search"), ("method", "POST"), ("status", "200")),
    )
    assert samples[key] >= 2
    validation = (
        "underfoot_http_requests_total",
        (("endpoint", "/underfoot/search"), ("method", "POST"), ("status", "422")),
    )
    assert samples[validation] >= 1
    assert samples[("underfoot_errors_total", (("code", "VALIDATION_ERROR"),))] >= 1
    assert samples[("underfoot_cache_lookups_total", (("layer", "memory"),))] >= 1
    assert samples[("underfoot_cache_lookups_total", (("layer", "miss"),))] >= 1
    upstream = (
        "underfoot_upstream_duration_seconds_count",
        (("provider", "serpapi_web"),),
    )
    assert samples[upstream] >= 1
    latency = (
        "underfoot_http_request_duration_seconds_count",
        (("endpoint", "/underfoot/search"),),
    )
    assert samples[latency] >= 3
