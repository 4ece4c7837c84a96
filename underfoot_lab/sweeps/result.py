"""What a sweep produced (:class:`SweepResult`) and how it is shown: text summary, JSON
payload, Pareto figure."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..pipeline.score.weights import ScoringWeights
from .search import Trial
from .spec import MetricRef, SweepSpec, parse_metric

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    import plotly.graph_objects as go


__all__ = ["SIMULATED_LABEL", "Split", "StudyResult", "SweepResult", "json_safe"]

SIMULATED_LABEL = "offline world (simulated)"


@dataclass(frozen=True, slots=True)
class Split:
    """Tuning and held-out regions of one study (``label``: holdout, fold-1, ..., all)."""

    label: str
    tune: tuple[str, ...]
    heldout: tuple[str, ...]


@dataclass
class StudyResult:
    """One split's trials and its winner."""

    split: Split
    table: pd.DataFrame
    """One row per trial: ``trial``, ``param.<p>``, ``tune.<m>``, ``heldout.<m>``,
    ``violation``, ``feasible``, ``rank`` (1 = best)."""
    best: int
    best_params: dict[str, float]
    study_name: str | None = None
    trials_here: int = 0
    """Trials this process ran (Optuna studies may hold other processes' trials too)."""

    def row(self, trial: int) -> dict[str, Any]:
        r = self.table.loc[self.table["trial"] == trial].iloc[0]
        return {str(k): v for k, v in r.items()}


@dataclass
class SweepResult:
    """Everything a sweep produced (see the module docstring); :meth:`summary_text` and
    :meth:`to_payload` are what the CLI prints."""

    spec: SweepSpec
    region_set: str
    """The pool's region set (the spec may leave it to the pool)."""
    pool_path: Path
    pool_key: str
    pool_built: bool
    n_queries: int
    regions: tuple[str, ...]
    splits: list[Split]
    final: Split
    studies: list[StudyResult]
    final_study: StudyResult
    trials: pd.DataFrame
    winner: Trial
    winner_weights: ScoringWeights
    baselines: dict[str, ScoringWeights]
    per_query: pd.DataFrame
    """``query_id, region, split, system`` and every metric; ``system`` is ``winner`` or a
    baseline's name, rows are the held-out queries (k-fold: every query)."""
    summary: pd.DataFrame
    """One row per metric: the winner's tuning and held-out means, each baseline's held-out
    mean."""
    comparison: pd.DataFrame
    pareto: pd.DataFrame
    feasible: bool
    metrics: tuple[MetricRef, ...]
    executor: str
    n_trials_run: int
    timings: dict[str, float] = field(default_factory=dict)
    weights_path: Path | None = None
    mlflow_run_id: str | None = None
    tracking_uri: str | None = None
    experiment: str | None = None
    simulated: bool = True
    baseline_tune: dict[str, dict[str, float]] = field(default_factory=dict)
    """Each baseline's means on the final split's tuning regions (the Pareto figure)."""
    world: str | None = None
    """The pool's offline world: scenario name (the pool manifest's ``world``)."""
    world_hash: str | None = None
    """The scenario's hash (its content and the world's code)."""
    git_dirty: bool | None = None
    """The pool's build had uncommitted changes (the pool manifest's ``git_dirty``)."""

    @property
    def world_label(self) -> str:
        """``offline world 'null' (a1b2c3d4), simulated`` (or the plain simulated label)."""
        from ..provenance import world_label

        return world_label(self.world, self.world_hash) if self.world else SIMULATED_LABEL

    @property
    def display(self) -> dict[str, str]:
        return {m.name: m.display for m in self.metrics}

    def best_row(self) -> dict[str, Any]:
        return self.final_study.row(self.winner.number)

    def pareto_figure(self) -> go.Figure:
        """The Pareto front of the final split's trials with the winner and baselines marked."""
        return _pareto_figure(self)

    def summary_text(self) -> str:
        return _summary_text(self)

    def to_payload(self) -> dict[str, Any]:
        return _payload(self)


def _fmt(v: Any, digits: int = 4) -> str:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return str(v)
    if math.isnan(f):
        return "n/a"
    return f"{f:.{digits}f}"


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]], align: str) -> str:
    widths = [
        max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)
    ]

    def line(cells: Sequence[str]) -> str:
        out = []
        for c, w, a in zip(cells, widths, align, strict=True):
            out.append(c.ljust(w) if a == "l" else c.rjust(w))
        return "  ".join(out).rstrip()

    sep = "  ".join("-" * w for w in widths)
    return "\n".join([line(headers), sep, *(line(r) for r in rows)])


