"""The held-out comparison of a sweep's winner with each baseline, paired by query.

Paired sign-flip randomization test, bootstrap interval (resampling regions when there are at
least :data:`MIN_CLUSTERS`, else queries), Cohen's d, and Holm's correction over every
(baseline, metric) test.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from .spec import MetricRef

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd


__all__ = ["MIN_CLUSTERS", "compare_with_baselines", "nanmean"]

FloatArray = npt.NDArray[np.float64]

MIN_CLUSTERS = 4
"""Bootstrap intervals resample whole regions when the held-out queries span at least this
many (with fewer, a region bootstrap only reshuffles two or three means; queries are used)."""


def nanmean(values: FloatArray) -> float:
    """The mean of the finite values (NaN when there is none)."""
    finite = values[np.isfinite(values)]
    return float(finite.mean()) if finite.size else math.nan


def compare_with_baselines(
    per_query: pd.DataFrame,
    baselines: Sequence[str],
    metrics: Sequence[MetricRef],
    *,
    seed: int,
    n_resamples: int,
) -> pd.DataFrame:
    """Winner vs each baseline on every metric, paired by query; Holm over the family.

    Each (winner, baseline) pair is one call of the workbench's single paired comparison
    (:func:`~underfoot_lab.evaluation.metrics.paired.paired_comparison`); what is sweep-specific
    is only the interval shown (regions when the held-out queries span enough of them) and
    Holm's correction over every (baseline, metric) test at once.
    """
    import pandas as pd

    from ..evaluation.metrics.paired import paired_comparison
    from ..evaluation.metrics.significance import holm

    win = per_query[per_query["system"] == "winner"].set_index("query_id")
    names = [m.name for m in metrics]
    rows: list[dict[str, Any]] = []
    for b in baselines:
        base = per_query[per_query["system"] == b].set_index("query_id").reindex(win.index)
        result = paired_comparison(
            {n: base[n].to_numpy(dtype=np.float64) for n in names},
            {n: win[n].to_numpy(dtype=np.float64) for n in names},
            names,
            clusters=win["region"].to_numpy(),
            seed=seed,
            n_resamples=n_resamples,
            min_clusters=MIN_CLUSTERS,
            t_test=False,  # the table shows p_rand and Holm only: no scipy import for p_t
        )
        for m in metrics:
            c = result[m.name]
            row: dict[str, Any] = {
                "baseline": b,
                "metric": m.name,
                "display": m.display,
                "n": c.n,
                "mean_baseline": c.mean_a,
                "mean_winner": c.mean_b,
                "diff": c.diff,
                "higher_is_better": m.higher_is_better,
                "p_rand": c.p_rand,
                "effect_size": c.effect_size,
            }
            if c.n < 2:
                row.update(ci_low=math.nan, ci_high=math.nan, ci_method="too few queries")
            elif not math.isnan(c.region_ci_low):
                row.update(
                    ci_low=c.region_ci_low,
                    ci_high=c.region_ci_high,
                    ci_method="cluster-bootstrap (regions)",
                )
            else:
                row.update(ci_low=c.ci_low, ci_high=c.ci_high, ci_method="bootstrap (queries)")
            rows.append(row)
    frame = pd.DataFrame(rows)
    if len(frame):
        tested = {
            f"{r['baseline']}|{r['metric']}": r["p_rand"]
            for r in rows
            if not math.isnan(r["p_rand"])
        }
        adjusted = holm(tested) if tested else {}
        frame["p_holm"] = [adjusted.get(f"{r['baseline']}|{r['metric']}", math.nan) for r in rows]
        sign = np.where(frame["higher_is_better"], 1.0, -1.0)
        frame["winner_better"] = (frame["diff"] * sign > 0) & (frame["p_holm"] < 0.05)
    return frame
