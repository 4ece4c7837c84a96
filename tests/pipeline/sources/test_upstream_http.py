"""underfoot_lab.http against a real loopback HTTP server: classification, retries, caps, redaction.

(The module under test is ``underfoot_lab/http.py``; its tests live here, next to the connectors
that use it.)
"""

from __future__ import annotations

import asyncio
import socket
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest
from upstream_support import (
    API_KEY,
    Loopback,
    Recorder,
    Reply,
    fixture_bytes,
    make_settings,
)

from underfoot_lab.errors import UpstreamError
from underfoot_lab.http import (
    RetryPolicy,
    fetch_json,
    fetch_xml,
    limiter_for,
    make_client,
    parse_retry_after,
    set_rate_limit,
)

FAST = RetryPolicy(attempts=3, base_delay_s=0.001, max_wait_s=10.0)


def _settings(**kw: object) -> object:
    return make_settings(**kw)


async def _get_json(
    client: httpx.AsyncClient,
    server: Loopback,
    *,
    retry: RetryPolicy = FAST,
    path: str = "/search.json",
    **settings_kw: object,
) -> dict[str, object]:
    settings = make_settings(**settings_kw)
    return await fetch_json(
        client,
        f"{server.base_url}{path}",
        upstream="serpapi",
        settings=settings,
        params={"engine": "google", "q": "x", "api_key": API_KEY},
        retry=retry,
    )


# ------------------------------------------------------------------------------ client


async def test_make_client_uses_settings() -> None:
    settings = make_settings(http_timeout_s=3.5, user_agent="underfoot-test/1.0")
    client = make_client(settings)
    try:
        assert client.headers["User-Agent"] == "underfoot-test/1.0"
        assert client.follow_redirects is False
        assert client.timeout.read == 3.5
        assert client.timeout.connect == 3.5
    finally:
        await client.aclose()


async def test_make_client_sends_user_agent(loopback: Loopback) -> None:
    loopback.script("/search.json", Reply(body=b'{"ok": true}'))
    client = make_client(make_settings(user_agent="underfoot-test/2.0"))
    try:
        data = await _get_json(client, loopback)
    finally:
        await client.aclose()
    assert data == {"ok": True}
    assert loopback.seen[0].headers["user-agent"] == "underfoot-test/2.0"
    assert loopback.seen[0].query["api_key"] == API_KEY


# ------------------------------------------------------------------------------ classification


async def test_401_is_auth_and_key_is_redacted(
    loopback: Loopback, real_client: httpx.AsyncClient
) -> None:
    body = b'{"error": "Invalid API key. Your API key should be here: https://serpapi.com/manage-api-key"}'
    loopback.script("/search.json", Reply(401, body))
    with pytest.raises(UpstreamError) as info:
        await _get_json(real_client, loopback)
    err = info.value
    assert err.error_class == "auth"
    assert "HTTP 401" in str(err)
    assert "Invalid API key" in str(err)
    assert API_KEY not in str(err)
    assert "api_key=***" in str(err)
    assert len(loopback.seen) == 1  # auth failures are not retried


async def test_403_is_auth(loopback: Loopback, real_client: httpx.AsyncClient) -> None:
    loopback.script("/search.json", Reply(403, b"forbidden", content_type="text/plain"))
    with pytest.raises(UpstreamError) as info:
        await _get_json(real_client, loopback)
    assert info.value.error_class == "auth"


async def test_429_with_retry_after_waits_then_succeeds(
    loopback: Loopback, real_client: httpx.AsyncClient
) -> None:
    loopback.script(
        "/search.json",
        Reply(429, b'{"error": "slow down"}', headers={"Retry-After": "1"}),
        Reply(200, b'{"organic_results": []}'),
    )
    started = time.monotonic()
    # The real asyncio.sleep: the server asked for a second, so at least a second passes.
    data = await _get_json(real_client, loopback, retry=RetryPolicy(attempts=3))
    elapsed = time.monotonic() - started
    assert data == {"organic_results": []}
    assert len(loopback.seen) == 2
    assert elapsed >= 0.95
    assert loopback.seen[1].at - loopback.seen[0].at >= 0.95


