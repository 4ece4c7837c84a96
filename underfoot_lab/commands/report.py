"""``underfoot-lab report [--region-set NAME ...]``: executed report notebooks, logged to MLflow.

Runs ``notebooks/report.ipynb`` through papermill once per region set (at most ``--parallel``
kernels at a time), writes the executed notebooks to ``<UNDERFOOT_HOME>/reports/`` (or
``--out``), logs each -- params, metrics, tags, tables, figures and the executed notebook -- to
one MLflow run, and prints where everything is. Without ``--region-set`` it is **the main
job**: the default region set, then the metrics table, the executed notebook's path and the
commands that open the MLflow UI and JupyterLab on this machine. ``--bundle DIR`` reports on a
collected bundle (replayed, no network, scored by its judgments; ``docs/bundles.md``).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..tracking import REQUIRED_METRICS
from ._world import add_world_argument

if TYPE_CHECKING:  # pragma: no cover
    from ..papermill_reports import ReportRun

HELP = "run the report notebook per region set (papermill), log each to MLflow"

TABLE_METRICS: tuple[str, ...] = REQUIRED_METRICS
"""The table's headline metrics: the ones every evaluation run carries."""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--region-set",
        action="append",
        dest="region_sets",
        metavar="NAME",
        help="region set name or YAML path (repeatable; default: the set marked default)",
    )
    p.add_argument(
        "--weights",
        metavar="FILE",
        help="scoring weights YAML (default: the seed scorer, i.e. "
        "experiments/weights/baseline-seed.yaml)",
    )
    p.add_argument("-k", type=int, default=10, help="cutoff of the domain metrics (default 10)")
    p.add_argument("--sources", help="comma-separated source names (default: all)")
    add_world_argument(p)
    p.add_argument(
        "--parallel", type=int, default=2, metavar="N", help="notebooks at a time (default 2)"
    )
    p.add_argument(
        "--out", metavar="DIR", help="where executed notebooks go (default: UNDERFOOT_HOME/reports)"
    )
    p.add_argument("--experiment", default=None, help="MLflow experiment (default: underfoot-eval)")
    p.add_argument(
        "--tracking-uri",
        metavar="URI",
        help="MLflow tracking URI (default: $MLFLOW_TRACKING_URI, else sqlite under "
        "UNDERFOOT_HOME)",
    )
    p.add_argument(
        "--eval-run-id",
        metavar="RUN_ID",
        help="report an existing evaluation from the run store instead of running one "
        "(one region set only)",
    )
    p.add_argument(
        "--bundle",
        metavar="DIR",
        help="report on a collected bundle: replayed (no network), its region set and judgments",
    )
    p.add_argument(
        "--judges",
        default="world",
        help="qrels as evaluate --judges (with --bundle, default: the bundle's own judges)",
    )
    p.add_argument(
        "--compare-world",
        action="append",
        dest="compare_worlds",
        metavar="W",
        help="with --weights, the report's 'Across worlds' section compares them with the "
        "default scorer in this scenario world (repeatable; default: every world of "
        "experiments/worlds, two evaluations each)",
    )
    p.add_argument(
        "--no-compare-worlds",
        action="store_true",
        help="skip the 'Across worlds' section",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")


def _fmt(value: float | None, name: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{value:.1f}" if name.endswith("_ms") else f"{value:.4f}"


def _metric(metrics: dict[str, float], name: str) -> float | None:
    """``name`` from ``metrics``; a domain ``*_at_10`` falls back to the run's own cutoff
    (``hiddenness_at_5`` for ``-k 5``)."""
    if name in metrics:
        return metrics[name]
    if name.endswith("_at_10"):
        stem = name[: -len("10")]
        for key, value in metrics.items():
            if key.startswith(stem) and key[len(stem) :].isdigit():
                return value
    return None


def metrics_table(runs: Sequence[ReportRun]) -> str:
    """One row per report: region set, status and the headline metrics."""
    from ..evaluation.metrics.catalog import display_names
    from ..terminal import table

    names = display_names(10)
    headers = ["region set", "status", *(names.get(m, m) for m in TABLE_METRICS)]
    rows = [
        [
            r.region_set,
            "ok" if r.ok else "FAILED",
            *(_fmt(_metric(r.metrics, m), m) for m in TABLE_METRICS),
        ]
        for r in runs
    ]
    return table(headers, rows, "ll" + "r" * len(TABLE_METRICS))


def _shown(path: Path) -> str:
    """``path`` relative to the current directory when inside it, else absolute."""
    try:
        rel = path.resolve().relative_to(Path.cwd().resolve())
        return str(rel) if str(rel) != "." else "."
    except ValueError:
        return str(path.resolve())


def _venv_tool(name: str) -> str:
    return _shown(Path(sys.executable).parent / name)


def open_commands(tracking_uri: str, home: Path) -> dict[str, str]:
    """The shell commands that open the MLflow UI and JupyterLab on this machine."""
    from ..papermill_reports import notebooks_dir

    out: dict[str, str] = {}
    if tracking_uri.startswith(("http://", "https://", "databricks")):
        out["mlflow_ui"] = tracking_uri
    else:
        out["mlflow_ui"] = (
            f"MLFLOW_DISABLE_TELEMETRY=true {_venv_tool('mlflow')} ui "
            f"--backend-store-uri {shlex.quote(tracking_uri)} --host 127.0.0.1 --port 5000"
        )
    env = f"UNDERFOOT_HOME={shlex.quote(str(home.expanduser().resolve()))}"
    if os.environ.get("MLFLOW_TRACKING_URI"):
        env += f" MLFLOW_TRACKING_URI={shlex.quote(tracking_uri)}"
    root = "--allow-root " if hasattr(os, "geteuid") and os.geteuid() == 0 else ""
    out["jupyter_lab"] = (
        f"{env} {_venv_tool('jupyter')} lab {root}--no-browser --ip 127.0.0.1 "
        f"{shlex.quote(_shown(notebooks_dir()))}/"
    )
    return out


def run(args: argparse.Namespace) -> int:
    from .. import papermill_reports, tracking
    from ..errors import ConfigError
    from ..evaluation.regions import default_region_set_name
    from ._world import world_header, world_settings

    settings = world_settings(args)
    if args.parallel < 1:
        raise ConfigError(f"--parallel must be at least 1, got {args.parallel}")
    if args.k < 1:
        raise ConfigError(f"-k must be a positive integer, got {args.k}")
    region_sets: list[str | None] = list(args.region_sets or [default_region_set_name()])
    if args.bundle:  # the bundle brings its region set (run_report checks the bundle first)
        if args.region_sets or args.eval_run_id:
            raise ConfigError("--bundle brings its region set and runs its evaluation: leave out "
                              "--region-set and --eval-run-id")  # fmt: skip
        region_sets = [None]
    if args.eval_run_id and len(region_sets) > 1:
        raise ConfigError("--eval-run-id reports one evaluation: give at most one --region-set")
    if args.compare_worlds and args.no_compare_worlds:
        raise ConfigError("--compare-world and --no-compare-worlds contradict each other")
    across: dict[str, Any] = {}
    if args.no_compare_worlds:
        across["worlds"] = []
    elif args.compare_worlds:
        from ..world.scenario import load_scenario

        for ref in args.compare_worlds:  # a bad scenario fails here, not in the kernel
            load_scenario(ref)
        across["worlds"] = list(args.compare_worlds)
    if args.weights and not Path(args.weights).is_file():
        raise ConfigError(f"weights file {args.weights} does not exist")
    uri = tracking.tracking_uri(args.tracking_uri, settings)
    experiment = args.experiment or tracking.DEFAULT_EXPERIMENT
    if not args.json:
        print(
            f"running {len(region_sets)} report notebook(s) "
            f"({', '.join(r or f'bundle {args.bundle}' for r in region_sets)}), "
            f"{min(args.parallel, len(region_sets))} at a time; MLflow {uri}",
            file=sys.stderr,
            flush=True,
        )
    runs = papermill_reports.run_reports(
        region_sets,
        parallel=args.parallel,
        weights=args.weights,
        k=args.k,
        sources=args.sources,
        experiment=experiment,
        tracking_uri=uri,
        settings=settings,
        output_dir=args.out,
        eval_run_id=args.eval_run_id,
        bundle=args.bundle,
        judges=args.judges,
        parameters=across or None,
    )
    commands = open_commands(uri, settings.home)
    failed = [r for r in runs if not r.ok]
    if args.json:
        payload: dict[str, Any] = {
            "tracking_uri": uri,
            "experiment": experiment,
            "simulated": any(r.simulated for r in runs),
            "world": next((r.world for r in runs if r.world), None),
            "world_hash": next((r.world_hash for r in runs if r.world_hash), None),
            "bundle": next((r.bundle for r in runs if r.bundle), None),
            "reports": [r.to_dict() for r in runs],
            "open": commands,
        }
        print(json.dumps(payload, indent=2, ensure_ascii=False, default=str))
        return 1 if failed else 0
    recorded = next((r for r in runs if r.simulated and r.world_hash), None)
    replayed = next((r.bundle for r in runs if r.bundle), None)
    if replayed is not None:
        header = f"bundle {replayed['bundle']} ({replayed['bundle_hash'][:12]}), real data"
    elif recorded is not None:  # the world the evaluations ran in (an --eval-run-id keeps its own)
        from ..provenance import world_label

        header = world_label(recorded.world, recorded.world_hash)
    else:
        header = world_header(settings)
    print(f"Report notebooks [{header}]")
    print()
    print(metrics_table(runs))
    print()
    for r in runs:
        state = f"ok in {r.elapsed_s:.1f} s" if r.ok else f"FAILED after {r.elapsed_s:.1f} s"
        print(f"{r.region_set}: {state}")
        print(f"  notebook    {_shown(r.notebook)}")
        print(f"  MLflow run  {r.mlflow_run_id} (experiment {r.experiment})")
        if r.eval_run_id:
            print(f"  eval run    {r.eval_run_id} (run store; `underfoot-lab evaluate --resume`)")
        if r.artifact_uri:
            print(f"  artifacts   {r.artifact_uri}")
        if r.error:
            print(f"  error       {r.error}")
    print()
    print(f"MLflow tracking URI: {uri}")
    print("Open the MLflow UI (then http://127.0.0.1:5000):")
    print(f"  {commands['mlflow_ui']}")
    print("Open the notebooks in JupyterLab (report.ipynb, compare.ipynb):")
    print(f"  {commands['jupyter_lab']}")
    return 1 if failed else 0
