"""MLflow tracking for evaluation reports: log a run, read runs back, compare two runs.

**Where runs go.** ``MLFLOW_TRACKING_URI`` when set (the team setup: a shared server, see
``docs/tracking.md``); otherwise a local store that works offline with nothing to configure:
``sqlite:///<settings.home, absolute>/mlflow.db`` with artifacts in
``<settings.home>/mlartifacts/<experiment>`` (``.underfoot/`` is git-ignored). A SQLite store
gets that explicit artifact location when the experiment is created (MLflow would otherwise
put artifacts in ``./mlruns`` of whatever the current directory is). MLflow's telemetry is
off unless ``MLFLOW_DISABLE_TELEMETRY`` is set otherwise.

**What a run holds** (:func:`log_evaluation`):

* params -- the run config (region set, k, sources, mode, world seed and clock, pipeline
  version, scorer, judges, ...) and every weight of the scorer: ``weight.<feature>`` for every
  scored feature plus ``weights.cap``, ``weights.keyword_cap``, ``weights.primary_threshold``
  and the feature parameters, read from the weights YAML (checked against the run's weights
  hash) or, for the seed scorer, its constants (``weights.source`` says which);
* metrics -- the report means under their MLflow-safe names (``ndcg_at_10``, ``p_at_5``,
  ``mrr``, ``map``, ``hiddenness_at_10``, ``geo_precision_at_10``, ``answer_faithfulness``,
  ``latency_p50_ms``, ``latency_p95_ms``, ``cache_hit_rate``, ... see
  ``evaluation.metrics.catalog``), counts (``n_queries``, ``n_errors``, ``n_judged``),
  cache detail (``cache_memory_hit_rate``, ...), per stage ``latency.<stage>.p50_ms`` /
  ``.p95_ms`` and per region ``region.<region>.<metric>`` (and ``region.<region>.n``). NaN
  means (a metric undefined for every query) are not logged;
* tags -- ``git_commit`` (and ``mlflow.source.git.commit``), ``region_set``,
  ``region_set_hash``, ``judgments_hash``, ``weights_hash``, ``simulated`` (``true``/``false``),
  ``eval_run_id`` (the run store's id), ``judges``, ``status``, ``world``;
* artifacts -- ``evaluation/`` (``per_query.csv``, ``per_query.parquet``, ``run.trec``,
  ``qrels.txt``, ``report.json``, ``summary.txt``: :meth:`EvaluationReport.save` plus the text
  summary), ``figures/figures.html`` (every figure on one page, plotly.js inline so it opens
  offline) and ``figures/<name>.json`` (each figure, for ``plotly.io.from_json``),
  ``weights/<file>.yaml`` when a weights file was used, and ``notebook/<name>.ipynb`` when a
  notebook is given (the papermill runner logs the executed report notebook there).

**No secret reaches MLflow.** Settings are never logged wholesale; every param and tag value,
every key and every artifact file is checked against :meth:`Settings.secret_values` (of the
given settings and of the environment) and scrubbed: text has each secret replaced by ``***``,
a binary artifact containing one is not uploaded (the ``redacted_artifacts`` tag lists it).

``mlflow`` is imported inside the functions (it costs over a second).
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import re
import shutil
import tempfile
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    from mlflow.tracking import MlflowClient

    from ..evaluation.results.model import EvaluationReport
    from ..settings import Settings

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

DEFAULT_EXPERIMENT = "underfoot-eval"
TRACKING_URI_ENV = "MLFLOW_TRACKING_URI"
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

REDACTED = "***"
_KEY_REDACTED = "REDACTED"
_UNSAFE_KEY = re.compile(r"[^A-Za-z0-9_\-./ ]")
_MAX_PARAM = 6000
_MAX_TAG = 8000
_BATCH_PARAMS = 100
_BATCH_METRICS = 1000


# ------------------------------------------------------------------------------ setup
def _settings(settings: Settings | None) -> Settings:
    if settings is not None:
        return settings
    from ..settings import Settings

    return Settings()


def _mlflow_env() -> None:
    """Environment MLflow must see before it is imported (telemetry off, quiet migrations)."""
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    # A progress bar per download is noise in notebooks and CLI output.
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    # The SQLite store logs its schema migrations at INFO on first use; not our users' concern.
    for name in ("mlflow.store.db.utils", "alembic", "alembic.runtime.migration"):
        logging.getLogger(name).setLevel(logging.WARNING)


def default_tracking_uri(settings: Settings | None = None) -> str:
    """``sqlite:///<absolute settings.home>/mlflow.db`` (the zero-configuration store)."""
    home = _settings(settings).home.expanduser().resolve()
    return f"sqlite:///{home / 'mlflow.db'}"


