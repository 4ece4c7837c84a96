"""Running a sweep: pool, splits, trials, winner, held-out comparison, Pareto front, MLflow.

:func:`run_sweep` does everything ``underfoot-lab sweep`` does:

1. **Pool.** Load the frozen pool of the spec's region set (``--pool`` or the default
   ``<home>/pools/<set>-<key12>``); when there is none, build and write it first (once; the
   same as ``underfoot-lab snapshot create``) and say so.
2. **Splits.** Regions come from the pool's queries. ``holdout`` gives one split (tuning
   regions, held-out regions); ``kfold`` gives one split per fold plus a final split on every
   region, whose winner is the weights written out (the folds estimate how well the tuning
   procedure generalises).
3. **Trials.** Grid and random trials are evaluated once over the whole pool on the executor
   (per-region sums come back, so every split's tuning and held-out means follow without
   re-scoring); Optuna runs one TPE study per split, asking for batches of trials and telling
   each its tuning objective.
4. **Winner.** Per split, the best trial on the tuning regions among those meeting the
   constraints (when none does: the least-violating one, flagged); ties go to the lower
   trial number.
5. **Held-out comparison.** The winner's per-query values on the held-out queries (k-fold:
   each fold's winner on its own fold) against every baseline weights file on the same
   queries: paired sign-flip randomization test, bootstrap interval (resampling regions when
   there are at least :data:`MIN_CLUSTERS`, else queries), Cohen's d, and Holm's correction
   over every (baseline, metric) test.
6. **Outputs.** The winner as a weights YAML (``experiments/weights/sweep-<name>-<hash8>.yaml``
   or ``out``), the Pareto front (objective vs hiddenness by default) and, unless disabled, an
   MLflow parent run with the trials table, the comparison, the per-query values, the front
   as an offline HTML figure, and child runs for the top trials and the front's members.

:func:`load_sweep` reads a logged sweep back (for ``notebooks/sweeps.ipynb``).
"""

from __future__ import annotations

import contextlib
import json
import math
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from ..errors import ConfigError
from ..pipeline.score.features import SCORED_FEATURES
from ..pipeline.score.weights import ScoringWeights
from .evaluate import BatchResult, PoolData, build_pool_data, evaluate_weights
from .executors import TrialExecutor, make_executor
from .search import OptunaSearch, SearchSpace, Trial, default_storage, open_storage
from .spec import (
    SCALAR_PARAMS,
    Constraint,
    MetricRef,
    SweepSpec,
    ValidationSpec,
    parse_metric,
    repo_root,
    resolve_path,
)

if TYPE_CHECKING:  # pragma: no cover
    import concurrent.futures as cf

    import pandas as pd
    import plotly.graph_objects as go

    from ..evaluation.candidate_pools import Pool
    from ..settings import Settings

FloatArray = npt.NDArray[np.float64]

__all__ = [
    "SIMULATED_LABEL",
    "LoadedSweep",
    "Split",
    "StudyResult",
    "SweepResult",
    "list_sweeps",
    "load_sweep",
    "log_sweep",
    "make_splits",
    "resolve_pool",
    "run_sweep",
]

SIMULATED_LABEL = "offline world (simulated)"
SWEEP_KIND_TAG = "underfoot.kind"
BLOCK = 8192
"""Grid/random trials are generated and submitted this many at a time (bounded memory)."""

MIN_CLUSTERS = 4
"""Bootstrap intervals resample whole regions when the held-out queries span at least this
many (with fewer, a region bootstrap only reshuffles two or three means; queries are used)."""

Log = Callable[[str], None]


def _quiet(_: str) -> None:
    pass