def _summary_text(r: SweepResult) -> str:
    s = r.spec
    heldout_label = "cv held-out" if s.validation.kfold is not None else "held-out"
    lines = [
        f"Sweep {s.name}: {s.method}, {r.n_trials_run} trials, seed {s.seed} [{r.world_label}]"
        if r.simulated
        else f"Sweep {s.name}: {s.method}, {r.n_trials_run} trials, seed {s.seed}",
        f"pool {r.pool_path} ({r.n_queries} queries, {len(r.regions)} regions, key "
        f"{r.pool_key[:12]}){' - built now' if r.pool_built else ''}",
        f"validation: {s.validation.describe()}; executor {r.executor}",
    ]
    for st in r.studies:
        sp = st.split
        held = f"; held out {', '.join(sp.heldout)}" if sp.heldout else ""
        study = ""
        if st.study_name:
            study = f" (study {st.study_name}: {len(st.table)} trials, {st.trials_here} this run)"
        lines.append(
            f"  {sp.label}: tuned on {', '.join(sp.tune)}{held} -> best trial {st.best}{study}"
        )

    row = r.best_row()
    feas = ""
    if s.constraints:
        feas = (
            f" (meets {', '.join(s.constraints)})"
            if r.feasible
            else f" (NO trial meets {', '.join(s.constraints)}; least violating shown)"
        )
    lines.append(
        f"winner: trial {r.winner.number}, {r.display[s.objective]} "
        f"{_fmt(row[f'tune.{s.objective}'])} on the tuning regions{feas}"
    )
    lines.append("")
    headers = ["metric", "tuning", heldout_label, *(f"{b} ({heldout_label})" for b in r.baselines)]
    rows = [
        [
            str(x["display"]),
            _fmt(x["tuning"]),
            _fmt(x["heldout"]),
            *(_fmt(x[b]) for b in r.baselines),
        ]
        for x in r.summary.to_dict("records")
    ]
    lines.append(_table(headers, rows, "l" + "r" * (len(headers) - 1)))
    if len(r.comparison):
        lines.append("")
        n = int(r.comparison["n"].max())
        lines.append(
            f"winner vs baselines on the {heldout_label} queries (n={n}; paired randomization "
            f"test, {s.n_resamples} resamples; Holm over {len(r.comparison)} tests)"
        )
        crow = [
            [
                str(c["baseline"]),
                str(c["display"]),
                f"{c['diff']:+.4f}",
                f"[{_fmt(c['ci_low'])}, {_fmt(c['ci_high'])}]",
                _pfmt(c["p_rand"]),
                _pfmt(c["p_holm"]),
            ]
            for c in r.comparison.to_dict("records")
        ]
        lines.append(_table(["vs", "metric", "diff", "95% CI", "p", "p (Holm)"], crow, "llrrrr"))
    if r.weights_path is not None:
        lines.append("")
        lines.append(f"weights: {r.weights_path}")
    if r.mlflow_run_id:
        lines.append(f"MLflow: run {r.mlflow_run_id} in {r.experiment!r} ({r.tracking_uri})")
    t = r.timings
    rate = r.n_trials_run / t["trials_s"] if t.get("trials_s") else math.nan
    lines.append(
        f"time: {t.get('total_s', math.nan):.1f} s (pool {t.get('pool_s', 0):.1f}, prepare "
        f"{t.get('prepare_s', 0):.1f}, trials {t.get('trials_s', 0):.1f} = {rate:,.0f}/s, "
        f"mlflow {t.get('mlflow_s', 0):.1f})"
    )
    return "\n".join(lines)


def _pfmt(p: Any) -> str:
    f = float(p)
    if math.isnan(f):
        return "n/a"
    return f"{f:.4f}" if f >= 1e-4 else f"{f:.1e}"


def json_safe(value: Any) -> Any:
    """``value`` with NaN/inf as None and numpy scalars as Python numbers (for JSON)."""
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Path):
        return str(value)
    return value


def _metric_dict(row: Mapping[str, Any], prefix: str) -> dict[str, float]:
    return {k[len(prefix) :]: float(v) for k, v in row.items() if str(k).startswith(prefix)}


