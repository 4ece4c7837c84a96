"""Benchmark: ``underfoot-lab evaluate --region-set all --no-cache --no-mlflow``, whole process,
this checkout against the same command at commit b80a03f (before issue 15's work; the named
baseline), interleaved in the same run.

    python benchmarks/bench_evaluate.py [--repeat 2] [--region-set all] [--base b80a03f]

The baseline's code comes from a temporary ``git worktree`` of ``--base`` (removed afterwards),
run through ``PYTHONPATH`` by a throwaway venv that sees this venv's packages (a ``.pth`` line)
and adds only what the baseline's ``pyproject.toml`` requires and this venv lacks (the baseline
still imported ``pydantic_settings`` and ``tenacity``, dropped since), so both sides run on the
same library versions wherever the baseline allows them. Each side has its own ``UNDERFOOT_HOME``
kept across its runs (as a user's home is), after one unmeasured warm-up run each (bytecode
written; derived-data caches filled where the code has them). Medians of CPU and wall seconds.
Issue 15's target: <= 0.33x. Writes ``benchmarks/results/evaluate.json``.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sysconfig
import tempfile
import tomllib
from pathlib import Path

from _timing import ROOT, Samples, child_env, python, run_timed, verdict, write_results

TARGET = 0.33


def baseline_python(base_tree: Path, scratch: Path) -> str:
    """An interpreter for the baseline's code: a venv layered over this one (its packages on
    ``sys.path`` after the venv's own), plus the baseline's missing requirements from PyPI."""
    venv = scratch / "base-venv"
    subprocess.run([python(), "-m", "venv", "--without-pip", str(venv)], check=True)
    bin_python = venv / "bin" / "python"
    purelib = subprocess.run(
        [str(bin_python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    # Appended after the venv's own site-packages: what pip installs there wins.
    Path(purelib, "_this_venv.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    with open(base_tree / "pyproject.toml", "rb") as f:
        requirements = tomllib.load(f)["project"]["dependencies"]
    # pip skips every requirement the layered venv already satisfies.
    pip = [python(), "-m", "pip", "--python", str(bin_python), "install", "-q", *requirements]
    done = subprocess.run(pip, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"installing {base_tree.name}'s requirements failed: {done.stderr[-400:]}")
    return str(bin_python)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--region-set", default="all")
    ap.add_argument("--base", default="b80a03f")
    args = ap.parse_args()

    scratch = Path(tempfile.mkdtemp(prefix="bench-evaluate-"))
    base_tree = scratch / "base"
    subprocess.run(
        ["git", "-C", str(ROOT), "worktree", "add", "--detach", str(base_tree), args.base],
        check=True,
        capture_output=True,
    )
    argv = [
        "-m",
        "underfoot_lab.cli",
        "evaluate",
        "--region-set",
        args.region_set,
        "--no-cache",
        "--no-mlflow",
    ]
    samples: dict[str, Samples] = {}
    try:
        sides = {
            f"{args.base} (baseline)": (
                baseline_python(base_tree, scratch),
                child_env({"UNDERFOOT_MODE": "offline"}, pythonpath=base_tree),
            ),
            "this checkout": (python(), child_env({"UNDERFOOT_MODE": "offline"})),
        }
        samples = {name: Samples() for name in sides}
        for i, (_, env) in enumerate(sides.values()):
            env["UNDERFOOT_HOME"] = str(scratch / f"home-{i}")
            env["UNDERFOOT_DATA_DIR"] = str(ROOT / "data")  # the same region sets for both
        for interpreter, env in sides.values():
            run_timed([interpreter, *argv], env, cwd=scratch)  # warm-up
        for _ in range(args.repeat):
            for name, (interpreter, env) in sides.items():
                cpu, wall, _ = run_timed([interpreter, *argv], env, cwd=scratch)
                samples[name].cpu.append(cpu)
                samples[name].wall.append(wall)
    finally:
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(base_tree)],
            check=False,
            capture_output=True,
        )
        shutil.rmtree(scratch, ignore_errors=True)

    base = samples[f"{args.base} (baseline)"]
    now = samples["this checkout"]
    ratio = now.cpu_median / base.cpu_median
    print(f"`{' '.join(argv[1:])}`, medians of {args.repeat}")
    print(f"{'code':24} {'CPU s':>8} {'wall s':>8}")
    for name, s in samples.items():
        print(f"{name:24} {s.cpu_median:8.2f} {s.wall_median:8.2f}")
    print(
        f"\nthis / baseline: CPU {ratio:.2f}x, wall {now.wall_median / base.wall_median:.2f}x; "
        f"target <= {TARGET}x: {verdict(ratio, TARGET)}"
    )
    path = write_results(
        "evaluate",
        {
            "command": argv[1:],
            "base": args.base,
            "repeat": args.repeat,
            "samples": {n: {"cpu_s": s.cpu, "wall_s": s.wall} for n, s in samples.items()},
            "cpu_ratio": ratio,
            "wall_ratio": now.wall_median / base.wall_median,
            "target": TARGET,
            "targets": {
                f"evaluate --region-set {args.region_set} --no-cache --no-mlflow, CPU vs the "
                f"same at {args.base} (target <= {TARGET}x)": ratio
            },
        },
    )
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
