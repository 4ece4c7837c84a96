"""A small frozen pool (four regions, one failing query) in a temporary home, built once."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from underfoot_lab.evaluation.candidate_pools import Pool, build_pool, load_pool, write_pool
from underfoot_lab.pipeline.score.weights import ScoringWeights
from underfoot_lab.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
WEIGHTS = ROOT / "experiments" / "weights"

REGION_SET = """\
name: sweeptest
description: eleven queries in four regions, one of them unanswerable
queries:
  - id: s-pikeville-01
    text: "hidden gems in Pikeville KY"
    expected: {place: "Pikeville", state: KY}
    tags: [general, in-town]
    region: appalachia
  - id: s-hazard-01
    text: "weird stuff to do near Hazard, KY"
    expected: {place: "Hazard", state: KY}
    tags: [weird, near]
    region: appalachia
  - id: s-nowhere-01
    text: "hidden gems"
    expected: {place: "Pikeville", state: KY}
    tags: [general]
    region: appalachia
  - id: s-ely-01
    text: "secret swimming holes around Ely, MN"
    expected: {place: "Ely", state: MN}
    tags: [outdoors, near]
    region: upper-midwest
  - id: s-duluth-01
    text: "dive bars in Duluth MN"
    expected: {place: "Duluth", state: MN}
    tags: [nightlife, in-town]
    region: upper-midwest
  - id: s-marfa-01
    text: "dive bars in Marfa TX"
    expected: {place: "Marfa", state: TX}
    tags: [nightlife, in-town]
    region: desert-southwest
  - id: s-bisbee-01
    text: "weird things to see in Bisbee AZ"
    expected: {place: "Bisbee", state: AZ}
    tags: [weird, in-town]
    region: desert-southwest
  - id: s-silver-city-01
    text: "local food in Silver City NM"
    expected: {place: "Silver City", state: NM}
    tags: [food, in-town]
    region: desert-southwest
  - id: s-astoria-01
    text: "hidden gem restaurants in Astoria OR"
    expected: {place: "Astoria", state: OR}
    tags: [food, in-town]
    region: pacific-northwest
  - id: s-port-townsend-01
    text: "events in Port Townsend WA this weekend"
    expected: {place: "Port Townsend", state: WA}
    tags: [events, in-town]
    region: pacific-northwest
  - id: s-hood-river-01
    text: "off the beaten path hikes near Hood River OR"
    expected: {place: "Hood River", state: OR}
    tags: [outdoors, near]
    region: pacific-northwest
"""


@pytest.fixture(scope="session")
def sweep_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The UNDERFOOT_HOME of every sweep test (pools, caches, MLflow, Optuna)."""
    return tmp_path_factory.mktemp("sweephome")


@pytest.fixture(autouse=True)
def sweep_env(sweep_home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Offline, in the test home, no MLflow server, no weights override (per test, so the
    variables never leak into other test directories)."""
    monkeypatch.setenv("UNDERFOOT_HOME", str(sweep_home))
    monkeypatch.setenv("UNDERFOOT_MODE", "offline")
    monkeypatch.setenv("MLFLOW_DISABLE_TELEMETRY", "true")
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("UNDERFOOT_WEIGHTS", raising=False)
    yield


@pytest.fixture(scope="session")
def region_set_file(sweep_home: Path) -> Path:
    path = sweep_home / "sweeptest.yaml"
    path.write_text(REGION_SET, encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def pool_dir(sweep_home: Path, region_set_file: Path) -> Path:
    """The test pool, written to ``<home>/pool`` (built once per session)."""
    out = sweep_home / "pool"
    settings = Settings(home=sweep_home, mode="offline")
    write_pool(build_pool(region_set_file, settings=settings, concurrency=8), out)
    return out


@pytest.fixture(scope="session")
def pool(pool_dir: Path) -> Pool:
    return load_pool(pool_dir)


@pytest.fixture(scope="session")
def seed_weights() -> ScoringWeights:
    return ScoringWeights.from_yaml(WEIGHTS / "baseline-seed.yaml")


@pytest.fixture(scope="session")
def default_weights() -> ScoringWeights:
    # A fixed file: the unit tests' expectations must not move when the shipped weights are
    # re-tuned.
    return ScoringWeights.from_yaml(
        WEIGHTS.parents[1] / "tests/fixtures/weights/sweep-unit-base.yaml"
    )
