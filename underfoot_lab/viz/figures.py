"""Plotly figures for evaluation reports, notebooks and MLflow artifacts.

Everything here renders **offline**:

* no map tiles and no geo base maps -- :func:`results_map` is a plain lon/lat scatter with an
  equal-distance aspect ratio, the geocoded town marked and the primary radius drawn as a circle;
* :func:`figures_html` / :func:`write_html` embed plotly.js inline (never the CDN), once per
  page, so an HTML artifact opens without a network; or, with ``plotlyjs="directory"``,
  reference a ``plotly.min.js`` written once next to the page (:mod:`.offline`).

Every piece of untrusted text that reaches a label, a title or hover text (result titles, query
text, place names, run names) is HTML-escaped first: plotly renders those strings as a subset
of HTML.

plotly and pandas are imported inside the functions, so importing this module is free.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    import plotly.graph_objects as go

    from ..evaluation.results.model import EvaluationReport
    from ..records import SearchResult

__all__ = [
    "DEFAULT_REGION_METRICS",
    "comparison_figure",
    "escape",
    "figures_html",
    "hiddenness_vs_relevance",
    "latency_by_stage",
    "metrics_by_region",
    "pareto_figure",
    "pareto_front",
    "pareto_mask",
    "per_query_comparison",
    "region_ci",
    "report_figures",
    "results_map",
    "runs_figure",
    "write_html",
]

DEFAULT_REGION_METRICS: tuple[str, ...] = (
    "ndcg_at_10",
    "p_at_5",
    "mrr",
    "hiddenness_at_10",
    "geo_precision_at_10",
)
"""The metrics :func:`metrics_by_region` shows unless told otherwise (``_at_10`` follows k)."""

KM_PER_DEGREE = 111.32
"""Kilometres per degree of latitude (and of longitude at the equator)."""

_PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2")


def escape(value: object) -> str:
    """``value`` as text safe for plotly labels and hover text (HTML-escaped)."""
    return html.escape("" if value is None else str(value), quote=True)


def _fmt(value: Any, digits: int = 4) -> str:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return escape(value)
    return "n/a" if math.isnan(v) else f"{v:.{digits}f}"


def _names(k: int) -> dict[str, str]:
    from ..evaluation.metrics.catalog import display_names

    return display_names(k)


def _frame(obj: Any, attr: str) -> pd.DataFrame:
    """``obj.<attr>`` of a report, or ``obj`` itself when it is already the frame."""
    frame: pd.DataFrame = getattr(obj, attr, obj)
    return frame


def _float(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def _display(names: Mapping[str, str], column: str) -> str:
    """The display name of a metric column (``metrics.ndcg_at_10`` -> ``nDCG@10``)."""
    bare = column.removeprefix("metrics.")
    return names.get(bare, bare)


def _k_of(obj: Any, default: int = 10) -> int:
    k = getattr(obj, "k", None)
    return int(k) if isinstance(k, int) else default


def _at_k(metric: str, k: int) -> str:
    """``hiddenness_at_10`` -> ``hiddenness_at_<k>`` for the report's cutoff (domain metrics)."""
    if k != 10 and metric.endswith("_at_10") and not metric.startswith(("ndcg_", "p_")):
        return metric[: -len("10")] + str(k)
    return metric


def _title(text: str | None, default: str) -> str:
    return escape(text if text is not None else default)


def _simulated_note(fig: go.Figure, simulated: bool) -> None:
    if simulated:
        fig.add_annotation(
            text="offline world (simulated)",
            xref="paper",
            yref="paper",
            x=1.0,
            y=1.08,
            showarrow=False,
            font={"size": 11, "color": "#888"},
            xanchor="right",
        )


