"""Record/replay transports and log redaction: what is stored, how it is matched, what leaks."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
import pytest

from underfoot_lab.recording import (
    MANIFEST,
    RecordingTransport,
    ReplayMiss,
    ReplayTransport,
    read_manifest,
)

SECRET = "sk-test-SECRET123"
TOKEN = "tok-SECRET-456"


def echo_transport(log: list[httpx.Request]) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        log.append(request)
        if request.url.path == "/boom":
            raise httpx.ConnectError("refused", request=request)
        body = {"path": request.url.path, "n": len(log), "echo": f"key was {SECRET}"}
        return httpx.Response(
            200, json=body, headers={"Set-Cookie": "sid=abc", "X-N": str(len(log))}
        )

    return httpx.MockTransport(handler)


async def test_record_then_replay(tmp_path: Path) -> None:
    seen: list[httpx.Request] = []
    rec = RecordingTransport(
        echo_transport(seen), tmp_path, (SECRET,), manifest={"clock": "2026-06-15T12:00:00+00:00"}
    )
    async with httpx.AsyncClient(transport=rec) as client:
        first = await client.get("http://up.test/a", params={"q": "x", "api_key": SECRET})
        second = await client.get("http://up.test/a", params={"q": "x", "api_key": SECRET})
        post = await client.post(
            "http://up.test/chat",
            json={"q": "hi", "secret": SECRET},
            headers={"Authorization": f"Bearer {SECRET}"},
        )
        with pytest.raises(httpx.ConnectError):
            await client.get("http://up.test/boom")
    assert first.json()["n"] == 1 and second.json()["n"] == 2
    # What the live caller saw is already secret-free (the recording is what replays).
    assert first.json()["echo"] == "key was ***"
    files = sorted(p.name for p in tmp_path.iterdir())
    assert MANIFEST in files and len(files) == 5
    assert read_manifest(tmp_path)["clock"] == "2026-06-15T12:00:00+00:00"
    for path in tmp_path.iterdir():
        assert SECRET.encode() not in path.read_bytes()
    repeats = sorted(n for n in files if n.startswith("GET-a-"))
    assert [n.rsplit("-", 1)[1] for n in repeats] == ["000.json", "001.json"]
    stored = json.loads((tmp_path / repeats[0]).read_text())
    assert stored["request"]["url"] == "http://up.test/a?q=x&api_key=***"
    assert ["set-cookie", "***"] in stored["response"]["headers"]

    replay = ReplayTransport(tmp_path, (SECRET,))
    assert len(replay) == 4
    assert replay.clock is not None and replay.clock.year == 2026
    async with httpx.AsyncClient(transport=replay) as client:
        # The key's value does not matter: URLs are matched scrubbed.
        r1 = await client.get("http://up.test/a", params={"q": "x", "api_key": "other"})
        r2 = await client.get("http://up.test/a", params={"q": "x", "api_key": "other"})
        r3 = await client.get("http://up.test/a", params={"q": "x", "api_key": "other"})
        p = await client.post("http://up.test/chat", json={"q": "hi", "secret": SECRET})
        with pytest.raises(httpx.ConnectError):
            await client.get("http://up.test/boom")
        with pytest.raises(ReplayMiss) as miss:
            await client.get("http://up.test/a", params={"q": "y", "api_key": SECRET})
    assert (r1.json()["n"], r2.json()["n"], r3.json()["n"]) == (1, 2, 1)  # repeats cycle
    assert r1.headers["x-n"] == "1"
    assert p.json() == post.json()
    assert miss.value.error_class == "http_error"
    assert "http://up.test/a?q=y&api_key=***" in str(miss.value) and SECRET not in str(miss.value)
    assert seen and len(seen) == 4  # replay never reached the inner transport


async def test_a_new_session_replaces_old_repeats(tmp_path: Path) -> None:
    for _ in range(2):
        seen: list[httpx.Request] = []
        rec = RecordingTransport(echo_transport(seen), tmp_path)
        async with httpx.AsyncClient(transport=rec) as client:
            await client.get("http://up.test/a")
    assert len([p for p in tmp_path.iterdir() if p.name.startswith("GET-a-")]) == 1


async def test_oversized_bodies_are_cut_and_still_too_big(tmp_path: Path) -> None:
    big = b"x" * 5000

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=big, headers={"Content-Type": "text/plain"})

    rec = RecordingTransport(httpx.MockTransport(handler), tmp_path, max_body_bytes=100)
    async with httpx.AsyncClient(transport=rec) as client:
        live = await client.get("http://up.test/big")
    async with httpx.AsyncClient(transport=ReplayTransport(tmp_path)) as client:
        again = await client.get("http://up.test/big")
    assert len(live.content) == len(again.content) == 101
    assert again.headers["content-length"] == "5000"  # the declared size the cap checks first
    (stored,) = [p for p in tmp_path.iterdir() if p.name != MANIFEST]
    assert json.loads(stored.read_text())["response"]["truncated"] is True


async def test_cancelled_exchanges_replay_as_a_wait(tmp_path: Path) -> None:
    async def stall(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(30)
        return httpx.Response(200)

    rec = RecordingTransport(httpx.MockTransport(stall), tmp_path)
    async with httpx.AsyncClient(transport=rec) as client:
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.1):
                await client.get("http://up.test/slow")
    async with httpx.AsyncClient(transport=ReplayTransport(tmp_path)) as client:
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.1):
                await client.get("http://up.test/slow")


def test_missing_recording_is_a_config_error(tmp_path: Path) -> None:
    from underfoot_lab.errors import ConfigError

    with pytest.raises(ConfigError):
        ReplayTransport(tmp_path / "nope")
