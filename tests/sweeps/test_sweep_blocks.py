"""The block paths of the sweep evaluation equal the one-trial-at-a-time paths exactly: the top k
of every query from a partition equals ``rank_pool``'s order (exact ties included), and one
``dense_scores`` call over a block of trials equals one call per trial."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from underfoot_lab.evaluation.candidate_pools import Pool
from underfoot_lab.evaluation.metrics.dense import (
    column_grades,
    dense_scores,
    prepare,
    ranked_depth,
    ranked_scores,
)
from underfoot_lab.pipeline.score.engine import rank_pool, score_pool
from underfoot_lab.pipeline.score.weights import ScoringWeights
from underfoot_lab.sweeps import evaluate as ev
from underfoot_lab.sweeps.blocks import exact_scores, query_layout, top_rows
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


def test_exact_scores_equal_score_pool_exact(pool: Pool, default_weights: ScoringWeights) -> None:
    swept = ("text_bm25", "src_web", "keyword_count", "freshness", "hiddenness")
    space = SearchSpace({f: ParamRange(low=-1, high=1) for f in swept}, default_weights)
    batch = space.batch(space.random(ev.SUB_BATCH, seed=11))
    ((params, _),) = list(batch.groups())
    x = pool.features.with_params(params).scored
    caps = np.where(np.arange(len(batch)) % 3 == 0, np.inf, 0.75)
    kcaps = np.where(np.arange(len(batch)) % 2 == 0, np.inf, 0.1)
    got = exact_scores(np.ascontiguousarray(x.T), batch.matrix, caps, kcaps)
    want = score_pool(x, batch.matrix, cap=caps, keyword_cap=kcaps, exact=True)
    assert got.tobytes() == want.tobytes()  # bit for bit, signed zeros included
    assert np.unique(got).size > 10
    no_cap = np.full(len(batch), np.inf)  # the cap pass is skipped when no vector has a cap
    got = exact_scores(np.ascontiguousarray(x.T), batch.matrix, no_cap, kcaps)
    want = score_pool(x, batch.matrix, cap=no_cap, keyword_cap=kcaps, exact=True)
    assert got.tobytes() == want.tobytes()


def test_ir_metrics_from_the_shared_top_k_equal_dense_scores_per_trial(
    pool: Pool, default_weights: ScoringWeights
) -> None:
    # Every IR metric has a cutoff, so the block path reads them from the top-k ranking it
    # builds for the domain metrics; compare with dense_scores on each trial's own scores.
    names = ("ndcg@10", "ndcg@3", "precision@5", "recall@20", "recip_rank@10", "ap@10")
    metrics = tuple(parse_metric(m) for m in (*names, "hiddenness@10", "nearby_ratio"))
    data = ev.build_pool_data(pool, metrics, radius_km=25.0)
    assert data.ranked_ir() is not None and data.block_prepared() is None
    swept = ("text_bm25", "src_web", "hiddenness", "popularity", "keyword_count", "freshness")
    space = SearchSpace({f: ParamRange(low=-1, high=1) for f in swept}, default_weights)
    trials = [
        Trial(t.number, {k: round(v * 2) / 2 for k, v in t.params.items()})  # many exact ties
        for t in space.random(ev.SUB_BATCH + 5, seed=5)
    ]
    batch = space.batch(trials)
    got = ev.evaluate_batch(data, batch, per_query=True)
    assert data.prepared is not None
    measures = [m.measure or "" for m in metrics[: len(names)]]
    ((params, _),) = list(batch.groups())
    x = data.features.with_params(params).scored
    for i in range(len(batch)):
        scores = score_pool(
            x, batch.matrix[i : i + 1], cap=batch.cap[i : i + 1],
            keyword_cap=batch.keyword_cap[i : i + 1], exact=True,
        )[0]  # fmt: skip
        want = dense_scores(data.prepared, scores[data.candidate_index], measures)
        values = got[i][data.prepared_rows][:, : len(names)]
        assert values.tobytes() == want.tobytes(), i
    assert got[:, :, 0].max() > 0
    # the nearby ratio's segmented count equals a per-query count
    scores = score_pool(x, batch.matrix, cap=batch.cap, keyword_cap=batch.keyword_cap, exact=True)
    primary = ev._primary(data, scores, batch.threshold, batch.radius_km)
    off = data.offsets
    for q in range(data.n_queries):
        a, b = int(off[q]), int(off[q + 1])
        want_q = (~primary[:, a:b]).sum(axis=1) / (b - a) if b > a else np.full(len(batch), np.nan)
        if not data.query_error[q]:
            assert np.array_equal(got[:, q, -1], want_q, equal_nan=True), q


def test_ranked_scores_equal_dense_scores() -> None:
    qrels = {"q1": {"a": 2, "b": 0, "c": 1, "z": 3}, "q2": {"x": 1}, "q3": {"d": 1}}
    candidates = {"q1": ["a", "b", "c", "d", "e"], "q2": ["x", "y"], "q3": ["d"]}
    prepared = prepare(qrels, candidates)
    scores = np.array([[0.5, 0.5, 0.9, 0.1, 0.5], [0.2, 0.2, 0, 0, 0], [1.0, 0, 0, 0, 0]])
    measures = ["nDCG@3", "P@2", "RR@10", "AP@4", "R@3"]
    want = dense_scores(prepared, scores, measures)
    grades = column_grades(prepared)
    depth = ranked_depth(measures)
    assert depth == 10
    ranked = np.full((3, depth), -1, dtype=np.int64)
    for i, qid in enumerate(prepared.qids):
        n = int(prepared.lengths[i])
        cand = candidates[qid]
        order = sorted(range(n), key=lambda c: (-scores[i, c], [-ord(ch) for ch in cand[c]]))
        ranked[i, :n] = grades[i, order]
    assert prepared.qids == ("q1", "q2", "q3")
    got = ranked_scores(prepared, ranked, measures)
    assert got.tobytes() == want.tobytes()
    tiled = ranked_scores(
        prepared, np.concatenate([ranked, ranked]), measures, np.array([0, 1, 2] * 2)
    )
    assert np.array_equal(tiled, np.concatenate([want, want]))
    assert want[0, 0] > 0
