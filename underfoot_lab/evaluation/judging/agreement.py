"""Inter-annotator agreement for graded relevance judgments (ordinal grades, default 0-3).

* :func:`weighted_kappa` -- Cohen's kappa for two raters, unweighted or with linear or
  quadratic disagreement weights over a fixed ordered category list.
* :func:`krippendorff_alpha` -- Krippendorff's alpha for any number of raters with missing
  values (nominal, ordinal, interval or ratio metric); agrees with the ``krippendorff`` package.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise
from typing import Literal, TypeAlias

import numpy as np
import numpy.typing as npt

FloatArray: TypeAlias = npt.NDArray[np.float64]
Weights: TypeAlias = Literal["linear", "quadratic"] | None
Level: TypeAlias = Literal["nominal", "ordinal", "interval", "ratio"]

GRADES: tuple[int, ...] = (0, 1, 2, 3)
"""The default ordinal relevance scale."""


def _category_codes(values: FloatArray, categories: Sequence[float]) -> npt.NDArray[np.int64]:
    cats = np.asarray(categories, dtype=np.float64)
    codes = np.searchsorted(cats, values)
    codes = np.minimum(codes, cats.size - 1)
    unknown = cats[codes] != values
    if unknown.any():
        raise ValueError(
            f"value {values[unknown][0]!r} is not one of the categories {list(categories)}"
        )
    return codes.astype(np.int64)


def _check_categories(categories: Sequence[float]) -> None:
    cats = list(categories)
    if len(cats) < 2 or any(b <= a for a, b in pairwise(cats)):
        raise ValueError(f"categories must be at least 2 increasing values, got {cats}")


def weighted_kappa(
    rater_a: npt.ArrayLike,
    rater_b: npt.ArrayLike,
    *,
    weights: Weights = "linear",
    categories: Sequence[float] = GRADES,
) -> float:
    """Cohen's kappa of two raters' grades, ``1 - sum(w * observed) / sum(w * expected)``.

    ``weights``: ``"linear"`` (|i - j| / (k - 1)), ``"quadratic"`` (((i - j) / (k - 1))^2) or
    None (unweighted: every disagreement weighs 1), with i, j positions in ``categories``.
    Items either rater left out (NaN/None) are dropped. Returns NaN when the expected
    disagreement is 0 (both raters used one and the same category throughout), as sklearn does.
    """
    _check_categories(categories)
    a = np.asarray(rater_a, dtype=np.float64)
    b = np.asarray(rater_b, dtype=np.float64)
    if a.ndim != 1 or a.shape != b.shape:
        raise ValueError(f"need two 1-D rating arrays of equal length, got {a.shape}, {b.shape}")
    both = ~(np.isnan(a) | np.isnan(b))
    if not both.any():
        raise ValueError("no item was rated by both raters")
    k = len(categories)
    ca = _category_codes(a[both], categories)
    cb = _category_codes(b[both], categories)
    observed = np.zeros((k, k), dtype=np.float64)
    np.add.at(observed, (ca, cb), 1.0)
    observed /= observed.sum()
    expected = np.outer(observed.sum(axis=1), observed.sum(axis=0))
    i, j = np.indices((k, k))
    if weights is None:
        w = (i != j).astype(np.float64)
    elif weights == "linear":
        w = np.abs(i - j) / (k - 1)
    elif weights == "quadratic":
        w = ((i - j) / (k - 1)) ** 2
    else:
        raise ValueError(f"weights must be 'linear', 'quadratic' or None, got {weights!r}")
    denominator = float((w * expected).sum())
    if denominator == 0.0:
        return float("nan")
    return 1.0 - float((w * observed).sum()) / denominator


def _distance(level: Level, values: FloatArray, totals: FloatArray) -> FloatArray:
    """Squared difference function delta^2(c, k) over the categories (Krippendorff 2011)."""
    if level == "nominal":
        return np.asarray(values[:, None] != values[None, :], dtype=np.float64)
    if level == "ordinal":
        # (sum of n_g for g from c to k, minus half of n_c and n_k) squared
        cumulative = np.cumsum(totals)
        c, k = np.indices((values.size, values.size))
        low, high = np.minimum(c, k), np.maximum(c, k)
        between = cumulative[high] - cumulative[low] + totals[low]
        return np.asarray((between - (totals[c] + totals[k]) / 2.0) ** 2, dtype=np.float64)
    if level == "interval":
        return np.asarray((values[:, None] - values[None, :]) ** 2, dtype=np.float64)
    if level == "ratio":
        total = values[:, None] + values[None, :]
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(total == 0, 0.0, (values[:, None] - values[None, :]) / total)
        return np.asarray(ratio**2, dtype=np.float64)
    raise ValueError(f"level must be nominal, ordinal, interval or ratio, got {level!r}")


def krippendorff_alpha(
    data: npt.ArrayLike,
    *,
    level: Level = "ordinal",
    categories: Sequence[float] | None = None,
) -> float:
    """Krippendorff's alpha for ``data`` shaped [raters, units], NaN (or None) = missing.

    Units with fewer than two ratings are not pairable and are ignored. ``categories`` is the
    ordered value domain (default: the values that occur); for the ordinal metric it matters
    only through the categories that occur. Returns NaN when there is no expected
    disagreement (every pairable rating is the same value).
    """
    matrix = np.asarray(data, dtype=np.float64)
    if matrix.ndim != 2:
        raise ValueError(f"data must be 2-D [raters, units], got shape {matrix.shape}")
    present = ~np.isnan(matrix)
    pairable = present.sum(axis=0) >= 2
    matrix, present = matrix[:, pairable], present[:, pairable]
    if not pairable.any():
        raise ValueError("no unit has two or more ratings")
    if categories is None:
        domain = np.unique(matrix[present])
    else:
        _check_categories(categories)
        domain = np.asarray(categories, dtype=np.float64)
    codes = np.zeros(matrix.shape, dtype=np.int64)
    codes[present] = _category_codes(matrix[present], list(domain.tolist()))
    # counts[u, c]: how many raters gave unit u the value c
    n_units, n_values = matrix.shape[1], domain.size
    counts = np.zeros((n_units, n_values), dtype=np.float64)
    units = np.broadcast_to(np.arange(n_units), matrix.shape)
    np.add.at(counts, (units[present], codes[present]), 1.0)
    m_u = counts.sum(axis=1)
    coincidence = np.einsum("uc,uk->ck", counts / (m_u - 1)[:, None], counts)
    coincidence -= np.diag((counts / (m_u - 1)[:, None]).sum(axis=0))
    totals = coincidence.sum(axis=1)
    n = totals.sum()
    delta = _distance(level, domain, totals)
    expected = float((np.outer(totals, totals) * delta).sum()) / (n - 1.0)
    if expected == 0.0:
        return float("nan")
    return float(1.0 - float((coincidence * delta).sum()) / expected)