# ------------------------------------------------------------------------------ reports
def metrics_by_region(
    report: EvaluationReport | pd.DataFrame,
    metrics: Sequence[str] | None = None,
    *,
    title: str | None = None,
) -> go.Figure:
    """Grouped bars: the mean of each metric per region (from ``report.per_region``), each
    region labelled with its number of queries (``n=3``) and, given a report (its per-query
    rows), 95% bootstrap error bars over the region's queries (none for a single query).

    ``report`` is an :class:`EvaluationReport` or its ``per_region`` frame. Metrics missing from
    the frame are skipped.
    """
    import plotly.graph_objects as go

    frame = _frame(report, "per_region")
    per_query = getattr(report, "per_query", None)
    k = _k_of(report)
    names = _names(k)
    wanted = [_at_k(m, k) for m in (metrics or DEFAULT_REGION_METRICS)]
    chosen = [m for m in wanted if m in frame.columns]
    fig = go.Figure()
    raw_regions = [str(r) for r in frame["region"]] if "region" in frame.columns else []
    regions = [escape(r) for r in raw_regions]
    counts = list(frame["n"]) if "n" in frame.columns else [None] * len(regions)
    labels = [
        f"{r}<br>n={int(n)}" if n is not None else r for r, n in zip(regions, counts, strict=True)
    ]
    for i, metric in enumerate(chosen):
        shown = escape(names.get(metric, metric))
        values = [float(v) for v in frame[metric]]
        bars: dict[str, Any] = {}
        if per_query is not None and metric in per_query.columns:
            cis = [region_ci(per_query, r, metric) for r in raw_regions]
            bars["error_y"] = {
                "type": "data",
                "symmetric": False,
                "array": [max(0.0, hi - v) for (_, hi), v in zip(cis, values, strict=True)],
                "arrayminus": [max(0.0, v - lo) for (lo, _), v in zip(cis, values, strict=True)],
                "thickness": 1.2,
                "width": 3,
            }
        fig.add_bar(
            x=labels,
            y=values,
            name=shown,
            marker_color=_PALETTE[i % len(_PALETTE)],
            hovertext=[
                f"{r}<br>{shown}: {_fmt(v)}<br>queries: {n}"
                for r, v, n in zip(regions, values, counts, strict=True)
            ],
            hoverinfo="text",
            **bars,
        )
    region_set = getattr(report, "region_set", None)
    default = f"Metrics by region ({region_set})" if region_set else "Metrics by region"
    fig.update_layout(
        title=_title(title, default),
        barmode="group",
        xaxis_title="region (n = queries; bars: 95% bootstrap interval of the mean)"
        if per_query is not None
        else "region (n = queries)",
        yaxis_title="mean over the region's queries",
        legend_title="metric",
        template="plotly_white",
    )
    _simulated_note(fig, bool(getattr(report, "simulated", False)))
    return fig


def region_ci(
    per_query: pd.DataFrame,
    region: str,
    metric: str,
    *,
    n_resamples: int = 2000,
    seed: int = 0,
) -> tuple[float, float]:
    """95% percentile-bootstrap interval of the mean of ``metric`` over ``region``'s queries
    (NaN values left out); ``(mean, mean)`` for fewer than two values (no interval)."""
    import numpy as np

    values = per_query.loc[per_query["region"].astype(str) == region, metric]
    arr = np.asarray([float(v) for v in values if v == v], dtype=np.float64)
    if len(arr) == 0:
        return (math.nan, math.nan)
    if len(arr) < 2:
        m = float(arr.mean())
        return (m, m)
    rng = np.random.default_rng(seed)
    means = arr[rng.integers(0, len(arr), size=(n_resamples, len(arr)))].mean(axis=1)
    lo, hi = np.percentile(means, [2.5, 97.5])
    return (float(lo), float(hi))


