"""Helpers the notebooks' cells call, so the notebooks stay thin (cells only call the package).

:func:`setup_notebook` prepares a kernel; :func:`notebook_report`, :func:`means_table`,
:func:`query_result`, :func:`query_map`, :func:`across_worlds` (a :class:`WorldsComparison`) and
:func:`log_report` serve ``notebooks/report.ipynb``;
:func:`runs_overview` and :func:`compare` (a :class:`RunComparison`) serve
``notebooks/compare.ipynb``. The papermill runner of the report notebook is
:mod:`underfoot_lab.papermill_reports`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import ConfigError

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    import plotly.graph_objects as go

    from .evaluation.across_worlds import AcrossWorlds
    from .evaluation.results.model import EvaluationReport
    from .records import SearchResult
    from .settings import Settings

__all__ = [
    "RunComparison",
    "WorldsComparison",
    "across_worlds",
    "compare",
    "log_report",
    "means_table",
    "notebook_report",
    "query_map",
    "query_result",
    "query_table",
    "region_table",
    "runs_overview",
    "setup_notebook",
]

HOME_ENV = "UNDERFOOT_HOME"


def _settings(settings: Settings | None = None) -> Settings:
    if settings is not None:
        return settings
    from .settings import Settings

    return Settings()


# ------------------------------------------------------------------------------ notebooks
def setup_notebook(home: str | Path | None = None, *, renderer: str | None = None) -> Settings:
    """Prepare a notebook kernel; returns its :class:`Settings`.

    ``home`` (the runner passes an absolute path) becomes ``UNDERFOOT_HOME``. Without it, a
    kernel started in the repo's ``notebooks/`` directory (JupyterLab, nbval) and no
    ``UNDERFOOT_HOME`` uses the repo's ``.underfoot/``, the same store the CLI uses, rather
    than ``notebooks/.underfoot``. MLflow telemetry is switched off; plotly renders both as
    JupyterLab's mime type (drawn by JupyterLab's own plotly) and as HTML that loads
    ``plotly.min.js`` from the notebook's directory (:mod:`underfoot_lab.viz.offline`; the
    report runner writes it there once), so notebooks stay small and render offline.
    """
    if home is not None:
        os.environ[HOME_ENV] = str(Path(home).expanduser().resolve())
    elif HOME_ENV not in os.environ:
        cwd = Path.cwd()
        if cwd.name == "notebooks" and (cwd.parent / "pyproject.toml").is_file():
            os.environ[HOME_ENV] = str(cwd.parent / ".underfoot")
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    import plotly.io as pio

    from .viz.offline import register_renderer

    pio.renderers.default = renderer or f"plotly_mimetype+{register_renderer()}"
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
    world: str | Path | None = None,
    bundle: str | Path | None = None,
    judges: str = "world",
) -> EvaluationReport:
    """The report a notebook shows: loaded from ``report_dir`` (a saved report), rebuilt from
    the run store for ``eval_run_id`` (in the world the run recorded), or evaluated now
    (``region_set``, default set) in the offline world ``world`` (a scenario name or YAML
    path; None: the settings' own), or, with ``bundle``, on that collected bundle (replayed,
    no network, scored by its judgments or ``judges``; :func:`log_report` then tags the MLflow
    run with the bundle, as ``evaluate --bundle`` does)."""
    from .evaluation.regions import default_region_set_name
    from .evaluation.results.model import EvaluationReport
    from .evaluation.runner import evaluate_region_set, load_report

    s = _settings(settings)
    if report_dir is not None:
        return EvaluationReport.load(report_dir)
    if eval_run_id:
        return load_report(eval_run_id, settings=s)
    if bundle:
        return _bundle_report(bundle, s, weights=weights, k=k, judges=judges, progress=progress)
    if world:
        s = s.model_copy(update={"world": str(world)})
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
        judges=judges,
    )


_BUNDLE_TAGS: dict[str, dict[str, str]] = {}
"""MLflow tags of the reports this kernel evaluated on a bundle, by run-store id, for
:func:`log_report` (the report record itself does not know it came from a bundle)."""


def _bundle_report(
    bundle: str | Path,
    settings: Settings,
    *,
    weights: str | Path | None,
    k: int,
    judges: str,
    progress: bool,
) -> EvaluationReport:
    from .bundles import check_run, prepare
    from .evaluation.runner import evaluate_region_set

    run = prepare(bundle, settings, judges)
    report = evaluate_region_set(
        run.region_set,
        settings=run.settings,
        weights=Path(weights) if weights else None,
        k=int(k),
        use_cache=False,
        progress=progress,
        judges=run.judges,
    )
    check_run(run, report.run_id)
    _BUNDLE_TAGS[report.run_id] = run.tags
    return report


def means_table(report: EvaluationReport) -> pd.DataFrame:
    """``metric, display, mean`` for every mean of the report, in report order."""
    import pandas as pd

    names = report.display_names()
    return pd.DataFrame(
        [{"metric": n, "display": names.get(n, n), "mean": v} for n, v in report.means.items()]
    )


def region_table(report: EvaluationReport) -> Any:
    """``report.per_region`` formatted for reading (a pandas Styler): ``n`` and ``errors`` as
    integers, metrics to 3 decimals, missing values as an en dash, display names as headers."""
    frame = report.per_region.copy()
    return _styled(frame, report)


def query_table(report: EvaluationReport) -> Any:
    """``report.per_query`` formatted like :func:`region_table` (latency in whole ms)."""
    return _styled(report.per_query.copy(), report)


def _styled(frame: pd.DataFrame, report: EvaluationReport) -> Any:
    import pandas as pd

    names = report.display_names()
    ints = [c for c in ("n", "errors", "n_results", "n_judged", "n_relevant") if c in frame]
    floats = [c for c in frame.columns if c not in ints and pd.api.types.is_float_dtype(frame[c])]
    ms = [c for c in floats if c.endswith("_ms")]
    fmt: dict[str, Any] = {c: "{:.3f}" for c in floats if c not in ms}
    fmt.update({c: "{:,.0f}" for c in ms})
    fmt.update({c: "{:d}" for c in ints})
    styled = frame.style.format(fmt, na_rep="–").hide(axis="index")
    return styled.relabel_index([names.get(c, c) for c in frame.columns], axis="columns")


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
    from .harness import build_harness

    with build_harness(s) as harness:
        return harness.pipeline.search(str(match.iloc[0]["text"]))


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
        tags=_BUNDLE_TAGS.get(report.run_id),
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
        from .evaluation.results.compare import format_comparison

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
                "--weights experiments/weights/tuned-default-world.yaml"
            )
            return RunComparison(run_a, run_b, pd.DataFrame(columns=columns), message=msg)
        run_a = run_a or pair[0]
        run_b = run_b or pair[1]
    a = tracking.download_report(run_a, tracking_uri=uri)
    b = tracking.download_report(run_b, tracking_uri=uri)
    table = tracking.compare_reports_paired(a, b, metrics, seed=seed, n_resamples=n_resamples)
    table.attrs.update(run_a=run_a, run_b=run_b)
    return RunComparison(run_a, run_b, table, a, b)


# ------------------------------------------------------------------------------ across worlds
@dataclass
class WorldsComparison:
    """The report's weights against the default scorer in several scenario worlds
    (:func:`across_worlds`), or why that was skipped (``message``)."""

    result: AcrossWorlds | None
    message: str = ""

    @property
    def ok(self) -> bool:
        return self.result is not None

    @property
    def summary(self) -> str:
        """What was compared where, the verdict metric per world, and the one line
        "candidate better in k of n worlds, worse in j, inconclusive in the rest"."""
        if self.result is None:
            return self.message
        from .terminal import table

        r = self.result
        first = r.worlds[0].baseline
        rows = []
        for w in r.worlds:
            m = w.comparison[r.metric]
            rows.append(
                [w.world, f"{m.mean_a:.4f}", f"{m.mean_b:.4f}", f"{m.diff:+.4f}",
                 f"[{m.ci_low:.4f}, {m.ci_high:.4f}]", f"{m.p_rand_holm:.4g}", w.verdict]
            )  # fmt: skip
        headers = ["world", "mean A", "mean B", "diff", "95% CI", "p Holm", "verdict"]
        return (
            f"region set {r.region_set}: {first.n_queries} queries in {len(r.worlds)} offline "
            "worlds (simulated)\n"
            "A = the default scorer (seed rules on merged places, baseline-seed.yaml)\n"
            f"B = weights {r.candidate}\n"
            f"{r.display_metric}, diff = mean(B - A), per world:\n"
            + table(headers, rows, "lrrrlrl")
            + "\n"
            + r.line()
            + (f"\n{note}" if (note := r.worlds[0].comparison.region_note()) else "")
        )

    def table(self) -> Any:
        """Every metric in every world: means, diff, 95% CI, Holm-adjusted p, verdict
        (formatted; an empty frame when skipped)."""
        import pandas as pd

        if self.result is None:
            return pd.DataFrame()
        f = self.result.frame()
        shown = f[["world", "display", "n", "mean_a", "mean_b", "diff", "ci_low", "ci_high",
                   "p_rand_holm", "verdict"]]  # fmt: skip
        fmt: dict[str, Any] = {c: "{:.4f}" for c in ("mean_a", "mean_b", "ci_low", "ci_high")}
        fmt.update({"diff": "{:+.4f}", "p_rand_holm": "{:.4g}", "n": "{:d}"})
        names = ["world", "metric", "n", "mean A", "mean B", "diff", "CI low", "CI high",
                 "p Holm", "verdict"]  # fmt: skip
        styled = shown.style.format(fmt, na_rep="–").hide(axis="index")
        return styled.relabel_index(names, axis="columns")

    def figure(self) -> go.Figure:
        """The verdict metric's difference and CI per world (:func:`viz.worlds.worlds_figure`)."""
        import pandas as pd

        from .viz.worlds import worlds_figure

        if self.result is None:
            return worlds_figure(pd.DataFrame(columns=["metric"]), title=self.message)
        return worlds_figure(self.result)

    @property
    def figures(self) -> dict[str, go.Figure]:
        """``{"across_worlds": figure}`` to log with the report (empty when skipped)."""
        return {"across_worlds": self.figure()} if self.ok else {}