# ------------------------------------------------------------------------------ pool
def resolve_pool(
    spec: SweepSpec,
    *,
    pool_path: str | Path | None = None,
    settings: Settings | None = None,
    log: Log = _quiet,
) -> tuple[Pool, Path, bool]:
    """(pool, its directory, whether it was built now) for the spec.

    An explicit ``pool_path`` (or the spec's ``pool``) must exist; otherwise the region set's
    default pool directory is used and, when empty, the pool is built and written there.
    """
    from ..evaluation.candidate_pools import (
        build_pool,
        default_pool_dir,
        load_pool,
        pool_key,
        write_pool,
    )
    from ..evaluation.regions import load_region_set
    from ..pipeline.score.features import FeatureParams
    from ..settings import Settings

    settings = settings or Settings()
    explicit = pool_path or spec.pool
    if explicit:
        p = resolve_path(explicit)
        if not (p / "manifest.json").is_file():
            raise ConfigError(
                f"no frozen pool at {p}; create one with `underfoot-lab snapshot create "
                f"--region-set {spec.region_set or 'NAME'} --out {p}`"
            )
        pool = load_pool(p)
        name = pool.manifest.region_set
        wanted = spec.region_set
        if wanted and not wanted.endswith((".yaml", ".yml")) and wanted != name:
            raise ConfigError(f"pool {p} holds region set {name!r}, the sweep asks for {wanted!r}")
        return pool, p, False
    rs = load_region_set(spec.region_set or "all")
    key = pool_key(rs.hash, settings, FeatureParams(), simulated=True)
    out = default_pool_dir(settings, rs.name, key)
    if (out / "manifest.json").is_file():
        return load_pool(out), out, False
    log(
        f"no frozen pool for region set {rs.name!r} at {out}; building it now (once, the same "
        f"as `underfoot-lab snapshot create --region-set {rs.name}`)"
    )
    pool = build_pool(rs, settings=settings, params=FeatureParams())
    write_pool(pool, out)
    return load_pool(out), out, True


# ------------------------------------------------------------------------------ splits
@dataclass(frozen=True, slots=True)
class Split:
    """Tuning and held-out regions of one study (``label``: holdout, fold-1, ..., all)."""

    label: str
    tune: tuple[str, ...]
    heldout: tuple[str, ...]


def make_splits(
    regions: Sequence[str], validation: ValidationSpec, seed: int
) -> tuple[list[Split], Split]:
    """(the validation splits, the final split whose winner is written out)."""
    import difflib

    regions = sorted(regions)
    if len(regions) < 2:
        raise ConfigError(
            f"region validation needs at least 2 regions; the pool has {len(regions)} "
            f"({', '.join(regions) or 'none'})"
        )
    if validation.holdout is not None:
        h = validation.holdout
        if h.regions is not None:
            for r in h.regions:
                if r not in regions:
                    close = difflib.get_close_matches(r, regions, n=1)
                    hint = f" (did you mean {close[0]!r}?)" if close else ""
                    raise ConfigError(
                        f"held-out region {r!r} is not in the pool{hint}; regions: "
                        f"{', '.join(regions)}"
                    )
            held = tuple(sorted(h.regions))
        else:
            assert h.fraction is not None
            n = max(1, round(h.fraction * len(regions)))
            if n >= len(regions):
                raise ConfigError(
                    f"holdout fraction {h.fraction:g} leaves no tuning region "
                    f"({len(regions)} regions)"
                )
            rng = np.random.default_rng(seed if h.seed is None else h.seed)
            held = tuple(sorted(str(r) for r in rng.permutation(regions)[:n]))
        if len(held) >= len(regions):
            raise ConfigError("every region is held out; keep at least one for tuning")
        tune = tuple(r for r in regions if r not in held)
        split = Split("holdout", tune, held)
        return [split], split
    assert validation.kfold is not None
    k = validation.kfold.k or len(regions)
    if k > len(regions):
        raise ConfigError(f"{k}-fold needs at least {k} regions; the pool has {len(regions)}")
    if k == len(regions):
        folds = [[r] for r in regions]
    else:
        kseed = seed if validation.kfold.seed is None else validation.kfold.seed
        order = [str(r) for r in np.random.default_rng(kseed).permutation(regions)]
        folds = [sorted(order[i::k]) for i in range(k)]
    splits = [
        Split(f"fold-{i + 1}", tuple(r for r in regions if r not in f), tuple(f))
        for i, f in enumerate(folds)
    ]
    return splits, Split("all", tuple(regions), ())


# ------------------------------------------------------------------------------ results
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


# ------------------------------------------------------------------------------ helpers
def _chunk_size(n: int, workers: int, requested: int | None) -> int:
    if requested:
        return requested
    return int(min(256, max(16, math.ceil(n / max(workers * 4, 1)))))