def latency_by_stage(
    report: EvaluationReport | pd.DataFrame,
    *,
    percentiles: Sequence[str] = ("p50", "p95"),
    sources: bool = True,
    log_y: bool = True,
    title: str | None = None,
) -> go.Figure:
    """Grouped bars of latency percentiles (ms) per pipeline stage (``report.latency``).

    ``sources=False`` drops the per-source rows (``sources.<name>``). The y axis is
    logarithmic by default: stages differ by orders of magnitude.
    """
    import plotly.graph_objects as go

    frame = _frame(report, "latency")
    if not sources and len(frame):
        frame = frame[~frame["stage"].astype(str).str.startswith("sources.")]
    stages = [escape(s) for s in frame["stage"]] if "stage" in frame.columns else []
    counts = list(frame["n"]) if "n" in frame.columns else [None] * len(stages)
    fig = go.Figure()
    for i, pct in enumerate(p for p in percentiles if p in frame.columns):
        values = [float(v) for v in frame[pct]]
        fig.add_bar(
            x=stages,
            y=values,
            name=escape(pct),
            marker_color=_PALETTE[i % len(_PALETTE)],
            hovertext=[
                f"{s}<br>{escape(pct)}: {_fmt(v, 1)} ms<br>searches: {n}"
                for s, v, n in zip(stages, values, counts, strict=True)
            ],
            hoverinfo="text",
        )
    fig.update_layout(
        title=_title(title, "Latency by stage"),
        barmode="group",
        xaxis_title="stage",
        # Long stage names (sources.serpapi_events) were cut off under the axis.
        xaxis={"automargin": True, "tickangle": -30},
        yaxis={"automargin": True},
        yaxis_title="ms",
        yaxis_type="log" if log_y else "linear",
        legend_title="percentile",
        template="plotly_white",
    )
    _simulated_note(fig, bool(getattr(report, "simulated", False)))
    return fig


def hiddenness_vs_relevance(
    report: EvaluationReport | pd.DataFrame,
    *,
    relevance: str = "ndcg_at_10",
    hiddenness: str | None = None,
    title: str | None = None,
) -> go.Figure:
    """One point per query: relevance (x) against hiddenness of the top k (y), by region."""
    import plotly.graph_objects as go

    frame = _frame(report, "per_query")
    k = _k_of(report)
    hid = hiddenness or f"hiddenness_at_{k}"
    names = _names(k)
    fig = go.Figure()
    if relevance in frame.columns and hid in frame.columns and len(frame):
        regions = frame["region"].astype(str) if "region" in frame.columns else None
        groups = sorted(set(regions)) if regions is not None else [""]
        for i, region in enumerate(groups):
            part = frame if regions is None else frame[regions == region]
            hover = [
                "<br>".join(
                    [
                        f"<b>{escape(row.get('query_id'))}</b>",
                        escape(row.get("text")),
                        f"place: {escape(row.get('place'))}",
                        f"{escape(names.get(relevance, relevance))}: {_fmt(row[relevance])}",
                        f"{escape(names.get(hid, hid))}: {_fmt(row[hid])}",
                    ]
                )
                for row in part.to_dict("records")
            ]
            fig.add_scatter(
                x=[float(v) for v in part[relevance]],
                y=[float(v) for v in part[hid]],
                mode="markers",
                name=escape(region) or "queries",
                marker={"size": 10, "color": _PALETTE[i % len(_PALETTE)], "opacity": 0.85},
                hovertext=hover,
                hoverinfo="text",
            )
    fig.update_layout(
        title=_title(title, "Hiddenness vs relevance (one point per query)"),
        xaxis_title=escape(names.get(relevance, relevance)),
        yaxis_title=escape(names.get(hid, hid)),
        xaxis_range=[-0.05, 1.05],
        yaxis_range=[-0.05, 1.05],
        legend_title="region",
        template="plotly_white",
    )
    _simulated_note(fig, bool(getattr(report, "simulated", False)))
    return fig


def report_figures(report: EvaluationReport) -> dict[str, go.Figure]:
    """The standard figures of a report, by artifact name (no map: that needs a result)."""
    return {
        "metrics_by_region": metrics_by_region(report),
        "latency_by_stage": latency_by_stage(report),
        "hiddenness_vs_relevance": hiddenness_vs_relevance(report),
    }


# ------------------------------------------------------------------------------ map
def _circle(
    lat: float, lon: float, radius_km: float, n: int = 73
) -> tuple[list[float], list[float]]:
    """Points of a circle of ``radius_km`` around (lat, lon), as (lons, lats)."""
    dlat = radius_km / KM_PER_DEGREE
    dlon = radius_km / (KM_PER_DEGREE * max(math.cos(math.radians(lat)), 1e-6))
    angles = [2 * math.pi * i / (n - 1) for i in range(n)]
    return [lon + dlon * math.cos(a) for a in angles], [lat + dlat * math.sin(a) for a in angles]


