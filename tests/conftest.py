"""Shared fixtures."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from underfoot_lab.geo.gazetteer import Gazetteer, get_gazetteer


@pytest.fixture(scope="session")
def gazetteer() -> Gazetteer:
    """The process-wide embedded gazetteer (loaded once per test session)."""
    return get_gazetteer()


def pytest_configure(config: pytest.Config) -> None:
    # Every test (and every subprocess it starts) writes under a throwaway home, never into the
    # repository's .underfoot/; tests that need their own home still set UNDERFOOT_HOME.
    import os
    import tempfile

    os.environ["UNDERFOOT_HOME"] = tempfile.mkdtemp(prefix="underfoot-tests-")
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")


@pytest.fixture(scope="module")
def mlflow_home(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Path]:
    """A fresh UNDERFOOT_HOME for one module: offline mode, no MLFLOW_TRACKING_URI (so MLflow
    uses the SQLite store under the home), and the module's ``FAKE_SECRETS`` (if it has any)
    in the environment."""
    path = tmp_path_factory.mktemp("home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("UNDERFOOT_HOME", str(path))
        mp.setenv("UNDERFOOT_MODE", "offline")
        mp.delenv("MLFLOW_TRACKING_URI", raising=False)
        for key, value in getattr(request.module, "FAKE_SECRETS", {}).items():
            mp.setenv(key, value)
        yield path
