"""Shared fixtures."""

from __future__ import annotations

import pytest

from underfoot_lab.pipeline.geocode.gazetteer import Gazetteer, get_gazetteer


@pytest.fixture(scope="session")
def gazetteer() -> Gazetteer:
    """The process-wide embedded gazetteer (loaded once per test session)."""
    return get_gazetteer()
