"""Run every benchmark in this folder, one after another (``make bench``), then print every
issue-15 target as a ratio against its named baseline.

Each benchmark measures its own named baseline in the same run and writes JSON to
``benchmarks/results/``; those with targets put them under ``"targets"`` (a name that states
the baseline and the target -> the measured ratio), which this script gathers at the end.

    python benchmarks/run_all.py              # everything
    python benchmarks/run_all.py startup sources   # only bench_startup.py and bench_sources.py
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent
RESULTS = HERE / "results"
_TARGET = re.compile(r"\(target ([<>]=) ([0-9.]+)x\)")


def verdict(name: str, ratio: float) -> str:
    """``met`` / ``NOT met`` from the "(target <= 0.6x)" part of a target's name."""
    m = _TARGET.search(name)
    if m is None:
        return ""
    op, bound = m.group(1), float(m.group(2))
    return "met" if (ratio <= bound if op == "<=" else ratio >= bound) else "NOT met"


def main(only: list[str]) -> int:
    failed = []
    scripts = sorted(HERE.glob("bench_*.py"))
    if only:
        scripts = [s for s in scripts if s.stem.removeprefix("bench_") in only]
    for script in scripts:
        print(f"\n=== {script.name} ===", flush=True)
        if subprocess.run([sys.executable, str(script)], check=False).returncode != 0:
            failed.append(script.name)
    print("\n=== targets (ours / named baseline, same run) ===")
    for path in sorted(RESULTS.glob("*.json")):
        targets = json.loads(path.read_text(encoding="utf-8")).get("targets") or {}
        for name, ratio in targets.items():
            print(f"{path.stem:9} {ratio:7.2f}x  {verdict(name, ratio):8} {name}")
    if failed:
        print(f"\nfailed: {', '.join(failed)}")
        return 1
    print("\nall benchmarks ran; results in benchmarks/results/")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
