"""The fault matrix (issue 14): every upstream x every fault, over real loopback HTTP.

For OpenAI (parse and respond), SerpAPI, Reddit (Atom and JSON) and Geoapify, each of: a hang
past the deadline, 429 with ``Retry-After``, 5xx, a malformed body, an oversized body, 401/403,
connection refused and a redirect. In every cell the search completes within its deadlines,
the failing stage or source reports the right status and error class, the healthy ones are
untouched, no secret reaches the result, the trace, the cache or the logs, and nothing
degraded is persisted.

The 48 searches run side by side (one loopback server and one home each) in a module fixture,
so the matrix costs a few seconds of waiting, not the sum of every cell's backoffs.
"""

from __future__ import annotations

import json
import logging
import socket
import sqlite3
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from live_servers import (
    GEOAPIFY_KEY,
    OPENAI_KEY,
    SECRETS,
    SERPAPI_KEY,
    Fault,
    UpstreamServer,
    malformed_json,
    malformed_xml,
    oversized,
)

from underfoot_lab.http import reset_rate_limits, set_rate_limit
from underfoot_lab.pipeline.run import Pipeline
from underfoot_lab.records import SearchResult
from underfoot_lab.world import World

QUERY = "hidden gems in Pikeville KY"
SOURCES = ("serpapi_web", "serpapi_local", "serpapi_events", "reddit", "reddit_json")
HTTP_TIMEOUT_S = 3.0
"""Generous for a healthy loopback answer on a loaded machine; a hang is cut here."""
SOURCE_DEADLINE_S = 8.0
"""Above the sources' whole retry budget (3 attempts, ~2.5 s of backoff at most, + timeouts)."""
MAX_BYTES = 100_000
SLACK_S = 3.0
"""Scheduling slack on a loaded 2-core machine (the bound checked is deadline + slack)."""

# upstream -> (fault route, what it feeds: a stage name or the sources it serves)
UPSTREAMS: dict[str, tuple[str, tuple[str, ...]]] = {
    "openai:parse": ("openai:parse", ("parse",)),
    "openai:respond": ("openai:respond", ("respond",)),
    "serpapi": ("serpapi", ("serpapi_web", "serpapi_local", "serpapi_events")),
    "reddit": ("reddit", ("reddit",)),
    "reddit_json": ("reddit_json", ("reddit_json",)),
    "geoapify": ("geoapify", ("geocode",)),
}
FAULTS = ("hang", "429", "5xx", "malformed", "oversize", "denied", "refused", "redirect")
EXPECTED_CLASS = {
    "hang": "timeout",
    "429": "rate_limited",
    "5xx": "http_error",
    "malformed": "bad_payload",
    "oversize": "bad_payload",
    "denied": "auth",
    "refused": "http_error",
    "redirect": "http_error",
}
BASE_URL_FIELD = {
    "openai": "openai_base_url",
    "serpapi": "serpapi_base_url",
    "reddit": "reddit_base_url",
    "reddit_json": "reddit_base_url",
    "geoapify": "geoapify_base_url",
}


def fault_for(upstream: str, fault: str) -> Fault | None:
    """The scripted answer (None for "refused": that cell points the base URL at a dead port)."""
    xml = upstream == "reddit"
    if fault == "hang":
        return Fault(200, b"", delay_s=30.0, passthrough=True)
    if fault == "429":
        # Longer than the client will wait: it must give up at once, not sleep 30 s.
        return Fault(429, b'{"error": "Too many requests."}', headers={"Retry-After": "30"})
    if fault == "5xx":
        return Fault(503, b'{"error": "Service unavailable."}')
    if fault == "malformed":
        if upstream.startswith("openai"):
            return Fault(200, b'{"id": "chatcmpl-x", "object": "chat.completion", "choices": [')
        return malformed_xml() if xml else malformed_json()
    if fault == "oversize":
        if xml:
            body = b'<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom">'
            return Fault(
                200, body + b" " * (2 * MAX_BYTES), "application/atom+xml", send_length=False
            )
        return oversized(2 * MAX_BYTES)
    if fault == "denied":
        # Reddit refuses with 403; the keyed upstreams with 401.
        return Fault(403 if upstream.startswith("reddit") else 401, b'{"error": "Unauthorized"}')
    if fault == "redirect":
        # The Location carries a key: it must not reach the trace either.
        where = f"http://127.0.0.1:9/elsewhere?api_key={SERPAPI_KEY}&apiKey={GEOAPIFY_KEY}"
        return Fault(302, b"", None, headers={"Location": where})
    return None


