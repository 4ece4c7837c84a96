"""Notebook widgets (ipywidgets 8): :class:`SearchExplorer`, :class:`JudgePanel` and
:class:`RankingDiff`.

Import from here in notebooks::

    from underfoot_lab.widgets import JudgePanel, RankingDiff, SearchExplorer

Both render everything that comes from an upstream through :mod:`.html` (escaped), work
offline against the simulated world (and say so) and live, and expose their widgets as public
attributes so tests and notebooks can drive them from code.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from .explorer import SearchExplorer
    from .judge_panel import JudgePanel
    from .ranking_diff import RankingDiff

__all__ = ["JudgePanel", "RankingDiff", "SearchExplorer"]


def __getattr__(name: str) -> Any:
    # Lazy, so `import underfoot_lab.widgets.html` does not load ipywidgets.
    if name == "SearchExplorer":
        from .explorer import SearchExplorer

        return SearchExplorer
    if name == "JudgePanel":
        from .judge_panel import JudgePanel

        return JudgePanel
    if name == "RankingDiff":
        from .ranking_diff import RankingDiff

        return RankingDiff
    raise AttributeError(f"module 'underfoot_lab.widgets' has no attribute {name!r}")
