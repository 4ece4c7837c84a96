"""Shared fixtures."""

from __future__ import annotations

import pytest

from underfoot_lab.pipeline.geocode.gazetteer import Gazetteer, get_gazetteer


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
