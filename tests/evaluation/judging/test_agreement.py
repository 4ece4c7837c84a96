"""Weighted kappa and Krippendorff's alpha."""

from __future__ import annotations

import math

import numpy as np
import pytest

from underfoot_lab.evaluation.judging.agreement import krippendorff_alpha, weighted_kappa

nan = math.nan

# Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", the worked example:
# 4 observers, 12 units, values 1-5, missing values. Published: nominal 0.743, ordinal 0.815,
# interval 0.849, ratio 0.797.
KRIPPENDORFF_EXAMPLE = [
    [1, 2, 3, 3, 2, 1, 4, 1, 2, nan, nan, nan],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, nan, 3],
    [nan, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, nan],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, nan],
]


def test_weighted_kappa_hand_computed() -> None:
    # Raters agree on items 1, 2, 4 and differ by one grade on item 3 (2 vs 3), scale 0-3.
    # Observed (each cell 1/4): (0,0) (1,1) (2,3) (3,3). Marginals: A 1/4 each;
    # B 1/4, 1/4, 0, 1/2.
    # linear:    sum w*O = (1/3)(1/4) = 1/12; sum w*E = (1/4)(1/3)(6/4 + 4/4 + 6/2) = 5.5/12
    #            kappa = 1 - 1/5.5 = 9/11
    # quadratic: sum w*O = (1/9)(1/4) = 1/36; sum w*E = (1/4)(1/9)(14/4 + 6/4 + 14/2) = 1/3
    #            kappa = 1 - 1/12 = 11/12
    # unweighted: p_o = 3/4, p_e = 1/4 -> kappa = (3/4 - 1/4) / (3/4) = 2/3
    a, b = [0, 1, 2, 3], [0, 1, 3, 3]
    assert weighted_kappa(a, b, weights="linear") == pytest.approx(9 / 11, abs=1e-12)
    assert weighted_kappa(a, b, weights="quadratic") == pytest.approx(11 / 12, abs=1e-12)
    assert weighted_kappa(a, b, weights=None) == pytest.approx(2 / 3, abs=1e-12)
    assert weighted_kappa(a, a) == 1.0


def test_weighted_kappa_matches_sklearn() -> None:
    metrics = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(0)
    for _ in range(20):
        a = rng.integers(0, 4, 60)
        b = np.clip(a + rng.integers(-2, 3, 60), 0, 3)
        for weights in ("linear", "quadratic", None):
            expected = metrics.cohen_kappa_score(a, b, weights=weights, labels=[0, 1, 2, 3])
            assert weighted_kappa(a, b, weights=weights) == pytest.approx(expected, abs=1e-12)


def test_weighted_kappa_drops_missing_pairs_and_checks_input() -> None:
    assert weighted_kappa([0, 1, nan, 3, 2], [0, 1, 2, nan, 3]) == weighted_kappa(
        [0, 1, 2], [0, 1, 3]
    )
    assert math.isnan(weighted_kappa([2, 2, 2], [2, 2, 2]))  # no expected disagreement
    with pytest.raises(ValueError, match="not one of the categories"):
        weighted_kappa([0, 4], [0, 1])
    with pytest.raises(ValueError, match="equal length"):
        weighted_kappa([0, 1], [0])
    with pytest.raises(ValueError, match="rated by both"):
        weighted_kappa([nan, 1], [0, nan])
    with pytest.raises(ValueError, match="weights"):
        weighted_kappa([0, 1], [0, 1], weights="cubic")  # type: ignore[arg-type]
    # other scales
    assert weighted_kappa([1, 2], [1, 2], categories=(1, 2, 3, 4, 5)) == 1.0


@pytest.mark.parametrize(
    ("level", "published"),
    [("nominal", 0.743), ("ordinal", 0.815), ("interval", 0.849), ("ratio", 0.797)],
)
def test_krippendorff_published_example(level: str, published: float) -> None:
    krippendorff = pytest.importorskip("krippendorff")
    ours = krippendorff_alpha(KRIPPENDORFF_EXAMPLE, level=level)  # type: ignore[arg-type]
    assert ours == pytest.approx(published, abs=5e-4)
    package = krippendorff.alpha(reliability_data=KRIPPENDORFF_EXAMPLE, level_of_measurement=level)
    assert ours == pytest.approx(package, abs=1e-12)


def test_krippendorff_matches_package_on_random_graded_judgments() -> None:
    krippendorff = pytest.importorskip("krippendorff")
    rng = np.random.default_rng(3)
    for _ in range(20):
        truth = rng.integers(0, 4, 50)
        data = np.clip(truth + rng.integers(-1, 2, (4, 50)), 0, 3).astype(float)
        data[rng.random(data.shape) < 0.35] = np.nan
        expected = krippendorff.alpha(
            reliability_data=data, level_of_measurement="ordinal", value_domain=[0, 1, 2, 3]
        )
        assert krippendorff_alpha(data, categories=(0, 1, 2, 3)) == pytest.approx(
            expected, abs=1e-12
        )


def test_krippendorff_edge_cases() -> None:
    # units rated once are not pairable and do not change alpha
    with_singletons = [
        [*row, v] for row, v in zip(KRIPPENDORFF_EXAMPLE, [3, nan, nan, nan], strict=True)
    ]
    assert krippendorff_alpha(with_singletons) == krippendorff_alpha(KRIPPENDORFF_EXAMPLE)
    assert math.isnan(krippendorff_alpha([[2, 2, 2], [2, 2, 2]]))
    assert krippendorff_alpha([[0, 1, 2, 3], [0, 1, 2, 3]]) == 1.0
    with pytest.raises(ValueError, match="two or more ratings"):
        krippendorff_alpha([[1, nan], [nan, 2]])
    with pytest.raises(ValueError, match="2-D"):
        krippendorff_alpha([1, 2, 3])
    with pytest.raises(ValueError, match="level"):
        krippendorff_alpha([[0, 1], [0, 1]], level="fuzzy")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="not one of the categories"):
        krippendorff_alpha([[0, 7], [0, 1]], categories=(0, 1, 2, 3))
