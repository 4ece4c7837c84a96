"""``underfoot-lab collect --region-set NAME --out DIR``: record a region set live into a bundle.

Runs every query through the live providers (``UNDERFOOT_MODE=live`` or ``auto``, with the keys
set), recording every upstream exchange, secrets removed, into the bundle (``docs/bundles.md``).
Before starting it prints the upstream calls it expects per provider and asks for confirmation
on a terminal (``--yes`` skips the question; without a terminal ``--yes`` is required).
``--max-requests N`` stops cleanly before the N-th call would be exceeded (the manifest says
``partial``); ``--resume`` continues a bundle, fetching only what is not recorded yet.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

HELP = "record a region set's live upstream answers into a bundle (real-data benchmark)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--region-set", required=True, metavar="NAME", help="region set name or YAML")
    p.add_argument("--out", required=True, metavar="DIR", help="the bundle directory")
    p.add_argument("--max-requests", type=int, metavar="N", help="stop before N upstream calls")
    p.add_argument("--resume", action="store_true", help="continue the bundle in --out")
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--label", help="a label stored in the manifest (e.g. 'example, not real data')")


def run(args: argparse.Namespace) -> int:
    from ..bundles import collect_bundle
    from ..bundles.manifest import cost_estimate

    interactive = sys.stdin is not None and sys.stdin.isatty()
    if not args.yes and not interactive:
        print(
            "error: collect makes paid upstream calls; pass --yes to confirm without a terminal",
            file=sys.stderr,
        )
        return 2

    def confirm(estimate: dict[str, int]) -> bool:
        cost = cost_estimate(estimate)
        print("estimated upstream calls (without retries):", file=sys.stderr)
        for provider, n in estimate.items():
            usd = cost["by_provider_usd"].get(provider, 0.0)
            print(f"  {provider:<10} {n:>6}  ~${usd:.2f}", file=sys.stderr)
        print(f"  {'total':<10} {sum(estimate.values()):>6}  ~${cost['total_usd']:.2f}",
              file=sys.stderr)  # fmt: skip
        if args.max_requests is not None:
            print(f"  (stopping at --max-requests {args.max_requests})", file=sys.stderr)
        if args.yes:
            return True
        answer = input("proceed? [y/N] ").strip().lower()
        return answer in ("y", "yes")

    outcome = collect_bundle(
        args.region_set,
        Path(args.out),
        max_requests=args.max_requests,
        resume=args.resume,
        progress=not args.no_progress,
        label=args.label,
        confirm=confirm,
    )
    calls = ", ".join(f"{k} {v}" for k, v in outcome.calls.items()) or "none"
    print(
        f"bundle {outcome.path}: {outcome.status}; {len(outcome.collected)} queries collected, "
        f"{len(outcome.skipped)} already recorded; upstream calls: {calls}"
    )
    if outcome.stopped_by_budget:
        print(
            f"stopped at --max-requests; continue with: underfoot-lab collect --region-set "
            f"{args.region_set} --out {args.out} --resume",
            file=sys.stderr,
        )
    return 0
