"""A sweep in MLflow: the parent run (params, metrics, artifacts), child runs for the top
trials and the Pareto front, and reading a logged sweep back (:func:`load_sweep`, for
``notebooks/sweeps.ipynb``). Everything is written through :mod:`underfoot_lab.tracking`'s
one writer, which keeps secrets out and waits out SQLite locks."""

from __future__ import annotations

import json
import math
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import ConfigError
from ..pipeline.score.features import SCORED_FEATURES
from ..pipeline.score.weights import ScoringWeights
from ..provenance import git_commit, git_dirty
from .comparison import nanmean
from .result import SIMULATED_LABEL, SweepResult, json_safe
from .search import SearchSpace
from .spec import SCALAR_PARAMS, parse_metric, resolve_path

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    import plotly.graph_objects as go

    from ..settings import Settings

__all__ = ["SWEEP_KIND_TAG", "LoadedSweep", "list_sweeps", "load_sweep", "log_sweep"]

SWEEP_KIND_TAG = "underfoot.kind"


def log_sweep(
    r: SweepResult,
    *,
    tracking_uri: str | None = None,
    settings: Settings | None = None,
) -> str:
    """Log a sweep to MLflow (see the module docstring); returns the parent run id and sets
    ``r.mlflow_run_id``, ``r.tracking_uri`` and ``r.experiment``."""
    from .. import tracking

    s = r.spec
    uri = tracking.tracking_uri(tracking_uri, settings)
    client = tracking.get_client(uri)
    tracking.ensure_experiment(s.experiment, tracking_uri=uri, client=client)
    commit, dirty = git_commit(), git_dirty()
    base_tags = {
        SWEEP_KIND_TAG: "sweep",
        "sweep_name": s.name,
        "region_set": r.region_set,
        "pool_key": r.pool_key,
        "spec_hash": s.spec_hash(),
        "study_key": s.study_key(),
        "method": s.method,
        "simulated": "true" if r.simulated else "false",
        "world": (r.world or "unknown") if r.simulated else "live",
        "world_hash": (r.world_hash or "unknown") if r.simulated else "none",
        "git_commit": commit or "unknown",
        "git_dirty": "unknown" if dirty is None else str(dirty).lower(),
        # The pool's own build (its truth and features) may come from another checkout state.
        "pool_git_dirty": "unknown" if r.git_dirty is None else str(r.git_dirty).lower(),
    }
    tags = {
        **base_tags,
        "best_trial": str(r.winner.number),
        "best_weights": r.winner_weights.name,
        "best_weights_hash": r.winner_weights.weights_hash(),
        "feasible": "true" if r.feasible else "false",
    }
    if commit:
        tags["mlflow.source.git.commit"] = commit
    name = f"sweep {s.name} · {s.method} · {r.n_trials_run} trials"
    run_id = tracking.start_run(
        s.experiment, run_name=name, tags=tags, tracking_uri=uri, settings=settings
    )
    r.mlflow_run_id, r.tracking_uri, r.experiment = run_id, uri, s.experiment
    try:
        params: dict[str, Any] = {
            "sweep": s.name,
            "method": s.method,
            "trials": r.n_trials_run,
            "seed": s.seed,
            "region_set": r.region_set,
            "objective": s.objective,
            "secondary": ",".join(s.secondary),
            "constraints": "; ".join(s.constraints) or "none",
            "validation": s.validation.describe(),
            "tune_regions": ",".join(r.final.tune),
            "heldout_regions": ",".join(sorted({x for sp in r.splits for x in sp.heldout})),
            "base_weights": s.base_weights,
            "baselines": ",".join(f"{k}={v}" for k, v in s.baselines.items()),
            "pool": r.pool_path.name,
            "world": r.world or "unknown",
            "world_hash": r.world_hash or "unknown",
            "queries": r.n_queries,
            "executor": r.executor,
            "best_trial": r.winner.number,
        }
        params.update({f"range.{k}": v.describe() for k, v in s.ranges.items()})
        params.update(tracking.weights_params(r.winner_weights, "best."))
        metrics: dict[str, Any] = {
            "n_trials": r.n_trials_run,
            "n_feasible": int(r.final_study.table["feasible"].sum()),
            "n_pareto": len(r.pareto),
            "queries": r.n_queries,
        }
        metrics.update({f"time.{k}": v for k, v in r.timings.items()})
        if r.timings.get("trials_s"):
            metrics["trials_per_s"] = r.n_trials_run / r.timings["trials_s"]
        for row in r.summary.to_dict("records"):
            m = row["metric"]
            metrics[f"best.tune.{m}"] = row["tuning"]
            metrics[f"best.heldout.{m}"] = row["heldout"]
            for b in r.baselines:
                metrics[f"baseline.{b}.heldout.{m}"] = row[b]
        for c in r.comparison.to_dict("records"):
            key = f"vs.{c['baseline']}.{c['metric']}"
            for f in ("diff", "p_rand", "p_holm", "ci_low", "ci_high", "effect_size"):
                metrics[f"{key}.{f}"] = c[f]
        tracking.log_values(
            run_id, params=params, metrics=metrics, settings=settings, client=client
        )
        _log_artifacts(r, run_id, uri, settings)
        _log_children(r, client, run_id, base_tags, uri, settings)
    except BaseException:
        tracking.end_run(run_id, "FAILED", tracking_uri=uri)
        raise
    tracking.end_run(run_id, "FINISHED", tracking_uri=uri)
    return run_id


