"""The dense sweep path against the reference paths, value for value.

* IR metrics: ``kernel.evaluate`` (trec_eval semantics) on a run built from the same scores;
* rankings: ``FeatureScorer(weights).rank_matrix`` on the same entities (ids, scores, order,
  primary/nearby);
* domain metrics: ``evaluation.domain``'s functions on search results built from those
  rankings, with the pool's offline world;
* everything at once: an ``evaluate_region_set`` run (the pipeline, end to end).
"""

from __future__ import annotations

import math
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from underfoot_lab.evaluation.candidate_pools import Pool
from underfoot_lab.evaluation.metrics import domain, kernel
from underfoot_lab.evaluation.metrics.measure_names import parse_measure
from underfoot_lab.evaluation.runner import evaluate_region_set
from underfoot_lab.geo.gazetteer import get_gazetteer
from underfoot_lab.pipeline.score.engine import FeatureScorer
from underfoot_lab.pipeline.score.weights import ScoringWeights
from underfoot_lab.records import Answer, CacheInfo, SearchResult, SourceStatus, StageTrace
from underfoot_lab.settings import Settings
from underfoot_lab.sweeps import evaluate as ev
from underfoot_lab.sweeps.search import SearchSpace, TrialBatch
from underfoot_lab.sweeps.spec import ParamRange, parse_metric
from underfoot_lab.world import World

IR = ("nDCG@10", "nDCG@5", "P@5", "P@10", "R@100", "RR", "AP")
DOMAIN = ("hiddenness@10", "hiddenness@3", "geo_precision@10", "nearby_ratio",
          "corroboration@10", "expired_event_rate@10")  # fmt: skip
METRICS = tuple(parse_metric(m) for m in (*IR, *DOMAIN))


@pytest.fixture(scope="module")
def data(pool: Pool) -> ev.PoolData:
    return ev.build_pool_data(pool, METRICS, radius_km=25.0)


@pytest.fixture(scope="module")
def trial_weights(default_weights: ScoringWeights, seed_weights: ScoringWeights) -> list[Any]:
    """The baseline (many exact ties), default, and random settings with caps and radii."""
    swept = ("text_bm25", "src_web", "hiddenness", "popularity", "keyword_count", "freshness",
             "distance_decay", "rating_quality")  # fmt: skip
    space = SearchSpace(
        {
            **{f: ParamRange(low=-1, high=1) for f in swept},
            "cap": ParamRange(values=(0.5, 1.0, 2.0)),
            "primary_threshold": ParamRange(low=0.0, high=1.0),
            "primary_radius_km": ParamRange(values=(5.0, 25.0)),
            "half_distance_km": ParamRange(values=(5.0, 10.0)),
        },
        default_weights,
    )
    # Coarse weights (multiples of 0.25) make exact ties common, so tie-breaking is tested.
    coarse = [
        space.weights({k: (round(v * 4) / 4 if k in swept else v) for k, v in t.params.items()})
        for t in space.random(6, seed=11)
    ]  # fmt: skip
    fine = [space.weights(t.params) for t in space.random(6, seed=12)]
    return [seed_weights, default_weights, *coarse, *fine]


def search_result(pool: Pool, qi: int, ranked: tuple[Any, ...]) -> SearchResult:
    q = pool.query(qi)
    assert q.parsed is not None and q.place is not None
    return SearchResult(
        query=q.text, parsed=q.parsed, place=q.place, results=ranked,
        answer=Answer(text="", responder="template"),
        trace=(StageTrace("total", 1.0, "ok"),),
        sources=tuple(SourceStatus(s, "ok", 1, 1.0) for s in pool.manifest.sources),
        cache=CacheInfo(status="bypass", key=""), scorer="features", simulated=True,
    )  # fmt: skip


def same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == b


