"""``underfoot-lab demo``: a handful of searches over towns in different regions."""

from __future__ import annotations

import argparse

HELP = "run a handful of searches over different towns (offline world)"

DEMO_QUERIES = (
    "hidden gems in Pikeville KY",
    "weird stuff to do in Bisbee, AZ",
    "secret swimming holes around Ely, MN",
    "dive bars in Eureka Springs, Arkansas",
    "cool underground spots near Astoria OR",
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("queries", nargs="*", help="queries (default: five towns in five regions)")


def run(args: argparse.Namespace) -> int:
    from ..harness import build_harness
    from ..terminal import format_search

    with build_harness() as harness:
        for q in args.queries or DEMO_QUERIES:
            print(format_search(harness.pipeline.search(q), limit=8))
            print()
    return 0
