"""The batch runner against the offline world: rows per query (errors included), the run
store, resuming, configs, world judgments and judge selection."""

from __future__ import annotations

import math
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest

from underfoot_lab.errors import ConfigError
from underfoot_lab.evaluation.judging.judgments import Judgment, JudgmentStore
from underfoot_lab.evaluation.judging.world_judge import qrels_hash
from underfoot_lab.evaluation.metrics.catalog import metric_names
from underfoot_lab.evaluation.metrics.kernel import evaluate
from underfoot_lab.evaluation.regions import RegionSet, load_region_set
from underfoot_lab.evaluation.results.model import EvaluationReport
from underfoot_lab.evaluation.runner import (
    RunStore,
    evaluate_region_set,
    load_report,
    new_run_id,
)
from underfoot_lab.settings import Settings

MINI = """\
name: mini
description: Two towns and one query that names no place.
region: appalachia
queries:
  - id: t-pikeville-01
    text: "hidden gems in Pikeville KY"
    expected: {place: "Pikeville", state: KY}
    tags: [general, in-town]
  - id: t-ely-01
    text: "secret swimming holes around Ely, MN"
    expected: {place: "Ely", state: MN}
    tags: [outdoors, near]
    region: upper-midwest
  - id: t-nowhere-01
    text: "best tacos"
    expected: {place: "Marfa", state: TX}
    tags: [food]
    region: desert-southwest
"""
ERROR_QID = "t-nowhere-01"
NOT_REPRODUCIBLE = ("latency_p50_ms", "latency_p95_ms")


@pytest.fixture(scope="module")
def mini(tmp_path_factory: pytest.TempPathFactory) -> RegionSet:
    path = tmp_path_factory.mktemp("regions") / "mini.yaml"
    path.write_text(MINI, encoding="utf-8")
    return load_region_set(path)


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("home")


@pytest.fixture(scope="module")
def base(mini: RegionSet, home: Path) -> EvaluationReport:
    return evaluate_region_set(
        mini, settings=Settings(home=home), use_cache=False, progress=False, concurrency=2
    )


def comparable(means: dict[str, float]) -> dict[str, float | None]:
    return {
        k: (None if math.isnan(v) else v) for k, v in means.items() if k not in NOT_REPRODUCIBLE
    }


def test_run_ids_are_short_and_readable() -> None:
    rid = new_run_id(datetime(2026, 11, 26, 10, 15, 0, tzinfo=UTC))
    assert rid.startswith("20261126-101500-") and len(rid) == len("20261126-101500-ab12cd")
    assert new_run_id() != new_run_id()


def test_one_row_per_query_including_errors(base: EvaluationReport, mini: RegionSet) -> None:
    pq = base.per_query
    assert list(pq["query_id"]) == list(mini.ids)
    assert base.n_queries == 3 and base.n_errors == 1
    err = pq.set_index("query_id").loc[ERROR_QID]
    assert err["status"] == "error" and "LocationNotFound" in err["error"]
    for name in ("ndcg_at_10", "p_at_5", "mrr", "map", "parse_accuracy", "hiddenness_at_10"):
        assert err[name] == 0.0
    assert pd.isna(err["geocode_error_km"])
    ok = pq[pq["status"] == "ok"]
    assert len(ok) == 2 and ok["error"].isna().all()
    assert (ok["n_results"] > 5).all()
    # every result is judged, plus the town's relevant places no result resolves to
    unretrieved = {q: sum(d.startswith("world:") for d in docs) for q, docs in base.qrels().items()}
    assert (ok["n_judged"] == ok["n_results"] + ok["query_id"].map(unretrieved)).all()
    assert unretrieved["t-pikeville-01"] > 0  # relevant places no source surfaced
    # the error is counted in the means (scored 0), not dropped
    assert base.means["ndcg_at_10"] == pytest.approx(pq["ndcg_at_10"].sum() / 3)
    assert base.means["ndcg_at_10"] > 0
    assert list(base.means) == metric_names(10)
    assert base.simulated and base.config.world_seed == Settings().world_seed
    assert math.isnan(base.means["cache_hit_rate"])  # cache off: no lookups
    assert set(base.per_region["region"]) == {"appalachia", "upper-midwest", "desert-southwest"}
    assert base.per_region.set_index("region").loc["desert-southwest", "errors"] == 1
    assert "total" in set(base.latency["stage"])
    assert any(s.startswith("sources.") for s in base.latency["stage"])


