"""``underfoot-lab search "TEXT"``: one search, as a table or as JSON."""

from __future__ import annotations

import argparse
import gc
import json
import sys
from pathlib import Path
from typing import Any

from ._world import add_world_argument

HELP = "run one search and print the ranked results, the answer and the stage timings"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("text", help='the query, e.g. "hidden gems in Pikeville KY"')
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--no-cache", action="store_true", help="bypass both cache layers")
    p.add_argument(
        "--weights",
        help="a scoring-weights YAML (default: the seed scorer, i.e. "
        "experiments/weights/baseline-seed.yaml)",
    )
    p.add_argument("--sources", help="comma-separated source names (default: all)")
    p.add_argument("--limit", type=int, default=15, help="rows to print (table output)")
    add_world_argument(p)
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
    # A search allocates a few hundred thousand objects, nearly all while importing (numpy,
    # httpx, the world's modules) and very few in reference cycles: the cyclic collector's
    # passes over them were ~8% of a cold search's CPU (issue 15). It is paused for the one
    # search and resumed after, so an in-process caller gets it back as it had it.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _search(args)
    finally:
        if collecting:
            gc.enable()


def _search(args: argparse.Namespace) -> int:
    from ..harness import build_harness, world_identity
    from ..terminal import format_search
    from ._world import world_settings

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
    settings = world_settings(args, **overrides)
    with build_harness(settings, use_cache=use_cache) as harness:
        result = harness.pipeline.search(args.text)
    world = world_identity(harness.settings) if result.simulated else None
    from ..logs import log_search  # drops everything unless --log-json turned logs on

    log_search(result, elapsed_ms=result.total_ms)
    for note in result.parsed.notes:
        if note.startswith("several places:"):
            print(f"warning: {note}", file=sys.stderr)
    if args.json:
        payload = result.to_dict()
        if world is not None:
            payload["world"], payload["world_hash"] = world.name, world.hash
        print(json.dumps(payload, indent=2, ensure_ascii=False))
    else:
        print(format_search(result, limit=args.limit, world=world.label if world else None))
    return 0
