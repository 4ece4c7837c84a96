"""``GET /health``: each provider's availability, the cache store's integrity and statistics,
and degradation while a source has failed recently.

Overall ``status`` is "healthy" unless a provider cannot run, a source failed within the
window (``service_degraded_window_s``) or the cache store fails its integrity check: then it is
"degraded". Nothing here calls an upstream; the report never contains a secret (availability
reasons name variables, never values).
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .models import Dependency, Health, now_iso

if TYPE_CHECKING:  # pragma: no cover
    from ..pipeline.run import Pipeline
    from ..records import SearchResult
    from ..settings import Settings

OK_STATES = frozenset({"available", "ok", "disabled"})


class HealthState:
    """What ``/health`` remembers between requests: recent source failures, cache outcomes."""

    def __init__(self, window_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.window_s = window_s
        self._clock = clock
        self._failures: dict[str, tuple[float, str]] = {}
        self.cache_counts: dict[str, int] = {"hit": 0, "miss": 0}
        self._lock = threading.Lock()

    def observe(self, result: SearchResult) -> None:
        """Note the cache outcome and, on a fresh search, every failed source."""
        hit = result.cache.status.startswith("hit")
        with self._lock:
            if result.cache.status != "bypass":
                self.cache_counts["hit" if hit else "miss"] += 1
            if hit:
                return
            now = self._clock()
            for s in result.sources:
                if s.status in ("error", "timeout"):
                    self._failures[s.source] = (now, s.error_class or s.status)
                else:
                    # A success clears the mark: the source recovered.
                    self._failures.pop(s.source, None)

    def recent_failure(self, source: str) -> tuple[float, str] | None:
        """(seconds ago, error class) of the source's last failure within the window."""
        with self._lock:
            item = self._failures.get(source)
        if item is None:
            return None
        ago = self._clock() - item[0]
        return (ago, item[1]) if ago <= self.window_s else None


def _availability(stage: str, name: str, settings: Settings) -> tuple[bool, str]:
    from ..pipeline.geocode import GEOCODERS
    from ..pipeline.parse import PARSERS
    from ..pipeline.respond import RESPONDERS
    from ..pipeline.sources import SOURCES

    registry: Any = {
        "parse": PARSERS,
        "geocode": GEOCODERS,
        "sources": SOURCES,
        "respond": RESPONDERS,
    }[stage]
    try:
        avail = registry.get(name).availability(settings)
    except Exception as exc:  # a provider module that is missing or broken
        return False, f"{name} cannot be loaded: {type(exc).__name__}"
    return bool(avail.ok), str(avail.reason)


def _cache_integrity(path: Any) -> Dependency:
    """``PRAGMA quick_check`` on a read-only connection of its own (never the pipeline's)."""
    if not path.exists():
        return Dependency(status="ok", detail="not created yet (no search cached)")
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
        try:
            check = conn.execute("PRAGMA quick_check").fetchone()[0]
            rows = conn.execute("SELECT COUNT(*) FROM answers").fetchone()[0]
        finally:
            conn.close()
    except sqlite3.Error as exc:
        return Dependency(status="error", error=f"{type(exc).__name__}: {exc}")
    if check != "ok":
        return Dependency(status="error", error=f"integrity check: {check}")
    return Dependency(status="ok", rows=int(rows))


async def health_report(
    pipeline: Pipeline, settings: Settings, state: HealthState, *, version: str
) -> Health:
    """The ``/health`` body."""
    start = time.perf_counter()
    deps: dict[str, Dependency] = {}
    for choice in pipeline.selection.all():
        stage = choice.stage
        label = f"source.{choice.provider}" if stage == "sources" else f"{stage}.{choice.provider}"
        ok, reason = _availability(stage, choice.provider, settings)
        failure = state.recent_failure(choice.provider) if stage == "sources" else None
        if not ok:
            dep = Dependency(status="unavailable", error=reason)
        elif failure is not None:
            ago, error_class = failure
            dep = Dependency(
                status="degraded",
                error=f"failed {round(ago)} s ago ({error_class})",
            )
        else:
            dep = Dependency(status="available", detail=reason)
        deps[label] = dep.model_copy(update={"live": choice.live})
    if pipeline.use_cache:
        cache = await asyncio.to_thread(_cache_integrity, settings.resolved_cache_path)
        counts = dict(state.cache_counts)
        total = counts["hit"] + counts["miss"]
        deps["cache"] = cache.model_copy(
            update={
                "hits": counts["hit"],
                "misses": counts["miss"],
                "hit_ratio": round(counts["hit"] / total, 4) if total else None,
            }
        )
    else:
        deps["cache"] = Dependency(status="disabled")
    degraded = any(d.status not in OK_STATES for d in deps.values())
    return Health(
        status="degraded" if degraded else "healthy",
        timestamp=now_iso(),
        elapsed_ms=round((time.perf_counter() - start) * 1000.0, 3),
        dependencies=deps,
        version=version,
        mode=settings.mode,
        simulated=pipeline.simulated,
    )
