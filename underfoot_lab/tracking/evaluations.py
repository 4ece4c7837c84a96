"""An evaluation report as an MLflow run: what a run holds (:func:`log_evaluation`).

* params -- the run config (region set, k, sources, mode, world seed, clock, scenario name
  ``world`` and its hash ``world_hash``, pipeline version, scorer, judges, ...) and every
  weight of the scorer: ``weight.<feature>`` for every scored feature plus ``weights.cap``,
  ``weights.keyword_cap``, ``weights.primary_threshold`` and the feature parameters, read
  from the weights YAML (checked against the run's weights hash) or, for the seed scorer,
  its constants (``weights.source`` says which);
* metrics -- the report means under their MLflow-safe names (``ndcg_at_10``, ``p_at_5``,
  ``mrr``, ``map``, ``hiddenness_at_10``, ``geo_precision_at_10``, ``answer_faithfulness``,
  ``latency_p50_ms``, ``latency_p95_ms``, ``latency_p99_ms``, ``cache_hit_rate``, ... see
  ``evaluation.metrics.catalog``), counts (``n_queries``, ``n_errors``, ``n_judged``),
  cache detail (``cache_memory_hit_rate``, ...), per stage ``latency.<stage>.p50_ms`` /
  ``.p95_ms`` and per region ``region.<region>.<metric>`` (and ``region.<region>.n``),
  failure counts (``errors.queries``, ``errors.failed_queries``, ``errors.degraded_queries``,
  ``errors.source.<source>``, ``fallbacks.<stage>``). NaN means (a metric undefined for every
  query) are not logged; when every query failed only the counts are, the run ends FAILED and
  its ``failure_reason`` tag says why;
* tags -- ``git_commit`` (and ``mlflow.source.git.commit``), ``git_dirty``, ``region_set``,
  ``region_set_hash``, ``judgments_hash``, ``weights_hash``, ``simulated`` (``true``/``false``),
  ``eval_run_id`` (the run store's id), ``judges``, ``status``, ``world`` (the scenario's
  name, or ``live (<mode>)``) and ``world_hash`` (over the scenario and the world's code);
* artifacts -- ``evaluation/`` (``per_query.csv``, ``per_query.parquet``, ``run.trec``,
  ``qrels.txt``, ``report.json``, ``summary.txt``: :meth:`EvaluationReport.save` plus the text
  summary), ``figures/figures.html`` (every figure on one page, loading ``figures/plotly.min.js``
  written once per run, so it opens offline) and ``figures/<name>.json`` (each figure, for
  ``plotly.io.from_json``),
  ``weights/<file>.yaml`` when a weights file was used, and ``notebook/<name>.ipynb`` when a
  notebook is given (the papermill runner logs the executed report notebook there).

Besides: a **description** (``mlflow.note.content``: what was evaluated, on which region set,
world and weights), the **region set as a dataset input** (its queries, named after the set,
digest = the set's hash, context ``evaluation``) and one **MLflow trace per search**, linked to
the run, with a span per stage and per source (:mod:`.traces`; ``traces=False`` or
``UNDERFOOT_MLFLOW_TRACES=0`` skips them).

Everything is written through :mod:`.writer`, which keeps secrets out.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..config import file_hash
from .store import DEFAULT_EXPERIMENT, get_client
from .store import tracking_uri as _resolve_uri
from .writer import (
    end_run,
    finite,
    log_artifacts,
    log_values,
    param_text,
    safe_key,
    start_run,
)

if TYPE_CHECKING:  # pragma: no cover
    from mlflow.tracking import MlflowClient

    from ..evaluation.results.model import EvaluationReport
    from ..pipeline.score.weights import ScoringWeights
    from ..settings import Settings

__all__ = [
    "REQUIRED_METRICS",
    "evaluation_description",
    "evaluation_metrics",
    "evaluation_params",
    "evaluation_tags",
    "log_evaluation",
    "log_region_set_input",
    "weights_params",
]

REQUIRED_METRICS: tuple[str, ...] = (
    "ndcg_at_10",
    "p_at_5",
    "mrr",
    "map",
    "hiddenness_at_10",
    "geo_precision_at_10",
    "answer_faithfulness",
    "latency_p50_ms",
    "latency_p95_ms",
    "cache_hit_rate",
)
"""Metric names every evaluation run carries (when defined; see the module docstring)."""


def _seed_weights() -> Any:
    """The seed scorer's constants as :class:`ScoringWeights` (what ``baseline-seed.yaml``
    holds), so seed runs log the same params as weights-file runs."""
    from ..pipeline.score import seed
    from ..pipeline.score.weights import ScoringWeights

    return ScoringWeights(
        name="seed",
        description="the seed scorer's constants",
        weights={
            "intent_match": seed.INTENT_BONUS,
            "keyword_count": seed.KEYWORD_BONUS,
            "src_reddit": seed.SOURCE_PRIORS["reddit"],
            "src_web": seed.SOURCE_PRIORS["web"],
            "src_events": seed.SOURCE_PRIORS["events"],
        },
        cap=seed.SCORE_CAP,
        keyword_cap=seed.KEYWORD_CAP,
        primary_threshold=seed.PRIMARY_THRESHOLD,
    )


def _report_weights(report: EvaluationReport) -> tuple[Any | None, str, Path | None]:
    """(ScoringWeights or None, where they came from, the YAML path if used)."""
    cfg = report.config
    if cfg.weights_hash == "seed":
        return _seed_weights(), "seed-scorer constants", None
    if not cfg.weights_path:
        return None, "unknown (no weights path recorded)", None
    path = Path(cfg.weights_path)
    if not path.is_file():
        return None, "unknown (weights file missing)", None
    if file_hash(path) != cfg.weights_hash:
        return None, "unknown (weights file changed since the run)", None
    from ..pipeline.score.weights import ScoringWeights

    return ScoringWeights.from_yaml(path), "weights file", path


def weights_params(weights: ScoringWeights, prefix: str = "") -> dict[str, Any]:
    """A scorer's params as runs log them: ``<prefix>weight.<feature>`` for every scored
    feature and ``<prefix>weights.<field>`` for its caps, threshold and feature parameters."""
    from ..pipeline.score.features import SCORED_FEATURES
    from ..pipeline.score.weights import SCALAR_FIELDS

    out: dict[str, Any] = {f"{prefix}weight.{f}": weights.weight(f) for f in SCORED_FEATURES}
    for field in SCALAR_FIELDS:
        out[f"{prefix}weights.{field}"] = getattr(weights, field)
    return out


def evaluation_params(report: EvaluationReport) -> dict[str, str]:
    """The run's params (config and every scorer weight), values as text, unscrubbed."""

    cfg = report.config
    params: dict[str, Any] = {
        "region_set": cfg.region_set,
        "weights": cfg.weights,
        "scorer": cfg.scorer,
        "k": cfg.k,
        "sources": list(cfg.sources),
        "mode": cfg.mode,
        "simulated": cfg.simulated,
        "world_seed": cfg.world_seed,
        "world_clock": cfg.world_clock,
        "world": cfg.world,
        "world_hash": cfg.world_hash,
        "primary_radius_km": cfg.primary_radius_km,
        "pipeline_version": cfg.pipeline_version,
        "use_cache": cfg.use_cache,
        "judges": report.judges,
    }
    weights, source, path = _report_weights(report)
    params["weights.source"] = source
    if path is not None:
        params["weights.file"] = path.name
    if weights is not None:
        params.update(weights_params(weights))
    return {k: param_text(v) for k, v in params.items()}


