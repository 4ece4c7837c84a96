"""EvaluationReport: building from outcomes, TREC run/qrels, save/load round trip, names,
summary text, and paired comparison of two reports."""

from __future__ import annotations

import json
from dataclasses import replace
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from underfoot_lab.commands.metrics import metrics_cli_payload
from underfoot_lab.errors import ConfigError
from underfoot_lab.evaluation.metrics.catalog import display_names, metric_names, resolve_metric
from underfoot_lab.evaluation.metrics.kernel import evaluate
from underfoot_lab.evaluation.metrics.trec import ranked, read_run
from underfoot_lab.evaluation.regions import ExpectedPlace, RegionQuery
from underfoot_lab.evaluation.results.build import build_report, trec_scores
from underfoot_lab.evaluation.results.compare import compare_reports, format_comparison
from underfoot_lab.evaluation.results.model import EvaluationReport, QueryOutcome, RunConfig
from underfoot_lab.geo.gazetteer import Gazetteer
from underfoot_lab.records import (
    Answer,
    CacheInfo,
    Candidate,
    ParsedQuery,
    Place,
    RankedResult,
    SearchResult,
    SourceStatus,
    StageTrace,
)

CONFIG = RunConfig(
    region_set="handmade",
    region_set_hash="ab" * 32,
    weights="seed",
    weights_hash="seed",
    scorer="seed-v1",
    k=10,
    sources=("serpapi_local", "reddit"),
    mode="offline",
    simulated=True,
    world_seed=1,
    world_clock="2026-06-15T12:00:00+00:00",
    primary_radius_km=25.0,
    pipeline_version="0.1.0",
    git_commit="0" * 40,
    world="null",
    world_hash="f" * 16,
)


def ranked_result(rid: str, score: float, distance: float | None = 3.0) -> RankedResult:
    m = Candidate("serpapi_local", "local", rid, rid, rid, "", f"https://x.example/{rid}", 1)
    return RankedResult(
        id=rid,
        title=rid,
        url=m.url,
        sources=("serpapi_local",),
        score=score,
        category="primary",
        distance_km=distance,
        lat=None,
        lon=None,
        description="",
        mentions=(m,),
        simulated=True,
    )


def search(results: list[RankedResult], total_ms: float, status: str = "miss") -> SearchResult:
    return SearchResult(
        query="q",
        parsed=ParsedQuery("q", "Pikeville, KY", "hidden gems", 1.0, "heuristic", None, "KY"),
        place=Place(
            "Pikeville", "Kentucky", "KY", None, "US", 37.4793, -82.5188, 7000, 1.0, "gazetteer"
        ),
        results=tuple(results),
        answer=Answer("a", "template", named_ids=tuple(r.id for r in results[:2])),
        trace=(
            StageTrace("parse", 1.0, "ok"),
            StageTrace("sources.reddit", total_ms / 2, "ok"),
            StageTrace("total", total_ms, "ok"),
        ),
        sources=(SourceStatus("serpapi_local", "ok", 1, 1.0), SourceStatus("reddit", "ok", 1, 1.0)),
        cache=CacheInfo(status=status, key="k"),  # type: ignore[arg-type]
        scorer="seed-v1",
        simulated=True,
    )


def q(qid: str, region: str) -> RegionQuery:
    return RegionQuery(
        id=qid,
        text="hidden gems in Pikeville KY",
        expected=ExpectedPlace(place="Pikeville", state="KY"),
        tags=("general", "in-town"),
        region=region,
    )


@pytest.fixture
def report(gazetteer: Gazetteer) -> EvaluationReport:
    outcomes = [
        # score-ordered with a tie (ids descending break it, as trec_eval does)
        QueryOutcome(
            q("q-1", "east"),
            search(
                [
                    ranked_result("d", 0.9),
                    ranked_result("c", 0.5),
                    ranked_result("a", 0.5),
                    ranked_result("b", 0.1, None),
                ],
                100.0,
            ),
        ),
        # a diversity re-rank: not score-ordered, so rank-based scores are written
        QueryOutcome(
            q("q-2", "west"),
            search(
                [ranked_result("x", 0.2), ranked_result("y", 0.8), ranked_result("z", 0.5)], 300.0
            ),
        ),
        QueryOutcome(q("q-3", "west"), None, "LocationNotFound: no place", 12.0),
    ]
    qrels = {
        "q-1": {"a": 3, "b": 0, "c": 1, "unretrieved": 2},
        "q-2": {"y": 2, "z": 0},
        "other": {"n": 1},  # not a query of this run: ignored
    }
    return build_report(
        "20261126-101500-ab12cd",
        CONFIG,
        outcomes,
        qrels,
        judges="world",
        gazetteer=gazetteer,
        created_at="2026-11-26T10:15:00+00:00",
    )


