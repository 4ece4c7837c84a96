"""The LLM judge against a loopback ``/v1/chat/completions``; the world stand-in; agreement."""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from openai.types.chat import ChatCompletion

from underfoot_lab.errors import ConfigError
from underfoot_lab.evaluation.judging.agreement import weighted_kappa
from underfoot_lab.evaluation.judging.judgments import Judgment, JudgmentStore
from underfoot_lab.evaluation.judging.llm_judge import (
    STAND_IN_LABEL,
    JudgeCache,
    LLMJudge,
    WorldStandInJudge,
    agreement_by_region,
    agreement_frame,
    content_hash,
    judge_document,
    make_reference_judge,
)
from underfoot_lab.evaluation.judging.pooling import JudgingPool, PoolItem, build_judging_pool
from underfoot_lab.evaluation.judging.world_judge import judge_result, world_note
from underfoot_lab.evaluation.regions import RegionQuery, load_region_set
from underfoot_lab.harness import build_harness
from underfoot_lab.prompts import load_prompt
from underfoot_lab.records import Candidate, Place, RankedResult
from underfoot_lab.settings import Settings
from underfoot_lab.world import World

API_KEY = "sk-judge-test-secret"
TODAY = datetime(2026, 6, 15, 12, tzinfo=UTC)
PLACE = Place(
    name="Pikeville", admin1="Kentucky", admin1_code="KY", county="Pike", country="US",
    lat=37.479, lon=-82.519, population=7000, confidence=1.0, geocoder="gazetteer",
)  # fmt: skip


# ------------------------------------------------------------------------------ the server
def completion(model: str, content: str, *, refusal: str | None = None) -> dict[str, Any]:
    """A chat completion exactly as the API returns it (checked by the SDK's own model)."""
    payload: dict[str, Any] = {
        "id": "chatcmpl-test123",
        "object": "chat.completion",
        "created": 1_781_000_000,
        "model": model,
        "system_fingerprint": "fp_test",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content, "refusal": refusal},
                "logprobs": None,
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 412, "completion_tokens": 21, "total_tokens": 433},
    }
    ChatCompletion.model_validate(payload)
    return payload


@dataclass
class FakeOpenAI:
    """Answers POST /v1/chat/completions; the grade is chosen by the result's title."""

    port: int = 0
    requests: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    in_flight: int = 0
    max_in_flight: int = 0
    delay_s: float = 0.05
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        doc = json.loads(body["messages"][1]["content"])
        title = doc["result"]["title"]
        if "FAIL" in title:
            return 500, {"error": {"message": f"boom ({API_KEY})", "type": "server_error"}}
        if "BADGRADE" in title:
            return 200, completion(body["model"], json.dumps({"grade": 7, "rationale": "?"}))
        if "REFUSE" in title:
            return 200, completion(body["model"], "", refusal="I can't help with that")
        grade = int(title.split("#")[-1]) % 4 if "#" in title else 2
        out = {"grade": grade, "rationale": f"looks like a {grade} for {doc['looking_for']}"}
        return 200, completion(body["model"], json.dumps(out))


@pytest.fixture
def server() -> Iterator[FakeOpenAI]:
    fake = FakeOpenAI()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            with fake.lock:
                fake.requests.append(body)
                fake.headers.append({k.lower(): v for k, v in self.headers.items()})
                fake.in_flight += 1
                fake.max_in_flight = max(fake.max_in_flight, fake.in_flight)
            try:
                time.sleep(fake.delay_s)
                if self.path != "/v1/chat/completions":
                    status, payload = 404, {"error": {"message": "not found"}}
                else:
                    status, payload = fake.answer(body)
            finally:
                with fake.lock:
                    fake.in_flight -= 1
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    fake.port = httpd.server_address[1]
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


def settings_for(home: Path, server: FakeOpenAI, **kw: Any) -> Settings:
    return Settings(
        _env_file=None,
        home=home,
        openai_api_key=API_KEY,
        openai_base_url=f"http://127.0.0.1:{server.port}/v1",
        http_timeout_s=5.0,
        **kw,
    )


# ------------------------------------------------------------------------------ items
def query(qid: str, region: str) -> RegionQuery:
    return RegionQuery.model_validate(
        {
            "id": qid,
            "text": "hidden gems in Pikeville KY",
            "expected": {"place": "Pikeville", "state": "KY"},
            "tags": ["general"],
            "region": region,
        }
    )


def item(
    title: str, qid: str = "q-1", region: str = "appalachia", doc: str | None = None
) -> PoolItem:
    mention = Candidate(
        source="serpapi_local", source_type="local", native_id="x", title=title, name=title,
        description=f"About {title}.", url="https://a.example/x", rank=1, reviews=42,
        rating=4.6, place_type="Diner", simulated=True,
    )  # fmt: skip
    result = RankedResult(
        id=doc or title.lower().replace(" ", "-").replace("#", "n"),
        title=title, url=mention.url, sources=("serpapi_local",), score=1.0,
        category="primary", distance_km=3.2, lat=37.5, lon=-82.5,
        description=mention.description, mentions=(mention,), simulated=True,
    )  # fmt: skip
    return PoolItem(query(qid, region), "hidden gems", PLACE, result, (("default", 1),), True)


