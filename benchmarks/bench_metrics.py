"""Benchmark: nDCG@10, P@10, AP, RR, R@100 over 10,000 queries x 100 candidates, ours vs
pytrec_eval (the same five measures on both sides, in process and as whole processes).

    python benchmarks/bench_metrics.py [--queries 10000] [--candidates 100] [--repeat 3]

Generates (seeded) a run and graded qrels as pandas tables with string ids, then times, in the
same process:

* ``ours: evaluate``   -- ``measures.evaluate`` straight from the tables, id conversion included;
* ``pytrec_eval: total`` -- building pytrec_eval's nested dicts from the same tables, then
  ``RelevanceEvaluator(...)`` + ``evaluate`` (the named baseline);
* ``pytrec_eval: evaluator only`` -- the same without the dict building;
* ``ours: evaluate (from the same dicts)`` -- like for like with the line above;
* ``ours: dense_scores`` -- the sweep path on pre-converted arrays (``prepare`` is a one-off,
  reported separately);
* ``ranx`` -- if installed (it usually is not; skipped).

Each timing is the median CPU time (``time.process_time``; children's user + system for the
whole processes) of ``--repeat`` runs. Values are checked to agree (pytrec_eval to 1e-12,
dense path bit for bit). Prints a table and writes ``benchmarks/results/metrics.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from underfoot_lab.evaluation.metrics.dense import dense_scores, prepare
from underfoot_lab.evaluation.metrics.kernel import evaluate

# The same five measures on every side (the whole-process comparison and the in-process one).
MEASURES = ["nDCG@10", "P@10", "AP", "RR", "R@100"]
PYTREC_MEASURES = {"ndcg_cut.10", "P.10", "map", "recip_rank", "recall.100"}
PYTREC_KEYS = {
    "nDCG@10": "ndcg_cut_10",
    "P@10": "P_10",
    "AP": "map",
    "RR": "recip_rank",
    "R@100": "recall_100",
}
RESULTS = Path(__file__).resolve().parent / "results" / "metrics.json"


def make_tables(n_queries: int, n_candidates: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A run (every query has ``n_candidates`` docs, scores rounded so ties occur) and qrels
    (about a third of the candidates judged 0-3, plus two relevant docs the run missed)."""
    rng = np.random.default_rng(seed)
    n = n_queries * n_candidates
    qids = np.repeat([f"q{i:05d}" for i in range(n_queries)], n_candidates)
    doc_numbers = rng.choice(2**40, size=n, replace=False)
    docids = np.array([f"doc-{x:010x}" for x in doc_numbers.tolist()], dtype=object)
    scores = np.round(rng.normal(10.0, 2.0, n), 2)
    run = pd.DataFrame({"qid": qids, "docid": docids, "score": scores})

    judged = rng.random(n) < 0.35
    grades = rng.choice(4, size=int(judged.sum()), p=[0.55, 0.25, 0.12, 0.08])
    extra_q = np.repeat([f"q{i:05d}" for i in range(n_queries)], 2)
    extra_docs = [f"unretrieved-{i}" for i in range(extra_q.size)]
    qrels = pd.DataFrame(
        {
            "qid": np.concatenate([qids[judged], extra_q]),
            "docid": np.concatenate([docids[judged], np.array(extra_docs, dtype=object)]),
            "grade": np.concatenate([grades, rng.integers(1, 4, extra_q.size)]),
        }
    )
    return qrels, run


def best_of(repeat: int, fn: Callable[[], Any]) -> tuple[float, list[float], Any]:
    times: list[float] = []
    result: Any = None
    for _ in range(repeat):
        start = time.process_time()  # CPU time: a shared machine inflates it far less than wall
        result = fn()
        times.append(time.process_time() - start)
    return min(times), times, result