def results_map(
    result: SearchResult,
    *,
    top: int = 10,
    radius_km: float = 25.0,
    title: str | None = None,
) -> go.Figure:
    """The top ``top`` results of one search on a plain lon/lat "map" (offline-safe).

    No tiles, no base map: longitude (x) against latitude (y) with the y scale stretched by
    ``1 / cos(latitude)`` so a kilometre is as long both ways and the primary radius (a circle
    of ``radius_km`` around the geocoded town, marked with a star) looks round. Points are
    labelled with their rank; primary and nearby results are separate traces. Results without
    coordinates are counted in a note.
    """
    import plotly.graph_objects as go

    place = result.place
    ranked = list(enumerate(result.results[: max(0, int(top))], start=1))
    located = [(i, r) for i, r in ranked if r.lat is not None and r.lon is not None]
    fig = go.Figure()
    cx, cy = _circle(place.lat, place.lon, radius_km)
    fig.add_scatter(
        x=cx,
        y=cy,
        mode="lines",
        name=f"primary radius ({radius_km:g} km)",
        line={"color": "#999", "dash": "dash", "width": 1},
        hoverinfo="skip",
    )
    # The town first, so the results are drawn on top of the star.
    fig.add_scatter(
        x=[place.lon],
        y=[place.lat],
        mode="markers",
        name=escape(place.label),
        marker={"symbol": "star", "size": 18, "color": "#d62728"},
        hovertext=[
            f"<b>{escape(place.label)}</b><br>geocoded by {escape(place.geocoder)}"
            f"<br>({place.lat:.4f}, {place.lon:.4f})"
        ],
        hoverinfo="text",
    )
    for category, color in (("primary", "#1f77b4"), ("nearby", "#ff7f0e")):
        part = [(i, r) for i, r in located if r.category == category]
        if not part:
            continue
        hover = [
            "<br>".join(
                [
                    f"<b>#{i} {escape(r.title)}</b>",
                    f"score {_fmt(r.score)} · {escape(r.category)}",
                    "distance " + ("n/a" if r.distance_km is None else f"{r.distance_km:.1f} km"),
                    f"sources: {escape(', '.join(r.sources))}",
                ]
            )
            for i, r in part
        ]
        fig.add_scatter(
            x=[r.lon for _, r in part],
            y=[r.lat for _, r in part],
            mode="markers+text",
            name=category,
            text=[str(i) for i, _ in part],
            textposition="top center",
            marker={"size": 11, "color": color, "line": {"width": 1, "color": "white"}},
            hovertext=hover,
            hoverinfo="text",
        )
    missing = len(ranked) - len(located)
    if missing:
        fig.add_annotation(
            text=f"{missing} of the top {len(ranked)} have no coordinates",
            xref="paper",
            yref="paper",
            x=0.0,
            y=-0.12,
            showarrow=False,
            xanchor="left",
            font={"size": 11, "color": "#888"},
        )
    ratio = 1.0 / max(math.cos(math.radians(place.lat)), 1e-6)
    fig.update_layout(
        title=_title(title, f"Top {len(ranked)} for “{result.query}”"),
        xaxis_title="longitude",
        yaxis_title="latitude",
        yaxis={"scaleanchor": "x", "scaleratio": ratio},
        legend_title="",
        template="plotly_white",
    )
    _simulated_note(fig, result.simulated)
    return fig


# ------------------------------------------------------------------------------ pareto
def pareto_mask(
    frame: pd.DataFrame,
    x: str = "ndcg_at_10",
    y: str = "hiddenness_at_10",
    *,
    maximize: tuple[bool, bool] = (True, True),
) -> pd.Series:
    """True for the rows no other row dominates on (``x``, ``y``).

    A row dominates another when it is at least as good on both and strictly better on one
    (``maximize`` says which direction is good, per axis). Rows with a NaN never count;
    identical points are all on the front. O(n log n).
    """
    import numpy as np
    import pandas as pd

    xs = frame[x].to_numpy(dtype=np.float64) * (1.0 if maximize[0] else -1.0)
    ys = frame[y].to_numpy(dtype=np.float64) * (1.0 if maximize[1] else -1.0)
    ok = np.isfinite(xs) & np.isfinite(ys)
    mask = np.zeros(len(frame), dtype=bool)
    idx = np.flatnonzero(ok)
    order = idx[np.lexsort((-ys[idx], -xs[idx]))]  # x descending, then y descending
    best_y = -math.inf  # best y among points with strictly greater x
    pos = 0
    while pos < len(order):
        end = pos
        while end < len(order) and xs[order[end]] == xs[order[pos]]:
            end += 1
        group = order[pos:end]
        top_y = ys[group[0]]
        if top_y > best_y:
            mask[group[ys[group] == top_y]] = True
            best_y = top_y
        pos = end
    return pd.Series(mask, index=frame.index, name="pareto")


