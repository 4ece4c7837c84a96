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
    from ..evaluation.measures import format_metrics_table, metrics_cli_payload

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
