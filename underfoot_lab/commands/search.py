"""``underfoot-lab search "TEXT"``: one search, as a table or as JSON."""

from __future__ import annotations

import argparse
import json
import sys
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
    capture = p.add_mutually_exclusive_group()
    capture.add_argument(
        "--record",
        metavar="DIR",
        help="save every upstream exchange to DIR as JSON, secrets removed (bypasses the cache)",
    )
    capture.add_argument(
        "--replay",
        metavar="DIR",
        help="answer every upstream request from the recording in DIR; no network "
        "(bypasses the cache)",
    )


def run(args: argparse.Namespace) -> int:
    from ..harness import build_harness
    from ..settings import Settings
    from ..terminal import format_search

    overrides: dict[str, Any] = {}
    if args.weights:
        overrides["weights"] = Path(args.weights)
    if args.sources:
        overrides["sources"] = tuple(s.strip() for s in args.sources.split(",") if s.strip())
    if args.record:
        overrides["record_dir"] = Path(args.record)
    if args.replay:
        overrides["replay_dir"] = Path(args.replay)
    # None lets the settings decide (UNDERFOOT_CACHE_ENABLED; off while recording/replaying).
    use_cache = False if args.no_cache else None
    with build_harness(Settings(**overrides), use_cache=use_cache) as harness:
        result = harness.pipeline.search(args.text)
    from ..logs import log_search  # drops everything unless --log-json turned logs on

    log_search(result, elapsed_ms=result.total_ms)
    for note in result.parsed.notes:
        if note.startswith("several places:"):
            print(f"warning: {note}", file=sys.stderr)
    if args.json:
        print(json.dumps(result.to_dict(), indent=2, ensure_ascii=False))
    else:
        print(format_search(result, limit=args.limit))
    return 0
