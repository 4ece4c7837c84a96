"""Both evaluation paths agree, in every shipped world.

For the same weights and world, the frozen-pool path (a pool of the region set scored densely as
sweeps do, :mod:`underfoot_lab.sweeps.evaluate`, and the ablation's :meth:`Pool.ndcg`) and the
pipeline path (``evaluate_region_set``: search, rank, judge, trec_eval semantics) give the same
per-query metrics, value for value, on the ``smoke`` region set.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from underfoot_lab.evaluation.ablation import ablation_pool
from underfoot_lab.evaluation.runner import evaluate_region_set
from underfoot_lab.pipeline.score.weights import ScoringWeights
from underfoot_lab.settings import Settings
from underfoot_lab.sweeps import evaluate as ev
from underfoot_lab.sweeps.spec import parse_metric
from underfoot_lab.world import build_world

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
WEIGHTS = ROOT / "experiments" / "weights"
WORLDS = sorted(p.stem for p in (ROOT / "experiments" / "worlds").glob("*.yaml"))
COLUMNS = {
    "nDCG@10": "ndcg_at_10", "P@10": "p_at_10", "R@100": "r_at_100", "RR": "mrr", "AP": "map",
    "hiddenness@10": "hiddenness_at_10", "geo_precision@10": "geo_precision_at_10",
    "expired_event_rate@10": "expired_event_rate_at_10",
}  # fmt: skip


def same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == b


def test_the_shipped_worlds_are_the_four_of_the_docs() -> None:
    assert {"default", "null", "adversarial", "popularity-biased"} <= set(WORLDS)


@pytest.mark.parametrize("world", WORLDS)
def test_pool_path_equals_pipeline_path(world: str, tmp_path: Path) -> None:
    # a home per world: cache keys and the judgment store do not carry the scenario yet
    settings = Settings(world=world, home=tmp_path)
    pool, _, _ = ablation_pool("smoke", settings=settings)
    data = ev.build_pool_data(
        pool, [parse_metric(m) for m in COLUMNS], radius_km=settings.primary_radius_km,
        world=build_world(settings),
    )  # fmt: skip
    files = ("baseline-seed.yaml", "tuned-default-world.yaml")
    weights = [ScoringWeights.from_yaml(WEIGHTS / f) for f in files]
    values = ev.evaluate_weights(data, weights)
    names = [parse_metric(m).name for m in COLUMNS]
    for i, name in enumerate(files):
        report = evaluate_region_set(
            "smoke", settings=settings, weights=WEIGHTS / name, use_cache=False, progress=False
        )
        rows = report.per_query.set_index("query_id").to_dict("index")
        assert set(rows) == set(pool.query_ids)
        for qi, qid in enumerate(pool.query_ids):
            for metric, column in COLUMNS.items():
                got = float(values[i, qi, names.index(column)])
                assert same(got, float(rows[qid][column])), (world, name, qid, metric)
        # the ablation's scorer (Pool.ndcg, exact scores) is the same number again
        full = float(pool.ndcg(pool.scores(weights[i], exact=True), 10)[0])
        assert full == pytest.approx(report.means["ndcg_at_10"], abs=1e-12), (world, name)
