"""How many queries and sources of an evaluation failed, so a run of outages is not a run of 0s.

A query *errored* when its search raised (no result); it *failed* when it errored or when every
source it asked failed (``error``/``timeout``): its ranking is empty because of an outage, not
because nothing matched. A run whose every query failed measured nothing: ``evaluate`` exits
:data:`EXIT_ALL_FAILED` with :attr:`FailureCounts.failure_reason` on one line, and the MLflow
run is ended FAILED with that reason as its ``failure_reason`` tag (no zero metrics).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from ...records import SearchResult


class _Query(Protocol):
    @property
    def id(self) -> str: ...


class _Outcome(Protocol):
    """What :func:`count_failures` reads of a :class:`~.model.QueryOutcome` (no import of
    ``model``, which imports this module)."""

    @property
    def query(self) -> _Query: ...
    @property
    def result(self) -> SearchResult | None: ...
    @property
    def error(self) -> str | None: ...


__all__ = ["EXIT_ALL_FAILED", "FAILED_SOURCE_STATUSES", "FailureCounts", "count_failures"]

EXIT_ALL_FAILED = 3
"""``evaluate``'s exit code when every query failed (1 is an internal error, 2 bad input)."""

FAILED_SOURCE_STATUSES = frozenset({"error", "timeout"})
FALLBACK_STAGES = ("parse", "geocode", "respond")


@dataclass(frozen=True)
class FailureCounts:
    """Failure counts of one evaluation (see the module docstring)."""

    n_queries: int = 0
    query_errors: int = 0
    """Queries whose search raised (no result at all)."""
    all_sources_failed: int = 0
    """Queries with a result in which every source asked failed."""
    degraded: int = 0
    """Queries with a result in which some source failed or some stage fell back."""
    source_errors: dict[str, int] = field(default_factory=dict)
    """Source -> queries on which it failed (every source asked appears, 0 included)."""
    stage_fallbacks: dict[str, int] = field(default_factory=dict)
    """parse/geocode/respond -> queries on which the stage fell back."""
    failed_queries: dict[str, str] = field(default_factory=dict)
    """Query id -> why it failed (the error, or the failed sources)."""

    @property
    def n_failed(self) -> int:
        """Queries that errored or whose every source failed."""
        return self.query_errors + self.all_sources_failed

    @property
    def failure_reason(self) -> str | None:
        """One line when every query failed (the run measured nothing); else None."""
        if self.n_queries == 0 or self.n_failed < self.n_queries:
            return None
        if self.query_errors == self.n_queries:
            first = next(iter(self.failed_queries.values()), "")
            return f"all {self.n_queries} queries failed" + (f" (first: {first})" if first else "")
        failing = ", ".join(sorted(s for s, n in self.source_errors.items() if n))
        return f"every source failed on every one of the {self.n_queries} queries ({failing})"

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (``failures`` in ``report.json`` / ``evaluate --json``)."""
        return {
            "queries": self.n_queries,
            "query_errors": self.query_errors,
            "all_sources_failed": self.all_sources_failed,
            "failed": self.n_failed,
            "degraded": self.degraded,
            "source_errors": dict(sorted(self.source_errors.items())),
            "stage_fallbacks": dict(sorted(self.stage_fallbacks.items())),
            "failed_queries": dict(self.failed_queries),
            "failure_reason": self.failure_reason,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> FailureCounts:
        """Read :meth:`to_dict`'s form (an empty count for reports saved before it existed)."""
        if not data:
            return cls()
        return cls(
            n_queries=int(data.get("queries", 0)),
            query_errors=int(data.get("query_errors", 0)),
            all_sources_failed=int(data.get("all_sources_failed", 0)),
            degraded=int(data.get("degraded", 0)),
            source_errors={str(k): int(v) for k, v in data.get("source_errors", {}).items()},
            stage_fallbacks={str(k): int(v) for k, v in data.get("stage_fallbacks", {}).items()},
            failed_queries={str(k): str(v) for k, v in data.get("failed_queries", {}).items()},
        )

    def metrics(self) -> dict[str, float]:
        """MLflow metrics: ``errors.queries``, ``errors.failed_queries``, ``errors.degraded``,
        ``errors.source.<name>``, ``fallbacks.<stage>``."""
        out = {
            "errors.queries": float(self.query_errors),
            "errors.failed_queries": float(self.n_failed),
            "errors.degraded_queries": float(self.degraded),
        }
        out.update({f"errors.source.{s}": float(n) for s, n in self.source_errors.items()})
        out.update({f"fallbacks.{s}": float(n) for s, n in self.stage_fallbacks.items()})
        return out

    def summary_line(self) -> str | None:
        """One line for the printed summary when anything failed; None for a clean run."""
        if not (self.n_failed or self.degraded):
            return None
        parts = [
            f"{self.query_errors} errored",
            f"{self.all_sources_failed} with every source failed",
        ]
        parts.append(f"{self.degraded} degraded")
        failing = [f"{s} {n}" for s, n in sorted(self.source_errors.items()) if n]
        falls = [f"{s} {n}" for s, n in sorted(self.stage_fallbacks.items()) if n]
        line = f"failures: {self.n_failed}/{self.n_queries} queries failed ({', '.join(parts)})"
        if failing:
            line += f"; source errors: {', '.join(failing)}"
        if falls:
            line += f"; fallbacks: {', '.join(falls)}"
        return line


def count_failures(outcomes: Sequence[_Outcome]) -> FailureCounts:
    """Count errored queries, failed sources and fallback stages over a run's outcomes."""
    source_errors: Counter[str] = Counter()
    fallbacks: Counter[str] = Counter()
    failed: dict[str, str] = {}
    errors = all_failed = degraded = 0
    for o in outcomes:
        r = o.result
        if r is None:
            errors += 1
            failed[o.query.id] = (o.error or "no result")[:200]
            continue
        bad = [s.source for s in r.sources if s.status in FAILED_SOURCE_STATUSES]
        for s in r.sources:
            source_errors[s.source] += 0  # every source asked is listed, 0 included
        source_errors.update(bad)
        fell = [t.stage for t in r.trace if t.stage in FALLBACK_STAGES and t.status == "fallback"]
        fallbacks.update(fell)
        if r.sources and len(bad) == len(r.sources):
            all_failed += 1
            failed[o.query.id] = "every source failed: " + ", ".join(bad)
        elif bad or fell:
            degraded += 1
    return FailureCounts(
        n_queries=len(outcomes),
        query_errors=errors,
        all_sources_failed=all_failed,
        degraded=degraded,
        source_errors=dict(source_errors),
        stage_fallbacks=dict(fallbacks),
        failed_queries=failed,
    )
