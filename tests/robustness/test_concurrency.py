"""Several processes on one fresh UNDERFOOT_HOME (issue 14 case 1): three `evaluate` and three
`sweep` processes at once all succeed and all their runs are in MLflow. Before the store lock,
concurrent schema migrations broke the MLflow store for good."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from offline_cli import env_for, start_cli

pytestmark = pytest.mark.slow

N = 3


def run_all(args: list[str], home: Path) -> list[subprocess.CompletedProcess[str]]:
    # cwd: no stray .env; the home itself does not exist yet
    procs = [start_cli(home, *args, cwd=home.parent) for _ in range(N)]
    done = []
    for p in procs:
        out, err = p.communicate(timeout=600)
        done.append(subprocess.CompletedProcess(p.args, p.returncode, out, err))
    return done


def mlflow_runs(home: Path, experiment: str) -> list[object]:
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=f"sqlite:///{home.resolve() / 'mlflow.db'}")
    exp = client.get_experiment_by_name(experiment)
    assert exp is not None, experiment
    return list(client.search_runs([exp.experiment_id], max_results=1000))


def test_three_evaluations_on_a_fresh_home(tmp_path: Path) -> None:
    home = tmp_path / "home"  # does not exist yet: each process creates it
    results = run_all(["evaluate", "--region-set", "smoke", "--no-progress"], home)
    ids = []
    for p in results:
        assert p.returncode == 0, p.stderr[-3000:]
        assert "Traceback" not in p.stderr
        m = re.search(r"MLflow run ([0-9a-f]{32})", p.stdout)
        assert m, p.stdout[-500:]
        ids.append(m.group(1))
    runs = mlflow_runs(home, "underfoot-eval")
    by_id = {r.info.run_id: r for r in runs}  # type: ignore[attr-defined]
    assert len(set(ids)) == N and set(ids) <= set(by_id)
    assert all(by_id[i].info.status == "FINISHED" for i in ids)
    # The run store holds three complete runs too.
    import sqlite3

    with sqlite3.connect(home / "runs.sqlite3") as conn:
        statuses = [r[0] for r in conn.execute("SELECT status FROM runs")]
    assert statuses.count("complete") == N
    # And the next evaluate in that home works (the store is not left broken).
    again = subprocess.run(
        [sys.executable, "-m", "underfoot_lab.cli", "doctor"],
        env=env_for(home), cwd=home.parent, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert again.returncode == 0 and "BROKEN" not in again.stdout, again.stdout[-1500:]


def test_three_sweeps_on_a_fresh_home(tmp_path: Path) -> None:
    home = tmp_path / "home"
    # --out: the winners go under tmp_path, not into the checkout's experiments/weights/
    winners = tmp_path / "winners"
    args = [
        "sweep",
        "--region-set",
        "smoke",
        "--trials",
        "5",
        "--workers",
        "1",
        "--out",
        str(winners),
    ]
    results = run_all(args, home)
    for p in results:
        assert p.returncode == 0, p.stderr[-3000:]
        assert "Traceback" not in p.stderr
    runs = mlflow_runs(home, "underfoot-sweeps")
    parents = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]  # type: ignore[attr-defined]
    assert len(parents) == N
    assert all(r.info.status == "FINISHED" for r in parents)  # type: ignore[attr-defined]
    assert list(winners.glob("sweep-*.yaml")), "no sweep wrote its winner"
