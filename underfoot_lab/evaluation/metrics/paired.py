"""The one paired comparison of two systems: candidate (B) against baseline (A), per metric.

:func:`paired_comparison` takes per-query values of both systems (paired by position) and,
for every metric, reports a :class:`MetricComparison`: the means, ``diff = mean(b - a)``
(positive: B is higher), the paired t-test and sign-flip randomization p-values, both
Holm-adjusted across the metrics compared together, a percentile bootstrap CI over queries,
and, when clusters (regions) are given, a bootstrap CI over regions and a region-level
sign-flip test over the per-region means (``p_region``, also Holm-adjusted), Cohen's d_z and
the number of pairs. With fewer than :data:`MIN_RELIABLE_REGIONS` regions the region-level
interval and test are unreliable (few distinct resamples); :meth:`PairedComparison.region_note`
says so in one line, and every output prints it. A pair where
either value is not finite (e.g. the geocode error of a failed query) is dropped for that
metric only. Every statistic comes from :mod:`.significance`; every metric uses the same
``seed``, so the resamples are shared across metrics and the result is deterministic.

``underfoot-lab compare``, :func:`underfoot_lab.evaluation.results.compare.compare_reports`
(and through it the notebook helpers and MLflow comparisons) all use this function; the
column names below are the CLI's ``--json`` keys.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from .significance import (
    bootstrap_ci,
    cluster_bootstrap_ci,
    cohens_d,
    holm,
    paired_t_test,
    randomization_test,
    region_randomization_test,
)

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = [
    "COLUMNS",
    "MIN_RELIABLE_REGIONS",
    "MetricComparison",
    "PairedComparison",
    "paired_comparison",
    "region_note",
]

MIN_RELIABLE_REGIONS = 10
"""Below this many regions the clustered interval and the region-level test are unreliable: a
bootstrap over k regions has few distinct resamples and a sign flip over k regions only
``2**k`` sign vectors (p >= ~2/2**k)."""


@dataclass(frozen=True, slots=True)
class MetricComparison:
    """Candidate B against baseline A on one metric (NaN where there were too few pairs)."""

    metric: str
    display: str
    """How tables show the metric (``nDCG@10``); the metric name when none was given."""
    n: int
    """Pairs with both values finite: the queries the statistics are over."""
    mean_a: float
    """Mean of the baseline (A)."""
    mean_b: float
    """Mean of the candidate (B)."""
    diff: float
    """``mean(b - a)`` over the pairs: positive means B is higher."""
    p_t: float
    """Paired t-test p-value (two-sided)."""
    p_rand: float
    """Paired sign-flip randomization test p-value (two-sided, seeded)."""
    p_t_holm: float
    """``p_t`` Holm-adjusted across the metrics compared together."""
    p_rand_holm: float
    """``p_rand`` Holm-adjusted across the metrics compared together."""
    ci_low: float
    ci_high: float
    """Percentile bootstrap interval of ``diff``, queries resampled."""
    region_ci_low: float
    region_ci_high: float
    """The same with whole clusters (regions) resampled; NaN without enough clusters."""
    n_regions: int
    """Distinct clusters (regions) among the kept pairs (0: no clusters given)."""
    p_region: float
    """Region-level paired sign-flip test: each region's mean of ``a`` and of ``b``, signs
    flipped per region (two-sided, seeded); NaN with fewer than 2 regions."""
    p_region_holm: float
    """``p_region`` Holm-adjusted across the metrics compared together."""
    effect_size: float
    """Cohen's d for paired samples: ``mean(b - a) / sd(b - a)``."""
    higher_is_better: bool | None
    """The metric's direction, when known (None: no direction, or not given)."""

    def to_dict(self) -> dict[str, Any]:
        """The fields as a dict, in the order of :data:`COLUMNS`."""
        return asdict(self)


COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(MetricComparison))
"""The fields of :class:`MetricComparison`, in order: the columns of
:meth:`PairedComparison.to_frame` and the keys of :meth:`PairedComparison.to_records`."""


@dataclass(frozen=True, slots=True)
class PairedComparison:
    """The result of :func:`paired_comparison`: one :class:`MetricComparison` per metric."""

    rows: tuple[MetricComparison, ...]
    seed: int
    n_resamples: int
    confidence: float

    def __iter__(self) -> Iterator[MetricComparison]:
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, metric: str) -> MetricComparison:
        """The row of ``metric``."""
        for row in self.rows:
            if row.metric == metric:
                return row
        raise KeyError(metric)

    @property
    def n_regions(self) -> int:
        """The most regions any metric's kept pairs span (0: no clusters were given)."""
        return max((row.n_regions for row in self.rows), default=0)

    def region_note(self) -> str | None:
        """One line when the region-level statistics are unreliable (fewer than
        :data:`MIN_RELIABLE_REGIONS` regions), else None (:func:`region_note`)."""
        return region_note(self.n_regions)

    def to_records(self) -> list[dict[str, Any]]:
        """One dict per metric (NaN kept; ``evaluation.results.model.json_safe`` for JSON)."""
        return [row.to_dict() for row in self.rows]

    def to_frame(self) -> pd.DataFrame:
        """One row per metric, the columns of :data:`COLUMNS`."""
        import pandas as pd

        return pd.DataFrame(self.to_records(), columns=list(COLUMNS))


