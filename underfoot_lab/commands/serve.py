"""``underfoot-lab serve``: the search as a web service speaking production's contract.

``POST /underfoot/search``, ``GET /health``, ``GET /metrics``, docs at ``/docs``; structured
logs (JSON lines, or a console rendering on a terminal) on stderr. CORS origins and the inbound
rate limit come from the settings (``UNDERFOOT_SERVICE_CORS_ORIGINS``,
``UNDERFOOT_SERVICE_RATE_LIMIT_PER_S``, ``UNDERFOOT_SERVICE_RATE_LIMIT_BURST``). Needs the
``service`` extra.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ._world import add_world_argument

HELP = "serve the search over HTTP (production's contract, /health, /metrics, /docs)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="port (default: 8000)")
    p.add_argument("--weights", help="a scoring-weights YAML (default: the seed scorer)")
    p.add_argument("--no-cache", action="store_true", help="serve without the answer cache")
    add_world_argument(p)


def run(args: argparse.Namespace) -> int:
    from ..errors import ConfigError
    from ._world import world_header, world_settings

    try:
        import uvicorn

        from ..service.app import create_app
    except ImportError as exc:
        raise ConfigError(
            f"serve needs the service extra ({exc.name} is missing): "
            "pip install 'underfoot-lab[service]'"
        ) from None
    if not 0 < args.port < 65536:
        raise ConfigError(f"--port must be 1..65535, got {args.port}")
    overrides: dict[str, Any] = {}
    if args.weights:
        weights = Path(args.weights)
        if not weights.is_file():
            raise ConfigError(f"--weights file {weights} does not exist")
        overrides["weights"] = weights
    if args.no_cache:
        overrides["cache_enabled"] = False
    settings = world_settings(args, **overrides)
    from .. import logs

    # The service always logs; --log-json (global) only forces JSON on a terminal too.
    logs.configure(
        json=True if getattr(args, "log_json", False) else None, secrets=settings.secret_values()
    )
    app = create_app(settings)
    print(f"serving on http://{args.host}:{args.port} [{world_header(settings)}]", file=sys.stderr)
    # uvicorn's access log would repeat request.complete without the request id; keep its own
    # messages to warnings.
    uvicorn.run(app, host=args.host, port=args.port, access_log=False, log_level="warning")
    return 0
