"""Production's HTTP contract as pydantic models (pydantic only: no FastAPI here).

The server validates requests with :class:`SearchRequest` and answers :class:`SearchResponse`
or :class:`ErrorBody`; :mod:`underfoot_lab.service.client` validates any service's answers with
the same models, so "speaks production's contract" means one thing on both sides.
"""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

if TYPE_CHECKING:  # pragma: no cover
    from ..records import SearchResult

MIN_CHARS = 2
MAX_CHARS = 500
DANGEROUS = ("<script", "javascript:", "onerror=", "onclick=")
"""Substrings (any case) that make an input dangerous, as production rejects them."""

ErrorCode = Literal[
    "VALIDATION_ERROR", "UNDERFOOT_ERROR", "INTERNAL_ERROR", "RATE_LIMITED", "NOT_FOUND"
]
CacheState = Literal["hit", "miss"] | None


def clean_chat_input(value: str) -> str:
    """Production's input hygiene: drop non-printable characters, strip surrounding whitespace,
    then enforce 2..500 characters and reject dangerous markup (raises ``ValueError``)."""
    # Spaces count as printable; every other separator or control character is dropped.
    kept = "".join(ch for ch in value if ch == " " or ch.isprintable())
    kept = kept.strip()
    kept = unicodedata.normalize("NFC", kept)
    if len(kept) < MIN_CHARS:
        raise ValueError(f"chat_input must be at least {MIN_CHARS} characters")
    if len(kept) > MAX_CHARS:
        raise ValueError(f"chat_input must be at most {MAX_CHARS} characters")
    lowered = kept.lower()
    for bad in DANGEROUS:
        if bad in lowered:
            raise ValueError(f"chat_input contains potentially dangerous content ({bad!r})")
    return kept


class SearchRequest(BaseModel):
    """The body of ``POST /underfoot/search``; unknown fields are rejected."""

    model_config = ConfigDict(extra="forbid")

    chat_input: str = Field(
        description="The query, e.g. 'hidden gems in Pikeville KY' (2..500 characters).",
        examples=["hidden gems in Pikeville KY"],
    )
    force: bool = Field(False, description="Bypass the cache and search afresh.")

    @field_validator("chat_input")
    @classmethod
    def _clean(cls, value: str) -> str:
        return clean_chat_input(value)


class PlaceOut(BaseModel):
    """One result as production lists it."""

    model_config = ConfigDict(extra="allow")

    name: str
    description: str
    source: str
    url: str
    score: float
    category: Literal["primary", "nearby"] | str


class Debug(BaseModel):
    """Production's debug block; our own extras (trace, parsed, place, simulated, ...) too."""

    model_config = ConfigDict(extra="allow")

    request_id: str
    execution_time_ms: int
    cache: CacheState = None


class SearchResponse(BaseModel):
    """A 200 answer of ``POST /underfoot/search``: ``places`` primary first, then nearby."""

    model_config = ConfigDict(extra="allow")

    user_intent: str
    user_location: str
    response: str
    places: list[PlaceOut]
    debug: Debug


class ErrorBody(BaseModel):
    """Every error answer: a code, a one-line message, the request id, when, and context."""

    model_config = ConfigDict(extra="allow")

    error: str
    message: str
    request_id: str
    timestamp: str
    context: dict[str, Any] = Field(default_factory=dict)


class Dependency(BaseModel):
    """One dependency in ``/health``."""

    model_config = ConfigDict(extra="allow")

    status: str
    error: str | None = None


class Health(BaseModel):
    """``GET /health``."""

    model_config = ConfigDict(extra="allow")

    status: Literal["healthy", "degraded"]
    timestamp: str
    elapsed_ms: float
    dependencies: dict[str, Dependency]
    version: str


def now_iso() -> str:
    """UTC now, ISO-8601 with an offset (production's timestamp format)."""
    return datetime.now(UTC).isoformat()


def error_body(
    code: str, message: str, request_id: str, context: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Production's error body as plain JSON data."""
    return ErrorBody(
        error=code,
        message=message,
        request_id=request_id,
        timestamp=now_iso(),
        context=context or {},
    ).model_dump()


def cache_state(result: SearchResult, *, force: bool, caching: bool) -> CacheState:
    """Production's ``debug.cache``: "hit", "miss" (searched afresh, also when forced) or None
    (this server does not cache)."""
    if result.cache.status.startswith("hit"):
        return "hit"
    if result.cache.status == "miss" or (force and caching):
        return "miss"
    return None


def to_response(
    result: SearchResult,
    *,
    request_id: str,
    execution_time_ms: float,
    cache: CacheState,
) -> SearchResponse:
    """Our :class:`~underfoot_lab.records.SearchResult` in production's response shape.

    ``places`` lists primary results first (each group in rank order). A place's ``source`` is
    the first source that mentioned it; all of them, the distance, the rank (1-based position
    in the pipeline's own order) and the mentions go under the place's extra fields, and the
    pipeline's own detail goes under ``debug``.
    """
    ordered = sorted(enumerate(result.results), key=lambda ir: (ir[1].category != "primary", ir[0]))
    places = [
        PlaceOut(
            name=r.title,
            description=r.description,
            source=r.sources[0] if r.sources else "",
            url=r.url,
            score=round(r.score, 6),
            category=r.category,
            sources=list(r.sources),
            rank=i + 1,
            distance_km=None if r.distance_km is None else round(r.distance_km, 2),
            id=r.id,
            # Every source mention (URL, native id, dates, reviews): what an evaluation of this
            # service over HTTP needs to judge a place exactly as in process.
            mentions=[m.to_dict() for m in r.mentions],
        )
        for i, r in ordered
    ]
    debug = Debug(
        request_id=request_id,
        execution_time_ms=round(execution_time_ms),
        cache=cache,
        cache_layer=result.cache.status.removeprefix("hit-") if cache == "hit" else None,
        simulated=result.simulated,
        world_seed=result.world_seed,
        scorer=result.scorer,
        parsed=result.parsed.to_dict(),
        place=result.place.to_dict(),
        sources=[s.to_dict() for s in result.sources],
        trace=[t.to_dict() for t in result.trace],
        responder=result.answer.responder,
        named_ids=list(result.answer.named_ids),
        unsupported_names=list(result.answer.unsupported_names),
    )
    return SearchResponse(
        user_intent=result.parsed.intent,
        user_location=result.place.label,
        response=result.answer.text,
        places=places,
        debug=debug,
    )
