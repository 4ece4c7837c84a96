"""A loopback TEST server that answers as SerpAPI, Reddit, Geoapify and OpenAI do.

One real ``ThreadingHTTPServer`` on 127.0.0.1 (port 0, in a thread) serves all four upstreams at
their documented paths, so the four ``*_BASE_URL`` settings can point at it:

* ``GET /search.json`` (SerpAPI: ``engine`` google, google_maps, google_events), checks
  ``api_key``; ``GET /search.rss`` and ``GET /r/<sub>/search.rss`` (Reddit's Atom feeds);
  ``GET /search.json`` without ``engine`` and ``api_key`` (Reddit's JSON search listing: the
  path is SerpAPI's too, and SerpAPI refuses keyless calls);
  ``GET /v1/geocode/search`` (Geoapify GeoJSON), checks ``apiKey``;
  ``GET /v3/organizations/<id>/events/`` and ``GET /v3/venues/<id>/events/`` (Eventbrite),
  check ``Authorization: Bearer``. The payloads are rendered by the simulated offline world
  (:meth:`World.respond`), which writes the upstreams' exact formats.
* ``POST /v1/chat/completions`` (OpenAI), checks ``Authorization: Bearer``; answers a canned
  ``chat.completion`` (validated with ``openai.types.chat.ChatCompletion``) from a tiny fake
  model: :func:`fake_parse` for the parser's schema, :func:`fake_answer` for the responder's.

Faults are scripted per route (``"serpapi:google"``, ``"serpapi:google_maps"``,
``"serpapi:google_events"``, ``"reddit"`` (Atom), ``"reddit_json"``, ``"geoapify"``,
``"eventbrite"``, ``"openai:parse"``, ``"openai:respond"``; a bare prefix such as
``"serpapi"`` covers all its routes) with hand-written :class:`Fault` payloads: status codes
with the upstream's own error bodies, ``Retry-After``, delays, malformed bodies, wrong content
types, oversized bodies.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
from openai.types.chat import ChatCompletion

from underfoot_lab.geo.gazetteer import get_gazetteer
from underfoot_lab.registry import ProviderContext
from underfoot_lab.settings import Settings
from underfoot_lab.world import World, build_world

OPENAI_KEY = "sk-test-SECRET123"
SERPAPI_KEY = "serp-test-SECRET456"
GEOAPIFY_KEY = "geo-test-SECRET789"
EVENTBRITE_TOKEN = "eb-test-SECRET012"
SECRETS = (OPENAI_KEY, SERPAPI_KEY, GEOAPIFY_KEY, EVENTBRITE_TOKEN)
MODEL = "gpt-4o-mini"

_SUBREDDIT = re.compile(r"/r/([A-Za-z0-9_]{2,21})/search\.rss")


@dataclass
class Fault:
    """A scripted answer for a route. ``times=None``: every request; else the next ``times``."""

    status: int = 500
    body: bytes = b'{"error": "Internal server error."}'
    content_type: str | None = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    """Wait this long first (a timeout when longer than the client's)."""
    passthrough: bool = False
    """After the delay, answer normally instead of with this fault's body."""
    send_length: bool = True
    times: int | None = None


def provider_ctx(settings: Settings, client: httpx.AsyncClient) -> ProviderContext:
    """A live provider context over ``client`` (the wall clock, the embedded gazetteer)."""
    return ProviderContext(
        settings=settings,
        http=client,
        clock=lambda: datetime.now(UTC),
        gazetteer_loader=get_gazetteer,
        simulated=False,
    )


# ------------------------------------------------------------------------------ canned faults


def server_error() -> Fault:
    return Fault(500, b'{"error": "Internal server error."}')


def rate_limited(retry_after: str = "1") -> Fault:
    return Fault(
        429,
        b'{"error": "Your account has run out of searches."}',
        headers={"Retry-After": retry_after},
    )


def timeout(delay_s: float) -> Fault:
    return Fault(200, b"", delay_s=delay_s, passthrough=True)


def malformed_json() -> Fault:
    return Fault(200, b'{"search_metadata": {"status": "Success"}, "organic_results": [{"ti')


def malformed_xml() -> Fault:
    return Fault(
        200,
        b'<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><entry><title>x',
        "application/atom+xml; charset=UTF-8",
    )


def wrong_content_type() -> Fault:
    return Fault(
        200,
        b"<html><body><h1>Please verify you are a human</h1></body></html>",
        "text/html; charset=utf-8",
    )


def oversized(size: int) -> Fault:
    # Valid JSON, just too big; sent without Content-Length so only the streamed cap stops it.
    filler = b'{"organic_results": [], "padding": "' + b"x" * size + b'"}'
    return Fault(200, filler, send_length=False)


def serpapi_empty(engine: str = "google") -> Fault:
    body = {
        "search_metadata": {"id": "loopback", "status": "Success"},
        "search_parameters": {"engine": engine},
        "error": "Google hasn't returned any results for this query.",
    }
    return Fault(200, json.dumps(body).encode())


def openai_error(status: int, message: str, code: str | None = None) -> Fault:
    body = {
        "error": {"message": message, "type": "invalid_request_error", "param": None, "code": code}
    }
    return Fault(status, json.dumps(body).encode())


# ------------------------------------------------------------------------------ fake model


def completion(
    content: str | None,
    *,
    refusal: str | None = None,
    finish_reason: str = "stop",
    model: str = MODEL,
    n: int = 1,
) -> dict[str, Any]:
    """A ``chat.completion`` object, checked against the SDK's own schema."""
    body: dict[str, Any] = {
        "id": f"chatcmpl-loopback{n:06d}",
        "object": "chat.completion",
        "created": 1781524800,
        "model": model,
        "system_fingerprint": "fp_loopback",
        "service_tier": "default",
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": content,
                    "refusal": refusal,
                    "annotations": [],
                },
                "logprobs": None,
                "finish_reason": finish_reason,
            }
        ],
        "usage": {
            "prompt_tokens": 321,
            "completion_tokens": 42,
            "total_tokens": 363,
            "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
            "completion_tokens_details": {
                "reasoning_tokens": 0,
                "audio_tokens": 0,
                "accepted_prediction_tokens": 0,
                "rejected_prediction_tokens": 0,
            },
        },
    }
    ChatCompletion.model_validate(body)
    return body


