"""``underfoot-lab compare --region-set NAME --baseline A --candidate B``: paired comparison.

Evaluates both configurations (or reuses runs from the run store: ``--baseline-run`` /
``--candidate-run RUN_ID``, or automatically the newest complete run with the same config
unless ``--fresh``), rescoring both against the same qrels (every judgment in the store for
the set's queries, so neither run is judged on a smaller pool), and prints per metric: mean A,
mean B, diff, paired t-test p, randomization-test p (seeded), Holm-adjusted p-values, a
bootstrap CI over queries, a bootstrap CI and a sign-flip p over regions, and Cohen's d (with
a note when fewer than 10 regions make the region-level statistics unreliable). Without
``--baseline`` the baseline is the seed scorer.

**Several worlds** (``--world A --world B`` or ``--worlds DIR``): the comparison runs in each
scenario world and ends with one line, "candidate better in k of n worlds, worse in j,
inconclusive in the rest" (on the first ``--metric``, default nDCG@10, by the Holm-adjusted
randomization p). Each world's runs, judgments and caches live in their own home
``<UNDERFOOT_HOME>/worlds/<name>-<hash12>``, because cache keys and run configs do not carry
the scenario yet, so runs of different worlds never mix.

**CI gate** (``--fail-if-worse [--metric M] [--alpha A]``): exit 1 when the candidate is
significantly worse on the first ``--metric`` (default nDCG@10) in any world compared, with one
line saying why; 0 otherwise. See ``docs/ci-gate.md``.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from ..evaluation.metrics.paired import PairedComparison
    from ..evaluation.results.model import EvaluationReport
    from ..settings import Settings

HELP = "compare two scoring configurations on a region set with paired significance tests"
GATE_METRIC = "nDCG@10"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--region-set", metavar="NAME", help="region set (default: the default set)")
    p.add_argument(
        "--baseline",
        metavar="WEIGHTS_A",
        help="weights YAML (default: the seed scorer, i.e. experiments/weights/baseline-seed.yaml)",
    )
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
        "MRR, MAP, hiddenness, geo precision, expired events); the first one is the metric of "
        "the per-world verdicts and of --fail-if-worse",
    )
    p.add_argument(
        "--world",
        action="append",
        dest="worlds",
        metavar="NAME|FILE",
        help="compare in this scenario world (repeatable: the comparison runs in each and "
        "reports in how many the candidate is better; default: the settings' world)",
    )
    p.add_argument(
        "--worlds",
        dest="worlds_dir",
        metavar="DIR",
        help="compare in every scenario world *.yaml of DIR (e.g. experiments/worlds)",
    )
    p.add_argument(
        "--fail-if-worse",
        action="store_true",
        help="CI gate: exit 1 when the candidate is significantly worse (Holm-adjusted "
        "randomization p < --alpha) on the first --metric (default nDCG@10), else 0",
    )
    p.add_argument(
        "--alpha", type=float, default=0.05, help="significance level of verdicts (0.05)"
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


@dataclass(frozen=True)
class WorldComparison:
    """One world's paired comparison (``world`` None: the settings' world, no --world)."""

    world: str | None
    world_hash: str | None
    a: EvaluationReport
    b: EvaluationReport
    comparison: PairedComparison


def world_refs(args: argparse.Namespace) -> list[str]:
    """The worlds asked for: every ``--world``, then every ``*.yaml`` of ``--worlds DIR``."""
    from ..errors import ConfigError

    refs = list(args.worlds or [])
    if args.worlds_dir:
        d = Path(args.worlds_dir)
        if not d.is_dir():
            raise ConfigError(f"--worlds: {d} is not a directory")
        found = sorted(str(p) for p in d.glob("*.yaml"))
        if not found:
            raise ConfigError(f"--worlds: no scenario *.yaml in {d}")
        refs.extend(found)
    return refs


def _compare_in(args: argparse.Namespace, settings: Settings) -> tuple[Any, Any, Any]:
    from ..errors import ConfigError
    from ..evaluation.results.compare import compare_reports
    from ..evaluation.runner import load_report

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
    return a, b, comparison


def _payload(c: WorldComparison, args: argparse.Namespace) -> dict[str, Any]:
    from ..evaluation.results.model import json_safe

    a, b = c.a, c.b
    return {
        "region_set": a.config.region_set,
        "queries": a.n_queries,
        "baseline": {"run_id": a.run_id, "weights": a.config.weights, "scorer": a.config.scorer},
        "candidate": {"run_id": b.run_id, "weights": b.config.weights, "scorer": b.config.scorer},
        "judgments_hash": a.judgments_hash,
        "simulated": a.simulated,
        "seed": args.seed,
        "resamples": args.resamples,
        "region_note": c.comparison.region_note(),
        "comparisons": json_safe(c.comparison.to_records()),
    }


def _header(c: WorldComparison, args: argparse.Namespace) -> str:
    a, b = c.a, c.b
    world = " [offline world (simulated)]" if a.simulated else ""
    named = f"world {c.world} ({c.world_hash}): " if c.world else ""
    return (
        f"{named}region set {a.config.region_set}: {a.n_queries} queries{world}\n"
        f"A = run {a.run_id} (weights {a.config.weights}, {a.config.scorer})\n"
        f"B = run {b.run_id} (weights {b.config.weights}, {b.config.scorer})\n"
        f"qrels {a.judgments_hash[:12]} ({args.judges}); diff = mean(B - A); "
        f"seed {args.seed}, {args.resamples} resamples\n"
    )


def _summary_table(results: list[WorldComparison], metric: str, alpha: float) -> str:
    from ..evaluation.results.compare import verdict
    from ..evaluation.results.model import _fmt
    from ..terminal import table

    rows = []
    for c in results:
        r = c.comparison[metric]
        rows.append(
            [
                c.world or "",
                r.display,
                f"{r.diff:+.4f}",
                f"[{_fmt(r.ci_low)}, {_fmt(r.ci_high)}]",
                _fmt(r.p_rand_holm),
                _fmt(r.p_region),
                verdict(r, alpha),
            ]
        )
    headers = ["world", "metric", "diff", "CI", "p Holm", "p region", "verdict"]
    return table(headers, rows, "llrrrrl")


def run(args: argparse.Namespace) -> int:
    from ..errors import ConfigError
    from ..evaluation.metrics.catalog import resolve_metric
    from ..evaluation.results.compare import (
        format_comparison,
        gate_line,
        robustness_line,
        verdict,
    )
    from ..settings import Settings

    if not args.candidate and not args.candidate_run:
        raise ConfigError("give the candidate: --candidate WEIGHTS_B or --candidate-run RUN_ID")
    if not 0.0 < args.alpha < 1.0:
        raise ConfigError(f"--alpha must be in (0, 1), got {args.alpha}")
    refs = world_refs(args)
    if refs and args.bundle:
        raise ConfigError("--bundle holds real data: it has no --world/--worlds")
    if refs and (args.baseline_run or args.candidate_run):
        raise ConfigError(
            "--baseline-run/--candidate-run name runs of one home; with --world/--worlds give "
            "weights (--baseline/--candidate) instead"
        )
    gated = (args.metrics or [GATE_METRIC])[0]
    metric = resolve_metric(gated, args.k)  # the default metrics start with nDCG@10
    base = Settings()
    results: list[WorldComparison] = []
    if not refs:
        a, b, comparison = _compare_in(args, base)
        results.append(WorldComparison(None, None, a, b, comparison))
    if refs:
        # the same comparison as the report's "Across worlds" section, by the same function
        from ..evaluation.across_worlds import compare_in_worlds
        from ..evaluation.regions import default_region_set_name

        across = compare_in_worlds(
            args.region_set or default_region_set_name(),
            candidate=args.candidate,
            baseline=args.baseline,
            worlds=refs,
            settings=base,
            k=args.k,
            metrics=args.metrics,
            alpha=args.alpha,
            seed=args.seed,
            n_resamples=args.resamples,
            judges=args.judges,
            concurrency=args.concurrency,
            progress=not args.no_progress,
            log=lambda msg: print(msg, file=sys.stderr),
            fresh=args.fresh,
            use_cache=not args.no_cache,
        )
        results = [
            WorldComparison(w.world, w.world_hash, w.baseline, w.candidate, w.comparison)
            for w in across.worlds
        ]

    verdicts = [verdict(c.comparison[metric], args.alpha) for c in results]
    line = robustness_line(verdicts, results[0].comparison[metric].display, args.alpha)
    code, why = gate_line([(c.world, c.comparison[metric]) for c in results], args.alpha)
    several = len(results) > 1
    if args.json:
        if several:
            first = _payload(results[0], args)
            payload: dict[str, Any] = {
                k: first[k] for k in ("region_set", "queries", "seed", "resamples")
            }
            payload["alpha"] = args.alpha
            payload["metric"] = metric
            payload["worlds"] = [
                {"world": c.world, "world_hash": c.world_hash, "verdict": v, **_payload(c, args)}
                for c, v in zip(results, verdicts, strict=True)
            ]
            payload["summary"] = {
                "better": verdicts.count("better"),
                "worse": verdicts.count("worse"),
                "inconclusive": verdicts.count("inconclusive"),
                "n": len(verdicts),
                "line": line,
            }
        else:
            c = results[0]
            payload = _payload(c, args)
            if c.world is not None:
                payload["world"], payload["world_hash"] = c.world, c.world_hash
        if args.fail_if_worse:
            payload["gate"] = {"exit_code": code, "reason": why, "metric": metric}
        print(json.dumps(payload, indent=2, ensure_ascii=False, allow_nan=False))
    else:
        for c in results:
            print(_header(c, args))
            print(format_comparison(c.comparison))
            print()
        if several:
            print(_summary_table(results, metric, args.alpha))
            print(line)
    if args.fail_if_worse:
        print(why, file=sys.stderr if args.json else sys.stdout)
        return code
    return 0