async def test_429_retry_after_recorded_by_injected_sleep(
    loopback: Loopback, real_client: httpx.AsyncClient
) -> None:
    loopback.script(
        "/search.json",
        Reply(429, b"{}", headers={"Retry-After": "2"}),
        Reply(429, b"{}", headers={"Retry-After": "1"}),
        Reply(200, b'{"done": 1}'),
    )
    sleep = Recorder()
    data = await _get_json(real_client, loopback, retry=RetryPolicy(attempts=3, sleep=sleep))
    assert data == {"done": 1}
    assert sleep.waits == [2.0, 1.0]


async def test_429_retry_after_http_date(
    loopback: Loopback, real_client: httpx.AsyncClient
) -> None:
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=5), usegmt=True)
    loopback.script(
        "/search.json", Reply(429, b"{}", headers={"Retry-After": when}), Reply(200, b"{}")
    )
    sleep = Recorder()
    await _get_json(real_client, loopback, retry=RetryPolicy(attempts=3, sleep=sleep))
    assert len(sleep.waits) == 1
    assert 3.0 <= sleep.waits[0] <= 5.0


async def test_429_retry_after_beyond_cap_fails_fast(
    loopback: Loopback, real_client: httpx.AsyncClient
) -> None:
    loopback.script("/search.json", Reply(429, b"{}", headers={"Retry-After": "120"}))
    sleep = Recorder()
    with pytest.raises(UpstreamError) as info:
        await _get_json(real_client, loopback, retry=RetryPolicy(attempts=3, sleep=sleep))
    assert info.value.error_class == "rate_limited"
    assert "120" in str(info.value)
    assert sleep.waits == []
    assert len(loopback.seen) == 1


async def test_429_every_time_is_rate_limited(
    loopback: Loopback, real_client: httpx.AsyncClient
) -> None:
    loopback.script("/search.json", Reply(429, b"{}", headers={"Retry-After": "0"}))
    with pytest.raises(UpstreamError) as info:
        await _get_json(real_client, loopback)
    assert info.value.error_class == "rate_limited"
    assert "after 3 attempts" in str(info.value)
    assert len(loopback.seen) == 3


async def test_500_three_times_is_http_error_with_backoff(
    loopback: Loopback, real_client: httpx.AsyncClient
) -> None:
    loopback.script("/search.json", Reply(500, b'{"error": "boom"}'))
    sleep = Recorder()
    retry = RetryPolicy(attempts=3, base_delay_s=0.5, max_wait_s=10.0, sleep=sleep)
    with pytest.raises(UpstreamError) as info:
        await _get_json(real_client, loopback, retry=retry)
    assert info.value.error_class == "http_error"
    assert "HTTP 500" in str(info.value)
    assert len(loopback.seen) == 3
    # Exponential backoff with jitter: 0.5*2^0 + [0, 0.5], then 0.5*2^1 + [0, 0.5].
    assert len(sleep.waits) == 2
    assert 0.5 <= sleep.waits[0] <= 1.0
    assert 1.0 <= sleep.waits[1] <= 1.5
    assert API_KEY not in str(info.value)


async def test_503_then_ok_recovers(loopback: Loopback, real_client: httpx.AsyncClient) -> None:
    loopback.script("/search.json", Reply(503, b"{}"), Reply(200, b'{"x": 2}'))
    assert await _get_json(real_client, loopback) == {"x": 2}
    assert len(loopback.seen) == 2


async def test_404_is_http_error_without_retry(
    loopback: Loopback, real_client: httpx.AsyncClient
) -> None:
    loopback.script("/search.json", Reply(404, b'{"error": "not here"}'))
    with pytest.raises(UpstreamError) as info:
        await _get_json(real_client, loopback)
    assert info.value.error_class == "http_error"
    assert len(loopback.seen) == 1


async def test_redirect_is_not_followed(loopback: Loopback, real_client: httpx.AsyncClient) -> None:
    loopback.script(
        "/search.json",
        Reply(302, b"", headers={"Location": "http://evil.example/steal?api_key=sk-test-123"}),
    )
    with pytest.raises(UpstreamError) as info:
        await _get_json(real_client, loopback)
    assert info.value.error_class == "http_error"
    assert "not followed" in str(info.value)
    assert API_KEY not in str(info.value)
    assert loopback.paths() == ["/search.json"]