def _objective_sign(metric: MetricRef) -> float:
    return 1.0 if metric.higher_is_better else -1.0


def _optuna_margins(constraints: Sequence[Constraint], values: Mapping[str, float]) -> list[float]:
    """Constraint values for Optuna (<= 0: satisfied; a NaN metric counts as violated).

    Optuna cannot express strictness, so ``>`` and ``>=`` share ``bound - value`` (likewise
    ``<``/``<=``); the winner is still picked with the exact comparison."""
    out = []
    for c in constraints:
        v = float(values.get(c.metric, math.nan))
        if math.isnan(v):
            out.append(1.0)
        else:
            out.append(c.value - v if c.op in (">=", ">") else v - c.value)
    return out


def _study_table(
    split: Split,
    rows: list[dict[str, Any]],
    params: Sequence[str],
    metrics: Sequence[MetricRef],
    objective: MetricRef,
    constraints: Sequence[Constraint],
) -> tuple[pd.DataFrame, int]:
    """The trials table of one split, ranked; returns (table, best trial number)."""
    import pandas as pd

    cols = ["trial", *(f"param.{p}" for p in params)]
    cols += [f"tune.{m.name}" for m in metrics]
    if split.heldout:
        cols += [f"heldout.{m.name}" for m in metrics]
    frame = pd.DataFrame(rows, columns=cols)
    tune_vals = {m.name: frame[f"tune.{m.name}"].to_numpy(dtype=np.float64) for m in metrics}
    viol = np.zeros(len(frame), dtype=np.float64)
    for c in constraints:
        viol += np.array([c.violation(float(v)) for v in tune_vals[c.metric]], dtype=np.float64)
    frame["violation"] = viol
    frame["feasible"] = viol == 0.0
    obj = tune_vals[objective.name] * _objective_sign(objective)
    obj = np.where(np.isnan(obj), -np.inf, obj)
    # Best: least violation, then best objective, then the lowest trial number.
    order = np.lexsort((frame["trial"].to_numpy(), -obj, viol))
    rank = np.empty(len(frame), dtype=np.int64)
    rank[order] = np.arange(1, len(frame) + 1)
    frame["rank"] = rank
    frame.insert(0, "split", split.label)
    if not len(frame):
        raise ConfigError(f"split {split.label}: no completed trial")
    best = int(frame["trial"].to_numpy()[order[0]])
    return frame, best


def _trial_rows(
    trials: Sequence[Trial],
    res: BatchResult,
    split: Split,
    data: PoolData,
    params: Sequence[str],
) -> list[dict[str, Any]]:
    tune = res.means(data.region_mask(split.tune))
    held = res.means(data.region_mask(split.heldout)) if split.heldout else None
    names = data.metric_names
    rows = []
    for i, t in enumerate(trials):
        row: dict[str, Any] = {"trial": t.number}
        row.update({f"param.{p}": float(t.params[p]) for p in params})
        row.update({f"tune.{n}": float(tune[i, j]) for j, n in enumerate(names)})
        if held is not None:
            row.update({f"heldout.{n}": float(held[i, j]) for j, n in enumerate(names)})
        rows.append(row)
    return rows


def _run_fixed(
    spec: SweepSpec,
    space: SearchSpace,
    ex: TrialExecutor,
    data: PoolData,
    splits: Sequence[Split],
    progress: Callable[[int, int], None] | None,
) -> tuple[dict[str, list[dict[str, Any]]], int]:
    """Grid/random: evaluate every trial once; rows per split."""
    n = spec.n_trials
    chunk = _chunk_size(n, ex.workers, spec.batch_size)
    rows: dict[str, list[dict[str, Any]]] = {s.label: [] for s in splits}
    grid = space.grid() if spec.method == "grid" else None
    done = 0
    for start in range(0, n, BLOCK):
        m = min(BLOCK, n - start)
        trials = (
            grid[start : start + m] if grid is not None else space.random(m, spec.seed, start=start)
        )
        res = ex.run(space.batch(trials), chunk)
        for s in splits:
            rows[s.label].extend(_trial_rows(trials, res, s, data, space.names))
        done += m
        if progress is not None:
            progress(done, n)
    return rows, n


