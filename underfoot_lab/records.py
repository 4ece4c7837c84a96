"""Frozen, typed records that cross stage boundaries.

The pipeline is a one-way flow::

    query text -> ParsedQuery -> Place -> Candidate* -> RankedResult* -> Answer
                  (parse)        (geocode) (sources)    (score)          (respond)

wrapped by the two-layer cache, with a :class:`StageTrace` for every stage. Every record here
is an immutable dataclass; modules never hand each other bare dicts. ``to_dict`` methods give
the JSON shape the CLI prints.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, Literal

SourceType = Literal["web", "local", "events", "reddit"]
"""What kind of upstream a source is; the seed scorer's source priors are keyed by it."""

ResultCategory = Literal["primary", "nearby"]
CacheStatus = Literal["miss", "hit-memory", "hit-sqlite", "bypass"]
StageStatus = Literal["ok", "empty", "error", "timeout", "skipped", "fallback", "partial"]
ErrorClass = Literal["auth", "rate_limited", "timeout", "bad_payload", "http_error", "error"]


@dataclass(frozen=True, slots=True)
class Availability:
    """Whether a provider can run with the current settings, and why (never containing secrets)."""

    ok: bool
    reason: str


@dataclass(frozen=True, slots=True)
class ParsedQuery:
    """What the user asked for: where (a location string) and what (an intent)."""

    text: str
    location: str | None
    intent: str
    confidence: float
    parser: str
    location_span: tuple[int, int] | None = None
    admin1_hint: str | None = None
    """Two-letter state code when the query named one ("Pikeville KY" -> "KY")."""
    zip_code: str | None = None
    notes: tuple[str, ...] = ()
    """Why the parser decided what it did (fallbacks, ambiguity); shown in traces."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "location": self.location,
            "intent": self.intent,
            "confidence": round(self.confidence, 4),
            "parser": self.parser,
            "admin1_hint": self.admin1_hint,
            "zip_code": self.zip_code,
            "notes": list(self.notes),
        }


@dataclass(frozen=True, slots=True)
class PlaceRef:
    """A lightweight pointer to a gazetteer place, used for alternatives and suggestions."""

    name: str
    admin1: str
    county: str | None
    country: str
    lat: float
    lon: float
    population: int

    @property
    def label(self) -> str:
        return f"{self.name}, {self.admin1}"


@dataclass(frozen=True, slots=True)
class Place:
    """A geocoded place: where the search is centred."""

    name: str
    admin1: str
    """First-level division, spelled out ("Kentucky")."""
    admin1_code: str
    """Its postal code ("KY"); empty outside the US."""
    county: str | None
    country: str
    lat: float
    lon: float
    population: int
    confidence: float
    geocoder: str
    kind: str = "city"
    """"city", "zip" or an upstream's result type ("city", "postcode", ...)."""
    alternatives: tuple[PlaceRef, ...] = ()

    @property
    def label(self) -> str:
        return f"{self.name}, {self.admin1}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "admin1": self.admin1,
            "admin1_code": self.admin1_code,
            "county": self.county,
            "country": self.country,
            "lat": self.lat,
            "lon": self.lon,
            "population": self.population,
            "confidence": round(self.confidence, 4),
            "geocoder": self.geocoder,
            "kind": self.kind,
            "alternatives": [asdict(a) for a in self.alternatives],
        }


@dataclass(frozen=True, slots=True)
class Candidate:
    """One item a source returned, normalised from the upstream's own format."""

    source: str
    """Registered source name ("serpapi_local", "reddit", ...)."""
    source_type: SourceType
    native_id: str
    """The upstream's id (SerpAPI place_id, Reddit t3_ id, the link for web/events)."""
    title: str
    name: str
    """Best-effort name of the place or event the item is about; the merge key is built on it."""
    description: str
    url: str
    rank: int
    """1-based position in the source's own answer."""
    lat: float | None = None
    lon: float | None = None
    rating: float | None = None
    reviews: int | None = None
    address: str | None = None
    place_type: str | None = None
    starts_at: datetime | None = None
    published_at: datetime | None = None
    simulated: bool = False
    votes: int | None = None
    """A post's vote score (Reddit's JSON listing ``score``; None where the source has none)."""
    comments: int | None = None
    """A post's comment count (Reddit's ``num_comments``)."""
    community: str | None = None
    """Where a post was made (the subreddit, without ``r/``)."""

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        for key in ("starts_at", "published_at"):
            value = d[key]
            d[key] = value.isoformat() if value is not None else None
        return d


