"""``underfoot-lab sweep``: search scoring weights over a frozen pool (``docs/sweeps.md``).

``--spec FILE`` reads a sweep spec (``experiments/sweeps/*.yaml``); the flags override its
fields, or describe the whole sweep without a spec (every scored feature in [-1, 1] around
``experiments/weights/tuned-default-world.yaml``, held-out regions chosen by
``--holdout-fraction``)::

    underfoot-lab sweep --spec experiments/sweeps/random-all.yaml
    underfoot-lab sweep --region-set all --trials 1000 --method random --seed 0
    underfoot-lab sweep --spec experiments/sweeps/optuna-tpe.yaml --executor dask \\
        --scheduler tcp://10.0.0.5:8786 --storage sqlite:////shared/optuna.sqlite3

``--bundle DIR`` sweeps over a collected bundle instead (``docs/bundles.md``): its pool is
frozen by replay once (no network; ``snapshot create --bundle``), graded by the bundle's
judgments (``--judges`` as ``evaluate``), and the MLflow run is tagged ``simulated=false``,
``bundle`` and ``bundle_hash``.

``--world NAME|FILE`` picks the offline world: the pool is the region set's pool of that world
(built once when missing); an explicit ``--pool`` built in another world is refused.

Prints the winner, its tuning and held-out metrics next to the baselines' on the same held-out
queries, and the paired randomization tests (Holm-adjusted); ``--json`` prints one object.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any

from ._world import add_world_argument

if TYPE_CHECKING:  # pragma: no cover
    from ..bundles import BundleRun
    from ..settings import Settings

HELP = "search scoring weights over a frozen pool (grid, random, Optuna TPE), with held-out regions"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--spec", metavar="FILE", help="a sweep spec YAML (experiments/sweeps/)")
    p.add_argument("--name", help="sweep name (default: the spec file's stem, or 'adhoc')")
    p.add_argument("--region-set", metavar="NAME", help="region set (default: all)")
    p.add_argument("--pool", metavar="DIR", help="frozen pool directory (default: the set's)")
    p.add_argument(
        "--bundle",
        metavar="DIR",
        help="sweep over a collected bundle's pool (replayed once, no network; its judgments)",
    )
    p.add_argument(
        "--judges",
        default="world",
        help="with --bundle: qrels as evaluate --judges (default: the bundle's own judges)",
    )
    add_world_argument(p)
    p.add_argument("--base-weights", metavar="FILE", help="weights the sweep starts from")
    p.add_argument("--method", choices=("grid", "random", "optuna"), help="search method")
    p.add_argument("--trials", type=int, help="trials to run (random/optuna)")
    p.add_argument("--seed", type=int, help="random seed (trials, held-out pick, tests)")
    p.add_argument("--objective", metavar="METRIC", help="metric to maximise (default nDCG@10)")
    p.add_argument(
        "--constraint",
        action="append",
        metavar="EXPR",
        help="e.g. 'geo_precision@10 >= 0.8' (repeatable; replaces the spec's)",
    )
    val = p.add_mutually_exclusive_group()
    val.add_argument("--holdout-regions", metavar="A,B", help="hold these regions out")
    val.add_argument(
        "--holdout-fraction", type=float, metavar="F", help="hold out this share of regions"
    )
    val.add_argument("--kfold", type=int, metavar="K", help="k-fold by region (0: one per region)")
    p.add_argument(
        "--executor",
        choices=("local", "dask", "inline"),
        default=None,
        help="where trials run (default: local process pool; dask with --scheduler)",
    )
    p.add_argument("--scheduler", metavar="ADDR", help="Dask scheduler, e.g. tcp://host:8786")
    p.add_argument("--workers", type=int, help="worker processes (default: the CPUs)")
    p.add_argument("--batch-size", type=int, help="trials per task sent to a worker")
    p.add_argument(
        "--storage", metavar="URL", help="Optuna storage (default sqlite under UNDERFOOT_HOME)"
    )
    p.add_argument("--study-name", help="Optuna study name (processes sharing it share trials)")
    p.add_argument("--out", metavar="PATH", help="weights file or directory for the winner")
    p.add_argument("--no-write", action="store_true", help="do not write the winner's weights")
    p.add_argument("--no-mlflow", action="store_true", help="log nothing to MLflow")
    p.add_argument(
        "--no-cache",
        action="store_true",
        help="recompute the pool's per-entity domain values (else cached under UNDERFOOT_HOME)",
    )
    p.add_argument("--experiment", help="MLflow experiment (default underfoot-sweeps)")
    p.add_argument("--tracking-uri", help="MLflow tracking URI (default: local SQLite store)")
    p.add_argument("--json", action="store_true", help="print one JSON object")


def _overrides(args: argparse.Namespace) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": args.name,
        "region_set": args.region_set,
        "base_weights": args.base_weights,
        "method": args.method,
        "trials": args.trials,
        "seed": args.seed,
        "objective": args.objective,
        "constraints": args.constraint,
        "batch_size": args.batch_size,
        "storage": args.storage,
        "study_name": args.study_name,
        "experiment": args.experiment,
    }
    if args.holdout_regions:
        regions = [r.strip() for r in args.holdout_regions.split(",") if r.strip()]
        out["validation"] = {"holdout": {"regions": regions}}
    elif args.holdout_fraction is not None:
        out["validation"] = {"holdout": {"fraction": args.holdout_fraction}}
    elif args.kfold is not None:
        out["validation"] = {"kfold": {"k": args.kfold or None}}
    return out


def run(args: argparse.Namespace) -> int:
    from ..sweeps.run import run_sweep, stderr_log
    from ..sweeps.spec import load_spec, spec_from_options
    from ._world import world_settings

    settings = world_settings(args)
    pool_path: str | None = args.pool
    bundle: BundleRun | None = None
    if args.bundle:  # the bundle's pool (frozen once, then reused) and its MLflow tags
        pool_path, bundle = _bundle_pool(args, settings)
        settings = bundle.settings
    overrides = _overrides(args)
    spec = load_spec(args.spec, **overrides) if args.spec else spec_from_options(**overrides)
    executor = args.executor or ("dask" if args.scheduler else "local")
    interactive = sys.stderr.isatty() and not args.json

    def progress(done: int, total: int) -> None:
        if interactive:
            end = "\n" if done >= total else ""
            print(f"\rtrials {done}/{total}", end=end, file=sys.stderr, flush=True)

    result = run_sweep(
        spec,
        pool_path=pool_path,
        executor=executor,
        workers=args.workers,
        scheduler=args.scheduler,
        out=args.out,
        write_weights=not args.no_write,
        mlflow=not args.no_mlflow,
        tracking_uri=args.tracking_uri,
        cache=not args.no_cache,
        settings=settings,
        log=stderr_log,
        progress=progress,
    )
    payload = result.to_payload()
    if bundle is not None:
        payload["bundle"] = bundle.tags
        if result.mlflow_run_id is not None:
            from .. import tracking

            tracking.log_values(result.mlflow_run_id, tags=bundle.tags,
                                tracking_uri=result.tracking_uri, settings=settings)  # fmt: skip
    if args.json:
        print(json.dumps(payload, indent=2, ensure_ascii=False))
    else:
        if bundle is not None:
            print(f"bundle {bundle.bundle.name} ({bundle.bundle.hash[:12]}), judged by "
                  f"{bundle.judges}; real data, replayed")  # fmt: skip
        print(result.summary_text())
    return 0


def _bundle_pool(args: argparse.Namespace, settings: Settings) -> tuple[str, BundleRun]:
    """(pool directory, BundleRun) for ``--bundle``: frozen by replay once, reused after."""
    from ..bundles import freeze_bundle_pool
    from ..errors import ConfigError

    if args.pool:
        raise ConfigError("--bundle and --pool both name the pool: give one")
    path, run, built = freeze_bundle_pool(args.bundle, settings, judges=args.judges)
    if built and not args.json:
        print(f"froze bundle {run.bundle.name}'s pool at {path}", file=sys.stderr)
    return str(path), run