def test_trec_scores_keep_our_order() -> None:
    ordered = [ranked_result("d", 0.9), ranked_result("c", 0.5), ranked_result("a", 0.5)]
    assert trec_scores(ordered) == {"d": 0.9, "c": 0.5, "a": 0.5}
    # a tie in the wrong id order, a re-rank, a repeated id: rank-based scores
    tie = [ranked_result("a", 0.5), ranked_result("c", 0.5)]
    assert trec_scores(tie) == {"a": 2.0, "c": 1.0}
    rerank = [ranked_result("x", 0.2), ranked_result("y", 0.8)]
    assert [d for d, _ in ranked(trec_scores(rerank))] == ["x", "y"]
    dup = [ranked_result("x", 0.9), ranked_result("x", 0.1), ranked_result("y", 0.5)]
    assert trec_scores(dup) == {"x": 0.9, "y": 0.5}
    assert trec_scores([]) == {}


def test_build_report(report: EvaluationReport) -> None:
    pq = report.per_query.set_index("query_id")
    assert list(pq.index) == ["q-1", "q-2", "q-3"]
    assert report.n_queries == 3 and report.n_errors == 1 and report.n_judged == 2
    assert set(report.qrels()) == {"q-1", "q-2"}
    want = evaluate(report.qrels(), report.run_scores, ["nDCG@10", "RR"], on_missing="zero")
    assert pq.loc["q-1", "ndcg_at_10"] == want.per_query["q-1"]["nDCG@10"]
    assert pq.loc["q-2", "mrr"] == 0.5  # y is second in our order
    assert pq.loc["q-3", "ndcg_at_10"] == 0.0 and pq.loc["q-3", "status"] == "error"
    assert report.means["mrr"] == pytest.approx((1 / 2 + 1 / 2 + 0) / 3)
    assert pq.loc["q-1", "geo_precision_at_10"] == 0.75
    assert report.means["latency_p50_ms"] == 200.0  # of the two searches' totals
    assert report.means["latency_p95_ms"] == pytest.approx(100 + 0.95 * 200)
    assert report.means["cache_hit_rate"] == 0.0
    assert pq.loc["q-3", "latency_total_ms"] == 12.0
    assert list(report.means) == metric_names(10)
    regions = report.per_region.set_index("region")
    assert regions.loc["west", "n"] == 2 and regions.loc["west", "errors"] == 1
    assert regions.loc["west", "mrr"] == pytest.approx(0.25)
    assert report.display_means()["nDCG@10"] == report.means["ndcg_at_10"]


def test_run_lines_and_trec_eval_agree(report: EvaluationReport, tmp_path: Path) -> None:
    lines = report.run_lines()
    assert lines[0] == "q-1 Q0 d 1 0.9 20261126-101500-ab12cd"
    assert [ln.split()[2] for ln in lines if ln.startswith("q-1 ")] == ["d", "c", "a", "b"]
    assert [ln.split()[2] for ln in lines if ln.startswith("q-2 ")] == ["x", "y", "z"]
    assert read_run(lines) == report.run_scores
    out = report.save(tmp_path / "rep")
    payload = metrics_cli_payload(
        out / "qrels.txt", out / "run.trec", ["nDCG@10", "P@5", "RR", "AP"], True
    )
    # the saved qrels hold only judged queries; the error query scores 0 in both
    pq = report.per_query.set_index("query_id")
    for qid, values in payload["per_query"].items():
        assert values["nDCG@10"] == pq.loc[qid, "ndcg_at_10"]
        assert values["AP"] == pq.loc[qid, "map"]


