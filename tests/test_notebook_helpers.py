"""Notebook helpers and the report command's output pieces, in-process (no kernel)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import pytest

from underfoot_lab import notebook_helpers, papermill_reports
from underfoot_lab.commands import report as report_cmd
from underfoot_lab.evaluation.results.model import EvaluationReport

MINI = """\
name: mini
description: Two queries in two regions.
region: appalachia
queries:
  - id: t-pikeville-01
    text: "hidden gems in Pikeville KY"
    expected: {place: "Pikeville", state: KY}
    tags: [general, in-town]
  - id: t-ely-01
    text: "secret swimming holes around Ely, MN"
    expected: {place: "Ely", state: MN}
    tags: [outdoors, near]
    region: upper-midwest
"""


@pytest.fixture(scope="module")
def home(mlflow_home: Path) -> Path:
    return mlflow_home


@pytest.fixture(scope="module")
def report(home: Path) -> EvaluationReport:
    mini = home / "mini.yaml"
    mini.write_text(MINI, encoding="utf-8")
    return notebook_helpers.notebook_report(str(mini), progress=False)


def test_notebook_report_evaluates_reloads_and_loads(
    home: Path, report: EvaluationReport, tmp_path: Path
) -> None:
    assert report.n_queries == 2 and report.simulated
    again = notebook_helpers.notebook_report(eval_run_id=report.run_id)
    assert again.run_id == report.run_id
    assert again.means["ndcg_at_10"] == pytest.approx(report.means["ndcg_at_10"])
    saved = report.save(tmp_path / "saved")
    loaded = notebook_helpers.notebook_report(report_dir=saved)
    assert list(loaded.per_query["query_id"]) == ["t-pikeville-01", "t-ely-01"]


def test_means_table_query_result_and_map(report: EvaluationReport) -> None:
    table = notebook_helpers.means_table(report)
    assert list(table.columns) == ["metric", "display", "mean"]
    row = table.set_index("metric").loc["ndcg_at_10"]
    assert row["display"] == "nDCG@10" and row["mean"] == pytest.approx(report.means["ndcg_at_10"])

    result = notebook_helpers.query_result(report)
    assert result is not None and result.query == "hidden gems in Pikeville KY"
    assert result.place.name == "Pikeville"
    other = notebook_helpers.query_result(report, "t-ely-01")
    assert other is not None and other.place.name == "Ely"
    with pytest.raises(Exception, match="not in report"):
        notebook_helpers.query_result(report, "nope")
    fig = notebook_helpers.query_map(report)
    assert fig.layout.yaxis.scaleanchor == "x"
    assert any(t.name == "Pikeville, Kentucky" for t in fig.data)


def test_compare_without_runs_explains_what_to_run(home: Path) -> None:
    comparison = notebook_helpers.compare(experiment="empty-experiment")
    assert not comparison.ok
    assert "need two finished MLflow runs" in comparison.summary
    assert comparison.table.empty
    assert comparison.figure().layout.annotations[0].text == "nothing to compare"
    assert len(comparison.per_query_figure().data) >= 1


def test_setup_notebook_uses_the_repo_store_from_notebooks_dir(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    repo = tmp_path / "repo"
    (repo / "notebooks").mkdir(parents=True)
    (repo / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    monkeypatch.delenv("UNDERFOOT_HOME", raising=False)
    monkeypatch.chdir(repo / "notebooks")
    settings = notebook_helpers.setup_notebook()
    assert os.environ["UNDERFOOT_HOME"] == str(repo / ".underfoot")
    assert settings.home == repo / ".underfoot"
    given = notebook_helpers.setup_notebook(tmp_path / "elsewhere")
    assert given.home == (tmp_path / "elsewhere").resolve()

    import plotly.io as pio

    assert pio.renderers.default == "plotly_mimetype+underfoot_offline"


def test_report_command_pieces(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    runs = [
        papermill_reports.ReportRun(
            region_set="smoke", notebook=home / "reports" / "x.ipynb", mlflow_run_id="abc",
            tracking_uri="sqlite:///x", experiment="underfoot-eval", elapsed_s=1.0,
            metrics={"ndcg_at_10": 0.5, "latency_p50_ms": 12.34},
        ),
        papermill_reports.ReportRun(
            region_set="ozarks", notebook=home / "reports" / "y.ipynb", mlflow_run_id="def",
            tracking_uri="sqlite:///x", experiment="underfoot-eval", elapsed_s=1.0,
            error="ConfigError: boom",
        ),
    ]  # fmt: skip
    table = report_cmd.metrics_table(runs)
    lines = table.splitlines()
    assert lines[0].split()[:3] == ["region", "set", "status"]
    assert "nDCG@10" in lines[0] and "Cache hit rate" in lines[0]
    assert "0.5000" in lines[2] and "12.3" in lines[2]
    assert "FAILED" in lines[3] and "n/a" in lines[3]

    root = Path(__file__).resolve().parents[1]
    monkeypatch.chdir(root)
    # The MLflow of the interpreter running this: `.venv/bin/mlflow` in a checkout with its
    # own venv, an absolute path when the venv lives elsewhere (a git worktree sharing one).
    tool = (Path(sys.executable).parent / "mlflow").resolve()
    shown = str(tool.relative_to(root)) if tool.is_relative_to(root) else str(tool)
    cmds = report_cmd.open_commands(f"sqlite:///{home}/mlflow.db", home)
    assert cmds["mlflow_ui"] == (
        f"MLFLOW_DISABLE_TELEMETRY=true {shown} ui --backend-store-uri "
        f"sqlite:///{home}/mlflow.db --host 127.0.0.1 --port 5000"
    )
    assert cmds["jupyter_lab"].startswith(f"UNDERFOOT_HOME={home.resolve()} ")
    assert "lab " in cmds["jupyter_lab"] and "--ip 127.0.0.1 notebooks/" in cmds["jupyter_lab"]
    if os.geteuid() == 0:
        assert "--allow-root" in cmds["jupyter_lab"]
    assert report_cmd.open_commands("http://mlflow.example:5000", home)["mlflow_ui"] == (
        "http://mlflow.example:5000"
    )


def test_report_command_rejects_bad_arguments(home: Path) -> None:
    from underfoot_lab.errors import ConfigError

    p = argparse.ArgumentParser()
    report_cmd.add_arguments(p)
    with pytest.raises(ConfigError, match="--parallel"):
        report_cmd.run(p.parse_args(["--parallel", "0"]))
    with pytest.raises(ConfigError, match="does not exist"):
        report_cmd.run(p.parse_args(["--weights", str(home / "missing.yaml")]))
    with pytest.raises(ConfigError, match="one evaluation"):
        report_cmd.run(
            p.parse_args(["--region-set", "a", "--region-set", "b", "--eval-run-id", "x"])
        )
