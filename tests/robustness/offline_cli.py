"""The CLI as a separate process on an offline home, for the robustness tests that run several
processes or damage stores: no key and no ``UNDERFOOT_*``/``MLFLOW_*`` setting of the calling
environment leaks in."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def env_for(home: Path) -> dict[str, str]:
    """This environment without our settings and keys, with ``home`` offline."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("UNDERFOOT_", "MLFLOW_", "OPENAI_", "SERPAPI_", "GEOAPIFY_"))
    }
    env.update(UNDERFOOT_HOME=str(home), UNDERFOOT_MODE="offline", MLFLOW_DISABLE_TELEMETRY="true")
    return env


def start_cli(home: Path, *args: str, cwd: Path) -> subprocess.Popen[str]:
    """``underfoot-lab ARGS`` started on ``home`` in ``cwd``, its output captured as text."""
    return subprocess.Popen(
        [sys.executable, "-m", "underfoot_lab.cli", *args],
        env=env_for(home),
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