def dead_url() -> str:
    """A loopback URL nothing listens on (connection refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@dataclass
class Cell:
    upstream: str
    fault: str
    result: SearchResult | None = None
    error: str | None = None
    stored_rows: int = -1
    home: Path | None = None


def run_cell(world: World, root: Path, upstream: str, fault: str) -> Cell:
    cell = Cell(upstream, fault, home=root / f"{upstream.replace(':', '-')}-{fault}")
    server = UpstreamServer(world).start()
    try:
        route, _ = UPSTREAMS[upstream]
        overrides: dict[str, Any] = {}
        scripted = fault_for(upstream, fault)
        if scripted is not None:
            server.fail(route, scripted)
        else:
            base = dead_url()
            overrides[BASE_URL_FIELD[upstream.split(":")[0]]] = (
                f"{base}/v1" if upstream.startswith("openai") else base
            )
        settings = server.settings(
            cell.home,
            sources=SOURCES,
            http_timeout_s=HTTP_TIMEOUT_S,
            source_deadline_s=SOURCE_DEADLINE_S,
            max_response_bytes=MAX_BYTES,
            **overrides,
        )
        try:
            with Pipeline(settings) as pipe:
                cell.result = pipe.search(QUERY)
        except Exception as exc:  # reported by the cell's test, not here
            cell.error = f"{type(exc).__name__}: {exc}"
        with sqlite3.connect(cell.home / "cache.sqlite3") as conn:
            cell.stored_rows = int(conn.execute("SELECT COUNT(*) FROM answers").fetchone()[0])
    finally:
        server.stop()
    return cell


@pytest.fixture(scope="module")
def matrix(
    world: World, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[dict[tuple[str, str], Cell], str]]:
    root = tmp_path_factory.mktemp("faults")
    reset_rate_limits()
    set_rate_limit("reddit", 1000, 1.0)
    handler = _Capture()
    logging.getLogger().addHandler(handler)
    old_level = logging.getLogger().level
    logging.getLogger().setLevel(logging.DEBUG)
    try:
        # One healthy search first: the world builds the town's universe once, not in 48
        # threads at the same time (which would make healthy upstreams slow, not faulty).
        warm = UpstreamServer(world).start()
        try:
            with Pipeline(warm.settings(root / "warm", sources=SOURCES), use_cache=False) as pipe:
                assert {s.status for s in pipe.search(QUERY).sources} <= {"ok", "empty"}
        finally:
            warm.stop()
        with ThreadPoolExecutor(max_workers=8) as pool:
            futures = {
                (u, f): pool.submit(run_cell, world, root, u, f) for u in UPSTREAMS for f in FAULTS
            }
            cells = {key: fut.result(timeout=120) for key, fut in futures.items()}
    finally:
        logging.getLogger().removeHandler(handler)
        logging.getLogger().setLevel(old_level)
        reset_rate_limits()
    yield cells, "\n".join(handler.lines)


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def no_secret(data: bytes | str) -> bool:
    raw = data if isinstance(data, bytes) else data.encode()
    return not any(s.encode() in raw or s[:8].encode() in raw for s in SECRETS)


@pytest.mark.parametrize("fault", FAULTS)
@pytest.mark.parametrize("upstream", list(UPSTREAMS))
def test_fault_cell(
    matrix: tuple[dict[tuple[str, str], Cell], str], upstream: str, fault: str
) -> None:
    cell = matrix[0][(upstream, fault)]
    assert cell.error is None, cell.error
    r = cell.result
    assert r is not None
    expected = EXPECTED_CLASS[fault]
    _, feeds = UPSTREAMS[upstream]
    affected = set(feeds)
    if fault == "refused" and upstream.startswith("openai"):
        affected = {"parse", "respond"}  # one base URL serves both
    if fault == "refused" and upstream.startswith("reddit"):
        affected = {"reddit", "reddit_json"}  # one base URL serves both

    # The failing stage or sources: right status and error class; the rest untouched.
    stages = {t.stage: t for t in r.trace}
    for stage in ("parse", "geocode", "respond"):
        t = stages[stage]
        if stage in affected:
            assert t.status == "fallback", (stage, t)
            assert f"({expected})" in (t.detail or ""), (stage, t.detail)
        else:
            assert t.status == "ok", (stage, t)
    for s in r.sources:
        if s.source in affected:
            want = "timeout" if expected == "timeout" else "error"
            assert (s.status, s.error_class) == (want, expected), s
        else:
            assert s.status in ("ok", "empty"), s
    assert r.answer.text and r.place.name == "Pikeville"

    # Within its deadlines: the sources stage never outlives source_deadline_s.
    sources_ms = stages["sources"].elapsed_ms
    assert sources_ms <= (SOURCE_DEADLINE_S + SLACK_S) * 1000, sources_ms

    # Nothing degraded persisted; the trace says so.
    assert cell.stored_rows == 0
    assert "not stored: degraded" in (stages["cache"].detail or "")

    # No secret anywhere: result, trace, cache files.
    assert no_secret(json.dumps(r.to_dict()))
    assert cell.home is not None
    for path in cell.home.rglob("*"):
        if path.is_file():
            assert no_secret(path.read_bytes()), path


def test_no_secret_in_the_logs_of_the_whole_matrix(
    matrix: tuple[dict[tuple[str, str], Cell], str],
) -> None:
    logs = matrix[1]
    assert "HTTP Request" in logs  # the capture saw httpx's request lines
    assert no_secret(logs)
    assert OPENAI_KEY not in logs and SERPAPI_KEY not in logs
