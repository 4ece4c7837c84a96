"""Benchmark: a 1,000-trial random weight sweep against one uncached evaluation pass.

    python benchmarks/bench_sweep.py [--region-set all] [--trials 1000] [--repeat 2] [--no-dask]

Whole CLI commands in subprocesses, wall time, in a fresh ``UNDERFOOT_HOME`` (offline world;
MLflow logs to a SQLite store in that home):

0. ``underfoot-lab snapshot create --region-set all`` -- freeze the pool (timed apart, not part
   of the comparison: it is done once per region set and world);
1. **baseline** -- ``underfoot-lab evaluate --region-set all --no-cache``: one full pipeline
   pass over every query, cache off, with the report;
2. ``underfoot-lab sweep --region-set all --trials 1000 --method random --seed 0`` on that
   frozen pool, **cold** (the first sweep: no cached per-entity domain values), MLflow logging
   included (parent run, trials table, Pareto figure, child runs, held-out comparison);
3. the same sweep again, **warm** (per-entity domain values cached under the home);
4. the same sweep on a Dask ``LocalCluster`` (``--executor dask --workers 2``, ``--no-mlflow``)
   to check it picks the same winner.

Steps 1 and 2 run ``--repeat`` times, alternating; the table shows the best of each (the
machine is shared) and every run is in the JSON. Prints a table; writes
``benchmarks/results/sweep.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "sweep.json"


def run(cmd: list[str], env: dict[str, str]) -> tuple[float, subprocess.CompletedProcess[str]]:
    """Wall time of a whole CLI command (fails loudly)."""
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT, check=False)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr[-3000:])
        raise SystemExit(f"command failed ({proc.returncode}): {' '.join(cmd)}")
    return elapsed, proc


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--region-set", default="all")
    ap.add_argument("--trials", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--no-dask", action="store_true", help="skip the Dask LocalCluster run")
    ap.add_argument("--keep-home", action="store_true", help="keep the temporary home")
    args = ap.parse_args()

    home = Path(tempfile.mkdtemp(prefix="underfoot-bench-sweep-"))
    env = {
        **os.environ,
        "UNDERFOOT_HOME": str(home),
        "UNDERFOOT_MODE": "offline",
        "MLFLOW_DISABLE_TELEMETRY": "true",
    }
    env.pop("MLFLOW_TRACKING_URI", None)
    exe = [sys.executable, "-m", "underfoot_lab.cli"]
    rs = args.region_set
    out_dir = home / "weights"
    sweep_cmd = [
        *exe,
        "sweep",
        "--region-set",
        rs,
        "--trials",
        str(args.trials),
        "--method",
        "random",
        "--seed",
        "0",
        "--out",
        str(out_dir),
        "--json",
    ]
    evaluate_cmd = [*exe, "evaluate", "--region-set", rs, "--no-cache", "--no-progress", "--json"]
    try:
        print(f"home {home}; freezing the pool ...", flush=True)
        t_snap, snap = run([*exe, "snapshot", "create", "--region-set", rs, "--json"], env)
        pool = json.loads(snap.stdout)
        print(
            f"  snapshot create: {t_snap:.1f} s ({pool['n_queries']} queries, "
            f"{pool['n_entities']} entities)",
            flush=True,
        )

        evaluates: list[float] = []
        colds: list[float] = []
        payload: dict[str, Any] = {}
        eval_payload: dict[str, Any] = {}
        for i in range(args.repeat):
            shutil.rmtree(home / "sweeps" / "cache", ignore_errors=True)  # cold every time
            t, proc = run(sweep_cmd, env)
            colds.append(t)
            payload = json.loads(proc.stdout)
            print(f"  [{i + 1}] sweep, cold: {t:.2f} s", flush=True)
            t, proc = run(evaluate_cmd, env)
            evaluates.append(t)
            eval_payload = json.loads(proc.stdout)
            print(f"  [{i + 1}] evaluate --no-cache: {t:.2f} s", flush=True)
        t_warm, warm_proc = run(sweep_cmd, env)
        warm = json.loads(warm_proc.stdout)
        print(f"  sweep, warm: {t_warm:.2f} s", flush=True)
        dask: dict[str, Any] | None = None
        t_dask = None
        if not args.no_dask:
            t_dask, dproc = run(
                [*sweep_cmd, "--executor", "dask", "--workers", "2", "--no-mlflow"], env
            )
            dask = json.loads(dproc.stdout)
            print(f"  sweep on Dask LocalCluster: {t_dask:.2f} s", flush=True)
    finally:
        if not args.keep_home:
            shutil.rmtree(home, ignore_errors=True)

    best_eval, best_cold = min(evaluates), min(colds)
    cmp = {(c["baseline"], c["metric"]): c for c in payload["comparison"]}
    vs_seed = cmp[("baseline-seed", "ndcg_at_10")]
    vs_default = cmp[("default", "ndcg_at_10")]
    same_winner = [payload["best"]["weights_hash"] == warm["best"]["weights_hash"]]
    if dask is not None:
        same_winner.append(dask["best"]["weights_hash"] == payload["best"]["weights_hash"])
    rows = [
        ("snapshot create (once per region set; not compared)", t_snap, ""),
        (f"evaluate --region-set {rs} --no-cache -- baseline", best_eval, "1.00x"),
        (
            f"sweep, {args.trials} random trials, cold cache, MLflow on",
            best_cold,
            f"{best_eval / best_cold:.2f}x",
        ),
        (
            f"sweep, {args.trials} random trials, warm cache, MLflow on",
            t_warm,
            f"{best_eval / t_warm:.2f}x",
        ),
    ]
    if t_dask is not None:
        rows.append(
            (
                "sweep on a Dask LocalCluster (2 workers), MLflow off",
                t_dask,
                f"{best_eval / t_dask:.2f}x",
            )
        )
    width = max(len(r[0]) for r in rows)
    print()
    print(f"{'command':<{width}}  {'seconds':>8}  {'evaluate / this':>15}")
    for name, secs, ratio in rows:
        print(f"{name:<{width}}  {secs:>8.2f}  {ratio:>15}")
    sweep_timings = payload["timings"]
    print(
        f"\nsweep inside: trials {sweep_timings['trials_s']:.2f} s "
        f"({args.trials / sweep_timings['trials_s']:,.0f} trials/s, {payload['executor']}), "
        f"prepare {sweep_timings['prepare_s']:.2f} s, "
        f"MLflow {sweep_timings.get('mlflow_s', 0):.2f} s"
    )
    print(
        f"winner: trial {payload['best']['trial']}; held-out "
        f"({', '.join(payload['splits'][0]['heldout_regions'])}) "
        f"nDCG@10 {vs_seed['mean_winner']:.4f} vs baseline-seed {vs_seed['mean_baseline']:.4f} "
        f"({vs_seed['diff']:+.4f}, p={vs_seed['p_rand']:.4g}, Holm {vs_seed['p_holm']:.4g}); "
        f"vs default {vs_default['mean_baseline']:.4f} ({vs_default['diff']:+.4f})"
    )
    print(f"same winner on every run{' and on Dask' if dask else ''}: {all(same_winner)}")

    result = {
        "benchmark": "sweep",
        "region_set": rs,
        "queries": pool["n_queries"],
        "entities": pool["n_entities"],
        "trials": args.trials,
        "commands": {
            "snapshot": "underfoot-lab snapshot create --region-set " + rs,
            "baseline": "underfoot-lab evaluate --region-set " + rs + " --no-cache",
            "sweep": f"underfoot-lab sweep --region-set {rs} --trials {args.trials} "
            "--method random --seed 0",
        },
        "seconds": {
            "snapshot_create": t_snap,
            "evaluate_runs": evaluates,
            "sweep_cold_runs": colds,
            "evaluate_best": best_eval,
            "sweep_cold_best": best_cold,
            "sweep_warm": t_warm,
            "sweep_dask": t_dask,
        },
        "ratio_evaluate_over_sweep_cold": best_eval / best_cold,
        "ratio_evaluate_over_sweep_warm": best_eval / t_warm,
        "sweep_faster_than_evaluate": best_cold < best_eval,
        "sweep_internal_timings": sweep_timings,
        "executor": payload["executor"],
        "winner": {
            "trial": payload["best"]["trial"],
            "weights_hash": payload["best"]["weights_hash"],
            "tune": payload["best"]["tune"],
            "heldout": payload["best"]["heldout"],
            "heldout_regions": payload["splits"][0]["heldout_regions"],
        },
        "vs_baseline_seed_ndcg_at_10": vs_seed,
        "vs_default_ndcg_at_10": vs_default,
        "comparison": payload["comparison"],
        "evaluate_ndcg_at_10": eval_payload.get("metrics", {}).get("ndcg_at_10"),
        "same_winner_every_run": all(same_winner),
        "dask_winner_trial": None if dask is None else dask["best"]["trial"],
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
        },
        "simulated": True,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"\nwrote {RESULTS.relative_to(ROOT)}")
    return 0 if result["sweep_faster_than_evaluate"] and all(same_winner) else 1


if __name__ == "__main__":
    raise SystemExit(main())
