"""Fixtures for the widget tests: offline pipelines over a request-counting world transport."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from widget_support import CountingTransport, make_settings

from underfoot_lab.evaluation.judging.pooling import load_weights
from underfoot_lab.geo.gazetteer import get_gazetteer
from underfoot_lab.pipeline.run import Pipeline
from underfoot_lab.pipeline.score.base import DEFAULT_WEIGHTS_NAME
from underfoot_lab.pipeline.score.engine import FeatureScorer
from underfoot_lab.world import WorldTransport, build_world


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


@pytest.fixture
def counting(home: Path) -> CountingTransport:
    return CountingTransport(WorldTransport(build_world(make_settings(home), get_gazetteer())))


@pytest.fixture
def pipe(home: Path, counting: CountingTransport) -> Iterator[Pipeline]:
    """A pipeline ranking with the default scorer as weights (``baseline-seed``), so the
    explorer's default table and the pipeline's ranking agree."""
    settings = make_settings(home)
    scorer = FeatureScorer(load_weights(DEFAULT_WEIGHTS_NAME), clock=lambda: settings.world_clock)
    with Pipeline(settings, scorer=scorer, transport=counting) as p:
        yield p
