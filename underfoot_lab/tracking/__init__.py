"""Experiment tracking: evaluation reports to MLflow and back (:mod:`.mlflow_store`).

Importing this package is cheap; mlflow, pandas and plotly load inside the functions::

    from underfoot_lab import tracking

    run_id = tracking.log_evaluation(report)                 # -> MLflow run id
    runs = tracking.load_runs("underfoot-eval")              # pandas, newest first
    table = tracking.compare_runs(*tracking.latest_pair(runs))
"""

from __future__ import annotations

from .mlflow_store import (
    DEFAULT_EXPERIMENT,
    REQUIRED_METRICS,
    TRACKING_URI_ENV,
    artifact_location,
    compare_reports_paired,
    compare_runs,
    default_tracking_uri,
    download_report,
    end_run,
    ensure_experiment,
    evaluation_metrics,
    evaluation_params,
    evaluation_tags,
    get_client,
    latest_pair,
    load_runs,
    log_evaluation,
    log_file,
    run_summary,
    safe_key,
    start_run,
    tracking_uri,
)

__all__ = [
    "DEFAULT_EXPERIMENT",
    "REQUIRED_METRICS",
    "TRACKING_URI_ENV",
    "artifact_location",
    "compare_reports_paired",
    "compare_runs",
    "default_tracking_uri",
    "download_report",
    "end_run",
    "ensure_experiment",
    "evaluation_metrics",
    "evaluation_params",
    "evaluation_tags",
    "get_client",
    "latest_pair",
    "load_runs",
    "log_evaluation",
    "log_file",
    "run_summary",
    "safe_key",
    "start_run",
    "tracking_uri",
]
