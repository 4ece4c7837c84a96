"""Searches as MLflow traces: one trace per search, one span per stage and per source.

MLflow's Traces tab shows what a search did: a root ``search`` span (inputs: the query; outputs:
the place, the number of results and the cache status) with one child span per pipeline stage
(``validate``, ``cache``, ``parse``, ``geocode``, ``sources``, ``merge``, ``score``,
``respond``) and, under ``sources``, one span per source. Every span carries the attributes
``provider``, ``status``, ``count``, ``cache_layer`` and ``error_class`` (when known) and is
marked ERROR when its stage failed. A cached search keeps the stage timings of the search that
filled the cache (:attr:`SearchResult.original_trace`); they appear as spans under
``cache (original run)`` so the hit and what it saved are both visible.

**Overhead.** Nothing is traced inside the search loop: the spans are built afterwards from
each :class:`~underfoot_lab.records.SearchResult`'s own trace (its measured timings, placed at
the time the search finished) and written when the evaluation is logged. With an SQL tracking
store they are built as finished MLflow entities and written in batches
(:mod:`.trace_batch`: ``start_trace`` per trace, one ``log_spans`` per hundred traces), about a
quarter of the CPU of MLflow's live-span client path and without its async queue, which drops
traces when a few hundred arrive at once. Other stores (a tracking server, the file store) get
the client path (``start_trace``/``start_span``/``end_span``/``end_trace``), flushed once.
``UNDERFOOT_MLFLOW_TRACES=0`` (or ``traces=False`` to
:func:`~underfoot_lab.tracking.log_evaluation`) skips them.

**Secrets.** Every text that goes into a span (query, details, messages) is redacted with the
secrets of the settings and the environment (:func:`underfoot_lab.redaction.known_secrets`);
no settings, headers or payloads are logged.

On the client path MLflow's tracing exporter writes to the *global* tracking URI, so
:func:`log_search_traces` points it at the run's store for the duration of the batch and
restores it afterwards.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ..redaction import known_secrets, redact
from .trace_batch import PlannedTrace, SpanSpec

if TYPE_CHECKING:  # pragma: no cover
    from mlflow.tracking import MlflowClient

    from ..records import SearchResult
    from ..settings import Settings

__all__ = [
    "TRACES_ENV",
    "SpanSpec",
    "TracedSearch",
    "log_search_traces",
    "search_spans",
    "traces_enabled",
]

TRACES_ENV = "UNDERFOOT_MLFLOW_TRACES"
_FAILED = frozenset({"error", "timeout"})
_SPAN_TYPES = {
    "parse": "PARSER",
    "geocode": "TOOL",
    "sources": "RETRIEVER",
    "score": "RERANKER",
    "merge": "RERANKER",
    "respond": "LLM",
}


def traces_enabled(explicit: bool | None = None) -> bool:
    """``explicit`` when given, else True unless ``$UNDERFOOT_MLFLOW_TRACES`` is 0/false/no."""
    if explicit is not None:
        return explicit
    return os.environ.get(TRACES_ENV, "1").strip().lower() not in ("0", "false", "no", "off")


@dataclass(frozen=True, slots=True)
class TracedSearch:
    """One search to trace: the region-set query id, its result (None when it raised) and the
    error text, and when it finished (the trace is placed so it ends then)."""

    query_id: str
    text: str
    result: SearchResult | None
    error: str | None = None
    finished_at: datetime | None = None
    region: str | None = None


def _attrs(
    secrets: Sequence[str],
    *,
    provider: str | None = None,
    status: str | None = None,
    count: int | None = None,
    cache_layer: str | None = None,
    error_class: str | None = None,
    detail: str | None = None,
) -> dict[str, str | int | float]:
    raw: dict[str, str | int | None] = {
        "provider": provider,
        "status": status,
        "count": count,
        "cache_layer": cache_layer,
        "error_class": error_class,
        "detail": detail,
    }
    out: dict[str, str | int | float] = {}
    for key, value in raw.items():
        if value is None:
            continue
        out[key] = redact(value, secrets)[:500] if isinstance(value, str) else value
    return out


def search_spans(result: SearchResult, secrets: Sequence[str] = ()) -> list[SpanSpec]:
    """The spans of one search, from its own trace (pure; no MLflow). The root is named
    ``search``; top-level stages follow each other in trace order; sources run in parallel
    under ``sources``; a cache hit's original stages sit under ``cache (original run)``."""
    errors = {s.source: s.error_class for s in result.sources}
    total = next((t.elapsed_ms for t in result.trace if t.stage == "total"), None)
    top = [t for t in result.trace if "." not in t.stage and t.stage != "total"]
    if total is None:
        total = sum(t.elapsed_ms for t in top)
    spans = [
        SpanSpec(
            "search",
            None,
            "CHAIN",
            0.0,
            total,
            _attrs(
                secrets,
                provider=result.scorer,
                status="ok",
                count=len(result.results),
                cache_layer=result.cache.status,
            ),
        )
    ]
    offset = 0.0
    starts: dict[str, float] = {}
    for t in top:
        starts[t.stage] = offset
        spans.append(
            SpanSpec(
                t.stage,
                "search",
                _SPAN_TYPES.get(t.stage, "UNKNOWN"),
                offset,
                t.elapsed_ms,
                _attrs(
                    secrets,
                    provider=t.provider,
                    status=t.status,
                    count=t.count,
                    cache_layer=t.cache_layer,
                    detail=t.detail,
                ),
                error=t.status in _FAILED,
            )
        )
        offset += t.elapsed_ms
    for t in result.trace:
        if not t.stage.startswith("sources."):
            continue
        name = t.stage.split(".", 1)[1]
        spans.append(
            SpanSpec(
                t.stage,
                "sources" if "sources" in starts else "search",
                "RETRIEVER",
                starts.get("sources", 0.0),
                t.elapsed_ms,
                _attrs(
                    secrets,
                    provider=t.provider or name,
                    status=t.status,
                    count=t.count,
                    cache_layer=t.cache_layer,
                    error_class=errors.get(name),
                    detail=t.detail,
                ),
                error=t.status in _FAILED,
            )
        )
    original = getattr(result, "original_trace", ())
    if original and "cache" in starts:
        at = starts["cache"]
        spans.append(
            SpanSpec(
                "cache (original run)",
                "cache",
                "UNKNOWN",
                at,
                0.0,
                _attrs(secrets, status="ok", detail="stage timings of the search that was cached"),
            )
        )
        for t in original:
            if "." in t.stage or t.stage in ("total", "validate", "cache"):
                continue
            spans.append(
                SpanSpec(
                    f"original.{t.stage}",
                    "cache (original run)",
                    _SPAN_TYPES.get(t.stage, "UNKNOWN"),
                    at,
                    0.0,
                    _attrs(
                        secrets,
                        provider=t.provider,
                        status=t.status,
                        count=t.count,
                        detail=f"took {t.elapsed_ms:.1f} ms when first run",
                    ),
                )
            )
    return spans