_LOC = re.compile(
    r"^(?P<intent>.*?)\s*\b(?:in|near|around|at|outside)\s+(?P<loc>[^,]+?)(?:,?\s+(?P<st>[A-Z]{2}))?\s*$"
)


def fake_parse(query: str) -> dict[str, Any]:
    """What a well-behaved model would return for simple "X in Town ST" queries."""
    zip_match = re.search(r"\b\d{5}\b", query)
    if zip_match:
        intent = query.replace(zip_match.group(0), "").strip(" ,") or "hidden gems"
        intent = re.sub(r"\s+(?:in|near|around)$", "", intent)
        return {
            "location": None,
            "state_code": None,
            "zip_code": zip_match.group(0),
            "intent": intent,
            "confidence": 0.95,
        }
    m = _LOC.match(query)
    if m is None:
        return {
            "location": None,
            "state_code": None,
            "zip_code": None,
            "intent": query,
            "confidence": 0.2,
        }
    town, state = m.group("loc").strip(), m.group("st")
    return {
        "location": f"{town}, {state}" if state else town,
        "state_code": state,
        "zip_code": None,
        "intent": m.group("intent").strip() or "hidden gems",
        "confidence": 0.93 if state else 0.7,
    }


def fake_answer(document: dict[str, Any]) -> dict[str, Any]:
    """Names the top three results by title and cites their ids."""
    results = document.get("results", [])
    top = [r for r in results if r.get("category") == "primary"][:3] or results[:3]
    if not top:
        return {"answer": "Nothing matched.", "cited_ids": []}
    names = [r["title"] for r in top]
    joined = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    return {
        "answer": f"For {document.get('intent')} around {document.get('place')}, try {joined}.",
        "cited_ids": [r["id"] for r in top],
    }


