"""Benchmark: score and rank 1,000 weight vectors over a 200-query frozen pool.

    python benchmarks/bench_scoring.py [--region-set all] [--queries 200] [--vectors 1000]

In one process, on the offline world (cache off everywhere):

1. **baseline** -- one full pipeline pass over the queries: ``Pipeline.search(q,
   use_cache=False)`` for each, one after another (parse, geocode, four sources over the
   world's HTTP transport, merge, score, respond);
2. building the frozen pool of the same queries (``build_pool``: fetch with 8 queries at
   once, merge, features, world-truth judgments), writing it and loading it back;
3. scoring **and** ranking ``--vectors`` random weight vectors over the whole pool:
   ``Pool.scores`` (one matrix product, then the caps) + ``Pool.rank`` (one lexsort by query,
   score desc, id desc), in chunks of 250 vectors; the same with ``exact=True`` (the engine's
   fixed summation order, bit-identical to the pipeline); and nDCG@10 for every vector;
4. ``Pool.rescore`` for one weights file (RankedResult objects, the pipeline's own code path).

Reports the time per weight vector and its ratio to the full pipeline pass. Best of
``--repeat`` for the vectorised steps. Prints a table; writes ``benchmarks/results/scoring.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from underfoot_lab.evaluation.candidate_pools import build_pool, load_pool, write_pool
from underfoot_lab.evaluation.regions import load_region_set
from underfoot_lab.harness import build_harness
from underfoot_lab.pipeline.score.engine import WeightBatch
from underfoot_lab.pipeline.score.features import SCORED_FEATURES
from underfoot_lab.pipeline.score.weights import ScoringWeights
from underfoot_lab.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "scoring.json"
CHUNK = 250


def random_batch(n: int, seed: int) -> WeightBatch:
    """``n`` random weight vectors around the default, with a mix of caps."""
    rng = np.random.default_rng(seed)
    base = ScoringWeights.from_yaml(
        ROOT / "experiments" / "weights" / "tuned-default-world.yaml"
    ).vector()
    matrix = base[None, :] + rng.normal(0.0, 0.3, size=(n, len(SCORED_FEATURES)))
    cap = np.where(rng.random(n) < 0.5, np.inf, 1.0 + rng.random(n))
    kcap = np.where(rng.random(n) < 0.5, np.inf, 0.4)
    return WeightBatch(
        matrix=matrix,
        cap=cap,
        keyword_cap=kcap,
        threshold=np.full(n, 0.5),
        radius_km=np.full(n, np.inf),
    )


def chunks(batch: WeightBatch) -> list[WeightBatch]:
    out = []
    for a in range(0, len(batch), CHUNK):
        sl = slice(a, a + CHUNK)
        out.append(
            WeightBatch(
                batch.matrix[sl],
                batch.cap[sl],
                batch.keyword_cap[sl],
                batch.threshold[sl],
                batch.radius_km[sl],
            )
        )
    return out


def best_of(repeat: int, fn: Any) -> tuple[float, Any]:
    best = float("inf")
    out = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--region-set", default="all")
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--vectors", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    rs = load_region_set(args.region_set)
    if len(rs.queries) < args.queries:
        print(f"{rs.name} has only {len(rs.queries)} queries", file=sys.stderr)
        return 2
    rs = rs.model_copy(update={"queries": rs.queries[: args.queries]})
    texts = [q.text for q in rs.queries]

    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        settings = Settings(_env_file=None, home=home)

        # 1. The baseline: one full pipeline pass, cache off, same process.
        with build_harness(settings, use_cache=False) as harness:
            pipe = harness.pipeline
            pipe.search(texts[0])  # build providers, the gazetteer and one universe first
            t0 = time.perf_counter()
            failed = 0
            for text in texts:
                try:
                    pipe.search(text)
                except Exception:
                    failed += 1
            pipeline_s = time.perf_counter() - t0

        # 2. The pool: build, write, load.
        t0 = time.perf_counter()
        pool = build_pool(rs, settings=settings, concurrency=8)
        build_s = time.perf_counter() - t0
        path = write_pool(pool, home / "pool")
        t0 = time.perf_counter()
        load_pool(path)
        first_load_s = time.perf_counter() - t0
        load_s, pool = best_of(args.repeat, lambda: load_pool(path))
        n_total = len(pool.features)

        # 3. 1,000 weight vectors: scores + rankings (and nDCG@10).
        batch = random_batch(args.vectors, args.seed)
        parts = chunks(batch)

        def score_and_rank(exact: bool) -> int:
            n = 0
            for part in parts:
                order = pool.rank(pool.scores(part, exact=exact))
                n += order.shape[0]
            return n

        def with_ndcg() -> np.ndarray:
            return np.concatenate([pool.ndcg(pool.scores(part)) for part in parts])

        fast_s, n_done = best_of(args.repeat, lambda: score_and_rank(False))
        exact_s, _ = best_of(args.repeat, lambda: score_and_rank(True))
        ndcg_s, ndcgs = best_of(args.repeat, with_ndcg)
        assert n_done == args.vectors

        # 4. The object path for one weights file.
        default = ScoringWeights.from_yaml(
            ROOT / "experiments" / "weights" / "tuned-default-world.yaml"
        )
        rescore_s, _ = best_of(args.repeat, lambda: pool.rescore(default))

    per_vec = fast_s / args.vectors
    per_vec_exact = exact_s / args.vectors
    per_vec_ndcg = ndcg_s / args.vectors
    rows = [
        ("full pipeline pass, cache off (baseline)", pipeline_s, None, 1.0),
        ("build pool (fetch x8 concurrent + features + truth)", build_s, None, None),
        ("load pool, first time in the process", first_load_s, None, None),
        ("load pool (parquet -> arrays), warm", load_s, None, None),
        (f"score + rank {args.vectors} vectors (matmul)", fast_s, per_vec, pipeline_s / per_vec),
        (
            f"score + rank {args.vectors} vectors (exact order)",
            exact_s,
            per_vec_exact,
            pipeline_s / per_vec_exact,
        ),
        (
            f"score + rank + nDCG@10, {args.vectors} vectors",
            ndcg_s,
            per_vec_ndcg,
            pipeline_s / per_vec_ndcg,
        ),
        (
            "Pool.rescore, one weights file (RankedResults)",
            rescore_s,
            rescore_s,
            pipeline_s / rescore_s,
        ),
    ]
    print(
        f"pool: {args.queries} queries of {rs.name!r}, {n_total} entities, "
        f"{len(SCORED_FEATURES)} scored features; {failed} pipeline failures"
    )
    print(f"{'what is timed':<55} {'seconds':>9} {'per vector':>12} {'speed-up':>10}")
    for name, secs, per, ratio in rows:
        per_s = "" if per is None else f"{per * 1e3:.3f} ms"
        ratio_s = "" if ratio is None else f"{ratio:,.0f}x"
        print(f"{name:<55} {secs:>9.3f} {per_s:>12} {ratio_s:>10}")
    print(f"nDCG@10 over the random vectors: min {ndcgs.min():.4f}, max {ndcgs.max():.4f}")

    payload = {
        "benchmark": "scoring",
        "region_set": rs.name,
        "queries": args.queries,
        "entities": n_total,
        "features": len(SCORED_FEATURES),
        "vectors": args.vectors,
        "repeat": args.repeat,
        "pipeline_pass_s": pipeline_s,
        "pipeline_failures": failed,
        "build_pool_s": build_s,
        "load_pool_first_s": first_load_s,
        "load_pool_s": load_s,
        "score_rank_s": fast_s,
        "score_rank_per_vector_s": per_vec,
        "score_rank_exact_s": exact_s,
        "score_rank_exact_per_vector_s": per_vec_exact,
        "score_rank_ndcg_s": ndcg_s,
        "speedup_per_vector_vs_pipeline_pass": pipeline_s / per_vec,
        "speedup_per_vector_exact_vs_pipeline_pass": pipeline_s / per_vec_exact,
        "rescore_one_weights_s": rescore_s,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(payload, indent=2) + "\n")
    print(f"wrote {RESULTS.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
