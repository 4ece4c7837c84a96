"""Paired significance tests and effect sizes for comparing two systems query by query.

Inputs are per-query scores of systems A and B over the same queries, paired by position.
Everything reports about ``diff = mean(b - a)``: positive means B is better.

* :func:`paired_t_test` -- Student's paired t-test (``scipy.stats.ttest_rel``), two-sided.
* :func:`randomization_test` -- paired sign-flip permutation test, two-sided,
  ``p = (hits + 1) / (n_resamples + 1)`` where a hit is a resample whose ``|mean diff|`` reaches
  the observed one; deterministic for a given seed.
* :func:`bootstrap_ci` / :func:`cluster_bootstrap_ci` -- percentile bootstrap intervals for the
  mean difference, resampling queries or whole clusters (regions) with replacement.
* :func:`region_randomization_test` -- the sign-flip test one level up: the mean difference
  of each cluster (region), signs flipped per region; two-sided, seeded.
* :func:`holm` -- Holm's step-down adjustment for several p-values.
* :func:`cohens_d` -- effect size for paired samples: mean diff / sd of diffs.

:func:`.paired.paired_comparison` runs all of them for several metrics (the one comparison
``underfoot-lab compare``, the reports and the notebooks use).

scipy and pandas are imported inside the functions that need them.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeAlias, cast

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:  # pragma: no cover
    pass

FloatArray: TypeAlias = npt.NDArray[np.float64]

# Resampled statistics are compared with the observed one up to this relative tolerance, so
# a resample equal to the observed value in exact arithmetic (the identity sign vector, say)
# always counts as a hit despite rounding in a different summation order.
_RELATIVE_TOLERANCE = 1e-9
_CHUNK_ELEMENTS = 4_000_000  # resamples are drawn in blocks of at most this many numbers


@dataclass(frozen=True, slots=True)
class SignificanceResult:
    """A test statistic and its two-sided p-value."""

    statistic: float
    pvalue: float


@dataclass(frozen=True, slots=True)
class ConfidenceInterval:
    """A percentile bootstrap interval for the mean difference (b - a)."""

    low: float
    high: float
    confidence: float


def _differences(a: npt.ArrayLike, b: npt.ArrayLike, minimum: int = 2) -> FloatArray:
    """``b - a`` as float64, checking shapes, finiteness and the number of pairs."""
    x = np.asarray(a, dtype=np.float64)
    y = np.asarray(b, dtype=np.float64)
    if x.ndim != 1 or x.shape != y.shape:
        raise ValueError(f"need two 1-D arrays of equal length, got shapes {x.shape} and {y.shape}")
    if x.size < minimum:
        raise ValueError(f"need at least {minimum} paired values, got {x.size}")
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        raise ValueError("scores must be finite (no NaN or inf)")
    return y - x


def paired_t_test(a: npt.ArrayLike, b: npt.ArrayLike) -> SignificanceResult:
    """Two-sided paired t-test of ``b`` against ``a`` (``scipy.stats.ttest_rel(b, a)``).

    When every difference is the same, scipy's statistic is undefined (0/0) or infinite; we
    return ``(0, 1)`` for all-zero differences and ``(+-inf, 0)`` for a constant non-zero one.
    """
    from scipy import stats

    d = _differences(a, b)
    if np.all(d == d[0]):
        if d[0] == 0.0:
            return SignificanceResult(0.0, 1.0)
        return SignificanceResult(math.copysign(math.inf, float(d[0])), 0.0)
    result = stats.ttest_rel(np.asarray(b, dtype=np.float64), np.asarray(a, dtype=np.float64))
    return SignificanceResult(float(result.statistic), float(result.pvalue))


def _chunks(total: int, width: int) -> list[int]:
    size = max(1, _CHUNK_ELEMENTS // max(width, 1))
    return [min(size, total - start) for start in range(0, total, size)]


def randomization_test(
    a: npt.ArrayLike, b: npt.ArrayLike, *, n_resamples: int = 10000, seed: int = 0
) -> SignificanceResult:
    """Paired sign-flip randomization test, two-sided; ``statistic`` is ``mean(b - a)``.

    Each resample flips the sign of every difference with probability 1/2 and counts a hit when
    ``|mean|`` reaches the observed ``|mean(b - a)|``; ``p = (hits + 1) / (n_resamples + 1)``,
    so p is never 0. Vectorised over blocks of resamples; the same seed gives the same p.
    """
    d = _differences(a, b)
    if n_resamples < 1:
        raise ValueError(f"n_resamples must be >= 1, got {n_resamples}")
    n = d.size
    observed = abs(float(d.sum()))
    threshold = observed - _RELATIVE_TOLERANCE * max(observed, float(np.abs(d).sum()) * 1e-6)
    rng = np.random.default_rng(seed)
    hits = 0
    for size in _chunks(n_resamples, n):
        signs = rng.integers(0, 2, size=(size, n), dtype=np.int8).astype(np.float64) * 2.0 - 1.0
        hits += int(np.count_nonzero(np.abs(signs @ d) >= threshold))
    return SignificanceResult(float(d.mean()), (hits + 1) / (n_resamples + 1))


def cluster_means(
    a: npt.ArrayLike, b: npt.ArrayLike, clusters: Sequence[Hashable] | npt.ArrayLike
) -> tuple[FloatArray, FloatArray]:
    """Per-cluster means of ``a`` and ``b`` (clusters in order of first appearance)."""
    x = np.asarray(a, dtype=np.float64)
    y = np.asarray(b, dtype=np.float64)
    labels = list(cast("Iterable[Hashable]", clusters))
    if x.ndim != 1 or x.shape != y.shape or len(labels) != x.size:
        raise ValueError(
            f"need two 1-D arrays and one label per value, got {x.shape}, {y.shape}, "
            f"{len(labels)} labels"
        )
    index: dict[Hashable, int] = {}
    codes = np.fromiter((index.setdefault(c, len(index)) for c in labels), np.int64, len(labels))
    k = len(index)
    counts = np.bincount(codes, minlength=k).astype(np.float64)
    return (
        np.bincount(codes, weights=x, minlength=k) / counts,
        np.bincount(codes, weights=y, minlength=k) / counts,
    )


def region_randomization_test(
    a: npt.ArrayLike,
    b: npt.ArrayLike,
    clusters: Sequence[Hashable] | npt.ArrayLike,
    *,
    n_resamples: int = 10000,
    seed: int = 0,
) -> SignificanceResult:
    """Paired sign-flip test over clusters (regions): :func:`randomization_test` on the
    per-region means of ``a`` and ``b``; ``statistic`` is the mean over regions of
    ``mean_region(b) - mean_region(a)``.

    Each region counts once whatever its number of queries, so the test asks whether the
    candidate wins *across regions*, not across correlated queries. With ``k`` regions there are
    only ``2**k`` sign vectors: the smallest reachable p is about ``2 / 2**k`` (0.016 for 7
    regions), so with few regions this test is conservative by construction.
    """
    ra, rb = cluster_means(a, b, clusters)
    if ra.size < 2:
        raise ValueError(f"need at least 2 clusters, got {ra.size}")
    return randomization_test(ra, rb, n_resamples=n_resamples, seed=seed)


def _percentile_interval(stats: FloatArray, confidence: float) -> tuple[float, float]:
    alpha = 1.0 - confidence
    low, high = np.quantile(stats, [alpha / 2.0, 1.0 - alpha / 2.0])
    return float(low), float(high)


def _check_confidence(confidence: float, n_resamples: int) -> None:
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    if n_resamples < 1:
        raise ValueError(f"n_resamples must be >= 1, got {n_resamples}")


def bootstrap_ci(
    a: npt.ArrayLike,
    b: npt.ArrayLike,
    *,
    n_resamples: int = 10000,
    confidence: float = 0.95,
    seed: int = 0,
) -> ConfidenceInterval:
    """Percentile bootstrap interval for ``mean(b - a)``, resampling queries with replacement."""
    _check_confidence(confidence, n_resamples)
    d = _differences(a, b)
    n = d.size
    rng = np.random.default_rng(seed)
    means = np.empty(n_resamples, dtype=np.float64)
    start = 0
    for size in _chunks(n_resamples, n):
        picks = rng.integers(0, n, size=(size, n))
        means[start : start + size] = d[picks].mean(axis=1)
        start += size
    low, high = _percentile_interval(means, confidence)
    return ConfidenceInterval(low, high, confidence)


def cluster_bootstrap_ci(
    a: npt.ArrayLike,
    b: npt.ArrayLike,
    clusters: Sequence[Hashable] | npt.ArrayLike,
    *,
    n_resamples: int = 10000,
    confidence: float = 0.95,
    seed: int = 0,
) -> ConfidenceInterval:
    """Percentile bootstrap interval for the mean difference, resampling whole clusters.

    ``clusters`` labels each query (e.g. its region). Each resample draws as many clusters as
    there are, with replacement, and takes the mean difference over all queries of the drawn
    clusters (a cluster drawn twice counts twice). Queries within a region are correlated, so
    this interval is honest about how much the result depends on which regions were sampled.
    """
    _check_confidence(confidence, n_resamples)
    d = _differences(a, b)
    labels = list(cast("Iterable[Hashable]", clusters))
    if len(labels) != d.size:
        raise ValueError(f"got {len(labels)} cluster labels for {d.size} queries")
    index: dict[Hashable, int] = {}
    codes = np.fromiter((index.setdefault(c, len(index)) for c in labels), np.int64, len(labels))
    k = len(index)
    if k < 2:
        raise ValueError(f"need at least 2 clusters, got {k}")
    sums = np.bincount(codes, weights=d, minlength=k)
    counts = np.bincount(codes, minlength=k).astype(np.float64)
    rng = np.random.default_rng(seed)
    means = np.empty(n_resamples, dtype=np.float64)
    start = 0
    for size in _chunks(n_resamples, k):
        picks = rng.integers(0, k, size=(size, k))
        means[start : start + size] = sums[picks].sum(axis=1) / counts[picks].sum(axis=1)
        start += size
    low, high = _percentile_interval(means, confidence)
    return ConfidenceInterval(low, high, confidence)


def holm(pvalues: Mapping[str, float]) -> dict[str, float]:
    """Holm step-down adjusted p-values, in the input's key order.

    Sorted ascending, the i-th smallest (0-based) of m p-values becomes ``(m - i) * p``, made
    monotone with a running maximum and capped at 1.
    """
    names = list(pvalues)
    values = np.asarray([pvalues[n] for n in names], dtype=np.float64)
    if np.any(np.isnan(values)) or np.any((values < 0) | (values > 1)):
        raise ValueError(f"p-values must be in [0, 1], got {dict(pvalues)}")
    m = values.size
    order = np.argsort(values, kind="stable")
    scaled = values[order] * (m - np.arange(m))
    adjusted_sorted = np.minimum(np.maximum.accumulate(scaled), 1.0)
    adjusted = np.empty(m, dtype=np.float64)
    adjusted[order] = adjusted_sorted
    return dict(zip(names, adjusted.tolist(), strict=True))


def cohens_d(a: npt.ArrayLike, b: npt.ArrayLike) -> float:
    """Cohen's d for paired samples (d_z): ``mean(b - a) / sd(b - a)`` with ``ddof=1``.

    0 when every difference is 0; +-inf when the differences are a non-zero constant.
    """
    d = _differences(a, b)
    mean = float(d.mean())
    sd = float(d.std(ddof=1))
    if sd == 0.0:
        return 0.0 if mean == 0.0 else math.copysign(math.inf, mean)
    return mean / sd