def region_note(n_regions: int) -> str | None:
    """The note every output prints when ``0 < n_regions <`` :data:`MIN_RELIABLE_REGIONS`."""
    k = int(n_regions)
    if k <= 0 or k >= MIN_RELIABLE_REGIONS:
        return None
    return (
        f"note: only {k} region(s) (< {MIN_RELIABLE_REGIONS}): the region CI and the "
        f"region-level sign-flip p are unreliable (a sign flip over {k} regions cannot give "
        f"p below {min(1.0, 2.0 / 2**k):.3g}); trust the per-query statistics with care too, "
        "as queries within a region are correlated"
    )


def paired_comparison(
    baseline: Mapping[str, npt.ArrayLike],
    candidate: Mapping[str, npt.ArrayLike],
    metrics: Sequence[str] | None = None,
    *,
    clusters: Sequence[Hashable] | npt.NDArray[Any] | None = None,
    display: Mapping[str, str] | None = None,
    higher_is_better: Mapping[str, bool | None] | None = None,
    seed: int = 0,
    n_resamples: int = 10000,
    confidence: float = 0.95,
    min_clusters: int = 2,
    t_test: bool = True,
) -> PairedComparison:
    """Compare ``candidate`` (B) with ``baseline`` (A) on each metric, paired by position.

    ``baseline``/``candidate`` map a metric to its per-query values (same length, same query
    order); ``metrics`` defaults to the baseline's keys. ``clusters`` (one label per query)
    adds the cluster-bootstrap interval when the kept pairs span at least ``min_clusters``
    labels. ``display`` and ``higher_is_better`` annotate the rows. Holm's adjustment runs
    over the metrics whose p-value is defined. ``t_test=False`` leaves ``p_t`` NaN (and
    scipy unimported) for callers that never show it.
    """
    chosen = list(baseline) if metrics is None else list(metrics)
    if not chosen:
        raise ValueError("no metrics to compare")
    missing = [m for m in chosen if m not in baseline or m not in candidate]
    if missing:
        raise KeyError(f"no per-query values for metric(s) {', '.join(missing)}")
    labels = None if clusters is None else np.array(list(clusters), dtype=np.object_)
    rows: list[dict[str, Any]] = []
    for metric in chosen:
        x = np.asarray(baseline[metric], dtype=np.float64)
        y = np.asarray(candidate[metric], dtype=np.float64)
        if x.ndim != 1 or x.shape != y.shape:
            raise ValueError(
                f"{metric}: need two 1-D arrays of equal length, got {x.shape} and {y.shape}"
            )
        if labels is not None and labels.shape != x.shape:
            raise ValueError(f"{metric}: {labels.size} cluster labels for {x.size} queries")
        keep = np.isfinite(x) & np.isfinite(y)
        x, y = x[keep], y[keep]
        nan = math.nan
        row: dict[str, Any] = {
            "metric": metric,
            "display": (display or {}).get(metric, metric),
            "n": int(keep.sum()),
            "mean_a": float(x.mean()) if x.size else nan,
            "mean_b": float(y.mean()) if y.size else nan,
            "diff": float((y - x).mean()) if x.size else nan,
            "p_t": nan,
            "p_rand": nan,
            "ci_low": nan,
            "ci_high": nan,
            "region_ci_low": nan,
            "region_ci_high": nan,
            "n_regions": 0,
            "p_region": nan,
            "effect_size": nan,
            "higher_is_better": (higher_is_better or {}).get(metric),
        }
        if x.size >= 2:
            if t_test:
                row["p_t"] = paired_t_test(x, y).pvalue
            row["p_rand"] = randomization_test(x, y, n_resamples=n_resamples, seed=seed).pvalue
            ci = bootstrap_ci(x, y, n_resamples=n_resamples, confidence=confidence, seed=seed)
            row["ci_low"], row["ci_high"] = ci.low, ci.high
            row["effect_size"] = cohens_d(x, y)
            kept = None if labels is None else list(labels[keep])
            if kept is not None:
                row["n_regions"] = len(set(kept))
            if kept is not None and len(set(kept)) >= max(min_clusters, 2):
                rci = cluster_bootstrap_ci(
                    x, y, kept, n_resamples=n_resamples, confidence=confidence, seed=seed
                )
                row["region_ci_low"], row["region_ci_high"] = rci.low, rci.high
                row["p_region"] = region_randomization_test(
                    x, y, kept, n_resamples=n_resamples, seed=seed
                ).pvalue
        elif labels is not None and x.size:
            row["n_regions"] = len(set(labels[keep]))
        rows.append(row)
    for key in ("p_t", "p_rand", "p_region"):
        finite = {r["metric"]: r[key] for r in rows if not math.isnan(r[key])}
        adjusted = holm(finite) if finite else {}
        for r in rows:
            r[f"{key}_holm"] = adjusted.get(r["metric"], math.nan)
    return PairedComparison(
        rows=tuple(MetricComparison(**r) for r in rows),
        seed=seed,
        n_resamples=n_resamples,
        confidence=confidence,
    )
