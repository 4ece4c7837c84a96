"""``underfoot-lab evaluate`` end to end: a run killed with SIGKILL resumes, recomputing only
the missing queries, and ends with the metrics of an uninterrupted run; also ``compare``."""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from underfoot_lab.cli import main
from underfoot_lab.evaluation.metrics.catalog import metric_names
from underfoot_lab.evaluation.results.model import EvaluationReport

pytestmark = pytest.mark.slow

SMOKE_QUERIES = 13
NOT_REPRODUCIBLE = ("latency_p50_ms", "latency_p95_ms")
MINI = Path(__file__).resolve().parents[1] / "fixtures" / "regions" / "mini.yaml"


def cli(args: list[str], home: Path, **env: str) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "UNDERFOOT_HOME": str(home), **env}
    return subprocess.run(
        [sys.executable, "-m", "underfoot_lab.cli", *args],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=300,
    )


def stored_rows(db: Path) -> dict[str, tuple[str, str]]:
    """query_id -> (finished_at, session) of every stored row (empty while there is none)."""
    if not db.exists():
        return {}
    try:
        with sqlite3.connect(db, timeout=10) as conn:
            rows = conn.execute("SELECT query_id, finished_at, session FROM results").fetchall()
    except sqlite3.OperationalError:  # the table is not created yet
        return {}
    return {q: (f, s) for q, f, s in rows}


def comparable(metrics: dict[str, float | None]) -> dict[str, float | None]:
    return {k: v for k, v in metrics.items() if k not in NOT_REPRODUCIBLE}


def test_resume_after_sigkill(tmp_path: Path) -> None:
    killed, fresh = tmp_path / "killed", tmp_path / "fresh"
    db = killed / "runs.sqlite3"
    env = {
        **os.environ,
        "UNDERFOOT_HOME": str(killed),
        "UNDERFOOT_EVAL_QUERY_DELAY_S": "0.4",  # test-only: slow enough to be caught midway
    }
    args = ["evaluate", "--region-set", "smoke", "--no-cache", "--concurrency", "1", "--json"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "underfoot_lab.cli", *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120
        while len(stored_rows(db)) < 3:
            assert proc.poll() is None, "the run finished before it could be killed"
            assert time.monotonic() < deadline, "no rows appeared"
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    before = stored_rows(db)
    assert 3 <= len(before) < SMOKE_QUERIES
    with sqlite3.connect(db) as conn:
        runs = conn.execute("SELECT run_id, status FROM runs").fetchall()
    assert len(runs) == 1 and runs[0][1] == "running"  # killed: never marked complete
    run_id = runs[0][0]

    resumed = cli(
        ["evaluate", "--resume", run_id, "--no-cache", "--concurrency", "1", "--json"], killed
    )
    assert resumed.returncode == 0, resumed.stderr
    missing = SMOKE_QUERIES - len(before)
    assert f"{len(before)} already done, {missing} to compute" in resumed.stderr
    after = stored_rows(db)
    assert len(after) == SMOKE_QUERIES
    for qid, row in before.items():
        assert after[qid] == row, f"{qid} was recomputed"
    new_rows = {q: r for q, r in after.items() if q not in before}
    assert len(new_rows) == missing
    sessions = {s for _, s in new_rows.values()}
    assert len(sessions) == 1 and sessions.isdisjoint({s for _, s in before.values()})
    out = json.loads(resumed.stdout)
    assert out["eval_run_id"] == run_id and out["queries"] == SMOKE_QUERIES and out["errors"] == 0
    # run_id is the MLflow run the evaluation was logged to (a 32-hex id in the local store)
    assert re.fullmatch(r"[0-9a-f]{32}", out["run_id"]) and out["mlflow"]["run_id"] == out["run_id"]
    assert out["mlflow"]["tracking_uri"].startswith("sqlite:///")
    assert out["status"] == "complete" and out["world"] == "default"
    assert re.fullmatch(r"[0-9a-f]{16}", out["world_hash"]) and out["config"]["git_dirty"] in (
        True,
        False,
        None,
    )
    assert list(out["metrics"]) == metric_names(10)

    report_dir = tmp_path / "report"
    uninterrupted = cli(
        ["evaluate", "--region-set", "smoke", "--no-cache", "--out", str(report_dir)], fresh
    )
    assert uninterrupted.returncode == 0, uninterrupted.stderr
    text = uninterrupted.stdout
    for fragment in ("nDCG@10", "offline world 'default' (", "p50 ms", "cache: off", "13 queries"):
        assert fragment in text, fragment
    fresh_report = EvaluationReport.load(report_dir)
    fresh_metrics = json.loads((report_dir / "report.json").read_text())["metrics"]
    assert comparable(out["metrics"]) == comparable(fresh_metrics)
    assert out["judgments_hash"] == fresh_report.judgments_hash
    assert fresh_report.n_queries == SMOKE_QUERIES and fresh_report.run_id != run_id


def test_errors_are_one_line(tmp_path: Path) -> None:
    p = cli(["evaluate", "--resume", "20990101-000000-000000"], tmp_path)
    assert p.returncode != 0 and "Traceback" not in p.stderr
    assert "no run '20990101-000000-000000'" in p.stderr and len(p.stderr.splitlines()) == 1
    p = cli(["evaluate", "--region-set", "smok"], tmp_path)
    assert p.returncode != 0 and "did you mean smoke" in p.stderr


def test_compare(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    weights = Path(__file__).resolve().parents[2] / "experiments" / "weights" / "baseline-seed.yaml"
    monkeypatch.setenv("UNDERFOOT_HOME", str(tmp_path / "home"))
    base = ["compare", "--region-set", str(MINI), "--resamples", "200", "--no-progress"]
    code = main([*base, "--candidate", str(weights), "--json", "-m", "nDCG@10", "-m", "mrr"])
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert out["queries"] == 3 and out["baseline"]["weights"] == "seed"
    assert out["candidate"]["weights"] == "baseline-seed"
    rows = {r["metric"]: r for r in out["comparisons"]}
    assert set(rows) == {"ndcg_at_10", "mrr"}
    # baseline-seed.yaml reproduces the seed scorer: no difference at all
    assert rows["ndcg_at_10"]["diff"] == 0.0 and rows["ndcg_at_10"]["p_t"] == 1.0
    for key in ("mean_a", "mean_b", "p_rand", "p_t_holm", "ci_low", "region_ci_low", "effect_size"):
        assert key in rows["ndcg_at_10"]
    # a second compare reuses both stored runs
    assert main([*base, "--candidate", str(weights)]) == 0
    captured = capsys.readouterr()
    assert "baseline: reusing run " + out["baseline"]["run_id"] in captured.err
    assert "candidate: reusing run " + out["candidate"]["run_id"] in captured.err
    assert "nDCG@10" in captured.out and "p rand Holm" in captured.out
    assert main(["compare", "--region-set", str(MINI)]) != 0
    assert "--candidate" in capsys.readouterr().err
