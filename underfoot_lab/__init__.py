"""underfoot_lab: a Jupyter-centric research and evaluation workbench for Underfoot.

The public surface is small; heavy modules (pandas, mlflow, plotly) load only when used::

    from underfoot_lab import build_harness
    with build_harness() as harness:   # the pipeline, joined to the offline world when needed
        result = harness.pipeline.search("hidden gems in Pikeville KY")
        result.results_frame()
"""

from __future__ import annotations

import sys
import types
from typing import TYPE_CHECKING, Any

from .errors import BadQuery, ConfigError, LocationNotFound, UnderfootError

if TYPE_CHECKING:  # pragma: no cover
    from .harness import Harness, build_harness
    from .pipeline.run import Pipeline
    from .records import (
        Answer,
        ParsedQuery,
        Place,
        RankedResult,
        SearchResult,
        SourceStatus,
        StageTrace,
    )
    from .settings import Settings

# Re-exported lazily: the records and settings are not free to import, and a CLI command such
# as `metrics` needs none of them.
_LAZY = {
    "Answer": "records",
    "ParsedQuery": "records",
    "Place": "records",
    "RankedResult": "records",
    "SearchResult": "records",
    "SourceStatus": "records",
    "StageTrace": "records",
    "Settings": "settings",
    "Pipeline": "pipeline.run",
    "Harness": "harness",
    "build_harness": "harness",
}


def _defer_httpx_cli() -> None:
    """Let ``import httpx`` skip its command-line client until someone calls it.

    httpx's ``__init__`` imports ``httpx._main`` (click, rich, pygments: ~0.2 s of CPU, most of
    httpx's import) only to export ``httpx.main``, which the workbench never calls. A stand-in
    module whose ``main`` imports and runs the real one keeps ``httpx.main`` working.
    """
    if "httpx" in sys.modules or "httpx._main" in sys.modules:
        return
    stub = types.ModuleType("httpx._main")

    def main(*args: Any, **kwargs: Any) -> Any:
        import importlib

        if sys.modules.get("httpx._main") is stub:
            del sys.modules["httpx._main"]
        return importlib.import_module("httpx._main").main(*args, **kwargs)

    stub.main = main  # type: ignore[attr-defined]
    sys.modules["httpx._main"] = stub


_defer_httpx_cli()

__version__ = "0.1.0"

__all__ = [
    "Answer",
    "BadQuery",
    "ConfigError",
    "Harness",
    "LocationNotFound",
    "ParsedQuery",
    "Pipeline",
    "Place",
    "RankedResult",
    "SearchResult",
    "Settings",
    "SourceStatus",
    "StageTrace",
    "UnderfootError",
    "__version__",
    "build_harness",
]


def __getattr__(name: str) -> Any:
    # Lazy: the pipeline pulls in httpx and numpy; keep `import underfoot_lab`
    # light.
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'underfoot_lab' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
