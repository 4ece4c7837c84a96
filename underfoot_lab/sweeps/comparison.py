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
    """Winner vs each baseline on every metric, paired by query; Holm over the family."""
    import pandas as pd

    from ..evaluation.metrics.significance import (
        bootstrap_ci,
        cluster_bootstrap_ci,
        cohens_d,
        holm,
        randomization_test,
    )

    win = per_query[per_query["system"] == "winner"].set_index("query_id")
    rows: list[dict[str, Any]] = []
    for b in baselines:
        base = per_query[per_query["system"] == b].set_index("query_id").reindex(win.index)
        for m in metrics:
            a = base[m.name].to_numpy(dtype=np.float64)
            w = win[m.name].to_numpy(dtype=np.float64)
            ok = np.isfinite(a) & np.isfinite(w)
            a, w = a[ok], w[ok]
            regions = win["region"].to_numpy()[ok]
            row: dict[str, Any] = {
                "baseline": b,
                "metric": m.name,
                "display": m.display,
                "n": int(ok.sum()),
                "mean_baseline": float(a.mean()) if a.size else math.nan,
                "mean_winner": float(w.mean()) if w.size else math.nan,
                "diff": float((w - a).mean()) if a.size else math.nan,
                "higher_is_better": m.higher_is_better,
            }
            if a.size >= 2:
                test = randomization_test(a, w, n_resamples=n_resamples, seed=seed)
                if len(set(regions.tolist())) >= MIN_CLUSTERS:
                    ci = cluster_bootstrap_ci(a, w, regions, n_resamples=n_resamples, seed=seed)
                    row["ci_method"] = "cluster-bootstrap (regions)"
                else:
                    ci = bootstrap_ci(a, w, n_resamples=n_resamples, seed=seed)
                    row["ci_method"] = "bootstrap (queries)"
                row.update(
                    p_rand=test.pvalue, ci_low=ci.low, ci_high=ci.high, effect_size=cohens_d(a, w)
                )
            else:
                row.update(
                    p_rand=math.nan,
                    ci_low=math.nan,
                    ci_high=math.nan,
                    effect_size=math.nan,
                    ci_method="too few queries",
                )
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
