"""``underfoot-lab doctor``: which provider runs each stage, and why.

Prints the mode, one row per stage (parse, geocode, each source, respond) with the provider that
would run, whether it talks to the real upstream, why, whether that upstream's credential is set
(yes/no: never the key, nor any part of it) and the upstream's host; then the cache, the offline
world's seed and clock, and any record/replay directory. Nothing is sent anywhere. ``--json``
prints the same as one JSON object.

It also checks the workbench's state: ``UNDERFOOT_HOME`` (a writable directory, or creatable)
and each SQLite store in it (answer cache, run store, judgments, LLM-judge cache, Optuna, the
local MLflow store) with a read-only ``PRAGMA quick_check``, naming any broken one and the
command that fixes it; it then exits 1. ``--move-aside`` renames every broken store to
``<name>.corrupt-<time>`` (nothing is deleted) so the next command starts a fresh one.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from ..registry import api_key

if TYPE_CHECKING:  # pragma: no cover
    from ..settings import Settings

HELP = "show which provider each stage would use and why (keys: set or not, never shown)"

# stage provider -> (credential variable or None, settings field of its base URL)
_UPSTREAMS: dict[str, tuple[str | None, str]] = {
    "openai": ("OPENAI_API_KEY", "openai_base_url"),
    "geoapify": ("GEOAPIFY_API_KEY", "geoapify_base_url"),
    "serpapi_web": ("SERPAPI_API_KEY", "serpapi_base_url"),
    "serpapi_local": ("SERPAPI_API_KEY", "serpapi_base_url"),
    "serpapi_events": ("SERPAPI_API_KEY", "serpapi_base_url"),
    "reddit": (None, "reddit_base_url"),
}
_KEY_FIELDS = {
    "OPENAI_API_KEY": "openai_api_key",
    "SERPAPI_API_KEY": "serpapi_api_key",
    "GEOAPIFY_API_KEY": "geoapify_api_key",
    "EVENTBRITE_TOKEN": "eventbrite_token",  # nosec B105 -- a field name, not a token
}


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument(
        "--move-aside",
        action="store_true",
        help="rename every broken store to <name>.corrupt-<time> (nothing is deleted)",
    )


def home_problem(home: Path) -> str | None:
    """What is wrong with ``UNDERFOOT_HOME`` (never creates it), or None when usable."""
    path = home.expanduser()
    if path.exists():
        if not path.is_dir():
            return "is not a directory"
        try:
            with tempfile.TemporaryFile(dir=path):
                pass
        except OSError as exc:
            return f"is not writable ({exc.strerror or exc})"
        return None
    parent = next((p for p in path.absolute().parents if p.exists()), None)
    if parent is None or not parent.is_dir() or not os.access(parent, os.W_OK | os.X_OK):
        return f"does not exist and cannot be created under {parent}"
    return None


def store_paths(settings: Settings) -> dict[str, Path]:
    """Every SQLite store the workbench keeps, by name (the local MLflow store only when
    ``MLFLOW_TRACKING_URI`` does not point elsewhere)."""
    from ..tracking.store import _sqlite_path, tracking_uri

    home = settings.home
    stores = {
        "answer cache": settings.resolved_cache_path,
        "run store": home / "runs.sqlite3",
        "judgment store": home / "judgments.sqlite3",
        "LLM-judge cache": home / "llm_judge_cache.sqlite3",
        "Optuna store": home / "optuna.sqlite3",
    }
    mlflow_db = _sqlite_path(tracking_uri(settings=settings))
    if mlflow_db is not None:
        stores["MLflow store"] = mlflow_db.expanduser()
    return stores


def check_state(settings: Settings) -> dict[str, Any]:
    """``UNDERFOOT_HOME`` and every store's integrity (read-only), as plain data."""
    from ..storage import MOVE_ASIDE_COMMAND, integrity

    stores = []
    for name, path in store_paths(settings).items():
        problem = integrity(path)
        stores.append(
            {
                "store": name,
                "path": str(path),
                "exists": path.exists(),
                "ok": problem is None,
                "problem": problem,
                "fix": None if problem is None else MOVE_ASIDE_COMMAND,
            }
        )
    problem = home_problem(settings.home)
    return {
        "home": {
            "path": str(settings.home),
            "ok": problem is None,
            "problem": None if problem is None else f"UNDERFOOT_HOME={settings.home} {problem}",
        },
        "stores": stores,
    }


def move_broken_aside(state: dict[str, Any]) -> list[str]:
    """Rename every broken store aside; one line per store moved."""
    from ..storage import move_aside

    lines = []
    for s in state["stores"]:
        if not s["ok"] and s["exists"]:
            moved = move_aside(Path(s["path"]))
            lines.append(f"moved the {s['store']} {s['path']} aside to {moved.name}")
            s.update(ok=True, exists=False, moved_to=str(moved), problem=None, fix=None)
    return lines