def _log_artifacts(r: SweepResult, run_id: str, uri: str, settings: Settings | None) -> None:
    from ..tracking.writer import log_artifacts
    from ..viz.figures import figures_html

    with tempfile.TemporaryDirectory(prefix="underfoot-sweep-") as tmp:
        root = Path(tmp)

        def put(rel: str, text: str) -> None:
            p = root / rel
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_text(text, encoding="utf-8")

        trials = r.trials.copy()
        put("trials/trials.csv", trials.to_csv(index=False))
        pq_path = root / "trials" / "trials.parquet"
        trials.to_parquet(pq_path, index=False)
        put("per_query/per_query.csv", r.per_query.to_csv(index=False))
        put("comparison/comparison.csv", r.comparison.to_csv(index=False))
        put(
            "comparison/comparison.json",
            json.dumps(json_safe(r.comparison.to_dict("records")), indent=2),
        )
        put("summary/summary.csv", r.summary.to_csv(index=False))
        put("summary/summary.txt", r.summary_text() + "\n")
        put("summary/summary.json", json.dumps(r.to_payload(), indent=2))
        put("spec/spec.yaml", r.spec.to_yaml_text())
        put(f"weights/{r.winner_weights.name}.yaml", r.winner_weights.to_yaml_text())
        for b, w in r.baselines.items():
            put(f"baselines/{b}.yaml", w.to_yaml_text())
        fig = r.pareto_figure()
        put("figures/pareto.json", fig.to_json())
        put(
            "figures/pareto.html",
            figures_html(
                {"Pareto front": fig},
                title=f"Sweep {r.spec.name}: Pareto front [{SIMULATED_LABEL}]",
                note=f"{r.n_trials_run} trials ({r.spec.method}, seed {r.spec.seed}) on pool "
                f"{r.pool_path.name}; winner trial {r.winner.number}",
            ),
        )
        # One upload of the staged tree (scrubbed in place), not one MLflow call per file.
        log_artifacts(run_id, root, tracking_uri=uri, settings=settings)


def _log_children(
    r: SweepResult,
    client: Any,
    parent: str,
    base_tags: Mapping[str, str],
    uri: str,
    settings: Settings | None,
) -> None:
    from .. import tracking

    s = r.spec
    table = r.final_study.table
    roles: dict[int, list[str]] = {}
    for t in table.sort_values("rank")["trial"].head(s.top):
        roles.setdefault(int(t), []).append("top")
    for t in r.pareto["trial"].head(s.max_pareto_runs):
        roles.setdefault(int(t), []).append("pareto")
    space_names = [c.removeprefix("param.") for c in table.columns if c.startswith("param.")]
    base = ScoringWeights.from_yaml(resolve_path(s.base_weights))
    space = SearchSpace(s.ranges, base, grid_steps=s.grid_steps)
    for trial, role in roles.items():
        row = r.final_study.row(trial)
        w = space.weights({p: float(row[f"param.{p}"]) for p in space_names})
        tags = {
            **base_tags,
            SWEEP_KIND_TAG: "sweep-trial",
            "mlflow.parentRunId": parent,
            "sweep_role": ",".join(role),
            "trial": str(trial),
            "rank": str(int(row["rank"])),
            "winner": "true" if trial == r.winner.number else "false",
        }
        child = tracking.start_run(
            s.experiment,
            run_name=f"{s.name} trial {trial}",
            tags=tags,
            tracking_uri=uri,
            settings=settings,
        )
        params = {"trial": trial, "split": r.final.label, **tracking.weights_params(w)}
        metrics = {k: v for k, v in row.items() if k.startswith(("tune.", "heldout."))}
        metrics["rank"] = row["rank"]
        metrics["violation"] = row["violation"]
        tracking.log_values(child, params=params, metrics=metrics, settings=settings, client=client)
        tracking.end_run(child, "FINISHED", tracking_uri=uri)


