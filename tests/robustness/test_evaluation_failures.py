"""Evaluations count failures (issue 14 case 5): an evaluation where every source failed on
every query used to print "13 queries, 0 errors" and log an MLflow run of zeros."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from live_servers import Fault, UpstreamServer

from underfoot_lab.evaluation.results.failures import EXIT_ALL_FAILED
from underfoot_lab.evaluation.runner import evaluate_region_set
from underfoot_lab.tracking.evaluations import evaluation_metrics, evaluation_tags

UNAUTHORIZED = Fault(401, b'{"error": "Invalid API key."}')
# SerpAPI only: Reddit's polite rate limit would make a subprocess run slow, not more telling.
SOURCES = "serpapi_web,serpapi_local"
MINI = str(Path(__file__).resolve().parents[1] / "fixtures" / "regions" / "mini.yaml")


def cli_env(server: UpstreamServer, home: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(
            ("UNDERFOOT_", "OPENAI_", "SERPAPI_", "GEOAPIFY_", "REDDIT_", "MLFLOW_")
        )
    }
    env.update(server.env())
    env.update(
        UNDERFOOT_HOME=str(home),
        UNDERFOOT_SOURCES=SOURCES,
        UNDERFOOT_HTTP_TIMEOUT_S="2",
        MLFLOW_DISABLE_TELEMETRY="true",
    )
    return env


@pytest.mark.slow
def test_every_source_failing_exits_3_and_logs_a_failed_run(
    server: UpstreamServer, tmp_path: Path
) -> None:
    server.fail("serpapi", UNAUTHORIZED)
    p = subprocess.run(
        [sys.executable, "-m", "underfoot_lab.cli", "evaluate", "--region-set", MINI,
         "--no-progress", "--json"],
        env=cli_env(server, tmp_path), capture_output=True, text=True, timeout=300, cwd=tmp_path,
    )  # fmt: skip
    assert p.returncode == EXIT_ALL_FAILED, p.stderr[-2000:]
    last = p.stderr.strip().splitlines()[-1]
    assert last.startswith("error: evaluation ") and "every source failed" in last
    assert "serpapi_web" in last and "Traceback" not in p.stderr
    out = json.loads(p.stdout)
    failures = out["failures"]
    n = out["queries"]
    assert n > 0 and failures["failed"] == n and failures["all_sources_failed"] == n
    assert failures["source_errors"] == {"serpapi_local": n, "serpapi_web": n}
    assert failures["failure_reason"].startswith("every source failed")
    assert set(failures["failed_queries"]) and all(
        "serpapi_web" in why for why in failures["failed_queries"].values()
    )

    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=out["mlflow"]["tracking_uri"])
    run = client.get_run(out["mlflow"]["run_id"])
    assert run.info.status == "FAILED"
    assert run.data.tags["failure_reason"] == failures["failure_reason"]
    assert run.data.metrics["errors.failed_queries"] == n
    assert run.data.metrics["errors.source.serpapi_web"] == n
    assert "ndcg_at_10" not in run.data.metrics  # no run of zeros
    assert all(s not in p.stdout + p.stderr for s in server.env().values() if "SECRET" in s)


def test_some_failures_are_counted_per_source_and_in_the_summary(
    server: UpstreamServer, tmp_path: Path
) -> None:
    server.fail("serpapi:google", UNAUTHORIZED)
    settings = server.settings(tmp_path, sources=("serpapi_web", "serpapi_local"))
    report = evaluate_region_set(MINI, settings=settings, progress=False, use_cache=False)
    n = report.n_queries
    f = report.failures
    assert f.failure_reason is None and f.n_failed == 0 and f.query_errors == 0
    assert f.source_errors == {"serpapi_web": n, "serpapi_local": 0}
    assert f.degraded == n
    assert f"failures: 0/{n} queries failed" in report.summary_table()
    assert f"source errors: serpapi_web {n}" in report.summary_table()
    assert report.to_payload()["failures"]["source_errors"]["serpapi_web"] == n
    metrics = evaluation_metrics(report)
    assert metrics["errors.source.serpapi_web"] == n and metrics["errors.source.serpapi_local"] == 0
    assert "ndcg_at_10" in metrics and "failure_reason" not in evaluation_tags(report)
    saved = report.save(tmp_path / "saved")
    from underfoot_lab.evaluation.results.model import EvaluationReport

    assert EvaluationReport.load(saved).failures == f
