"""Weight sweeps over frozen candidate pools (``underfoot-lab sweep``, ``docs/sweeps.md``).

A sweep evaluates many scoring-weight settings on a frozen pool (no source is called): trials
from a grid, a seeded random search or an Optuna TPE study (:mod:`.search`) are scored in
batches -- one exact matrix pass per batch, trec_eval-exact IR metrics and vectorised domain
metrics (:mod:`.evaluate`) -- on a local process pool or a Dask cluster (:mod:`.executors`);
the best setting on the tuning regions is checked on held-out regions against the baselines,
with paired randomization tests and Holm's correction (:mod:`.comparison`), and everything
goes to MLflow (:mod:`.tracked`). :mod:`.run` orchestrates it; :mod:`.result` holds what a
sweep produced. Specs live in ``experiments/sweeps/*.yaml`` (:mod:`.spec`).

Importing this package is cheap; pandas, optuna, dask and mlflow load when used::

    from underfoot_lab.sweeps import load_spec, run_sweep

    result = run_sweep(load_spec("experiments/sweeps/random-all.yaml"), mlflow=False)
    print(result.summary_text())
"""

from __future__ import annotations

from .evaluate import BatchResult, PoolData, build_pool_data, evaluate_batch, evaluate_weights
from .executors import (
    DaskExecutor,
    FuturesExecutor,
    InlineExecutor,
    ProcessExecutor,
    TrialExecutor,
    make_executor,
)
from .result import Split, StudyResult, SweepResult
from .run import make_splits, resolve_pool, run_sweep
from .search import OptunaSearch, SearchSpace, Trial, TrialBatch
from .spec import (
    Constraint,
    MetricRef,
    ParamRange,
    SweepSpec,
    load_spec,
    parse_constraint,
    parse_metric,
    spec_from_options,
)
from .tracked import LoadedSweep, list_sweeps, load_sweep, log_sweep

__all__ = [
    "BatchResult",
    "Constraint",
    "DaskExecutor",
    "FuturesExecutor",
    "InlineExecutor",
    "LoadedSweep",
    "MetricRef",
    "OptunaSearch",
    "ParamRange",
    "PoolData",
    "ProcessExecutor",
    "SearchSpace",
    "Split",
    "StudyResult",
    "SweepResult",
    "SweepSpec",
    "Trial",
    "TrialBatch",
    "TrialExecutor",
    "build_pool_data",
    "evaluate_batch",
    "evaluate_weights",
    "list_sweeps",
    "load_spec",
    "load_sweep",
    "log_sweep",
    "make_executor",
    "make_splits",
    "parse_constraint",
    "parse_metric",
    "resolve_pool",
    "run_sweep",
    "spec_from_options",
]