def _run_optuna(
    spec: SweepSpec,
    space: SearchSpace,
    ex: TrialExecutor,
    data: PoolData,
    split: Split,
    storage: Any,
    objective: MetricRef,
    progress: Callable[[int, int], None] | None,
) -> tuple[list[dict[str, Any]], str, int]:
    """One TPE study for ``split``; rows of every completed trial in the study."""
    prefix = spec.study_name or f"{spec.name}-{spec.study_key()[:12]}"
    name = f"{prefix}-{split.label}"
    search = OptunaSearch(
        space,
        study_name=name,
        seed=spec.seed,
        maximize=objective.higher_is_better,
        storage=storage,
        constraints=spec.constraint_list,
    )
    n = spec.n_trials
    batch_n = spec.batch_size or max(ex.workers, 8)
    chunk = max(1, math.ceil(batch_n / ex.workers))
    tune_mask = data.region_mask(split.tune)
    held_mask = data.region_mask(split.heldout) if split.heldout else None
    names = data.metric_names
    obj_j = names.index(objective.name)
    constraints = spec.constraint_list
    done = 0
    while done < n:
        m = min(batch_n, n - done)
        trials = search.ask(m)
        res = ex.run(space.batch(trials), chunk)
        tune = res.means(tune_mask)
        held = res.means(held_mask) if held_mask is not None else None
        for i, t in enumerate(trials):
            vals = {nm: float(tune[i, j]) for j, nm in enumerate(names)}
            attrs = {f"tune.{k}": v for k, v in vals.items()}
            if held is not None:
                attrs.update({f"heldout.{nm}": float(held[i, j]) for j, nm in enumerate(names)})
            search.tell(t.number, float(tune[i, obj_j]), attrs, _optuna_margins(constraints, vals))
        done += m
        if progress is not None:
            progress(done, n)
    rows = []
    for ft in search.completed():
        params = {p: ft.params.get(p) for p in space.names}
        if any(v is None for v in params.values()):
            continue  # a trial of another search space under the same name
        row: dict[str, Any] = {"trial": ft.number}
        row.update({f"param.{p}": float(v) for p, v in params.items() if v is not None})
        for nm in names:
            v = ft.user_attrs.get(f"tune.{nm}")
            row[f"tune.{nm}"] = math.nan if v is None else float(v)
            if split.heldout:
                h = ft.user_attrs.get(f"heldout.{nm}")
                row[f"heldout.{nm}"] = math.nan if h is None else float(h)
        rows.append(row)
    return rows, name, search.asked


def _weights_file_name(spec: SweepSpec, weights: ScoringWeights) -> str:
    return f"sweep-{spec.name}-{weights.weights_hash()[:8]}"


def _output_path(out: str | Path | None, file_stem: str) -> Path:
    if out is None:
        return repo_root() / "experiments" / "weights" / f"{file_stem}.yaml"
    p = Path(out).expanduser()
    if p.suffix.lower() in (".yaml", ".yml"):
        return p
    return p / f"{file_stem}.yaml"


def _nanmean(values: FloatArray) -> float:
    finite = values[np.isfinite(values)]
    return float(finite.mean()) if finite.size else math.nan