def list_sweeps(
    experiment: str = "underfoot-sweeps",
    *,
    tracking_uri: str | None = None,
    settings: Settings | None = None,
) -> pd.DataFrame:
    """The experiment's sweep parent runs, newest first."""
    from .. import tracking

    runs = tracking.load_runs(experiment, tracking_uri=tracking_uri, settings=settings)
    col = f"tags.{SWEEP_KIND_TAG}"
    if not len(runs) or col not in runs.columns:
        return runs.iloc[0:0]
    return runs[runs[col] == "sweep"].reset_index(drop=True)


@dataclass
class LoadedSweep:
    """A logged sweep read back from MLflow (what ``notebooks/sweeps.ipynb`` shows)."""

    run_id: str
    run_name: str
    payload: dict[str, Any]
    trials: pd.DataFrame
    per_query: pd.DataFrame
    comparison: pd.DataFrame
    summary: pd.DataFrame
    winner: ScoringWeights
    baselines: dict[str, ScoringWeights]
    figure_html: Path | None = None

    @property
    def objective(self) -> str:
        return str(self.payload["objective"])

    def describe(self) -> str:
        p = self.payload
        b = p["best"]
        return (
            f"sweep {p['sweep']} (MLflow run {self.run_id}): {p['method']}, {p['trials']} "
            f"trials, seed {p['seed']}, pool {p['pool_key'][:12]} ({p['queries']} queries) "
            f"[{SIMULATED_LABEL}]; winner trial {b['trial']} ({b['weights_name']}), "
            f"{self.objective} {b['tune'].get(self.objective, math.nan):.4f} tuning, "
            f"{b['heldout'].get(self.objective, math.nan):.4f} held-out"
        )

    def pareto_figure(self) -> go.Figure:
        """The final split's trials and their Pareto front."""
        from ..viz.figures import pareto_figure

        x, y = (f"tune.{m}" for m in self.payload["pareto_axes"])
        final = self.trials[self.trials["split"] == self.payload["splits"][-1]["label"]].copy()
        final["label"] = [f"trial {int(t)}" for t in final["trial"]]
        return pareto_figure(
            final,
            x,
            y,
            label="label",
            title=f"Sweep {self.payload['sweep']}: Pareto front [{SIMULATED_LABEL}]",
        )

    def region_deltas(self, baseline: str = "baseline-seed") -> pd.DataFrame:
        """Per held-out region: winner and baseline means and their difference, per metric."""
        import pandas as pd

        metrics = [m for m in self.summary["metric"] if m in self.per_query.columns]
        win = self.per_query[self.per_query["system"] == "winner"]
        base = self.per_query[self.per_query["system"] == baseline]
        if not len(base):
            raise ConfigError(f"no baseline {baseline!r}; logged: {', '.join(self.baselines)}")
        rows = []
        for region in sorted(set(win["region"])):
            w = win[win["region"] == region]
            b = base[base["region"] == region]
            row: dict[str, Any] = {"region": region, "n": len(w)}
            for m in metrics:
                wm = nanmean(w[m].to_numpy(np.float64))
                bm = nanmean(b[m].to_numpy(np.float64))
                row[f"{m}.winner"] = wm
                row[f"{m}.{baseline}"] = bm
                row[f"{m}.delta"] = wm - bm
            rows.append(row)
        return pd.DataFrame(rows)

    def region_figure(
        self, baseline: str = "baseline-seed", metric: str | None = None
    ) -> go.Figure:
        """Bar chart of the winner's per-region difference from ``baseline`` on ``metric``."""
        import plotly.graph_objects as go

        from ..viz.figures import escape

        m = parse_metric(metric).name if metric else self.objective
        deltas = self.region_deltas(baseline)
        fig = go.Figure()
        vals = [float(v) for v in deltas[f"{m}.delta"]]
        fig.add_bar(
            x=[escape(r) for r in deltas["region"]],
            y=vals,
            marker_color=["#2ca02c" if v >= 0 else "#d62728" for v in vals],
            hovertext=[
                f"{escape(r)}: {v:+.4f} (n={n})"
                for r, v, n in zip(deltas["region"], vals, deltas["n"], strict=True)
            ],
            hoverinfo="text",
        )
        fig.update_layout(
            title=escape(f"Winner - {baseline} per held-out region: {m} [{SIMULATED_LABEL}]"),
            yaxis_title=escape(f"{m} difference"),
            template="plotly_white",
        )
        return fig

    def weights_diff(self, baseline: str = "baseline-seed") -> pd.DataFrame:
        """The winner's weights and parameters that differ from ``baseline``'s."""
        import pandas as pd

        other = self.baselines[baseline]
        rows = []
        for f in SCORED_FEATURES:
            a, b = other.weight(f), self.winner.weight(f)
            if a != b:
                rows.append({"parameter": f, baseline: a, "winner": b, "change": b - a})
        for k in SCALAR_PARAMS:
            a2, b2 = getattr(other, k), getattr(self.winner, k)
            if a2 != b2:
                rows.append(
                    {
                        "parameter": k,
                        baseline: a2,
                        "winner": b2,
                        "change": (b2 - a2) if a2 is not None and b2 is not None else math.nan,
                    }
                )
        return pd.DataFrame(rows, columns=["parameter", baseline, "winner", "change"])

    def significance(self) -> pd.DataFrame:
        """The held-out comparison table (diff, CI, p, Holm-adjusted p per baseline/metric)."""
        cols = [
            "baseline",
            "display",
            "n",
            "mean_baseline",
            "mean_winner",
            "diff",
            "ci_low",
            "ci_high",
            "p_rand",
            "p_holm",
            "winner_better",
        ]
        return self.comparison[[c for c in cols if c in self.comparison.columns]]


