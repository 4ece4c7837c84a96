"""Two evaluation reports compared query by query, and the comparison as a text table.

:func:`compare_reports` pairs the per-query rows of two
:class:`~underfoot_lab.evaluation.results.model.EvaluationReport`\\ s by query id and hands them
to :func:`~underfoot_lab.evaluation.metrics.paired.paired_comparison` (regions as clusters);
:func:`format_comparison` renders the result for the terminal (``underfoot-lab compare``);
:func:`verdict`, :func:`robustness_line` and :func:`gate_line` turn rows into the verdicts of a
comparison over several worlds and of ``compare --fail-if-worse``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ...errors import ConfigError
from ..metrics.catalog import display_names, higher_is_better, resolve_metric
from .model import _fmt

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from ..metrics.paired import PairedComparison
    from .model import EvaluationReport

__all__ = [
    "DEFAULT_COMPARE_METRICS",
    "compare_reports",
    "format_comparison",
    "gate_line",
    "robustness_line",
    "verdict",
]

DEFAULT_COMPARE_METRICS: tuple[str, ...] = (
    "ndcg_at_10",
    "p_at_10",
    "mrr",
    "map",
    "hiddenness_at_10",
    "geo_precision_at_10",
    "expired_event_rate_at_10",
)


def compare_reports(
    baseline: EvaluationReport,
    candidate: EvaluationReport,
    metrics: Sequence[str] | None = None,
    *,
    seed: int = 0,
    n_resamples: int = 10000,
    confidence: float = 0.95,
) -> PairedComparison:
    """Paired comparison of ``candidate`` (B) with ``baseline`` (A), one row per metric.

    ``metrics`` accepts any spelling :func:`~..metrics.catalog.resolve_metric` knows (default
    :data:`DEFAULT_COMPARE_METRICS`). Queries are paired by id and must be the same in both
    reports; the region interval resamples the baseline's regions. See
    :func:`~underfoot_lab.evaluation.metrics.paired.paired_comparison` for the statistics.
    """
    import numpy as np

    from ..metrics.paired import paired_comparison

    a = baseline.per_query.set_index("query_id")
    b = candidate.per_query.set_index("query_id")
    if set(a.index) != set(b.index) or len(a) != len(b):
        raise ConfigError(
            "the two runs must cover the same queries "
            f"({baseline.config.region_set} vs {candidate.config.region_set})"
        )
    b = b.loc[a.index]
    k = baseline.k
    chosen = [resolve_metric(m, k) for m in (metrics or DEFAULT_COMPARE_METRICS)]
    for metric in chosen:
        if metric not in a.columns or metric not in b.columns:
            raise ConfigError(f"metric {metric!r} is not a per-query metric of both runs")
    shown = display_names(k)
    return paired_comparison(
        {m: a[m].to_numpy(dtype=np.float64) for m in chosen},
        {m: b[m].to_numpy(dtype=np.float64) for m in chosen},
        chosen,
        clusters=a["region"].to_numpy(),
        display={m: shown.get(m, m) for m in chosen},
        higher_is_better={m: higher_is_better(m, k) for m in chosen},
        seed=seed,
        n_resamples=n_resamples,
        confidence=confidence,
    )


def format_comparison(
    comparison: PairedComparison | pd.DataFrame, *, confidence: float | None = None
) -> str:
    """A plain-text table of a comparison (or of its :meth:`~PairedComparison.to_frame`),
    followed by :meth:`~PairedComparison.region_note` when there are fewer than 10 regions.

    ``confidence`` labels the interval columns; by default the comparison's own (0.95 for a
    frame).
    """
    from ...terminal import table
    from ..metrics.paired import PairedComparison, region_note

    records: Sequence[Mapping[str, Any]]
    if isinstance(comparison, PairedComparison):
        records = comparison.to_records()
        level = comparison.confidence if confidence is None else confidence
    else:
        records = [{str(k): v for k, v in r.items()} for r in comparison.to_dict("records")]
        level = 0.95 if confidence is None else confidence
    pct = f"{round(level * 100):d}%"
    rows = []
    for r in records:
        rows.append(
            [
                r["display"],
                int(r["n"]),
                _fmt(r["mean_a"]),
                _fmt(r["mean_b"]),
                f"{r['diff']:+.4f}" if not math.isnan(r["diff"]) else "n/a",
                _fmt(r["p_t"]),
                _fmt(r["p_rand"]),
                _fmt(r["p_t_holm"]),
                _fmt(r["p_rand_holm"]),
                f"[{_fmt(r['ci_low'])}, {_fmt(r['ci_high'])}]",
                f"[{_fmt(r['region_ci_low'])}, {_fmt(r['region_ci_high'])}]",
                _fmt(r.get("p_region", math.nan)),
                _fmt(r.get("p_region_holm", math.nan)),
                _fmt(r["effect_size"], 3),
            ]
        )
    headers = [
        "metric", "n", "mean A", "mean B", "diff", "p t", "p rand", "p t Holm", "p rand Holm",
        f"{pct} CI", f"{pct} region CI", "p region", "p region Holm", "d",
    ]  # fmt: skip
    out = table(headers, rows, "lrrrrrrrrrrrrr")
    note = region_note(max((int(r.get("n_regions", 0)) for r in records), default=0))
    return out if note is None else f"{out}\n{note}"


# ------------------------------------------------------------------------------ verdicts
Row = Any
"""A :class:`~..metrics.paired.MetricComparison` or its :meth:`to_dict` (e.g. read from JSON)."""


def _row(row: Row) -> Mapping[str, Any]:
    return row if isinstance(row, Mapping) else row.to_dict()


def verdict(row: Row, alpha: float = 0.05) -> str:
    """``"better"``, ``"worse"`` or ``"inconclusive"``: the candidate against the baseline on
    one metric, by the Holm-adjusted randomization p (``p_rand_holm < alpha``) and the sign of
    ``diff`` in the metric's direction (higher is better when the direction is unknown)."""
    r = _row(row)
    p, diff = float(r["p_rand_holm"]), float(r["diff"])
    if math.isnan(p) or math.isnan(diff) or p >= alpha or diff == 0.0:
        return "inconclusive"
    up = r.get("higher_is_better") is not False
    return "better" if (diff > 0) == up else "worse"