def test_rows_are_stored_per_query(base: EvaluationReport, home: Path) -> None:
    store = RunStore(home / "runs.sqlite3")
    rows = store.rows(base.run_id)
    assert set(rows) == {"t-pikeville-01", "t-ely-01", ERROR_QID}
    assert rows[ERROR_QID].result_json is None and rows[ERROR_QID].error
    decoded = rows["t-pikeville-01"].result()
    assert decoded is not None and decoded.place.name == "Pikeville"
    assert decoded.candidates == ()  # raw candidates are not stored
    assert store.info(base.run_id)["status"] == "complete"
    cfg = store.config(base.run_id)
    assert cfg == base.config
    assert cfg.region_set == "mini" and cfg.weights == "seed" and cfg.k == 10
    assert cfg.scorer == "seed-v1" and cfg.mode == "offline"


def test_ir_metrics_are_the_measures_modules(base: EvaluationReport) -> None:
    qrels = base.qrels()
    assert set(qrels) == {"t-pikeville-01", "t-ely-01"}
    assert base.judgments_hash == qrels_hash(qrels) and base.n_judged == 2
    got = evaluate(qrels, base.run_scores, ["nDCG@10", "P@5", "RR", "AP"], on_missing="zero")
    pq = base.per_query.set_index("query_id")
    for qid, values in got.per_query.items():
        assert pq.loc[qid, "ndcg_at_10"] == values["nDCG@10"]
        assert pq.loc[qid, "p_at_5"] == values["P@5"]
        assert pq.loc[qid, "mrr"] == values["RR"]
        assert pq.loc[qid, "map"] == values["AP"]


def test_world_judgments_are_in_the_store(base: EvaluationReport, home: Path) -> None:
    store = JudgmentStore(home / "judgments.sqlite3")
    assert store.judges() == ["world"]
    rows = store.for_queries(["t-pikeville-01"], ["world"])
    assert {j.doc_id: j.grade for j in rows} == base.qrels()["t-pikeville-01"]
    assert all(j.note and "seed=" in j.note for j in rows)
    assert {j.grade for j in rows} <= {0, 1, 2, 3}


def test_load_report_rebuilds_the_same_report(base: EvaluationReport, home: Path) -> None:
    again = load_report(base.run_id, settings=Settings(home=home))
    assert again.means == pytest.approx(base.means, nan_ok=True)
    assert again.judgments_hash == base.judgments_hash
    assert again.run_lines() == base.run_lines()


def test_resume_recomputes_only_missing(mini: RegionSet, tmp_path: Path) -> None:
    settings = Settings(home=tmp_path)
    first = evaluate_region_set(mini, settings=settings, use_cache=False, progress=False)
    store = RunStore(settings=settings)
    before = store.rows(first.run_id)
    with sqlite3.connect(store.path) as conn:  # as if killed before these two finished
        conn.execute(
            "DELETE FROM results WHERE run_id = ? AND query_id IN (?, ?)",
            (first.run_id, "t-ely-01", ERROR_QID),
        )
    assert load_report(first.run_id, settings=settings).status == "partial"
    resumed = evaluate_region_set(
        mini, settings=settings, use_cache=False, progress=False, run_id=first.run_id, resume=True
    )
    after = store.rows(first.run_id)
    assert after["t-pikeville-01"] == before["t-pikeville-01"]  # untouched
    new_session = after["t-ely-01"].session
    assert new_session != before["t-pikeville-01"].session
    assert after[ERROR_QID].session == new_session
    assert resumed.run_id == first.run_id and resumed.status == "complete"
    assert comparable(resumed.means) == comparable(first.means)
    assert resumed.judgments_hash == first.judgments_hash
    assert resumed.run_lines() == first.run_lines()


