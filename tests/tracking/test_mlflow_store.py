"""MLflow logging of evaluation reports against a real SQLite tracking store (no mocks).

One small offline evaluation is shared by the module; fake API keys are in the environment
for all of it, and the last tests prove none of them reached the store or an artifact.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
from pathlib import Path

import pytest

from underfoot_lab import tracking
from underfoot_lab.evaluation.results.model import EvaluationReport
from underfoot_lab.tracking import artifact_location, safe_key

REPO = Path(__file__).resolve().parents[2]
# A fixed weights file (the shipped one is re-tuned from time to time).
DEFAULT_WEIGHTS = REPO / "tests" / "fixtures" / "weights" / "sweep-unit-base.yaml"

FAKE_SECRETS = {
    "OPENAI_API_KEY": "sk-test-SECRET-openai-4f1d2c3b",
    "SERPAPI_API_KEY": "serp-test-SECRET-9a8b7c6d",
    "GEOAPIFY_API_KEY": "geo-test-SECRET-11223344",
    "EVENTBRITE_TOKEN": "eb-test-SECRET-55667788",
}
MINI = """\
name: mini
description: Four queries in three regions.
region: appalachia
queries:
  - id: t-pikeville-01
    text: "hidden gems in Pikeville KY"
    expected: {place: "Pikeville", state: KY}
    tags: [general, in-town]
  - id: t-hazard-01
    text: "weird stuff to do near Hazard, KY"
    expected: {place: "Hazard", state: KY}
    tags: [weird, near]
  - id: t-ely-01
    text: "secret swimming holes around Ely, MN"
    expected: {place: "Ely", state: MN}
    tags: [outdoors, near]
    region: upper-midwest
  - id: t-marfa-01
    text: "hidden gems in Marfa TX"
    expected: {place: "Marfa", state: TX}
    tags: [general, in-town]
    region: desert-southwest
