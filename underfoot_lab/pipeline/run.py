"""The pipeline: query -> parse -> geocode -> sources -> merge/score -> respond, behind the cache.

:class:`Pipeline` owns one event loop on a background thread, so its synchronous
:meth:`Pipeline.search` works the same in a script, a test and a running Jupyter kernel (where
``asyncio.run`` would fail); async callers use :meth:`Pipeline.asearch` directly.

The pipeline knows nothing of the offline world: it talks HTTP through the transport it is
given. :func:`underfoot_lab.harness.build_harness` joins it to the world for offline runs.
"""

from __future__ import annotations

import asyncio
import threading
import time
import unicodedata
from collections.abc import Awaitable, Callable, Coroutine
from concurrent.futures import Future
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypedDict, TypeVar

from ..errors import BadQuery, ConfigError
from ..records import (
    Answer,
    CacheInfo,
    CacheStatus,
    Candidate,
    ParsedQuery,
    Place,
    RankedResult,
    SearchResult,
    SourceStatus,
    StageStatus,
    StageTrace,
)
from ..registry import ProviderContext
from ..settings import Settings
from .cache import TwoLayerCache, cache_key
from .providers import Providers, Selection, build_providers, select_providers
from .score import (
    Scorer,
    is_per_item,
    load_scorer,
    rank_candidates,
)
from .score.base import PRODUCTION_SYSTEM, production_sources, weights_system

if TYPE_CHECKING:  # pragma: no cover
    import httpx

T = TypeVar("T")
R = TypeVar("R")

MAX_QUERY_CHARS = 500
PIPELINE_VERSION = "0.1.0"


class PipelineOptions(TypedDict, total=False):
    """:class:`Pipeline`'s keyword arguments that a builder passes through unchanged
    (:func:`underfoot_lab.harness.build_harness`); the class says what each one does."""

    scorer: Scorer | None
    clock: Callable[[], datetime] | None
    cache_clock: Callable[[], float]
    use_cache: bool | None
    record_dir: Path | str | None
    replay_dir: Path | str | None


def validate_query(text: str) -> str:
    """Reject unusable input with a clear one-line :class:`BadQuery`; return the trimmed text."""
    if not isinstance(text, str):
        raise BadQuery("the query must be text")
    if any(unicodedata.category(ch) == "Cc" and ch not in "\t\n\r" for ch in text):
        raise BadQuery("the query contains control characters; type plain text")
    stripped = " ".join(text.split())
    if not stripped:
        raise BadQuery("the query is empty; try something like 'hidden gems in Pikeville KY'")
    if len(stripped) > MAX_QUERY_CHARS:
        raise BadQuery(
            f"the query is {len(stripped)} characters long; the limit is {MAX_QUERY_CHARS}"
        )
    return stripped


class _Timer:
    def __init__(self) -> None:
        self.start = time.perf_counter()

    @property
    def ms(self) -> float:
        return (time.perf_counter() - self.start) * 1000.0


@dataclass(frozen=True, slots=True)
class Fetched:
    """What the network-facing half of a search produced (everything before scoring)."""

    parsed: ParsedQuery
    place: Place
    candidates: tuple[Candidate, ...]
    statuses: tuple[SourceStatus, ...]
    trace: tuple[StageTrace, ...]


class _Named(Protocol):
    @property
    def name(self) -> str: ...


N = TypeVar("N", bound=_Named)