def pareto_front(
    frame: pd.DataFrame,
    x: str = "ndcg_at_10",
    y: str = "hiddenness_at_10",
    *,
    maximize: tuple[bool, bool] = (True, True),
) -> pd.DataFrame:
    """The non-dominated rows of ``frame`` (:func:`pareto_mask`), sorted by ``x``."""
    front = frame[pareto_mask(frame, x, y, maximize=maximize)]
    return front.sort_values([x, y], ascending=[True, not maximize[1]])


def pareto_figure(
    frame: pd.DataFrame,
    x: str = "ndcg_at_10",
    y: str = "hiddenness_at_10",
    *,
    label: str | None = None,
    maximize: tuple[bool, bool] = (True, True),
    title: str | None = None,
) -> go.Figure:
    """Every row as a point and the Pareto front as a highlighted line (e.g. weight sweeps).

    ``label`` names the column shown in hover text (a run name, a weights name).
    """
    import plotly.graph_objects as go

    names = _names(10)
    if x not in frame.columns or y not in frame.columns:
        fig = go.Figure()
        missing = ", ".join(c for c in (x, y) if c not in frame.columns)
        fig.add_annotation(
            text=f"nothing to plot (no column {escape(missing)})", xref="paper", yref="paper",
            x=0.5, y=0.5, showarrow=False,
        )  # fmt: skip
        fig.update_layout(title=_title(title, "Pareto front"), template="plotly_white")
        return fig
    mask = pareto_mask(frame, x, y, maximize=maximize)

    def hover(part: pd.DataFrame) -> list[str]:
        out = []
        for row in part.to_dict("records"):
            head = f"<b>{escape(row[label])}</b><br>" if label and label in row else ""
            out.append(
                f"{head}{escape(_display(names, x))}: {_fmt(row[x])}<br>"
                f"{escape(_display(names, y))}: {_fmt(row[y])}"
            )
        return out

    fig = go.Figure()
    rest = frame[~mask]
    fig.add_scatter(
        x=[float(v) for v in rest[x]],
        y=[float(v) for v in rest[y]],
        mode="markers",
        name="dominated",
        marker={"size": 8, "color": "#bbb"},
        hovertext=hover(rest),
        hoverinfo="text",
    )
    front = pareto_front(frame, x, y, maximize=maximize)
    fig.add_scatter(
        x=[float(v) for v in front[x]],
        y=[float(v) for v in front[y]],
        mode="lines+markers",
        name="Pareto front",
        line={"shape": "hv" if maximize == (True, True) else "linear", "color": "#d62728"},
        marker={"size": 10, "color": "#d62728"},
        hovertext=hover(front),
        hoverinfo="text",
    )
    fig.update_layout(
        title=_title(title, "Pareto front"),
        xaxis_title=escape(_display(names, x)),
        yaxis_title=escape(_display(names, y)),
        template="plotly_white",
    )
    return fig


