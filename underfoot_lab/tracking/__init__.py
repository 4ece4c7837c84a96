"""Experiment tracking: evaluation reports and sweeps to MLflow and back.

Importing this package is cheap; mlflow, pandas and plotly load inside the functions::

    from underfoot_lab import tracking

    run_id = tracking.log_evaluation(report)                 # -> MLflow run id
    runs = tracking.load_runs("underfoot-eval")              # pandas, newest first
    table = tracking.compare_runs(*tracking.latest_pair(runs))

One job per module: :mod:`.store` (where runs go; creating and migrating the store safely from
several processes), :mod:`.writer` (the one MLflow writer: runs, batched values, artifacts,
secrets kept out, SQLite lock retries), :mod:`.evaluations` (what an evaluation run holds) and
:mod:`.reading` (run tables, logged reports, paired comparisons).
"""

from __future__ import annotations

from .evaluations import (
    REQUIRED_METRICS,
    evaluation_metrics,
    evaluation_params,
    evaluation_tags,
    log_evaluation,
    weights_params,
)
from .reading import (
    compare_reports_paired,
    compare_runs,
    download_report,
    latest_pair,
    load_runs,
    run_summary,
)
from .store import (
    DEFAULT_EXPERIMENT,
    TRACKING_URI_ENV,
    artifact_location,
    default_tracking_uri,
    ensure_experiment,
    get_client,
    tracking_uri,
)
from .writer import end_run, log_file, log_values, safe_key, start_run

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
    "log_values",
    "run_summary",
    "safe_key",
    "start_run",
    "tracking_uri",
    "weights_params",
]