def _compare(
    per_query: pd.DataFrame,
    baselines: Sequence[str],
    metrics: Sequence[MetricRef],
    *,
    seed: int,
    n_resamples: int,
) -> pd.DataFrame:
    """Winner vs each baseline on every metric, paired by query; Holm over the family."""
    import pandas as pd

    from ..evaluation.metrics.significance import (
        bootstrap_ci,
        cluster_bootstrap_ci,
        cohens_d,
        holm,
        randomization_test,
    )

    win = per_query[per_query["system"] == "winner"].set_index("query_id")
    rows: list[dict[str, Any]] = []
    for b in baselines:
        base = per_query[per_query["system"] == b].set_index("query_id").reindex(win.index)
        for m in metrics:
            a = base[m.name].to_numpy(dtype=np.float64)
            w = win[m.name].to_numpy(dtype=np.float64)
            ok = np.isfinite(a) & np.isfinite(w)
            a, w = a[ok], w[ok]
            regions = win["region"].to_numpy()[ok]
            row: dict[str, Any] = {
                "baseline": b,
                "metric": m.name,
                "display": m.display,
                "n": int(ok.sum()),
                "mean_baseline": float(a.mean()) if a.size else math.nan,
                "mean_winner": float(w.mean()) if w.size else math.nan,
                "diff": float((w - a).mean()) if a.size else math.nan,
                "higher_is_better": m.higher_is_better,
            }
            if a.size >= 2:
                test = randomization_test(a, w, n_resamples=n_resamples, seed=seed)
                if len(set(regions.tolist())) >= MIN_CLUSTERS:
                    ci = cluster_bootstrap_ci(a, w, regions, n_resamples=n_resamples, seed=seed)
                    row["ci_method"] = "cluster-bootstrap (regions)"
                else:
                    ci = bootstrap_ci(a, w, n_resamples=n_resamples, seed=seed)
                    row["ci_method"] = "bootstrap (queries)"
                row.update(
                    p_rand=test.pvalue, ci_low=ci.low, ci_high=ci.high, effect_size=cohens_d(a, w)
                )
            else:
                row.update(
                    p_rand=math.nan,
                    ci_low=math.nan,
                    ci_high=math.nan,
                    effect_size=math.nan,
                    ci_method="too few queries",
                )
            rows.append(row)
    frame = pd.DataFrame(rows)
    if len(frame):
        tested = {
            f"{r['baseline']}|{r['metric']}": r["p_rand"]
            for r in rows
            if not math.isnan(r["p_rand"])
        }
        adjusted = holm(tested) if tested else {}
        frame["p_holm"] = [adjusted.get(f"{r['baseline']}|{r['metric']}", math.nan) for r in rows]
        sign = np.where(frame["higher_is_better"], 1.0, -1.0)
        frame["winner_better"] = (frame["diff"] * sign > 0) & (frame["p_holm"] < 0.05)
    return frame


