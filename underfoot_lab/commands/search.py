"""``underfoot-lab search "TEXT"``: one search, as a table or as JSON."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

HELP = "run one search and print the ranked results, the answer and the stage timings"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("text", help='the query, e.g. "hidden gems in Pikeville KY"')
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--no-cache", action="store_true", help="bypass both cache layers")
    p.add_argument("--weights", help="a scoring-weights YAML (default: the seed scorer)")
    p.add_argument("--sources", help="comma-separated source names (default: all)")
    p.add_argument("--limit", type=int, default=15, help="rows to print (table output)")


def run(args: argparse.Namespace) -> int:
    from ..pipeline.run import Pipeline
    from ..report_text import format_search
    from ..settings import Settings

    overrides: dict[str, Any] = {}
    if args.weights:
        overrides["weights"] = Path(args.weights)
    if args.sources:
        overrides["sources"] = tuple(s.strip() for s in args.sources.split(",") if s.strip())
    with Pipeline(Settings(**overrides), use_cache=not args.no_cache) as pipe:
        result = pipe.search(args.text)
    if args.json:
        print(json.dumps(result.to_dict(), indent=2, ensure_ascii=False))
    else:
        print(format_search(result, limit=args.limit))
    return 0
