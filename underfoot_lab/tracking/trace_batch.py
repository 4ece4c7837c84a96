"""Finished traces written straight to an SQL tracking store, in batches.

:func:`~underfoot_lab.tracking.traces.log_search_traces` knows every span of a search before
it writes anything (timings, attributes, outputs), so it has no use for MLflow's live spans:
going through ``MlflowClient.start_trace``/``start_span``/``end_span``/``end_trace`` costs an
OpenTelemetry span, a span processor, the in-memory trace manager and one exporter round trip
per span (most of the CPU of logging an evaluation). Here the same :class:`mlflow.entities.Span`
and :class:`mlflow.entities.TraceInfo` entities the exporter would send are built directly
(the attributes JSON-encoded exactly as a live span encodes them, the trace metadata and tags
the span processor and exporter add) and written through the store's own entry points, as the
exporter writes them: ``start_trace(trace_info)`` per trace and one ``log_spans`` per batch of
traces. The result reads back the same through ``search_traces`` (tested field by field against
the client path in ``tests/tracking/test_trace_batch.py``).

MLflow is imported lazily, inside the functions (heavy import).
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from secrets import randbits
from typing import Any

__all__ = ["BATCH_TRACES", "BatchUnsupported", "PlannedTrace", "SpanSpec", "write_batched"]

BATCH_TRACES = 100
"""Traces per ``log_spans`` call (one store session each)."""

_log = logging.getLogger(__name__)


class BatchUnsupported(Exception):
    """This MLflow lacks an entity or helper the batch writer builds on (raised before anything
    is written; the caller falls back to MLflow's client)."""


@dataclass(frozen=True, slots=True)
class SpanSpec:
    """One span to write: ``parent`` is the name of its parent span (None for the root);
    times are milliseconds from the start of the search."""

    name: str
    parent: str | None
    span_type: str
    start_ms: float
    elapsed_ms: float
    attributes: Mapping[str, str | int | float]
    error: bool = False


@dataclass(frozen=True, slots=True)
class PlannedTrace:
    """One search's trace, ready to write by either writer (the batch here or MLflow's
    client in :mod:`.traces`): names, redacted texts and nanosecond times."""

    name: str
    tags: Mapping[str, str]
    inputs: Mapping[str, Any]
    root_attributes: Mapping[str, str]
    outputs: Mapping[str, Any]
    error: bool
    start_ns: int
    end_ns: int
    children: Sequence[SpanSpec]


class _Encoder:
    """Turns planned traces into MLflow entities (MLflow imported once, on construction)."""

    def __init__(self, run_id: str, experiment_id: str) -> None:
        from mlflow.entities import Span, Trace, TraceData, TraceInfo, TraceLocation, TraceState
        from mlflow.tracing.constant import (
            MAX_CHARS_IN_TRACE_INFO_METADATA,
            TRACE_SCHEMA_VERSION,
            TRACE_SCHEMA_VERSION_KEY,
            TRUNCATION_SUFFIX,
            SpanAttributeKey,
            TraceMetadataKey,
            TraceTagKey,
        )
        from mlflow.tracing.utils import (
            add_size_stats_to_trace_metadata,
            dump_span_attribute_value,
        )
        from mlflow.tracing.utils.environment import resolve_env_metadata
        from mlflow.tracing.utils.truncation import set_request_response_preview

        self._span_from_dict: Any = Span.from_dict
        self._trace: Any = Trace
        self._trace_data: Any = TraceData
        self._trace_info: Any = TraceInfo
        self._location: Any = TraceLocation.from_experiment_id(experiment_id)
        self._ok: Any = TraceState.OK
        self._error: Any = TraceState.ERROR
        self._dump: Any = dump_span_attribute_value
        self._size_stats: Any = add_size_stats_to_trace_metadata
        self._previews: Any = set_request_response_preview
        self._max_meta = int(MAX_CHARS_IN_TRACE_INFO_METADATA)
        self._suffix = str(TRUNCATION_SUFFIX)
        self._k = SpanAttributeKey
        self._name_tag = str(TraceTagKey.TRACE_NAME)
        self._inputs_key = str(TraceMetadataKey.INPUTS)
        self._outputs_key = str(TraceMetadataKey.OUTPUTS)
        self._experiment = self._dump(experiment_id)
        # What the span processor puts on every trace: the environment (user, source, git),
        # the schema version and, as MlflowClient.start_trace(run_id=...) does, the run.
        self._metadata = {
            **resolve_env_metadata(),
            TRACE_SCHEMA_VERSION_KEY: str(TRACE_SCHEMA_VERSION),
            str(TraceMetadataKey.SOURCE_RUN): run_id,
        }
        self._levels: dict[str, str] = {}

    def _level(self, span_type: str) -> str:
        """``mlflow.spanLogLevel`` as a live span resolves it from its type when it ends."""
        level = self._levels.get(span_type)
        if level is None:
            try:
                from mlflow.tracing.utils.default_log_level import (
                    default_log_level_for_span_type,
                )

                level = self._dump(int(default_log_level_for_span_type(span_type)))
            except ImportError:  # pragma: no cover - MLflow before span log levels
                level = ""
            self._levels[span_type] = level
        return level

    def _span(
        self,
        otel_trace: str,
        trace_id: str,
        span_id: int,
        parent_id: int | None,
        name: str,
        start_ns: int,
        end_ns: int,
        error: bool,
        attributes: dict[str, str],
    ) -> Any:
        level = self._level(json.loads(attributes[self._k.SPAN_TYPE]))
        attributes[self._k.REQUEST_ID] = trace_id
        attributes[self._k.START_TIME_NS] = self._dump(start_ns)
        if level:
            attributes[self._k.LOG_LEVEL] = level
        return self._span_from_dict(
            {
                "trace_id": otel_trace,
                "span_id": _b64(span_id, 8),
                "parent_span_id": _b64(parent_id, 8) if parent_id is not None else None,
                "name": name,
                "start_time_unix_nano": start_ns,
                "end_time_unix_nano": end_ns,
                "events": [],
                "status": {
                    "code": "STATUS_CODE_ERROR" if error else "STATUS_CODE_OK",
                    "message": "",
                },
                "attributes": attributes,
                "links": [],
            }
        )

    def _truncated(self, value: str) -> str:
        if len(value) > self._max_meta:
            return value[: self._max_meta - len(self._suffix)] + self._suffix
        return value

    def encode(self, p: PlannedTrace) -> tuple[Any, list[Any]]:
        """The :class:`TraceInfo` and the spans of one planned trace."""
        otel_id = randbits(128) or 1
        trace_id = f"tr-{otel_id:032x}"
        otel_trace = _b64(otel_id, 16)
        trace_ref = self._dump(trace_id)
        dump = self._dump
        inputs = dump(dict(p.inputs))
        outputs = dump(dict(p.outputs))
        root_id = randbits(64) or 1
        root_attrs = {
            self._k.EXPERIMENT_ID: self._experiment,
            self._k.SPAN_TYPE: dump("CHAIN"),
            self._k.INPUTS: inputs,
            **{k: dump(v) for k, v in p.root_attributes.items()},
            self._k.OUTPUTS: outputs,
        }
        spans = [
            self._span(
                otel_trace,
                trace_ref,
                root_id,
                None,
                p.name,
                p.start_ns,
                p.end_ns,
                p.error,
                root_attrs,
            )
        ]
        ids = {"search": root_id}
        for spec in p.children:
            span_id = randbits(64) or 1
            ids[spec.name] = span_id
            start = p.start_ns + int(spec.start_ms * 1e6)
            attrs = {
                self._k.SPAN_TYPE: dump(spec.span_type),
                **{k: dump(v) for k, v in spec.attributes.items()},
            }
            spans.append(
                self._span(
                    otel_trace,
                    trace_ref,
                    span_id,
                    ids.get(spec.parent or "search", root_id),
                    spec.name,
                    start,
                    start + int(spec.elapsed_ms * 1e6),
                    spec.error,
                    attrs,
                )
            )
        info = self._trace_info(
            trace_id=trace_id,
            trace_location=self._location,
            request_time=p.start_ns // 1_000_000,
            # What the store makes of it once the spans land (log_spans() widens the trace to
            # its spans' whole milliseconds); MLflow's exporter ends up with either this or
            # (end - start) // 1 ms, depending on which of its async writes lands last.
            execution_duration=p.end_ns // 1_000_000 - p.start_ns // 1_000_000,
            state=self._error if p.error else self._ok,
            trace_metadata={
                **self._metadata,
                self._inputs_key: self._truncated(inputs),
                self._outputs_key: self._truncated(outputs),
            },
            tags={**p.tags, self._name_tag: p.name},
        )
        trace = self._trace(info=info, data=self._trace_data(spans=spans))
        self._previews(info, trace.data)
        self._size_stats(trace)
        return info, spans


def _b64(value: int, size: int) -> str:
    """An OpenTelemetry id as :meth:`mlflow.entities.Span.to_dict` writes it."""
    return base64.b64encode(value.to_bytes(size, "big")).decode("ascii")


def write_batched(
    store: Any,
    planned: Sequence[PlannedTrace],
    *,
    run_id: str,
    experiment_id: str,
    batch: int = BATCH_TRACES,
) -> int:
    """Write ``planned`` through ``store.start_trace``/``store.log_spans``, ``batch`` traces
    per span batch; returns how many traces were written. Like MLflow's exporter, a batch
    the store rejects is logged and skipped (logging an evaluation does not fail on it)."""
    from .store import retry_locked

    try:
        enc = _Encoder(run_id, experiment_id)
    except (ImportError, AttributeError) as exc:  # other MLflow layouts (pyproject allows 3.1+)
        raise BatchUnsupported(str(exc)) from exc
    written = 0
    for at in range(0, len(planned), batch):
        try:
            chunk = [enc.encode(p) for p in planned[at : at + batch]]
        except Exception as exc:
            if at == 0:  # an MLflow whose entities differ: nothing written yet, fall back
                raise BatchUnsupported(str(exc)) from exc
            raise
        try:
            # The trace infos first: start_trace() on an existing trace (what the exporter does,
            # after its spans) takes a slow conflict-and-merge path in the store.
            for info, _ in chunk:
                retry_locked(partial(store.start_trace, info))
            spans = [s for _, trace_spans in chunk for s in trace_spans]
            retry_locked(partial(store.log_spans, experiment_id, spans))
        except Exception as exc:  # as the exporter: warn, keep the evaluation
            _log.warning("could not write %d MLflow traces: %s", len(chunk), exc)
            continue
        written += len(chunk)
    return written