@dataclass(frozen=True, slots=True)
class RankedResult:
    """A merged, scored result: one place or event, backed by one or more source mentions."""

    id: str
    """Stable within a query: the entity-resolution key of the merged mentions."""
    title: str
    url: str
    sources: tuple[str, ...]
    score: float
    category: ResultCategory
    distance_km: float | None
    lat: float | None
    lon: float | None
    description: str
    mentions: tuple[Candidate, ...]
    simulated: bool
    features: tuple[tuple[str, float], ...] = ()
    """(feature name, value) pairs the scorer used, for explanations."""

    def to_dict(self, *, with_mentions: bool = False) -> dict[str, Any]:
        d: dict[str, Any] = {
            "id": self.id,
            "title": self.title,
            "url": self.url,
            "sources": list(self.sources),
            "score": round(self.score, 6),
            "category": self.category,
            "distance_km": None if self.distance_km is None else round(self.distance_km, 2),
            "lat": self.lat,
            "lon": self.lon,
            "description": self.description,
            "simulated": self.simulated,
        }
        if self.features:
            d["features"] = {k: round(v, 6) for k, v in self.features}
        if with_mentions:
            d["mentions"] = [m.to_dict() for m in self.mentions]
        return d


@dataclass(frozen=True, slots=True)
class Answer:
    """The short written answer and which places it names (for faithfulness checks)."""

    text: str
    responder: str
    named_ids: tuple[str, ...] = ()
    """Result ids the answer names."""
    unsupported_names: tuple[str, ...] = ()
    """Place names in the answer that are not in the ranked list (hallucinations)."""
    prompt_version: str | None = None


@dataclass(frozen=True, slots=True)
class SourceStatus:
    """How one source fared for one request."""

    source: str
    status: StageStatus
    count: int
    elapsed_ms: float
    error_class: ErrorClass | None = None
    message: str | None = None
    """Human-readable reason; secrets are redacted before it is stored."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class StageTrace:
    """Timing and outcome of one pipeline stage (or one source inside the sources stage)."""

    stage: str
    elapsed_ms: float
    status: StageStatus
    provider: str | None = None
    count: int | None = None
    cache_layer: str | None = None
    detail: str | None = None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["elapsed_ms"] = round(self.elapsed_ms, 3)
        return d


@dataclass(frozen=True, slots=True)
class CacheInfo:
    status: CacheStatus
    key: str
    layer_ms: float = 0.0


@dataclass(frozen=True, slots=True)
class SearchResult:
    """Everything one search produced: the output of :meth:`Pipeline.search`."""

    query: str
    parsed: ParsedQuery
    place: Place
    results: tuple[RankedResult, ...]
    answer: Answer
    trace: tuple[StageTrace, ...]
    sources: tuple[SourceStatus, ...]
    cache: CacheInfo
    scorer: str
    simulated: bool
    world_seed: int | None = None
    candidates: tuple[Candidate, ...] = field(default=(), repr=False)
    """Every raw candidate the sources returned, before merging (for re-ranking and pools)."""
    original_trace: tuple[StageTrace, ...] = ()
    """For a cache hit: the stage timings of the search that filled the cache (``trace``
    then holds the hit's own ``validate``, ``cache`` and ``total``); empty otherwise."""

    @property
    def primary(self) -> tuple[RankedResult, ...]:
        return tuple(r for r in self.results if r.category == "primary")

    @property
    def nearby(self) -> tuple[RankedResult, ...]:
        return tuple(r for r in self.results if r.category == "nearby")

    @property
    def total_ms(self) -> float:
        return sum(t.elapsed_ms for t in self.trace if t.stage == "total") or sum(
            t.elapsed_ms for t in self.trace if "." not in t.stage
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "query": self.query,
            "simulated": self.simulated,
            "world": "offline world (simulated)" if self.simulated else None,
            "world_seed": self.world_seed,
            "parsed": self.parsed.to_dict(),
            "place": self.place.to_dict(),
            "results": [r.to_dict() for r in self.results],
            "answer": self.answer.text,
            "answer_detail": {
                "responder": self.answer.responder,
                "named_ids": list(self.answer.named_ids),
                "unsupported_names": list(self.answer.unsupported_names),
                "prompt_version": self.answer.prompt_version,
            },
            "scorer": self.scorer,
            "sources": [s.to_dict() for s in self.sources],
            "trace": [t.to_dict() for t in self.trace],
            "cache": {"status": self.cache.status, "key": self.cache.key},
        }

    def trace_frame(self) -> Any:
        """The trace as a pandas DataFrame (pandas is imported lazily)."""
        import pandas as pd

        return pd.DataFrame([t.to_dict() for t in self.trace])

    def results_frame(self) -> Any:
        """The ranked results as a pandas DataFrame."""
        import pandas as pd

        rows = []
        for rank, r in enumerate(self.results, start=1):
            row = r.to_dict()
            row["rank"] = rank
            row["sources"] = ", ".join(r.sources)
            rows.append(row)
        return pd.DataFrame(rows)
