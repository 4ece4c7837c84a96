"""Sanity by construction: in the ``null`` world no shipped weights beat the seed scorer.

The null scenario makes the grade independent of everything a source returns (every link 0), so
any weights file that "wins" there is reading truth the simulator leaks. One frozen pool of the
region set ``all`` built in the null world (fetch, merge, features, world-truth judgments, the
same path sweeps use), then every ``experiments/weights/*.yaml`` against the seed scorer on
per-query nDCG@10: the paired bootstrap 95 % CI of the difference must contain 0, or the
difference must be below 0.02 in absolute value. If this fails, fix the simulator, not the test.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from underfoot_lab.evaluation.candidate_pools import build_pool
from underfoot_lab.pipeline.score.weights import ScoringWeights
from underfoot_lab.settings import Settings
from underfoot_lab.sweeps.evaluate import build_pool_data, evaluate_weights

ROOT = Path(__file__).resolve().parents[2]
WEIGHTS = ROOT / "experiments" / "weights"
SEED_FILE = WEIGHTS / "baseline-seed.yaml"
RESAMPLES = 4000


def _paired_ci(diff: np.ndarray, seed: int = 0) -> tuple[float, float]:
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, diff.size, size=(RESAMPLES, diff.size))
    means = diff[idx].mean(axis=1)
    lo, hi = np.quantile(means, [0.025, 0.975])
    return float(lo), float(hi)


@pytest.fixture(scope="module")
def null_ndcg(tmp_path_factory: pytest.TempPathFactory) -> dict[str, np.ndarray]:
    home = tmp_path_factory.mktemp("null-home")
    settings = Settings(world="null", home=home, mode="offline", weights=None)
    pool = build_pool(ROOT / "data" / "regions" / "all.yaml", settings=settings)
    data = build_pool_data(pool, ["nDCG@10"], world=None)
    files = sorted(WEIGHTS.glob("*.yaml"))
    assert SEED_FILE in files and len(files) >= 2
    values = evaluate_weights(data, [ScoringWeights.from_yaml(f) for f in files])
    ok = ~data.query_error
    return {f.stem: values[i, ok, 0] for i, f in enumerate(files)}


def test_pool_is_big_enough_to_mean_something(null_ndcg: dict[str, np.ndarray]) -> None:
    seed = null_ndcg[SEED_FILE.stem]
    assert seed.size >= 200
    # The null world still has relevant places: the metric is not trivially 0.
    assert 0.05 < float(np.nanmean(seed)) < 0.9


def test_no_shipped_weights_beat_the_seed_scorer_in_the_null_world(
    null_ndcg: dict[str, np.ndarray],
) -> None:
    seed = null_ndcg[SEED_FILE.stem]
    verdicts = {}
    for name, values in null_ndcg.items():
        if name == SEED_FILE.stem:
            continue
        diff = np.nan_to_num(values) - np.nan_to_num(seed)
        lo, hi = _paired_ci(diff)
        verdicts[name] = (float(diff.mean()), lo, hi)
    leaks = {n: v for n, v in verdicts.items() if not (v[1] <= 0.0 <= v[2] or abs(v[0]) < 0.02)}
    assert leaks == {}, f"weights beating the seed scorer in the null world: {leaks}"
