"""``underfoot-lab bundle info|verify|import|judge DIR``: describe, check and judge a bundle.

* ``info DIR``: counts, judgment coverage, the recorded calls and their estimated cost, and the
  agreement (weighted kappa, Krippendorff's alpha) between the bundle's judges;
* ``verify DIR``: file hashes, no credential in any file, every collected query replayable
  (offline, reproducing the recorded ranking); exit 1 listing the problems;
* ``import DIR FILE [--judge NAME]``: judgments (JSONL with provenance, or TREC qrels by NAME);
* ``judge DIR [--base-url URL] [--model M]``: grade the bundle's pool with the LLM judge (any
  OpenAI-compatible server; ``OPENAI_API_KEY``), written into the bundle.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from typing import Any

HELP = "describe (info), check (verify) or judge (import, judge) a benchmark bundle"


def add_arguments(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    info = sub.add_parser("info", help="counts, judgment coverage, cost, judge agreement")
    info.add_argument("path", metavar="DIR")
    info.add_argument("--json", action="store_true", help="print one JSON object")
    verify = sub.add_parser("verify", help="hashes, no secret, every query replayable")
    verify.add_argument("path", metavar="DIR")
    verify.add_argument("--no-replay", action="store_true", help="skip the replay check")
    imp = sub.add_parser("import", help="import judgments (JSONL, or qrels with --judge)")
    imp.add_argument("path", metavar="DIR")
    imp.add_argument("file", metavar="FILE")
    imp.add_argument("--judge", help="the judge of a qrels file, e.g. human:alice")
    judge = sub.add_parser("judge", help="grade the bundle's pool with the LLM judge")
    judge.add_argument("path", metavar="DIR")
    judge.add_argument("--base-url", help="an OpenAI-compatible base URL (default OPENAI_BASE_URL)")
    judge.add_argument("--model", help="the judge model (default UNDERFOOT_OPENAI_MODEL)")
    judge.add_argument("-k", type=int, default=10, help="pool depth per weights (default 10)")


def run(args: argparse.Namespace) -> int:
    from ..settings import Settings

    settings = Settings()
    if args.action == "info":
        return _info(args)
    if args.action == "verify":
        from ..bundles import verify_bundle

        problems = verify_bundle(args.path, settings, replay=not args.no_replay)
        for line in problems:
            print(f"problem: {line}")
        print(f"bundle {args.path}: " + ("ok" if not problems else f"{len(problems)} problem(s)"))
        return 1 if problems else 0
    if args.action == "import":
        from ..bundles import import_judgments

        n = import_judgments(args.path, args.file, args.judge)
        print(f"imported {n} judgments into {args.path}")
        return 0
    from ..bundles import grade_with_llm

    graded, failed = grade_with_llm(
        args.path, settings, base_url=args.base_url, model=args.model, k=args.k
    )
    print(f"graded {graded} items into {args.path}" + (f", {failed} failed" if failed else ""))
    return 0


def _num(x: Any) -> str:
    return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.3f}"


def _info(args: argparse.Namespace) -> int:
    from ..bundles import bundle_info

    info = bundle_info(args.path)
    if args.json:
        from ..evaluation.results.model import json_safe

        print(json.dumps(json_safe(info), indent=2, ensure_ascii=False, allow_nan=False))
        return 0
    counts = info["counts"]
    rs = info["region_set"]
    j = info["judgments"]
    calls = counts.get("calls", {})
    cost = info["cost"]
    by_judge = ", ".join(f"{k} {v}" for k, v in j["by_judge"].items())
    rows = [
        ("bundle", f"{info['name']} ({info['hash'][:12]})"),
        ("label", info["label"] or "real upstream data"),
        ("status", str(info["status"])),
        ("region set", f"{rs['name']} ({rs['hash'][:12]}), {rs['queries']} queries"),
        ("queries", ", ".join(f"{k} {counts.get(k, 0)}" for k in
                              ("done", "failed", "incomplete", "pending"))),
        ("clock", info["clock"]),
        ("providers", ", ".join(info["providers"])),
        ("exchanges", str(counts.get("exchange_files", 0))),
        ("calls", ", ".join(f"{k} {v}" for k, v in calls.items()) or "none"),
        ("est. cost", f"${cost.get('total_usd', 0.0):.2f} " + ", ".join(
            f"{k} ${v:.2f}" for k, v in cost.get("by_provider_usd", {}).items())),
        ("judgments", f"{j['total']} ({by_judge or 'none'})"),
        ("judged", f"{j['queries_judged']}/{j['queries']} queries, "
                   f"{j['top10_coverage']:.0%} of the recorded top 10"),
    ]  # fmt: skip
    width = max(len(k) for k, _ in rows)
    for k, v in rows:
        print(f"{k:<{width}}  {v}")
    if info["agreement"]:
        print("\nagreement      n   exact  kappa  alpha")
        for a in info["agreement"]:
            print(f"{a['judge_a']} ~ {a['judge_b']}: {a['n']:>4}  {_num(a['exact'])}  "
                  f"{_num(a['kappa'])}  {_num(a['alpha'])}")  # fmt: skip
    else:
        print("\nagreement: needs two judges on common items", file=sys.stderr)
    return 0
