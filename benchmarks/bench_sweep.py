"""Benchmark: a 10,000-trial random weight sweep against one uncached evaluation pass.

    python benchmarks/bench_sweep.py [--region-set all] [--trials 10000] [--repeat 2] [--dask]

Whole CLI commands in subprocesses, in one ``UNDERFOOT_HOME`` (offline world; MLflow logs to
its SQLite store in that home), measured with ``_timing.run_timed`` (CPU = the children's user +
system time, workers included; wall time), interleaved, medians:

0. ``underfoot-lab snapshot create --region-set all`` -- freeze the pool (once, timed apart: it
   is done once per region set and world), then one unmeasured warm-up run of each command
   below (bytecode written; the home's derived data -- universes, per-entity domain values,
   the MLflow store's schema -- filled, as in a user's home);
1. **baseline** -- ``underfoot-lab evaluate --region-set all --no-cache --no-progress --json``:
   one full pipeline pass over every query, cache off, with the report and MLflow logging;
2. ``underfoot-lab sweep --region-set all --trials 10000 --method random --seed 0 --no-write
   --json`` on the frozen pool (MLflow logging included: parent run, trials table, Pareto figure,
   child runs, held-out comparison); the winner is not written.

Issue 15's target: the sweep < 1.0x the evaluate pass (CPU and wall are both printed; CPU is the
figure compared, since other jobs on a shared machine inflate wall time). ``--dask`` adds one
sweep on a Dask ``LocalCluster`` (2 workers, ``--no-mlflow``) that must pick the same winner.
Writes ``benchmarks/results/sweep.json``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

from _timing import Samples, child_env, python, run_timed, verdict, write_results

TARGET = 1.0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--region-set", default="all")
    ap.add_argument("--trials", type=int, default=10000)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--dask", action="store_true", help="also run the sweep on Dask (2 workers)")
    ap.add_argument("--keep-home", action="store_true", help="keep the temporary home")
    args = ap.parse_args()

    home = Path(tempfile.mkdtemp(prefix="underfoot-bench-sweep-"))
    env = child_env({"UNDERFOOT_HOME": str(home), "UNDERFOOT_MODE": "offline"})
    env.pop("MLFLOW_TRACKING_URI", None)
    exe = [python(), "-m", "underfoot_lab.cli"]
    rs = args.region_set
    sweep_cmd = [
        *exe, "sweep", "--region-set", rs, "--trials", str(args.trials), "--method", "random",
        "--seed", "0", "--no-write", "--json",
    ]  # fmt: skip
    evaluate_cmd = [*exe, "evaluate", "--region-set", rs, "--no-cache", "--no-progress", "--json"]
    samples = {"evaluate": Samples(), "sweep": Samples()}
    payload: dict[str, Any] = {}
    dask: dict[str, Any] | None = None
    try:
        print(f"home {home}; freezing the pool ...", flush=True)
        snap_cpu, snap_wall, snap = run_timed(
            [*exe, "snapshot", "create", "--region-set", rs, "--json"], env, cwd=home
        )
        pool = json.loads(snap.stdout)
        print(
            f"  snapshot create: {snap_cpu:.1f} s CPU ({pool['n_queries']} queries, "
            f"{pool['n_entities']} entities); warming up ...",
            flush=True,
        )
        run_timed(sweep_cmd, env, cwd=home)
        run_timed(evaluate_cmd, env, cwd=home)
        for i in range(args.repeat):
            for name, cmd in (("evaluate", evaluate_cmd), ("sweep", sweep_cmd)):
                cpu, wall, proc = run_timed(cmd, env, cwd=home)
                samples[name].cpu.append(cpu)
                samples[name].wall.append(wall)
                if name == "sweep":
                    payload = json.loads(proc.stdout)
                print(f"  [{i + 1}] {name}: {cpu:.2f} s CPU, {wall:.2f} s wall", flush=True)
        if args.dask:
            _, t_dask, dproc = run_timed(
                [*sweep_cmd, "--executor", "dask", "--workers", "2", "--no-mlflow"], env, cwd=home
            )
            dask = json.loads(dproc.stdout)
            print(f"  sweep on a Dask LocalCluster: {t_dask:.2f} s wall", flush=True)
    finally:
        if not args.keep_home:
            shutil.rmtree(home, ignore_errors=True)

    ev, sw = samples["evaluate"], samples["sweep"]
    cpu_ratio = sw.cpu_median / ev.cpu_median
    wall_ratio = sw.wall_median / ev.wall_median
    print(f"\nmedians of {args.repeat}")
    print(f"{'command':70} {'CPU s':>8} {'wall s':>8}")
    print(f"{f'evaluate --region-set {rs} --no-cache (baseline)':70} {ev.cpu_median:8.2f} "
          f"{ev.wall_median:8.2f}")  # fmt: skip
    print(f"{f'sweep --region-set {rs} --trials {args.trials} --method random --no-write':70} "
          f"{sw.cpu_median:8.2f} {sw.wall_median:8.2f}")  # fmt: skip
    t = payload["timings"]
    print(
        f"\nsweep inside (last run, wall): trials {t['trials_s']:.2f} s "
        f"({args.trials / t['trials_s']:,.0f} trials/s, {payload['executor']}), pool "
        f"{t['pool_s']:.2f} s, prepare {t['prepare_s']:.2f} s, significance "
        f"{t['significance_s']:.2f} s, MLflow {t.get('mlflow_s', 0):.2f} s"
    )
    same = dask is None or dask["best"]["weights_hash"] == payload["best"]["weights_hash"]
    if dask is not None:
        print(f"same winner on Dask: {same}")
    print(
        f"\nsweep / evaluate: CPU {cpu_ratio:.2f}x, wall {wall_ratio:.2f}x; "
        f"target < {TARGET}x: {verdict(cpu_ratio, TARGET - 1e-9)}"
    )
    path = write_results(
        "sweep",
        {
            "region_set": rs,
            "queries": pool["n_queries"],
            "entities": pool["n_entities"],
            "trials": args.trials,
            "repeat": args.repeat,
            "commands": {"baseline": evaluate_cmd[2:], "sweep": sweep_cmd[2:]},
            "snapshot_create": {"cpu_s": snap_cpu, "wall_s": snap_wall},
            "samples": {n: {"cpu_s": s.cpu, "wall_s": s.wall} for n, s in samples.items()},
            "cpu_ratio": cpu_ratio,
            "wall_ratio": wall_ratio,
            "sweep_internal_timings": t,
            "executor": payload["executor"],
            "winner_trial": payload["best"]["trial"],
            "same_winner_on_dask": None if dask is None else same,
            "target": TARGET,
            "targets": {
                f"sweep --trials {args.trials} --method random --no-write, CPU vs one uncached "
                f"evaluate pass (target <= {TARGET}x)": cpu_ratio
            },
            "simulated": True,
        },
    )
    print(f"wrote {path}")
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