def _payload(r: SweepResult) -> dict[str, Any]:
    s = r.spec
    row = r.best_row()
    splits = []
    for st in r.studies:
        b = st.row(st.best)
        splits.append(
            {
                "label": st.split.label,
                "tune_regions": list(st.split.tune),
                "heldout_regions": list(st.split.heldout),
                "best_trial": st.best,
                "study": st.study_name,
                "trials": len(st.table),
                "tune": _metric_dict(b, "tune."),
                "heldout": _metric_dict(b, "heldout."),
            }
        )
    x, y = (f"tune.{m}" for m in s.pareto)
    payload = {
        "sweep": s.name,
        "method": s.method,
        "trials": r.n_trials_run,
        "seed": s.seed,
        "region_set": r.region_set,
        "pool": str(r.pool_path),
        "pool_key": r.pool_key,
        "pool_built": r.pool_built,
        "queries": r.n_queries,
        "regions": list(r.regions),
        "simulated": r.simulated,
        "world": r.world if r.simulated else None,
        "world_hash": r.world_hash if r.simulated else None,
        "objective": s.objective,
        "secondary": list(s.secondary),
        "constraints": list(s.constraints),
        "validation": s.validation.model_dump(mode="json", exclude_none=True),
        "splits": splits,
        "best": {
            "trial": r.winner.number,
            "params": dict(r.winner.params),
            "feasible": r.feasible,
            "weights_name": r.winner_weights.name,
            "weights_hash": r.winner_weights.weights_hash(),
            "tune": _metric_dict(row, "tune."),
            "heldout": {
                str(k): float(v)
                for k, v in zip(r.summary["metric"], r.summary["heldout"], strict=True)
            },
        },
        "baselines": {
            b: {
                "file": s.baselines[b],
                "heldout": {
                    str(k): float(v) for k, v in zip(r.summary["metric"], r.summary[b], strict=True)
                },
            }
            for b in r.baselines
        },
        "comparison": r.comparison.to_dict("records"),
        "pareto": [
            {"trial": int(p["trial"]), s.pareto[0]: float(p[x]), s.pareto[1]: float(p[y])}
            for p in r.pareto.to_dict("records")
        ],
        "weights_path": str(r.weights_path) if r.weights_path else None,
        "mlflow": {
            "run_id": r.mlflow_run_id,
            "experiment": r.experiment,
            "tracking_uri": r.tracking_uri,
        },
        "executor": r.executor,
        "timings": r.timings,
    }
    out: dict[str, Any] = json_safe(payload)
    return out


def _pareto_figure(r: SweepResult) -> go.Figure:
    from ..viz.figures import escape, pareto_figure

    s = r.spec
    x, y = (f"tune.{m}" for m in s.pareto)
    frame = r.final_study.table.copy()
    frame["label"] = [f"trial {int(t)}" for t in frame["trial"]]
    disp = r.display
    maximize = tuple(parse_metric(m).higher_is_better for m in s.pareto)
    regions = ", ".join(r.final.tune)
    fig = pareto_figure(
        frame,
        x,
        y,
        label="label",
        maximize=(maximize[0], maximize[1]),
        title=f"Sweep {s.name}: {disp[s.pareto[0]]} vs {disp[s.pareto[1]]} "
        f"({len(frame)} trials, tuning regions) [{SIMULATED_LABEL}]",
    )
    best = r.best_row()
    fig.add_scatter(
        x=[float(best[x])],
        y=[float(best[y])],
        mode="markers",
        name=f"winner (trial {r.winner.number})",
        marker={"size": 16, "symbol": "star", "color": "#2ca02c", "line": {"width": 1}},
        hovertext=[escape(f"winner: trial {r.winner.number}")],
        hoverinfo="text",
    )
    # Baselines on the same (tuning) queries, for reference.
    pq_all = _baseline_tune_means(r)
    for i, (b, vals) in enumerate(pq_all.items()):
        fig.add_scatter(
            x=[vals[0]],
            y=[vals[1]],
            mode="markers",
            name=escape(b),
            marker={
                "size": 13,
                "symbol": "diamond",
                "color": ("#1f77b4", "#9467bd", "#8c564b")[i % 3],
            },
            hovertext=[escape(f"{b} (on the tuning regions)")],
            hoverinfo="text",
        )
    fig.update_layout(
        xaxis_title=escape(f"{disp[s.pareto[0]]} (tuning regions: {regions})"),
        yaxis_title=escape(disp[s.pareto[1]]),
    )
    return fig


def _baseline_tune_means(r: SweepResult) -> dict[str, tuple[float, float]]:
    x, y = r.spec.pareto
    return {b: (v.get(x, math.nan), v.get(y, math.nan)) for b, v in r.baseline_tune.items()}
