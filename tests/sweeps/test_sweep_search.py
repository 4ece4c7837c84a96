"""Trial generation: grid order, seeded random prefixes, arrays = weights files, Optuna."""

from __future__ import annotations

import math

import numpy as np
import pytest

from underfoot_lab.errors import ConfigError
from underfoot_lab.pipeline.score.features import FeatureParams
from underfoot_lab.pipeline.score.weights import ScoringWeights
from underfoot_lab.sweeps.search import OptunaSearch, SearchSpace, Trial, TrialBatch, open_storage
from underfoot_lab.sweeps.spec import ParamRange, parse_constraint


def space(default_weights: ScoringWeights) -> SearchSpace:
    return SearchSpace(
        {
            "text_bm25": ParamRange(low=-1, high=1),
            "hiddenness": ParamRange(values=(0.0, 0.1, 0.2)),
            "keyword_cap": ParamRange(low=0.05, high=1.0, log=True),
            "half_distance_km": ParamRange(values=(5.0, 20.0)),
            "cap": ParamRange(low=1.0, high=3.0),
        },
        default_weights,
        grid_steps=2,
    )


def test_random_trials_are_seeded_and_prefix_stable(default_weights: ScoringWeights) -> None:
    s = space(default_weights)
    a = s.random(50, seed=3)
    assert [t.number for t in a] == list(range(50))
    assert a[:10] == s.random(10, seed=3)
    assert s.random(5, seed=3, start=20) == a[20:25]
    assert a != s.random(50, seed=4)
    for t in a:
        assert -1 <= t.params["text_bm25"] < 1
        assert t.params["hiddenness"] in (0.0, 0.1, 0.2)
        assert 0.05 <= t.params["keyword_cap"] <= 1.0
        assert t.params["half_distance_km"] in (5.0, 20.0)
    # Log-uniform: about half the draws below the geometric middle.
    below = np.mean([t.params["keyword_cap"] < math.sqrt(0.05) for t in s.random(2000, 0)])
    assert 0.45 < below < 0.55


def test_grid_is_the_full_product_last_parameter_fastest(default_weights: ScoringWeights) -> None:
    s = space(default_weights)
    trials = s.grid()
    assert len(trials) == s.grid_points() == 2 * 3 * 2 * 2 * 2
    assert trials[0].params == {"text_bm25": -1.0, "hiddenness": 0.0, "keyword_cap": 0.05,
                                "half_distance_km": 5.0, "cap": 1.0}  # fmt: skip
    assert trials[1].params["cap"] == 3.0 and trials[1].params["text_bm25"] == -1.0
    assert len({tuple(t.params.values()) for t in trials}) == len(trials)


def test_batch_arrays_equal_stacked_weight_files(default_weights: ScoringWeights) -> None:
    s = space(default_weights)
    trials = s.random(20, seed=0)
    batch = s.batch(trials)
    ref = TrialBatch.from_weights([s.weights(t.params) for t in trials], [t.number for t in trials])
    for name in ("numbers", "matrix", "cap", "keyword_cap", "threshold", "radius_km",
                 "feature_params"):  # fmt: skip
        assert np.array_equal(getattr(batch, name), getattr(ref, name)), name
    w = s.weights(trials[0].params)
    assert w.weight("text_bm25") == trials[0].params["text_bm25"]
    assert w.weight("rating_quality") == default_weights.weight("rating_quality")
    assert w.half_distance_km == trials[0].params["half_distance_km"]
    groups = dict(batch.groups())
    assert set(groups) <= {FeatureParams(5.0, 30.0, 365.0), FeatureParams(20.0, 30.0, 365.0)}
    assert sorted(np.concatenate(list(groups.values())).tolist()) == list(range(20))
    assert [len(b) for b in batch.split(8)] == [8, 8, 4]
    assert batch.take([3, 1]).numbers.tolist() == [3, 1]


def test_space_refuses_diversity_and_unknown_parameters(default_weights: ScoringWeights) -> None:
    mmr = default_weights.model_copy(update={"diversity_lambda": 0.9})
    with pytest.raises(ConfigError, match="diversity"):
        SearchSpace({"text_bm25": ParamRange(low=0, high=1)}, mmr)
    with pytest.raises(ConfigError, match="diversity"):
        TrialBatch.from_weights([mmr])
    with pytest.raises(ConfigError, match="unknown sweep parameter"):
        SearchSpace({"bogus": ParamRange(low=0, high=1)}, default_weights)


def test_diff_lists_changed_parameters(default_weights: ScoringWeights) -> None:
    s = space(default_weights)
    d = s.diff({"text_bm25": 0.15, "hiddenness": 0.1, "keyword_cap": 0.4,
                "half_distance_km": 20.0, "cap": 2.0}, default_weights)  # fmt: skip
    assert d == {"hiddenness": (0.2, 0.1), "cap": (None, 2.0)}


def _run_study(s: SearchSpace, seed: int, storage: object = None) -> list[Trial]:
    study = OptunaSearch(
        s, study_name="t", seed=seed, maximize=True, storage=storage,
        constraints=[parse_constraint("ndcg@10 >= 0.1")],
    )  # fmt: skip
    asked: list[Trial] = []
    for _ in range(3):
        batch = study.ask(5)
        for t in batch:
            value = -((t.params["text_bm25"] - 0.3) ** 2)
            study.tell(t.number, value, {"tune.x": value}, [0.1 - value])
        asked.extend(batch)
    assert len(study.completed()) == 15
    return asked


def test_optuna_trials_are_deterministic_for_a_seed(default_weights: ScoringWeights) -> None:
    s = space(default_weights)
    a = _run_study(s, seed=1)
    b = _run_study(s, seed=1)
    assert [t.params for t in a] == [t.params for t in b]
    assert [t.params for t in a] != [t.params for t in _run_study(s, seed=2)]
    for t in a:
        assert t.params["hiddenness"] in (0.0, 0.1, 0.2)
        assert 0.05 <= t.params["keyword_cap"] <= 1.0


def test_optuna_processes_share_a_study_in_an_rdb_storage(
    default_weights: ScoringWeights, tmp_path: object
) -> None:
    s = space(default_weights)
    url = f"sqlite:///{tmp_path}/studies/optuna.sqlite3"
    first = _run_study(s, seed=1, storage=open_storage(url))
    joined = OptunaSearch(s, study_name="t", seed=1, maximize=True, storage=open_storage(url))
    assert joined.joined and len(joined.completed()) == 15
    more = joined.ask(2)
    for t in more:
        joined.tell(t.number, 0.0, {}, [])
    assert len(joined.completed()) == 17
    assert {t.number for t in more}.isdisjoint({t.number for t in first})
    with pytest.raises(ConfigError, match="cannot open Optuna storage"):
        open_storage("nosuchdb://x")
