"""Whole sweeps: splits, winners, constraints, executors, outputs, MLflow and reading back."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from underfoot_lab import tracking
from underfoot_lab.errors import ConfigError
from underfoot_lab.evaluation.candidate_pools import Pool
from underfoot_lab.pipeline.score.weights import ScoringWeights
from underfoot_lab.sweeps import (
    SweepResult,
    list_sweeps,
    load_sweep,
    make_splits,
    resolve_pool,
    run_sweep,
)
from underfoot_lab.sweeps import evaluate as ev
from underfoot_lab.sweeps.spec import SweepSpec, ValidationSpec, spec_from_options

FAKE_SECRETS = {
    "OPENAI_API_KEY": "sk-test-SECRET-sweep-0a1b2c3d",
    "SERPAPI_API_KEY": "serp-test-SECRET-sweep-4e5f6a7b",
}
RANGES = {
    "text_bm25": {"low": -1.0, "high": 1.0},
    "src_web": {"low": -1.0, "high": 1.0},
    "hiddenness": {"low": -1.0, "high": 1.0},
    "popularity": {"low": -1.0, "high": 1.0},
    "rating_quality": {"low": 0.0, "high": 2.0},
    "half_distance_km": [10.0, 20.0],
}


def spec(**fields: Any) -> SweepSpec:
    base = {
        "name": "t",
        "ranges": RANGES,
        "trials": 40,
        "validation": {"holdout": {"regions": ["pacific-northwest"]}},
        "n_resamples": 500,
        "storage": "memory",
    }
    return spec_from_options(**{**base, **fields})


def sweep(pool_dir: Path, tmp_path: Path, s: SweepSpec, **kw: Any) -> SweepResult:
    kw.setdefault("executor", "inline")
    kw.setdefault("mlflow", False)
    return run_sweep(s, pool_path=pool_dir, out=tmp_path / "w", **kw)


# ------------------------------------------------------------------------------ splits
def test_make_splits() -> None:
    regions = ["b", "a", "d", "c", "e"]
    holdout = ValidationSpec.model_validate({"holdout": {"fraction": 0.4}})
    splits, final = make_splits(regions, holdout, seed=0)
    assert splits == [final] and len(final.heldout) == 2 and len(final.tune) == 3
    assert set(final.tune) | set(final.heldout) == set(regions)
    assert make_splits(regions, holdout, seed=0) == (splits, final)
    named = ValidationSpec.model_validate({"holdout": {"regions": ["c"]}})
    assert make_splits(regions, named, 0)[1].heldout == ("c",)
    loro = ValidationSpec.model_validate({"kfold": {}})
    folds, final = make_splits(regions, loro, 0)
    assert [f.heldout for f in folds] == [("a",), ("b",), ("c",), ("d",), ("e",)]
    assert final.label == "all" and final.tune == ("a", "b", "c", "d", "e")
    two = ValidationSpec.model_validate({"kfold": {"k": 2, "seed": 1}})
    folds, _ = make_splits(regions, two, 0)
    assert sorted(r for f in folds for r in f.heldout) == sorted(regions)
    bad = [
        (ValidationSpec.model_validate({"holdout": {"regions": ["cc"]}}), "did you mean 'c'"),
        (ValidationSpec.model_validate({"holdout": {"fraction": 0.99}}), "leaves no tuning"),
        (ValidationSpec.model_validate({"kfold": {"k": 9}}), "9-fold needs at least 9"),
    ]
    for validation, message in bad:
        with pytest.raises(ConfigError, match=message):
            make_splits(regions, validation, 0)
    with pytest.raises(ConfigError, match="at least 2 regions"):
        make_splits(["a"], holdout, 0)


# ------------------------------------------------------------------------------ pools
def test_pool_resolution(pool_dir: Path, region_set_file: Path, sweep_home: Path) -> None:
    messages: list[str] = []
    s = spec(region_set=str(region_set_file))
    pool, path, built = resolve_pool(s, log=messages.append)
    assert built and path.parent == sweep_home / "pools" and "building it now" in messages[0]
    assert pool.manifest.region_set == "sweeptest"
    again, path2, built2 = resolve_pool(s, log=messages.append)
    assert (path2, built2) == (path, False) and len(messages) == 1
    assert again.manifest.pool_key == pool.manifest.pool_key
    with pytest.raises(ConfigError, match="no frozen pool at"):
        resolve_pool(s, pool_path=sweep_home / "nowhere")
    with pytest.raises(ConfigError, match="holds region set 'sweeptest', the sweep asks for 'all'"):
        resolve_pool(spec(region_set="all"), pool_path=pool_dir)


# ------------------------------------------------------------------------------ sweeps
def test_random_holdout_sweep(pool_dir: Path, tmp_path: Path, pool: Pool) -> None:
    r = sweep(pool_dir, tmp_path, spec(), cache=True)
    table = r.final_study.table
    assert len(table) == 40 and r.n_trials_run == 40
    assert r.final.heldout == ("pacific-northwest",)
    best = table.sort_values("rank").iloc[0]
    assert int(best["trial"]) == r.winner.number
    assert best["tune.ndcg_at_10"] == table["tune.ndcg_at_10"].max()
    # The weights file is the winner, and re-scoring it gives the reported tuning value.
    assert r.weights_path is not None and r.weights_path.parent == tmp_path / "w"
    written = ScoringWeights.from_yaml(r.weights_path)
    assert written == r.winner_weights and written.name == r.weights_path.stem
    assert written.name.startswith("sweep-t-")
    data = ev.build_pool_data(pool, r.metrics)
    values = ev.evaluate_weights(data, [written])
    res = ev.aggregate(data, values, np.array([0]))
    tune = res.means(data.region_mask(r.final.tune))[0]
    assert tune[data.metric_names.index("ndcg_at_10")] == best["tune.ndcg_at_10"]
    held = data.query_mask(r.final.heldout)
    assert r.summary.set_index("metric").loc["ndcg_at_10", "heldout"] == pytest.approx(
        np.nanmean(values[0, held, data.metric_names.index("ndcg_at_10")]), abs=1e-15
    )
    # Held-out rows: the winner and both baselines on the same queries.
    pq = r.per_query
    assert set(pq["system"]) == {"winner", "baseline-seed", "tuned-default-world"}
    assert set(pq["region"]) == {"pacific-northwest"} and len(pq) == 3 * int(held.sum())
    # Comparison: 2 baselines x 3 metrics, Holm-adjusted over all six.
    c = r.comparison
    assert len(c) == 6 and set(c["baseline"]) == {"baseline-seed", "tuned-default-world"}
    assert (c["p_holm"] >= c["p_rand"]).all() and (c["p_rand"] > 0).all()
    assert (c["ci_method"] == "bootstrap (queries)").all()
    # Pareto: nobody dominates a member.
    x, y = table["tune.ndcg_at_10"].to_numpy(), table["tune.hiddenness_at_10"].to_numpy()
    for _, m in r.pareto.iterrows():
        mx, my = m["tune.ndcg_at_10"], m["tune.hiddenness_at_10"]
        assert not np.any((x >= mx) & (y >= my) & ((x > mx) | (y > my)))
    assert r.trials["pareto"].sum() == len(r.pareto)
    text = r.summary_text()
    assert "[offline world 'default' (" in text and f"winner: trial {r.winner.number}" in text
    assert "p (Holm)" in text and "held out pacific-northwest" in text
    payload = r.to_payload()
    json.dumps(payload, allow_nan=False)
    assert payload["best"]["trial"] == r.winner.number and payload["pool_built"] is False


def test_same_trials_and_winner_on_every_executor(
    pool_dir: Path, tmp_path: Path, default_weights: ScoringWeights
) -> None:
    s = spec(trials=30, seed=3)
    inline = sweep(pool_dir, tmp_path, s)
    local = sweep(pool_dir, tmp_path, s, executor="local", workers=2)
    dask = sweep(pool_dir, tmp_path, s, executor="dask", workers=2)
    assert local.executor.startswith("local x2") and dask.executor.startswith("dask x2")
    for other in (local, dask):
        pd.testing.assert_frame_equal(inline.trials, other.trials)
        assert other.winner == inline.winner
        assert other.winner_weights == inline.winner_weights
    # Optuna (TPE, in-memory storage): the same asked trials and winner in-process and local.
    o = spec(method="optuna", trials=24, batch_size=6, seed=1)
    a = sweep(pool_dir, tmp_path, o)
    b = sweep(pool_dir, tmp_path, o, executor="local", workers=2)
    pd.testing.assert_frame_equal(a.trials, b.trials)
    assert a.winner == b.winner and len(a.trials) == 24


def test_constraints(pool_dir: Path, tmp_path: Path) -> None:
    free = sweep(pool_dir, tmp_path, spec())
    table = free.final_study.table
    bound = float(table["tune.geo_precision_at_10"].median())
    r = sweep(pool_dir, tmp_path, spec(constraints=[f"geo_precision@10 >= {bound}"]))
    t = r.final_study.table
    feasible = t[t["tune.geo_precision_at_10"] >= bound]
    assert r.feasible and (t["feasible"] == (t["tune.geo_precision_at_10"] >= bound)).all()
    assert r.winner.number == int(feasible.sort_values("tune.ndcg_at_10").iloc[-1]["trial"])
    impossible = sweep(pool_dir, tmp_path, spec(constraints=["geo_precision@10 >= 1.5"]))
    it = impossible.final_study.table
    assert not impossible.feasible and not it["feasible"].any()
    top = it.loc[it["violation"] == it["violation"].min()]
    assert impossible.winner.number in set(top["trial"])
    assert "NO trial meets" in impossible.summary_text()


def test_kfold_and_grid(pool_dir: Path, tmp_path: Path) -> None:
    r = sweep(pool_dir, tmp_path, spec(validation={"kfold": {}}, trials=20))
    assert [s.label for s in r.splits] == ["fold-1", "fold-2", "fold-3", "fold-4"]
    assert r.final.label == "all" and r.final_study.split.label == "all"
    win = r.per_query[r.per_query["system"] == "winner"]
    assert sorted(win["query_id"]) == sorted(r.per_query["query_id"].unique())
    assert len(win) == r.n_queries  # every query held out exactly once
    assert (r.comparison["ci_method"] == "cluster-bootstrap (regions)").all()
    assert len(r.trials) == 20 * 5 and r.n_trials_run == 20
    g = sweep(
        pool_dir, tmp_path,
        spec(method="grid", trials=None, grid_steps=2,
             ranges={"hiddenness": {"low": 0, "high": 0.4}, "popularity": [-0.5, -0.25, 0.0]}),
    )  # fmt: skip
    assert g.n_trials_run == 6 and len(g.final_study.table) == 6
    assert set(g.winner.params) == {"hiddenness", "popularity"}


# ------------------------------------------------------------------------------ MLflow
def test_mlflow_logging_and_reading_back(
    pool_dir: Path, tmp_path: Path, sweep_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in FAKE_SECRETS.items():
        monkeypatch.setenv(key, value)
    secret = FAKE_SECRETS["OPENAI_API_KEY"]
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    s = spec(description=f"leaky {secret}", top=3)
    r = sweep(pool_dir, tmp_path, s, mlflow=True, tracking_uri=uri)
    assert r.mlflow_run_id and r.tracking_uri == uri and r.experiment == "underfoot-sweeps"
    client = tracking.get_client(uri)
    parent = client.get_run(r.mlflow_run_id)
    assert parent.info.status == "FINISHED"
    assert parent.data.tags["underfoot.kind"] == "sweep"
    assert parent.data.tags["best_trial"] == str(r.winner.number)
    # The pool's world and the checkout state travel with the sweep.
    assert parent.data.tags["world"] == r.world == "default"
    assert parent.data.tags["world_hash"] == r.world_hash == parent.data.params["world_hash"]
    assert parent.data.tags["git_dirty"] in ("true", "false", "unknown")
    assert parent.data.params["method"] == "random" and parent.data.params["trials"] == "40"
    m = parent.data.metrics
    assert m["best.tune.ndcg_at_10"] == pytest.approx(r.best_row()["tune.ndcg_at_10"])
    assert (
        "vs.baseline-seed.ndcg_at_10.p_holm" in m
        and "baseline.tuned-default-world.heldout.ndcg_at_10" in m
    )
    arts = _artifacts(client, r.mlflow_run_id)
    for name in ("trials/trials.parquet", "trials/trials.csv", "per_query/per_query.csv",
                 "comparison/comparison.csv", "comparison/comparison.json",
                 "figures/pareto.html", "spec/spec.yaml", "summary/summary.json",
                 f"weights/{r.winner_weights.name}.yaml"):  # fmt: skip
        assert name in arts, name
    runs = tracking.load_runs("underfoot-sweeps", tracking_uri=uri)
    children = runs[runs["tags.underfoot.kind"] == "sweep-trial"]
    expected = set(r.final_study.table.sort_values("rank")["trial"].head(3)) | set(
        r.pareto["trial"]
    )
    assert {int(t) for t in children["tags.trial"]} == {int(t) for t in expected}
    nested = client.search_runs(
        [parent.info.experiment_id], f"tags.mlflow.parentRunId = '{r.mlflow_run_id}'"
    )
    assert {x.info.run_id for x in nested} == set(children["run_id"])
    assert set(children["tags.sweep_role"]) <= {"top", "pareto", "top,pareto"}
    # The Pareto figure opens offline: plotly.js inline, no CDN.
    local = Path(client.download_artifacts(r.mlflow_run_id, "figures/pareto.html", str(tmp_path)))
    html = local.read_text(encoding="utf-8")
    assert "<script src=" not in html and len(html) > 1_000_000 and "Pareto front" in html
    # No secret anywhere: database, artifacts, weights.
    store = [tmp_path / "mlflow.db", *(tmp_path / "mlartifacts").rglob("*")]
    for p in store:
        if p.is_file():
            assert secret.encode() not in p.read_bytes(), p
    spec_text = client.download_artifacts(r.mlflow_run_id, "spec/spec.yaml", str(tmp_path))
    assert "***" in Path(spec_text).read_text(encoding="utf-8")
    # Reading it back (what the notebook does).
    assert list_sweeps(tracking_uri=uri)["run_id"].tolist() == [r.mlflow_run_id]
    loaded = load_sweep("latest", tracking_uri=uri)
    assert loaded.run_id == r.mlflow_run_id and loaded.winner == r.winner_weights
    assert f"winner trial {r.winner.number}" in loaded.describe()
    deltas = loaded.region_deltas("baseline-seed")
    assert list(deltas["region"]) == ["pacific-northwest"]
    pq = r.per_query
    w = pq[pq["system"] == "winner"]["ndcg_at_10"].mean()
    b = pq[pq["system"] == "baseline-seed"]["ndcg_at_10"].mean()
    assert deltas["ndcg_at_10.delta"].iloc[0] == pytest.approx(w - b)
    diff = loaded.weights_diff("tuned-default-world")
    assert set(diff["parameter"]) <= set(RANGES) and len(diff) >= 1
    assert len(loaded.significance()) == 6
    assert loaded.pareto_figure().data and loaded.region_figure().data
    with pytest.raises(ConfigError, match="no finished sweep"):
        load_sweep("latest", experiment="nothing-here", tracking_uri=uri)


def _artifacts(client: Any, run_id: str, path: str | None = None) -> list[str]:
    out: list[str] = []
    for f in client.list_artifacts(run_id, path):
        out.extend(_artifacts(client, run_id, f.path) if f.is_dir else [f.path])
    return out


def test_nan_free_payload_even_without_heldout_values(pool_dir: Path, tmp_path: Path) -> None:
    r = sweep(pool_dir, tmp_path, spec(trials=5), write_weights=False)
    assert r.weights_path is None
    text = json.dumps(r.to_payload(), allow_nan=False)
    assert "NaN" not in text and not math.isnan(r.best_row()["tune.ndcg_at_10"])


def test_optuna_study_in_sqlite_is_shared_across_runs(pool_dir: Path, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'optuna.sqlite3'}"
    o = spec(method="optuna", trials=8, batch_size=4, constraints=["geo_precision@10 >= 0.2"])
    first = sweep(pool_dir, tmp_path, o, storage=url)
    second = sweep(pool_dir, tmp_path, o, storage=url)
    study = first.final_study.study_name
    assert study is not None and study.startswith(f"t-{o.study_key()[:12]}-holdout")
    assert second.final_study.study_name == study
    assert len(first.final_study.table) == 8 and len(second.final_study.table) == 16
    assert second.final_study.trials_here == 8 and "16 trials, 8 this run" in second.summary_text()
    # The second run's winner is the best of both runs' trials.
    t = second.final_study.table
    best = t[t["feasible"]].sort_values(["tune.ndcg_at_10", "trial"], ascending=[False, True])
    assert second.winner.number == int(best.iloc[0]["trial"])