class Pipeline:
    """Runs searches; reuse one instance (it holds the HTTP client, providers and cache).

    ``transport`` carries every upstream request (the composition root passes the offline
    world's; tests pass loopback or ``httpx.MockTransport``); without one requests go to the
    network, so a selection with offline (world-backed) sources needs a transport or a replay
    (:class:`~underfoot_lab.errors.ConfigError` otherwise): build offline pipelines with
    :func:`underfoot_lab.harness.build_harness`. Recording and replay wrap the transport here.

    ``simulation`` is an opaque id of the simulation behind ``transport`` (the harness passes
    the offline world's scenario name and hash); it goes into the cache keys of simulated
    answers, so two worlds never share cached answers. Without it the ``world`` setting's text
    stands in.
    """

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        scorer: Scorer | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], datetime] | None = None,
        cache_clock: Callable[[], float] = time.time,
        use_cache: bool | None = None,
        record_dir: Path | str | None = None,
        replay_dir: Path | str | None = None,
        simulation: str | None = None,
    ) -> None:
        self.settings = settings or Settings()
        self.simulation = simulation
        # record_dir / replay_dir (here or in settings): see underfoot_lab.recording.
        overrides = {
            k: Path(v) for k, v in (("record_dir", record_dir), ("replay_dir", replay_dir)) if v
        }
        if overrides:
            self.settings = self.settings.model_copy(update=overrides)
        if self.settings.record_dir is not None and self.settings.replay_dir is not None:
            raise ConfigError("record_dir and replay_dir are exclusive: record or replay")
        from ..redaction import install_log_redaction

        # httpx logs every request URL (API key included); no log record may carry a secret.
        install_log_redaction(self.settings.secret_values())
        per_item = (
            is_per_item(scorer)
            if scorer is not None
            else weights_system(self.settings.weights) == PRODUCTION_SYSTEM
        )
        if per_item and "sources" not in self.settings.model_fields_set:
            # Production's system asks production's sources, the way production asks them.
            self.settings = self.settings.model_copy(
                update={"sources": production_sources(self.settings)}
            )
        self.selection: Selection = select_providers(self.settings)
        self.simulated = self.selection.simulated
        self._transport = transport
        self._clock = clock or self._default_clock
        capturing = self.settings.record_dir is not None or self.settings.replay_dir is not None
        if capturing:
            # A recording carries its "now", so a replay dates events and posts identically.
            now = self._clock()
            if self.settings.replay_dir is not None and clock is None:
                from ..recording import manifest_clock

                now = manifest_clock(self.settings.replay_dir) or now
            self._clock = lambda: now
        self.scorer: Scorer = scorer or load_scorer(self.settings.weights, clock=self._clock)
        # Recording or replaying means talking to the upstreams (or their recording), not to
        # the cache, unless the caller asks for it.
        if use_cache is None:
            use_cache = self.settings.cache_enabled and not capturing
        self.use_cache = use_cache
        self._cache: TwoLayerCache[SearchResult] | None = None
        self._cache_clock = cache_clock
        self._providers: Providers | None = None
        self._http: httpx.AsyncClient | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    # ------------------------------------------------------------------------------ plumbing
    def _default_clock(self) -> datetime:
        if self.simulated:
            return self.settings.world_clock
        from datetime import UTC

        return datetime.now(UTC)

    @property
    def cache(self) -> TwoLayerCache[SearchResult]:
        if self._cache is None:
            from .. import codec

            self._cache = TwoLayerCache(
                self.settings.resolved_cache_path,
                encode=codec.dumps,
                decode=lambda text: codec.loads(SearchResult, text),
                memory_ttl_s=self.settings.cache_memory_ttl_s,
                memory_max_items=self.settings.cache_memory_max_items,
                sqlite_ttl_s=self.settings.cache_sqlite_ttl_s,
                clock=self._cache_clock,
            )
        return self._cache

    def _make_transport(self) -> httpx.AsyncBaseTransport | None:
        settings = self.settings
        if settings.replay_dir is not None:
            from ..recording import ReplayTransport

            return ReplayTransport(settings.replay_dir, settings.secret_values())
        inner = self._transport
        if inner is None and self.simulated:
            # Without a transport the offline sources' requests would reach the real upstreams.
            raise ConfigError(
                "offline sources need the offline world's transport: build the pipeline with "
                "underfoot_lab.harness.build_harness (or pass transport=)"
            )
        if settings.record_dir is None:
            return inner
        import httpx

        from ..recording import RecordingTransport

        return RecordingTransport(
            inner or httpx.AsyncHTTPTransport(),
            settings.record_dir,
            settings.secret_values(),
            max_body_bytes=settings.max_response_bytes,
            manifest={
                "clock": self._clock().isoformat(),
                "mode": settings.mode,
                "providers": self.cache_context()["providers"],
                "simulated": self.simulated,
                "world_seed": settings.world_seed if self.simulated else None,
            },
        )

    async def _setup(self, trace: list[StageTrace]) -> Providers:
        """The providers; on the first search, built here and traced as a ``setup`` stage.

        A transport with ``async prepare() -> list[str]`` (the harness's lazy offline world)
        builds what it needs now, off the loop, so the first search's world and gazetteer
        loading are attributed to ``setup`` rather than to whichever source asked first.
        """
        if self._providers is not None:
            return self._providers
        t = _Timer()
        providers = self._build()
        built = ["providers"]
        prepare = getattr(self._transport, "prepare", None)
        if prepare is not None and self.settings.replay_dir is None:
            built.extend(await prepare())
        trace.append(StageTrace("setup", t.ms, "ok", detail=", ".join(built)))
        return providers

    def _build(self) -> Providers:
        """Providers and the HTTP client; called on the pipeline's own loop."""
        if self._providers is not None:
            return self._providers
        from ..geo.gazetteer import get_gazetteer
        from ..http import make_client

        self._http = make_client(self.settings, transport=self._make_transport())
        ctx = ProviderContext(
            settings=self.settings,
            http=self._http,
            clock=self._clock,
            gazetteer_loader=get_gazetteer,
            simulated=self.simulated,
        )

        def ctx_for(live: bool) -> ProviderContext:
            # A live provider labels its output real and dates it by the wall clock, even in a
            # mixed (auto) run whose other sources answer from the offline world.
            if not live:
                return replace(ctx, simulated=True, clock=lambda: self.settings.world_clock)
            # Recording or replaying: the recording's one "now", so a replay dates alike.
            capturing = self.settings.record_dir is not None or self.settings.replay_dir is not None
            return replace(ctx, simulated=False, clock=self._clock if capturing else _utc_now)

        self._providers = build_providers(self.selection, ctx, ctx_for)
        return self._providers

    def _ensure_loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                ready = threading.Event()

                def runner() -> None:
                    asyncio.set_event_loop(loop)
                    loop.call_soon(ready.set)
                    loop.run_forever()

                self._thread = threading.Thread(target=runner, name="underfoot-loop", daemon=True)
                self._thread.start()
                ready.wait()
                self._loop = loop
            return self._loop

    def run_sync(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run a coroutine on the pipeline's loop from synchronous code (notebook-safe)."""
        return self.submit(coro).result()

    def submit(self, coro: Coroutine[Any, Any, T]) -> Future[T]:
        """Schedule a coroutine on the pipeline's loop; an async caller on another loop awaits
        ``asyncio.wrap_future(pipeline.submit(...))`` without blocking its own thread."""
        return asyncio.run_coroutine_threadsafe(coro, self._ensure_loop())

    def warm(self) -> None:
        """Build the providers and the HTTP client now rather than on the first search."""

        async def build() -> None:
            self._build()

        self.run_sync(build())

    def close(self) -> None:
        """Close the HTTP client and stop the background loop."""
        if self._loop is not None:
            if self._http is not None:
                self.run_sync(self._http.aclose())
            self._loop.call_soon_threadsafe(self._loop.stop)
            if self._thread is not None:
                self._thread.join(timeout=5)
            self._loop.close()
            self._loop = None
        if self._cache is not None:
            self._cache.sqlite.close()

    def __enter__(self) -> Pipeline:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def now(self) -> datetime:
        """The pipeline's "now": the world clock offline, the recording's clock on replay."""
        return self._clock()

    def _reason(self, exc: BaseException) -> str:
        """A one-line, secret-free reason for a fallback, for the trace."""
        from ..redaction import scrub

        # The error class (auth, rate_limited, timeout, ...) leads, so a trace says which kind
        # of outage caused the fallback without parsing the message.
        kind = getattr(exc, "error_class", None)
        name = f"{type(exc).__name__}({kind})" if kind else type(exc).__name__
        return scrub(f"{name}: {exc}", self.settings.secret_values())[:200]

    async def _primary_then_fallback(
        self,
        stage: str,
        primary: N,
        fallback: N,
        call: Callable[[N], Awaitable[R]],
        trace: list[StageTrace],
        *,
        detail: Callable[[R], str | None] = lambda _: None,
        user_errors_raise: bool = True,
    ) -> tuple[R, str | None]:
        """Run ``call`` on the stage's provider; on failure, on its offline fallback.

        Appends the stage's trace entry ("ok" by the primary, or "fallback" by the fallback with
        the reason) and returns the output and the reason (None without a fallback). The
        fallback's own failure, and with ``user_errors_raise`` a user error (an unknown place
        is the user's error, an outage ours), propagate.
        """
        t = _Timer()
        try:
            out = await call(primary)
        except Exception as exc:
            if primary is fallback or (user_errors_raise and _is_user_error(exc)):
                raise
            reason = self._reason(exc)
            out = await call(fallback)
            trace.append(StageTrace(stage, t.ms, "fallback", provider=fallback.name, detail=reason))
            return out, reason
        trace.append(StageTrace(stage, t.ms, "ok", provider=primary.name, detail=detail(out)))
        return out, None

    # ------------------------------------------------------------------------------ public API
    def search(self, text: str, *, use_cache: bool | None = None) -> SearchResult:
        """Run one search synchronously (works inside a running notebook loop)."""
        return self.run_sync(self.asearch(text, use_cache=use_cache))

    def cache_context(self) -> dict[str, object]:
        """Everything besides the query that changes an answer (part of the cache key)."""
        return {
            "mode": self.settings.mode,
            "providers": [f"{c.stage}:{c.provider}:{int(c.live)}" for c in self.selection.all()],
            "scorer": self.scorer.version,
            "world_seed": self.settings.world_seed if self.simulated else None,
            "world_clock": self.settings.world_clock.isoformat() if self.simulated else None,
            "simulation": (self.simulation or f"world:{self.settings.world}")
            if self.simulated
            else None,
            "primary_radius_km": self.settings.primary_radius_km,
            "pipeline": PIPELINE_VERSION,
        }

    async def asearch(self, text: str, *, use_cache: bool | None = None) -> SearchResult:
        total = _Timer()
        t = _Timer()
        query = validate_query(text)
        trace: list[StageTrace] = [StageTrace("validate", t.ms, "ok")]
        caching = self.use_cache if use_cache is None else use_cache
        key = cache_key(query, **self.cache_context())
        if caching:
            t = _Timer()
            # A memory hit is answered here; only SQLite goes to a worker thread. Under load
            # the loop's few workers are busy rendering other searches' sources, and a hit
            # queued behind them waited for one (a service's hit P95 doubled).
            hit = self.cache.get_memory(key) or await asyncio.to_thread(self.cache.get, key)
            if hit is not None:
                trace.append(StageTrace("cache", t.ms, "ok", cache_layer=hit.layer, detail="hit"))
                trace.append(StageTrace("total", total.ms, "ok"))
                status: CacheStatus = "hit-memory" if hit.layer == "memory" else "hit-sqlite"
                return replace(
                    hit.value,
                    query=query,
                    trace=tuple(trace),
                    # Keep what the original search measured (a hit of a hit keeps the first).
                    original_trace=hit.value.original_trace or hit.value.trace,
                    cache=CacheInfo(status=status, key=key, layer_ms=t.ms),
                )
            trace.append(StageTrace("cache", t.ms, "ok", detail="miss"))

        fetched = await self.fetch(query)
        trace.extend(fetched.trace)
        result = await self.finish(fetched, trace, total)
        result = replace(result, cache=CacheInfo(status="miss" if caching else "bypass", key=key))
        if caching:
            result = await self._store(key, query, result)
        return result

    async def _store(self, key: str, query: str, result: SearchResult) -> SearchResult:
        """Cache ``result``; a degraded one only in memory, briefly, and say so in the trace.

        An answer built while an upstream failed (a fallback stage, a source in error) would
        otherwise be served from SQLite for days after the upstream recovers.
        """
        why = degraded_reason(result)
        if why is None:
            await asyncio.to_thread(self.cache.put, key, query, result)
            return result
        ttl = self.settings.cache_degraded_ttl_s
        if ttl > 0:
            await asyncio.to_thread(
                self.cache.put, key, query, result, persist=False, memory_ttl_s=ttl
            )
        kept = f"kept {ttl:g}s in memory" if ttl > 0 else "not kept"
        trace = [
            replace(s, detail=f"miss; not stored: degraded ({why}); {kept}")
            if s.stage == "cache"
            else s
            for s in result.trace
        ]
        return replace(result, trace=tuple(trace))

    async def fetch(self, query: str) -> Fetched:
        """Parse, geocode and ask every source: the part of a search that touches upstreams."""
        trace: list[StageTrace] = []
        providers = await self._setup(trace)

        parsed: ParsedQuery
        parsed, reason = await self._primary_then_fallback(
            "parse",
            providers.parser,
            providers.fallback_parser,
            lambda p: p.parse(query),
            trace,
            detail=lambda out: out.location,
        )
        if reason is not None:
            note = f"fallback from {providers.parser.name}: {reason}"
            parsed = replace(parsed, notes=(*parsed.notes, note))

        # An unknown place is the user's error; an upstream outage is ours: fall back to the
        # embedded gazetteer and say why in the trace.
        place: Place
        place, _ = await self._primary_then_fallback(
            "geocode",
            providers.geocoder,
            providers.fallback_geocoder,
            lambda g: g.geocode(parsed),
            trace,
            detail=lambda out: out.label,
        )

        from .sources import gather_sources

        t = _Timer()
        candidates, statuses = await gather_sources(
            providers.sources,
            parsed,
            place,
            deadline_s=self.settings.source_deadline_s,
            secrets=self.settings.secret_values(),
        )
        ok = sum(1 for s in statuses if s.status in ("ok", "empty"))
        stage_status: StageStatus = "ok" if ok == len(statuses) else ("partial" if ok else "error")
        trace.append(
            StageTrace(
                "sources",
                t.ms,
                stage_status,
                count=len(candidates),
                detail=f"{ok}/{len(statuses)} ok",
            )
        )
        for s in statuses:
            trace.append(
                StageTrace(
                    f"sources.{s.source}",
                    s.elapsed_ms,
                    s.status,
                    provider=s.source,
                    count=s.count,
                    detail=s.message,
                )
            )
        return Fetched(parsed, place, tuple(candidates), tuple(statuses), tuple(trace))

    async def finish(
        self,
        fetched: Fetched,
        trace: list[StageTrace],
        total: _Timer | None = None,
        scorer: Scorer | None = None,
    ) -> SearchResult:
        """Merge, score and respond over fetched candidates (no upstream is touched)."""
        total = total or _Timer()
        scorer = scorer or self.scorer
        providers = self._build()

        t = _Timer()
        ranked: list[RankedResult]
        ranked, n_entities = rank_candidates(
            scorer, fetched.parsed, fetched.place, fetched.candidates
        )
        if n_entities is not None:
            # merge and score run together now; the trace keeps both stages, timed as one.
            trace.append(StageTrace("merge", 0.0, "ok", count=n_entities))
        trace.append(StageTrace("score", t.ms, "ok", provider=scorer.name, count=len(ranked)))

        # Any failure of the responder (a user error included) falls back to the template.
        answer: Answer
        answer, _ = await self._primary_then_fallback(
            "respond",
            providers.responder,
            providers.fallback_responder,
            lambda r: r.respond(fetched.parsed, fetched.place, ranked),
            trace,
            user_errors_raise=False,
        )
        trace.append(StageTrace("total", total.ms, "ok"))
        return SearchResult(
            query=fetched.parsed.text,
            parsed=fetched.parsed,
            place=fetched.place,
            results=tuple(ranked),
            answer=answer,
            trace=tuple(trace),
            sources=fetched.statuses,
            cache=CacheInfo(status="bypass", key=""),
            scorer=scorer.version,
            simulated=self.simulated,
            world_seed=self.settings.world_seed if self.simulated else None,
            candidates=fetched.candidates,
        )


DEGRADED_STATUSES: frozenset[str] = frozenset({"error", "timeout", "fallback", "partial"})
"""Stage/source statuses that make an answer degraded (never persisted by the cache)."""


def degraded_reason(result: SearchResult) -> str | None:
    """Why ``result`` is degraded (a failed or fallback stage, a failed source), or None."""
    bad = [
        f"{s.stage}={s.status}"
        for s in result.trace
        if s.status in DEGRADED_STATUSES and s.stage != "sources"
    ]
    bad += [
        f"sources.{s.source}={s.status}"
        for s in result.sources
        if s.status in DEGRADED_STATUSES and f"sources.{s.source}={s.status}" not in bad
    ]
    return ", ".join(bad) if bad else None


def _utc_now() -> datetime:
    from datetime import UTC

    return datetime.now(UTC)


def _is_user_error(exc: BaseException) -> bool:
    from ..errors import UnderfootError

    return isinstance(exc, UnderfootError)
