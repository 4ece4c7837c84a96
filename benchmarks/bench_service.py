"""Benchmark: the search as a service (``underfoot-lab serve``, offline world) against the HTTP
floor (``_floor_app.py``: a bare FastAPI app under uvicorn answering one fixed body) in the same
run, beside production's published targets (cold start < 100 ms, response < 200 ms, cache hit
rate > 80 %; ``../shared/seed-system.md``).

    python benchmarks/bench_service.py [--repeat 3] [--requests 200] [--concurrency 8]
                                       [--repeat-ratio 0.8] [--region-set all]

Each repeat starts both servers afresh (the service with a fresh ``UNDERFOOT_HOME`` and no rate
limit) and measures, client-side over loopback:

- **start**: wall time from spawning the process to the first 200 from ``/health``;
- **first search**: one search right after start, nothing cached;
- **load, fresh home**: ``underfoot-lab load``'s plan (``--requests`` requests, ``--concurrency``
  in flight, ``--repeat-ratio`` of them repeating an earlier query of ``--region-set``), with
  latency split by the answer's cache state;
- **load, warm**: the same plan again (every answer cached).

Medians over repeats. The floor answers every plan too, so "over the floor" is what the search
adds to the framework. The world is simulated: a live search adds upstream round trips to
every miss. Writes ``benchmarks/results/service.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import socket
import statistics
import subprocess
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx
from _timing import child_env, python, write_results

from underfoot_lab.evaluation.regions import load_region_set
from underfoot_lab.service.load import LoadReport, percentile, plan_queries, run_load

HERE = Path(__file__).resolve().parent
PRODUCTION = {"start_ms": 100.0, "response_ms": 200.0, "cache_hit_rate": 0.80}
"""Production's published targets (seed-system.md), a reference rather than a same-run baseline."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """One server process on a free loopback port, timed from spawn to its first healthy answer."""

    def __init__(self, argv: Sequence[str], env: dict[str, str], cwd: Path) -> None:
        """``argv`` without the port: the free port found here is appended."""
        self.port = free_port()
        argv = [*argv, str(self.port)]
        self.base = f"http://127.0.0.1:{self.port}"
        started = time.perf_counter()
        # stderr to a file, not a pipe: a server logging into a pipe nobody reads blocks once
        # the pipe's buffer is full.
        self.log = cwd / f"server-{self.port}.log"
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(argv, env=env, cwd=cwd, stdout=log, stderr=log)
        deadline = started + 120
        with httpx.Client(timeout=1.0) as client:
            while True:
                if self.proc.poll() is not None:
                    err = self.log.read_text(encoding="utf-8", errors="replace")
                    raise SystemExit(f"{argv[:4]} exited {self.proc.returncode}: {err[-400:]}")
                try:
                    if client.get(f"{self.base}/health").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.perf_counter() > deadline:
                    self.stop()
                    raise SystemExit(f"{argv[:4]} did not answer /health within 120 s")
                time.sleep(0.005)
        self.start_ms = (time.perf_counter() - started) * 1000

    def first_search_ms(self, query: str) -> float:
        with httpx.Client(timeout=60.0) as client:
            t = time.perf_counter()
            resp = client.post(f"{self.base}/underfoot/search", json={"chat_input": query})
            elapsed = (time.perf_counter() - t) * 1000
        if resp.status_code != 200:
            raise SystemExit(f"first search answered {resp.status_code}: {resp.text[:200]}")
        return elapsed

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def latencies(report: LoadReport, cache: str | None) -> list[float]:
    """Client-measured ms of valid answers in ``cache`` state (None: every valid answer)."""
    return [
        o.elapsed_ms
        for o in report.outcomes
        if o.error is None and (cache is None or o.cache == cache)
    ]


def summary(report: LoadReport) -> dict[str, Any]:
    if report.ok != len(report.outcomes):
        raise SystemExit(f"{report.target}: {report.errors} (a benchmark needs every answer)")
    out: dict[str, Any] = {"cache_hit_rate": report.cache_hit_rate, "rps": report.throughput_rps}
    for label, state in (("all", None), ("miss", "miss"), ("hit", "hit")):
        xs = latencies(report, state)
        out[label] = {"n": len(xs), "p50": percentile(xs, 50), "p95": percentile(xs, 95)}
    return out


