"""``underfoot-lab load --target URL``: a bounded load test of a service speaking production's
contract (ours from ``serve``, or any other on loopback; ``--allow-remote`` for the rest).

Queries come from a region set; ``--repeat-ratio`` is the share of requests that repeat a query
already sent, to exercise the cache. Prints throughput, latency P50/P90/P95/P99, error rate by
type and the cache hit rate (``--json``: one JSON object). The run is logged to MLflow (params,
metrics, ``load/report.json``, tagged with the target) unless ``--no-mlflow``.
"""

from __future__ import annotations

import argparse
import json
import sys

HELP = "load-test a search service: throughput, P50-P99 latency, errors by type, cache hit rate"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--target", required=True, help="base URL, e.g. http://127.0.0.1:8000")
    p.add_argument("--requests", type=int, default=100, help="requests to send (default: 100)")
    p.add_argument("--concurrency", type=int, default=4, help="requests in flight (default: 4)")
    p.add_argument("--region-set", help="region set name or YAML (default: the default set)")
    p.add_argument(
        "--repeat-ratio",
        type=float,
        default=0.5,
        help="share of requests repeating an earlier query (default: 0.5)",
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the query draw (default: 0)")
    p.add_argument("--timeout", type=float, default=30.0, help="per-request timeout in seconds")
    p.add_argument("--allow-remote", action="store_true", help="allow a non-loopback target")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument(
        "--mlflow",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="log the load run to MLflow (default: on; --no-mlflow skips it)",
    )
    p.add_argument("--experiment", default="underfoot-load", help="MLflow experiment name")


def run(args: argparse.Namespace) -> int:
    import asyncio

    from ..errors import ConfigError
    from ..evaluation.regions import default_region_set_name, load_region_set
    from ..service.load import check_target, plan_queries, run_load

    target = check_target(args.target, allow_remote=args.allow_remote)
    if args.requests < 1:
        raise ConfigError(f"--requests must be at least 1, got {args.requests}")
    if args.concurrency < 1:
        raise ConfigError(f"--concurrency must be at least 1, got {args.concurrency}")
    if args.timeout <= 0:
        raise ConfigError(f"--timeout must be positive, got {args.timeout}")
    name = args.region_set or default_region_set_name()
    region_set = load_region_set(name, validate_places=False)
    queries = plan_queries(
        [q.text for q in region_set.queries], args.requests, args.repeat_ratio, args.seed
    )
    report = asyncio.run(
        run_load(
            target,
            queries,
            concurrency=args.concurrency,
            repeat_ratio=args.repeat_ratio,
            region_set=region_set.name,
            timeout_s=args.timeout,
        )
    )
    mlflow_run_id: str | None = None
    if args.mlflow:
        from ..service.load import log_load

        mlflow_run_id = log_load(report, experiment=args.experiment)
    if args.json:
        payload = report.to_dict()
        if mlflow_run_id is not None:
            payload["mlflow"] = {"run_id": mlflow_run_id, "experiment": args.experiment}
        print(json.dumps(payload, indent=2))
    else:
        print(report.format())
        if mlflow_run_id is not None:
            print(f"MLflow run {mlflow_run_id} (experiment {args.experiment})")
    if report.ok == 0:
        print(f"error: no request to {target} succeeded", file=sys.stderr)
        return 1
    return 0
