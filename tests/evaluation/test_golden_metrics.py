"""Refactors do not move results: metrics on region set ``all`` equal the recorded ones exactly.

The fixture holds what ``evaluate --region-set all`` printed for the shipped weights. A change
that means to move metrics (a new world, a new scorer) regenerates it on purpose:

    UNDERFOOT_REGENERATE_GOLDEN=1 python -m pytest tests/evaluation/test_golden_metrics.py

and says so in its commit message; any other change must leave it untouched.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "tests" / "fixtures" / "golden" / "all-metrics.json"
# Timings and cache counts depend on the machine, not on the code's results.
UNSTABLE = {"latency_p50_ms", "latency_p95_ms", "latency_p99_ms", "cache_hit_rate"}


def _evaluate(weights: str, home: Path) -> dict[str, object]:
    env = {**os.environ, "UNDERFOOT_HOME": str(home), "UNDERFOOT_MODE": "offline"}
    env.pop("UNDERFOOT_WORLD", None)
    p = subprocess.run(
        [
            sys.executable,
            "-m",
            "underfoot_lab.cli",
            "evaluate",
            "--region-set",
            "all",
            "--weights",
            str(ROOT / "experiments" / "weights" / f"{weights}.yaml"),
            "--no-cache",
            "--no-mlflow",
            "--no-progress",
            "--json",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        cwd=ROOT,
    )
    assert p.returncode == 0, p.stderr
    data = json.loads(p.stdout)
    metrics = {k: v for k, v in data["metrics"].items() if k not in UNSTABLE}
    return {"queries": data["queries"], "metrics": metrics}


@pytest.mark.parametrize("weights", ["baseline-seed"])
def test_metrics_on_all_are_unchanged(weights: str, tmp_path: Path) -> None:
    got = _evaluate(weights, tmp_path)
    golden = json.loads(GOLDEN.read_text(encoding="utf-8"))
    if os.environ.get("UNDERFOOT_REGENERATE_GOLDEN") == "1":
        golden[weights] = got
        GOLDEN.write_text(json.dumps(golden, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    want = golden[weights]
    want_metrics = {k: v for k, v in want["metrics"].items() if k not in UNSTABLE}
    assert got["queries"] == want["queries"]
    assert got["metrics"] == want_metrics
