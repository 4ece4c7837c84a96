"""Latency percentiles per pipeline stage and per source, and cache hit rates, from traces.

Every :class:`~underfoot_lab.records.SearchResult` carries a trace: one
:class:`~underfoot_lab.records.StageTrace` per stage (``validate``, ``cache``, ``parse``,
``geocode``, ``sources``, ``merge``, ``score``, ``respond``, ``total``) plus one per source
inside the sources stage (``sources.<name>``). :func:`latency_table` pools each stage's
``elapsed_ms`` over many searches and reports p50/p90/p95/p99.

**Percentile method**: :func:`numpy.percentile` with ``method="linear"`` (numpy's default;
Hyndman & Fan type 7, the R/Excel ``PERCENTILE.INC`` definition): the sorted values are
placed at positions ``0 .. n-1`` and the q-th percentile is linearly interpolated at position
``q/100 * (n - 1)``. With one sample every percentile is that sample; with none they are NaN.

A stage counts only the searches that ran it: a cache hit has ``validate``, ``cache`` and
``total`` only, so its (tiny) time is not mixed into ``parse`` or ``sources``.

**Cache hit rates** (:class:`CacheStats`) come from each result's cache status: a lookup is a
search that consulted the cache (status ``miss``, ``hit-memory`` or ``hit-sqlite``; ``bypass``
means the cache was off). ``memory_hit_rate`` = memory hits / lookups; ``sqlite_hit_rate`` =
SQLite hits / lookups that reached the SQLite layer (lookups minus memory hits);
``hit_rate`` (overall) = (memory + SQLite hits) / lookups. Rates are NaN without lookups.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from ...records import SearchResult

__all__ = [
    "LATENCY_COLUMNS",
    "PERCENTILES",
    "PERCENTILE_METHOD",
    "CacheStats",
    "cache_stats",
    "latency_rows",
    "latency_table",
    "percentiles",
    "stage_samples",
]

PERCENTILES: tuple[int, ...] = (50, 90, 95, 99)
PERCENTILE_METHOD: Literal["linear"] = "linear"
"""numpy's percentile method (type 7, linear interpolation between closest ranks)."""
LATENCY_COLUMNS: tuple[str, ...] = ("stage", "n", "p50", "p90", "p95", "p99", "mean", "max")


def percentiles(
    values: Sequence[float] | Iterable[float], qs: Sequence[int] = PERCENTILES
) -> dict[str, float]:
    """``{"p50": ..., "p90": ..., ...}`` of ``values`` (NaN for every percentile when empty)."""
    arr = np.asarray(list(values), dtype=np.float64)
    if arr.size == 0:
        return {f"p{q}": math.nan for q in qs}
    got = np.percentile(arr, list(qs), method=PERCENTILE_METHOD)
    return {f"p{q}": float(v) for q, v in zip(qs, got.tolist(), strict=True)}


def stage_samples(results: Iterable[SearchResult]) -> dict[str, list[float]]:
    """``stage -> elapsed_ms`` of every search that ran it, stages in first-seen order."""
    out: dict[str, list[float]] = {}
    for r in results:
        for t in r.trace:
            out.setdefault(t.stage, []).append(float(t.elapsed_ms))
    return out


def latency_rows(results: Iterable[SearchResult]) -> list[dict[str, Any]]:
    """One row per stage (and per ``sources.<name>``): stage, n, p50, p90, p95, p99, mean, max
    (ms). Stages are in pipeline order as first seen; ``total`` comes last."""
    samples = stage_samples(results)
    if "total" in samples:
        samples["total"] = samples.pop("total")
    rows: list[dict[str, Any]] = []
    for stage, values in samples.items():
        arr = np.asarray(values, dtype=np.float64)
        rows.append(
            {
                "stage": stage,
                "n": int(arr.size),
                **percentiles(values),
                "mean": float(arr.mean()),
                "max": float(arr.max()),
            }
        )
    return rows


def latency_table(results: Iterable[SearchResult]) -> pd.DataFrame:
    """:func:`latency_rows` as a frame (columns :data:`LATENCY_COLUMNS`)."""
    import pandas as pd

    rows = latency_rows(results)
    frame = pd.DataFrame(rows, columns=list(LATENCY_COLUMNS))
    return frame.astype({"n": "int64"})


@dataclass(frozen=True, slots=True)
class CacheStats:
    """How a batch of searches used the two-layer cache (see the module docstring)."""

    searches: int
    """Searches that produced a result (queries that raised are not counted)."""
    hits_memory: int
    hits_sqlite: int
    misses: int
    bypass: int

    @property
    def lookups(self) -> int:
        return self.hits_memory + self.hits_sqlite + self.misses

    @property
    def memory_hit_rate(self) -> float:
        return self.hits_memory / self.lookups if self.lookups else math.nan

    @property
    def sqlite_hit_rate(self) -> float:
        reached = self.lookups - self.hits_memory
        return self.hits_sqlite / reached if reached else math.nan

    @property
    def hit_rate(self) -> float:
        """Overall: (memory + SQLite hits) / lookups."""
        return (self.hits_memory + self.hits_sqlite) / self.lookups if self.lookups else math.nan

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = asdict(self)
        d.update(
            lookups=self.lookups,
            memory_hit_rate=self.memory_hit_rate,
            sqlite_hit_rate=self.sqlite_hit_rate,
            hit_rate=self.hit_rate,
        )
        return d

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CacheStats:
        return cls(
            searches=int(data["searches"]),
            hits_memory=int(data["hits_memory"]),
            hits_sqlite=int(data["hits_sqlite"]),
            misses=int(data["misses"]),
            bypass=int(data["bypass"]),
        )


def cache_stats(statuses: Iterable[SearchResult | str]) -> CacheStats:
    """Count cache statuses (results or status strings: miss, hit-memory, hit-sqlite, bypass)."""
    counts = {"hit-memory": 0, "hit-sqlite": 0, "miss": 0, "bypass": 0}
    n = 0
    for item in statuses:
        status = item if isinstance(item, str) else item.cache.status
        if status not in counts:
            raise ValueError(f"unknown cache status {status!r}")
        counts[status] += 1
        n += 1
    return CacheStats(
        searches=n,
        hits_memory=counts["hit-memory"],
        hits_sqlite=counts["hit-sqlite"],
        misses=counts["miss"],
        bypass=counts["bypass"],
    )
