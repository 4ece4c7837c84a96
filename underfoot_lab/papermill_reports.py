"""The report notebook run through papermill: ``notebooks/report.ipynb`` per region set.

:func:`run_report` (and :func:`run_reports` for several region sets; ``underfoot-lab report``)
creates an MLflow run first, executes the template with papermill (``kernel_name="python3"``)
passing that run's id as the ``mlflow_run_id`` parameter -- the notebook evaluates the region
set (or loads an existing evaluation) and logs the report, its tables and figures into that run
-- then logs the **executed** notebook into the same run under ``notebook/`` (a notebook cannot
upload itself before it has finished) and ends the run: FINISHED, or FAILED with the partly
executed notebook still attached. Executed notebooks are written to ``<settings.home>/reports/``
(git-ignored) unless told otherwise. Several region sets run with bounded parallelism, one
kernel each. The helpers the notebook's cells call are in :mod:`underfoot_lab.notebook_helpers`.
"""

from __future__ import annotations

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
    from .settings import Settings

__all__ = [
    "KERNEL_NAME",
    "REPORT_TEMPLATE",
    "ReportRun",
    "notebooks_dir",
    "reports_dir",
    "run_report",
    "run_reports",
]

KERNEL_NAME = "python3"
REPORT_TEMPLATE = "report.ipynb"

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
    world: str | None = None
    """The offline world's scenario name (the evaluation's ``world`` tag; None if unknown)."""
    world_hash: str | None = None
    """The scenario's hash (over its content and the world's code)."""
    error: str | None = None
    """Why the notebook failed (secrets redacted); None when it ran through."""
    bundle: dict[str, str] | None = None
    """The collected bundle the report replayed (its MLflow tags: name, hash,
    ``simulated=false``); None for a report on the offline world."""

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
            "world": self.world,
            "world_hash": self.world_hash,
            "elapsed_s": round(self.elapsed_s, 3),
            "metrics": self.metrics,
            "ok": self.ok,
            "error": self.error,
            "bundle": self.bundle,
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
    bundle: str | Path | None = None,
    judges: str = "world",
) -> ReportRun:
    """Execute the report template for one region set and log it all to one MLflow run.

    ``region_set`` defaults to the default set; ``weights`` (a YAML, default the seed scorer),
    ``k``, ``sources`` and ``eval_run_id`` (reuse a stored evaluation instead of running one)
    become notebook parameters; ``parameters`` adds or overrides any. ``bundle`` (a collected
    bundle's directory) replays it instead, scored by its judgments or ``judges``: the region
    set is the bundle's, and the MLflow run carries the bundle's tags (``bundle``,
    ``bundle_hash``, ``simulated=false``) from the start. The executed notebook is
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
    bundle_tags: dict[str, str] | None = None
    if bundle is not None:  # checked here, before a kernel starts (ConfigError: exit 2)
        from .bundles import prepare

        prepared = prepare(bundle, s, judges)
        if region_set is not None and Path(region_set).resolve() != prepared.region_set.resolve():
            raise ConfigError("a report on a bundle uses the bundle's region set: leave it out")
        region_set, bundle_tags = prepared.region_set, prepared.tags
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
        tags={
            "source": "papermill",
            "template": src.name,
            "region_set": label,
            **(bundle_tags or {}),
        },
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
        "world": _param_path(s.world),
        "experiment": experiment,
        "tracking_uri": uri,
        "eval_run_id": eval_run_id,
        "mlflow_run_id": run_id,
        "underfoot_home": str(s.home.expanduser().resolve()),
        "progress": False,
    }
    if bundle is not None:  # only then: a template without these parameters still runs
        params.update({"bundle": _param_path(bundle), "judges": judges})
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
        from .viz.offline import write_plotly_js

        # The notebook's figures load plotly.min.js from their own directory (written once
        # per report directory and once per run), instead of carrying 4.5 MB each.
        js = write_plotly_js(out_dir)
        tracking.log_file(run_id, out, "notebook", tracking_uri=uri, settings=s)
        tracking.log_file(run_id, js, "notebook", tracking_uri=uri, settings=s)
    if error is not None:
        client = tracking.get_client(uri)
        client.set_tag(run_id, "error", error)
    tracking.end_run(run_id, "FAILED" if error else "FINISHED", tracking_uri=uri)
    summary = tracking.run_summary(run_id, tracking_uri=uri)
    from .evaluation.metrics.catalog import metric_names

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
        world=summary["tags"].get("world") if summary["tags"].get("world_hash") else None,
        world_hash=summary["tags"].get("world_hash"),
        error=error,
        bundle=bundle_tags,
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