def pytrec_dicts(
    qrels: pd.DataFrame, run: pd.DataFrame
) -> tuple[dict[str, dict[str, int]], dict[str, dict[str, float]]]:
    """The idiomatic conversion: one pass over the columns as Python lists."""
    qrels_dict: dict[str, dict[str, int]] = {}
    for q, d, g in zip(
        qrels["qid"].tolist(), qrels["docid"].tolist(), qrels["grade"].tolist(), strict=True
    ):
        qrels_dict.setdefault(q, {})[d] = int(g)
    run_dict: dict[str, dict[str, float]] = {}
    for q, d, s in zip(
        run["qid"].tolist(), run["docid"].tolist(), run["score"].tolist(), strict=True
    ):
        run_dict.setdefault(q, {})[d] = float(s)
    return qrels_dict, run_dict


def expected_ndcg(result: Any, qids: tuple[str, ...]) -> np.ndarray:
    return np.array([result.per_query[q]["nDCG@10"] for q in qids])


PYTREC_SCRIPT = """
import sys, pytrec_eval
with open(sys.argv[1]) as f: qrels = pytrec_eval.parse_qrel(f)
with open(sys.argv[2]) as f: run = pytrec_eval.parse_run(f)
measures = {"ndcg_cut.10", "P.10", "map", "recip_rank", "recall.100"}
result = pytrec_eval.RelevanceEvaluator(qrels, measures).evaluate(run)
print(len(result))
"""
CLI_MEASURES = MEASURES


def cpu_seconds(command: list[str]) -> float:
    """CPU time (user + system) of one child process: robust on a shared machine."""
    import subprocess

    child = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(child.pid, 0)
    if status != 0:
        raise RuntimeError(f"{command} exited with status {status}")
    return float(usage.ru_utime + usage.ru_stime)