def format_state(state: dict[str, Any]) -> str:
    """The state checks, one line each."""
    home = state["home"]
    lines = [f"home: {home['path']} ({'ok' if home['ok'] else home['problem']})"]
    for s in state["stores"]:
        if not s["exists"]:
            status = "not created yet"
        elif s["ok"]:
            status = "ok"
        else:
            status = f"BROKEN: {s['problem']}; fix: {s['fix']}"
        lines.append(f"  {s['store']}: {s['path']} ({status})")
    return "\n".join(lines)


def host_of(url: str) -> str:
    """``scheme://host[:port]`` of a URL: no user info, path or query (they may hold secrets)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return f"{parts.scheme}://{host}" if parts.scheme else host


def key_set(settings: Settings, variable: str) -> bool:
    return api_key(getattr(settings, _KEY_FIELDS[variable])) is not None


def report(settings: Settings) -> dict[str, Any]:
    """Everything ``doctor`` shows, as plain data (no secret, by construction)."""
    from ..pipeline.providers import (
        LIVE_GEOCODER,
        LIVE_PARSER,
        LIVE_RESPONDER,
        _availability,
        select_providers,
    )

    selection = select_providers(settings)
    live_names = {
        "parse": LIVE_PARSER,
        "geocode": LIVE_GEOCODER,
        "respond": LIVE_RESPONDER,
    }
    stages = []
    for choice in selection.all():
        live_name = live_names.get(choice.stage, choice.provider)
        key_var, base_field = _UPSTREAMS.get(live_name, (None, ""))
        avail = _availability(choice.stage, live_name, settings)
        stages.append(
            {
                "stage": choice.stage if choice.stage != "sources" else f"source {choice.provider}",
                "provider": choice.provider,
                "live": choice.live,
                "reason": choice.reason,
                "live_provider": live_name,
                "live_available": avail.ok,
                "live_reason": avail.reason,
                "key": key_var,
                "key_set": None if key_var is None else key_set(settings, key_var),
                "upstream": host_of(getattr(settings, base_field)) if base_field else None,
            }
        )
    return {
        "mode": settings.mode,
        "simulated": selection.simulated,
        "stages": stages,
        "keys": {var: key_set(settings, var) for var in _KEY_FIELDS},
        "base_urls": {
            name: host_of(getattr(settings, f"{name}_base_url"))
            for name in ("openai", "serpapi", "reddit", "geoapify", "eventbrite")
        },
        "model": settings.openai_model,
        "cache": {
            "enabled": settings.cache_enabled,
            "path": str(settings.resolved_cache_path),
        },
        "world": {
            "seed": settings.world_seed,
            "clock": settings.world_clock.isoformat(),
            "used": selection.simulated,
        },
        "record_dir": None if settings.record_dir is None else str(settings.record_dir),
        "replay_dir": None if settings.replay_dir is None else str(settings.replay_dir),
    }


def format_report(data: dict[str, Any]) -> str:
    """The human-readable table."""
    lines = [
        f"mode: {data['mode']}"
        + ("  (some answers from the offline world, simulated)" if data["simulated"] else "")
    ]
    rows = [("stage", "provider", "live", "key set", "upstream", "why")]
    for s in data["stages"]:
        key = "-" if s["key"] is None else f"{s['key']}: {'yes' if s['key_set'] else 'no'}"
        upstream = s["upstream"] if s["live"] else "(in-process)"
        rows.append(
            (
                s["stage"],
                s["provider"],
                "yes" if s["live"] else "no",
                key,
                upstream or "-",
                s["reason"],
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    for r in rows:
        cells = [c.ljust(w) for c, w in zip(r[:-1], widths, strict=True)]
        lines.append("  ".join([*cells, r[-1]]).rstrip())
    lines.append("")
    lines.append(
        "keys: " + ", ".join(f"{k} {'set' if v else 'not set'}" for k, v in data["keys"].items())
    )
    lines.append("base URLs: " + ", ".join(f"{k} {v}" for k, v in data["base_urls"].items()))
    lines.append(f"model: {data['model']}")
    cache = data["cache"]
    lines.append(f"cache: {cache['path']} ({'enabled' if cache['enabled'] else 'disabled'})")
    world = data["world"]
    lines.append(
        f"offline world: seed {world['seed']}, clock {world['clock']}"
        + (" (in use)" if world["used"] else " (not used)")
    )
    if data["record_dir"]:
        lines.append(f"recording to: {data['record_dir']}")
    if data["replay_dir"]:
        lines.append(f"replaying from: {data['replay_dir']}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from ..redaction import redact
    from ..settings import Settings

    settings = Settings()
    data = report(settings)
    state = check_state(settings)
    moved = move_broken_aside(state) if getattr(args, "move_aside", False) else []
    data["state"] = state
    if args.json:
        text = json.dumps(data, indent=2)
    else:
        text = "\n".join([format_report(data), format_state(state), *moved])
    # Belt and braces: nothing above reads a key's value, and nothing printed may contain one.
    print(redact(text, settings.secret_values()))
    healthy = state["home"]["ok"] and all(s["ok"] for s in state["stores"])
    return 0 if healthy else 1
