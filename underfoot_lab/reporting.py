"""Report notebooks: run ``notebooks/report.ipynb`` through papermill, and the helpers its
cells (and ``notebooks/compare.ipynb``'s) call.

**The runner** (:func:`run_report`, :func:`run_reports`; ``underfoot-lab report``) creates an
MLflow run first, executes the template with papermill (``kernel_name="python3"``) passing
that run's id as the ``mlflow_run_id`` parameter -- the notebook evaluates the region set (or
loads an existing evaluation) and logs the report, its tables and figures into that run --
then logs the **executed** notebook into the same run under ``notebook/`` (a notebook cannot
upload itself before it has finished) and ends the run: FINISHED, or FAILED with the partly
executed notebook still attached. Executed notebooks are written to
``<settings.home>/reports/`` (git-ignored) unless told otherwise. Several region sets run with
bounded parallelism, one kernel each.

**Notebook helpers** keep the notebooks thin (cells only call the package):
:func:`setup_notebook`, :func:`notebook_report`, :func:`means_table`, :func:`query_result`,
:func:`log_report`, :func:`runs_overview`, :func:`compare`.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import ConfigError

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    import plotly.graph_objects as go

    from .evaluation.report import EvaluationReport
    from .records import SearchResult
    from .settings import Settings

__all__ = [
    "KERNEL_NAME",
    "REPORT_TEMPLATE",
    "ReportRun",
    "RunComparison",
    "compare",
    "log_report",
    "means_table",
    "notebook_report",
    "notebooks_dir",
    "query_map",
    "query_result",
    "reports_dir",
    "run_report",
    "run_reports",
    "runs_overview",
    "setup_notebook",
]

KERNEL_NAME = "python3"
REPORT_TEMPLATE = "report.ipynb"
HOME_ENV = "UNDERFOOT_HOME"

_NAME_RE = re.compile(r"[^A-Za-z0-9._-]+")


# ------------------------------------------------------------------------------ paths
def notebooks_dir() -> Path:
    """The repo's ``notebooks/`` directory (found walking up from this package), else
    ``./notebooks``."""
    for parent in Path(__file__).resolve().parents:
        if (parent / "notebooks" / REPORT_TEMPLATE).is_file():
            return parent / "notebooks"
    return Path.cwd() / "notebooks"


def reports_dir(settings: Settings | None = None) -> Path:
    """Where executed report notebooks go by default: ``<settings.home>/reports``."""
    return _settings(settings).home / "reports"


def _settings(settings: Settings | None = None) -> Settings:
    if settings is not None:
        return settings
    from .settings import Settings

    return Settings()


# ------------------------------------------------------------------------------ runner
@dataclass(frozen=True, slots=True)
class ReportRun:
    """One executed report notebook and where everything went."""

    region_set: str
    notebook: Path
    mlflow_run_id: str
    tracking_uri: str
    experiment: str
    elapsed_s: float
    metrics: dict[str, float] = field(default_factory=dict)
    """The logged means (MLflow-safe names; per-region and latency detail left out)."""
    eval_run_id: str | None = None
    """The run store's id of the evaluation (``underfoot-lab evaluate --resume`` etc.)."""
    artifact_uri: str | None = None
    simulated: bool | None = None
    """Whether the evaluation ran against the offline world (None if it never got that far)."""
    error: str | None = None
    """Why the notebook failed (secrets redacted); None when it ran through."""

    @property
    def ok(self) -> bool:
        return self.error is None

    def to_dict(self) -> dict[str, Any]:
        return {
            "region_set": self.region_set,
            "notebook": str(self.notebook),
            "mlflow_run_id": self.mlflow_run_id,
            "tracking_uri": self.tracking_uri,
            "experiment": self.experiment,
            "eval_run_id": self.eval_run_id,
            "artifact_uri": self.artifact_uri,
            "simulated": self.simulated,
            "elapsed_s": round(self.elapsed_s, 3),
            "metrics": self.metrics,
            "ok": self.ok,
            "error": self.error,
        }


def _stamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%d-%H%M%S")


def _region_label(region_set: str | Path) -> str:
    text = str(region_set)
    if text.endswith((".yaml", ".yml")):
        text = Path(text).stem
    return _NAME_RE.sub("-", text).strip("-.") or "region-set"


