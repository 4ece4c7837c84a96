"""The feature scorer: weights x features -> scores, primary/nearby, order.

The score of an entity is a weighted sum of its scored features (:data:`SCORED_FEATURES`),
with the ``keyword_count`` term capped at ``keyword_cap`` and the total at ``cap``::

    score = min(text + source + context, cap)
    text  = w_intent * intent_match + min(w_kw * keyword_count, keyword_cap) + ...
    source = w_events * src_events + w_reddit * src_reddit + w_web * src_web
    context = ...

Each group is summed left to right in registry order and the groups are then added in that
order. That fixed association is what makes ``baseline-seed.yaml`` reproduce the seed scorer
bit for bit (the seed adds its intent and keyword bonuses, then its summed source priors);
:func:`score_rows` and ``score_pool(..., exact=True)`` follow it, while the default
``score_pool`` is one matrix product (faster, within a few ulp; use it for sweeps, and the exact
path when comparing with the pipeline).

Primary: ``score >= primary_threshold`` and, when ``primary_radius_km`` is set, a known
distance within it (entities without coordinates pass the radius test). Order: score
descending, id descending (trec_eval's order, :func:`seed.rank_order`), then the optional MMR
diversity re-rank (:mod:`.diversity`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import numpy.typing as npt

from ...records import ParsedQuery, Place, RankedResult
from .features import (
    FEATURES,
    SCORED_FEATURES,
    FeatureMatrix,
    build_features,
)
from .merge import Entity
from .seed import rank_order, to_ranked
from .weights import ScoringWeights

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

__all__ = [
    "KEYWORD_COLUMN",
    "FeatureScorer",
    "WeightBatch",
    "primary_mask",
    "rank_pool",
    "score_pool",
    "score_rows",
    "segment_index",
    "stack_weights",
    "tie_codes",
]

KEYWORD_COLUMN = SCORED_FEATURES.index("keyword_count")
"""Column of ``keyword_count`` in the scored matrix (its term is capped by ``keyword_cap``)."""
_GROUP_OF = {f.name: f.group for f in FEATURES}
_GROUPS: tuple[tuple[int, ...], ...] = tuple(
    tuple(j for j, n in enumerate(SCORED_FEATURES) if _GROUP_OF[n] == g)
    for g in ("text", "source", "context")
)


# ------------------------------------------------------------------------------ one vector
def score_rows(scored: FloatArray, weights: ScoringWeights) -> FloatArray:
    """Scores of rows of a scored-feature matrix (``[n, len(SCORED_FEATURES)]``), exactly.

    The grouped, left-to-right summation described in the module docstring; terms whose weight
    is 0 are skipped (adding ``0 * x`` never changes a float sum).
    """
    if scored.ndim != 2 or scored.shape[1] != len(SCORED_FEATURES):
        raise ValueError(
            f"expected [n, {len(SCORED_FEATURES)}] scored features, got {scored.shape}"
        )
    w = weights.vector()
    total = np.zeros(scored.shape[0], dtype=np.float64)
    for group in _GROUPS:
        acc = np.zeros(scored.shape[0], dtype=np.float64)
        for j in group:
            if w[j] == 0.0:
                continue
            term = w[j] * scored[:, j]
            if j == KEYWORD_COLUMN and weights.keyword_cap is not None:
                term = np.minimum(term, weights.keyword_cap)
            acc = acc + term
        total = total + acc
    if weights.cap is not None:
        total = np.minimum(total, weights.cap)
    return total


def primary_mask(
    scores: FloatArray, distance_km: FloatArray, threshold: float, radius_km: float | None
) -> npt.NDArray[np.bool_]:
    """Primary when ``score >= threshold`` and (no radius, unknown distance, or within it)."""
    mask = scores >= threshold
    if radius_km is not None:
        mask &= np.isnan(distance_km) | (distance_km <= radius_km)
    return mask


# ------------------------------------------------------------------------------ many vectors
@dataclass(frozen=True, slots=True)
class WeightBatch:
    """Many weight vectors stacked for :func:`score_pool` (``inf`` stands for "no cap")."""

    matrix: FloatArray
    """``[n_vectors, len(SCORED_FEATURES)]``."""
    cap: FloatArray
    keyword_cap: FloatArray
    threshold: FloatArray
    radius_km: FloatArray

    def __len__(self) -> int:
        return int(self.matrix.shape[0])


def stack_weights(weights: Sequence[ScoringWeights]) -> WeightBatch:
    """Stack weights files into one batch (their feature parameters are not part of it)."""
    inf = math.inf
    return WeightBatch(
        matrix=np.stack([w.vector() for w in weights])
        if weights
        else np.zeros((0, len(SCORED_FEATURES))),
        cap=np.array([inf if w.cap is None else w.cap for w in weights], dtype=np.float64),
        keyword_cap=np.array(
            [inf if w.keyword_cap is None else w.keyword_cap for w in weights], dtype=np.float64
        ),
        threshold=np.array([w.primary_threshold for w in weights], dtype=np.float64),
        radius_km=np.array(
            [inf if w.primary_radius_km is None else w.primary_radius_km for w in weights],
            dtype=np.float64,
        ),
    )


def _per_vector(value: float | FloatArray | None, n: int) -> FloatArray:
    if value is None:
        return np.full(n, math.inf)
    arr = np.asarray(value, dtype=np.float64)
    return np.broadcast_to(arr, (n,)) if arr.ndim == 0 else arr


def score_pool(
    matrix: FloatArray,
    weights_matrix: FloatArray,
    *,
    cap: float | FloatArray | None = 1.0,
    keyword_cap: float | FloatArray | None = None,
    exact: bool = False,
) -> FloatArray:
    """Scores of every entity of a pool under every weight vector: ``[n_vectors, n_total]``.

    ``matrix`` is ``[n_total, len(SCORED_FEATURES)]`` (all queries' rows stacked; see
    :func:`rank_pool` for the per-query offsets), ``weights_matrix`` ``[n_vectors, same]``.
    ``cap``/``keyword_cap`` are one value or one per vector (``None``/``inf``: no cap). The
    default is one matrix product then the caps; ``exact=True`` sums in the engine's fixed
    order instead, so each row equals :func:`score_rows` bit for bit (slower).
    """
    x = np.asarray(matrix, dtype=np.float64)
    w = np.asarray(weights_matrix, dtype=np.float64)
    if x.ndim != 2 or w.ndim != 2 or x.shape[1] != w.shape[1]:
        raise ValueError(f"shapes {x.shape} and {w.shape} do not align")
    n_vec = w.shape[0]
    caps = _per_vector(cap, n_vec)
    kcaps = _per_vector(keyword_cap, n_vec)
    k = KEYWORD_COLUMN if x.shape[1] == len(SCORED_FEATURES) else None
    if not exact:
        if k is None:
            out = w @ x.T
        else:
            others = [j for j in range(x.shape[1]) if j != k]
            out = w[:, others] @ x[:, others].T
            out += np.minimum(w[:, k, None] * x[None, :, k], kcaps[:, None])
        return np.minimum(out, caps[:, None], out=out)
    groups = _GROUPS if k is not None else (tuple(range(x.shape[1])),)
    total = np.zeros((n_vec, x.shape[0]), dtype=np.float64)
    for group in groups:
        acc = np.zeros_like(total)
        for j in group:
            wj = w[:, j]
            if not wj.any():
                continue
            term = wj[:, None] * x[None, :, j]
            if j == k:
                term = np.minimum(term, kcaps[:, None])
            acc = acc + term
        total = total + acc
    return np.minimum(total, caps[:, None])


def segment_index(offsets: IntArray) -> IntArray:
    """For query offsets ``[0, n0, n0+n1, ...]``, the query index of every row."""
    off: IntArray = np.asarray(offsets, dtype=np.int64)
    counts: IntArray = off[1:] - off[:-1]
    return np.repeat(np.arange(len(counts), dtype=np.int64), counts)


def tie_codes(entity_ids: Sequence[str] | npt.NDArray[np.str_]) -> IntArray:
    """Integer codes ordered like the ids (string order), for the id-descending tie-break."""
    _, inverse = np.unique(np.asarray(entity_ids, dtype=np.str_), return_inverse=True)
    return inverse.astype(np.int64).reshape(-1)


def query_layout(offsets: IntArray, ties: IntArray) -> tuple[IntArray, BoolArray]:
    """``(slots, valid)``, both ``[queries, longest]``: slot ``j`` of query ``q`` is its
    ``j``-th row in id-descending order (``rank_pool``'s layout); ``valid`` marks real slots."""
    off = np.asarray(offsets, dtype=np.int64)
    counts = off[1:] - off[:-1]
    n_total = int(off[-1]) if off.size else 0
    seg = segment_index(off)
    width = int(counts.max(initial=0))
    layout = np.lexsort((-ties, seg)) if n_total else np.zeros(0, dtype=np.int64)
    pos = np.arange(n_total, dtype=np.int64) - np.repeat(off[:-1], counts)
    slots = np.zeros((len(counts), max(width, 1)), dtype=np.int64)
    valid = np.zeros_like(slots, dtype=bool)
    slots[seg, pos] = layout
    valid[seg, pos] = True
    return slots, valid


def rank_pool(scores: FloatArray, offsets: IntArray, ties: IntArray) -> IntArray:
    """Row order for every weight vector: by query, then score desc, then id desc.

    ``scores`` is ``[n_vectors, n_total]`` (or ``[n_total]``), ``ties`` from :func:`tie_codes`.
    Row ``v`` of the result lists row indices; query ``q``'s ranking is
    ``order[v, offsets[q]:offsets[q + 1]]``.

    Queries are laid out as a padded ``[n_queries, longest]`` block with each query's rows in
    id-descending order, so one stable argsort of the negated scores per block row gives the
    trec_eval order (ties keep the id-descending layout) without a multi-key sort.
    """
    s = np.asarray(scores, dtype=np.float64)
    one = s.ndim == 1
    s2 = s[None, :] if one else s
    off = np.asarray(offsets, dtype=np.int64)
    n_total = int(off[-1]) if off.size else 0
    if s2.shape[1] != n_total or ties.shape[0] != n_total:
        raise ValueError("offsets do not cover the score columns")
    slots, valid = query_layout(off, ties)
    keys = np.where(valid, -s2[:, slots], np.inf)  # padding sorts last (stable)
    local = np.argsort(keys, axis=-1, kind="stable")
    ranked = np.take_along_axis(np.broadcast_to(slots, keys.shape), local, axis=-1)
    order = ranked[:, valid].astype(np.int64, copy=False)  # padding is at each row's end
    return order[0] if one else order


# ------------------------------------------------------------------------------ the scorer
def settings_clock() -> Callable[[], datetime]:
    """The pipeline's default clock for the current settings (offline: the world's clock)."""
    from ...settings import Settings
    from ..providers import select_providers

    settings = Settings()
    if select_providers(settings).simulated:
        fixed = settings.world_clock
        return lambda: fixed
    return lambda: datetime.now(UTC)


class FeatureScorer:
    """A :class:`~.base.Scorer` over :mod:`.features` with :class:`ScoringWeights`.

    ``clock`` gives "now" for the freshness features; pass the pipeline's clock (offline it is
    ``settings.world_clock``). Without one, the default settings decide (offline: the world
    clock, live: the wall clock).
    """

    name = "features"

    def __init__(
        self, weights: ScoringWeights, *, clock: Callable[[], datetime] | None = None
    ) -> None:
        self.weights = weights
        self.version = weights.version
        self._clock = clock or settings_clock()

    def __repr__(self) -> str:
        return f"FeatureScorer({self.version})"

    def now(self) -> datetime:
        return self._clock()

    def features(
        self, parsed: ParsedQuery, place: Place, entities: Sequence[Entity]
    ) -> FeatureMatrix:
        """The query's feature matrix with this scorer's parameters and clock."""
        return build_features(parsed, place, entities, now=self.now(), params=self.weights.params)

    def scores(self, matrix: FeatureMatrix) -> FloatArray:
        """Exact scores of a feature matrix's rows (recomputed for these weights' parameters)."""
        return score_rows(matrix.with_params(self.weights.params).scored, self.weights)

    def rank(
        self, parsed: ParsedQuery, place: Place, entities: Sequence[Entity]
    ) -> list[RankedResult]:
        return self.rank_matrix(entities, self.features(parsed, place, entities))

    def rank_matrix(self, entities: Sequence[Entity], matrix: FeatureMatrix) -> list[RankedResult]:
        """Rank entities whose features are already computed (frozen pools use this)."""
        if tuple(e.id for e in entities) != matrix.entity_ids:
            raise ValueError("feature rows do not match the entities")
        w = self.weights
        fm = matrix.with_params(w.params)
        scores = score_rows(fm.scored, w)
        primary = primary_mask(
            scores, fm.column("distance_km"), w.primary_threshold, w.primary_radius_km
        )
        keep = [*SCORED_FEATURES, "distance_km"]
        idx = [fm.names.index(n) for n in keep]
        out = []
        for i, e in enumerate(entities):
            row = fm.values[i, idx]
            feats = tuple((n, float(v)) for n, v in zip(keep, row, strict=True) if v == v)
            out.append(to_ranked(e, float(scores[i]), "primary" if primary[i] else "nearby", feats))
        ranked = rank_order(out)
        if w.diversity_lambda is not None:
            from .diversity import mmr_rerank

            ranked = mmr_rerank(ranked, w.diversity_lambda)
        return ranked