ITEMS = [item(f"Place #{i}", doc=f"place-{i}") for i in range(6)]


# ------------------------------------------------------------------------------ tests
def test_grades_items_with_provenance_and_the_exact_request(
    tmp_path: Path, server: FakeOpenAI
) -> None:
    judge = LLMJudge(settings_for(tmp_path, server), max_retries=0)
    assert judge.judge == "llm:gpt-4o-mini" and judge.prompt.id == "judge-v1"
    progress: list[tuple[int, int]] = []
    run = judge.grade(ITEMS, lambda d, t: progress.append((d, t)), today=TODAY)
    assert run.judge == "llm:gpt-4o-mini" and not run.failures
    assert (run.requested, run.cached) == (6, 0)
    assert [j.grade for j in run.judgments] == [i % 4 for i in range(6)]
    assert all(j.judge == "llm:gpt-4o-mini" for j in run.judgments)
    assert run.judgments[1].note == "judge-v1: looks like a 1 for hidden gems"
    assert [(j.query_id, j.doc_id) for j in run.judgments] == [i.key for i in ITEMS]
    assert sorted(progress)[-1] == (6, 6)
    body = server.requests[0]
    assert body["model"] == "gpt-4o-mini" and body["temperature"] == 0
    assert body["messages"][0] == {"role": "system", "content": load_prompt("judge").text}
    doc = json.loads(body["messages"][1]["content"])
    assert doc["query"] == "hidden gems in Pikeville KY" and doc["today"] == "2026-06-15"
    assert doc["town"] == "Pikeville, Kentucky"
    assert doc["result"]["reviews"] == 42 and doc["result"]["distance_km"] == 3.2
    fmt = body["response_format"]
    assert fmt["type"] == "json_schema" and fmt["json_schema"]["strict"] is True
    schema = fmt["json_schema"]["schema"]
    assert schema["properties"]["grade"]["enum"] == [0, 1, 2, 3]
    assert server.headers[0]["authorization"] == f"Bearer {API_KEY}"
    store = JudgmentStore(tmp_path / "j.sqlite3")
    assert store.add(run.judgments) == 6 and store.judges() == ["llm:gpt-4o-mini"]


def test_concurrency_is_bounded(tmp_path: Path, server: FakeOpenAI) -> None:
    server.delay_s = 0.15
    judge = LLMJudge(settings_for(tmp_path, server), concurrency=2, max_retries=0)
    started = time.perf_counter()
    run = judge.grade(ITEMS, today=TODAY)
    elapsed = time.perf_counter() - started
    assert len(run.judgments) == 6
    assert server.max_in_flight == 2
    assert elapsed < 6 * 0.15  # ran in parallel, not one by one


def test_cache_keys_on_model_prompt_query_and_content(tmp_path: Path, server: FakeOpenAI) -> None:
    s = settings_for(tmp_path, server)
    first = LLMJudge(s, max_retries=0).grade(ITEMS, today=TODAY)
    assert len(server.requests) == 6
    again = LLMJudge(s, max_retries=0).grade(ITEMS, today=TODAY)  # a new object, same cache file
    assert len(server.requests) == 6 and (again.requested, again.cached) == (0, 6)
    assert again.grades() == first.grades()
    assert len(JudgeCache(tmp_path / "llm_judge_cache.sqlite3")) == 6
    changed = [replace(ITEMS[0], result=replace(ITEMS[0].result, description="Now a parking lot."))]
    assert LLMJudge(s, max_retries=0).grade(changed, today=TODAY).requested == 1
    other = LLMJudge(s, model="gpt-4.1-mini", max_retries=0).grade(ITEMS[:2], today=TODAY)
    assert other.requested == 2 and other.judge == "llm:gpt-4.1-mini"
    assert server.requests[-1]["model"] == "gpt-4.1-mini"
    doc = judge_document(ITEMS[0], TODAY)
    assert content_hash(doc) == content_hash(json.loads(json.dumps(doc)))
    assert content_hash(doc) != content_hash(judge_document(ITEMS[1], TODAY))


def test_bad_answers_fail_one_item_not_the_batch(tmp_path: Path, server: FakeOpenAI) -> None:
    items = [*ITEMS[:2], item("FAIL here"), item("BADGRADE"), item("REFUSE me")]
    run = LLMJudge(settings_for(tmp_path, server), max_retries=0).grade(items, today=TODAY)
    assert len(run.judgments) == 2
    reasons = {f.doc_id: f.reason for f in run.failures}
    assert set(reasons) == {"fail-here", "badgrade", "refuse-me"}
    assert "HTTP 500" in reasons["fail-here"] and API_KEY not in reasons["fail-here"]
    assert "refused" in reasons["refuse-me"]
    assert all(API_KEY not in r for r in reasons.values())
    # failures are not cached: a second pass asks again
    assert (
        LLMJudge(settings_for(tmp_path, server), max_retries=0).grade(items, today=TODAY).requested
        == 3
    )