def evaluation_metrics(report: EvaluationReport) -> dict[str, float]:
    """Every metric to log: means, counts, cache detail, stage latencies, per-region means
    (finite values only)."""
    out: dict[str, float] = {}

    def put(key: str, value: Any) -> None:
        v = finite(value)
        if v is not None:
            out[safe_key(key)] = v

    failed = report.failures.failure_reason is not None
    if not failed:
        # A run whose every query failed measured nothing: its means would be logged as 0s.
        for name, value in report.means.items():
            put(name, value)
    put("n_queries", report.n_queries)
    put("n_errors", report.n_errors)
    for name, value in report.failures.metrics().items():
        put(name, value)
    if failed:
        return out
    put("n_judged", report.n_judged)
    c = report.cache
    put("cache_lookups", c.lookups)
    put("cache_memory_hit_rate", c.memory_hit_rate)
    put("cache_sqlite_hit_rate", c.sqlite_hit_rate)
    for row in report.latency.to_dict("records"):
        stage = str(row["stage"])
        if stage == "total":
            # p50/p95 are report means already; p99 is only in the latency table.
            put("latency_p99_ms", row.get("p99"))
        put(f"latency.{stage}.p50_ms", row.get("p50"))
        put(f"latency.{stage}.p95_ms", row.get("p95"))
    for row in report.per_region.to_dict("records"):
        region = str(row["region"])
        for col, value in row.items():
            if col != "region":
                put(f"region.{region}.{col}", value)
    return out