def tracking_uri(uri: str | None = None, settings: Settings | None = None) -> str:
    """The tracking URI to use: ``uri``, else ``$MLFLOW_TRACKING_URI``, else the local store."""
    return uri or os.environ.get(TRACKING_URI_ENV) or default_tracking_uri(settings)


def _sqlite_path(uri: str) -> Path | None:
    """The database file of a ``sqlite:///`` URI (None for other schemes or in-memory)."""
    if not uri.startswith("sqlite:"):
        return None
    path = uri.split("://", 1)[1] if "://" in uri else ""
    path = path[1:] if path.startswith("/") else path  # sqlite:///abs -> /abs, sqlite:///rel -> rel
    if not path or path == ":memory:":
        return None
    return Path(path.split("?", 1)[0])


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-.") or "experiment"


def artifact_location(uri: str, experiment: str) -> str | None:
    """Where a new experiment's artifacts go: next to a SQLite store
    (``<db dir>/mlartifacts/<experiment>``, a ``file://`` URI); None (the server's or the
    store's choice) for anything else."""
    db = _sqlite_path(uri)
    if db is None:
        return None
    return (db.expanduser().resolve().parent / "mlartifacts" / _slug(experiment)).as_uri()


def get_client(uri: str | None = None, settings: Settings | None = None) -> MlflowClient:
    """An :class:`mlflow.tracking.MlflowClient` for :func:`tracking_uri` (creates the SQLite
    file's directory)."""
    resolved = tracking_uri(uri, settings)
    db = _sqlite_path(resolved)
    if db is not None:
        db.expanduser().parent.mkdir(parents=True, exist_ok=True)
    _mlflow_env()
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=resolved)


def ensure_experiment(
    name: str = DEFAULT_EXPERIMENT,
    *,
    tracking_uri: str | None = None,
    settings: Settings | None = None,
    client: MlflowClient | None = None,
) -> str:
    """The id of experiment ``name``, created (with :func:`artifact_location`) if missing."""
    uri = _uri(tracking_uri, settings)
    c = client or get_client(uri)
    exp = c.get_experiment_by_name(name)
    if exp is not None:
        if exp.lifecycle_stage != "active":
            raise ConfigError(
                f"MLflow experiment {name!r} is deleted; restore it or use another name"
            )
        return str(exp.experiment_id)
    try:
        return str(c.create_experiment(name, artifact_location=artifact_location(uri, name)))
    except Exception:
        # Another process created it between our lookup and the insert.
        exp = c.get_experiment_by_name(name)
        if exp is None:
            raise
        return str(exp.experiment_id)


def _uri(uri: str | None, settings: Settings | None) -> str:
    return tracking_uri(uri, settings)


# ------------------------------------------------------------------------------ secrets
def _secrets(settings: Settings | None) -> tuple[str, ...]:
    """Every configured secret: the given settings' and the environment's."""
    found: set[str] = set()
    if settings is not None:
        found.update(settings.secret_values())
    try:
        from ..settings import Settings

        found.update(Settings().secret_values())
    except Exception:  # a broken environment must not stop the redaction of the rest
        pass
    # Longest first, so a secret containing another is replaced whole.
    return tuple(sorted((s for s in found if s), key=len, reverse=True))


def _scrub(text: str, secrets: Sequence[str]) -> str:
    for s in secrets:
        text = text.replace(s, REDACTED)
    return text


def safe_key(key: str, secrets: Sequence[str] = ()) -> str:
    """A valid MLflow key: characters outside ``[A-Za-z0-9_-./ ]`` become ``_``; at most 250
    characters; a key containing a secret becomes ``REDACTED``."""
    if any(s and s in key for s in secrets):
        return _KEY_REDACTED
    return _UNSAFE_KEY.sub("_", key)[:250] or "_"


def _scrub_file(path: Path, secrets: Sequence[str]) -> bool:
    """Redact secrets in a file in place; False when it is binary and holds one (drop it)."""
    if not secrets:
        return True
    data = path.read_bytes()
    needles = [s.encode("utf-8") for s in secrets]
    if not any(n in data for n in needles):
        return True
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    path.write_text(_scrub(text, secrets), encoding="utf-8")
    return True


# ------------------------------------------------------------------------------ content
def _text(value: Any) -> str:
    if value is None:
        return "None"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return ",".join(str(v) for v in value)
    return str(value)


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
    if hashlib.sha256(path.read_bytes()).hexdigest() != cfg.weights_hash:
        return None, "unknown (weights file changed since the run)", None
    from ..pipeline.score.weights import ScoringWeights

    return ScoringWeights.from_yaml(path), "weights file", path