def _param_path(value: str | Path | None) -> str | None:
    """An absolute path for a parameter that names an existing file (the kernel may run
    elsewhere); other values (a region set name) unchanged."""
    if value is None:
        return None
    p = Path(value).expanduser()
    return str(p.resolve()) if p.exists() else str(value)


def _short_error(exc: BaseException, secrets: Sequence[str]) -> str:
    from .redaction import redact

    name = getattr(exc, "ename", None) or type(exc).__name__
    value = getattr(exc, "evalue", None) or str(exc)
    text = " ".join(f"{name}: {value}".split())
    return redact(text, tuple(secrets))[:500]


def run_report(
    region_set: str | Path | None = None,
    *,
    weights: str | Path | None = None,
    k: int = 10,
    sources: Sequence[str] | str | None = None,
    experiment: str | None = None,
    tracking_uri: str | None = None,
    settings: Settings | None = None,
    output_dir: str | Path | None = None,
    template: str | Path | None = None,
    eval_run_id: str | None = None,
    parameters: Mapping[str, Any] | None = None,
    kernel_name: str = KERNEL_NAME,
    execution_timeout: int | None = None,
) -> ReportRun:
    """Execute the report template for one region set and log it all to one MLflow run.

    ``region_set`` defaults to the default set; ``weights`` (a YAML, default the seed scorer),
    ``k``, ``sources`` and ``eval_run_id`` (reuse a stored evaluation instead of running one)
    become notebook parameters; ``parameters`` adds or overrides any. The executed notebook is
    ``<output_dir or settings.home/reports>/<UTC stamp>-<region set>-<run id[:8]>.ipynb``.
    Never raises for a failing notebook: the returned :class:`ReportRun` carries the error and
    the MLflow run is marked FAILED.
    """
    import papermill

    from . import tracking
    from .evaluation.regions import default_region_set_name

    s = _settings(settings)
    secrets = s.secret_values()
    experiment = experiment or tracking.DEFAULT_EXPERIMENT
    uri = tracking.tracking_uri(tracking_uri, s)
    chosen = str(region_set) if region_set is not None else default_region_set_name()
    label = _region_label(chosen)
    src = Path(template) if template is not None else notebooks_dir() / REPORT_TEMPLATE
    if not src.is_file():
        raise ConfigError(f"report template {src} does not exist")
    if weights is not None and not Path(weights).expanduser().is_file():
        raise ConfigError(f"weights file {weights} does not exist")
    out_dir = Path(output_dir) if output_dir is not None else reports_dir(s)
    out_dir.mkdir(parents=True, exist_ok=True)
    weights_name = Path(weights).stem if weights is not None else "seed"
    run_id = tracking.start_run(
        experiment,
        run_name=f"report {label} · {weights_name}",
        tags={"source": "papermill", "template": src.name, "region_set": label},
        tracking_uri=uri,
        settings=s,
    )
    out = out_dir / f"{_stamp()}-{label}-{run_id[:8]}.ipynb"
    source_list = (
        ",".join(sources) if sources is not None and not isinstance(sources, str) else sources
    )
    params: dict[str, Any] = {
        "region_set": _param_path(chosen),
        "weights": _param_path(weights),
        "k": int(k),
        "sources": source_list,
        "experiment": experiment,
        "tracking_uri": uri,
        "eval_run_id": eval_run_id,
        "mlflow_run_id": run_id,
        "underfoot_home": str(s.home.expanduser().resolve()),
        "progress": False,
    }
    params.update(parameters or {})
    start = time.perf_counter()
    error: str | None = None
    try:
        papermill.execute_notebook(
            str(src),
            str(out),
            parameters=params,
            kernel_name=kernel_name,
            progress_bar=False,
            log_output=False,
            request_save_on_cell_execute=True,
            execution_timeout=execution_timeout,
            # The kernel warns at start that loopback TCP is unencrypted; it is a one-shot,
            # local kernel, and the warning would be the only noise in the main job's output.
            extra_arguments=["--IPKernelApp.log_level=ERROR"],
        )
    except Exception as exc:  # reported in the ReportRun and on the MLflow run
        error = _short_error(exc, secrets)
    elapsed = time.perf_counter() - start
    if out.is_file():
        tracking.log_file(run_id, out, "notebook", tracking_uri=uri, settings=s)
    if error is not None:
        client = tracking.get_client(uri)
        client.set_tag(run_id, "error", error)
    tracking.end_run(run_id, "FAILED" if error else "FINISHED", tracking_uri=uri)
    summary = tracking.run_summary(run_id, tracking_uri=uri)
    from .evaluation.report import metric_names

    names = set(metric_names(int(k)))
    metrics = {k_: v for k_, v in summary["metrics"].items() if k_ in names}
    return ReportRun(
        region_set=label,
        notebook=out,
        mlflow_run_id=run_id,
        tracking_uri=uri,
        experiment=experiment,
        elapsed_s=elapsed,
        metrics=metrics,
        eval_run_id=summary["tags"].get("eval_run_id"),
        artifact_uri=summary["artifact_uri"],
        simulated={"true": True, "false": False}.get(summary["tags"].get("simulated", "")),
        error=error,
    )


