"""plotly.js once per directory, referenced relatively, instead of inside every notebook.

An executed notebook with plotly's ``notebook`` renderer carries plotly.js (about 4.5 MB) in
its outputs; every report notebook was 5 MB. Instead:

* :func:`write_plotly_js` puts plotly's own bundled ``plotly.min.js`` (the installed plotly's,
  no network) next to the outputs, once per directory (a report directory, an MLflow run's
  ``figures/`` or ``notebook/`` artifacts);
* the ``underfoot_offline`` renderer (:func:`register_renderer`, used by
  :func:`underfoot_lab.notebook_helpers.setup_notebook` after JupyterLab's own plotly mime
  type) writes each figure's HTML with ``<script src="plotly.min.js">``, so a notebook
  exported or opened next to that file still renders offline, and JupyterLab itself draws the
  mime type with its bundled plotly.

No MathJax and no CDN script are emitted.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["PLOTLY_JS", "RENDERER", "figure_html", "register_renderer", "write_plotly_js"]

PLOTLY_JS = "plotly.min.js"
"""The file name every page and notebook output references (relative to itself)."""
RENDERER = "underfoot_offline"


def _plotly_js() -> str:
    from plotly.offline import get_plotlyjs

    return str(get_plotlyjs())


def write_plotly_js(directory: str | Path) -> Path:
    """Write ``plotly.min.js`` into ``directory`` unless an identical one is there; returns
    its path."""
    target = Path(directory) / PLOTLY_JS
    text = _plotly_js()
    data = text.encode("utf-8")
    if target.is_file() and target.stat().st_size == len(data):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(target)
    return target


def figure_html(fig: Any, *, div_id: str | None = None) -> str:
    """A figure's HTML fragment loading ``plotly.min.js`` from its own directory."""
    from plotly.io import to_html

    return str(
        to_html(
            fig,
            include_plotlyjs="directory",
            include_mathjax=False,
            full_html=False,
            div_id=div_id,
            default_width="100%",
            default_height=525,
            validate=False,
        )
    )


def register_renderer() -> str:
    """Register the ``underfoot_offline`` plotly renderer (idempotent); returns its name."""
    import plotly.io as pio
    from plotly.io._base_renderers import MimetypeRenderer

    class _OfflineHtml(MimetypeRenderer):  # type: ignore[misc]
        """``text/html`` that loads plotly.js from ``plotly.min.js`` next to the notebook."""

        def to_mimebundle(self, fig_dict: Any) -> dict[str, str]:
            return {"text/html": figure_html(fig_dict)}

    if RENDERER not in pio.renderers:
        pio.renderers[RENDERER] = _OfflineHtml()
    return RENDERER
