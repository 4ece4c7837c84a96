"""Benchmark: offline concurrency. Is the ``sources`` stage as slow as its slowest source (as it
is live, where the sources wait on the network together), or as slow as their sum?

    python benchmarks/bench_sources.py [--region-set appalachia] [--queries 40]

Runs the region set's first ``--queries`` queries uncached through one offline harness and reads
each search's trace: ``sources`` (the stage) against the slowest ``sources.*`` entry (the named
baseline) and against their sum. Then the same with the world rendering on the event loop, as it
did before issue 15 (``WorldTransport`` answering inline), in a fresh harness of the same
process, for comparison. Issue 15's target: median stage / slowest source <= 1.3x. Writes
``benchmarks/results/sources.json``.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from _timing import verdict, write_results

from underfoot_lab.evaluation.regions import load_region_set
from underfoot_lab.harness import build_harness
from underfoot_lab.settings import Settings
from underfoot_lab.world.transport import WorldTransport

TARGET = 1.3


@contextmanager
def rendering_on_the_loop() -> Iterator[None]:
    """The world answering inline on the event loop (the behaviour before issue 15)."""
    original = WorldTransport.handle_async_request

    async def inline(self: WorldTransport, request: Any) -> Any:
        return self._respond(request)

    WorldTransport.handle_async_request = inline  # type: ignore[method-assign]
    try:
        yield
    finally:
        WorldTransport.handle_async_request = original  # type: ignore[method-assign]


def measure(texts: list[str], home: Path) -> dict[str, Any]:
    """Per search: the sources stage, its slowest source and the sum of its sources (ms)."""
    rows = []
    settings = Settings(_env_file=None, home=home, mode="offline")
    with build_harness(settings, use_cache=False) as harness:
        for text in texts:
            result = harness.pipeline.search(text)
            stage = next(t.elapsed_ms for t in result.trace if t.stage == "sources")
            per = [t.elapsed_ms for t in result.trace if t.stage.startswith("sources.")]
            rows.append(
                {"query": text, "stage_ms": stage, "slowest_ms": max(per), "sum_ms": sum(per)}
            )
    return {
        "rows": rows,
        "median_stage_over_slowest": statistics.median(
            r["stage_ms"] / r["slowest_ms"] for r in rows
        ),
        "median_stage_over_sum": statistics.median(r["stage_ms"] / r["sum_ms"] for r in rows),
        "total_stage_ms": sum(r["stage_ms"] for r in rows),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--region-set", default="appalachia")
    ap.add_argument("--queries", type=int, default=40)
    args = ap.parse_args()
    texts = [q.text for q in load_region_set(args.region_set).queries][: args.queries]
    with tempfile.TemporaryDirectory(prefix="bench-sources-") as tmp:
        now = measure(texts, Path(tmp) / "now")
        with rendering_on_the_loop():
            before = measure(texts, Path(tmp) / "before")
    ratio = now["median_stage_over_slowest"]
    print(f"{len(texts)} uncached searches of region set {args.region_set!r}, offline world")
    print(f"{'world rendering':30} {'stage / slowest source':>23} {'stage / sum of sources':>23}")
    for name, m in (("off the loop (now)", now), ("on the loop (before)", before)):
        print(
            f"{name:30} {m['median_stage_over_slowest']:22.2f}x {m['median_stage_over_sum']:22.2f}x"
        )
    print(f"\ntarget: sources stage <= {TARGET}x the slowest source: {verdict(ratio, TARGET)}")
    path = write_results(
        "sources",
        {
            "region_set": args.region_set,
            "queries": len(texts),
            "now": now,
            "before": before,
            "targets": {
                "sources stage offline vs its slowest source, median (target <= 1.3x)": ratio
            },
        },
    )
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
