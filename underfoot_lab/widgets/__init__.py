"""Notebook widgets (ipywidgets 8): :class:`SearchExplorer` and :class:`JudgePanel`.

Import from here in notebooks::

    from underfoot_lab.widgets import JudgePanel, SearchExplorer

Both render everything that comes from an upstream through :mod:`.html` (escaped), work
offline against the simulated world (and say so) and live, and expose their widgets as public
attributes so tests and notebooks can drive them from code.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from .explorer import SearchExplorer
    from .judge_panel import JudgePanel

__all__ = ["JudgePanel", "SearchExplorer"]


def __getattr__(name: str) -> Any:
    # Lazy, so `import underfoot_lab.widgets.html` does not load ipywidgets.
    if name == "SearchExplorer":
        from .explorer import SearchExplorer

        return SearchExplorer
    if name == "JudgePanel":
        from .judge_panel import JudgePanel

        return JudgePanel
    raise AttributeError(f"module 'underfoot_lab.widgets' has no attribute {name!r}")