def evaluation_tags(report: EvaluationReport) -> dict[str, str]:
    """The run's tags (hashes, commit, simulated, ids), unscrubbed."""
    cfg = report.config
    tags = {
        "region_set": cfg.region_set,
        "region_set_hash": report.region_set_hash,
        "judgments_hash": report.judgments_hash,
        "weights_hash": cfg.weights_hash,
        "weights": cfg.weights,
        "simulated": param_text(report.simulated),
        "world": (cfg.world or "unknown") if report.simulated else f"live ({cfg.mode})",
        "world_hash": (cfg.world_hash or "unknown") if report.simulated else "none",
        "eval_run_id": report.run_id,
        "judges": report.judges,
        "status": report.status,
        "git_commit": report.git_commit or "unknown",
        "git_dirty": param_text(cfg.git_dirty) if cfg.git_dirty is not None else "unknown",
    }
    if report.git_commit:
        tags["mlflow.source.git.commit"] = report.git_commit
    if report.failures.failure_reason:
        tags["failure_reason"] = report.failures.failure_reason
    weights, _, _ = _report_weights(report)
    if weights is not None:
        tags["weights_canonical_hash"] = weights.weights_hash()
    return tags


def log_evaluation(
    report: EvaluationReport,
    *,
    experiment: str = DEFAULT_EXPERIMENT,
    notebook_path: str | Path | None = None,
    figures: bool | Mapping[str, Any] = True,
    extra_figures: Mapping[str, Any] | None = None,
    run_id: str | None = None,
    run_name: str | None = None,
    tags: Mapping[str, str] | None = None,
    tracking_uri: str | None = None,
    settings: Settings | None = None,
    traces: bool | None = None,
) -> str:
    """Log an :class:`EvaluationReport` to MLflow; returns the MLflow run id.

    Creates a run in ``experiment`` (created if missing) and ends it FINISHED, or, with
    ``run_id``, logs into that existing run and leaves its status alone (its creator ends it:
    the papermill runner does, after adding the executed notebook). ``figures``: True draws
    :func:`underfoot_lab.viz.figures.report_figures`; a mapping ``name -> plotly figure`` logs
    those instead; False logs none. ``extra_figures`` are added either way (a results map, say).
    ``notebook_path`` adds that notebook under ``notebook/``. ``traces``: log each search as
    an MLflow trace (default: unless ``UNDERFOOT_MLFLOW_TRACES=0``; the results are read from
    the run store of ``settings``). See the module docstring for everything a run holds and how
    secrets are kept out.
    """
    uri = _resolve_uri(tracking_uri, settings)
    c = get_client(uri)
    own_run = run_id is None
    if run_id is None:
        default_name = f"{report.config.region_set} · {report.config.weights} · {report.run_id}"
        run_id = start_run(
            experiment, run_name=run_name or default_name, tracking_uri=uri, settings=settings
        )
    try:
        log_values(
            run_id,
            params=evaluation_params(report),
            metrics=evaluation_metrics(report),
            tags={
                **evaluation_tags(report),
                "mlflow.note.content": evaluation_description(report),
                **(tags or {}),
            },
            settings=settings,
            client=c,
        )
        log_region_set_input(run_id, report, client=c, settings=settings)
        from .traces import traces_enabled

        if traces_enabled(traces):
            _log_traces(run_id, report, uri=uri, client=c, settings=settings)
        with tempfile.TemporaryDirectory(prefix="underfoot-mlflow-") as tmp:
            staging = Path(tmp)
            _stage_artifacts(report, staging, figures, extra_figures, notebook_path)
            log_artifacts(run_id, staging, settings=settings, client=c)
    except BaseException:
        if own_run:
            end_run(run_id, "FAILED", tracking_uri=uri)
        raise
    if own_run:
        # Every query failed: the run is logged (counts, failure_reason tag) but as FAILED.
        failed = report.failures.failure_reason is not None
        end_run(run_id, "FAILED" if failed else "FINISHED", tracking_uri=uri)
    return run_id


def _stage_artifacts(
    report: EvaluationReport,
    staging: Path,
    figures: bool | Mapping[str, Any],
    extra_figures: Mapping[str, Any] | None,
    notebook_path: str | Path | None,
) -> None:
    evaluation = report.save(staging / "evaluation")
    (evaluation / "summary.txt").write_text(report.summary_table() + "\n", encoding="utf-8")
    figs: dict[str, Any] = {}
    if figures is True:
        from ..viz.figures import report_figures

        figs.update(report_figures(report))
    elif isinstance(figures, Mapping):
        figs.update(figures)
    figs.update(extra_figures or {})
    if figs:
        from ..viz.figures import figures_html

        fig_dir = staging / "figures"
        fig_dir.mkdir()
        names = {name: safe_key(name).replace("/", "_").replace(" ", "_") for name in figs}
        for name, fig in figs.items():
            (fig_dir / f"{names[name]}.json").write_text(fig.to_json(), encoding="utf-8")
        label = f" [{report.config.world_label}]" if report.simulated else ""
        from ..viz.offline import write_plotly_js

        # plotly.js once per run, next to the page that loads it (offline, no CDN).
        write_plotly_js(fig_dir)
        (fig_dir / "figures.html").write_text(
            figures_html(
                figs,
                plotlyjs="directory",
                title=f"Evaluation {report.run_id}: {report.config.region_set}{label}",
                note=(
                    f"weights {report.config.weights}, scorer {report.config.scorer}, "
                    f"k={report.k}, {report.n_queries} queries"
                ),
            ),
            encoding="utf-8",
        )
    _, _, weights_path = _report_weights(report)
    if weights_path is not None:
        (staging / "weights").mkdir()
        shutil.copyfile(weights_path, staging / "weights" / weights_path.name)
    if notebook_path is not None:
        nb = Path(notebook_path)
        (staging / "notebook").mkdir()
        shutil.copyfile(nb, staging / "notebook" / nb.name)