def run_reports(
    region_sets: Sequence[str | Path | None],
    *,
    parallel: int = 2,
    **kwargs: Any,
) -> list[ReportRun]:
    """:func:`run_report` for each region set, at most ``parallel`` kernels at a time; results
    in the order given. The experiment (and the SQLite store) is created first, once, so the
    kernels never race to create it."""
    from . import tracking

    if parallel < 1:
        raise ConfigError(f"parallel must be at least 1, got {parallel}")
    s = _settings(kwargs.get("settings"))
    kwargs["settings"] = s
    uri = tracking.tracking_uri(kwargs.get("tracking_uri"), s)
    kwargs["tracking_uri"] = uri
    tracking.ensure_experiment(
        kwargs.get("experiment") or tracking.DEFAULT_EXPERIMENT, tracking_uri=uri
    )
    if len(region_sets) <= 1 or parallel == 1:
        return [run_report(rs, **kwargs) for rs in region_sets]
    with ThreadPoolExecutor(max_workers=min(parallel, len(region_sets))) as pool:
        futures = [pool.submit(run_report, rs, **kwargs) for rs in region_sets]
        return [f.result() for f in futures]


# ------------------------------------------------------------------------------ notebooks
def setup_notebook(home: str | Path | None = None, *, renderer: str | None = None) -> Settings:
    """Prepare a notebook kernel; returns its :class:`Settings`.

    ``home`` (the runner passes an absolute path) becomes ``UNDERFOOT_HOME``. Without it, a
    kernel started in the repo's ``notebooks/`` directory (JupyterLab, nbval) and no
    ``UNDERFOOT_HOME`` uses the repo's ``.underfoot/``, the same store the CLI uses, rather
    than ``notebooks/.underfoot``. MLflow telemetry is switched off; plotly renders both as
    JupyterLab's mime type and as inline HTML (plotly.js embedded once, so the executed
    notebook shows its figures offline anywhere).
    """
    if home is not None:
        os.environ[HOME_ENV] = str(Path(home).expanduser().resolve())
    elif HOME_ENV not in os.environ:
        cwd = Path.cwd()
        if cwd.name == "notebooks" and (cwd.parent / "pyproject.toml").is_file():
            os.environ[HOME_ENV] = str(cwd.parent / ".underfoot")
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    import plotly.io as pio

    pio.renderers.default = renderer or "plotly_mimetype+notebook"
    return _settings()


def notebook_report(
    region_set: str | Path | None = None,
    *,
    weights: str | Path | None = None,
    k: int = 10,
    sources: Sequence[str] | str | None = None,
    eval_run_id: str | None = None,
    report_dir: str | Path | None = None,
    settings: Settings | None = None,
    progress: bool = True,
) -> EvaluationReport:
    """The report a notebook shows: loaded from ``report_dir`` (a saved report), rebuilt from
    the run store for ``eval_run_id``, or evaluated now (``region_set``, default set)."""
    from .evaluation.regions import default_region_set_name
    from .evaluation.report import EvaluationReport
    from .evaluation.runner import evaluate_region_set, load_report

    s = _settings(settings)
    if report_dir is not None:
        return EvaluationReport.load(report_dir)
    if eval_run_id:
        return load_report(eval_run_id, settings=s)
    if sources:
        chosen = (
            tuple(x.strip() for x in sources.split(","))
            if isinstance(sources, str)
            else tuple(sources)
        )
        s = s.model_copy(update={"sources": tuple(x for x in chosen if x)})
    return evaluate_region_set(
        region_set or default_region_set_name(),
        settings=s,
        weights=Path(weights) if weights else None,
        k=int(k),
        progress=progress,
    )