def whole_process(args: argparse.Namespace, qrels: pd.DataFrame, run: pd.DataFrame) -> Any:
    """`underfoot-lab metrics` on TREC files vs a pytrec_eval script (parse + evaluate), both
    as whole processes, CPU medians of ``--repeat`` alternating runs.

    The package's bytecode is compiled first, as an installed package's is: with
    ``PYTHONDONTWRITEBYTECODE`` set (or a stale ``__pycache__``) every run would otherwise
    compile the modules it imports again, which is not the command's cost."""
    import compileall
    import tempfile

    import underfoot_lab

    compileall.compile_dir(Path(underfoot_lab.__file__).parent, quiet=1)

    from underfoot_lab.evaluation.metrics.trec import read_trec_pair

    with tempfile.TemporaryDirectory() as tmp:
        qrels_path, run_path = Path(tmp) / "qrels.txt", Path(tmp) / "run.txt"
        with qrels_path.open("w") as handle:
            for q, d, g in zip(qrels["qid"], qrels["docid"], qrels["grade"], strict=True):
                handle.write(f"{q} 0 {d} {g}\n")
        with run_path.open("w") as handle:
            for i, (q, d, s) in enumerate(zip(run["qid"], run["docid"], run["score"], strict=True)):
                handle.write(f"{q} Q0 {d} {i % args.candidates + 1} {s!r} bench\n")
        script = Path(tmp) / "pytrec_script.py"
        script.write_text(PYTREC_SCRIPT)
        ours_cmd = [sys.executable, "-m", "underfoot_lab.cli", "metrics", str(qrels_path)]
        ours_cmd += [str(run_path), *(x for m in CLI_MEASURES for x in ("-m", m))]
        theirs_cmd = [sys.executable, str(script), str(qrels_path), str(run_path)]
        ours, theirs = [], []
        for _ in range(args.repeat):
            theirs.append(cpu_seconds(theirs_cmd))
            ours.append(cpu_seconds(ours_cmd))
        tables = read_trec_pair(qrels_path, run_path)
        times = []
        for _ in range(args.repeat):
            start = time.process_time()
            evaluate(*tables, CLI_MEASURES)
            times.append(time.process_time() - start)
    return {
        "timings": {
            "whole process: pytrec_eval script (parse + evaluate), CPU": {
                "seconds": statistics.median(theirs),
                "runs": theirs,
            },
            "whole process: underfoot-lab metrics, 5 measures, CPU": {
                "seconds": statistics.median(ours),
                "runs": ours,
            },
            "ours: evaluate from parsed TREC tables, 5 measures": {
                "seconds": statistics.median(times),
                "runs": times,
            },
        }
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--queries", type=int, default=10_000)
    parser.add_argument("--candidates", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)

    import pytrec_eval

    wall = time.perf_counter()
    qrels, run = make_tables(args.queries, args.candidates, args.seed)
    timings: dict[str, dict[str, Any]] = {}

    def record(name: str, fn: Callable[[], Any]) -> Any:
        _best, times, result = best_of(args.repeat, fn)
        timings[name] = {"seconds": statistics.median(times), "runs": times}
        return result

    ours = record(
        "ours: evaluate (from tables, ids included)", lambda: evaluate(qrels, run, MEASURES)
    )
    qrels_dict, run_dict = record(
        "pytrec_eval: build dicts from tables", lambda: pytrec_dicts(qrels, run)
    )

    def pytrec_only() -> dict[str, dict[str, float]]:
        evaluator = pytrec_eval.RelevanceEvaluator(qrels_dict, PYTREC_MEASURES)
        result: dict[str, dict[str, float]] = evaluator.evaluate(run_dict)
        return result

    theirs = record("pytrec_eval: evaluator only", pytrec_only)
    from_dicts = record(
        "ours: evaluate (from the same dicts)", lambda: evaluate(qrels_dict, run_dict, MEASURES)
    )
    build = timings["pytrec_eval: build dicts from tables"]["seconds"]
    only = timings["pytrec_eval: evaluator only"]["seconds"]
    timings["pytrec_eval: total (dicts + evaluator)"] = {"seconds": build + only}

    # The sweep path: candidates fixed once, then only a score matrix per call.
    candidates = run.groupby("qid", sort=False)["docid"].agg(list).to_dict()
    start = time.perf_counter()
    prepared = prepare(qrels, candidates)
    prepare_seconds = time.perf_counter() - start
    position = {q: i for i, q in enumerate(run["qid"].unique().tolist())}
    rows = np.array([position[q] for q in prepared.qids])
    matrix = run["score"].to_numpy().reshape(args.queries, args.candidates)[rows]
    dense = record(
        "ours: dense_scores (pre-converted arrays)",
        lambda: dense_scores(prepared, matrix, MEASURES),
    )
    timings["ours: prepare (one-off, not in dense timing)"] = {"seconds": prepare_seconds}

    # The sweep path for one cutoff measure: the partial top-k (nDCG@10 only), against
    # pytrec_eval's evaluator asked for the same single measure.
    ndcg_only = record(
        "ours: dense_scores nDCG@10 only (partial top-k)",
        lambda: dense_scores(prepared, matrix, ["nDCG@10"]),
    )

    def pytrec_ndcg() -> dict[str, dict[str, float]]:
        evaluator = pytrec_eval.RelevanceEvaluator(qrels_dict, {"ndcg_cut.10"})
        result: dict[str, dict[str, float]] = evaluator.evaluate(run_dict)
        return result

    record("pytrec_eval: evaluator only, nDCG@10 only", pytrec_ndcg)
    if not np.array_equal(ndcg_only[:, 0], expected_ndcg(ours, prepared.qids)):
        print("DISAGREEMENT: top-k nDCG@10 differs from evaluate", file=sys.stderr)
        return 1
    whole = whole_process(args, qrels, run)
    timings.update(whole.pop("timings"))

    try:
        import ranx  # type: ignore[import-not-found]
    except ImportError:
        timings["ranx"] = {"seconds": None, "note": "not installed, skipped"}
    else:  # pragma: no cover - only where ranx happens to be installed
        ranx_qrels, ranx_run = ranx.Qrels(qrels_dict), ranx.Run(run_dict)
        record("ranx: evaluate", lambda: ranx.evaluate(ranx_qrels, ranx_run, ["ndcg@10", "map"]))

    # Agreement checks.
    worst = max(
        abs(result.per_query[q][m] - theirs[q][PYTREC_KEYS[m]])
        for result in (ours, from_dicts)
        for q in theirs
        for m in MEASURES
    )
    expected = np.array([[ours.per_query[q][m] for m in MEASURES] for q in prepared.qids])
    agreement = {
        "max_abs_diff_vs_pytrec_eval": worst,
        "dense_equals_evaluate_exactly": bool(np.array_equal(dense, expected)),
        "queries": ours.queries,
        "mean": ours.mean,
    }
    if worst > 1e-12 or not agreement["dense_equals_evaluate_exactly"]:
        print(f"DISAGREEMENT: {agreement}", file=sys.stderr)
        return 1

    ratio = {
        "metrics whole process vs pytrec_eval script (target <= 0.5x)": (
            "whole process: underfoot-lab metrics, 5 measures, CPU",
            "whole process: pytrec_eval script (parse + evaluate), CPU",
        ),
        "in-process from parsed tables vs pytrec_eval evaluate (target <= 1.0x)": (
            "ours: evaluate from parsed TREC tables, 5 measures",
            "pytrec_eval: evaluator only",
        ),
        "dense nDCG@10 vs pytrec_eval evaluate nDCG@10 (target <= 0.05x)": (
            "ours: dense_scores nDCG@10 only (partial top-k)",
            "pytrec_eval: evaluator only, nDCG@10 only",
        ),
    }
    targets = {
        name: timings[ours_key]["seconds"] / timings[base_key]["seconds"]
        for name, (ours_key, base_key) in ratio.items()
    }
    baseline = timings["pytrec_eval: total (dicts + evaluator)"]["seconds"]
    print(
        f"{', '.join(MEASURES)}; {args.queries} queries x {args.candidates} candidates "
        f"({len(run)} run rows, {len(qrels)} qrels rows), best of {args.repeat}"
    )
    print(f"{'':46}{'seconds':>9}  {'vs pytrec total':>15}  {'vs evaluator only':>17}")
    for name, timing in timings.items():
        seconds = timing["seconds"]
        if seconds is None:
            print(f"{name:46}{'-':>9}  {timing.get('note', '')}")
            continue
        timing["speedup_vs_pytrec_total"] = baseline / seconds
        timing["speedup_vs_pytrec_evaluator_only"] = only / seconds
        print(f"{name:46}{seconds:9.3f}  {baseline / seconds:14.2f}x  {only / seconds:16.2f}x")
    print(f"agreement: max |ours - pytrec_eval| = {worst:.1e}; dense == evaluate bit for bit")
    print("targets (ours / named baseline, medians, same run):")
    for name, value in targets.items():
        print(f"  {name}: {value:.2f}x")

    report = {
        "benchmark": "metrics",
        "command": " ".join(["python", "benchmarks/bench_metrics.py", *(argv or sys.argv[1:])]),
        "config": {
            "queries": args.queries,
            "candidates": args.candidates,
            "repeat": args.repeat,
            "seed": args.seed,
            "measures": MEASURES,
            "run_rows": len(run),
            "qrels_rows": len(qrels),
        },
        "timings": timings,
        "agreement": agreement,
        "targets": targets,
        "environment": {
            "python": platform.python_version(),
            "numpy": np.__version__,
            "pandas": pd.__version__,
            "pytrec_eval": _version("pytrec-eval-terrier"),
            "cpus": os.cpu_count(),
            "machine": platform.machine(),
        },
        "wall_seconds": time.perf_counter() - wall,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.output} ({report['wall_seconds']:.1f} s total)")
    return 0


def _version(distribution: str) -> str | None:
    from importlib import metadata

    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


if __name__ == "__main__":
    raise SystemExit(main())