# ------------------------------------------------------------------------------ comparisons
def comparison_figure(table: pd.DataFrame, *, title: str | None = None) -> go.Figure:
    """Mean difference (B - A) per metric with its bootstrap CI, from ``compare_reports``.

    Bars are green when B is better, red when worse (by the metric's direction), grey when
    the direction is undefined; a bar whose Holm-adjusted randomization p-value is below 0.05
    is drawn solid, otherwise faded.
    """
    import plotly.graph_objects as go

    fig = go.Figure()
    if len(table):
        rows = table.to_dict("records")
        colors, hover = [], []
        for r in rows:
            diff, better = float(r["diff"]), r.get("higher_is_better")
            good = None if better is None or math.isnan(diff) or diff == 0 else (diff > 0) == better
            base = "#999" if good is None else ("#2ca02c" if good else "#d62728")
            p = float(r.get("p_rand_holm", math.nan))
            significant = not math.isnan(p) and p < 0.05
            colors.append(base if significant else base + "66")
            hover.append(
                f"<b>{escape(r.get('display', r['metric']))}</b><br>"
                f"A {_fmt(r['mean_a'])} → B {_fmt(r['mean_b'])} (diff {_fmt(diff)})<br>"
                f"95% CI [{_fmt(r['ci_low'])}, {_fmt(r['ci_high'])}]<br>"
                f"p t {_fmt(r['p_t'])}, p rand {_fmt(r['p_rand'])}, Holm {_fmt(p)}<br>"
                f"n = {int(r['n'])}"
            )
        diffs = [float(r["diff"]) for r in rows]
        fig.add_bar(
            y=[escape(r.get("display", r["metric"])) for r in rows],
            x=diffs,
            orientation="h",
            marker_color=colors,
            error_x={
                "type": "data",
                "symmetric": False,
                "array": [
                    max(float(r["ci_high"]) - d, 0.0) for r, d in zip(rows, diffs, strict=True)
                ],
                "arrayminus": [
                    max(d - float(r["ci_low"]), 0.0) for r, d in zip(rows, diffs, strict=True)
                ],
            },
            hovertext=hover,
            hoverinfo="text",
            name="B - A",
        )
    else:
        fig.add_annotation(
            text="nothing to compare", xref="paper", yref="paper", x=0.5, y=0.5, showarrow=False
        )
    fig.update_layout(
        title=_title(title, "Difference B - A per metric (95% bootstrap CI)"),
        xaxis_title="mean difference (B - A)",
        yaxis={"autorange": "reversed"},
        template="plotly_white",
        showlegend=False,
    )
    fig.add_vline(x=0, line_color="#444", line_width=1)
    return fig


def per_query_comparison(
    per_query_a: pd.DataFrame,
    per_query_b: pd.DataFrame,
    metric: str = "ndcg_at_10",
    *,
    labels: tuple[str, str] = ("A", "B"),
    title: str | None = None,
) -> go.Figure:
    """One point per query: the metric under A (x) and under B (y), with the diagonal."""
    import plotly.graph_objects as go

    a = per_query_a.set_index("query_id")
    b = per_query_b.set_index("query_id")
    common = [q for q in a.index if q in b.index]
    fig = go.Figure()
    xs = [_float(a.at[q, metric]) for q in common]
    ys = [_float(b.at[q, metric]) for q in common]
    regions = [str(a.at[q, "region"]) if "region" in a.columns else "" for q in common]
    texts = [a.at[q, "text"] if "text" in a.columns else "" for q in common]
    la, lb = escape(labels[0]), escape(labels[1])
    fig.add_scatter(
        x=xs,
        y=ys,
        mode="markers",
        name="queries",
        marker={"size": 9, "color": "#1f77b4", "opacity": 0.8},
        hovertext=[
            f"<b>{escape(q)}</b><br>{escape(t)}<br>region {escape(r)}<br>"
            f"{la}: {_fmt(x_)}<br>{lb}: {_fmt(y_)}"
            for q, t, r, x_, y_ in zip(common, texts, regions, xs, ys, strict=True)
        ],
        hoverinfo="text",
    )
    finite = [v for v in xs + ys if math.isfinite(v)]
    lo, hi = (min(finite), max(finite)) if finite else (0.0, 1.0)
    fig.add_scatter(
        x=[lo, hi], y=[lo, hi], mode="lines", name="no change",
        line={"color": "#999", "dash": "dot"}, hoverinfo="skip",
    )  # fmt: skip
    names = _names(10)
    shown = escape(names.get(metric, metric))
    fig.update_layout(
        title=_title(title, f"{names.get(metric, metric)} per query: {labels[0]} vs {labels[1]}"),
        xaxis_title=f"{shown} ({la})",
        yaxis_title=f"{shown} ({lb})",
        template="plotly_white",
    )
    return fig