def means_table(report: EvaluationReport) -> pd.DataFrame:
    """``metric, display, mean`` for every mean of the report, in report order."""
    import pandas as pd

    names = report.display_names()
    return pd.DataFrame(
        [{"metric": n, "display": names.get(n, n), "mean": v} for n, v in report.means.items()]
    )


def query_result(
    report: EvaluationReport, query_id: str | None = None, *, settings: Settings | None = None
) -> SearchResult | None:
    """One query's stored :class:`SearchResult` (default: the first query with results),
    from the run store; searched again (cache-backed) when the store does not have it.
    None when no query produced results."""
    from .evaluation.runner import RunStore

    s = _settings(settings)
    frame = report.per_query
    if query_id is None:
        ok = frame[(frame["status"] == "ok") & (frame["n_results"] > 0)]
        if not len(ok):
            return None
        query_id = str(ok.iloc[0]["query_id"])
    match = frame[frame["query_id"] == query_id]
    if not len(match):
        raise ConfigError(f"query {query_id!r} is not in report {report.run_id}")
    store = RunStore(settings=s)
    if store.path.is_file() and store.exists(report.run_id):
        row = store.rows(report.run_id).get(query_id)
        if row is not None and row.result_json is not None:
            return row.result()
    from .pipeline.run import Pipeline

    with Pipeline(s) as pipe:
        return pipe.search(str(match.iloc[0]["text"]))


def query_map(
    report: EvaluationReport,
    query_id: str | None = None,
    *,
    settings: Settings | None = None,
    top: int = 10,
) -> go.Figure:
    """:func:`viz.figures.results_map` of one query of the report (:func:`query_result`;
    default: the first query with results), drawn with the primary radius of the settings."""
    import plotly.graph_objects as go

    from .viz.figures import results_map

    s = _settings(settings)
    result = query_result(report, query_id, settings=s)
    if result is None:
        fig = go.Figure()
        fig.add_annotation(text="no query produced results", showarrow=False)
        return fig
    return results_map(result, top=top, radius_km=s.primary_radius_km)


def log_report(
    report: EvaluationReport,
    *,
    experiment: str | None = None,
    tracking_uri: str | None = None,
    run_id: str | None = None,
    figures: Mapping[str, Any] | bool = True,
    enabled: bool = True,
    settings: Settings | None = None,
) -> str | None:
    """Log the report to MLflow from a notebook (:func:`tracking.log_evaluation`); returns
    the MLflow run id (None when ``enabled`` is false) and prints where it went."""
    if not enabled:
        print("MLflow logging is off (log_to_mlflow = False)")
        return None
    from . import tracking

    uri = tracking.tracking_uri(tracking_uri, settings)
    rid = tracking.log_evaluation(
        report,
        experiment=experiment or tracking.DEFAULT_EXPERIMENT,
        figures=figures,
        run_id=run_id,
        tracking_uri=uri,
        settings=settings,
    )
    shown = experiment or tracking.DEFAULT_EXPERIMENT
    print(f"logged to MLflow run {rid} (experiment {shown}, {uri})")
    return rid


_OVERVIEW = (
    "run_id",
    "start_time",
    "tags.region_set",
    "params.weights",
    "params.k",
    "tags.simulated",
    "tags.eval_run_id",
    "metrics.ndcg_at_10",
    "metrics.p_at_5",
    "metrics.mrr",
    "metrics.map",
    "metrics.hiddenness_at_10",
    "metrics.geo_precision_at_10",
    "metrics.answer_faithfulness",
    "metrics.latency_p50_ms",
    "metrics.latency_p95_ms",
    "metrics.cache_hit_rate",
)


