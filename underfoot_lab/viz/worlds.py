"""The across-worlds figure: one comparison's difference and CI in each scenario world.

:func:`worlds_figure` draws an :class:`~underfoot_lab.evaluation.across_worlds.AcrossWorlds`
(or its :meth:`~AcrossWorlds.frame`) for one metric: a point per world at the mean difference
(candidate minus baseline) with its 95% bootstrap interval, coloured by the world's verdict
(green better, red worse, grey inconclusive), a zero line, and the "candidate better in k of n
worlds ..." line under the title. Renders offline; world names are escaped like every label
in :mod:`.figures`. plotly is imported lazily.
"""

from __future__ import annotations

import html
import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    import plotly.graph_objects as go

    from ..evaluation.across_worlds import AcrossWorlds

__all__ = ["VERDICT_COLOURS", "worlds_figure"]

VERDICT_COLOURS = {"better": "#2ca02c", "worse": "#d62728", "inconclusive": "#888888"}


def worlds_figure(
    across: AcrossWorlds | pd.DataFrame,
    metric: str | None = None,
    *,
    title: str | None = None,
    subtitle: str | None = None,
) -> go.Figure:
    """Difference (B - A) of ``metric`` (default: the verdict metric) per world, with CIs.

    Given a frame (columns of :meth:`AcrossWorlds.frame`), ``metric`` defaults to its first
    metric and ``subtitle`` to none; given an :class:`AcrossWorlds`, to its metric and its
    one-line summary.
    """
    import pandas as pd
    import plotly.graph_objects as go

    if not isinstance(across, pd.DataFrame):
        frame = across.frame()
        metric = metric or across.metric
        if subtitle is None and metric == across.metric:
            subtitle = across.line()
        # "seed" is how run configs name the seed scorer, i.e. the default, baseline-seed
        base = "the default scorer" if across.baseline == "seed" else across.baseline
        label = f"{across.candidate} vs {base} on {across.region_set}"
    else:
        frame = across
        label = "candidate vs baseline"
    if metric is None and len(frame):
        metric = str(frame["metric"].iloc[0])
    rows = frame[frame["metric"] == metric]
    fig = go.Figure()
    shown = str(rows["display"].iloc[0]) if len(rows) else str(metric or "")
    for verdict, colour in VERDICT_COLOURS.items():
        part = rows[rows["verdict"] == verdict]
        if not len(part):
            continue
        diffs = [float(d) for d in part["diff"]]
        highs = [float(x) for x in part["ci_high"]]
        lows = [float(x) for x in part["ci_low"]]
        # an undefined interval (too few pairs) draws no bar rather than a NaN one
        hi = [0.0 if math.isnan(x) else x - d for x, d in zip(highs, diffs, strict=True)]
        lo = [0.0 if math.isnan(x) else d - x for x, d in zip(lows, diffs, strict=True)]
        fig.add_scatter(
            x=diffs,
            y=[html.escape(str(w)) for w in part["world"]],
            mode="markers",
            marker={"size": 12, "color": colour},
            error_x={"type": "data", "symmetric": False, "array": hi, "arrayminus": lo},
            name=verdict,
            hovertext=[
                f"<b>{html.escape(str(r['world']))}</b><br>diff {float(r['diff']):+.4f} "
                f"[{float(r['ci_low']):.4f}, {float(r['ci_high']):.4f}]<br>"
                f"p Holm {float(r['p_rand_holm']):.4g} · {r['verdict']}"
                for r in part.to_dict("records")
            ],
            hoverinfo="text",
        )
    if not len(rows):
        fig.add_annotation(
            text="nothing to compare", xref="paper", yref="paper", x=0.5, y=0.5, showarrow=False
        )
    fig.add_vline(x=0.0, line_dash="dot", line_color="#555")
    default = f"{html.escape(label)}: {html.escape(shown)} per world"
    heading = title if title is not None else default
    if subtitle:
        heading += f"<br><sup>{html.escape(subtitle)}</sup>"
    fig.update_layout(
        title=heading,
        xaxis_title=f"{html.escape(shown)} difference, candidate − baseline (95% CI)",
        yaxis_title="scenario world",
        legend_title="verdict",
        template="plotly_white",
        height=max(300, 60 * rows["world"].nunique() + 180) if len(rows) else 300,
    )
    fig.add_annotation(
        text="offline worlds (simulated)", xref="paper", yref="paper", x=1, y=-0.25,
        showarrow=False, font={"size": 10, "color": "#888"},
    )  # fmt: skip
    return fig