async def test_malformed_json_is_bad_payload(
    loopback: Loopback, real_client: httpx.AsyncClient
) -> None:
    loopback.script("/search.json", Reply(200, b'{"organic_results": [ {"title": '))
    with pytest.raises(UpstreamError) as info:
        await _get_json(real_client, loopback)
    assert info.value.error_class == "bad_payload"
    assert "malformed JSON" in str(info.value)


async def test_json_that_is_not_an_object_is_bad_payload(
    loopback: Loopback, real_client: httpx.AsyncClient
) -> None:
    loopback.script("/search.json", Reply(200, b"[1, 2, 3]"))
    with pytest.raises(UpstreamError) as info:
        await _get_json(real_client, loopback)
    assert info.value.error_class == "bad_payload"


async def test_wrong_content_type_is_bad_payload(
    loopback: Loopback, real_client: httpx.AsyncClient
) -> None:
    loopback.script(
        "/search.json", Reply(200, b"<html><body>captcha</body></html>", content_type="text/html")
    )
    with pytest.raises(UpstreamError) as info:
        await _get_json(real_client, loopback)
    assert info.value.error_class == "bad_payload"
    assert "text/html" in str(info.value)


async def test_json_content_type_with_charset_is_fine(
    loopback: Loopback, real_client: httpx.AsyncClient
) -> None:
    loopback.script(
        "/search.json", Reply(200, b'{"a": 1}', content_type="application/json; charset=utf-8")
    )
    assert await _get_json(real_client, loopback) == {"a": 1}


async def test_oversized_body_with_length_is_bad_payload(
    loopback: Loopback, real_client: httpx.AsyncClient
) -> None:
    body = b'{"pad": "' + b"x" * 5000 + b'"}'
    loopback.script("/search.json", Reply(200, body))
    with pytest.raises(UpstreamError) as info:
        await _get_json(real_client, loopback, max_response_bytes=1000)
    assert info.value.error_class == "bad_payload"
    assert "larger than 1000 bytes" in str(info.value)


async def test_oversized_streamed_body_is_bad_payload(
    loopback: Loopback, real_client: httpx.AsyncClient
) -> None:
    # No Content-Length: the cap has to be enforced while streaming.
    body = b'{"pad": "' + b"x" * 50_000 + b'"}'
    loopback.script("/search.json", Reply(200, body, send_length=False))
    with pytest.raises(UpstreamError) as info:
        await _get_json(real_client, loopback, max_response_bytes=1000)
    assert info.value.error_class == "bad_payload"


async def test_slow_server_is_timeout(loopback: Loopback) -> None:
    loopback.script("/search.json", Reply(200, b"{}", delay_s=1.5))
    settings = make_settings(http_timeout_s=0.3)
    client = make_client(settings)
    started = time.monotonic()
    try:
        with pytest.raises(UpstreamError) as info:
            await fetch_json(
                client,
                f"{loopback.base_url}/search.json",
                upstream="serpapi",
                settings=settings,
                params={"api_key": API_KEY},
                retry=FAST,
            )
    finally:
        await client.aclose()
    assert info.value.error_class == "timeout"
    assert time.monotonic() - started < 1.4
    assert API_KEY not in str(info.value)
    assert len(loopback.seen) == 1  # timeouts are not retried


async def test_connection_refused_is_http_error_after_retries(
    real_client: httpx.AsyncClient,
) -> None:
    with socket.socket() as sock:  # a port nobody listens on any more
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    sleep = Recorder()
    settings = make_settings(geoapify_api_key=API_KEY)
    with pytest.raises(UpstreamError) as info:
        await fetch_json(
            real_client,
            f"http://127.0.0.1:{port}/v1/geocode/search",
            upstream="geoapify",
            settings=settings,
            params={"text": "Pikeville", "apiKey": API_KEY},
            retry=RetryPolicy(attempts=3, base_delay_s=0.001, sleep=sleep),
        )
    assert info.value.error_class == "http_error"
    assert "connection failed" in str(info.value)
    assert len(sleep.waits) == 2
    assert API_KEY not in str(info.value)
    assert "apiKey=***" in str(info.value)


