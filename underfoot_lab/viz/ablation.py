"""The ablation figure: nDCG@k of each feature alone and of the weights without it.

:func:`ablation_figure` draws an :class:`~underfoot_lab.evaluation.ablation.Ablation` (or its
``to_dict()``, e.g. read from ``underfoot-lab ablate --json``) as horizontal bars per feature,
with the full weights and the seed rules as vertical reference lines. Renders offline; feature
names are escaped like every label in :mod:`.figures`. plotly is imported lazily.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    import plotly.graph_objects as go

    from ..evaluation.ablation import Ablation

__all__ = ["ablation_figure"]


def ablation_figure(
    ablation: Ablation | Mapping[str, Any], *, title: str | None = None
) -> go.Figure:
    """Bars per feature (sorted by the loss when removed): alone and without, nDCG@k."""
    import plotly.graph_objects as go

    a = dict(ablation) if isinstance(ablation, Mapping) else ablation.to_dict()
    without: dict[str, float] = a["leave_one_out"]
    alone: dict[str, float] = a["single_feature"]
    features = sorted(without, key=lambda f: without[f], reverse=True)  # biggest loss on top
    shown = [html.escape(f) for f in features]
    k = int(a.get("k", 10))
    fig = go.Figure()
    fig.add_bar(y=shown, x=[alone[f] for f in features], name="feature alone", orientation="h",
                marker_color="#4C78A8")  # fmt: skip
    fig.add_bar(y=shown, x=[without[f] for f in features], name="weights without it",
                orientation="h", marker_color="#F58518")  # fmt: skip
    for value, label, dash in (
        (a["full"], "full weights", "solid"),
        (a["seed"], "seed rules", "dot"),
    ):
        fig.add_vline(
            x=float(value), line_dash=dash, line_color="#54A24B" if dash == "solid" else "#888",
            annotation_text=f"{label} {float(value):.3f}", annotation_position="top",
        )  # fmt: skip
    world = f", world {html.escape(str(a['world']))}" if a.get("world") else ""
    default = (
        f"Ablation of {html.escape(str(a['weights']))} on {html.escape(str(a['region_set']))} "
        f"({a['queries']} queries{world})"
    )
    fig.update_layout(
        title=title if title is not None else default,
        barmode="group",
        xaxis_title=f"nDCG@{k} (mean over the pool's queries)",
        yaxis_title="feature",
        legend_title="scored with",
        template="plotly_white",
        height=max(320, 40 * len(features) + 160),
    )
    if a.get("world"):
        fig.add_annotation(
            text="offline world (simulated)", xref="paper", yref="paper", x=1, y=-0.15,
            showarrow=False, font={"size": 10, "color": "#888"},
        )  # fmt: skip
    return fig
