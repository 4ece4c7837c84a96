"""``underfoot-lab ablate --region-set NAME --weights FILE [--world W] [--json]``.

nDCG@10 of each weighted feature alone, of the weights with each feature removed and of the
full weights, over the region set's frozen pool in the chosen world (built first when missing,
once, as ``sweep`` does). See :mod:`underfoot_lab.evaluation.ablation`. A file selecting a
system (``system: production``) is refused: frozen pools score weight vectors only.
"""

from __future__ import annotations

import argparse
import json
import sys

HELP = "nDCG@10 of each feature alone and of the weights without it, over a frozen pool"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--region-set", metavar="NAME", default="all", help="region set (all)")
    p.add_argument("--weights", metavar="FILE", required=True, help="weights YAML to ablate")
    p.add_argument(
        "--world",
        metavar="NAME|FILE",
        help="scenario world of the pool (default: the settings' world, UNDERFOOT_WORLD)",
    )
    p.add_argument("-k", type=int, default=10, help="nDCG cutoff (default 10)")
    p.add_argument("--json", action="store_true", help="print one JSON object")


def run(args: argparse.Namespace) -> int:
    from ..errors import ConfigError
    from ..evaluation.ablation import ablate, ablation_pool, load_ablation_weights
    from ..settings import Settings
    from ..world.scenario import load_scenario

    if args.k < 1:
        raise ConfigError(f"-k must be a positive integer, got {args.k}")
    weights = load_ablation_weights(args.weights)  # before a pool is built: fail fast
    settings = Settings() if args.world is None else Settings(world=args.world)
    scenario = load_scenario(settings.world)
    pool, path, _ = ablation_pool(
        args.region_set, settings=settings, log=lambda m: print(m, file=sys.stderr)
    )
    result = ablate(pool, weights, k=args.k)
    result = type(result)(
        **{**result.to_dict(), "world": scenario.name, "world_hash": scenario.hash}
    )
    if args.json:
        print(json.dumps(result.to_dict(), indent=2, ensure_ascii=False, allow_nan=False))
    else:
        print(result.table())
        print(f"pool {path}")
    return 0
