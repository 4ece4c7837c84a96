"""``underfoot-lab metrics QRELS RUN -m nDCG@10 ...``: trec_eval-exact metrics of TREC files.

With ``--json`` prints ``{"queries": N, "mean": {measure: value}, "per_query": {qid: {measure:
value}}}`` (``per_query`` empty unless ``--per-query``). Measures use canonical names
(``nDCG@10``, ``P@5``, ``R@100``, ``RR``, ``AP``; trec_eval spellings such as ``ndcg_cut_10``
are accepted). A qrels query missing from the run scores 0 (trec_eval ``-c``) unless
``--on-missing skip``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Mapping
from typing import Any, Literal

HELP = "compute trec_eval-exact metrics (nDCG, P, R, RR, AP) of a qrels file and a run file"

DEFAULT_MEASURES = ("nDCG@10", "nDCG@5", "P@5", "P@10", "R@100", "RR", "AP")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("qrels", help="TREC qrels file: qid iter docid grade")
    p.add_argument("run", help="TREC run file: qid Q0 docid rank score tag")
    p.add_argument(
        "-m",
        "--measure",
        action="append",
        dest="measures",
        metavar="MEASURE",
        help=f"a measure (repeatable; default: {' '.join(DEFAULT_MEASURES)})",
    )
    p.add_argument("--per-query", action="store_true", help="also report every query")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument(
        "-l",
        "--rel-threshold",
        type=int,
        default=1,
        help="lowest grade that counts as relevant (trec_eval -l; default 1)",
    )
    p.add_argument(
        "--on-missing",
        choices=("zero", "skip"),
        default="zero",
        help="qrels queries absent from the run: score 0 (default, trec_eval -c) or skip",
    )


def run(args: argparse.Namespace) -> int:
    from ..errors import ConfigError

    _tune_memory()
    measures = list(args.measures or DEFAULT_MEASURES)
    try:
        payload = metrics_cli_payload(
            args.qrels,
            args.run,
            measures,
            args.per_query,
            rel_threshold=args.rel_threshold,
            on_missing=args.on_missing,
        )
    except OSError as exc:
        raise ConfigError(f"cannot read {exc.filename}: {exc.strerror or exc}") from exc
    except ValueError as exc:
        if isinstance(exc, ConfigError):
            raise
        raise ConfigError(str(exc)) from exc
    if args.json:
        print(json.dumps(payload, indent=2, ensure_ascii=False))
    else:
        print(format_metrics_table(payload))
    return 0


def _tune_memory() -> None:
    """Keep this batch process's memory for reuse instead of trading pages with the kernel.

    Why: reading and evaluating a large run allocates and frees many arrays of several MB. By
    default glibc maps each one fresh and unmaps it when freed, the kernel zeroes every fresh
    page, and numpy asks for transparent huge pages on arrays over 4 MB, which on a busy
    machine makes page faults compact memory first: on a 1M-line run that kernel time was a
    third of the command's CPU (and its least predictable part). So: grow the heap 256 MiB at
    a time and keep it (``mallopt(M_TOP_PAD)``, glibc only), and no huge-page requests
    (numpy's documented ``NUMPY_MADVISE_HUGEPAGE``, read when numpy is first imported).
    """
    if "numpy" not in sys.modules:
        os.environ.setdefault("NUMPY_MADVISE_HUGEPAGE", "0")
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # pragma: no cover - musl and other C libraries
        return
    m_top_pad = -2
    mallopt(m_top_pad, 256 << 20)


def metrics_cli_payload(
    qrels_path: str | os.PathLike[str],
    run_path: str | os.PathLike[str],
    measures: list[str],
    per_query: bool,
    *,
    rel_threshold: int = 1,
    on_missing: Literal["zero", "skip"] = "zero",
) -> dict[str, Any]:
    """Evaluate TREC files: ``{"queries": N, "mean": {...}, "per_query": {...}}``.

    Keys of ``mean`` are canonical measure names (``ndcg_cut_10`` is reported as ``nDCG@10``);
    ``per_query`` is empty unless asked for.
    """
    from ..evaluation.metrics.kernel import evaluate
    from ..evaluation.metrics.trec import read_trec_pair

    qrels, run = read_trec_pair(qrels_path, run_path)
    result = evaluate(
        qrels,
        run,
        measures,
        rel_threshold=rel_threshold,
        on_missing=on_missing,
        per_query=per_query,
    )
    return {
        "queries": result.queries,
        "mean": result.mean,
        "per_query": result.per_query if per_query else {},
    }


def format_metrics_table(payload: Mapping[str, Any], digits: int = 4) -> str:
    """A readable text table of a :func:`metrics_cli_payload` result."""
    mean: Mapping[str, float] = payload["mean"]
    names = list(mean)
    lines = [f"queries: {payload['queries']}"]
    width = max(len("measure"), *(len(n) for n in names))
    lines.append(f"{'measure':<{width}}  {'mean':>{digits + 2}}")
    lines.extend(f"{n:<{width}}  {mean[n]:>{digits + 2}.{digits}f}" for n in names)
    per_query: Mapping[str, Mapping[str, float]] = payload.get("per_query") or {}
    if per_query:
        qwidth = max(len("qid"), *(len(q) for q in per_query))
        cols = [max(len(n), digits + 2) for n in names]
        header = f"{'qid':<{qwidth}}  " + "  ".join(
            f"{n:>{w}}" for n, w in zip(names, cols, strict=True)
        )
        lines += ["", header]
        for qid, values in per_query.items():
            cells = "  ".join(
                f"{values[n]:>{w}.{digits}f}" for n, w in zip(names, cols, strict=True)
            )
            lines.append(f"{qid:<{qwidth}}  {cells}")
    return "\n".join(lines)
