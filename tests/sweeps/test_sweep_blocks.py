"""The block paths of the sweep evaluation equal the one-trial-at-a-time paths exactly: the top k
of every query from a partition equals ``rank_pool``'s order (exact ties included), and one
``dense_scores`` call over a block of trials equals one call per trial."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from underfoot_lab.evaluation.candidate_pools import Pool
from underfoot_lab.pipeline.score.engine import rank_pool
from underfoot_lab.pipeline.score.weights import ScoringWeights
from underfoot_lab.sweeps import evaluate as ev
from underfoot_lab.sweeps.blocks import query_layout, top_rows
from underfoot_lab.sweeps.search import SearchSpace, Trial
from underfoot_lab.sweeps.spec import ParamRange, parse_metric


def _reference_top(scores: Any, offsets: Any, ties: Any, k: int) -> tuple[Any, Any]:
    order = rank_pool(scores, offsets, ties)
    counts = np.diff(offsets)
    cols = np.arange(k)
    valid = cols[None, :] < counts[:, None]
    return order[:, np.where(valid, offsets[:-1, None] + cols[None, :], 0)], valid


def test_top_rows_equal_rank_pool_with_many_ties() -> None:
    rng = np.random.default_rng(3)
    counts = np.array([0, 1, 3, 10, 25, 7, 40])
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    ties = rng.permutation(int(offsets[-1])).astype(np.int64)
    layout = query_layout(offsets, ties)
    for k in (1, 3, 10, 50):
        # Scores from a handful of values: most comparisons are exact ties.
        scores = rng.integers(0, 4, size=(9, int(offsets[-1]))).astype(np.float64) / 4
        scores[0] = 0.0  # everything tied
        scores[1, :5] = -np.inf
        expected, valid = _reference_top(scores, offsets, ties, k)
        got = top_rows(scores, offsets, ties, k, layout)
        assert got.shape == expected.shape
        mask = np.broadcast_to(valid[None], got.shape)
        assert np.array_equal(got[mask], expected[mask]), k


def test_top_rows_with_nan_scores_falls_back_to_the_full_sort() -> None:
    offsets = np.array([0, 3, 5], dtype=np.int64)
    ties = np.arange(5, dtype=np.int64)
    scores = np.array([[0.5, np.nan, 0.5, 1.0, 0.0]])
    expected, valid = _reference_top(scores, offsets, ties, 2)
    got = top_rows(scores, offsets, ties, 2)
    assert np.array_equal(got[:, valid], expected[:, valid])


def test_a_block_of_trials_scores_as_trials_one_by_one(
    pool: Pool, default_weights: ScoringWeights
) -> None:
    metrics = tuple(
        parse_metric(m)
        for m in ("ndcg@10", "ap", "recip_rank", "hiddenness@10", "geo_precision@10")
    )
    data = ev.build_pool_data(pool, metrics, radius_km=25.0)
    swept = ("text_bm25", "src_web", "hiddenness", "popularity", "keyword_count", "freshness")
    space = SearchSpace({f: ParamRange(low=-1, high=1) for f in swept}, default_weights)
    # Coarse weights (multiples of 0.5) make exact ties common.
    trials = [
        Trial(t.number, {k: round(v * 2) / 2 for k, v in t.params.items()})
        for t in space.random(ev.SUB_BATCH, seed=7)
    ]
    batch = space.batch(trials)
    assert len(batch) == ev.SUB_BATCH
    blocked = ev.evaluate_batch(data, batch, per_query=True)
    assert data.block_prepared() is not None

    plain = dataclasses.replace(data, block_inputs=None, _blocks={})
    assert plain.block_prepared() is None
    one_by_one = np.concatenate(
        [ev.evaluate_batch(plain, batch.take([i]), per_query=True) for i in range(len(batch))]
    )
    assert np.array_equal(blocked, one_by_one, equal_nan=True)
    assert np.isfinite(blocked[:, :, 0]).all() and blocked[:, :, 0].max() > 0
