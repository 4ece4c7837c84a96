"""The whole pipeline in UNDERFOOT_MODE=live against the loopback upstreams: every provider
live, each fault degrading to partial results with per-source status, record -> replay
reproducing a search exactly, and no secret in results, traces, the cache or the logs."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

import pytest
from live_servers import (
    GEOAPIFY_KEY,
    SECRETS,
    Fault,
    UpstreamServer,
    malformed_json,
    malformed_xml,
    oversized,
    rate_limited,
    serpapi_empty,
    server_error,
    timeout,
    wrong_content_type,
)

from underfoot_lab.errors import ConfigError
from underfoot_lab.pipeline.run import Pipeline
from underfoot_lab.records import SearchResult

QUERY = "hidden gems in Pikeville KY"


def search(server: UpstreamServer, home: Path, **settings: Any) -> SearchResult:
    with Pipeline(server.settings(home, **settings), use_cache=False) as pipe:
        return pipe.search(QUERY)


def no_secrets(text: str | bytes) -> bool:
    data = text if isinstance(text, bytes) else text.encode()
    return not any(s.encode() in data for s in SECRETS)


def comparable(result: SearchResult) -> dict[str, Any]:
    """``to_dict`` without what legitimately differs between runs: timings and the cache."""
    d: dict[str, Any] = json.loads(json.dumps(result.to_dict()))
    d.pop("cache")
    for row in (*d["trace"], *d["sources"]):
        row.pop("elapsed_ms")
    return d


def test_every_stage_runs_live(server: UpstreamServer, tmp_path: Path) -> None:
    with Pipeline(server.settings(tmp_path), use_cache=False) as pipe:
        assert all(c.live for c in pipe.selection.all())
        assert not pipe.simulated
        r = pipe.search(QUERY)
    assert r.parsed.parser == "openai"
    assert r.place.geocoder == "geoapify" and r.place.name == "Pikeville"
    stages = {t.stage: t for t in r.trace}
    assert stages["parse"].provider == "openai" and stages["geocode"].provider == "geoapify"
    assert stages["respond"].provider == "openai" and stages["sources"].status == "ok"
    assert r.results and not r.simulated and not any(x.simulated for x in r.results)
    assert r.to_dict()["world"] is None
    assert {s.source: s.status for s in r.sources} == {
        "serpapi_web": "ok",
        "serpapi_local": "ok",
        "serpapi_events": "ok",
        "reddit": "ok",
    }
    assert {
        "openai:parse",
        "geoapify",
        "serpapi:google",
        "serpapi:google_maps",
        "serpapi:google_events",
        "reddit",
        "openai:respond",
    } <= set(server.hits)
    assert no_secrets(json.dumps(r.to_dict()))


FAULTS = [
    # (route, fault, source, status, error class, message fragment)
    ("serpapi:google_maps", timeout(4.0), "serpapi_local", "timeout", "timeout", "no answer"),
    (
        "serpapi:google_events",
        rate_limited("1"),
        "serpapi_events",
        "error",
        "rate_limited",
        "gave up after 3 attempts",
    ),
    (
        "serpapi:google_events",
        rate_limited("120"),
        "serpapi_events",
        "error",
        "rate_limited",
        "not waiting",
    ),
    ("reddit", server_error(), "reddit", "error", "http_error", "HTTP 500"),
    ("serpapi:google", malformed_json(), "serpapi_web", "error", "bad_payload", "malformed JSON"),
    ("reddit", malformed_xml(), "reddit", "error", "bad_payload", "malformed XML"),
    (
        "serpapi:google_events",
        serpapi_empty("google_events"),
        "serpapi_events",
        "empty",
        None,
        None,
    ),
    (
        "serpapi:google_maps",
        wrong_content_type(),
        "serpapi_local",
        "error",
        "bad_payload",
        "content type 'text/html'",
    ),
    (
        "serpapi:google",
        oversized(120_000),
        "serpapi_web",
        "error",
        "bad_payload",
        "larger than 100000 bytes",
    ),
]


@pytest.mark.parametrize(
    ("route", "fault", "source", "status", "error_class", "fragment"),
    FAULTS,
    ids=[
        "timeout",
        "429-retry",
        "429-too-long",
        "500",
        "bad-json",
        "bad-xml",
        "empty",
        "content-type",
        "oversized",
    ],
)
def test_a_failing_upstream_degrades_to_partial_results(
    server: UpstreamServer,
    tmp_path: Path,
    route: str,
    fault: Fault,
    source: str,
    status: str,
    error_class: str | None,
    fragment: str | None,
) -> None:
    server.fail(route, fault)
    r = search(server, tmp_path, http_timeout_s=1.0, max_response_bytes=100_000)
    statuses = {s.source: s for s in r.sources}
    failed = statuses[source]
    assert failed.status == status and failed.error_class == error_class and failed.count == 0
    if fragment:
        assert failed.message is not None and fragment in failed.message
    others = [s for name, s in statuses.items() if name != source]
    assert all(s.status == "ok" and s.count > 0 for s in others)
    assert r.results and all(source not in x.sources for x in r.results)
    sources_stage = next(t for t in r.trace if t.stage == "sources")
    assert sources_stage.status == ("ok" if status == "empty" else "partial")
    assert next(t for t in r.trace if t.stage == f"sources.{source}").status == status
    assert r.answer.responder == "openai"
    assert no_secrets(json.dumps(r.to_dict()))


def test_retry_after_is_honoured(server: UpstreamServer, tmp_path: Path) -> None:
    server.fail("serpapi:google_events", Fault(**{**rate_limited("1").__dict__, "times": 1}))
    started = time.monotonic()
    r = search(server, tmp_path)
    assert time.monotonic() - started >= 1.0
    events = next(s for s in r.sources if s.source == "serpapi_events")
    assert events.status == "ok" and server.hits["serpapi:google_events"] == 2
    first, second = server.requests_for("serpapi:google_events")
    assert second.at - first.at >= 0.95


def test_invalid_keys(server: UpstreamServer, tmp_path: Path) -> None:
    r = search(server, tmp_path, serpapi_api_key="serp-WRONG-000")
    for name in ("serpapi_web", "serpapi_local", "serpapi_events"):
        s = next(s for s in r.sources if s.source == name)
        assert s.status == "error" and s.error_class == "auth" and "HTTP 401" in (s.message or "")
        assert "serp-WRONG-000" not in (s.message or "")
    assert next(s for s in r.sources if s.source == "reddit").status == "ok"
    # A bad Geoapify key falls back to the embedded gazetteer; the trace says why, without the key.
    r = search(server, tmp_path, geoapify_api_key="geo-WRONG-000")
    geo = next(t for t in r.trace if t.stage == "geocode")
    assert geo.status == "fallback" and geo.provider == "gazetteer"
    assert "auth" in (geo.detail or "") or "401" in (geo.detail or "")
    assert "geo-WRONG-000" not in (geo.detail or "") and GEOAPIFY_KEY not in (geo.detail or "")
    assert r.place.name == "Pikeville" and r.results


def test_everything_failing_but_openai(server: UpstreamServer, tmp_path: Path) -> None:
    server.fail("serpapi", server_error())
    server.fail("reddit", rate_limited("120"))
    r = search(server, tmp_path)
    assert {s.status for s in r.sources} == {"error"}
    assert next(t for t in r.trace if t.stage == "sources").status == "error"
    assert r.results == () and "couldn't find" in r.answer.text


def test_record_then_replay_reproduces_the_search_exactly(
    server: UpstreamServer, tmp_path: Path
) -> None:
    # Faults too: retries (500, 429 with Retry-After) and a timeout must replay the same way.
    server.fail("reddit", server_error())
    server.fail("serpapi:google_events", Fault(**{**rate_limited("1").__dict__, "times": 1}))
    server.fail("serpapi:google_maps", timeout(3.0))
    recording = tmp_path / "recording"
    settings = server.settings(tmp_path, http_timeout_s=1.0)
    with Pipeline(settings, record_dir=recording) as pipe:
        assert not pipe.use_cache
        live = pipe.search(QUERY)
    hits = sum(server.hits.values())
    server.stop()  # from here on, nothing answers on that port

    files = [p for p in recording.iterdir() if p.name != "manifest.json"]
    assert len(files) == hits
    for path in recording.iterdir():
        assert no_secrets(path.read_bytes()), path.name

    with Pipeline(settings.model_copy(update={"replay_dir": recording})) as pipe:
        replayed = pipe.search(QUERY)
    assert comparable(replayed) == comparable(live)
    assert [c.to_dict() for c in replayed.candidates] == [c.to_dict() for c in live.candidates]
    statuses = {s.source: s.status for s in live.sources}
    assert statuses == {
        "serpapi_web": "ok",
        "serpapi_local": "timeout",
        "serpapi_events": "ok",
        "reddit": "error",
    }


def test_replay_miss_is_reported_per_source(server: UpstreamServer, tmp_path: Path) -> None:
    recording = tmp_path / "recording"
    settings = server.settings(tmp_path)
    with Pipeline(settings, record_dir=recording) as pipe:
        pipe.search(QUERY)
    server.stop()
    with Pipeline(settings, replay_dir=recording) as pipe:
        r = pipe.search("hidden gems in Ely MN")  # nothing of this search was recorded
    # The geocoder falls back to the gazetteer and each source reports the miss as its status.
    geo = next(t for t in r.trace if t.stage == "geocode")
    assert geo.status == "fallback" and "no recorded exchange" in (geo.detail or "")
    for s in r.sources:
        assert s.status == "error" and "no recorded exchange" in (s.message or ""), s
    with pytest.raises(ConfigError):
        Pipeline(settings, record_dir=recording, replay_dir=recording)


def test_no_secret_reaches_the_logs_or_the_cache(
    server: UpstreamServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    server.fail("reddit", server_error())
    with Pipeline(server.settings(tmp_path)) as pipe:
        assert pipe.use_cache
        first = pipe.search(QUERY)
        again = pipe.search(QUERY)
    assert again.cache.status == "hit-memory" and first.cache.status == "miss"
    text = caplog.text
    assert "HTTP Request: GET" in text and "api_key=***" in text and "apiKey=***" in text
    assert any(r.name.startswith("openai") for r in caplog.records)
    assert any(r.name.startswith("httpcore") for r in caplog.records)
    assert no_secrets(text)
    assert all(no_secrets(r.getMessage()) for r in caplog.records)
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert no_secrets(path.read_bytes()), path
