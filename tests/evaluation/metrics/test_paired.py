"""The one paired comparison: every statistic from evaluation.metrics.significance, one row type."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from underfoot_lab.evaluation.metrics.paired import (
    COLUMNS,
    MetricComparison,
    PairedComparison,
    paired_comparison,
)
from underfoot_lab.evaluation.metrics.significance import (
    bootstrap_ci,
    cluster_bootstrap_ci,
    cluster_means,
    cohens_d,
    holm,
    randomization_test,
    region_randomization_test,
)

A = np.array([0.12, 0.45, 0.33, 0.08, 0.61, 0.27, 0.50, 0.19, 0.40, 0.05, 0.71, 0.36])
B = np.array([0.18, 0.44, 0.41, 0.15, 0.66, 0.25, 0.58, 0.31, 0.42, 0.04, 0.80, 0.39])
P5_A = np.round(A * 2, 1) / 2
P5_B = np.round(B * 2, 1) / 2


def test_each_row_is_the_significance_functions_and_holm_spans_the_metrics() -> None:
    result = paired_comparison(
        {"AP": A, "P@5": P5_A},
        {"AP": B, "P@5": P5_B},
        display={"AP": "MAP"},
        higher_is_better={"AP": True},
        seed=3,
        n_resamples=2000,
    )
    assert isinstance(result, PairedComparison) and len(result) == 2
    assert [r.metric for r in result] == ["AP", "P@5"]
    ap = result["AP"]
    assert isinstance(ap, MetricComparison)
    assert (ap.display, ap.higher_is_better, ap.n) == ("MAP", True, A.size)
    assert result["P@5"].display == "P@5" and result["P@5"].higher_is_better is None
    assert ap.mean_a == pytest.approx(A.mean()) and ap.mean_b == pytest.approx(B.mean())
    assert ap.diff == pytest.approx((B - A).mean())
    assert ap.p_t == pytest.approx(stats.ttest_rel(B, A).pvalue)
    assert ap.p_rand == randomization_test(A, B, n_resamples=2000, seed=3).pvalue
    ci = bootstrap_ci(A, B, n_resamples=2000, seed=3)
    assert (ap.ci_low, ap.ci_high) == (ci.low, ci.high)
    assert ap.effect_size == pytest.approx(cohens_d(A, B))
    assert math.isnan(ap.region_ci_low) and math.isnan(ap.region_ci_high)  # no clusters given
    expected = holm({r.metric: r.p_rand for r in result})
    assert [r.p_rand_holm for r in result] == [expected["AP"], expected["P@5"]]
    assert all(r.p_t_holm >= r.p_t for r in result)
    again = paired_comparison(
        {"AP": A, "P@5": P5_A},
        {"AP": B, "P@5": P5_B},
        display={"AP": "MAP"},
        higher_is_better={"AP": True},
        seed=3,
        n_resamples=2000,
    )
    # seeded: the same numbers again (frame equality treats NaN == NaN, as dataclass __eq__
    # stopped doing on Python 3.13)
    assert again.to_frame().equals(result.to_frame())
    with pytest.raises(AttributeError):
        ap.diff = 0.0  # type: ignore[misc]


def test_frame_and_records_share_the_columns() -> None:
    result = paired_comparison({"AP": A}, {"AP": B}, n_resamples=200)
    frame = result.to_frame()
    assert tuple(frame.columns) == COLUMNS
    assert list(result.to_records()[0]) == list(COLUMNS)
    assert frame.loc[0, "diff"] == result["AP"].diff
    with pytest.raises(KeyError):
        result["nDCG@10"]


def test_clusters_add_the_region_interval_and_nan_pairs_drop_per_metric() -> None:
    regions = np.array(["east"] * 6 + ["west"] * 6)
    geo_a = A.copy()
    geo_a[0] = np.nan  # e.g. the geocode error of a failed query
    result = paired_comparison(
        {"AP": A, "geo": geo_a}, {"AP": B, "geo": B}, clusters=regions, n_resamples=500
    )
    ap, geo = result["AP"], result["geo"]
    expected = cluster_bootstrap_ci(A, B, list(regions), n_resamples=500, seed=0)
    assert (ap.region_ci_low, ap.region_ci_high) == (expected.low, expected.high)
    assert geo.n == A.size - 1
    kept = cluster_bootstrap_ci(A[1:], B[1:], list(regions[1:]), n_resamples=500, seed=0)
    assert (geo.region_ci_low, geo.region_ci_high) == (kept.low, kept.high)
    assert geo.mean_a == pytest.approx(A[1:].mean())
    one_region = paired_comparison({"AP": A}, {"AP": B}, clusters=["x"] * A.size, n_resamples=50)
    assert math.isnan(one_region["AP"].region_ci_low)


def test_too_few_pairs_leave_the_statistics_undefined_and_out_of_holm() -> None:
    a = {"AP": A, "lonely": np.array([0.5] + [np.nan] * (A.size - 1))}
    b = {"AP": B, "lonely": np.array([0.7] + [np.nan] * (A.size - 1))}
    result = paired_comparison(a, b, n_resamples=200)
    lonely = result["lonely"]
    assert lonely.n == 1 and lonely.diff == pytest.approx(0.2)
    assert all(math.isnan(v) for v in (lonely.p_t, lonely.p_rand, lonely.p_t_holm, lonely.ci_low))
    # the single defined p-value is its own Holm family
    assert result["AP"].p_rand_holm == result["AP"].p_rand


def test_bad_input_is_named() -> None:
    with pytest.raises(KeyError, match="nDCG@10"):
        paired_comparison({"AP": A}, {"AP": B}, ["nDCG@10"])
    with pytest.raises(ValueError, match="no metrics"):
        paired_comparison({"AP": A}, {"AP": B}, [])
    with pytest.raises(ValueError, match="AP: need two 1-D arrays"):
        paired_comparison({"AP": A}, {"AP": B[:-1]})
    with pytest.raises(ValueError, match="cluster labels"):
        paired_comparison({"AP": A}, {"AP": B}, clusters=["x"])
    assert pd.isna(paired_comparison({"AP": A[:0]}, {"AP": B[:0]})["AP"].mean_a)


def test_region_level_sign_flip_runs_over_region_means() -> None:
    # 12 regions of unequal size: region r has r % 3 + 1 queries
    labels = [f"r{r}" for r in range(12) for _ in range(r % 3 + 1)]
    rng = np.random.default_rng(5)
    a = rng.uniform(0.2, 0.6, len(labels))
    b = a + rng.normal(0.05, 0.05, len(labels))
    result = paired_comparison({"AP": a}, {"AP": b}, clusters=labels, n_resamples=999, seed=2)
    row = result["AP"]
    ra, rb = cluster_means(a, b, labels)
    assert ra.size == row.n_regions == result.n_regions == 12
    # each region counts once: the region test equals the sign flip over region means
    assert row.p_region == randomization_test(ra, rb, n_resamples=999, seed=2).pvalue
    assert row.p_region == region_randomization_test(a, b, labels, n_resamples=999, seed=2).pvalue
    assert row.p_region_holm == row.p_region  # its own Holm family of one
    assert result.region_note() is None  # 12 regions are enough


def test_few_regions_are_flagged_and_bounded_below() -> None:
    regions = np.array(["east"] * 4 + ["west"] * 4 + ["north"] * 4)
    b = A + 0.5  # B always far better: per query p is tiny, over 3 regions it cannot be
    result = paired_comparison(
        {"AP": A, "P@5": P5_A}, {"AP": b, "P@5": P5_B}, clusters=regions, n_resamples=2000
    )
    ap = result["AP"]
    assert ap.n_regions == 3 and ap.p_rand < 0.001
    # 2**3 sign vectors, two of which reach the observed |mean|: p ~ 2/8
    assert 0.2 < ap.p_region < 0.3
    assert ap.p_region_holm >= ap.p_region
    note = result.region_note()
    assert note is not None and "only 3 region(s)" in note and "0.25" in note
    assert paired_comparison({"AP": A}, {"AP": B}, n_resamples=50).region_note() is None
    with pytest.raises(ValueError, match="at least 2 clusters"):
        region_randomization_test(A, B, ["x"] * A.size)
