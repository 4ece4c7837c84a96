"""``underfoot-lab sweep`` as a user runs it: a subprocess, table or JSON, one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from underfoot_lab.cli import build_parser
from underfoot_lab.pipeline.score.weights import ScoringWeights

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]


def cli(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "UNDERFOOT_HOME": str(home), "UNDERFOOT_MODE": "offline",
           "MLFLOW_DISABLE_TELEMETRY": "true"}  # fmt: skip
    env.pop("MLFLOW_TRACKING_URI", None)
    return subprocess.run(
        [sys.executable, "-m", "underfoot_lab.cli", "sweep", *args],
        capture_output=True, text=True, env=env, cwd=ROOT, timeout=600,
    )  # fmt: skip


def test_help_lists_the_options(capsys: pytest.CaptureFixture[str]) -> None:
    parser, mods = build_parser()
    assert mods["sweep"].HELP.startswith("search scoring weights")
    with pytest.raises(SystemExit) as info:
        parser.parse_args(["sweep", "--help"])
    assert info.value.code == 0
    text = capsys.readouterr().out
    for flag in ("--spec", "--region-set", "--trials", "--method", "--seed", "--pool",
                 "--executor", "--scheduler", "--workers", "--storage", "--no-mlflow",
                 "--json", "--kfold", "--holdout-regions", "--constraint"):  # fmt: skip
        assert flag in text, flag


def test_flags_only_json(pool_dir: Path, tmp_path: Path, sweep_home: Path) -> None:
    proc = cli(
        "--pool", str(pool_dir), "--trials", "30", "--method", "random", "--seed", "2",
        "--holdout-regions", "pacific-northwest", "--executor", "inline", "--no-mlflow",
        "--out", str(tmp_path), "--json", home=sweep_home,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    payload = json.loads(proc.stdout)
    assert payload["sweep"] == "adhoc" and payload["trials"] == 30 and payload["seed"] == 2
    assert payload["splits"][0]["heldout_regions"] == ["pacific-northwest"]
    assert payload["world"] == "default" and len(payload["world_hash"]) == 16
    assert {c["baseline"] for c in payload["comparison"]} == {
        "baseline-seed",
        "tuned-default-world",
    }
    weights = ScoringWeights.from_yaml(payload["weights_path"])
    assert Path(payload["weights_path"]).parent == tmp_path
    assert weights.weights_hash() == payload["best"]["weights_hash"]
    assert payload["mlflow"]["run_id"] is None


def test_spec_with_overrides_table_and_mlflow(
    pool_dir: Path, tmp_path: Path, sweep_home: Path
) -> None:
    spec = tmp_path / "tiny.yaml"
    spec.write_text(
        "ranges:\n  hiddenness: {low: 0, high: 0.5}\n  popularity: [-0.5, 0.0]\n"
        "method: grid\ngrid_steps: 3\nvalidation: {holdout: {regions: [appalachia]}}\n"
        "n_resamples: 500\n",
        encoding="utf-8",
    )
    proc = cli(
        "--spec", str(spec), "--pool", str(pool_dir), "--kfold", "0", "--workers", "2",
        "--out", str(tmp_path / "w"), home=sweep_home,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = proc.stdout
    assert out.startswith("Sweep tiny: grid, 6 trials, seed 0 [offline world 'default' (")
    assert "validation: leave-one-region-out" in out and "fold-4" in out
    assert "cv held-out" in out and "p (Holm)" in out
    assert "MLflow: run " in out and str(sweep_home) in out
    assert len(list((tmp_path / "w").glob("sweep-tiny-*.yaml"))) == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--spec", "nope.yaml"], "error: sweep spec nope.yaml: cannot read"),
        (["--pool", "/nonexistent/pool"], "error: no frozen pool at /nonexistent/pool"),
        (["--objective", "relevance"], "error: sweep options: objective: unknown metric"),
        (["--holdout-regions", "atlantis", "--trials", "2", "--no-mlflow", "--no-write"],
         "error: held-out region 'atlantis' is not in the pool"),
    ],
)  # fmt: skip
def test_errors_are_one_line(
    pool_dir: Path, sweep_home: Path, args: list[str], message: str
) -> None:
    if "--pool" not in args:
        args = [*args, "--pool", str(pool_dir)]
    proc = cli(*args, home=sweep_home)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert lines[-1].startswith(message), proc.stderr
    assert "Traceback" not in proc.stderr
