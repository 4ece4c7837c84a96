"""``underfoot-lab evaluate --region-set NAME``: evaluate a region set (resumable).

Prints a summary table (means, per-region nDCG@10, stage latencies, cache hit rate, query
count, run id, the world, e.g. "offline world 'null' (a1b2c3d4), simulated") or, with
``--json``, one object::

    {"run_id": <MLflow run id>, "eval_run_id": <run-store id>,
     "metrics": {mlflow_safe_name: value}, "queries": N, "errors": n, "mlflow": {...}, ...}

Every evaluation is logged to MLflow (the local SQLite store unless ``MLFLOW_TRACKING_URI`` is
set); ``--no-mlflow`` skips it.

An interrupted run continues with ``--resume RUN_ID``: only the missing queries are searched.
When resuming, the region set, weights, k, cache setting and world default to the run's own; a
different ``--world`` (or a world whose code or scenario changed since) is refused.

Failures are counted (per query and per source: the ``failures:`` line, ``"failures"`` in the
JSON, ``errors.*`` metrics in MLflow). When every query failed (its search raised, or every
source failed on it) the run measured nothing: ``evaluate`` exits 3 with one line on stderr
and the MLflow run ends FAILED with a ``failure_reason`` tag (no zero metrics).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from ._world import add_world_argument

HELP = "evaluate a region set: IR and domain metrics, latency, cache (resumable)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--region-set",
        metavar="NAME",
        help="region set name or YAML path (default: the set marked default, or the resumed "
        "run's set)",
    )
    p.add_argument(
        "--weights",
        metavar="FILE",
        help="scoring weights YAML (default: the seed scorer, i.e. "
        "experiments/weights/baseline-seed.yaml)",
    )
    p.add_argument("-k", type=int, default=None, help="cutoff of the domain metrics (default 10)")
    p.add_argument("--no-cache", action="store_true", help="bypass both cache layers")
    add_world_argument(p)
    p.add_argument("--resume", metavar="RUN_ID", help="continue an interrupted run")
    p.add_argument("--concurrency", type=int, default=4, help="searches in flight (default 4)")
    p.add_argument(
        "--judges",
        default="world",
        help="qrels: 'world' (default), a judge, a glob like 'human:*', a comma list, or "
        "'merged[:rule]'",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--out", metavar="DIR", help="save the report (csv, parquet, trec, json)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument(
        "--mlflow",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="log the evaluation to MLflow (default: on)",
    )
    p.add_argument("--experiment", default="underfoot-eval", help="MLflow experiment name")
    p.add_argument(
        "--target",
        metavar="URL",
        help="evaluate the service at URL (production's contract, over HTTP) instead of the "
        "in-process pipeline; --weights then records what it runs, --no-cache sends force",
    )
    p.add_argument(
        "--bundle", metavar="DIR", help="replay a collected bundle (no network; its judgments)"
    )


def run(args: argparse.Namespace) -> int:
    from ..errors import ConfigError
    from ..evaluation.regions import default_region_set_name
    from ..evaluation.runner import RunStore, evaluate_region_set, new_run_id
    from ._world import world_settings

    settings = world_settings(args)
    region_set: str | None = args.region_set
    weights: str | None = args.weights
    k: int | None = args.k
    use_cache = not args.no_cache
    if args.concurrency < 1:
        raise ConfigError(f"--concurrency must be at least 1, got {args.concurrency}")
    if args.resume:
        stored = RunStore(settings=settings).config(args.resume)
        region_set = region_set or stored.region_set_ref
        if weights is None and stored.weights_path is not None:
            weights = stored.weights_path
        k = k if k is not None else stored.k
        if not args.no_cache:
            use_cache = stored.use_cache
        if args.world is None and stored.world:
            settings = settings.model_copy(update={"world": stored.world_path or stored.world})
    bundle = None
    if args.bundle:  # replay only: the bundle's settings, region set and judges
        from ..bundles import prepare

        bundle = prepare(args.bundle, settings, args.judges)
        settings, args.judges, use_cache = bundle.settings, bundle.judges, False
        region_set = region_set or str(bundle.region_set)
    run_id = args.resume or new_run_id()
    # --target: the same evaluation against a service over HTTP (same keyword arguments).
    evaluate = _target_evaluator(args.target) if args.target else evaluate_region_set
    try:
        report = evaluate(
            region_set or default_region_set_name(),
            settings=settings,
            weights=Path(weights) if weights else None,
            k=k if k is not None else 10,
            use_cache=use_cache,
            concurrency=args.concurrency,
            run_id=run_id,
            resume=bool(args.resume),
            progress=not args.no_progress,
            judges=args.judges,
        )
    except KeyboardInterrupt:
        print(
            f"interrupted; continue with: underfoot-lab evaluate --resume {run_id}",
            file=sys.stderr,
        )
        return 130
    if bundle is not None:
        from ..bundles import check_run

        check_run(bundle, report.run_id)
    saved = report.save(args.out) if args.out else None
    mlflow_run_id: str | None = None
    if args.mlflow:
        from .. import tracking

        mlflow_run_id = tracking.log_evaluation(
            report,
            experiment=args.experiment,
            settings=settings,
            tags={**_target_tags(report), **(bundle.tags if bundle is not None else {})},
        )
    if args.json:
        payload = report.to_payload()
        payload["eval_run_id"] = report.run_id
        payload["run_id"] = mlflow_run_id
        if mlflow_run_id is not None:
            from .. import tracking

            payload["mlflow"] = {
                "run_id": mlflow_run_id,
                "experiment": args.experiment,
                "tracking_uri": tracking.tracking_uri(None, settings),
            }
        if saved is not None:
            payload["out"] = str(saved)
        print(json.dumps(payload, indent=2, ensure_ascii=False, allow_nan=False))
    else:
        print(report.summary_table())
        if mlflow_run_id is not None:
            from .. import tracking

            print(
                f"MLflow run {mlflow_run_id} (experiment {args.experiment}, "
                f"{tracking.tracking_uri(None, settings)})"
            )
        if saved is not None:
            print(f"saved to {saved}")
    return _exit_code(report)


def _exit_code(report: Any) -> int:
    """0, or EXIT_ALL_FAILED (3) with one line on stderr when every query failed."""
    from ..evaluation.results.failures import EXIT_ALL_FAILED

    reason = report.failures.failure_reason
    if reason is None:
        return 0
    print(f"error: evaluation {report.run_id} failed: {reason}", file=sys.stderr)
    return EXIT_ALL_FAILED


def _target_evaluator(target: str) -> Any:
    """``evaluate_region_set``'s stand-in for ``--target URL``."""
    from functools import partial

    from ..service.target import evaluate_target

    return partial(evaluate_target, target)


def _target_tags(report: Any) -> dict[str, str]:
    from ..service.target import target_tags

    return target_tags(report)