"""


@pytest.fixture(scope="module")
def env(mlflow_home: Path) -> Path:
    """A fresh UNDERFOOT_HOME, no MLFLOW_TRACKING_URI, fake keys in the environment."""
    return mlflow_home


@pytest.fixture(scope="module")
def region_file(env: Path) -> Path:
    path = env / "mini.yaml"
    path.write_text(MINI, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def report(env: Path, region_file: Path) -> EvaluationReport:
    from underfoot_lab.evaluation.runner import evaluate_region_set

    return evaluate_region_set(region_file, progress=False)


@pytest.fixture(scope="module")
def logged(report: EvaluationReport) -> str:
    return tracking.log_evaluation(report, experiment="test-eval")


def _artifacts(client: object, run_id: str, path: str = "") -> list[str]:
    out: list[str] = []
    for f in client.list_artifacts(run_id, path):  # type: ignore[attr-defined]
        out.extend(_artifacts(client, run_id, f.path) if f.is_dir else [f.path])
    return out


# ------------------------------------------------------------------------------ store setup
def test_default_store_is_sqlite_under_home(env: Path) -> None:
    uri = tracking.tracking_uri()
    assert uri == f"sqlite:///{env.resolve() / 'mlflow.db'}"
    assert uri.startswith("sqlite:////")  # absolute path
    assert (
        artifact_location(uri, "underfoot-eval")
        == (env.resolve() / "mlartifacts" / "underfoot-eval").as_uri()
    )


def test_env_and_argument_override_the_default(
    env: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    other = f"sqlite:///{tmp_path / 'other.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", other)
    assert tracking.tracking_uri() == other
    assert tracking.tracking_uri("http://mlflow.example:5000") == "http://mlflow.example:5000"
    assert artifact_location("http://mlflow.example:5000", "x") is None
    assert artifact_location(other, "a b/c") == (tmp_path / "mlartifacts" / "a-b-c").as_uri()


def test_safe_key() -> None:
    assert safe_key("region.pacific-northwest.ndcg_at_10") == "region.pacific-northwest.ndcg_at_10"
    assert safe_key("latency.sources.serpapi_web.p50_ms") == "latency.sources.serpapi_web.p50_ms"
    assert safe_key("nDCG@10 (x)") == "nDCG_10 _x_"
    assert safe_key("weight.sk-abc", ("sk-abc",)) == "REDACTED"


# ------------------------------------------------------------------------------ contents
def test_run_holds_params_metrics_tags_and_artifacts(
    env: Path, report: EvaluationReport, logged: str
) -> None:
    client = tracking.get_client()
    run = client.get_run(logged)
    assert run.info.status == "FINISHED"
    assert run.info.artifact_uri.startswith((env.resolve() / "mlartifacts").as_uri())
    params, metrics, tags = run.data.params, run.data.metrics, run.data.tags

    cfg = report.config
    assert params["region_set"] == "mini"
    assert params["k"] == "10"
    assert params["sources"] == ",".join(cfg.sources)
    assert params["mode"] == "offline"
    assert params["world_seed"] == str(cfg.world_seed)
    assert params["world"] == "default" and params["world_hash"] == cfg.world_hash
    assert params["pipeline_version"] == cfg.pipeline_version
    assert params["scorer"] == "seed-v1"
    # The seed scorer's constants, as weights.
    assert params["weights.source"] == "seed-scorer constants"
    assert float(params["weight.intent_match"]) == pytest.approx(0.3)
    assert float(params["weight.src_reddit"]) == pytest.approx(0.2)
    assert float(params["weight.popularity"]) == 0.0
    assert float(params["weights.keyword_cap"]) == pytest.approx(0.4)
    assert float(params["weights.primary_threshold"]) == pytest.approx(0.5)

    for name in tracking.REQUIRED_METRICS:
        value = report.means[name]
        if math.isfinite(value):
            assert metrics[name] == pytest.approx(value), name
    assert "ndcg_at_10" in metrics and "latency_p95_ms" in metrics
    assert metrics["n_queries"] == 4
    assert metrics["latency.total.p50_ms"] == pytest.approx(report.means["latency_p50_ms"])
    regions = set(report.per_region["region"])
    assert regions == {"appalachia", "upper-midwest", "desert-southwest"}
    for region in regions:
        row = report.per_region.set_index("region").loc[region]
        assert metrics[f"region.{region}.ndcg_at_10"] == pytest.approx(row["ndcg_at_10"])
        assert metrics[f"region.{region}.n"] == row["n"]

    assert tags["simulated"] == "true"
    assert tags["eval_run_id"] == report.run_id
    assert tags["region_set_hash"] == report.region_set_hash
    assert tags["judgments_hash"] == report.judgments_hash
    assert tags["weights_hash"] == "seed"
    assert tags["git_commit"] == (report.git_commit or "unknown")
    assert tags["world"] == report.config.world == "default"
    assert tags["world_hash"] == report.config.world_hash and len(tags["world_hash"]) == 16
    assert tags["git_dirty"] in ("true", "false", "unknown")

    files = set(_artifacts(client, logged))
    for expected in (
        "evaluation/per_query.csv",
        "evaluation/run.trec",
        "evaluation/qrels.txt",
        "evaluation/report.json",
        "evaluation/summary.txt",
        "figures/figures.html",
        "figures/plotly.min.js",
        "figures/metrics_by_region.json",
        "figures/latency_by_stage.json",
        "figures/hiddenness_vs_relevance.json",
    ):
        assert expected in files, expected
    root = Path(run.info.artifact_uri.removeprefix("file://"))
    assert (root / "evaluation" / "run.trec").read_text().splitlines() == report.run_lines()
    assert (root / "evaluation" / "qrels.txt").read_text().splitlines() == report.qrels_lines()
    page = (root / "figures" / "figures.html").read_text(encoding="utf-8")
    # plotly.js once per run, next to the page, loaded relatively (opens offline, no CDN).
    assert page.count('<script charset="utf-8" src="plotly.min.js">') == 1
    assert "https://" not in page.split("<body>")[0] and len(page) < 1_000_000
    js = (root / "figures" / "plotly.min.js").read_text(encoding="utf-8")
    assert "plotly.js v" in js[:500] and len(js) > 1_000_000


def test_weights_file_params_come_from_the_yaml(report: EvaluationReport, tmp_path: Path) -> None:
    digest = hashlib.sha256(DEFAULT_WEIGHTS.read_bytes()).hexdigest()
    cfg = dataclasses.replace(
        report.config,
        weights="default",
        weights_hash=digest,
        weights_path=str(DEFAULT_WEIGHTS),
        scorer="weights:default:x",
    )
    params = tracking.evaluation_params(dataclasses.replace(report, config=cfg))
    assert params["weights.source"] == "weights file"
    assert params["weights.file"] == "sweep-unit-base.yaml"
    assert float(params["weight.rating_quality"]) == pytest.approx(1.0)
    assert float(params["weight.event_expired"]) == pytest.approx(-0.9)
    assert float(params["weight.intent_match"]) == 0.0  # not named in the file: weighs 0
    assert params["weights.cap"] == "None"
    assert float(params["weights.primary_threshold"]) == pytest.approx(1.3)

    changed = tmp_path / "sweep-unit-base.yaml"
    changed.write_text(DEFAULT_WEIGHTS.read_text() + "\n# edited\n")
    cfg2 = dataclasses.replace(cfg, weights_path=str(changed))
    params2 = tracking.evaluation_params(dataclasses.replace(report, config=cfg2))
    assert params2["weights.source"] == "unknown (weights file changed since the run)"
    assert not any(k.startswith("weight.") for k in params2)


def test_log_into_an_existing_run_leaves_it_running(report: EvaluationReport) -> None:
    rid = tracking.start_run("test-eval", run_name="pre-created")
    assert tracking.log_evaluation(report, experiment="test-eval", run_id=rid, figures=False) == rid
    client = tracking.get_client()
    run = client.get_run(rid)
    assert run.info.status == "RUNNING"
    assert "ndcg_at_10" in run.data.metrics
    assert not any(p.startswith("figures") for p in _artifacts(client, rid))
    tracking.end_run(rid)
    assert client.get_run(rid).info.status == "FINISHED"


# ------------------------------------------------------------------------------ reading back
def test_download_report_round_trip(report: EvaluationReport, logged: str) -> None:
    back = tracking.download_report(logged)
    assert back.run_id == report.run_id
    assert back.means["ndcg_at_10"] == pytest.approx(report.means["ndcg_at_10"])
    assert list(back.per_query["query_id"]) == list(report.per_query["query_id"])
    assert back.run_scores == report.run_scores


def test_load_runs_latest_pair_and_compare(report: EvaluationReport, logged: str) -> None:
    # B: the same run with every query's nDCG@10 raised by 0.1 (capped at 1).
    better = report.per_query.copy()
    better["ndcg_at_10"] = (better["ndcg_at_10"] + 0.1).clip(upper=1.0)
    b_report = dataclasses.replace(report, per_query=better, run_id=report.run_id + "-b")
    b_id = tracking.log_evaluation(b_report, experiment="test-eval", figures=False)

    runs = tracking.load_runs("test-eval")
    assert list(runs.columns[:3]) == ["run_id", "run_name", "status"]
    assert runs.iloc[0]["run_id"] == b_id  # newest first
    assert logged in set(runs["run_id"])
    assert (runs["status"] == "FINISHED").all()
    assert "metrics.ndcg_at_10" in runs.columns and "params.k" in runs.columns
    assert "tags.region_set_hash" in runs.columns
    assert not any(c.startswith("tags.mlflow.") for c in runs.columns)
    assert tracking.load_runs("test-eval", region_set="nope").empty
    assert tracking.load_runs("no-such-experiment").empty

    pair = tracking.latest_pair(runs)
    assert pair is not None and pair[1] == b_id

    table = tracking.compare_runs(logged, b_id, ["ndcg_at_10", "mrr"], n_resamples=2000)
    assert list(table["metric"]) == ["ndcg_at_10", "mrr"]
    ndcg = table.set_index("metric").loc["ndcg_at_10"]
    assert ndcg["diff"] > 0
    assert ndcg["n"] == 4
    assert 0.0 <= ndcg["p_rand"] <= 1.0
    mrr = table.set_index("metric").loc["mrr"]
    assert mrr["diff"] == 0.0 and mrr["p_t"] == 1.0
    assert table.attrs["run_a"] == logged and table.attrs["run_b"] == b_id
    assert table.attrs["rescored"] is False


def test_compare_runs_rejects_different_query_sets(report: EvaluationReport, logged: str) -> None:
    other = dataclasses.replace(report, region_set_hash="0" * 64)
    other_id = tracking.log_evaluation(other, experiment="test-eval-other", figures=False)
    with pytest.raises(Exception, match="different region sets"):
        tracking.compare_runs(logged, other_id)


# ------------------------------------------------------------------------------ secrets
def test_secrets_are_scrubbed_from_everything_logged(
    env: Path, report: EvaluationReport, logged: str
) -> None:
    """Secrets planted in a query text, a tag, the run name and a figure are all scrubbed;
    the parquet copy of the per-query table (binary, holding one) is withheld."""
    import plotly.graph_objects as go

    key = FAKE_SECRETS["OPENAI_API_KEY"]
    leaky = report.per_query.copy()
    leaky.loc[0, "text"] = f"hidden gems {key}"
    leaky_report = dataclasses.replace(report, per_query=leaky)
    fig = go.Figure(go.Scatter(x=[1], y=[1], hovertext=[FAKE_SECRETS["SERPAPI_API_KEY"]]))
    rid = tracking.log_evaluation(
        leaky_report,
        experiment="test-eval",
        run_name=f"run {key}",
        tags={"note": f"key={FAKE_SECRETS['GEOAPIFY_API_KEY']}", key: "x"},
        extra_figures={"leak": fig},
    )
    client = tracking.get_client()
    run = client.get_run(rid)
    assert "parquet" in run.data.tags["redacted_artifacts"]
    assert run.data.tags["note"] == "key=***"
    assert "REDACTED" in run.data.tags
    root = Path(run.info.artifact_uri.removeprefix("file://"))
    csv = (root / "evaluation" / "per_query.csv").read_text(encoding="utf-8")
    assert "hidden gems ***" in csv
    assert not (root / "evaluation" / "per_query.parquet").exists()


def test_no_secret_anywhere_in_the_store(env: Path, logged: str) -> None:
    """Runs after every other test of the module: no fake key in any param, tag, metric name,
    run name, artifact file or in the bytes of the SQLite store."""
    client = tracking.get_client()
    secrets = list(FAKE_SECRETS.values())
    runs = tracking.load_runs("test-eval", status=None)
    assert len(runs) >= 3
    for rid in runs["run_id"]:
        run = client.get_run(rid)
        texts = [
            run.info.run_name or "",
            *run.data.params,
            *run.data.params.values(),
            *run.data.tags,
            *run.data.tags.values(),
            *run.data.metrics,
        ]
        for s in secrets:
            assert not any(s in t for t in texts), rid
    files = [p for p in env.rglob("*") if p.is_file()]
    stores = [p for p in files if p.name.startswith("mlflow.db")]
    artifacts = [p for p in files if "mlartifacts" in p.parts]
    assert stores and len(artifacts) > 10
    for path in stores + artifacts:
        data = path.read_bytes()
        for s in secrets:
            assert s.encode() not in data, path


# ------------------------------------------------------------------------------ issue 18
def test_run_has_description_dataset_input_p99_and_traces(
    report: EvaluationReport, logged: str
) -> None:
    """The run carries a description naming the region set, world and weights; the region
    set as a dataset input; ``latency_p99_ms``; and one trace per search with a span per
    stage and per source (provider/status/count attributes)."""
    client = tracking.get_client()
    run = client.get_run(logged)
    note = run.data.tags["mlflow.note.content"]
    assert "mini" in note and report.config.weights in note and "simulated" in note
    p99 = run.data.metrics["latency_p99_ms"]
    assert p99 >= run.data.metrics["latency_p50_ms"]
    inputs = run.inputs.dataset_inputs
    assert [d.dataset.name for d in inputs] == ["mini"]
    assert inputs[0].tags[0].value == "evaluation"
    traces = client.search_traces(locations=[run.info.experiment_id], run_id=logged)
    assert len(traces) == report.n_queries == 4
    qids = sorted(t.info.tags["query_id"] for t in traces)
    assert qids == sorted(report.per_query["query_id"])
    one = traces[0]
    assert one.info.trace_metadata["mlflow.sourceRun"] == logged
    root = next(s for s in one.data.spans if s.parent_id is None)
    assert root.name == f"search {one.info.tags['query_id']}"
    names = {s.name for s in one.data.spans}
    assert {"parse", "geocode", "sources", "score", "respond"} <= names
    assert any(n.startswith("sources.") for n in names)
    parse = next(s for s in one.data.spans if s.name == "parse")
    assert parse.attributes["provider"] and parse.attributes["status"] == "ok"
    src = next(s for s in one.data.spans if s.name.startswith("sources."))
    parent = next(s for s in one.data.spans if s.name == "sources")
    assert src.parent_id == parent.span_id and isinstance(src.attributes["count"], int)


def test_traces_can_be_skipped(report: EvaluationReport, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UNDERFOOT_MLFLOW_TRACES", "0")
    rid = tracking.log_evaluation(report, experiment="test-eval", figures=False)
    client = tracking.get_client()
    exp = client.get_run(rid).info.experiment_id
    assert client.search_traces(locations=[exp], run_id=rid) == []