def test_save_load_round_trip(report: EvaluationReport, tmp_path: Path) -> None:
    out = report.save(tmp_path / "rep")
    for name in ("per_query.csv", "per_query.parquet", "run.trec", "qrels.txt", "report.json"):
        assert (out / name).is_file(), name
    meta = json.loads((out / "report.json").read_text())
    assert meta["metrics"]["ndcg_at_10"] == report.means["ndcg_at_10"]
    assert meta["world"] == "null" and meta["world_hash"] == "f" * 16
    loaded = EvaluationReport.load(out)
    pd.testing.assert_frame_equal(loaded.per_query, report.per_query)
    pd.testing.assert_frame_equal(loaded.per_region, report.per_region)
    pd.testing.assert_frame_equal(loaded.latency, report.latency)
    assert loaded.means == pytest.approx(report.means, nan_ok=True)
    assert loaded.config == report.config
    assert loaded.cache == report.cache
    assert loaded.run_lines() == report.run_lines()
    assert loaded.qrels() == report.qrels()
    assert loaded.judgments_hash == report.judgments_hash
    assert (loaded.run_id, loaded.n_queries, loaded.n_errors, loaded.n_judged) == (
        report.run_id, 3, 1, 2,
    )  # fmt: skip
    assert loaded.summary_table() == report.summary_table()
    with pytest.raises(ConfigError, match=r"no report\.json"):
        EvaluationReport.load(tmp_path)


def test_summary_table(report: EvaluationReport) -> None:
    text = report.summary_table()
    for fragment in (
        "20261126-101500-ab12cd",
        "offline world 'null' (ffffffff), simulated",
        "nDCG@10",
        "MRR",
        "Hiddenness@10",
        "3 queries, 1 errors",
        "east",
        "west",
        "p50 ms",
        "total",
        "cache: hit rate",
    ):
        assert fragment in text, fragment


def test_metric_names_and_resolution() -> None:
    names = display_names(10)
    assert names["ndcg_at_10"] == "nDCG@10" and names["mrr"] == "MRR" and names["map"] == "MAP"
    assert names["r_at_100"] == "R@100" and names["latency_p95_ms"] == "Latency p95 (ms)"
    assert all(n.replace("_", "").isalnum() and n == n.lower() for n in metric_names(10))
    assert "ndcg_at_20" in metric_names(20) and "hiddenness_at_20" in metric_names(20)
    assert "ndcg_at_5" in metric_names(5) and "p_at_5" in metric_names(5)
    for text, want in [
        ("nDCG@10", "ndcg_at_10"),
        ("ndcg_cut_10", "ndcg_at_10"),
        ("RR", "mrr"),
        ("MAP", "map"),
        ("AP", "map"),
        ("P@5", "p_at_5"),
        ("Hiddenness@10", "hiddenness_at_10"),
        ("geocode_error_km", "geocode_error_km"),
    ]:
        assert resolve_metric(text) == want
    with pytest.raises(ConfigError, match="unknown metric"):
        resolve_metric("bogus")


def test_compare_reports(report: EvaluationReport) -> None:
    # B is A with q-2's nDCG raised and q-1's hiddenness lowered
    pq = report.per_query.copy()
    pq.loc[pq["query_id"] == "q-2", "ndcg_at_10"] += 0.25
    b = replace(report, run_id="b", per_query=pq)
    comparison = compare_reports(report, b, ["nDCG@10", "geocode_error_km", "mrr"], n_resamples=500)
    frame = comparison.to_frame()
    assert list(frame["metric"]) == ["ndcg_at_10", "geocode_error_km", "mrr"]
    nd = frame.set_index("metric").loc["ndcg_at_10"]
    assert nd["diff"] == pytest.approx(0.25 / 3)
    assert nd["mean_b"] - nd["mean_a"] == pytest.approx(0.25 / 3)
    assert nd["n"] == 3 and 0 < nd["p_rand"] <= 1 and nd["ci_low"] <= nd["diff"] <= nd["ci_high"]
    assert not pd.isna(nd["region_ci_low"])  # two regions
    assert nd["higher_is_better"] is True or nd["higher_is_better"] == 1
    geo = frame.set_index("metric").loc["geocode_error_km"]
    assert geo["n"] == 2  # the failed query's NaN is dropped for this metric only
    same = frame.set_index("metric").loc["mrr"]
    assert same["diff"] == 0 and same["p_t"] == 1.0
    assert (frame["p_t_holm"] >= frame["p_t"] - 1e-12).all()
    again = compare_reports(report, b, ["nDCG@10", "geocode_error_km", "mrr"], n_resamples=500)
    assert again == comparison  # seeded
    text = format_comparison(comparison)
    assert "nDCG@10" in text and "95% region CI" in text
    assert format_comparison(frame) == text  # a frame (MLflow comparisons) renders the same
    other = replace(report, per_query=report.per_query.iloc[:2])
    with pytest.raises(ConfigError, match="same queries"):
        compare_reports(report, other)
    assert np.isfinite(frame["p_rand_holm"]).all()


