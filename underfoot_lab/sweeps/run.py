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
   queries (:mod:`.comparison`): paired sign-flip randomization test, bootstrap interval
   (resampling regions when there are at least :data:`.comparison.MIN_CLUSTERS`, else
   queries), Cohen's d, and Holm's correction over every (baseline, metric) test.
6. **Outputs.** The winner as a weights YAML (``experiments/weights/sweep-<name>-<hash8>.yaml``
   or ``out``), the Pareto front (objective vs hiddenness by default) and, unless disabled, an
   MLflow parent run with the trials table, the comparison, the per-query values, the front
   as an offline HTML figure, and child runs for the top trials and the front's members.

:func:`load_sweep` reads a logged sweep back (for ``notebooks/sweeps.ipynb``).
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import ConfigError
from ..pipeline.score.weights import ScoringWeights
from .comparison import FloatArray, compare_with_baselines, nanmean
from .evaluate import SUB_BATCH, BatchResult, PoolData, build_pool_data, evaluate_weights
from .executors import TrialExecutor, make_executor
from .result import SIMULATED_LABEL, Split, StudyResult, SweepResult
from .search import OptunaSearch, SearchSpace, Trial, default_storage, open_storage
from .spec import (
    Constraint,
    MetricRef,
    SweepSpec,
    ValidationSpec,
    parse_metric,
    repo_root,
    resolve_path,
)
from .tracked import log_sweep

if TYPE_CHECKING:  # pragma: no cover
    import concurrent.futures as cf

    import pandas as pd

    from ..evaluation.candidate_pools import Pool
    from ..settings import Settings

__all__ = ["make_splits", "resolve_pool", "run_sweep", "stderr_log"]

BLOCK = 8192
"""Grid/random trials are generated and submitted this many at a time (bounded memory)."""


Log = Callable[[str], None]


def _quiet(_: str) -> None:
    pass


def resolve_pool(
    spec: SweepSpec,
    *,
    pool_path: str | Path | None = None,
    settings: Settings | None = None,
    log: Log = _quiet,
) -> tuple[Pool, Path, bool]:
    """(pool, its directory, whether it was built now) for the spec.

    An explicit ``pool_path`` (or the spec's ``pool``) must exist and have been built in the
    settings' offline world (``settings.world``: same scenario name and hash; ConfigError
    otherwise); without one the region set's default pool directory for that world is used
    (the pool key covers the world) and, when empty, the pool is built and written there.
    """
    from ..evaluation.candidate_pools import (
        build_pool,
        default_pool_dir,
        load_or_build,
        load_pool,
        pool_key,
    )
    from ..evaluation.regions import load_region_set
    from ..harness import world_identity
    from ..pipeline.score.features import FeatureParams
    from ..settings import Settings

    settings = settings or Settings()
    world = world_identity(settings)
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
        m = pool.manifest
        # A pool of real data (a bundle's, ``world_seed`` None) has no world to match.
        if m.world_seed is not None and (m.world, m.world_hash) != (world.name, world.hash):
            raise ConfigError(
                f"pool {p} was built in {m.world_label}, the sweep runs in {world.label}: "
                f"pass --world {m.world_path or m.world} (if that world is unchanged) or "
                f"re-create the pool with `underfoot-lab snapshot create --region-set {name} "
                f"--world {world.ref} --out {p} --force`"
            )
        return pool, p, False
    rs = load_region_set(spec.region_set or "all")
    key = pool_key(rs.hash, settings, FeatureParams(), simulated=True)
    out = default_pool_dir(settings, rs.name, key)
    pool, built = load_or_build(
        out,
        lambda: build_pool(rs, settings=settings, params=FeatureParams()),
        log=lambda msg: log(
            f"no frozen pool for region set {rs.name!r} (the same as `underfoot-lab snapshot "
            f"create --region-set {rs.name}`); {msg}"
        ),
    )
    return pool, out, built


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

    from ..pipeline.score.base import require_weights_vector

    for what, ref in [("base weights", spec.base_weights), *spec.baselines.items()]:
        require_weights_vector(resolve_path(ref), what)  # production's system: no vector

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
    # Block layouts built here, once, so forked workers inherit them rather than each building.
    data.layout()
    if spec.n_trials >= SUB_BATCH:
        data.block_prepared()
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
            f"split(s), pool {ppath.name} ({data.n_queries} queries, {pool.manifest.world_label}), "
            f"executor {described}"
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
            f"{', '.join(final.tune)}; "
            f"{SIMULATED_LABEL if pool.manifest.world_seed is not None else 'real data'}"
        ),
    )
    split_winners = [space.weights(by_label[s.label].best_params) for s in splits]
    names = list(baselines)
    values = evaluate_weights(data, [*split_winners, *baselines.values()])
    per_query = _per_query_frame(data, splits, values, names)
    tune_q = data.query_mask(final.tune)
    baseline_tune = {
        b: {
            m: nanmean(values[len(splits) + bi, tune_q, j]) for j, m in enumerate(data.metric_names)
        }
        for bi, b in enumerate(names)
    }
    timings["per_query_s"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    comparison = compare_with_baselines(
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
        world=pool.manifest.world,
        world_hash=pool.manifest.world_hash,
        git_dirty=pool.manifest.git_dirty,
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
            "heldout": nanmean(
                per_query.loc[per_query["system"] == "winner", m.name].to_numpy(np.float64)
            ),
        }
        for b in baselines:
            entry[b] = nanmean(per_query.loc[per_query["system"] == b, m.name].to_numpy(np.float64))
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


def stderr_log(message: str) -> None:
    """Print a progress line on stderr."""
    print(message, file=sys.stderr, flush=True)