def evaluation_params(report: EvaluationReport) -> dict[str, str]:
    """The run's params (config and every scorer weight), values as text, unscrubbed."""
    from ..pipeline.score.features import SCORED_FEATURES

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
        for feature in SCORED_FEATURES:
            params[f"weight.{feature}"] = weights.weight(feature)
        for field in (
            "cap",
            "keyword_cap",
            "primary_threshold",
            "primary_radius_km",
            "half_distance_km",
            "freshness_window_days",
            "post_half_life_days",
            "diversity_lambda",
        ):
            params[f"weights.{field}"] = getattr(weights, field)
    return {k: _text(v) for k, v in params.items()}


def _finite(value: Any) -> float | None:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def evaluation_metrics(report: EvaluationReport) -> dict[str, float]:
    """Every metric to log: means, counts, cache detail, stage latencies, per-region means
    (finite values only)."""
    out: dict[str, float] = {}

    def put(key: str, value: Any) -> None:
        v = _finite(value)
        if v is not None:
            out[safe_key(key)] = v

    for name, value in report.means.items():
        put(name, value)
    put("n_queries", report.n_queries)
    put("n_errors", report.n_errors)
    put("n_judged", report.n_judged)
    c = report.cache
    put("cache_lookups", c.lookups)
    put("cache_memory_hit_rate", c.memory_hit_rate)
    put("cache_sqlite_hit_rate", c.sqlite_hit_rate)
    for row in report.latency.to_dict("records"):
        stage = str(row["stage"])
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
    from ..evaluation.results.model import SIMULATED_LABEL

    cfg = report.config
    tags = {
        "region_set": cfg.region_set,
        "region_set_hash": report.region_set_hash,
        "judgments_hash": report.judgments_hash,
        "weights_hash": cfg.weights_hash,
        "weights": cfg.weights,
        "simulated": _text(report.simulated),
        "world": SIMULATED_LABEL if report.simulated else f"live ({cfg.mode})",
        "eval_run_id": report.run_id,
        "judges": report.judges,
        "status": report.status,
        "git_commit": report.git_commit or "unknown",
    }
    if report.git_commit:
        tags["mlflow.source.git.commit"] = report.git_commit
    weights, _, _ = _report_weights(report)
    if weights is not None:
        tags["weights_canonical_hash"] = weights.weights_hash()
    return tags


# ------------------------------------------------------------------------------ logging
def start_run(
    experiment: str = DEFAULT_EXPERIMENT,
    *,
    run_name: str | None = None,
    tags: Mapping[str, str] | None = None,
    tracking_uri: str | None = None,
    settings: Settings | None = None,
) -> str:
    """Create a RUNNING run (for callers that log into it later, like the papermill runner)."""
    secrets = _secrets(settings)
    uri = _uri(tracking_uri, settings)
    c = get_client(uri)
    exp_id = ensure_experiment(experiment, tracking_uri=uri, client=c)
    clean = {
        safe_key(k, secrets): _scrub(str(v), secrets)[:_MAX_TAG] for k, v in (tags or {}).items()
    }
    name = _scrub(run_name, secrets)[:250] if run_name else None
    run = _retry(lambda: c.create_run(exp_id, tags=clean, run_name=name))
    return str(run.info.run_id)


def end_run(
    run_id: str,
    status: str = "FINISHED",
    *,
    tracking_uri: str | None = None,
    settings: Settings | None = None,
) -> None:
    """Mark a run FINISHED (or FAILED, KILLED)."""
    c = get_client(_uri(tracking_uri, settings))
    _retry(lambda: c.set_terminated(run_id, status=status))


def _retry(fn: Any, attempts: int = 5) -> Any:
    """Call ``fn``, retrying briefly on SQLite lock contention (parallel report kernels)."""
    for i in range(attempts):
        try:
            return fn()
        except Exception as exc:
            if i == attempts - 1 or "locked" not in str(exc).lower():
                raise
            time.sleep(0.2 * (2**i))
    return None  # pragma: no cover


