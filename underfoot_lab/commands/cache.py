"""``underfoot-lab cache [info|clear]``: the persistent answer cache."""

from __future__ import annotations

import argparse

HELP = "show or clear the persistent answer cache"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("action", choices=["info", "clear"], nargs="?", default="info")


def run(args: argparse.Namespace) -> int:
    from ..harness import build_harness

    with build_harness() as harness:
        pipe = harness.pipeline
        path = pipe.settings.resolved_cache_path
        if args.action == "clear":
            pipe.cache.clear()
            print(f"cleared {path}")
        else:
            print(f"{path}: {pipe.cache.sqlite.count()} cached answers")
    return 0
