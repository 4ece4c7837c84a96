"""Domain metrics: what "good" means for a hidden-gems search beyond graded relevance.

Every metric is computed per query from one :class:`~underfoot_lab.records.SearchResult` (and,
for the parse and geocode metrics, the region-set query that says what it should have been);
a run's value is the mean over its queries (NaN values left out, see below). "Top k" is the
first ``k`` results in rank order (fewer when fewer were returned).

``hiddenness@k``
    Mean hiddenness of the top k: ``1 - min(1, log(1 + reviews) / log(1 + 10000))`` per result
    (1 = no reviews at all, 0.5 = about 100, 0 = 10,000 or more; the same absolute log scale as
    the scorer's ``popularity`` feature). In the offline world the review count is the latent
    entity's true popularity (the entity the result's mentions resolve to); otherwise, or when
    no mention resolves, it is the largest review count any mention shows. Results with no
    popularity signal at all (listicles, city pages, posts about nothing) are left out of the
    mean; a query where no top-k result has one is NaN.
``geo_precision@k``
    Share of the top k with a known distance within the primary radius
    (``settings.primary_radius_km``). Results without coordinates count as **outside**: a
    result the user cannot be shown to be near is not a local win (conservative, and it keeps
    the denominator the same for every ranking of the same list). 0 for an empty list.
``nearby_ratio``
    Share of all results (not cut at k) categorised ``nearby`` by the scorer. Descriptive: it
    says how a ranking splits primary/nearby, neither value is "better". NaN for an empty list.
``source_diversity@k``
    Distinct sources among the top k's mentions / the number of sources asked (one
    :class:`~underfoot_lab.records.SourceStatus` per source asked). 0 for an empty list.
``corroboration@k``
    Mean number of distinct sources per top-k result (1 = nobody else confirms it). 0 for an
    empty list.
``expired_event_rate@k``
    Share of the top k that are events (a mention from an events source or with a start time)
    whose latest known start time is before the clock (the offline world's clock when simulated,
    else now). Lower is better. A multi-day event that started before the clock counts as
    expired: candidates carry no end time. 0 for an empty list.
``answer_faithfulness``
    ``1 - unsupported / named``: of the places the written answer names (``answer.named_ids``
    plus ``answer.unsupported_names``), the share that are in the ranked list. Named ids that are
    not result ids count as unsupported too. 1 when the answer names nothing (it claims nothing
    unsupported).
``parse_accuracy``
    1 when both the location and the intent were parsed right, else 0 (also reported apart as
    ``parse_location_accuracy`` and ``parse_intent_accuracy``). The location is right when the
    parsed town name equals the expected one after :func:`normalize_name` ("St." = "Saint") and
    the parsed state is the expected state; a parse without a state is accepted only for
    queries tagged ``no-state`` (the text names none). The intent is right when the query's
    intent tag is among the classes of the parsed intent text under :data:`GROUP_CLASS` (the
    offline world's keyword groups, :func:`underfoot_lab.world.parse_intent`, mapped onto the
    region sets' intent tags; text naming no group is ``general``). A simple keyword mapping:
    treat it as a coarse signal.
``geocode_error_km``
    Great-circle distance between the geocoded place and the gazetteer's expected town. Lower
    is better.

Queries that raised (no result) score 0 on every metric where higher is better (hiddenness,
geo precision, source diversity, corroboration, answer faithfulness, parse accuracy), so
failures drag the mean down; lower-is-better and descriptive metrics (expired-event rate,
geocode error, nearby ratio) are NaN for them, so a failure can never improve a mean. The run
reports how many queries errored.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from ...geo.gazetteer import Gazetteer
    from ...records import RankedResult, SearchResult
    from ...world import World
    from ..regions import RegionQuery

__all__ = [
    "GROUP_CLASS",
    "POPULARITY_SCALE_REVIEWS",
    "DomainContext",
    "DomainMetric",
    "answer_faithfulness",
    "corroboration_at_k",
    "domain_metric_specs",
    "domain_metrics",
    "error_values",
    "expired_event_rate_at_k",
    "geo_precision_at_k",
    "geocode_error_km",
    "hiddenness",
    "hiddenness_at_k",
    "intent_classes",
    "is_expired_event",
    "nearby_ratio",
    "parse_intent_ok",
    "parse_location_ok",
    "source_diversity_at_k",
]

POPULARITY_SCALE_REVIEWS = 10_000
"""Reviews at which hiddenness reaches 0 (log scale; the scorer's popularity feature uses it)."""

GROUP_CLASS: dict[str, str] = {
    "swimming": "outdoors",
    "outdoors": "outdoors",
    "bars": "nightlife",
    "food": "food",
    "oddities": "weird",
    "history": "history",
    "art": "history",
    "events": "events",
    "shopping": "general",
}
"""The offline world's intent keyword groups -> the region sets' intent tags."""


@dataclass(frozen=True, slots=True)
class DomainContext:
    """What the domain metrics need besides the result itself."""

    k: int = 10
    primary_radius_km: float = 25.0
    clock: datetime | None = None
    """"Now" for expired events (None: the current time)."""
    world: World | None = None
    """The offline world when the results are simulated (latent popularity); else None."""
    gazetteer: Gazetteer | None = None
    """For the expected towns (None: the process-wide gazetteer, loaded on first use)."""

    def now(self) -> datetime:
        return _utc(self.clock) if self.clock is not None else datetime.now(UTC)

    def towns(self) -> Gazetteer:
        if self.gazetteer is not None:
            return self.gazetteer
        from ...geo.gazetteer import get_gazetteer

        return get_gazetteer()


@dataclass(frozen=True, slots=True)
class DomainMetric:
    """One domain metric: its MLflow-safe name, display name and direction."""

    name: str
    display: str
    higher_is_better: bool | None
    """None: descriptive (neither direction is better)."""
    on_error: float
    """The value a query that raised gets (0 or NaN, see the module docstring)."""
    description: str


def domain_metric_specs(k: int = 10) -> tuple[DomainMetric, ...]:
    """The domain metrics for cutoff ``k``, in report order."""
    nan = math.nan
    return (
        DomainMetric(
            f"hiddenness_at_{k}", f"Hiddenness@{k}", True, 0.0,
            "mean 1 - log(1+reviews)/log(1+10000) of the top k (latent popularity offline)",
        ),
        DomainMetric(
            f"geo_precision_at_{k}", f"GeoP@{k}", True, 0.0,
            "share of the top k within the primary radius (no coordinates = outside)",
        ),
        DomainMetric(
            "nearby_ratio", "Nearby ratio", None, nan, "share of results categorised nearby"
        ),
        DomainMetric(
            f"source_diversity_at_{k}", f"SourceDiv@{k}", True, 0.0,
            "distinct sources in the top k / sources asked",
        ),
        DomainMetric(
            f"corroboration_at_{k}", f"Corroboration@{k}", True, 0.0,
            "mean number of sources per top-k result",
        ),
        DomainMetric(
            f"expired_event_rate_at_{k}", f"Expired@{k}", False, nan,
            "share of the top k that are events starting before the clock",
        ),
        DomainMetric(
            "answer_faithfulness", "Faithfulness", True, 0.0,
            "1 - share of places named in the answer that are not in the ranked list",
        ),
        DomainMetric(
            "parse_accuracy", "Parse acc", True, 0.0, "location and intent both parsed right"
        ),
        DomainMetric(
            "parse_location_accuracy", "Parse loc acc", True, 0.0, "location parsed right"
        ),
        DomainMetric(
            "parse_intent_accuracy", "Parse intent acc", True, 0.0,
            "intent class matches the query's intent tag",
        ),
        DomainMetric(
            "geocode_error_km", "Geocode err km", False, nan,
            "km between the geocoded place and the expected town",
        ),
    )  # fmt: skip


def error_values(k: int = 10) -> dict[str, float]:
    """Every domain metric's value for a query that raised."""
    return {m.name: m.on_error for m in domain_metric_specs(k)}


# ------------------------------------------------------------------------------ helpers
def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def _top(result: SearchResult, k: int) -> tuple[RankedResult, ...]:
    if k < 1:
        raise ValueError(f"k must be a positive integer, got {k}")
    return result.results[:k]


def hiddenness(reviews: float) -> float:
    """``1 - min(1, log(1 + reviews) / log(1 + 10000))`` (negative counts are taken as 0)."""
    value = math.log1p(max(float(reviews), 0.0)) / math.log1p(POPULARITY_SCALE_REVIEWS)
    return 1.0 - min(1.0, value)


def _popularity(r: RankedResult, world: World | None) -> float | None:
    if world is not None:
        from ..judging.world_judge import resolve_entity

        entity = resolve_entity(world, r)
        if entity is not None:
            return float(entity.reviews)
    seen = [m.reviews for m in r.mentions if m.reviews is not None]
    return float(max(seen)) if seen else None


# ------------------------------------------------------------------------------ metrics
def hiddenness_at_k(result: SearchResult, k: int = 10, *, world: World | None = None) -> float:
    """Mean hiddenness of the top k results that have a popularity signal (NaN: none has)."""
    values = [hiddenness(p) for r in _top(result, k) if (p := _popularity(r, world)) is not None]
    return sum(values) / len(values) if values else math.nan


def geo_precision_at_k(result: SearchResult, k: int = 10, *, radius_km: float = 25.0) -> float:
    """Share of the top k with a known distance <= ``radius_km`` (unknown = outside)."""
    top = _top(result, k)
    if not top:
        return 0.0
    inside = sum(1 for r in top if r.distance_km is not None and r.distance_km <= radius_km)
    return inside / len(top)


def nearby_ratio(result: SearchResult) -> float:
    """Share of all results categorised nearby (NaN for an empty list)."""
    if not result.results:
        return math.nan
    return sum(1 for r in result.results if r.category == "nearby") / len(result.results)


def source_diversity_at_k(result: SearchResult, k: int = 10) -> float:
    """Distinct sources in the top k / sources asked (0 when none was asked)."""
    asked = {s.source for s in result.sources}
    if not asked:
        return 0.0
    seen = {s for r in _top(result, k) for s in r.sources}
    return len(seen) / len(asked)


def corroboration_at_k(result: SearchResult, k: int = 10) -> float:
    """Mean number of distinct sources per top-k result (0 for an empty list)."""
    top = _top(result, k)
    if not top:
        return 0.0
    return sum(len(set(r.sources)) for r in top) / len(top)


def is_expired_event(r: RankedResult, clock: datetime) -> bool:
    """An event (an events-source mention or a start time) whose latest start is before
    ``clock``; an event without any start time is not counted as expired."""
    starts = [_utc(m.starts_at) for m in r.mentions if m.starts_at is not None]
    is_event = bool(starts) or any(m.source_type == "events" for m in r.mentions)
    return is_event and bool(starts) and max(starts) < _utc(clock)


def expired_event_rate_at_k(result: SearchResult, k: int = 10, *, clock: datetime) -> float:
    """Share of the top k that are expired events (0 for an empty list)."""
    top = _top(result, k)
    if not top:
        return 0.0
    return sum(1 for r in top if is_expired_event(r, clock)) / len(top)


def answer_faithfulness(result: SearchResult) -> float:
    """``1 - unsupported / named`` over the answer's named places (1 when it names none)."""
    ids = {r.id for r in result.results}
    named = list(dict.fromkeys(result.answer.named_ids))
    unsupported = sum(1 for n in named if n not in ids) + len(result.answer.unsupported_names)
    total = len(named) + len(result.answer.unsupported_names)
    return 1.0 if total == 0 else 1.0 - unsupported / total


def intent_classes(text: str) -> frozenset[str]:
    """The region-set intent classes an intent text reads as (``general`` when broad)."""
    from ...world.truth import parse_intent

    intent = parse_intent(text)
    if intent.broad:
        return frozenset({"general"})
    return frozenset(GROUP_CLASS.get(g, "general") for g in intent.groups)


def parse_intent_ok(result: SearchResult, query: RegionQuery) -> bool:
    """Whether the query's intent tag is among the parsed intent's classes."""
    return query.intent in intent_classes(result.parsed.intent)


def _parsed_location(result: SearchResult, gazetteer: Gazetteer) -> tuple[str, str | None] | None:
    loc = result.parsed.location
    if not loc or not loc.strip():
        return None
    name, state = loc.strip(), None
    if "," in name:
        left, right = name.rsplit(",", 1)
        code = gazetteer.state_code(right.strip())
        if code is not None:
            name, state = left.strip(), code
    if state is None and result.parsed.admin1_hint:
        state = gazetteer.state_code(result.parsed.admin1_hint)
    return name, state


def parse_location_ok(
    result: SearchResult, query: RegionQuery, gazetteer: Gazetteer | None = None
) -> bool:
    """Whether the parsed location names the expected town and state (see the module doc)."""
    from ...geo.gazetteer import get_gazetteer, normalize_name

    parsed = _parsed_location(result, gazetteer or get_gazetteer())
    if parsed is None:
        return False
    name, state = parsed
    if normalize_name(name) != normalize_name(query.expected.place):
        return False
    if state is None:
        return "no-state" in query.tags
    return state == query.expected.state


def geocode_error_km(
    result: SearchResult, query: RegionQuery, gazetteer: Gazetteer | None = None
) -> float:
    """km between the geocoded place and the expected town (NaN when that town is unknown)."""
    from ...geo.gazetteer import get_gazetteer, haversine_km

    g = gazetteer or get_gazetteer()
    towns = g.lookup(query.expected.place, query.expected.state)
    county = query.expected.county
    if county is not None:
        towns = [t for t in towns if (t.county or "").lower() == county.lower()] or towns
    if not towns:
        return math.nan
    t = towns[0]
    return haversine_km(result.place.lat, result.place.lon, t.lat, t.lon)


def domain_metrics(
    result: SearchResult, query: RegionQuery | None, ctx: DomainContext | None = None
) -> dict[str, float]:
    """Every domain metric for one search, keyed by MLflow-safe name (see the module doc).

    Without a region-set ``query`` the parse and geocode metrics are NaN.
    """
    ctx = ctx or DomainContext()
    k = ctx.k
    out: dict[str, float] = {
        f"hiddenness_at_{k}": hiddenness_at_k(result, k, world=ctx.world),
        f"geo_precision_at_{k}": geo_precision_at_k(result, k, radius_km=ctx.primary_radius_km),
        "nearby_ratio": nearby_ratio(result),
        f"source_diversity_at_{k}": source_diversity_at_k(result, k),
        f"corroboration_at_{k}": corroboration_at_k(result, k),
        f"expired_event_rate_at_{k}": expired_event_rate_at_k(result, k, clock=ctx.now()),
        "answer_faithfulness": answer_faithfulness(result),
    }
    if query is None:
        for name in (
            "parse_accuracy",
            "parse_location_accuracy",
            "parse_intent_accuracy",
            "geocode_error_km",
        ):
            out[name] = math.nan
        return out
    g = ctx.towns()
    loc = parse_location_ok(result, query, g)
    intent = parse_intent_ok(result, query)
    out["parse_accuracy"] = float(loc and intent)
    out["parse_location_accuracy"] = float(loc)
    out["parse_intent_accuracy"] = float(intent)
    out["geocode_error_km"] = geocode_error_km(result, query, g)
    return out