def test_ir_metrics_equal_trec_eval_path(
    pool: Pool, data: ev.PoolData, trial_weights: list[ScoringWeights]
) -> None:
    values = ev.evaluate_weights(data, trial_weights)
    qrels = {q: d for q, d in pool.qrels().items() if d}
    checked = 0
    for i, w in enumerate(trial_weights):
        scores = pool.scores(w, exact=True)[0]
        run = {q: d for q, d in pool.run(scores).items() if d}
        ref = kernel.evaluate(qrels, run, list(IR), on_missing="zero")
        for qi, qid in enumerate(pool.query_ids):
            for j, m in enumerate(IR):
                got = float(values[i, qi, j])
                if qid in ref.per_query:
                    assert got == ref.per_query[qid][str(parse_measure(m))], (
                        i,
                        qid,
                        m,
                    )
                    checked += 1
                else:  # the query the pipeline rejected: no entities, scored 0
                    assert got == 0.0 and pool.query(qi).error is not None
    assert checked == len(trial_weights) * len(qrels) * len(IR)
    # the qrels hold relevant places no entity resolves to: recall below 1 is measured
    unretrieved = {q: [d for d in docs if d.startswith("world:")] for q, docs in qrels.items()}
    assert sum(map(len, unretrieved.values())) == len(pool.unretrieved_ids) > 0
    recall = values[:, :, IR.index("R@100")]
    missed = [qi for qi, q in enumerate(pool.query_ids) if unretrieved.get(q)]
    assert missed and (recall[:, missed] < 1.0).all()


def test_rankings_equal_the_feature_scorer(
    pool: Pool, data: ev.PoolData, trial_weights: list[ScoringWeights]
) -> None:
    rankings = ev.trial_rankings(data, TrialBatch.from_weights(trial_weights))
    now = pool.now
    ties = 0
    for w, ranking in zip(trial_weights, rankings, strict=True):
        scorer = FeatureScorer(w, clock=lambda: now)
        for q in pool:
            expected = scorer.rank_matrix(q.entities, q.features) if q.entities else []
            got = ranking[q.id]
            assert [(r.id, r.score, r.category) for r in expected] == got, (w.name, q.id)
            scores = [s for _, s, _ in got]
            ties += len(scores) - len(set(scores))
    assert ties > 100  # the baseline and the coarse settings tie a lot: tie-breaking is covered


def test_domain_metrics_equal_the_domain_module(
    pool: Pool, data: ev.PoolData, trial_weights: list[ScoringWeights]
) -> None:
    m = pool.manifest
    assert m.world_seed is not None and m.world_clock is not None
    world = World(m.world_seed, get_gazetteer(), datetime.fromisoformat(m.world_clock))
    values = ev.evaluate_weights(data, trial_weights)
    names = [x.name for x in METRICS]
    now = pool.now
    for i, w in enumerate(trial_weights[:8]):
        scorer = FeatureScorer(w, clock=lambda: now)
        for qi, q in enumerate(pool):
            got = dict(zip(names, values[i, qi].tolist(), strict=True))
            if q.error is not None:
                errors = domain.error_values(10)
                for n in ("hiddenness_at_10", "geo_precision_at_10", "nearby_ratio",
                          "corroboration_at_10", "expired_event_rate_at_10"):  # fmt: skip
                    assert same(got[n], errors[n]), n
                continue
            result = search_result(pool, qi, tuple(scorer.rank_matrix(q.entities, q.features)))
            expected = {
                "hiddenness_at_10": domain.hiddenness_at_k(result, 10, world=world),
                "hiddenness_at_3": domain.hiddenness_at_k(result, 3, world=world),
                "geo_precision_at_10": domain.geo_precision_at_k(result, 10, radius_km=25.0),
                "nearby_ratio": domain.nearby_ratio(result),
                "corroboration_at_10": domain.corroboration_at_k(result, 10),
                "expired_event_rate_at_10": domain.expired_event_rate_at_k(result, 10, clock=now),
            }
            for n, v in expected.items():
                assert same(got[n], v), (w.name, q.id, n, got[n], v)
    assert values.shape == (len(trial_weights), len(pool), len(METRICS))