@contextmanager
def _global_uri(uri: str) -> Iterator[None]:
    """MLflow's trace exporter follows the global tracking URI; point it at ``uri`` for the
    block (restoring whatever was set before)."""
    import mlflow

    is_set: Any = mlflow.is_tracking_uri_set  # untyped in MLflow
    before = mlflow.get_tracking_uri() if is_set() else None
    mlflow.set_tracking_uri(uri)
    try:
        yield
    finally:
        # None means "not set" again (MLflow's own default resolution), not our store.
        reset: Any = before
        mlflow.set_tracking_uri(reset)


def _plan(
    searches: Sequence[TracedSearch],
    secrets: Sequence[str],
    common: Mapping[str, str],
    now_ns: int,
) -> list[PlannedTrace]:
    """The traces of ``searches`` (redacted, timed), independent of how they are written."""
    planned = []
    for s in searches:
        end_ns = int(s.finished_at.timestamp() * 1e9) if s.finished_at else now_ns
        trace_tags = {**common, "query_id": s.query_id}
        if s.region:
            trace_tags["region"] = s.region
        inputs = {"query": redact(s.text, secrets)}
        if s.result is None:
            planned.append(
                PlannedTrace(
                    f"search {s.query_id}",
                    trace_tags,
                    inputs,
                    {"status": "error"},
                    {"error": redact(s.error or "error", secrets)[:500]},
                    True,
                    end_ns,
                    end_ns,
                    (),
                )
            )
            continue
        specs = search_spans(s.result, secrets)
        root = specs[0]
        r = s.result
        planned.append(
            PlannedTrace(
                f"search {s.query_id}",
                trace_tags,
                inputs,
                {k: str(v) for k, v in root.attributes.items()},
                {
                    "place": redact(r.place.label, secrets),
                    "results": len(r.results),
                    "top": [redact(x.title, secrets)[:120] for x in r.results[:3]],
                    "cache": r.cache.status,
                },
                False,
                end_ns - int(root.elapsed_ms * 1e6),
                end_ns,
                specs[1:],
            )
        )
    return planned