def runs_overview(runs: pd.DataFrame) -> pd.DataFrame:
    """The columns of :func:`tracking.load_runs` worth a glance (those present)."""
    return runs[[c for c in _OVERVIEW if c in runs.columns]]


@dataclass
class RunComparison:
    """Two MLflow runs compared (:func:`compare`): the table of tests, both reports, or why
    there was nothing to compare."""

    run_a: str | None
    run_b: str | None
    table: pd.DataFrame
    report_a: EvaluationReport | None = None
    report_b: EvaluationReport | None = None
    message: str = ""

    @property
    def ok(self) -> bool:
        return self.report_a is not None and self.report_b is not None

    @property
    def summary(self) -> str:
        if not self.ok:
            return self.message
        from .evaluation.report import format_comparison

        a, b = self.report_a, self.report_b
        assert a is not None and b is not None
        world = " [offline world (simulated)]" if a.simulated else ""
        rescored = (
            " (re-scored against the union of both runs' qrels)"
            if self.table.attrs.get("rescored")
            else ""
        )
        return (
            f"region set {a.config.region_set}: {a.n_queries} queries{world}\n"
            f"A = MLflow run {self.run_a} (weights {a.config.weights}, eval run {a.run_id})\n"
            f"B = MLflow run {self.run_b} (weights {b.config.weights}, eval run {b.run_id})\n"
            f"diff = mean(B - A){rescored}\n\n" + format_comparison(self.table)
        )

    def figure(self) -> go.Figure:
        """Difference per metric with its CI (:func:`viz.figures.comparison_figure`)."""
        from .viz.figures import comparison_figure

        return comparison_figure(self.table)

    def per_query_figure(self, metric: str = "ndcg_at_10") -> go.Figure:
        """One point per query, A against B (:func:`viz.figures.per_query_comparison`)."""
        import pandas as pd

        from .viz.figures import per_query_comparison

        if not self.ok:
            empty = pd.DataFrame(columns=["query_id", "region", "text", metric])
            return per_query_comparison(empty, empty, metric, title=self.message or None)
        assert self.report_a is not None and self.report_b is not None
        return per_query_comparison(
            self.report_a.per_query,
            self.report_b.per_query,
            metric,
            labels=(f"A {self.report_a.config.weights}", f"B {self.report_b.config.weights}"),
        )


def compare(
    runs: pd.DataFrame | None = None,
    *,
    run_a: str | None = None,
    run_b: str | None = None,
    region_set: str | None = None,
    metrics: Sequence[str] | None = None,
    experiment: str | None = None,
    tracking_uri: str | None = None,
    seed: int = 0,
    n_resamples: int = 10000,
) -> RunComparison:
    """Compare MLflow runs ``run_a`` and ``run_b``, by default the latest two runs over the
    same queries (:func:`tracking.latest_pair`). Never raises for "not enough runs": the
    result's ``message`` says what to run."""
    import pandas as pd

    from . import tracking

    columns = ["metric", "display", "n", "mean_a", "mean_b", "diff", "p_t", "p_rand"]
    uri = tracking.tracking_uri(tracking_uri)
    if run_a is None or run_b is None:
        if runs is None:
            runs = tracking.load_runs(experiment or tracking.DEFAULT_EXPERIMENT, tracking_uri=uri)
        pair = tracking.latest_pair(runs, region_set)
        if pair is None:
            msg = (
                "need two finished MLflow runs over the same region set to compare "
                f"({len(runs)} found); run `underfoot-lab report` twice, e.g. once more with "
                "--weights experiments/weights/default.yaml"
            )
            return RunComparison(run_a, run_b, pd.DataFrame(columns=columns), message=msg)
        run_a = run_a or pair[0]
        run_b = run_b or pair[1]
    a = tracking.download_report(run_a, tracking_uri=uri)
    b = tracking.download_report(run_b, tracking_uri=uri)
    table = tracking.compare_reports_paired(a, b, metrics, seed=seed, n_resamples=n_resamples)
    table.attrs.update(run_a=run_a, run_b=run_b)
    return RunComparison(run_a, run_b, table, a, b)
