"""Benchmark: start-up. ``import underfoot_lab`` and a whole ``underfoot-lab search`` process,
cold (fresh ``UNDERFOOT_HOME``) and warm (the answer cached in that home), against the named
baseline ``python -c "import pandas"``, measured interleaved in the same run.

    python benchmarks/bench_startup.py [--repeat 7] [--query "hidden gems in Pikeville KY"]

Each command runs ``--repeat`` times (after one unmeasured warm-up that also writes bytecode);
the table shows medians of CPU (user + system) and wall seconds and the CPU ratio to the
baseline. Issue 15's targets: cold search <= 1.0x, warm search <= 0.6x. Writes
``benchmarks/results/startup.json``.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

from _timing import Samples, child_env, python, run_timed, verdict, write_results

TARGETS = {"search, cold (fresh home)": 1.0, "search, warm (cache hit)": 0.6}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--query", default="hidden gems in Pikeville KY")
    args = ap.parse_args()

    py = python()
    scratch = Path(tempfile.mkdtemp(prefix="bench-startup-"))
    try:
        warm_home = scratch / "warm"
        env = child_env({"UNDERFOOT_MODE": "offline"})
        search = [py, "-m", "underfoot_lab.cli", "search", args.query]
        commands: dict[str, tuple[list[str], bool]] = {
            'python -c "import pandas" -- baseline': ([py, "-c", "import pandas"], False),
            "import underfoot_lab": ([py, "-c", "import underfoot_lab"], False),
            "search, cold (fresh home)": (search, True),
            "search, warm (cache hit)": (search, False),
        }
        samples = {name: Samples() for name in commands}
        # Warm-up: bytecode written, the warm home holds the answer.
        run_timed(search, {**env, "UNDERFOOT_HOME": str(warm_home)}, cwd=scratch)
        run_timed([py, "-c", "import pandas"], env, cwd=scratch)
        for i in range(args.repeat):
            for name, (argv, cold) in commands.items():
                home = scratch / f"cold-{i}" if cold else warm_home
                cpu, wall, _ = run_timed(argv, {**env, "UNDERFOOT_HOME": str(home)}, cwd=scratch)
                samples[name].cpu.append(cpu)
                samples[name].wall.append(wall)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)

    base = samples['python -c "import pandas" -- baseline']
    rows = []
    print(f"{'command':42} {'CPU s':>7} {'wall s':>7} {'CPU / pandas':>13}  target")
    for name, s in samples.items():
        ratio = s.cpu_median / base.cpu_median
        target = TARGETS.get(name)
        mark = f"<= {target}x: {verdict(ratio, target)}" if target is not None else ""
        print(f"{name:42} {s.cpu_median:7.3f} {s.wall_median:7.3f} {ratio:12.2f}x  {mark}")
        rows.append(
            {
                "command": name,
                "cpu_s": s.cpu,
                "wall_s": s.wall,
                "cpu_median_s": s.cpu_median,
                "wall_median_s": s.wall_median,
                "cpu_ratio_to_baseline": ratio,
                "wall_ratio_to_baseline": s.wall_median / base.wall_median,
                "target": target,
            }
        )
    by_name = {r["command"]: r["cpu_ratio_to_baseline"] for r in rows}
    targets = {
        'search cold (fresh home), whole process, CPU vs python -c "import pandas" '
        "(target <= 1.0x)": by_name["search, cold (fresh home)"],
        'search warm (cache hit), whole process, CPU vs python -c "import pandas" '
        "(target <= 0.6x)": by_name["search, warm (cache hit)"],
    }
    path = write_results(
        "startup",
        {"query": args.query, "repeat": args.repeat, "rows": rows, "targets": targets},
    )
    print(f"\nwrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