def log_search_traces(
    run_id: str,
    searches: Sequence[TracedSearch],
    *,
    experiment_id: str,
    tracking_uri: str,
    client: MlflowClient | None = None,
    settings: Settings | None = None,
    tags: Mapping[str, str] | None = None,
    batch: bool | None = None,
) -> int:
    """Write one MLflow trace per search, linked to ``run_id`` (its Traces tab lists them);
    returns how many were written. A search that raised becomes a one-span ERROR trace.

    ``batch`` (default: whenever the store allows it) builds the finished traces directly and
    writes them through the tracking store's ``start_trace``/``log_spans`` in batches, which
    costs a fraction of MLflow's live-span machinery; ``batch=False`` (or a store without
    span logging, e.g. a tracking server) goes through ``MlflowClient.start_trace``/
    ``start_span``/``end_span``/``end_trace``. Both write the same traces."""
    import time

    from mlflow.tracking import MlflowClient

    from .store import get_client

    secrets = known_secrets(settings)
    c = client or get_client(tracking_uri)
    assert isinstance(c, MlflowClient)
    common = {k: redact(v, secrets)[:250] for k, v in (tags or {}).items()}
    planned = _plan(searches, secrets, common, time.time_ns())
    store = _batch_store(c) if batch is not False else None
    if store is not None:
        from .trace_batch import BatchUnsupported, write_batched

        try:
            return write_batched(store, planned, run_id=run_id, experiment_id=experiment_id)
        except BatchUnsupported:
            pass  # nothing written yet: this MLflow lacks a helper the batch needs
    return _write_with_client(
        c, planned, run_id=run_id, experiment_id=experiment_id, tracking_uri=tracking_uri
    )


def _batch_store(client: MlflowClient) -> Any:
    """The client's tracking store when it takes finished traces in batches (an SQL store:
    ``start_trace(TraceInfo)`` plus ``log_spans``), else None (the client path is used)."""
    try:
        from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

        store = client._tracking_client.store
    except (ImportError, AttributeError):  # pragma: no cover - other MLflow layouts
        return None
    if not isinstance(store, SqlAlchemyStore):
        return None
    from mlflow.store.tracking.abstract_store import AbstractStore

    # MLflow versions whose SQL store has no span logging of its own keep the client path.
    if getattr(type(store), "log_spans", None) in (None, AbstractStore.__dict__.get("log_spans")):
        return None
    return store


def _write_with_client(
    c: MlflowClient,
    planned: Sequence[PlannedTrace],
    *,
    run_id: str,
    experiment_id: str,
    tracking_uri: str,
) -> int:
    """The traces through MLflow's live spans (each ended span goes through the exporter)."""
    written = 0
    unlinked: list[str] = []
    with _global_uri(tracking_uri):
        import mlflow

        for p in planned:
            root = _start_trace(
                c,
                unlinked,
                p.name,
                span_type="CHAIN",
                inputs=dict(p.inputs),
                attributes=dict(p.root_attributes),
                experiment_id=experiment_id,
                start_time_ns=p.start_ns,
                run_id=run_id,
                tags=dict(p.tags),
            )
            ids = {"search": root.span_id}
            for spec in p.children:
                span_start = p.start_ns + int(spec.start_ms * 1e6)
                span = c.start_span(
                    spec.name,
                    trace_id=root.trace_id,
                    parent_id=ids.get(spec.parent or "search", root.span_id),
                    span_type=spec.span_type,
                    attributes=dict(spec.attributes),
                    start_time_ns=span_start,
                )
                ids[spec.name] = span.span_id
                c.end_span(
                    root.trace_id,
                    span.span_id,
                    status="ERROR" if spec.error else "OK",
                    end_time_ns=span_start + int(spec.elapsed_ms * 1e6),
                )
            c.end_trace(
                root.trace_id,
                outputs=dict(p.outputs),
                status="ERROR" if p.error else "OK",
                end_time_ns=p.end_ns,
            )
            written += 1
        # One flush for the whole batch (the exporter writes asynchronously).
        flush = getattr(mlflow, "flush_trace_async_logging", None)
        if flush is not None:
            flush()
        if unlinked:
            c.link_traces_to_run(unlinked, run_id)
    return written


def _start_trace(client: Any, unlinked: list[str], name: str, **kwargs: Any) -> Any:
    """``client.start_trace`` linked to ``kwargs["run_id"]``; MLflow versions whose
    ``start_trace`` takes no ``run_id`` get the trace linked afterwards (``unlinked``)."""
    try:
        return client.start_trace(name, **kwargs)
    except TypeError:
        kwargs.pop("run_id", None)
        root = client.start_trace(name, **kwargs)
        unlinked.append(root.trace_id)
        return root