def median_of(values: Sequence[float | None]) -> float | None:
    xs = [v for v in values if v is not None]
    return statistics.median(xs) if xs else None


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--requests", type=int, default=200)
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--repeat-ratio", type=float, default=0.8)
    ap.add_argument("--region-set", default="all")
    args = ap.parse_args()

    region_set = load_region_set(args.region_set, validate_places=False)
    plan = plan_queries([q.text for q in region_set.queries], args.requests, args.repeat_ratio)
    scratch = Path(tempfile.mkdtemp(prefix="bench-service-"))
    base_env = child_env({"UNDERFOOT_MODE": "offline", "UNDERFOOT_SERVICE_RATE_LIMIT_PER_S": "0"})
    sides = {"floor (bare FastAPI)": "floor", "underfoot-lab serve": "service"}
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in sides}

    def load() -> LoadReport:
        return asyncio.run(
            run_load(server.base, plan, concurrency=args.concurrency, region_set=region_set.name)
        )

    try:
        for i in range(args.repeat + 1):  # the first round is an unmeasured warm-up (bytecode)
            for name, kind in sides.items():
                env = {**base_env, "UNDERFOOT_HOME": str(scratch / f"home-{kind}-{i}")}
                port_argv: list[str]
                if kind == "floor":
                    port_argv = [python(), str(HERE / "_floor_app.py")]
                else:
                    port_argv = [python(), "-m", "underfoot_lab.cli", "serve", "--port"]
                server = Server(port_argv, env, scratch)
                try:
                    row: dict[str, Any] = {"start_ms": server.start_ms}
                    row["first_search_ms"] = server.first_search_ms(plan[0])
                    row["fresh"] = summary(load())
                    row["warm"] = summary(load())
                finally:
                    server.stop()
                if i:
                    runs[name].append(row)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)

    def med(name: str, *path: str) -> float | None:
        values = []
        for row in runs[name]:
            v: Any = row
            for key in path:
                v = v[key]
            values.append(v)
        return median_of(values)

    rows = [
        ("start (spawn -> /health 200), ms", ("start_ms",), "start_ms"),
        ("first search after start, ms", ("first_search_ms",), "response_ms"),
        ("load, fresh home: P50 ms, all answers", ("fresh", "all", "p50"), None),
        ("load, fresh home: P95 ms, all answers", ("fresh", "all", "p95"), "response_ms"),
        ("load, fresh home: P95 ms, misses", ("fresh", "miss", "p95"), "response_ms"),
        ("load, fresh home: P95 ms, hits", ("fresh", "hit", "p95"), "response_ms"),
        ("load, fresh home: cache hit rate", ("fresh", "cache_hit_rate"), "cache_hit_rate"),
        ("load, warm: P50 ms", ("warm", "all", "p50"), None),
        ("load, warm: P95 ms", ("warm", "all", "p95"), "response_ms"),
        ("load, warm: requests/s", ("warm", "rps"), None),
    ]
    floor_name, ours_name = list(sides)
    print(
        f"{args.requests} requests, concurrency {args.concurrency}, repeat ratio "
        f"{args.repeat_ratio}, region set {region_set.name} ({len(region_set.queries)} queries); "
        f"offline world (simulated); medians of {args.repeat} fresh starts each"
    )
    print(f"{'what':42} {'floor':>9} {'serve':>9} {'/ floor':>8}  production's published target")
    table = []
    for label, path, target_key in rows:
        floor, ours = med(floor_name, *path), med(ours_name, *path)
        # The floor answers "hit" to everything: a ratio of hit rates would mean nothing.
        comparable = target_key != "cache_hit_rate"
        ratio = ours / floor if comparable and ours is not None and floor else None
        target = PRODUCTION.get(target_key) if target_key else None
        note = ""
        if target is not None and ours is not None:
            meets = ours >= target if target_key == "cache_hit_rate" else ours < target
            sign = ">" if target_key == "cache_hit_rate" else "<"
            note = (
                f"{sign} {target:g}: {'within' if meets else 'above' if sign == '<' else 'below'}"
            )
        print(
            f"{label:42} {_fmt(floor):>9} {_fmt(ours):>9} "
            f"{'-' if ratio is None else f'{ratio:.2f}x':>8}  {note}"
        )
        table.append(
            {"what": label, "floor": floor, "serve": ours, "ratio": ratio, "production": target}
        )
    print(
        "\nthe fresh-home hit rate follows from the plan (repeat ratio, queries, plan length),"
        " not from the service"
    )
    path = write_results(
        "service",
        {
            "requests": args.requests,
            "concurrency": args.concurrency,
            "repeat_ratio": args.repeat_ratio,
            "region_set": region_set.name,
            "repeat": args.repeat,
            "production_targets": PRODUCTION,
            "table": table,
            "runs": runs,
        },
    )
    print(f"wrote {path}")
    return 0


def _fmt(v: float | None) -> str:
    if v is None:
        return "-"
    return f"{v:.2f}" if v < 1 else f"{v:.1f}"


if __name__ == "__main__":
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    raise SystemExit(main())