def robustness_line(verdicts: Sequence[str], metric: str, alpha: float) -> str:
    """One line over several worlds: "candidate better in k of n worlds, worse in j, ..."."""
    n = len(verdicts)
    k = sum(v == "better" for v in verdicts)
    j = sum(v == "worse" for v in verdicts)
    return (
        f"candidate better in {k} of {n} worlds, worse in {j}, inconclusive in the rest "
        f"({metric}, Holm-adjusted randomization p < {alpha:g})"
    )


def gate_line(rows: Sequence[tuple[str | None, Row]], alpha: float) -> tuple[int, str]:
    """The CI gate over ``(world or None, row of the gated metric)`` pairs: exit code 1 and one
    line saying why when the candidate is significantly worse (:func:`verdict`) in any of them,
    else 0 and one line saying why not."""
    if not rows:
        raise ValueError("no comparison to gate on")
    dicts = [(world, _row(row)) for world, row in rows]
    worse = [(w, r) for w, r in dicts if verdict(r, alpha) == "worse"]
    if worse:
        world, r = worse[0]
        at = f" in world {world}" if world is not None else ""
        more = f" (and {len(worse) - 1} more world(s))" if len(worse) > 1 else ""
        return 1, (
            f"gate FAILED: candidate significantly worse on {r['display']}{at}{more}: "
            f"diff {r['diff']:+.4f}, Holm-adjusted p {r['p_rand_holm']:.4g} < alpha {alpha:g}"
        )
    parts = "; ".join(
        f"{w + ': ' if w else ''}diff {r['diff']:+.4f}, Holm-adjusted p {r['p_rand_holm']:.4g}"
        for w, r in dicts
    )
    return 0, (
        f"gate passed: candidate not significantly worse on {dicts[0][1]['display']} "
        f"at alpha {alpha:g} ({parts})"
    )