# ------------------------------------------------------------------------------ XML


async def _get_xml(client: httpx.AsyncClient, server: Loopback) -> bytes:
    return await fetch_xml(
        client,
        f"{server.base_url}/search.rss",
        upstream="reddit",
        settings=make_settings(),
        params={"q": "x"},
        retry=FAST,
    )


async def test_xml_feed_is_returned(loopback: Loopback, real_client: httpx.AsyncClient) -> None:
    atom = fixture_bytes("reddit_search.atom")
    loopback.script(
        "/search.rss", Reply(200, atom, content_type="application/atom+xml; charset=UTF-8")
    )
    assert await _get_xml(real_client, loopback) == atom


async def test_malformed_xml_is_bad_payload(
    loopback: Loopback, real_client: httpx.AsyncClient
) -> None:
    loopback.script(
        "/search.rss",
        Reply(200, b"<feed><entry><title>oops</feed>", content_type="application/atom+xml"),
    )
    with pytest.raises(UpstreamError) as info:
        await _get_xml(real_client, loopback)
    assert info.value.error_class == "bad_payload"
    assert "malformed XML" in str(info.value)


async def test_xml_with_dtd_is_bad_payload(
    loopback: Loopback, real_client: httpx.AsyncClient
) -> None:
    body = b'<?xml version="1.0"?><!DOCTYPE feed [<!ENTITY a "aaaa">]><feed>&a;</feed>'
    loopback.script("/search.rss", Reply(200, body, content_type="application/atom+xml"))
    with pytest.raises(UpstreamError) as info:
        await _get_xml(real_client, loopback)
    assert info.value.error_class == "bad_payload"


async def test_html_instead_of_feed_is_bad_payload(
    loopback: Loopback, real_client: httpx.AsyncClient
) -> None:
    loopback.script(
        "/search.rss", Reply(200, b"<html>blocked</html>", content_type="text/html; charset=utf-8")
    )
    with pytest.raises(UpstreamError) as info:
        await _get_xml(real_client, loopback)
    assert info.value.error_class == "bad_payload"


# ------------------------------------------------------------------------------ rate limits


async def test_rate_limit_spaces_requests_in_live_mode(
    loopback: Loopback, real_client: httpx.AsyncClient
) -> None:
    set_rate_limit("serpapi", 2, 1.0)  # bursts of 2, then one every 0.5 s
    loopback.script("/search.json", Reply(200, b"{}"))
    started = time.monotonic()
    await asyncio.gather(*(_get_json(real_client, loopback, mode="live") for _ in range(4)))
    elapsed = time.monotonic() - started
    assert len(loopback.seen) == 4
    assert elapsed >= 0.9


async def test_offline_mode_is_not_rate_limited(
    loopback: Loopback, real_client: httpx.AsyncClient
) -> None:
    set_rate_limit("serpapi", 1, 10.0)  # would take 30 s for 4 requests if applied
    loopback.script("/search.json", Reply(200, b"{}"))
    started = time.monotonic()
    await asyncio.gather(*(_get_json(real_client, loopback, mode="offline") for _ in range(4)))
    assert time.monotonic() - started < 2.0
    assert len(loopback.seen) == 4


async def test_limiters_are_per_upstream() -> None:
    assert limiter_for("serpapi") is limiter_for("serpapi")
    assert limiter_for("serpapi") is not limiter_for("reddit")
    assert limiter_for("reddit").max_rate == 3.0
    set_rate_limit("reddit", 10, 1.0)
    assert limiter_for("reddit").max_rate == 10.0
    with pytest.raises(ValueError):
        set_rate_limit("reddit", 0)


# ------------------------------------------------------------------------------ helpers


def test_parse_retry_after() -> None:
    now = datetime(2026, 6, 15, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after("7", now) == 7.0
    assert parse_retry_after(" 1.5 ", now) == 1.5
    assert parse_retry_after("Mon, 15 Jun 2026 12:00:30 GMT", now) == 30.0
    assert parse_retry_after("Mon, 15 Jun 2026 11:00:00 GMT", now) == 0.0
    assert parse_retry_after("soon", now) is None
    assert parse_retry_after(None, now) is None
