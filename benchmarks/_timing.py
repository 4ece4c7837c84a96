"""Shared helpers for the whole-process benchmarks: run a command, measure its CPU and wall time.

CPU time is the child's user + system time (``resource.getrusage(RUSAGE_CHILDREN)`` deltas), so
other jobs on a shared machine inflate it much less than wall time. Each benchmark runs its
commands interleaved (baseline, then each candidate, repeated) and reports medians, so a burst
of load hits every command alike.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).resolve().parent / "results"


@dataclass
class Samples:
    """CPU and wall seconds of every run of one command."""

    cpu: list[float] = field(default_factory=list)
    wall: list[float] = field(default_factory=list)

    @property
    def cpu_median(self) -> float:
        return statistics.median(self.cpu)

    @property
    def wall_median(self) -> float:
        return statistics.median(self.wall)


def child_env(extra: Mapping[str, str] | None = None, pythonpath: Path = ROOT) -> dict[str, str]:
    """The environment for a measured child: this checkout first on ``PYTHONPATH``, bytecode
    written and read as in a normal install (a sandbox's ``PYTHONDONTWRITEBYTECODE`` would
    make every run recompile the package), MLflow telemetry off."""
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPATH"] = str(pythonpath)
    env["MLFLOW_DISABLE_TELEMETRY"] = "true"
    env.update(extra or {})
    return env


def run_timed(
    argv: Sequence[str], env: Mapping[str, str], cwd: Path | None = None, check: bool = True
) -> tuple[float, float, subprocess.CompletedProcess[bytes]]:
    """(CPU seconds, wall seconds, the finished process) of one run of ``argv``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(list(argv), env=dict(env), cwd=cwd, capture_output=True, check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if check and proc.returncode != 0:
        tail = proc.stderr.decode("utf-8", "replace").strip().splitlines()[-3:]
        raise SystemExit(f"{' '.join(argv)} exited {proc.returncode}: {' | '.join(tail)}")
    return cpu, wall, proc


def python() -> str:
    """The interpreter running the benchmark (the project's venv under ``make bench``)."""
    return sys.executable


def write_results(name: str, payload: dict[str, Any]) -> Path:
    """Write ``benchmarks/results/NAME.json`` with the machine's description."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    payload = {
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "load_average": os.getloadavg(),
        },
        **payload,
    }
    path.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    return path


def verdict(ratio: float, target: float, at_most: bool = True) -> str:
    """``met`` or ``NOT met`` for a ratio against its target."""
    ok = ratio <= target if at_most else ratio >= target
    return "met" if ok else "NOT met"