# ------------------------------------------------------------------------------ the server


@dataclass
class Seen:
    method: str
    route: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    at: float


class UpstreamServer:
    """All four upstreams on one loopback port (see the module docstring)."""

    def __init__(self, world: World | None = None) -> None:
        self.world = world or build_world(Settings(_env_file=None), get_gazetteer())
        self.faults: dict[str, Fault] = {}
        self.hits: Counter[str] = Counter()
        self.seen: list[Seen] = []
        self.parse_reply: Callable[[str], dict[str, Any]] = fake_parse
        self.answer_reply: Callable[[dict[str, Any]], dict[str, Any]] = fake_answer
        self.openai_content: dict[str, Callable[[str], str | None]] = {}
        """Route -> raw message content (bypasses the fake model: invalid JSON etc.)."""
        self.openai_refusal: dict[str, str] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._n = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server._handle(self, "GET")

            def do_POST(self) -> None:
                server._handle(self, "POST")

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    # ---------------------------------------------------------------------------- lifecycle
    def start(self) -> UpstreamServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self.httpd.shutdown()
        self.httpd.server_close()

    @property
    def base_url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def env(self) -> dict[str, str]:
        """Environment for a live-mode subprocess against this server (fake keys)."""
        return {
            "UNDERFOOT_MODE": "live",
            "OPENAI_API_KEY": OPENAI_KEY,
            "SERPAPI_API_KEY": SERPAPI_KEY,
            "GEOAPIFY_API_KEY": GEOAPIFY_KEY,
            "OPENAI_BASE_URL": f"{self.base_url}/v1",
            "SERPAPI_BASE_URL": self.base_url,
            "REDDIT_BASE_URL": self.base_url,
            "GEOAPIFY_BASE_URL": self.base_url,
        }

    def settings(self, home: Path, **overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "mode": "live",
            "home": home,
            "openai_api_key": OPENAI_KEY,
            "serpapi_api_key": SERPAPI_KEY,
            "geoapify_api_key": GEOAPIFY_KEY,
            "openai_base_url": f"{self.base_url}/v1",
            "serpapi_base_url": self.base_url,
            "reddit_base_url": self.base_url,
            "geoapify_base_url": self.base_url,
            "http_timeout_s": 2.0,
            "source_deadline_s": 8.0,
        }
        values.update(overrides)
        return Settings(_env_file=None, **values)

    def fail(self, route: str, fault: Fault) -> None:
        with self._lock:
            self.faults[route] = fault

    def clear(self) -> None:
        with self._lock:
            self.faults.clear()
            self.openai_content.clear()
            self.openai_refusal.clear()
            self.hits.clear()
            self.seen.clear()

    def requests_for(self, route: str) -> list[Seen]:
        return [s for s in self.seen if s.route == route or s.route.startswith(route + ":")]

    # ---------------------------------------------------------------------------- handling
    def _handle(self, h: BaseHTTPRequestHandler, method: str) -> None:
        parts = urlsplit(h.path)
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        length = int(h.headers.get("Content-Length") or 0)
        body = h.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in h.headers.items()}
        route = self._route(method, parts.path, query, body)
        with self._lock:
            self.seen.append(
                Seen(method, route, parts.path, query, headers, body, time.monotonic())
            )
            self.hits[route] += 1
            fault = self.faults.get(route) or self.faults.get(route.split(":")[0])
            if fault is not None and fault.times is not None:
                fault.times -= 1
                if fault.times <= 0:
                    self.faults.pop(route, None)
                    self.faults.pop(route.split(":")[0], None)
        if fault is not None and fault.delay_s:
            self._stop.wait(fault.delay_s)
        if fault is not None and not fault.passthrough:
            reply = (fault.status, fault.content_type, fault.body, fault.headers, fault.send_length)
        else:
            reply = (*self._answer(method, route, parts.path, query, headers, body), {}, True)
        status, content_type, payload, extra, send_length = reply
        try:
            h.send_response(status)
            if content_type:
                h.send_header("Content-Type", content_type)
            if send_length:
                h.send_header("Content-Length", str(len(payload)))
            for k, v in extra.items():
                h.send_header(k, v)
            h.end_headers()
            h.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (timeout tests)

    def _route(self, method: str, path: str, query: dict[str, str], body: bytes) -> str:
        if path == "/search.json" and "engine" not in query and "api_key" not in query:
            return "reddit_json"
        if path == "/search.json":
            return f"serpapi:{query.get('engine', 'google')}"
        if path == "/search.rss" or _SUBREDDIT.fullmatch(path):
            return "reddit"
        if path == "/v1/geocode/search":
            return "geoapify"
        if path.startswith("/v3/"):
            return "eventbrite"
        if path == "/v1/chat/completions" and method == "POST":
            try:
                name = json.loads(body)["response_format"]["json_schema"]["name"]
            except (ValueError, KeyError, TypeError):
                return "openai:unknown"
            return {"ParseOutput": "openai:parse", "AnswerOutput": "openai:respond"}.get(
                name, "openai:unknown"
            )
        return "unknown"

    def _answer(
        self,
        method: str,
        route: str,
        path: str,
        query: dict[str, str],
        headers: dict[str, str],
        body: bytes,
    ) -> tuple[int, str | None, bytes]:
        json_type = "application/json; charset=utf-8"
        if route.startswith("serpapi") and query.get("api_key") != SERPAPI_KEY:
            err = {
                "error": "Invalid API key. Your API key should be here: "
                "https://serpapi.com/manage-api-key"
            }
            return 401, json_type, json.dumps(err).encode()
        if route == "geoapify" and query.get("apiKey") != GEOAPIFY_KEY:
            geo_err = {"statusCode": 401, "error": "Unauthorized", "message": "Invalid apiKey"}
            return 401, json_type, json.dumps(geo_err).encode()
        if route == "eventbrite" and headers.get("authorization") != f"Bearer {EVENTBRITE_TOKEN}":
            eb_err = {
                "status_code": 401,
                "error_description": "The OAuth token you provided was invalid.",
                "error": "INVALID_AUTH",
            }
            return 401, json_type, json.dumps(eb_err).encode()
        if route.startswith("openai"):
            return self._openai(route, headers, body)
        if route == "unknown":
            return 404, json_type, b'{"error": "Not Found"}'
        res = self.world.respond(method, path, list(query.items()))
        return res.status, res.content_type, res.body

    def _openai(
        self, route: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, str | None, bytes]:
        json_type = "application/json"
        auth = headers.get("authorization", "")
        if auth != f"Bearer {OPENAI_KEY}":
            shown = auth.removeprefix("Bearer ")
            masked = f"{shown[:3]}*****{shown[-4:]}" if len(shown) > 8 else "***"
            err = {
                "error": {
                    "message": f"Incorrect API key provided: {masked}. You can find "
                    "your API key at https://platform.openai.com/account/api-keys.",
                    "type": "invalid_request_error",
                    "param": None,
                    "code": "invalid_api_key",
                }
            }
            return 401, json_type, json.dumps(err).encode()
        request = json.loads(body)
        messages = request.get("messages", [])
        user = next((m["content"] for m in messages if m.get("role") == "user"), "")
        with self._lock:
            self._n += 1
            n = self._n
        model = request.get("model", MODEL)
        if route in self.openai_refusal:
            out = completion(None, refusal=self.openai_refusal[route], model=model, n=n)
            return 200, json_type, json.dumps(out).encode()
        if route in self.openai_content:
            content = self.openai_content[route](user)
        elif route == "openai:parse":
            content = json.dumps(self.parse_reply(json.loads(user)["query"]))
        elif route == "openai:respond":
            doc = json.loads(user[user.index("{") : user.rindex("}") + 1])
            content = json.dumps(self.answer_reply(doc))
        else:
            return 400, json_type, b'{"error": {"message": "unknown schema", "type": "x"}}'
        out = completion(content, model=model, n=n)
        return 200, json_type, json.dumps(out).encode()