def test_values_equal_an_evaluation_run(
    pool: Pool,
    data: ev.PoolData,
    region_set_file: Path,
    seed_weights: ScoringWeights,
    default_weights: ScoringWeights,
) -> None:
    """The whole pipeline (``evaluate_region_set``, cache off) agrees with the sweep path."""
    repo = Path(__file__).resolve().parents[2]
    files = (
        repo / "experiments" / "weights" / "baseline-seed.yaml",
        repo / "tests" / "fixtures" / "weights" / "sweep-unit-base.yaml",  # default_weights
    )
    values = ev.evaluate_weights(data, [seed_weights, default_weights])
    names = [x.name for x in METRICS]
    columns = ["ndcg_at_10", "ndcg_at_5", "p_at_5", "p_at_10", "r_at_100", "mrr", "map",
               "hiddenness_at_10", "geo_precision_at_10", "nearby_ratio", "corroboration_at_10",
               "expired_event_rate_at_10"]  # fmt: skip
    for i, name in enumerate(files):
        report = evaluate_region_set(
            region_set_file, settings=Settings(), weights=name, use_cache=False,
            progress=False,
        )  # fmt: skip
        rows = report.per_query.set_index("query_id").to_dict("index")
        for qi, qid in enumerate(pool.query_ids):
            for c in columns:
                got = float(values[i, qi, names.index(c)])
                assert same(got, float(rows[qid][c])), (name, qid, c)
        res = ev.aggregate(data, values[i : i + 1], np.array([i]))
        means = res.means(np.ones(len(data.regions), dtype=bool))[0]
        for c in columns:
            assert means[names.index(c)] == pytest.approx(report.means[c], abs=1e-12), c


def test_chunking_and_means(
    data: ev.PoolData, trial_weights: list[ScoringWeights], pool: Pool
) -> None:
    batch = TrialBatch.from_weights(trial_weights)
    whole = ev.evaluate_batch(data, batch)
    parts = ev.BatchResult.concat([ev.evaluate_batch(data, b) for b in batch.split(5)])
    assert np.array_equal(whole.sums, parts.sums) and np.array_equal(whole.counts, parts.counts)
    assert whole.numbers.tolist() == list(range(len(trial_weights)))
    per_query = ev.evaluate_batch(data, batch, per_query=True)
    for regions in (["appalachia"], ["upper-midwest", "pacific-northwest"], list(data.regions)):
        qmask = data.query_mask(regions)
        expected = np.nanmean(per_query[:, qmask, :], axis=1)
        np.testing.assert_allclose(whole.means(data.region_mask(regions)), expected, rtol=1e-12)
    assert data.regions == ("appalachia", "desert-southwest", "pacific-northwest",
                            "upper-midwest")  # fmt: skip
    assert data.query_error.sum() == 1 and data.n_entities == pool.features.values.shape[0]


def test_entity_values_are_cached(pool: Pool, tmp_path: Path, monkeypatch: Any) -> None:
    first = ev.build_pool_data(pool, ["nDCG@10", "hiddenness@10"], cache_dir=tmp_path)
    files = list(tmp_path.glob("domain-*.npz"))
    assert len(files) == 1 and pool.manifest.pool_key[:12] in files[0].name

    def boom(*a: Any, **k: Any) -> Any:
        raise AssertionError("recomputed despite the cache")

    monkeypatch.setattr(ev, "entity_domain_values", boom)
    second = ev.build_pool_data(pool, ["nDCG@10", "hiddenness@10"], cache_dir=tmp_path)
    for name in ("hidden", "inside", "expired", "n_sources"):
        assert np.array_equal(getattr(first, name), getattr(second, name), equal_nan=True)
    # Another radius is another cache entry.
    monkeypatch.undo()
    ev.build_pool_data(pool, ["geo_precision@10"], radius_km=5.0, cache_dir=tmp_path)
    assert len(list(tmp_path.glob("domain-*.npz"))) == 2