def test_config_errors(mini: RegionSet, base: EvaluationReport, home: Path) -> None:
    settings = Settings(home=home)
    with pytest.raises(ConfigError, match=r"config differs .*k: 10 -> 5"):
        evaluate_region_set(
            mini, settings=settings, k=5, run_id=base.run_id, resume=True, progress=False
        )
    with pytest.raises(ConfigError, match="no run 'nope'"):
        evaluate_region_set(mini, settings=settings, run_id="nope", resume=True, progress=False)
    with pytest.raises(ConfigError, match="needs the run_id"):
        evaluate_region_set(mini, settings=settings, resume=True, progress=False)
    with pytest.raises(ConfigError, match="already exists"):
        evaluate_region_set(mini, settings=settings, run_id=base.run_id, progress=False)
    with pytest.raises(ConfigError, match=r"weights no/such\.yaml: cannot read"):
        evaluate_region_set(mini, settings=settings, weights="no/such.yaml", progress=False)


def test_cache_hits_give_the_same_metrics(mini: RegionSet, tmp_path: Path) -> None:
    settings = Settings(home=tmp_path)
    cold = evaluate_region_set(mini, settings=settings, progress=False)
    warm = evaluate_region_set(mini, settings=settings, progress=False)
    assert cold.cache.misses == 2 and cold.means["cache_hit_rate"] == 0.0
    assert warm.cache.hits_sqlite == 2 and warm.means["cache_hit_rate"] == 1.0
    assert set(warm.per_query["cache_status"].dropna()) == {"hit-sqlite"}
    skip = (*NOT_REPRODUCIBLE, "cache_hit_rate")
    assert {k: v for k, v in comparable(warm.means).items() if k not in skip} == {
        k: v for k, v in comparable(cold.means).items() if k not in skip
    }


def test_judge_selection(base: EvaluationReport, home: Path, tmp_path: Path) -> None:
    # a copy of the run's home, so the shared fixture's store is not changed
    import shutil

    for name in ("runs.sqlite3", "judgments.sqlite3"):
        shutil.copy(home / name, tmp_path / name)
    settings = Settings(home=tmp_path)
    store = JudgmentStore(settings=settings)
    docs = sorted(base.qrels()["t-pikeville-01"])[:3]
    store.add(
        [
            Judgment("t-pikeville-01", docs[0], 3, "human:alice"),
            Judgment("t-pikeville-01", docs[1], 0, "human:bob"),
            Judgment("t-pikeville-01", "not-retrieved", 2, "human:alice"),
            # the world of another seed: never mixed into this world's qrels
            Judgment("t-pikeville-01", "ghost", 3, "world", note="offline world seed=1 clock=x"),
        ]
    )
    humans = load_report(base.run_id, settings=settings, judges="human:*")
    assert humans.qrels() == {"t-pikeville-01": {docs[0]: 3, docs[1]: 0, "not-retrieved": 2}}
    assert (
        humans.n_judged == 1
        and humans.per_query.set_index("query_id").loc["t-ely-01", "ndcg_at_10"] == 0.0
    )
    alice = load_report(base.run_id, settings=settings, judges="human:alice")
    assert set(alice.qrels()["t-pikeville-01"]) == {docs[0], "not-retrieved"}
    world = load_report(base.run_id, settings=settings)
    assert "ghost" not in world.qrels()["t-pikeville-01"]
    assert world.judgments_hash == base.judgments_hash
    merged = load_report(base.run_id, settings=settings, judges="merged:max")
    assert merged.qrels()["t-pikeville-01"][docs[0]] == 3
    assert "t-ely-01" in merged.qrels()
    with pytest.raises(ConfigError, match="no judgments by 'llm:\\*'"):
        load_report(base.run_id, settings=settings, judges="llm:*")
    with pytest.raises(ConfigError, match="unknown merge rule"):
        load_report(base.run_id, settings=settings, judges="merged:median")
