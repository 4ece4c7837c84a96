"""The batched trace writer stores the same traces as MLflow's client path (real SQLite store).

Both writers log the same searches (a fresh one, a cache hit, one with a failed source and a
secret in its detail, one that raised) into two runs of one experiment; the traces read back
with ``search_traces(run_id=...)`` must agree field by field, except the ids MLflow draws at
random, the run they belong to and the artifact location (which names the trace id).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from underfoot_lab.harness import build_harness
from underfoot_lab.records import StageTrace
from underfoot_lab.settings import Settings
from underfoot_lab.tracking.store import get_client
from underfoot_lab.tracking.traces import (
    TracedSearch,
    _batch_store,
    _global_uri,
    log_search_traces,
)
from underfoot_lab.tracking.writer import start_run

SECRET = "sk-test-TRACEBATCH-0123456789"
FAKE_SECRETS = {"SERPAPI_API_KEY": SECRET}


@pytest.fixture(scope="module")
def searches(mlflow_home: Path) -> list[TracedSearch]:
    settings = Settings(home=mlflow_home, mode="offline")
    with build_harness(settings) as harness:
        first = harness.pipeline.search("hidden gems in Marfa TX")
        hit = harness.pipeline.search("hidden gems in Marfa TX")
    broken = replace(
        first,
        trace=(
            *first.trace,
            StageTrace("sources.web", 3.0, "error", provider="serpapi", detail=f"key {SECRET}"),
        ),
    )
    done = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
    return [
        TracedSearch("q-miss", "hidden gems in Marfa TX", first, finished_at=done, region="tx"),
        TracedSearch("q-hit", "hidden gems in Marfa TX", hit, finished_at=done),
        TracedSearch("q-broken", f"gems {SECRET}", broken, finished_at=done, region="tx"),
        TracedSearch("q-raised", "nowhere", None, error=f"boom {SECRET}", finished_at=done),
    ]


def _normalised(trace: Any) -> tuple[str, dict[str, Any]]:
    """A trace as a dict without what legitimately differs between two writes."""
    d = trace.to_dict()
    info = d["info"]
    info.pop("trace_id")
    info["tags"].pop("mlflow.artifactLocation")
    info["trace_metadata"].pop("mlflow.sourceRun")
    names = {s["span_id"]: s["name"] for s in d["data"]["spans"]}
    spans = {}
    for span in d["data"]["spans"]:
        span = dict(span)
        span.pop("trace_id")
        span["parent"] = names.get(span.pop("parent_span_id"))
        span.pop("span_id")
        span["attributes"] = dict(span["attributes"])
        span["attributes"].pop("mlflow.traceRequestId")
        spans[span["name"]] = span
    return info["tags"]["query_id"], {"info": info, "spans": spans}


def _write(home: Path, searches: list[TracedSearch], *, batch: bool) -> tuple[str, list[Any]]:
    settings = Settings(home=home, mode="offline")
    uri = f"sqlite:///{home.resolve() / 'mlflow.db'}"
    client = get_client(uri)
    run_id = start_run("trace-batch", tracking_uri=uri, settings=settings)
    exp = str(client.get_run(run_id).info.experiment_id)
    written = log_search_traces(
        run_id,
        searches,
        experiment_id=exp,
        tracking_uri=uri,
        client=client,
        settings=settings,
        tags={"region_set": "unit"},
        batch=batch,
    )
    assert written == len(searches)
    import mlflow

    # What the run's Traces tab lists: the traces whose source run is this run.
    traces = client.search_traces(locations=[exp], run_id=run_id)
    with _global_uri(uri):
        listed = mlflow.search_traces(locations=[exp], run_id=run_id, return_type="list")
    assert sorted(t.info.trace_id for t in listed) == sorted(t.info.trace_id for t in traces)
    assert all(t.info.trace_metadata["mlflow.sourceRun"] == run_id for t in traces)
    return run_id, traces


def test_batched_traces_equal_the_client_paths(
    mlflow_home: Path, searches: list[TracedSearch]
) -> None:
    _, old = _write(mlflow_home, searches, batch=False)
    _, new = _write(mlflow_home, searches, batch=True)
    before = dict(_normalised(t) for t in old)
    after = dict(_normalised(t) for t in new)
    assert sorted(before) == sorted(after) == sorted(s.query_id for s in searches)
    for qid, trace in before.items():
        # MLflow's exporter stores either (end - start) // 1 ms or end_ms - start_ms, depending
        # on which of its asynchronous writes lands last; the batch writes the latter.
        took, took_before = (
            int(d["info"].pop("execution_duration_ms")) for d in (after[qid], trace)
        )
        assert took - 1 <= took_before <= took, qid
        assert after[qid]["info"] == trace["info"], qid
        assert sorted(after[qid]["spans"]) == sorted(trace["spans"]), qid
        for name, span in trace["spans"].items():
            assert after[qid]["spans"][name] == span, (qid, name)
    # The comparison covered what matters: states, the tree, timings and the redaction.
    assert after["q-raised"]["info"]["state"] == "ERROR"
    assert after["q-miss"]["info"]["state"] == "OK"
    assert after["q-hit"]["spans"]["cache (original run)"]["parent"] == "cache"
    bad = after["q-broken"]["spans"]["sources.web"]
    assert bad["status"]["code"] == "STATUS_CODE_ERROR" and bad["parent"] == "sources"
    assert SECRET not in repr(after) and "***" in repr(after["q-raised"])


def test_span_times_are_the_searchs_own(mlflow_home: Path, searches: list[TracedSearch]) -> None:
    _, traces = _write(mlflow_home, searches[:1], batch=True)
    (trace,) = traces
    done_ns = int(searches[0].finished_at.timestamp() * 1e9)  # type: ignore[union-attr]
    root = trace.data.spans[0]
    assert root.parent_id is None and root.end_time_ns == done_ns
    assert trace.info.request_time == root.start_time_ns // 1_000_000
    assert trace.info.execution_duration == (
        root.end_time_ns // 1_000_000 - root.start_time_ns // 1_000_000
    )
    assert all(root.start_time_ns <= s.start_time_ns <= s.end_time_ns for s in trace.data.spans)


def test_a_store_without_span_batches_gets_the_client_path(
    mlflow_home: Path,
    searches: list[TracedSearch],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sql = get_client(f"sqlite:///{mlflow_home.resolve() / 'mlflow.db'}")
    assert _batch_store(sql) is not None
    # MLflow's file store takes no span batches (as a tracking server may not).
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    from mlflow.tracking import MlflowClient

    uri = (tmp_path / "mlruns").as_uri()
    client = MlflowClient(tracking_uri=uri)
    assert _batch_store(client) is None
    exp = client.create_experiment("fallback")
    run_id = client.create_run(exp).info.run_id
    written = log_search_traces(
        run_id,
        searches,
        experiment_id=exp,
        tracking_uri=uri,
        client=client,
        settings=Settings(home=mlflow_home, mode="offline"),
    )
    traces = client.search_traces(locations=[exp], run_id=run_id)
    assert written == len(traces) == len(searches)
    assert {t.info.tags["query_id"] for t in traces} == {s.query_id for s in searches}