# ------------------------------------------------------------------------------ lazy tables
def test_tables_are_built_when_read_and_equal_pandas(report: EvaluationReport) -> None:
    """A built report holds its tables as rows until read: the summary and the JSON payload
    read the rows (no pandas); reading a table builds the frame pandas would have built."""
    from underfoot_lab.evaluation.results.model import LazyTable

    names = ("per_query", "per_region", "latency")
    assert all(isinstance(report.__dict__[n], LazyTable) for n in names)
    text, payload = report.summary_table(), report.to_payload()
    assert all(isinstance(report.__dict__[n], LazyTable) for n in names)  # neither built one
    built = replace(report)  # reads (builds) every field
    assert all(isinstance(report.__dict__[n], pd.DataFrame) for n in names)
    assert report.per_query is report.per_query  # built once, then kept
    assert built.summary_table() == text and built.to_payload() == payload  # from the frames
    pq = report.per_query
    for c in report.means:
        if c in pq.columns:
            assert report.means[c] == float(pq[c].mean(skipna=True)) or np.isnan(report.means[c])
    regions = pq.groupby("region", sort=True)
    assert list(report.per_region["region"]) == [str(r) for r, _ in regions]
    for (_, group), row in zip(regions, report.per_region.to_dict("records"), strict=True):
        assert row["mrr"] == float(group["mrr"].mean(skipna=True))
        assert row["errors"] == int((group["status"] == "error").sum())


def test_latency_rows_make_latency_table() -> None:
    from underfoot_lab.evaluation.metrics.latency import latency_rows, latency_table
    from underfoot_lab.evaluation.results.build import _latency_frame

    results = [search([ranked_result("a", 0.5)], ms) for ms in (100.0, 300.0, 7.5)]
    frame = _latency_frame(latency_rows(results))
    pd.testing.assert_frame_equal(frame, latency_table(results), check_exact=True)


def test_lazy_report_pickles() -> None:
    import pickle

    from underfoot_lab.evaluation.results.build import _per_query_frame
    from underfoot_lab.evaluation.results.model import LazyTable

    table = LazyTable(partial(_per_query_frame, [{"query_id": "q", "map": 0.5}]), None)
    again = pickle.loads(pickle.dumps(table))
    pd.testing.assert_frame_equal(again.build(), table.build())


def test_mean_is_pandas_mean_bit_for_bit() -> None:
    from underfoot_lab.evaluation.results.build import _mean

    rng = np.random.default_rng(7)
    for n in (1, 2, 7, 8, 9, 127, 128, 129, 1000):
        values = rng.random(n) * rng.choice([1e-3, 1.0, 1e6], n)
        values[rng.random(n) < 0.2] = np.nan
        mixed = [None if np.isnan(v) and i % 2 else float(v) for i, v in enumerate(values)]
        want = pd.Series(mixed, dtype="float64").mean(skipna=True)
        got = _mean(mixed)
        assert (np.isnan(want) and np.isnan(got)) or got == want, n
    assert np.isnan(_mean([None, float("nan")]))


def test_ir_metrics_equal_the_kernel_on_the_real_scores(report: EvaluationReport) -> None:
    """The report scores the order as tie-free ranks; the kernel on the run's real scores (ties
    broken by docid) gives the same value for every measure and query."""
    from underfoot_lab.evaluation.metrics.catalog import ir_measures

    measures = ir_measures(report.k)
    want = evaluate(report.qrels(), report.run_scores, list(measures.values()), on_missing="zero")
    pq = report.per_query.set_index("query_id")
    assert list(report.run_scores["q-1"].values()).count(0.5) == 2  # a tie on real scores
    for qid, values in want.per_query.items():
        for name, measure in measures.items():
            assert pq.loc[qid, name] == values[measure], (qid, name)
