"""The report notebook through papermill, end to end: ``underfoot-lab report`` (two region sets
in parallel kernels), a weights run, the compare notebook over those runs, a failing notebook,
and no secret anywhere. Real kernels, a real SQLite MLflow store in a temporary home."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest

from notebook_support import cell_errors
from underfoot_lab.pipeline.score.weights import ScoringWeights

from underfoot_lab import papermill_reports, tracking

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
DEFAULT_WEIGHTS = REPO / "experiments" / "weights" / "tuned-default-world.yaml"
FAKE_SECRETS = {
    "OPENAI_API_KEY": "sk-test-SECRET-nb-0a1b2c3d",
    "SERPAPI_API_KEY": "serp-test-SECRET-nb-4e5f6a7b",
    "GEOAPIFY_API_KEY": "geo-test-SECRET-nb-8c9d0e1f",
    "EVENTBRITE_TOKEN": "eb-test-SECRET-nb-2a3b4c5d",
}
MINI = REPO / "tests" / "fixtures" / "regions" / "mini.yaml"
ACROSS_WORLDS = ("default", "null")


@pytest.fixture(scope="module")
def home(mlflow_home: Path) -> Path:
    return mlflow_home


@pytest.fixture(scope="module")
def cli_report(home: Path) -> dict[str, Any]:
    """``underfoot-lab report --region-set smoke --region-set mini.yaml --parallel 2 --json``."""
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "underfoot_lab.cli", "report", "--region-set", "smoke",
         "--region-set", str(MINI), "--parallel", "2", "--json"],
        capture_output=True, text=True, env=dict(os.environ), timeout=600, cwd=REPO,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    payload: dict[str, Any] = json.loads(proc.stdout)
    payload["_elapsed_s"] = time.perf_counter() - start
    return payload


@pytest.fixture(scope="module")
def weights_report(home: Path, cli_report: dict[str, Any]) -> papermill_reports.ReportRun:
    """A second smoke report, with a weights file, after the CLI's (so it is the newest);
    its "Across worlds" section in two worlds only, to stay quick."""
    return papermill_reports.run_report(
        "smoke", weights=DEFAULT_WEIGHTS, parameters={"worlds": list(ACROSS_WORLDS)}
    )


def _artifacts(client: Any, run_id: str, path: str = "") -> list[str]:
    out: list[str] = []
    for f in client.list_artifacts(run_id, path):
        out.extend(_artifacts(client, run_id, f.path) if f.is_dir else [f.path])
    return out


def _text_outputs(nb: Any) -> str:
    parts = []
    for c in nb.cells:
        for o in c.get("outputs", []) if c.cell_type == "code" else []:
            if o.get("output_type") == "stream":
                parts.append(o.get("text", ""))
            elif "data" in o:
                parts.append(str(o["data"].get("text/plain", "")))
                parts.append(str(o["data"].get("text/html", ""))[:20000])
    return "\n".join(parts)


def test_cli_report_logs_each_region_set_to_its_own_run(
    home: Path, cli_report: dict[str, Any]
) -> None:
    uri = cli_report["tracking_uri"]
    assert uri == f"sqlite:///{home.resolve() / 'mlflow.db'}"
    assert cli_report["experiment"] == "underfoot-eval"
    assert cli_report["simulated"] is True
    reports = cli_report["reports"]
    assert [r["region_set"] for r in reports] == ["smoke", "mini"]
    assert all(r["ok"] for r in reports), [r["error"] for r in reports]
    assert len({r["mlflow_run_id"] for r in reports}) == 2
    assert "--backend-store-uri " + uri in cli_report["open"]["mlflow_ui"]
    assert "jupyter lab" in cli_report["open"]["jupyter_lab"]
    assert f"UNDERFOOT_HOME={home.resolve()}" in cli_report["open"]["jupyter_lab"]

    client = tracking.get_client(uri)
    for r in reports:
        notebook = Path(r["notebook"])
        assert notebook.parent == home.resolve() / "reports"
        executed = nbformat.read(notebook, as_version=4)
        assert not cell_errors(executed)
        # plotly.js lives once next to the notebooks, not inside each (they were 5 MB).
        assert notebook.stat().st_size < 1_500_000, notebook.stat().st_size
        assert (notebook.parent / "plotly.min.js").stat().st_size > 1_000_000
        assert executed.metadata.papermill.parameters["mlflow_run_id"] == r["mlflow_run_id"]
        text = _text_outputs(executed)
        assert "offline world 'default' (" in text
        # the report ran the default scorer: the comparison across worlds says why it skips
        assert "this report ran the default scorer, baseline-seed" in text
        assert executed.metadata.papermill.parameters["world"] == "default"

        run = client.get_run(r["mlflow_run_id"])
        assert run.info.status == "FINISHED"
        params, metrics, tags = run.data.params, run.data.metrics, run.data.tags
        assert params["region_set"] == r["region_set"]
        assert params["k"] == "10" and params["mode"] == "offline"
        assert params["weights.source"] == "seed-scorer constants"
        assert "weight.intent_match" in params and "weights.cap" in params
        for name in ("ndcg_at_10", "p_at_5", "mrr", "map", "hiddenness_at_10",
                     "geo_precision_at_10", "answer_faithfulness", "latency_p50_ms",
                     "latency_p95_ms", "cache_hit_rate"):  # fmt: skip
            assert name in metrics, name
            assert r["metrics"][name] == pytest.approx(metrics[name])
        assert any(k.startswith("region.") for k in metrics)
        assert tags["simulated"] == "true"
        assert tags["eval_run_id"] == r["eval_run_id"]
        assert tags["source"] == "papermill"
        for tag in ("region_set_hash", "judgments_hash", "weights_hash", "git_commit"):
            assert tags[tag], tag
        # Provenance of the simulation: the scenario, its hash (world code included), the tree.
        assert tags["world"] == r["world"] == params["world"] == "default"
        assert tags["world_hash"] == r["world_hash"] == params["world_hash"]
        assert len(tags["world_hash"]) == 16 and tags["git_dirty"] in ("true", "false", "unknown")

        files = set(_artifacts(client, r["mlflow_run_id"]))
        for expected in ("evaluation/per_query.csv", "evaluation/run.trec",
                         "evaluation/qrels.txt", "figures/figures.html",
                         "figures/results_map.json", f"notebook/{notebook.name}",
                         "notebook/plotly.min.js", "figures/plotly.min.js"):  # fmt: skip
            assert expected in files, expected
        # The notebook artifact is the executed notebook (outputs and all).
        root = Path(run.info.artifact_uri.removeprefix("file://"))
        logged = nbformat.read(root / "notebook" / notebook.name, as_version=4)
        assert logged.metadata.papermill.parameters["mlflow_run_id"] == r["mlflow_run_id"]
        assert any(c.get("outputs") for c in logged.cells if c.cell_type == "code")
    smoke = client.get_run(reports[0]["mlflow_run_id"])
    assert smoke.data.metrics["n_queries"] == 13
    print(f"\ncli report, 2 region sets in parallel: {cli_report['_elapsed_s']:.1f} s")


def test_report_with_weights_logs_the_weights(
    home: Path, weights_report: papermill_reports.ReportRun
) -> None:
    assert weights_report.ok, weights_report.error
    client = tracking.get_client(weights_report.tracking_uri)
    run = client.get_run(weights_report.mlflow_run_id)
    assert run.data.params["weights"] == "tuned-default-world"
    assert run.data.params["weights.source"] == "weights file"
    assert float(run.data.params["weight.rating_quality"]) == pytest.approx(
        ScoringWeights.from_yaml(DEFAULT_WEIGHTS).weight("rating_quality")
    )
    assert run.data.tags["weights_hash"] != "seed"
    files = set(_artifacts(client, weights_report.mlflow_run_id))
    assert "weights/tuned-default-world.yaml" in files
    # "Across worlds": the weights against the default scorer in each world asked for
    executed = nbformat.read(weights_report.notebook, as_version=4)
    assert not cell_errors(executed)
    assert executed.metadata.papermill.parameters["worlds"] == list(ACROSS_WORLDS)
    text = _text_outputs(executed)
    assert "A = the default scorer" in text and "B = weights tuned-default-world" in text
    assert "candidate better in " in text and " of 2 worlds, worse in " in text
    for world in ACROSS_WORLDS:
        assert any((home / "worlds").glob(f"{world}-*")), world  # compare's per-world homes
    assert "figures/across_worlds.json" in files
    print(f"\nreport notebook on smoke (papermill): {weights_report.elapsed_s:.1f} s")


def test_compare_notebook_over_the_latest_two_runs(
    home: Path, cli_report: dict[str, Any], weights_report: papermill_reports.ReportRun, tmp_path: Path
) -> None:
    import papermill

    out = tmp_path / "compare.ipynb"
    papermill.execute_notebook(
        str(REPO / "notebooks" / "compare.ipynb"),
        str(out),
        parameters={"underfoot_home": str(home), "n_resamples": 2000},
        kernel_name="python3",
        progress_bar=False,
    )
    executed = nbformat.read(out, as_version=4)
    assert not cell_errors(executed)
    text = _text_outputs(executed)
    smoke_seed = cli_report["reports"][0]["mlflow_run_id"]
    assert f"A = MLflow run {smoke_seed}" in text
    assert f"B = MLflow run {weights_report.mlflow_run_id}" in text
    assert "p rand Holm" in text and "nDCG@10" in text
    # The comparison agrees with compare_runs on the same pair.
    table = tracking.compare_runs(smoke_seed, weights_report.mlflow_run_id, n_resamples=2000)
    diff = table.set_index("metric").loc["ndcg_at_10", "diff"]
    assert f"{diff:+.4f}" in text


def test_failing_notebook_marks_the_run_failed_and_keeps_the_notebook(home: Path) -> None:
    result = papermill_reports.run_report("no-such-region-set")
    assert not result.ok
    assert result.error is not None and "no-such-region-set" in result.error
    client = tracking.get_client(result.tracking_uri)
    run = client.get_run(result.mlflow_run_id)
    assert run.info.status == "FAILED"
    assert "no-such-region-set" in run.data.tags["error"]
    assert f"notebook/{result.notebook.name}" in set(_artifacts(client, result.mlflow_run_id))


def test_no_secret_in_any_store_artifact_or_notebook(
    home: Path, cli_report: dict[str, Any], weights_report: papermill_reports.ReportRun
) -> None:
    files = [p for p in home.rglob("*") if p.is_file()]
    checked = [
        p
        for p in files
        if p.name.startswith("mlflow.db") or "mlartifacts" in p.parts or "reports" in p.parts
    ]
    assert any(p.suffix == ".ipynb" for p in checked)
    for path in checked:
        data = path.read_bytes()
        for secret in FAKE_SECRETS.values():
            assert secret.encode() not in data, path
