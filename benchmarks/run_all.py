"""Run every benchmark in this folder, one after another (``make bench``).

Each benchmark measures its own named baseline in the same run and writes JSON to
``benchmarks/results/``; this script only runs them and reports which failed.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent


def main() -> int:
    failed = []
    for script in sorted(HERE.glob("bench_*.py")):
        print(f"\n=== {script.name} ===", flush=True)
        if subprocess.run([sys.executable, str(script)], check=False).returncode != 0:
            failed.append(script.name)
    if failed:
        print(f"\nfailed: {', '.join(failed)}")
        return 1
    print("\nall benchmarks ran; results in benchmarks/results/")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