# ------------------------------------------------------------------------------ the sweep
def run_sweep(
    spec: SweepSpec,
    *,
    pool_path: str | Path | None = None,
    executor: str = "local",
    workers: int | None = None,
    scheduler: str | None = None,
    futures_executor: cf.Executor | None = None,
    storage: str | None = None,
    out: str | Path | None = None,
    write_weights: bool = True,
    mlflow: bool = True,
    tracking_uri: str | None = None,
    cache: bool = True,
    settings: Settings | None = None,
    log: Log = _quiet,
    progress: Callable[[int, int], None] | None = None,
) -> SweepResult:
    """Run a sweep (see the module docstring) and return its :class:`SweepResult`.

    ``executor``: ``local`` (process pool of ``workers``, default: the CPUs), ``dask``
    (``scheduler`` address, or a LocalCluster of ``workers``), ``inline``; or pass any
    ``futures_executor``. ``storage``: the Optuna storage URL (default: the spec's, else
    SQLite under ``settings.home``; ``memory`` for none). ``out``: the weights file or its
    directory (default ``experiments/weights/``). ``mlflow=False`` logs nothing. ``cache``
    keeps the pool's per-entity domain values under ``<home>/sweeps/cache`` for the next sweep
    (:func:`.evaluate.build_pool_data`).
    """
    import pandas as pd

    from ..settings import Settings

    t_start = time.perf_counter()
    settings = settings or Settings()
    timings: dict[str, float] = {}

    t0 = time.perf_counter()
    pool, ppath, built = resolve_pool(spec, pool_path=pool_path, settings=settings, log=log)
    timings["pool_s"] = time.perf_counter() - t0

    base = ScoringWeights.from_yaml(resolve_path(spec.base_weights))
    baselines = {
        name: ScoringWeights.from_yaml(resolve_path(path)) for name, path in spec.baselines.items()
    }
    space = SearchSpace(spec.ranges, base, grid_steps=spec.grid_steps)
    metrics = spec.metrics()
    objective = parse_metric(spec.objective)
    constraints = spec.constraint_list

    t0 = time.perf_counter()
    cache_dir = Path(settings.home) / "sweeps" / "cache" if cache else None
    data = build_pool_data(pool, metrics, radius_km=settings.primary_radius_km, cache_dir=cache_dir)
    timings["prepare_s"] = time.perf_counter() - t0
    splits, final = make_splits(data.regions, spec.validation, spec.seed)
    studies_splits = splits if final in splits else [*splits, final]

    t0 = time.perf_counter()
    studies: list[StudyResult] = []
    n_run = 0
    with make_executor(
        executor, data, workers=workers, scheduler=scheduler, executor=futures_executor
    ) as ex:
        described = ex.describe()
        log(
            f"sweep {spec.name}: {spec.method}, {spec.n_trials} trials, {len(studies_splits)} "
            f"split(s), pool {ppath.name} ({data.n_queries} queries), executor {described}"
        )
        if spec.method in ("grid", "random"):
            rows, n_run = _run_fixed(spec, space, ex, data, studies_splits, progress)
            for s in studies_splits:
                table, best = _study_table(
                    s, rows[s.label], space.names, metrics, objective, constraints
                )
                studies.append(
                    StudyResult(
                        s, table, best, _params_of(table, best, space.names), trials_here=n_run
                    )
                )
        else:
            url = storage or spec.storage or default_storage(settings)
            store = open_storage(url)
            for s in studies_splits:
                srows, sname, asked = _run_optuna(
                    spec, space, ex, data, s, store, objective, progress
                )
                n_run += asked
                table, best = _study_table(s, srows, space.names, metrics, objective, constraints)
                studies.append(
                    StudyResult(
                        s,
                        table,
                        best,
                        _params_of(table, best, space.names),
                        study_name=sname,
                        trials_here=asked,
                    )
                )
    timings["trials_s"] = time.perf_counter() - t0

    # ---------------------------------------------------------------- winners, per query
    t0 = time.perf_counter()
    by_label = {s.split.label: s for s in studies}
    final_study = by_label[final.label]
    winner = Trial(final_study.best, final_study.best_params)
    wname = _weights_file_name(spec, space.weights(winner.params, name="x"))
    obj_value = final_study.row(winner.number)[f"tune.{objective.name}"]
    winner_weights = space.weights(
        winner.params,
        name=wname,
        description=(
            f"best of sweep {spec.name} ({spec.method}, {n_run} trials, seed {spec.seed}): "
            f"trial {winner.number}, {objective.display} {obj_value:.4f} on regions "
            f"{', '.join(final.tune)}; {SIMULATED_LABEL}"
        ),
    )
    split_winners = [space.weights(by_label[s.label].best_params) for s in splits]
    names = list(baselines)
    values = evaluate_weights(data, [*split_winners, *baselines.values()])
    per_query = _per_query_frame(data, splits, values, names)
    tune_q = data.query_mask(final.tune)
    baseline_tune = {
        b: {
            m: _nanmean(values[len(splits) + bi, tune_q, j])
            for j, m in enumerate(data.metric_names)
        }
        for bi, b in enumerate(names)
    }
    timings["per_query_s"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    comparison = _compare(
        per_query,
        names,
        [parse_metric(m) for m in spec.report_metrics()],
        seed=spec.seed,
        n_resamples=spec.n_resamples,
    )
    timings["significance_s"] = time.perf_counter() - t0

    summary = _summary_frame(final_study, winner.number, per_query, names, metrics, final)
    pareto = _pareto_table(final_study.table, spec)
    trials = pd.concat([s.table for s in studies], ignore_index=True)
    trials["pareto"] = False
    final_rows = trials["split"] == final.label
    trials.loc[final_rows, "pareto"] = trials.loc[final_rows, "trial"].isin(pareto["trial"])
    feasible = bool(final_study.row(winner.number)["feasible"])

    result = SweepResult(
        spec=spec,
        region_set=pool.manifest.region_set,
        pool_path=ppath,
        pool_key=pool.manifest.pool_key,
        pool_built=built,
        n_queries=data.n_queries,
        regions=data.regions,
        splits=list(splits),
        final=final,
        studies=studies,
        final_study=final_study,
        trials=trials,
        winner=winner,
        winner_weights=winner_weights,
        baselines=baselines,
        per_query=per_query,
        summary=summary,
        comparison=comparison,
        pareto=pareto,
        feasible=feasible,
        metrics=metrics,
        executor=described,
        n_trials_run=n_run,
        timings=timings,
        simulated=pool.manifest.world_seed is not None,
        baseline_tune=baseline_tune,
    )
    if write_weights:
        path = _output_path(out, wname)
        path.parent.mkdir(parents=True, exist_ok=True)
        winner_weights.to_yaml(path)
        result.weights_path = path
    if mlflow:
        t0 = time.perf_counter()
        log_sweep(result, tracking_uri=tracking_uri, settings=settings)
        timings["mlflow_s"] = time.perf_counter() - t0
    timings["total_s"] = time.perf_counter() - t_start
    return result


def _params_of(table: pd.DataFrame, trial: int, params: Sequence[str]) -> dict[str, float]:
    row = table.loc[table["trial"] == trial].iloc[0]
    return {p: float(row[f"param.{p}"]) for p in params}


def _per_query_frame(
    data: PoolData, splits: Sequence[Split], values: FloatArray, baselines: Sequence[str]
) -> pd.DataFrame:
    import pandas as pd

    names = data.metric_names
    regions = [data.regions[c] for c in data.query_region]
    frames = []
    nsplit = len(splits)
    for si, s in enumerate(splits):
        mask = data.query_mask(s.heldout)
        idx = np.flatnonzero(mask)
        systems = [("winner", si)] + [(b, nsplit + bi) for bi, b in enumerate(baselines)]
        for system, vi in systems:
            block = {
                "query_id": [data.query_ids[i] for i in idx],
                "region": [regions[i] for i in idx],
                "split": s.label,
                "system": system,
            }
            for j, n in enumerate(names):
                block[n] = values[vi, idx, j]
            frames.append(pd.DataFrame(block))
    return pd.concat(frames, ignore_index=True)


def _summary_frame(
    final_study: StudyResult,
    winner: int,
    per_query: pd.DataFrame,
    baselines: Sequence[str],
    metrics: Sequence[MetricRef],
    final: Split,
) -> pd.DataFrame:
    import pandas as pd

    row = final_study.row(winner)
    rows = []
    for m in metrics:
        entry: dict[str, Any] = {
            "metric": m.name,
            "display": m.display,
            "tuning": float(row[f"tune.{m.name}"]),
            "heldout": _nanmean(
                per_query.loc[per_query["system"] == "winner", m.name].to_numpy(np.float64)
            ),
        }
        for b in baselines:
            entry[b] = _nanmean(
                per_query.loc[per_query["system"] == b, m.name].to_numpy(np.float64)
            )
        rows.append(entry)
    frame = pd.DataFrame(rows)
    frame.attrs["tuning_regions"] = list(final.tune)
    return frame


def _pareto_table(table: pd.DataFrame, spec: SweepSpec) -> pd.DataFrame:
    from ..viz.figures import pareto_front

    x, y = (f"tune.{m}" for m in spec.pareto)
    maximize = tuple(parse_metric(m).higher_is_better for m in spec.pareto)
    front = pareto_front(table, x, y, maximize=(maximize[0], maximize[1]))
    return front.reset_index(drop=True)


# ------------------------------------------------------------------------------ text
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
        f"Sweep {s.name}: {s.method}, {r.n_trials_run} trials, seed {s.seed} [{SIMULATED_LABEL}]"
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


def _json_safe(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
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
        "world": SIMULATED_LABEL if r.simulated else None,
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
    out: dict[str, Any] = _json_safe(payload)
    return out


# ------------------------------------------------------------------------------ figures
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


# ------------------------------------------------------------------------------ MLflow
def _secret_list(settings: Settings | None) -> tuple[str, ...]:
    from ..settings import Settings

    found: set[str] = set()
    if settings is not None:
        found.update(settings.secret_values())
    # A broken environment must not stop the redaction of the rest.
    with contextlib.suppress(Exception):
        found.update(Settings().secret_values())
    return tuple(sorted((x for x in found if x), key=len, reverse=True))


def _scrub(text: str, secrets: Sequence[str]) -> str:
    for x in secrets:
        text = text.replace(x, "***")
    return text


def _log_batch(
    client: Any,
    run_id: str,
    params: Mapping[str, Any],
    metrics: Mapping[str, Any],
    secrets: Sequence[str],
) -> None:
    from mlflow.entities import Metric, Param

    from ..tracking import safe_key

    now = int(time.time() * 1000)
    ps = [Param(safe_key(k, secrets), _scrub(str(v), secrets)[:6000]) for k, v in params.items()]
    ms = []
    for k, v in metrics.items():
        try:
            f = float(v)
        except (TypeError, ValueError):
            continue
        if math.isfinite(f):
            ms.append(Metric(safe_key(k, secrets), f, now, 0))
    for a in range(0, len(ps), 100):
        client.log_batch(run_id, params=ps[a : a + 100])
    for a in range(0, len(ms), 1000):
        client.log_batch(run_id, metrics=ms[a : a + 1000])


def _weights_params(w: ScoringWeights, prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {f"{prefix}weight.{f}": w.weight(f) for f in SCORED_FEATURES}
    for k in SCALAR_PARAMS:
        out[f"{prefix}weights.{k}"] = getattr(w, k)
    return out


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
    secrets = _secret_list(settings)
    uri = tracking.tracking_uri(tracking_uri, settings)
    client = tracking.get_client(uri)
    tracking.ensure_experiment(s.experiment, tracking_uri=uri, client=client)
    from ..evaluation.runner import git_commit

    commit = git_commit()
    base_tags = {
        SWEEP_KIND_TAG: "sweep",
        "sweep_name": s.name,
        "region_set": r.region_set,
        "pool_key": r.pool_key,
        "spec_hash": s.spec_hash(),
        "study_key": s.study_key(),
        "method": s.method,
        "simulated": "true" if r.simulated else "false",
        "world": SIMULATED_LABEL if r.simulated else "live",
        "git_commit": commit or "unknown",
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
            "queries": r.n_queries,
            "executor": r.executor,
            "best_trial": r.winner.number,
        }
        params.update({f"range.{k}": v.describe() for k, v in s.ranges.items()})
        params.update(_weights_params(r.winner_weights, "best."))
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
        _log_batch(client, run_id, params, metrics, secrets)
        _log_artifacts(r, run_id, uri, settings)
        _log_children(r, client, run_id, base_tags, uri, settings, secrets)
    except BaseException:
        tracking.end_run(run_id, "FAILED", tracking_uri=uri)
        raise
    tracking.end_run(run_id, "FINISHED", tracking_uri=uri)
    return run_id


def _log_artifacts(r: SweepResult, run_id: str, uri: str, settings: Settings | None) -> None:
    from .. import tracking
    from ..viz.figures import figures_html

    with tempfile.TemporaryDirectory(prefix="underfoot-sweep-") as tmp:
        root = Path(tmp)
        files: list[tuple[Path, str]] = []

        def put(rel: str, text: str) -> None:
            p = root / rel
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_text(text, encoding="utf-8")
            files.append((p, str(Path(rel).parent)))

        trials = r.trials.copy()
        put("trials/trials.csv", trials.to_csv(index=False))
        pq_path = root / "trials" / "trials.parquet"
        trials.to_parquet(pq_path, index=False)
        files.append((pq_path, "trials"))
        put("per_query/per_query.csv", r.per_query.to_csv(index=False))
        put("comparison/comparison.csv", r.comparison.to_csv(index=False))
        put(
            "comparison/comparison.json",
            json.dumps(_json_safe(r.comparison.to_dict("records")), indent=2),
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
        for path, artifact_dir in files:
            tracking.log_file(run_id, path, artifact_dir, tracking_uri=uri, settings=settings)


def _log_children(
    r: SweepResult,
    client: Any,
    parent: str,
    base_tags: Mapping[str, str],
    uri: str,
    settings: Settings | None,
    secrets: Sequence[str],
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
        params = {"trial": trial, "split": r.final.label, **_weights_params(w)}
        metrics = {k: v for k, v in row.items() if k.startswith(("tune.", "heldout."))}
        metrics["rank"] = row["rank"]
        metrics["violation"] = row["violation"]
        _log_batch(client, child, params, metrics, secrets)
        tracking.end_run(child, "FINISHED", tracking_uri=uri)


# ------------------------------------------------------------------------------ reading back
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
                wm = _nanmean(w[m].to_numpy(np.float64))
                bm = _nanmean(b[m].to_numpy(np.float64))
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


def stderr_log(message: str) -> None:
    """Print a progress line on stderr."""
    print(message, file=sys.stderr, flush=True)
