"""``underfoot-lab snapshot create|info``: frozen candidate pools for offline re-scoring.

``snapshot create --region-set NAME [--world NAME|FILE] [--out DIR]`` fetches every query of a
region set once (cache off, offline world), merges, featurises and judges the candidates, and
writes a pool directory (``docs/pools-format.md``); by default ``<home>/pools/<set>-<key12>/``
(the key covers the world's scenario, so each world gets its own pool).
``snapshot create --bundle DIR [--judges SPEC]`` freezes a collected bundle instead: every
query replayed from its recording (no network; a request it lacks is an error naming the query
and the exchange), graded by the bundle's judgments (``docs/bundles.md``).
``snapshot info PATH`` prints a pool's manifest and a short summary.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from ._world import add_world_argument

HELP = "freeze a region set's candidate pools (create) or describe one (info)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    create = sub.add_parser(
        "create", help="fetch, merge, featurise and judge a region set; write a pool directory"
    )
    create.add_argument(
        "--region-set", help="region set name or YAML path (required, unless --bundle)"
    )
    create.add_argument(
        "--bundle",
        metavar="DIR",
        help="freeze a collected bundle's pool instead: replayed (no network), graded by its "
        "judgments",
    )
    create.add_argument(
        "--judges",
        default="world",
        help="with --bundle: the judges grading the pool, as evaluate --judges (default: the "
        "bundle's own)",
    )
    create.add_argument("--out", help="pool directory (default: <home>/pools/<set>-<key12>)")
    create.add_argument(
        "--concurrency", type=int, default=8, help="queries fetched at once (default 8)"
    )
    create.add_argument("--force", action="store_true", help="overwrite an existing pool")
    add_world_argument(create)
    create.add_argument("--json", action="store_true", help="print the manifest as JSON")
    info = sub.add_parser("info", help="describe a pool directory")
    info.add_argument("path", help="a pool directory (with manifest.json)")
    info.add_argument("--json", action="store_true", help="print one JSON object")


def run(args: argparse.Namespace) -> int:
    if args.action == "create":
        return _create(args)
    return _info(args)


def _create(args: argparse.Namespace) -> int:
    from ..errors import ConfigError
    from ..evaluation.candidate_pools import (
        build_pool,
        default_pool_dir,
        load_pool,
        pool_key,
        write_pool,
    )
    from ..evaluation.regions import load_region_set
    from ..pipeline.score.features import FeatureParams
    from ._world import check_world, world_settings

    if args.concurrency < 1:
        raise ConfigError("--concurrency must be at least 1")
    if args.bundle:
        return _create_from_bundle(args)
    if not args.region_set:
        raise ConfigError("snapshot create needs --region-set NAME (or --bundle DIR)")
    settings = world_settings(args)
    world = check_world(settings)
    rs = load_region_set(args.region_set)
    params = FeatureParams()
    key = pool_key(rs.hash, settings, params, simulated=True)
    out = Path(args.out) if args.out else default_pool_dir(settings, rs.name, key)
    if (out / "manifest.json").exists() and not args.force:
        existing = load_pool(out, verify=False)
        if existing.manifest.pool_key == key:
            print(f"pool already exists: {out} (use --force to rebuild)", file=sys.stderr)
            return _report(existing.manifest.to_dict(), out, args.json)
        raise ConfigError(f"{out} holds another pool; choose --out or pass --force")

    def progress(done: int, total: int) -> None:
        if sys.stderr.isatty():
            print(f"\rfetched {done}/{total}", end="", file=sys.stderr, flush=True)

    t0 = time.perf_counter()
    pool = build_pool(rs, settings=settings, params=params, concurrency=args.concurrency,
                      progress=progress)  # fmt: skip
    if sys.stderr.isatty():
        print(file=sys.stderr)
    path = write_pool(pool, out)
    manifest = load_pool(path).manifest.to_dict()
    if not args.json:
        print(f"wrote {path} in {time.perf_counter() - t0:.1f}s ({world.label})")
    return _report(manifest, path, args.json)


def _create_from_bundle(args: argparse.Namespace) -> int:
    """``snapshot create --bundle DIR``: the bundle's pool, replayed and graded by its judges."""
    from ..bundles import freeze_bundle_pool
    from ..errors import ConfigError
    from ..evaluation.candidate_pools import load_pool
    from ._world import world_settings

    if args.region_set:
        raise ConfigError("--bundle brings its own region set: leave out --region-set")
    t0 = time.perf_counter()
    path, run, built = freeze_bundle_pool(
        args.bundle,
        world_settings(args),
        judges=args.judges,
        out=args.out,
        force=args.force,
        concurrency=args.concurrency,
    )
    manifest = load_pool(path).manifest.to_dict()
    if not built:
        print(f"pool already exists: {path} (use --force to rebuild)", file=sys.stderr)
    elif not args.json:
        took = time.perf_counter() - t0
        print(f"wrote {path} in {took:.1f}s (bundle {run.bundle.name}, replayed)")
    return _report(manifest, path, args.json, run.tags)


def _info(args: argparse.Namespace) -> int:
    from ..evaluation.candidate_pools import load_pool

    pool = load_pool(args.path)
    manifest = pool.manifest.to_dict()
    grades = {str(g): int((pool.grades == g).sum()) for g in range(4)}
    errors = [q for q in pool.tables["queries"].column("error").to_pylist() if q]
    extra = {"grades": grades, "failed_queries": len(errors)}
    if args.json:
        print(json.dumps({"path": str(pool.path), **manifest, **extra}, indent=2))
        return 0
    return _report({**manifest, **extra}, Path(args.path), False)


def _world_row(m: dict[str, Any]) -> str:
    from ..provenance import world_label

    if m.get("world_seed") is None:  # a bundle's pool (snapshot create --bundle)
        return f"none: real data, replayed, judged by {m['judge']}"
    where = f"seed {m['world_seed']}, clock {m['world_clock']}"
    return f"{world_label(m.get('world'), m.get('world_hash'))}: {where}"


def _report(
    m: dict[str, Any], path: Path, as_json: bool, bundle: dict[str, str] | None = None
) -> int:
    if as_json:
        print(json.dumps({"path": str(path), **m, **({"bundle": bundle} if bundle else {})},
                         indent=2))  # fmt: skip
        return 0
    rows = [
        ("pool", str(path)),
        ("format", f"v{m['format_version']}"),
        ("region set", f"{m['region_set']} ({m['region_set_hash'][:12]})"),
        ("pool key", m["pool_key"][:12]),
        ("inputs hash", m["inputs_hash"][:12]),
        (
            ("bundle", f"{bundle['bundle']} ({bundle['bundle_hash'][:12]}), judged by {m['judge']}")
            if bundle
            else ("world", _world_row(m))
        ),
        ("sources", ", ".join(m["sources"])),
        ("queries", str(m["n_queries"])),
        ("entities", str(m["n_entities"])),
        ("candidates", str(m["n_candidates"])),
        ("unretrieved relevant", str(m["n_unretrieved"])),
        ("features", str(len(m["feature_names"]))),
        (
            "code",
            f"{m['code_version']} ({(m['git_commit'] or 'no git')[:12]}"
            f"{', dirty' if m.get('git_dirty') else ''})",
        ),
        ("created", m["created_at"]),
    ]
    if "grades" in m:
        rows.append(("grades 0/1/2/3", "/".join(str(m["grades"][str(g)]) for g in range(4))))
        rows.append(("failed queries", str(m["failed_queries"])))
    width = max(len(k) for k, _ in rows)
    for k, v in rows:
        print(f"{k:<{width}}  {v}")
    return 0