def _chunks(items: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _log_batch(
    client: MlflowClient,
    run_id: str,
    *,
    params: Mapping[str, str] | None = None,
    metrics: Mapping[str, float] | None = None,
    tags: Mapping[str, str] | None = None,
) -> None:
    from mlflow.entities import Metric, Param, RunTag

    now = int(time.time() * 1000)
    p = [Param(k, v) for k, v in (params or {}).items()]
    t = [RunTag(k, v) for k, v in (tags or {}).items()]
    m = [Metric(k, v, now, 0) for k, v in (metrics or {}).items()]
    for chunk in _chunks(p, _BATCH_PARAMS):
        _retry(lambda c=chunk: client.log_batch(run_id, params=list(c)))
    for chunk in _chunks(t, _BATCH_PARAMS):
        _retry(lambda c=chunk: client.log_batch(run_id, tags=list(c)))
    for chunk in _chunks(m, _BATCH_METRICS):
        _retry(lambda c=chunk: client.log_batch(run_id, metrics=list(c)))


def _upload(client: MlflowClient, run_id: str, staging: Path, secrets: Sequence[str]) -> list[str]:
    """Scrub every file under ``staging`` and upload the tree; returns the dropped files."""
    dropped: list[str] = []
    for f in sorted(p for p in staging.rglob("*") if p.is_file()):
        if not _scrub_file(f, secrets):
            dropped.append(f.relative_to(staging).as_posix())
            f.unlink()
    _retry(lambda: client.log_artifacts(run_id, str(staging)))
    return dropped


def log_file(
    run_id: str,
    path: str | Path,
    artifact_path: str | None = None,
    *,
    tracking_uri: str | None = None,
    settings: Settings | None = None,
) -> bool:
    """Log one file (scrubbed of secrets) into a run; False when it was withheld (binary with
    a secret in it)."""
    secrets = _secrets(settings)
    c = get_client(_uri(tracking_uri, settings))
    src = Path(path)
    with tempfile.TemporaryDirectory(prefix="underfoot-mlflow-") as tmp:
        target = Path(tmp) / (artifact_path or "") / src.name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, target)
        dropped = _upload(c, run_id, Path(tmp), secrets)
    if dropped:
        _retry(lambda: c.set_tag(run_id, "redacted_artifacts", ",".join(dropped)[:_MAX_TAG]))
    return not dropped


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
) -> str:
    """Log an :class:`EvaluationReport` to MLflow; returns the MLflow run id.

    Creates a run in ``experiment`` (created if missing) and ends it FINISHED, or, with
    ``run_id``, logs into that existing run and leaves its status alone (its creator ends it:
    the papermill runner does, after adding the executed notebook). ``figures``: True draws
    :func:`underfoot_lab.viz.figures.report_figures`; a mapping ``name -> plotly figure`` logs
    those instead; False logs none. ``extra_figures`` are added either way (a results map, say).
    ``notebook_path`` adds that notebook under ``notebook/``. See the module docstring for
    everything a run holds and how secrets are kept out.
    """
    secrets = _secrets(settings)
    uri = _uri(tracking_uri, settings)
    c = get_client(uri)
    own_run = run_id is None
    if run_id is None:
        default_name = f"{report.config.region_set} · {report.config.weights} · {report.run_id}"
        run_id = start_run(
            experiment, run_name=run_name or default_name, tracking_uri=uri, settings=settings
        )
    try:
        params = {
            safe_key(k, secrets): _scrub(v, secrets)[:_MAX_PARAM]
            for k, v in evaluation_params(report).items()
        }
        all_tags = {**evaluation_tags(report), **(tags or {})}
        clean_tags = {
            safe_key(k, secrets): _scrub(str(v), secrets)[:_MAX_TAG] for k, v in all_tags.items()
        }
        metrics = {safe_key(k, secrets): v for k, v in evaluation_metrics(report).items()}
        _log_batch(c, run_id, params=params, metrics=metrics, tags=clean_tags)
        with tempfile.TemporaryDirectory(prefix="underfoot-mlflow-") as tmp:
            staging = Path(tmp)
            _stage_artifacts(report, staging, figures, extra_figures, notebook_path)
            dropped = _upload(c, run_id, staging, secrets)
        if dropped:
            _retry(lambda: c.set_tag(run_id, "redacted_artifacts", ",".join(dropped)[:_MAX_TAG]))
    except BaseException:
        if own_run:
            end_run(run_id, "FAILED", tracking_uri=uri)
        raise
    if own_run:
        end_run(run_id, "FINISHED", tracking_uri=uri)
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
        label = " [offline world (simulated)]" if report.simulated else ""
        (fig_dir / "figures.html").write_text(
            figures_html(
                figs,
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


# ------------------------------------------------------------------------------ reading
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
    """:func:`~underfoot_lab.evaluation.results.compare.compare_reports` of two reports (as a
    frame), re-scoring both against the union of their qrels first when they were judged on
    different ones (their ``judgments_hash`` differs), so neither is judged on a smaller pool.
    ``attrs["rescored"]`` says whether that happened."""
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
    and over regions, Cohen's d (all from :mod:`underfoot_lab.evaluation.metrics.paired`), one
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
