"""Request ids, security headers, CORS, rate limiting and structured logs, over real HTTP."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from service_support import (
    ALLOWED_ORIGIN,
    FAKE_OPENAI,
    FAKE_SERPAPI,
    Service,
    running_service,
    service_settings,
)

from underfoot_lab.service.ratelimit import TokenBucketLimiter

QUERY = "hidden gems in Pikeville KY"
SECURITY = {
    "content-security-policy": "default-src 'none'",
    "strict-transport-security": "max-age=",
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
}


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("POST", "/underfoot/search", {"chat_input": QUERY}, 200),
        ("POST", "/underfoot/search", {"chat_input": "a"}, 422),
        ("GET", "/health", None, 200),
        ("GET", "/nowhere", None, 404),
    ],
)
def test_security_headers_on_every_answer(
    service: Service, method: str, path: str, body: object, status: int
) -> None:
    resp = httpx.request(method, f"{service.base}{path}", json=body, timeout=60)
    assert resp.status_code == status
    for name, fragment in SECURITY.items():
        assert fragment in resp.headers[name], name


def test_request_id_echoed_when_sane_and_generated_otherwise(service: Service) -> None:
    echoed = httpx.post(
        f"{service.base}/underfoot/search",
        json={"chat_input": QUERY},
        headers={"X-Request-ID": "client-req-42"},
        timeout=60,
    )
    assert echoed.headers["x-request-id"] == "client-req-42"
    assert echoed.json()["debug"]["request_id"] == "client-req-42"
    for insane in ("has spaces in it", "x" * 300, "<script>"):
        resp = httpx.get(f"{service.base}/health", headers={"X-Request-ID": insane})
        assert resp.headers["x-request-id"] != insane
        assert len(resp.headers["x-request-id"]) == 32
    one = httpx.get(f"{service.base}/health").headers["x-request-id"]
    two = httpx.get(f"{service.base}/health").headers["x-request-id"]
    assert one != two


def test_cors_allows_only_the_configured_origin(service: Service) -> None:
    url = f"{service.base}/underfoot/search"
    allowed = httpx.post(url, json={"chat_input": QUERY}, headers={"Origin": ALLOWED_ORIGIN})
    assert allowed.headers["access-control-allow-origin"] == ALLOWED_ORIGIN
    denied = httpx.post(url, json={"chat_input": QUERY}, headers={"Origin": "http://evil.example"})
    assert "access-control-allow-origin" not in denied.headers
    preflight = {"Access-Control-Request-Method": "POST"}
    ok = httpx.options(url, headers={"Origin": ALLOWED_ORIGIN, **preflight})
    assert ok.status_code == 200
    assert "POST" in ok.headers["access-control-allow-methods"]
    bad = httpx.options(url, headers={"Origin": "http://evil.example", **preflight})
    assert bad.status_code == 400
    assert "access-control-allow-origin" not in bad.headers
    assert bad.headers["x-request-id"]


def test_rate_limit_answers_429_with_retry_after(tmp_path: Path) -> None:
    # A burst of 3 and a refill far slower than the test: the 4th request is refused.
    settings = service_settings(
        tmp_path, service_rate_limit_per_s=0.01, service_rate_limit_burst=3, cache_enabled=False
    )
    with running_service(settings) as base:
        url = f"{base}/underfoot/search"
        # Invalid bodies are cheap, and the limit applies before validation.
        statuses = [httpx.post(url, json={"chat_input": "a"}).status_code for _ in range(3)]
        assert statuses == [422, 422, 422]
        limited = httpx.post(url, json={"chat_input": QUERY})
        assert limited.status_code == 429
        assert int(limited.headers["retry-after"]) >= 1
        body = limited.json()
        assert body["error"] == "RATE_LIMITED"
        assert body["request_id"] == limited.headers["x-request-id"]
        assert limited.headers["x-content-type-options"] == "nosniff"
        # Monitoring is never limited.
        assert httpx.get(f"{base}/health").status_code == 200
        metrics = httpx.get(f"{base}/metrics").text
        assert 'underfoot_errors_total{code="RATE_LIMITED"} 1.0' in metrics


def test_token_bucket_refills_and_tells_when() -> None:
    now = [0.0]
    limiter = TokenBucketLimiter(rate=2.0, burst=2, clock=lambda: now[0])
    assert [limiter.take("a").allowed for _ in range(3)] == [True, True, False]
    refused = limiter.take("a")
    assert refused.retry_after_s == pytest.approx(0.5)
    assert refused.retry_after_header == "1"
    assert limiter.take("b").allowed, "buckets are per client"
    now[0] = 0.5
    assert limiter.take("a").allowed
    assert TokenBucketLimiter(rate=0, burst=1).take("a").allowed, "rate 0 turns it off"


def test_request_ids_in_json_logs(service: Service) -> None:
    httpx.post(
        f"{service.base}/underfoot/search",
        json={"chat_input": QUERY},
        headers={"X-Request-ID": "log-check-7"},
        timeout=60,
    )
    mine = service.request_events("log-check-7")
    names = [e["event"] for e in mine]
    assert names[0] == "search.start"
    assert "search.complete" in names and names[-1] == "request.complete"
    complete = next(e for e in mine if e["event"] == "search.complete")
    for field in ("elapsed_ms", "result_count", "primary_count", "nearby_count", "stages"):
        assert field in complete
    assert complete["primary_count"] + complete["nearby_count"] == complete["result_count"]
    assert all(e["level"] and e["timestamp"] for e in mine)


def test_cache_hit_is_logged(service: Service) -> None:
    for _ in range(2):
        httpx.post(
            f"{service.base}/underfoot/search",
            json={"chat_input": "secret swimming holes around Ely, MN"},
            headers={"X-Request-ID": "log-hit-1"},
            timeout=60,
        )
    hits = [
        e
        for e in service.events()
        if e.get("request_id") == "log-hit-1" and e["event"] == "search.cache_hit"
    ]
    assert hits and hits[0]["layer"] == "memory"


def test_no_secret_in_logs_or_answers(service: Service) -> None:
    # A user pastes a key into the query: it is logged (search.start) and echoed (the error
    # message names the place), and must be redacted in both.
    for key in (FAKE_OPENAI, FAKE_SERPAPI):
        resp = httpx.post(
            f"{service.base}/underfoot/search",
            json={"chat_input": f"hidden gems in {key}"},
            headers={"X-Request-ID": "secret-check"},
            timeout=60,
        )
        assert resp.status_code == 400
        assert key not in resp.text
    text = service.log.getvalue()
    assert FAKE_OPENAI not in text and FAKE_SERPAPI not in text
    starts = [
        e
        for e in service.events()
        if e.get("request_id") == "secret-check" and e["event"] == "search.start"
    ]
    assert len(starts) == 2 and all("***" in e["chat_input"] for e in starts)