def runs_figure(
    runs: pd.DataFrame,
    metric: str = "ndcg_at_10",
    *,
    title: str | None = None,
) -> go.Figure:
    """A metric over MLflow runs (``tracking.load_runs``): start time (x) against the metric
    (y), one line per region set; hover names the run, its weights and k."""
    import plotly.graph_objects as go

    column = metric if metric.startswith("metrics.") else f"metrics.{metric}"
    names = _names(10)
    shown = _display(names, column)
    fig = go.Figure()
    if column in runs.columns and len(runs):
        frame = runs.sort_values("start_time")
        groups = (
            frame["tags.region_set"].fillna("?").astype(str)
            if "tags.region_set" in frame.columns
            else None
        )
        for i, rs in enumerate(sorted(set(groups)) if groups is not None else [""]):
            part = frame if groups is None else frame[groups == rs]
            hover = [
                f"<b>{escape(row.get('run_name'))}</b><br>run {escape(row.get('run_id'))}<br>"
                f"weights {escape(row.get('params.weights'))}, k={escape(row.get('params.k'))}"
                f"<br>{escape(shown)}: {_fmt(row[column])}"
                for row in part.to_dict("records")
            ]
            fig.add_scatter(
                x=list(part["start_time"]),
                y=[float(v) for v in part[column]],
                mode="lines+markers",
                name=escape(rs) or "runs",
                marker={"size": 9, "color": _PALETTE[i % len(_PALETTE)]},
                hovertext=hover,
                hoverinfo="text",
            )
    else:
        fig.add_annotation(
            text=f"no run has {escape(column)}", xref="paper", yref="paper", x=0.5, y=0.5,
            showarrow=False,
        )  # fmt: skip
    fig.update_layout(
        title=_title(title, f"{shown} over runs"),
        xaxis_title="run start (UTC)",
        yaxis_title=escape(shown),
        legend_title="region set",
        template="plotly_white",
    )
    return fig


# ------------------------------------------------------------------------------ HTML
def figures_html(
    figures: Mapping[str, go.Figure],
    *,
    title: str,
    note: str | None = None,
    plotlyjs: str = "inline",
) -> str:
    """One HTML page with every figure; plotly.js inline once (``plotlyjs="inline"``) or
    loaded from ``plotly.min.js`` next to the page (``"directory"``: write it there with
    :func:`underfoot_lab.viz.offline.write_plotly_js`).

    Opens offline (no CDN); ``title`` and ``note`` are escaped.
    """
    from .offline import PLOTLY_JS

    if plotlyjs not in ("inline", "directory"):
        raise ValueError(f"plotlyjs is 'inline' or 'directory', not {plotlyjs!r}")
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{escape(title)}</title>",
        "<style>body{font-family:system-ui,sans-serif;margin:1.5rem;color:#222}"
        "section{margin-bottom:2rem}</style>",
        *(
            [f'<script charset="utf-8" src="{PLOTLY_JS}"></script>']
            if plotlyjs == "directory"
            else []
        ),
        "</head><body>",
        f"<h1>{escape(title)}</h1>",
    ]
    if note:
        parts.append(f"<p>{escape(note)}</p>")
    for i, (name, fig) in enumerate(figures.items()):
        body = fig.to_html(
            full_html=False,
            include_plotlyjs=(i == 0 and plotlyjs == "inline"),
            include_mathjax=False,
            div_id=f"fig-{i}",
        )
        parts.append(f"<section><h2>{escape(name)}</h2>{body}</section>")
    parts.append("</body></html>")
    return "\n".join(parts)


def write_html(
    figures: go.Figure | Mapping[str, go.Figure],
    path: str | Path,
    *,
    title: str = "underfoot_lab figures",
    note: str | None = None,
) -> Path:
    """Write one figure or several to a self-contained, offline HTML file; returns the path."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    figs = figures if isinstance(figures, Mapping) else {title: figures}
    out.write_text(figures_html(figs, title=title, note=note), encoding="utf-8")
    return out
