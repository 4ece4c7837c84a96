"""Production's HTTP contract, over real HTTP against the running service (offline world)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from service_support import Service

from underfoot_lab.service.models import ErrorBody, SearchResponse, clean_chat_input

QUERY = "hidden gems in Pikeville KY"


def post(service: Service, body: Any, **headers: str) -> httpx.Response:
    return httpx.post(f"{service.base}/underfoot/search", json=body, headers=headers, timeout=60)


def assert_error(resp: httpx.Response, status: int, code: str) -> ErrorBody:
    assert resp.status_code == status, resp.text
    body = ErrorBody.model_validate(resp.json())
    assert body.error == code
    assert body.request_id == resp.headers["x-request-id"]
    assert "Traceback" not in resp.text
    assert set(resp.json()) == {"error", "message", "request_id", "timestamp", "context"}
    return body


def test_valid_search_answers_production_shape(service: Service) -> None:
    resp = post(service, {"chat_input": QUERY})
    assert resp.status_code == 200
    data = resp.json()
    body = SearchResponse.model_validate(data)
    assert {"user_intent", "user_location", "response", "places", "debug"} <= set(data)
    assert body.user_location == "Pikeville, Kentucky"
    assert body.response
    assert body.places, "the offline world knows Pikeville"
    for place in data["places"]:
        assert {"name", "description", "source", "url", "score", "category"} <= set(place)
    assert body.debug.request_id == resp.headers["x-request-id"]
    assert isinstance(data["debug"]["execution_time_ms"], int)
    assert data["debug"]["cache"] in ("hit", "miss")
    # Our extras live under debug, labelled simulated.
    assert data["debug"]["simulated"] is True
    assert data["debug"]["parsed"]["intent"] == body.user_intent
    assert {t["stage"] for t in data["debug"]["trace"]} >= {"validate", "total"}


def test_places_list_primary_first(service: Service) -> None:
    data = post(service, {"chat_input": QUERY}).json()
    categories = [p["category"] for p in data["places"]]
    assert "primary" in categories and "nearby" in categories
    first_nearby = categories.index("nearby")
    assert all(c == "nearby" for c in categories[first_nearby:])
    # Each group keeps rank order.
    ranks = [p["rank"] for p in data["places"] if p["category"] == "primary"]
    assert ranks == sorted(ranks)


@pytest.mark.parametrize(
    ("chat_input", "fragment"),
    [("a", "at least 2"), ("x" * 501, "at most 500"), ("   \x00 \x07 ", "at least 2")],
)
def test_length_limits_are_validation_errors(
    service: Service, chat_input: str, fragment: str
) -> None:
    body = assert_error(post(service, {"chat_input": chat_input}), 422, "VALIDATION_ERROR")
    assert fragment in body.message


def test_two_characters_pass_validation_and_reach_the_pipeline(service: Service) -> None:
    # "ab" is a valid input; the pipeline then refuses it as a query (no place in it).
    body = assert_error(post(service, {"chat_input": "ab"}), 400, "UNDERFOOT_ERROR")
    assert body.context["kind"] in ("BadQuery", "LocationNotFound")


def test_unknown_field_is_rejected(service: Service) -> None:
    body = assert_error(post(service, {"chat_input": QUERY, "limit": 3}), 422, "VALIDATION_ERROR")
    assert any(e["type"] == "extra_forbidden" for e in body.context["errors"])


def test_missing_field_and_non_json_are_validation_errors(service: Service) -> None:
    assert_error(post(service, {"force": True}), 422, "VALIDATION_ERROR")
    resp = httpx.post(
        f"{service.base}/underfoot/search",
        content=b"{not json",
        headers={"content-type": "application/json"},
    )
    assert_error(resp, 422, "VALIDATION_ERROR")


@pytest.mark.parametrize(
    "bad",
    [
        "<SCRIPT>alert(1)</script> Pikeville KY",
        "JavaScript:alert(1) in Pikeville KY",
        "img onError=x Pikeville KY",
        "a onclick= b in Pikeville KY",
    ],
)
def test_dangerous_input_is_rejected(service: Service, bad: str) -> None:
    body = assert_error(post(service, {"chat_input": bad}), 422, "VALIDATION_ERROR")
    assert "dangerous" in body.message


def test_non_printables_dropped_and_whitespace_stripped(service: Service) -> None:
    resp = post(service, {"chat_input": f"  \t{QUERY}\x00\x07\u200b \n"})
    assert resp.status_code == 200
    assert resp.json()["debug"]["parsed"]["text"] == QUERY
    assert clean_chat_input("\x1b[31m hi there \x00") == "[31m hi there"


def test_unknown_place_is_a_4xx_with_the_error_body(service: Service) -> None:
    body = assert_error(
        post(service, {"chat_input": "hidden gems in Xyzzyville QQ"}), 400, "UNDERFOOT_ERROR"
    )
    assert body.context["kind"] == "LocationNotFound"
    assert "Xyzzyville" in body.message


def test_unknown_route_gets_the_error_body(service: Service) -> None:
    assert_error(httpx.get(f"{service.base}/nowhere"), 404, "NOT_FOUND")
    assert_error(httpx.get(f"{service.base}/underfoot/search"), 405, "HTTP_ERROR")


def test_force_bypasses_the_cache(service: Service) -> None:
    query = {"chat_input": "weird stuff to do near Hazard, KY"}
    first = post(service, query).json()["debug"]
    second = post(service, query).json()["debug"]
    forced = post(service, {**query, "force": True}).json()["debug"]
    after = post(service, query).json()["debug"]
    assert first["cache"] == "miss"
    assert (second["cache"], second["cache_layer"]) == ("hit", "memory")
    assert forced["cache"] == "miss"
    assert after["cache"] == "hit"


def test_openapi_docs_are_served(service: Service) -> None:
    spec = httpx.get(f"{service.base}/openapi.json").json()
    assert "/underfoot/search" in spec["paths"]
    assert "SearchRequest" in spec["components"]["schemas"]
    docs = httpx.get(f"{service.base}/docs")
    assert docs.status_code == 200 and "swagger" in docs.text.lower()