def test_unreachable_upstream_is_a_failure(tmp_path: Path) -> None:
    s = Settings(
        _env_file=None, home=tmp_path, openai_api_key=API_KEY,
        openai_base_url="http://127.0.0.1:9/v1", http_timeout_s=2.0,
    )  # fmt: skip
    run = LLMJudge(s, max_retries=0).grade(ITEMS[:1], today=TODAY)
    assert not run.judgments and "connection failed" in run.failures[0].reason


def test_needs_a_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="OPENAI_API_KEY"):
        LLMJudge(Settings(_env_file=None, home=tmp_path, openai_api_key=None))


def test_reference_judge_choice(tmp_path: Path, server: FakeOpenAI) -> None:
    offline = make_reference_judge(settings_for(tmp_path, server))  # a key, but offline mode
    assert isinstance(offline, WorldStandInJudge) and offline.stand_in
    assert offline.judge == "world" and offline.label == STAND_IN_LABEL
    no_key = make_reference_judge(
        Settings(_env_file=None, home=tmp_path, mode="auto", openai_api_key=None)
    )
    assert isinstance(no_key, WorldStandInJudge)
    live = make_reference_judge(settings_for(tmp_path, server, mode="live"), max_retries=0)
    assert isinstance(live, LLMJudge) and not live.stand_in
    with pytest.raises(ConfigError, match="OPENAI_API_KEY"):
        make_reference_judge(
            Settings(
                _env_file=None, home=tmp_path, mode="live", sources=("reddit",), openai_api_key=None
            )
        )


# ------------------------------------------------------------------------------ world + agreement
@pytest.fixture(scope="module")
def world_pool(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[World, JudgingPool]]:
    home = tmp_path_factory.mktemp("judge-home")
    path = home / "sets" / "judgetest.yaml"
    path.parent.mkdir()
    path.write_text(
        "name: judgetest\ndescription: two regions\nqueries:\n"
        "  - {id: j-pikeville-01, text: hidden gems in Pikeville KY, region: appalachia,\n"
        "     expected: {place: Pikeville, state: KY}, tags: [general]}\n"
        "  - {id: j-bisbee-01, text: weird stuff in Bisbee AZ, region: desert-southwest,\n"
        "     expected: {place: Bisbee, state: AZ}, tags: [weird]}\n"
    )
    with build_harness(Settings(_env_file=None, home=home)) as harness:
        pool = build_judging_pool(load_region_set(path), k=5, pipeline=harness.pipeline)
        assert harness.world is not None
        yield harness.world, pool


def test_world_stand_in_matches_the_world_judge(world_pool: tuple[World, JudgingPool]) -> None:
    world, pool = world_pool
    run = WorldStandInJudge(world).grade(list(pool.items))
    assert run.label == STAND_IN_LABEL and len(run.judgments) == len(pool)
    assert {j.note for j in run.judgments} == {world_note(world)}
    grades = run.grades()
    for q in pool.queries:
        truth = judge_result(world, pool.results[q.id], q)
        for it in pool.for_query(q.id):
            assert grades[it.key] == truth[it.doc_id]
    assert len(set(grades.values())) > 1  # the pool holds good and bad items


def test_agreement_per_region(world_pool: tuple[World, JudgingPool], tmp_path: Path) -> None:
    world, pool = world_pool
    store = JudgmentStore(tmp_path / "j.sqlite3")
    truth = WorldStandInJudge(world).grade(list(pool.items))
    store.add(truth.judgments)
    human = []
    for n, it in enumerate(pool.items):  # agree on appalachia, shift by one in the desert
        g = truth.grades()[it.key]
        human.append(Judgment(it.query_id, it.doc_id, g if it.query.region == "appalachia"
                              else min(3, g + 1) if n % 2 else g, "human:alice"))  # fmt: skip
    store.add(human)
    store.add([Judgment("other-query", "x", 1, "world", note="another world")])
    out = agreement_by_region(store, pool, "human:alice", "world", world=world)
    assert list(out) == ["appalachia", "desert-southwest", "all"]
    assert out["appalachia"].exact == 1.0 and out["appalachia"].kappa == pytest.approx(1.0)
    desert = [it for it in pool.items if it.query.region == "desert-southwest"]
    a = [next(j.grade for j in human if (j.query_id, j.doc_id) == it.key) for it in desert]
    b = [truth.grades()[it.key] for it in desert]
    assert out["desert-southwest"].n == len(desert)
    assert out["desert-southwest"].kappa == pytest.approx(weighted_kappa(a, b, weights="linear"))
    assert out["all"].n == len(pool)
    frame = agreement_frame(out)
    assert list(frame["region"]) == ["appalachia", "desert-southwest", "all"]
    missing = agreement_by_region(store, pool, "human:alice", "llm:gpt-4o-mini")
    assert missing["all"].n == 0 and math.isnan(missing["all"].kappa)
