"""Reading runs back from MLflow: run tables, logged reports, paired comparisons of runs.

``mlflow`` and ``pandas`` are imported inside the functions.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError
from .store import DEFAULT_EXPERIMENT, get_client, tracking_uri

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from ..evaluation.results.model import EvaluationReport
    from ..settings import Settings

__all__ = [
    "compare_reports_paired",
    "compare_runs",
    "download_report",
    "latest_pair",
    "load_runs",
    "run_summary",
]


def _uri(uri: str | None, settings: Settings | None) -> str:
    return tracking_uri(uri, settings)


_BASE_COLUMNS = ("run_id", "run_name", "status", "start_time", "end_time", "experiment_id")


def load_runs(
    experiment: str = DEFAULT_EXPERIMENT,
    *,
    tracking_uri: str | None = None,
    settings: Settings | None = None,
    region_set: str | None = None,
    status: str | None = "FINISHED",
    filter_string: str = "",
    max_results: int = 1000,
) -> pd.DataFrame:
    """The experiment's runs as a DataFrame, newest first (empty when there is none).

    Columns: ``run_id, run_name, status, start_time, end_time`` (UTC timestamps),
    ``experiment_id``, then ``metrics.<name>``, ``params.<name>`` and ``tags.<name>`` like
    :func:`mlflow.search_runs` (MLflow's internal ``mlflow.*`` tags left out). ``region_set``
    and ``status`` (``None`` for all) filter; ``filter_string`` is MLflow's search syntax.
    """
    import pandas as pd

    c = get_client(_uri(tracking_uri, settings))
    exp = c.get_experiment_by_name(experiment)
    if exp is None:
        return pd.DataFrame(columns=list(_BASE_COLUMNS))
    rows: list[dict[str, Any]] = []
    token: str | None = None
    while len(rows) < max_results:
        page = c.search_runs(
            [exp.experiment_id],
            filter_string,
            max_results=min(1000, max_results - len(rows)),
            order_by=["attributes.start_time DESC"],
            page_token=token,
        )
        for run in page:
            info, data = run.info, run.data
            row: dict[str, Any] = {
                "run_id": info.run_id,
                "run_name": info.run_name,
                "status": info.status,
                "start_time": pd.to_datetime(info.start_time, unit="ms", utc=True),
                "end_time": pd.to_datetime(info.end_time, unit="ms", utc=True)
                if info.end_time
                else pd.NaT,
                "experiment_id": info.experiment_id,
            }
            row.update({f"metrics.{k}": v for k, v in sorted(data.metrics.items())})
            row.update({f"params.{k}": v for k, v in sorted(data.params.items())})
            row.update(
                {
                    f"tags.{k}": v
                    for k, v in sorted(data.tags.items())
                    if not k.startswith("mlflow.")
                }
            )
            rows.append(row)
        token = page.token
        if not token:
            break
    frame = pd.DataFrame(rows, columns=None if rows else list(_BASE_COLUMNS))
    if status is not None and len(frame):
        frame = frame[frame["status"] == status]
    if region_set is not None and len(frame):
        col = "tags.region_set"
        frame = frame[frame[col] == region_set] if col in frame.columns else frame.iloc[0:0]
    return frame.reset_index(drop=True)


def latest_pair(runs: pd.DataFrame, region_set: str | None = None) -> tuple[str, str] | None:
    """(older, newer) run ids: the newest run (of ``region_set`` if given) and the newest
    earlier run over the same queries (same ``region_set_hash`` tag); None if there is none.
    """
    if not len(runs) or "tags.region_set_hash" not in runs.columns:
        return None
    frame = runs.sort_values("start_time", ascending=False)
    if region_set is not None and "tags.region_set" in frame.columns:
        frame = frame[frame["tags.region_set"] == region_set]
    frame = frame[frame["tags.region_set_hash"].notna()]
    if len(frame) < 2:
        return None
    newest = frame.iloc[0]
    same = frame.iloc[1:]
    same = same[same["tags.region_set_hash"] == newest["tags.region_set_hash"]]
    if not len(same):
        return None
    return str(same.iloc[0]["run_id"]), str(newest["run_id"])


def download_report(
    run_id: str,
    *,
    tracking_uri: str | None = None,
    settings: Settings | None = None,
    dst: str | Path | None = None,
) -> EvaluationReport:
    """The :class:`EvaluationReport` logged with an MLflow run (its ``evaluation/``
    artifacts). The files are downloaded to ``dst`` when given (kept), else to a temporary
    directory removed once the report is in memory."""
    uri = _uri(tracking_uri, settings)
    get_client(uri)  # creates the store directory and sets MLflow's environment up
    if dst is not None:
        target = Path(dst)
        target.mkdir(parents=True, exist_ok=True)
        return _download_report(run_id, uri, target)
    with tempfile.TemporaryDirectory(prefix="underfoot-run-") as tmp:
        return _download_report(run_id, uri, Path(tmp))


def _download_report(run_id: str, uri: str, target: Path) -> EvaluationReport:
    import mlflow.artifacts

    from ..evaluation.results.model import EvaluationReport

    try:
        local = mlflow.artifacts.download_artifacts(
            run_id=run_id, artifact_path="evaluation", dst_path=str(target), tracking_uri=uri
        )
    except Exception as exc:
        raise ConfigError(
            f"MLflow run {run_id} has no evaluation artifacts ({type(exc).__name__}: "
            f"{str(exc)[:200]})"
        ) from None
    return EvaluationReport.load(local)


def _rescored(report: EvaluationReport, qrels: Mapping[str, Mapping[str, int]]) -> pd.DataFrame:
    """``report.per_query`` with its IR metrics recomputed against ``qrels``."""
    from ..evaluation.metrics.catalog import ir_measures
    from ..evaluation.metrics.kernel import evaluate

    frame = report.per_query.copy()
    measures = ir_measures(report.k)
    wanted = set(frame["query_id"].astype(str))
    used = {q: dict(d) for q, d in qrels.items() if q in wanted and d}
    per_query: dict[str, dict[str, float]] = {}
    if used:
        per_query = evaluate(
            used, report.run_scores, list(measures.values()), on_missing="zero"
        ).per_query
    for name, measure in measures.items():
        if name in frame.columns:
            frame[name] = [
                float(per_query.get(str(q), {}).get(measure, 0.0)) for q in frame["query_id"]
            ]
    return frame


def compare_reports_paired(
    a: EvaluationReport,
    b: EvaluationReport,
    metrics: Sequence[str] | None = None,
    *,
    seed: int = 0,
    n_resamples: int = 10000,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """:func:`~underfoot_lab.evaluation.results.compare.compare_reports` of two reports, re-scoring
    against the union of their qrels first when they were judged on different ones (their
    ``judgments_hash`` differs), so neither is judged on a smaller pool. ``attrs["rescored"]``
    says whether that happened."""
    from dataclasses import replace

    from ..evaluation.judging.world_judge import union_qrels
    from ..evaluation.results.compare import compare_reports

    if a.region_set_hash != b.region_set_hash:
        raise ConfigError(
            f"evaluations {a.run_id} and {b.run_id} covered different region sets "
            f"({a.config.region_set} vs {b.config.region_set})"
        )
    rescored = a.judgments_hash != b.judgments_hash
    if rescored:
        # each place once: a ``world:<id>`` doc one run's qrels lack was retrieved there
        union = union_qrels(a.qrels_map, b.qrels_map)
        a = replace(a, per_query=_rescored(a, union))
        b = replace(b, per_query=_rescored(b, union))
    frame = compare_reports(
        a, b, metrics, seed=seed, n_resamples=n_resamples, confidence=confidence
    ).to_frame()
    frame.attrs.update(eval_run_a=a.run_id, eval_run_b=b.run_id, rescored=rescored)
    return frame


def compare_runs(
    run_a: str,
    run_b: str,
    metrics: Sequence[str] | None = None,
    *,
    tracking_uri: str | None = None,
    settings: Settings | None = None,
    seed: int = 0,
    n_resamples: int = 10000,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Paired significance tests of MLflow run B against run A, from their logged per-query
    tables.

    Downloads both runs' ``evaluation/`` artifacts and runs :func:`compare_reports_paired`:
    paired t-test, sign-flip randomization test, Holm adjustment, bootstrap CIs over queries
    and over regions, Cohen's d (all from :mod:`underfoot_lab.evaluation.metrics.significance`), one
    row per metric (default: nDCG@10, P@10, MRR, MAP, hiddenness, geo precision, expired
    events). The frame's ``attrs`` hold ``run_a``, ``run_b``, both ``eval_run_*`` ids and
    ``rescored``.
    """
    uri = _uri(tracking_uri, settings)
    a = download_report(run_a, tracking_uri=uri)
    b = download_report(run_b, tracking_uri=uri)
    frame = compare_reports_paired(
        a, b, metrics, seed=seed, n_resamples=n_resamples, confidence=confidence
    )
    frame.attrs.update(run_a=run_a, run_b=run_b)
    return frame


def run_summary(run_id: str, *, tracking_uri: str | None = None) -> dict[str, Any]:
    """``{"run_id", "experiment_id", "status", "artifact_uri", "metrics", "params", "tags"}``
    of one run (JSON-safe)."""
    c = get_client(tracking_uri)
    run = c.get_run(run_id)
    payload = {
        "run_id": run.info.run_id,
        "experiment_id": run.info.experiment_id,
        "status": run.info.status,
        "artifact_uri": run.info.artifact_uri,
        "metrics": dict(run.data.metrics),
        "params": dict(run.data.params),
        "tags": dict(run.data.tags),
    }
    json.dumps(payload)  # fail here, not in a caller, if MLflow ever returns something odd
    return payload
