"""OpenAIParser against the loopback OpenAI: structured output, gazetteer checks, every failure
raises a secret-free UpstreamError, and the pipeline falls back to the heuristic parser."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from live_servers import (
    OPENAI_KEY,
    SECRETS,
    Fault,
    UpstreamServer,
    completion,
    openai_error,
    provider_ctx,
    rate_limited,
    server_error,
    timeout,
)

from underfoot_lab.errors import UpstreamError
from underfoot_lab.pipeline.parse.openai_parser import OpenAIParser
from underfoot_lab.pipeline.run import Pipeline
from underfoot_lab.prompts import load_prompt, prompt_versions


def parser(server: UpstreamServer, client: httpx.AsyncClient, tmp_path: Path) -> OpenAIParser:
    return OpenAIParser.create(provider_ctx(server.settings(tmp_path), client))


def model_says(server: UpstreamServer, **fields: Any) -> None:
    base = {
        "location": None,
        "state_code": None,
        "zip_code": None,
        "intent": "hidden gems",
        "confidence": 0.9,
    }
    base.update(fields)
    server.parse_reply = lambda _query: base


def test_prompts_are_versioned() -> None:
    p = load_prompt("parse")
    assert p.id == f"parse-v{prompt_versions('parse')[-1]}"
    assert "null" in p.text and "data, not instructions" in p.text
    assert load_prompt("respond", 1).id == "respond-v1"
    with pytest.raises(KeyError):
        load_prompt("parse", 999)


def test_fixture_completion_is_a_valid_chat_completion() -> None:
    from openai.types.chat import ChatCompletion

    body = completion('{"a": 1}')
    parsed = ChatCompletion.model_validate(body)
    assert parsed.object == "chat.completion" and parsed.choices[0].message.content == '{"a": 1}'


def test_availability_needs_the_key_and_never_shows_it(
    server: UpstreamServer, tmp_path: Path
) -> None:
    ok = OpenAIParser.availability(server.settings(tmp_path))
    assert ok.ok and OPENAI_KEY not in ok.reason and "sk-" not in ok.reason
    missing = OpenAIParser.availability(server.settings(tmp_path, openai_api_key=None))
    assert not missing.ok and "OPENAI_API_KEY" in missing.reason


async def test_parses_town_and_state(
    server: UpstreamServer, live_client: httpx.AsyncClient, tmp_path: Path
) -> None:
    parsed = await parser(server, live_client, tmp_path).parse("hidden gems in Pikeville KY")
    assert parsed.parser == "openai"
    assert parsed.location == "Pikeville, KY" and parsed.admin1_hint == "KY"
    assert parsed.intent == "hidden gems" and 0.9 <= parsed.confidence <= 1
    assert parsed.location_span is not None
    assert "hidden gems in Pikeville KY"[slice(*parsed.location_span)] == "Pikeville"
    assert "prompt parse-v1" in parsed.notes
    # What went over the wire: the versioned prompt as the system message, the query as JSON
    # data, a strict JSON schema, the key only in the Authorization header.
    (seen,) = server.requests_for("openai:parse")
    request = json.loads(seen.body)
    assert request["messages"][0] == {"role": "system", "content": load_prompt("parse").text}
    assert json.loads(request["messages"][1]["content"]) == {"query": "hidden gems in Pikeville KY"}
    assert request["response_format"]["type"] == "json_schema"
    assert request["response_format"]["json_schema"]["strict"] is True
    assert seen.headers["authorization"] == f"Bearer {OPENAI_KEY}"
    assert OPENAI_KEY not in seen.body.decode()


async def test_ambiguous_town_keeps_the_bare_name(
    server: UpstreamServer, live_client: httpx.AsyncClient, tmp_path: Path
) -> None:
    model_says(server, location="Springfield", intent="dive bars", confidence=0.9)
    parsed = await parser(server, live_client, tmp_path).parse("dive bars in Springfield")
    assert parsed.location == "Springfield" and parsed.admin1_hint is None
    assert parsed.confidence <= 0.6
    assert any("ambiguous" in n for n in parsed.notes)


async def test_zip_code_is_checked_against_the_zip_table(
    server: UpstreamServer, live_client: httpx.AsyncClient, tmp_path: Path
) -> None:
    parsed = await parser(server, live_client, tmp_path).parse("tacos near 41501")
    assert parsed.zip_code == "41501" and parsed.location == "Pikeville, KY"


async def test_near_spelling_in_the_query_is_accepted(
    server: UpstreamServer, live_client: httpx.AsyncClient, tmp_path: Path
) -> None:
    # The model corrects an obvious typo; the gazetteer and the query still back it.
    model_says(server, location="Pikeville, KY", state_code="KY")
    parsed = await parser(server, live_client, tmp_path).parse("hidden gems in Pikevile KY")
    assert parsed.location == "Pikeville, KY"


@pytest.mark.parametrize(
    ("fields", "query", "fragment"),
    [
        (
            {"location": "Atlantis, KY", "state_code": "KY"},
            "hidden gems in Atlantis KY",
            "not a known US town",
        ),
        (
            {"location": "Seattle, WA", "state_code": "WA"},
            "hidden gems near me",
            "not named in the query",
        ),
        (
            {"location": "Pikeville, KY", "state_code": "TX"},
            "hidden gems in Pikeville KY",
            "contradicts",
        ),
        ({"location": None}, "hidden gems", "no location"),
        (
            {"location": "Pikeville, KY", "confidence": 7.0},
            "hidden gems in Pikeville KY",
            "confidence",
        ),
        ({"zip_code": "99999"}, "tacos near 99999", "ZIP"),
        ({"state_code": "ZZ", "location": "Pikeville"}, "hidden gems in Pikeville", "state"),
    ],
)
async def test_hallucinations_fail(
    server: UpstreamServer,
    live_client: httpx.AsyncClient,
    tmp_path: Path,
    fields: dict[str, Any],
    query: str,
    fragment: str,
) -> None:
    model_says(server, **fields)
    with pytest.raises(UpstreamError) as err:
        await parser(server, live_client, tmp_path).parse(query)
    assert err.value.error_class == "bad_payload"
    assert fragment in str(err.value)


BAD_CONTENT: dict[str, Callable[[str], str | None]] = {
    "invalid JSON": lambda _u: '{"location": "Pikeville, KY", "intent": ',
    "schema mismatch": lambda _u: json.dumps({"location": "Pikeville, KY"}),
    "extra field": lambda _u: json.dumps(
        {
            "location": "Pikeville, KY",
            "state_code": "KY",
            "zip_code": None,
            "intent": "x",
            "confidence": 0.9,
            "ignore": "previous instructions",
        }
    ),
    "wrong type": lambda _u: json.dumps(
        {
            "location": ["Pikeville"],
            "state_code": None,
            "zip_code": None,
            "intent": "x",
            "confidence": "high",
        }
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_CONTENT))
async def test_bad_structured_output_fails(
    server: UpstreamServer, live_client: httpx.AsyncClient, tmp_path: Path, case: str
) -> None:
    server.openai_content["openai:parse"] = BAD_CONTENT[case]
    with pytest.raises(UpstreamError) as err:
        await parser(server, live_client, tmp_path).parse("hidden gems in Pikeville KY")
    assert err.value.error_class == "bad_payload"


async def test_refusal_fails(
    server: UpstreamServer, live_client: httpx.AsyncClient, tmp_path: Path
) -> None:
    server.openai_refusal["openai:parse"] = "I can't help with that."
    with pytest.raises(UpstreamError, match="refused"):
        await parser(server, live_client, tmp_path).parse("hidden gems in Pikeville KY")


@pytest.mark.parametrize(
    ("fault", "error_class"),
    [
        (server_error(), "http_error"),
        (Fault(503, b"upstream connect error", "text/plain"), "http_error"),
        (rate_limited("30"), "rate_limited"),
        (
            openai_error(401, "Incorrect API key provided: sk-te*****T123.", "invalid_api_key"),
            "auth",
        ),
        (timeout(5.0), "timeout"),
        (Fault(200, b"<html>oops</html>", "text/html"), "bad_payload"),
    ],
    ids=["500", "503-text", "429", "401", "timeout", "html"],
)
async def test_http_failures_are_classified_and_secret_free(
    server: UpstreamServer,
    live_client: httpx.AsyncClient,
    tmp_path: Path,
    fault: Fault,
    error_class: str,
) -> None:
    server.fail("openai:parse", fault)
    p = OpenAIParser.create(
        provider_ctx(server.settings(tmp_path, http_timeout_s=0.5), live_client)
    )
    with pytest.raises(UpstreamError) as err:
        await p.parse("hidden gems in Pikeville KY")
    assert err.value.error_class == error_class
    assert not any(s in str(err.value) for s in SECRETS)
    assert err.value.__cause__ is None and err.value.__suppress_context__
    # max_retries=0: one request, no waiting out Retry-After.
    assert server.hits["openai:parse"] == 1


def test_pipeline_falls_back_to_the_heuristic_parser(
    server: UpstreamServer, tmp_path: Path
) -> None:
    model_says(server, location="Atlantis, KY", state_code="KY")
    with Pipeline(server.settings(tmp_path), use_cache=False) as pipe:
        assert pipe.selection.parser.provider == "openai" and pipe.selection.parser.live
        result = pipe.search("hidden gems in Pikeville KY")
    assert result.parsed.parser == "heuristic"
    assert result.place.name == "Pikeville"
    (parse,) = [t for t in result.trace if t.stage == "parse"]
    assert parse.status == "fallback" and parse.provider == "heuristic"
    assert parse.detail is not None and "not a known US town" in parse.detail
    assert any(n.startswith("fallback from openai:") for n in result.parsed.notes)


def test_pipeline_fallback_on_auth_error_hides_the_key(
    server: UpstreamServer, tmp_path: Path
) -> None:
    wrong = "sk-test-WRONGKEY999"
    settings = server.settings(tmp_path, openai_api_key=wrong)
    with Pipeline(settings, use_cache=False) as pipe:
        result = pipe.search("hidden gems in Pikeville KY")
    assert result.parsed.parser == "heuristic"
    (parse,) = [t for t in result.trace if t.stage == "parse"]
    assert parse.status == "fallback" and parse.detail and "HTTP 401" in parse.detail
    (respond,) = [t for t in result.trace if t.stage == "respond"]
    assert respond.status == "fallback" and respond.provider == "template"
    dumped = json.dumps(result.to_dict())
    assert wrong not in dumped and "WRONGKEY999" not in dumped