def _is_default_scorer(weights: str | Path) -> bool:
    from .evaluation.judging.pooling import load_weights
    from .pipeline.score.base import DEFAULT_WEIGHTS_NAME, weights_system

    if weights_system(weights) is not None:  # production's system: no weights vector
        return False
    mine = load_weights(Path(weights)).weights_hash()
    return mine == load_weights(DEFAULT_WEIGHTS_NAME).weights_hash()


def across_worlds(
    report: EvaluationReport,
    *,
    weights: str | Path | None = None,
    worlds: Sequence[str | Path] | None = None,
    settings: Settings | None = None,
    n_resamples: int = 10000,
    progress: bool = False,
) -> WorldsComparison:
    """The report's weights (candidate; ``weights``, else the weights file of the report's
    run) against the default scorer (baseline, ``baseline-seed``: seed rules on merged places)
    over the report's region set in each of ``worlds`` (names or YAML files; None: every
    shipped scenario, :func:`~.evaluation.across_worlds.shipped_worlds`), as
    ``underfoot-lab compare --world ...`` does. Stored runs of a world are reused.

    Skipped, with ``message`` saying why, for a report on real data, an empty ``worlds``, or
    when the report ran the default scorer itself (candidate and baseline would be the same).
    """
    from .evaluation.across_worlds import compare_in_worlds, shipped_worlds

    if not report.simulated:
        return WorldsComparison(
            None, "real data (live or a bundle): there are no scenario worlds to compare in"
        )
    chosen = list(worlds) if worlds is not None else shipped_worlds()
    if not chosen:
        return WorldsComparison(None, "worlds is empty: no comparison across worlds")
    cfg = report.config
    candidate = weights or (cfg.weights_path if cfg.weights_hash != "seed" else None)
    if candidate is None or _is_default_scorer(candidate):
        return WorldsComparison(
            None,
            "this report ran the default scorer, baseline-seed (seed rules on merged places), "
            "which is the baseline of the comparison across worlds: nothing to compare. Set "
            "`weights` to compare a weights file with it in each world.",
        )
    if not Path(candidate).is_file():
        return WorldsComparison(None, f"weights file {candidate} is gone: nothing to compare")
    result = compare_in_worlds(
        cfg.region_set_ref,
        candidate=candidate,
        worlds=chosen,
        settings=_settings(settings),
        k=report.k,
        n_resamples=n_resamples,
        progress=progress,
        log=print,
    )
    return WorldsComparison(result)