def load_sweep(
    run: str = "latest",
    *,
    experiment: str = "underfoot-sweeps",
    tracking_uri: str | None = None,
    settings: Settings | None = None,
    dst: str | Path | None = None,
) -> LoadedSweep:
    """A logged sweep: ``run`` is an MLflow run id or ``latest`` (the newest sweep)."""
    import pandas as pd

    from .. import tracking

    uri = tracking.tracking_uri(tracking_uri, settings)
    client = tracking.get_client(uri)
    if run == "latest":
        runs = list_sweeps(experiment, tracking_uri=uri)
        if not len(runs):
            raise ConfigError(f"no finished sweep in MLflow experiment {experiment!r} ({uri})")
        run = str(runs.iloc[0]["run_id"])
    info = client.get_run(run)
    target = Path(dst) if dst else Path(tempfile.mkdtemp(prefix="underfoot-sweep-"))
    import mlflow.artifacts

    try:
        local = Path(
            mlflow.artifacts.download_artifacts(run_id=run, dst_path=str(target), tracking_uri=uri)
        )
    except Exception as exc:
        raise ConfigError(
            f"MLflow run {run} has no sweep artifacts ({type(exc).__name__})"
        ) from None
    payload = json.loads((local / "summary" / "summary.json").read_text(encoding="utf-8"))
    spec_data = (local / "spec" / "spec.yaml").read_text(encoding="utf-8")
    import yaml

    spec_dict = yaml.safe_load(spec_data) or {}
    payload.setdefault("pareto_axes", spec_dict.get("pareto", ["ndcg_at_10", "hiddenness_at_10"]))
    winner_file = next((local / "weights").glob("*.yaml"))
    baselines = {p.stem: ScoringWeights.from_yaml(p) for p in (local / "baselines").glob("*.yaml")}
    html = local / "figures" / "pareto.html"
    loaded = LoadedSweep(
        run_id=run,
        run_name=str(info.info.run_name),
        payload=payload,
        trials=pd.read_parquet(local / "trials" / "trials.parquet"),
        per_query=pd.read_csv(local / "per_query" / "per_query.csv"),
        comparison=pd.read_csv(local / "comparison" / "comparison.csv"),
        summary=pd.read_csv(local / "summary" / "summary.csv"),
        winner=ScoringWeights.from_yaml(winner_file),
        baselines=baselines,
        figure_html=html if html.is_file() else None,
    )
    if dst is None:
        shutil.rmtree(target, ignore_errors=True)
        loaded.figure_html = None
    return loaded
