"""Paired significance tests, bootstrap intervals, Holm adjustment, effect sizes."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy import stats

from underfoot_lab.evaluation.metrics.significance import (
    bootstrap_ci,
    cluster_bootstrap_ci,
    cohens_d,
    holm,
    paired_t_test,
    randomization_test,
)

# Per-query AP of two systems over 12 queries (made-up but realistic values).
A = np.array([0.12, 0.45, 0.33, 0.08, 0.61, 0.27, 0.50, 0.19, 0.40, 0.05, 0.71, 0.36])
B = np.array([0.18, 0.44, 0.41, 0.15, 0.66, 0.25, 0.58, 0.31, 0.42, 0.04, 0.80, 0.39])


def exact_sign_flip_p(a: np.ndarray, b: np.ndarray) -> float:
    """Two-sided p over all 2^n sign vectors (the randomization test's exact distribution)."""
    d = b - a
    observed = abs(d.sum())
    hits = sum(
        abs(np.dot(signs, d)) >= observed - 1e-12
        for signs in itertools.product((1.0, -1.0), repeat=d.size)
    )
    return hits / 2**d.size


def test_paired_t_test_equals_scipy() -> None:
    result = paired_t_test(A, B)
    reference = stats.ttest_rel(B, A)
    assert result.statistic == pytest.approx(reference.statistic, rel=1e-12)
    assert result.pvalue == pytest.approx(reference.pvalue, rel=1e-12)
    assert result.statistic > 0  # B is better
    flipped = paired_t_test(B, A)
    assert flipped.statistic == pytest.approx(-result.statistic)
    assert flipped.pvalue == pytest.approx(result.pvalue)


def test_paired_t_test_degenerate_differences() -> None:
    assert paired_t_test(A, A).pvalue == 1.0
    constant = paired_t_test([1.0, 2.0, 3.0], [1.5, 2.5, 3.5])
    assert constant.pvalue == 0.0 and constant.statistic == math.inf
    with pytest.raises(ValueError, match="at least 2"):
        paired_t_test([0.1], [0.2])
    with pytest.raises(ValueError, match="equal length"):
        paired_t_test(A, B[:5])
    with pytest.raises(ValueError, match="finite"):
        paired_t_test([0.1, np.nan], [0.2, 0.3])


@pytest.mark.parametrize("n", [6, 9, 12])
def test_randomization_p_matches_exact_enumeration(n: int) -> None:
    exact = exact_sign_flip_p(A[:n], B[:n])
    result = randomization_test(A[:n], B[:n], n_resamples=20000, seed=1)
    # sd of a Monte Carlo p near 0.05 with 20000 resamples is ~0.0015
    assert result.pvalue == pytest.approx(exact, abs=0.01)
    assert result.statistic == pytest.approx(float(np.mean(B[:n] - A[:n])))


def test_randomization_counts_ties_with_the_observed_value() -> None:
    # discrete differences: many resamples reach the observed |sum| exactly
    a = np.array([0.0, 0.2, 0.4, 0.2, 0.0, 0.6])
    b = np.array([0.2, 0.4, 0.4, 0.0, 0.2, 0.6])
    exact = exact_sign_flip_p(a, b)
    assert randomization_test(a, b, n_resamples=40000, seed=3).pvalue == pytest.approx(
        exact, abs=0.01
    )


def test_randomization_is_deterministic_and_never_zero() -> None:
    first = randomization_test(A, B, n_resamples=5000, seed=42)
    assert randomization_test(A, B, n_resamples=5000, seed=42) == first
    far_apart = randomization_test(np.zeros(30), np.linspace(1, 2, 30), n_resamples=999, seed=0)
    assert far_apart.pvalue == pytest.approx(1 / 1000)  # (0 + 1) / (999 + 1)
    assert randomization_test(A, A, n_resamples=100, seed=0).pvalue == 1.0
    with pytest.raises(ValueError, match="n_resamples"):
        randomization_test(A, B, n_resamples=0)


def test_bootstrap_ci_is_deterministic_and_sensible() -> None:
    rng = np.random.default_rng(5)
    a = rng.normal(0.4, 0.1, 400)
    b = a + rng.normal(0.02, 0.05, 400)
    ci = bootstrap_ci(a, b, n_resamples=4000, confidence=0.95, seed=9)
    assert ci == bootstrap_ci(a, b, n_resamples=4000, confidence=0.95, seed=9)
    d = b - a
    half_width = 1.96 * d.std(ddof=1) / math.sqrt(d.size)
    assert ci.low == pytest.approx(d.mean() - half_width, abs=0.1 * half_width)
    assert ci.high == pytest.approx(d.mean() + half_width, abs=0.1 * half_width)
    wider = bootstrap_ci(a, b, n_resamples=4000, confidence=0.99, seed=9)
    assert wider.low < ci.low and wider.high > ci.high
    with pytest.raises(ValueError, match="confidence"):
        bootstrap_ci(a, b, confidence=1.0)


def test_cluster_bootstrap_with_singleton_clusters_is_the_plain_bootstrap() -> None:
    plain = bootstrap_ci(A, B, n_resamples=3000, seed=4)
    singletons = cluster_bootstrap_ci(
        A, B, [f"q{i}" for i in range(A.size)], n_resamples=3000, seed=4
    )
    assert singletons.low == pytest.approx(plain.low, abs=1e-12)
    assert singletons.high == pytest.approx(plain.high, abs=1e-12)


def test_cluster_bootstrap_is_wider_when_regions_move_together() -> None:
    rng = np.random.default_rng(11)
    regions = np.repeat([f"r{i}" for i in range(8)], 25)
    region_effect = np.repeat(rng.normal(0.0, 0.05, 8), 25)
    a = rng.uniform(0.2, 0.6, regions.size)
    b = a + 0.01 + region_effect + rng.normal(0, 0.01, regions.size)
    naive = bootstrap_ci(a, b, n_resamples=3000, seed=0)
    clustered = cluster_bootstrap_ci(a, b, regions, n_resamples=3000, seed=0)
    assert clustered.high - clustered.low > 2 * (naive.high - naive.low)
    with pytest.raises(ValueError, match="at least 2 clusters"):
        cluster_bootstrap_ci(a, b, ["one"] * regions.size)
    with pytest.raises(ValueError, match="cluster labels"):
        cluster_bootstrap_ci(a, b, regions[:10])


def test_holm_hand_example() -> None:
    # sorted: d .005*4=.02, a .01*3=.03, c .03*2=.06, b .04*1=.04 -> running max .06
    adjusted = holm({"a": 0.01, "b": 0.04, "c": 0.03, "d": 0.005})
    assert list(adjusted) == ["a", "b", "c", "d"]
    assert adjusted == pytest.approx({"a": 0.03, "b": 0.06, "c": 0.06, "d": 0.02})
    capped = holm({"x": 0.4, "y": 0.5, "z": 0.9})
    assert capped == pytest.approx({"x": 1.0, "y": 1.0, "z": 1.0})
    assert holm({"only": 0.03}) == {"only": 0.03}
    assert holm({}) == {}
    with pytest.raises(ValueError, match="p-values"):
        holm({"bad": 1.5})


def test_cohens_d_for_paired_samples() -> None:
    d = B - A
    assert cohens_d(A, B) == pytest.approx(d.mean() / d.std(ddof=1))
    # hand example: differences 1, 2, 3 -> mean 2, sd 1
    assert cohens_d([0, 0, 0], [1, 2, 3]) == pytest.approx(2.0)
    assert cohens_d(A, A) == 0.0
    assert cohens_d([1.0, 2.0, 3.0], [0.5, 1.5, 2.5]) == -math.inf
