"""Block helpers for :mod:`.evaluate`: the top k of every query for a block of trials, and the
pool's qrels laid out once for a whole block of trials.

Both give exactly what the one-trial-at-a-time path gives (tests compare them):

* :func:`top_rows` -- the first ``k`` rows of each query's ranking (score descending, ties by
  entity id descending), as :func:`~underfoot_lab.pipeline.score.engine.rank_pool` orders them,
  from a partition instead of a full sort of every query: the domain metrics read only the top
  ``k``. The query layout (each query's rows in id-descending order) is computed once per pool.
* :func:`block_prepared` -- the pool's :class:`~underfoot_lab.evaluation.metrics.dense.DenseQrels`
  repeated ``n`` times (query ids prefixed by the copy's number, so the rows of copy ``t`` are
  rows ``t * R .. t * R + R - 1`` in the original order), so one
  :func:`~underfoot_lab.evaluation.metrics.dense.dense_scores` call scores ``n`` trials: every
  row is computed on its own, so the values are those of ``n`` separate calls.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from ..pipeline.score.engine import _GROUPS, KEYWORD_COLUMN, query_layout, rank_pool
from ..pipeline.score.features import SCORED_FEATURES

if TYPE_CHECKING:  # pragma: no cover
    from ..evaluation.metrics.dense import DenseQrels

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

__all__ = ["Workspace", "block_prepared", "exact_scores", "query_layout", "top_rows"]


class Workspace:
    """Scratch arrays reused from one block of trials to the next (one per
    :func:`.evaluate.evaluate_batch` call, never shared between threads): the
    ``[trials x entities]`` temporaries are a few MB each, and allocating them afresh for
    every block costs page faults (system time) and cache misses."""

    def __init__(self) -> None:
        self._arrays: dict[str, npt.NDArray[Any]] = {}

    def get(self, name: str, shape: tuple[int, ...], dtype: Any = np.float64) -> Any:
        """An uninitialised array of ``shape`` and ``dtype`` (the same memory as the last
        call with this ``name`` when it is big enough; callers overwrite it)."""
        size = int(np.prod(shape))
        found = self._arrays.get(name)
        if found is None or found.dtype != np.dtype(dtype) or found.size < size:
            found = self._arrays[name] = np.empty(size, dtype=dtype)
        return found[:size].reshape(shape)


def exact_scores(
    features_t: FloatArray,
    weights: FloatArray,
    cap: FloatArray,
    keyword_cap: FloatArray,
    ws: Workspace | None = None,
) -> FloatArray:
    """``score_pool(features_t.T, weights, cap=cap, keyword_cap=keyword_cap, exact=True)``,
    bit for bit, for a block of weight vectors.

    The same IEEE operations in the same order (each group summed left to right from zero,
    the keyword term capped, the groups summed from zero, then the cap; a feature whose
    weight is zero for every vector of the block skipped), but in place on two preallocated
    ``[vectors, entities]`` buffers and reading each feature as one contiguous row of the
    transposed matrix, rather than allocating a new array per term. With ``ws`` the result
    lives in the workspace (valid until the next call with it).
    """
    n_vec = weights.shape[0]
    n = features_t.shape[1]
    grouped = features_t.shape[0] == len(SCORED_FEATURES)
    groups = _GROUPS if grouped else (tuple(range(features_t.shape[0])),)
    kcol = KEYWORD_COLUMN if grouped else -1
    ws = ws or Workspace()
    total: FloatArray = ws.get("scores", (n_vec, n))
    total.fill(0.0)
    acc = ws.get("acc", (n_vec, n))
    term = ws.get("term", (n_vec, n))
    for group in groups:
        acc.fill(0.0)
        for j in group:
            wj = weights[:, j]
            if not wj.any():
                continue
            np.multiply(wj[:, None], features_t[j][None, :], out=term)
            if j == kcol:
                np.minimum(term, keyword_cap[:, None], out=term)
            np.add(acc, term, out=acc)
        np.add(total, acc, out=total)
    if not np.isposinf(cap).all():  # min(x, inf) is x, NaN included: skip the pass
        np.minimum(total, cap[:, None], out=total)
    return total


def top_rows(
    scores: FloatArray,
    offsets: IntArray,
    ties: IntArray,
    k: int,
    layout: tuple[IntArray, BoolArray] | None = None,
    ws: Workspace | None = None,
) -> IntArray:
    """``[trials, queries, k]``: the entity rows ranked 1..k in each query (score desc, id desc),
    equal to ``rank_pool(scores, offsets, ties)[:, offsets[q] + j]`` wherever ``j`` is below
    the query's row count (other slots hold arbitrary rows: callers mask them)."""
    slots, valid = layout if layout is not None else query_layout(offsets, ties)
    b = scores.shape[0]
    nq, width = slots.shape
    if nq == 0 or k < 1 or np.isnan(scores).any():
        # NaN would upset the partition's comparisons; the full sort handles it as rank_pool.
        order = rank_pool(scores, offsets, ties)
        counts = np.diff(offsets)
        cols = np.arange(k, dtype=np.int64)
        pick = np.where(cols[None, :] < counts[:, None], offsets[:-1, None] + cols[None, :], 0)
        picked: IntArray = order[:, pick] if order.size else np.zeros((b, nq, k), dtype=np.int64)
        return picked
    kk = min(k, width)
    # The negated scores with one +inf column that padding slots point at: one gather lays
    # out every query's keys (padding, +inf, sorts after every real row).
    n = scores.shape[1]
    ws = ws or Workspace()
    neg = ws.get("neg", (b, n + 1))
    np.negative(scores, out=neg[:, :n])
    neg[:, n] = np.inf
    keys = ws.get("keys", (b, nq * width))
    np.take(neg, np.where(valid, slots, n).reshape(-1), axis=1, out=keys)
    keys = keys.reshape(b * nq, width)
    # The stable argsort's first kk columns, exactly: everything below the kk-th smallest key,
    # then its ties in slot order.
    kth = np.partition(keys, kk - 1, axis=1)[:, kk - 1 : kk]
    chosen = np.less_equal(keys, kth, out=ws.get("chosen", keys.shape, np.bool_))
    # Where exactly kk keys are <= the kk-th (no tie straddles it) those are the kk; only
    # the other rows (ties at the boundary, short queries' padding) count ties in slot order.
    crowded = np.flatnonzero(chosen.sum(axis=1) != kk)
    if crowded.size:
        sub = keys[crowded]
        below = sub < kth[crowded]
        tied = sub == kth[crowded]
        room = kk - below.sum(axis=1, keepdims=True)
        chosen[crowded] = below | (tied & (np.cumsum(tied, axis=1) <= room))
    pos = np.flatnonzero(chosen.reshape(-1)).reshape(b * nq, kk) % width
    head = np.take_along_axis(keys, pos, axis=1)
    pos = np.take_along_axis(pos, np.argsort(head, axis=1, kind="stable"), axis=1)
    rows: IntArray = slots[np.repeat(np.arange(nq), kk).reshape(1, nq, kk), pos.reshape(b, nq, kk)]
    if kk < k:
        rows = np.concatenate([rows, np.zeros((b, nq, k - kk), dtype=np.int64)], axis=-1)
    return rows


def block_prepared(
    qrels: Mapping[str, Mapping[str, int]], candidates: Mapping[str, Sequence[str]], n: int
) -> DenseQrels:
    """The qrels and candidates of :func:`~underfoot_lab.evaluation.metrics.dense.prepare`,
    repeated ``n`` times (see the module docstring for the row order)."""
    from ..evaluation.metrics.dense import prepare

    digits = len(str(max(n - 1, 0)))
    q2: dict[str, Mapping[str, int]] = {}
    c2: dict[str, Sequence[str]] = {}
    for t in range(n):
        prefix = f"{t:0{digits}d}#"
        for qid, docs in qrels.items():
            q2[prefix + qid] = docs
        for qid, cands in candidates.items():
            c2[prefix + qid] = cands
    return prepare(q2, c2, rel_threshold=1, on_missing="zero")
