"""The MLflow store setup: several processes creating and logging to one fresh SQLite store at
once, and the experiment kind tag. Real processes, a real SQLite store; no mocks."""

from __future__ import annotations

import multiprocessing as mp
from pathlib import Path
from typing import Any

from underfoot_lab import tracking

EXPERIMENT = "concurrent"


def _log_one(uri: str, n: int, barrier: Any, results: Any) -> None:
    """In a child process: import MLflow, wait for the others, then create the store (the
    racy part) and log one run."""
    import mlflow  # noqa: F401  -- imported before the barrier so all start the setup together

    barrier.wait()
    run_id = tracking.start_run(EXPERIMENT, run_name=f"worker {n}", tracking_uri=uri)
    tracking.log_values(run_id, params={"worker": n}, metrics={"value": float(n)}, tracking_uri=uri)
    tracking.end_run(run_id, tracking_uri=uri)
    results.put(run_id)


def test_three_processes_set_up_one_fresh_store_at_once(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    ctx = mp.get_context("spawn")  # fresh interpreters: nothing of the store cached
    barrier = ctx.Barrier(3)
    results = ctx.Queue()
    procs = [ctx.Process(target=_log_one, args=(uri, n, barrier, results)) for n in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    assert [p.exitcode for p in procs] == [0, 0, 0]
    run_ids = {results.get_nowait() for _ in procs}
    assert len(run_ids) == 3
    runs = tracking.load_runs(EXPERIMENT, tracking_uri=uri)
    assert set(runs["run_id"]) == run_ids
    assert sorted(runs["metrics.value"]) == [0.0, 1.0, 2.0]
    assert sorted(runs["params.worker"]) == ["0", "1", "2"]
    assert (tmp_path / "mlflow.db.lock").is_file()


def test_experiments_are_created_with_their_kind(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    exp_id = tracking.ensure_experiment("kinds", tracking_uri=uri)
    client = tracking.get_client(uri)
    exp = client.get_experiment(exp_id)
    assert exp.tags["mlflow.experimentKind"] == "custom_model_development"
    # An experiment made elsewhere without the tag gets it on first use.
    other = client.create_experiment("made-elsewhere")
    tracking.ensure_experiment("made-elsewhere", tracking_uri=uri)
    assert client.get_experiment(other).tags["mlflow.experimentKind"] == (
        "custom_model_development"
    )
