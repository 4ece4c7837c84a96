"""Cache benchmark: a repeated search (memory and SQLite hits) against a fresh one.

Baseline: the uncached search of the same query in the same process and run. Reports medians
over repeats and the ratios baseline / hit. The foundation issue asks for a memory hit at least
20x faster than the miss, in-process.

    .venv/bin/python benchmarks/bench_cache.py [--repeats 15]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from underfoot_lab.harness import build_harness
from underfoot_lab.settings import Settings

QUERIES = (
    "hidden gems in Pikeville KY",
    "weird stuff to do in Bisbee, AZ",
    "secret swimming holes around Ely, MN",
)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeats", type=int, default=15)
    ap.add_argument("--out", default="benchmarks/results/cache.json")
    args = ap.parse_args()
    home = Path(tempfile.mkdtemp(prefix="uf-bench-cache-"))
    settings = Settings(_env_file=None, home=home)  # type: ignore[call-arg]
    rows = []
    with build_harness(settings) as harness:
        pipe = harness.pipeline
        pipe.search("Marfa TX", use_cache=False)  # warm: gazetteer, world, imports
        for q in QUERIES:
            miss, mem, sql = [], [], []
            for i in range(args.repeats):
                pipe.cache.clear()
                t = time.perf_counter()
                r = pipe.search(q)
                miss.append(time.perf_counter() - t)
                assert r.cache.status == "miss"
                t = time.perf_counter()
                r = pipe.search(q)
                mem.append(time.perf_counter() - t)
                assert r.cache.status == "hit-memory"
                pipe.cache.memory.clear()
                t = time.perf_counter()
                r = pipe.search(q)
                sql.append(time.perf_counter() - t)
                assert r.cache.status == "hit-sqlite", i
            m, h, s = (statistics.median(x) * 1000 for x in (miss, mem, sql))
            rows.append(
                {
                    "query": q,
                    "miss_ms": m,
                    "hit_memory_ms": h,
                    "hit_sqlite_ms": s,
                    "miss_over_memory": m / h,
                    "miss_over_sqlite": m / s,
                }
            )
    print(
        f"{'query':40} {'miss ms':>9} {'mem ms':>8} {'sqlite ms':>9} {'x mem':>7} {'x sqlite':>8}"
    )
    for r in rows:
        print(
            f"{r['query'][:40]:40} {r['miss_ms']:9.2f} {r['hit_memory_ms']:8.3f} "
            f"{r['hit_sqlite_ms']:9.3f} {r['miss_over_memory']:7.0f} {r['miss_over_sqlite']:8.1f}"
        )
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        json.dumps({"baseline": "uncached search, same process", "rows": rows}, indent=2)
    )
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