def evaluation_description(report: EvaluationReport) -> str:
    """The run's description (Markdown, shown atop the run in MLflow): what ran, on which
    region set, world and weights, and the headline numbers."""
    from ..evaluation.results.model import SIMULATED_LABEL

    cfg = report.config
    world = (
        f"{SIMULATED_LABEL}, seed {cfg.world_seed}" if report.simulated else f"live ({cfg.mode})"
    )
    ndcg = report.means.get(f"ndcg_at_{report.k}", report.means.get("ndcg_at_10"))
    lines = [
        f"Evaluation `{report.run_id}` of the **{cfg.scorer}** ranking with weights "
        f"**{cfg.weights}** (hash `{cfg.weights_hash[:12]}`).",
        "",
        f"- region set: **{cfg.region_set}** ({report.n_queries} queries, "
        f"hash `{report.region_set_hash[:12]}`)",
        f"- world: {world}",
        f"- judges: {report.judges}; k = {report.k}; sources: {', '.join(cfg.sources)}",
        f"- errors: {report.n_errors}",
    ]
    value = finite(ndcg)
    if value is not None:
        lines.append(f"- nDCG@{report.k}: {value:.4f}")
    return "\n".join(lines)


def log_region_set_input(
    run_id: str,
    report: EvaluationReport,
    *,
    client: MlflowClient | None = None,
    settings: Settings | None = None,
) -> None:
    """Log the region set's queries as the run's MLflow dataset input (name = the set,
    digest = its hash, context ``evaluation``; texts scrubbed of secrets)."""
    from mlflow.data.pandas_dataset import from_pandas
    from mlflow.entities import DatasetInput, InputTag

    from ..redaction import known_secrets, redact

    secrets = known_secrets(settings)
    pq = report.per_query
    cols = [c for c in ("query_id", "region", "text", "tags", "intent", "place") if c in pq]
    frame = pq[cols].astype("string").fillna("").reset_index(drop=True)
    for col in cols:
        frame[col] = [redact(str(v), secrets) for v in frame[col]]
    dataset = from_pandas(
        frame,
        name=report.config.region_set,
        digest=report.region_set_hash[:36],
    )
    entity = DatasetInput(
        dataset._to_mlflow_entity(), tags=[InputTag("mlflow.data.context", "evaluation")]
    )
    c = client or get_client()
    from .store import retry_locked

    retry_locked(lambda: c.log_inputs(run_id, datasets=[entity]))


def _log_traces(
    run_id: str,
    report: EvaluationReport,
    *,
    uri: str,
    client: MlflowClient,
    settings: Settings | None,
) -> int:
    """One trace per search of the report's run (read back from the run store)."""
    from datetime import datetime

    from ..evaluation.runner import RunStore
    from .traces import TracedSearch, log_search_traces

    store = RunStore(settings=settings)
    if not store.path.is_file() or not store.exists(report.run_id):
        return 0
    rows = store.rows(report.run_id)
    meta = {
        str(r["query_id"]): (str(r.get("text") or ""), r.get("region"))
        for r in report.per_query.to_dict("records")
    }
    searches = []
    for qid, (text, region) in meta.items():
        row = rows.get(qid)
        if row is None:
            continue
        finished = None
        try:
            finished = datetime.fromisoformat(row.finished_at)
        except ValueError:
            finished = None
        searches.append(
            TracedSearch(
                query_id=qid,
                text=text,
                result=row.result(),
                error=row.error,
                finished_at=finished,
                region=str(region) if isinstance(region, str) else None,
            )
        )
    run = client.get_run(run_id)
    return log_search_traces(
        run_id,
        searches,
        experiment_id=str(run.info.experiment_id),
        tracking_uri=uri,
        client=client,
        settings=settings,
        tags={"region_set": report.config.region_set, "eval_run_id": report.run_id},
    )
