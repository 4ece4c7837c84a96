"""``underfoot-lab compare --region-set NAME --baseline A --candidate B``: paired comparison.

Evaluates both configurations (or reuses runs from the run store: ``--baseline-run`` /
``--candidate-run RUN_ID``, or automatically the newest complete run with the same config
unless ``--fresh``), rescoring both against the same qrels (every judgment in the store for
the set's queries, so neither run is judged on a smaller pool), and prints per metric: mean A,
mean B, diff, paired t-test p, randomization-test p (seeded), Holm-adjusted p-values, a
bootstrap CI over queries, a bootstrap CI over regions and Cohen's d. Without ``--baseline``
the baseline is the seed scorer.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

HELP = "compare two scoring configurations on a region set with paired significance tests"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--region-set", metavar="NAME", help="region set (default: the default set)")
    p.add_argument("--baseline", metavar="WEIGHTS_A", help="weights YAML (default: seed scorer)")
    p.add_argument("--candidate", metavar="WEIGHTS_B", help="weights YAML of the candidate")
    p.add_argument("--baseline-run", metavar="RUN_ID", help="reuse a stored run as the baseline")
    p.add_argument("--candidate-run", metavar="RUN_ID", help="reuse a stored run as candidate")
    p.add_argument(
        "-m",
        "--metric",
        action="append",
        dest="metrics",
        metavar="NAME",
        help="metric to compare (repeatable; MLflow or display names; default: nDCG@10, P@10, "
        "MRR, MAP, hiddenness, geo precision, expired events)",
    )
    p.add_argument("-k", type=int, default=10, help="cutoff of the domain metrics (default 10)")
    p.add_argument("--no-cache", action="store_true", help="bypass both cache layers")
    p.add_argument("--concurrency", type=int, default=4)
    p.add_argument("--judges", default="world", help="qrels selection (see evaluate --help)")
    p.add_argument("--seed", type=int, default=0, help="seed of the resampling tests")
    p.add_argument("--resamples", type=int, default=10000, help="resamples per test")
    p.add_argument("--fresh", action="store_true", help="never reuse a stored run")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument(
        "--bundle", metavar="DIR", help="replay a collected bundle (no network; its judgments)"
    )


def _ensure_run(
    args: argparse.Namespace, settings: Any, run_id: str | None, weights: str | None, label: str
) -> str:
    from ..evaluation.regions import default_region_set_name
    from ..evaluation.runner import RunStore, evaluate_region_set, find_run

    region_set = args.region_set or default_region_set_name()
    wpath = Path(weights) if weights else None
    if run_id:
        info = RunStore(settings=settings).info(run_id)
        if info["status"] != "complete":
            print(f"{label}: resuming run {run_id} ({info['status']})", file=sys.stderr)
            stored = RunStore(settings=settings).config(run_id)
            evaluate_region_set(
                stored.region_set_ref,
                settings=settings,
                weights=Path(stored.weights_path) if stored.weights_path else None,
                k=stored.k,
                use_cache=stored.use_cache,
                concurrency=args.concurrency,
                run_id=run_id,
                resume=True,
                progress=not args.no_progress,
                judges=args.judges,
            )
        return run_id
    if not args.fresh:
        found = find_run(region_set, settings=settings, weights=wpath, k=args.k)
        if found is not None:
            print(f"{label}: reusing run {found}", file=sys.stderr)
            return found
    report = evaluate_region_set(
        region_set,
        settings=settings,
        weights=wpath,
        k=args.k,
        use_cache=not args.no_cache,
        concurrency=args.concurrency,
        progress=not args.no_progress,
        judges=args.judges,
    )
    print(f"{label}: run {report.run_id}", file=sys.stderr)
    return report.run_id


def run(args: argparse.Namespace) -> int:
    from ..errors import ConfigError
    from ..evaluation.results.compare import compare_reports, format_comparison
    from ..evaluation.runner import load_report
    from ..settings import Settings

    if not args.candidate and not args.candidate_run:
        raise ConfigError("give the candidate: --candidate WEIGHTS_B or --candidate-run RUN_ID")
    settings = Settings()
    bundle = None
    if args.bundle:  # replay only; never reuse a run of another bundle
        from ..bundles import prepare

        bundle = prepare(args.bundle, settings, args.judges)
        settings, args.judges, args.fresh = bundle.settings, bundle.judges, True
        args.no_cache, args.region_set = True, args.region_set or str(bundle.region_set)
    a_id = _ensure_run(args, settings, args.baseline_run, args.baseline, "baseline")
    b_id = _ensure_run(args, settings, args.candidate_run, args.candidate, "candidate")
    # Both rebuilt after both ran, so they are scored against the same (pooled) qrels.
    a = load_report(a_id, settings=settings, judges=args.judges)
    b = load_report(b_id, settings=settings, judges=args.judges)
    if bundle is not None:
        from ..bundles import check_run

        for run_id in (a_id, b_id):
            check_run(bundle, run_id)
    if a.config.region_set_hash != b.config.region_set_hash:
        raise ConfigError(
            f"runs {a_id} and {b_id} evaluated different region sets "
            f"({a.config.region_set} vs {b.config.region_set})"
        )
    comparison = compare_reports(a, b, args.metrics, seed=args.seed, n_resamples=args.resamples)
    if args.json:
        from ..evaluation.results.model import json_safe

        payload = {
            "region_set": a.config.region_set,
            "queries": a.n_queries,
            "baseline": {"run_id": a_id, "weights": a.config.weights, "scorer": a.config.scorer},
            "candidate": {"run_id": b_id, "weights": b.config.weights, "scorer": b.config.scorer},
            "judgments_hash": a.judgments_hash,
            "simulated": a.simulated,
            "seed": args.seed,
            "resamples": args.resamples,
            "comparisons": json_safe(comparison.to_records()),
        }
        print(json.dumps(payload, indent=2, ensure_ascii=False, allow_nan=False))
    else:
        world = " [offline world (simulated)]" if a.simulated else ""
        print(
            f"region set {a.config.region_set}: {a.n_queries} queries{world}\n"
            f"A = run {a_id} (weights {a.config.weights}, {a.config.scorer})\n"
            f"B = run {b_id} (weights {b.config.weights}, {b.config.scorer})\n"
            f"qrels {a.judgments_hash[:12]} ({args.judges}); diff = mean(B - A); "
            f"seed {args.seed}, {args.resamples} resamples\n"
        )
        print(format_comparison(comparison))
    return 0
