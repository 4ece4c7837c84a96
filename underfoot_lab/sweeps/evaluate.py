"""Dense, vectorised evaluation of many weight settings over a frozen pool.

:func:`build_pool_data` turns a :class:`~underfoot_lab.evaluation.candidate_pools.Pool` into
:class:`PoolData`: plain arrays a worker needs (the feature matrix, query offsets, tie codes,
the qrels -- every entity's grade plus the relevant places no entity resolves to,
:meth:`~underfoot_lab.evaluation.candidate_pools.Pool.qrels` -- laid out once by
:func:`underfoot_lab.evaluation.metrics.dense.prepare`, and one value per
entity for each domain metric). :func:`evaluate_batch` then scores a :class:`~.search.TrialBatch`:

1. **scores** -- :func:`.blocks.exact_scores`: ``score_pool(features, weights, exact=True)``
   (the feature scorer's own grouped summation with its caps) done in place on a block of
   trials, so every score equals :meth:`FeatureScorer.scores` bit for bit and rankings
   (score desc, id desc) equal :meth:`FeatureScorer.rank` -- exact ties included;
2. **ranking** -- :func:`.blocks.top_rows`: each query's top ``k`` (the deepest metric
   cutoff), as :func:`~underfoot_lab.pipeline.score.engine.rank_pool` orders them;
   **IR metrics** -- when every IR metric has a cutoff, the grades of that same top ``k``
   go to :func:`~underfoot_lab.evaluation.metrics.dense.ranked_scores` (no second ranking);
   otherwise :func:`~underfoot_lab.evaluation.metrics.dense.dense_scores` on each trial's
   ``[queries x candidates]`` score block. Either way the values equal
   :func:`~underfoot_lab.evaluation.metrics.kernel.evaluate` on a run built from the scores;
3. **domain metrics** -- from the same top ``k`` and per-entity values, vectorised, with
   :mod:`underfoot_lab.evaluation.metrics.domain`'s
   definitions: ``hiddenness@k`` (mean over the top k with a popularity signal, the world's
   latent review count offline; NaN when none has one), ``geo_precision@k`` (share of the
   top k with a known distance within ``settings.primary_radius_km``), ``corroboration@k``,
   ``expired_event_rate@k`` and ``nearby_ratio`` (the trial's own primary/nearby rule:
   ``score >= primary_threshold`` and within ``primary_radius_km``). A query that failed when
   the pool was built scores each metric's ``on_error`` value (0, or NaN where lower is
   better / descriptive), as the evaluation report does.

Per-query values go into a ``[trials, queries, metrics]`` block; unless asked for it, workers
return only per-region sums and counts of finite values (:class:`BatchResult`), from which the
means over any set of regions follow (:meth:`BatchResult.means`; NaN values are skipped, as
the report's means skip them). Nothing here depends on how trials are chunked, so any
executor gives bit-identical results.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from ..errors import ConfigError
from ..pipeline.score.engine import rank_pool
from ..pipeline.score.features import FeatureMatrix, FeatureParams
from .blocks import Workspace, block_prepared, exact_scores, query_layout, top_rows
from .search import TrialBatch
from .spec import MetricRef, parse_metric

if TYPE_CHECKING:  # pragma: no cover
    from ..evaluation.candidate_pools import Pool
    from ..evaluation.metrics.dense import DenseQrels
    from ..world import World

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

__all__ = [
    "BatchResult",
    "PoolData",
    "build_pool_data",
    "entity_domain_values",
    "evaluate_batch",
    "evaluate_weights",
    "trial_rankings",
]

SUB_BATCH = 32
"""Trials scored together inside a chunk (keeps the ``[trials x entities]`` blocks in cache)."""
_ON_ERROR = {
    "hiddenness": 0.0,
    "geo_precision": 0.0,
    "corroboration": 0.0,
    "expired_event_rate": math.nan,
    "nearby_ratio": math.nan,
}


# ------------------------------------------------------------------------------ pool data
@dataclass(frozen=True, eq=False)
class PoolData:
    """Everything a worker needs to evaluate trials on one pool (picklable, read-only)."""

    query_ids: tuple[str, ...]
    regions: tuple[str, ...]
    """Distinct region labels, sorted (``unlabelled`` for queries without one)."""
    query_region: IntArray
    """Index into ``regions`` of every query."""
    query_error: BoolArray
    """Queries the pipeline rejected when the pool was built (no entities)."""
    offsets: IntArray
    ties: IntArray
    features: FeatureMatrix
    hidden: FloatArray
    """Per entity: domain hiddenness of its popularity; NaN when it has no popularity signal."""
    inside: BoolArray
    """Per entity: a known distance within ``radius_km``."""
    expired: BoolArray
    """Per entity: an event whose latest start is before the pool's clock."""
    n_sources: FloatArray
    """Per entity: distinct sources mentioning it."""
    prepared: DenseQrels | None
    """The pool's qrels (unretrieved relevant places included) laid out for
    :func:`measures.dense_scores` (None: nothing judged)."""
    prepared_rows: IntArray
    """Pool query index of every prepared row."""
    candidate_index: IntArray
    """``[prepared rows, width]``: entity row of each candidate column (0 in padding)."""
    metrics: tuple[MetricRef, ...]
    radius_km: float
    pool_key: str = ""
    block_inputs: tuple[dict[str, dict[str, int]], dict[str, list[str]]] | None = field(
        default=None, repr=False
    )
    """The qrels and candidates ``prepared`` was laid out from (for :meth:`block_prepared`)."""
    _scored: dict[FeatureParams, FloatArray] = field(default_factory=dict, repr=False)
    _blocks: dict[str, Any] = field(default_factory=dict, repr=False)

    def layout(self) -> tuple[IntArray, BoolArray]:
        """Each query's rows in id-descending order (:func:`.blocks.query_layout`), once."""
        found = self._blocks.get("layout")
        if found is None:
            found = self._blocks["layout"] = query_layout(self.offsets, self.ties)
        return found

    def ranked_ir(self) -> tuple[int, IntArray] | None:
        """``(depth, grades)`` when every IR metric has a cutoff: the IR metrics are then read
        from the same top ``depth`` ranking as the domain metrics
        (:func:`~underfoot_lab.evaluation.metrics.dense.ranked_scores`), ``grades`` holding
        every entity row's grade in its query (-1: unjudged; a trailing -1 for padding).
        None otherwise (or when nothing is judged)."""
        if self.prepared is None:
            return None
        found = self._blocks.get("ranked_ir")
        if found is None:
            from ..evaluation.metrics.dense import column_grades, ranked_depth

            depth = ranked_depth([m.measure or "" for m in self.metrics if m.kind == "ir"])
            if depth is None:
                found = self._blocks["ranked_ir"] = (0, np.zeros(0, dtype=np.int64))
            else:
                grades = np.full(self.n_entities + 1, -1, dtype=np.int64)
                by_column = column_grades(self.prepared)
                cols = np.arange(by_column.shape[1]) if by_column.size else np.zeros(0, int)
                counts = np.diff(self.offsets)[self.prepared_rows]
                real = cols[None, :] < counts[:, None]
                grades[self.candidate_index[:, : by_column.shape[1]][real]] = by_column[real]
                found = self._blocks["ranked_ir"] = (depth, grades)
        return None if found[0] == 0 else found

    def block_prepared(self) -> DenseQrels | None:
        """``prepared`` repeated :data:`SUB_BATCH` times (:func:`.blocks.block_prepared`), so
        one ``dense_scores`` call scores a whole block of trials; built once (call it before
        workers fork so they share it). None when nothing is judged, or when the IR metrics
        come from the shared top-k ranking (:meth:`ranked_ir`) and need no such block."""
        if self.prepared is None or self.block_inputs is None or self.ranked_ir() is not None:
            return None
        found = self._blocks.get("prepared")
        if found is None:
            found = self._blocks["prepared"] = block_prepared(*self.block_inputs, SUB_BATCH)
        return found

    @property
    def n_queries(self) -> int:
        return len(self.query_ids)

    @property
    def n_entities(self) -> int:
        return int(self.offsets[-1]) if self.offsets.size else 0

    @property
    def metric_names(self) -> tuple[str, ...]:
        return tuple(m.name for m in self.metrics)

    def region_mask(self, regions: Iterable[str]) -> BoolArray:
        """Which of :attr:`regions` are in ``regions``."""
        wanted = set(regions)
        return np.array([r in wanted for r in self.regions], dtype=bool)

    def query_mask(self, regions: Iterable[str]) -> BoolArray:
        """Which queries belong to ``regions``."""
        return self.region_mask(regions)[self.query_region]

    def scored(self, params: FeatureParams) -> FloatArray:
        """The scored feature columns for ``params``, transposed (``[features, entities]``,
        each feature one contiguous row for :func:`.blocks.exact_scores`; cached per worker)."""
        hit = self._scored.get(params)
        if hit is None:
            hit = np.ascontiguousarray(self.features.with_params(params).scored.T)
            if len(self._scored) >= 8:
                self._scored.clear()
            self._scored[params] = hit
        return hit

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_scored"] = {}  # caches stay where they were built
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)


def _to_ranked(entity: Any) -> Any:
    from ..pipeline.score.seed import to_ranked

    return to_ranked(entity, 0.0, "nearby", ())


def entity_domain_values(
    pool: Pool, *, radius_km: float, world: World | None, clock: datetime
) -> dict[str, FloatArray | BoolArray]:
    """Per-entity inputs of the domain metrics, in pool row order.

    ``hidden`` (NaN: no popularity signal), ``inside``, ``expired``, ``n_sources``; computed
    with :mod:`underfoot_lab.evaluation.metrics.domain`'s own functions on each entity as a ranked
    result, so the vectorised metrics agree with them exactly.
    """
    from ..evaluation.metrics.domain import hiddenness, is_expired_event

    resolve: Any = None
    if world is not None:
        from ..evaluation.judging.world_judge import resolve_entity

        resolve = resolve_entity
    n = pool.features.values.shape[0]
    hidden = np.full(n, math.nan, dtype=np.float64)
    inside = np.zeros(n, dtype=bool)
    expired = np.zeros(n, dtype=bool)
    n_sources = np.zeros(n, dtype=np.float64)
    row = 0
    for q in pool:
        for e in q.entities:
            r = _to_ranked(e)
            popularity: float | None = None
            if resolve is not None:
                hit = resolve(world, r)
                if hit is not None:
                    popularity = float(hit.reviews)
            if popularity is None:
                seen = [m.reviews for m in r.mentions if m.reviews is not None]
                popularity = float(max(seen)) if seen else None
            if popularity is not None:
                hidden[row] = hiddenness(popularity)
            inside[row] = r.distance_km is not None and r.distance_km <= radius_km
            expired[row] = is_expired_event(r, clock)
            n_sources[row] = float(len(set(r.sources)))
            row += 1
    if row != n:  # pragma: no cover - the pool's records and arrays are built together
        raise ValueError("pool records and feature rows disagree")
    return {"hidden": hidden, "inside": inside, "expired": expired, "n_sources": n_sources}


def _pool_world(pool: Pool) -> World | None:
    """The world the pool was built in (seed, clock, scenario), its scenario hash checked:
    a pool is never judged by another world's truth (ConfigError when the world changed)."""
    from ..harness import WorldIdentity, load_world

    m = pool.manifest
    if m.world_seed is None or not m.world_clock:
        return None
    if not m.world or not m.world_hash:
        raise ConfigError(
            f"pool {pool.path or m.region_set} records no scenario world; re-create it with "
            f"`underfoot-lab snapshot create --region-set {m.region_set} --force`"
        )
    identity = WorldIdentity(m.world, m.world_hash, m.world_path)
    what = f"pool {pool.path.name if pool.path else m.region_set} was built"
    return load_world(identity, m.world_seed, datetime.fromisoformat(m.world_clock), what=what)


def build_pool_data(
    pool: Pool,
    metrics: Sequence[MetricRef | str],
    *,
    radius_km: float = 25.0,
    world: World | str | None = "auto",
    cache_dir: str | Path | None = None,
) -> PoolData:
    """Lay a pool out for :func:`evaluate_batch` (once per sweep; workers get a copy).

    ``radius_km`` is the geo-precision radius (``settings.primary_radius_km``); ``world`` the
    offline world whose latent popularity defines hiddenness (``"auto"``: the pool's world,
    from its manifest; None: mention review counts only). Resolving every entity in the world
    takes a few seconds for a 9,000-entity pool; with ``cache_dir`` the per-entity values are
    kept there (``<pool key>-<inputs hash>-<settings digest>.npz``) and reused while the pool,
    its world and the radius stay the same.
    """
    from ..evaluation.metrics.dense import prepare

    refs = tuple(m if isinstance(m, MetricRef) else parse_metric(m) for m in metrics)
    if not refs:
        raise ValueError("no metric to compute")
    cache_file = None
    if cache_dir is not None:
        cache_file = Path(cache_dir) / _cache_name(pool, radius_km, world)
    values = _read_cache(cache_file, pool.features.values.shape[0])
    if values is None:
        w = _pool_world(pool) if world == "auto" else world
        assert not isinstance(w, str)
        values = entity_domain_values(pool, radius_km=radius_km, world=w, clock=pool.now)
        _write_cache(cache_file, values)

    qtab = pool.tables["queries"]
    labels = [r or "unlabelled" for r in qtab.column("region").to_pylist()]
    regions = tuple(sorted(set(labels)))
    code = {r: i for i, r in enumerate(regions)}
    errors = np.array([e is not None for e in qtab.column("error").to_pylist()], dtype=bool)

    offsets = np.asarray(pool.offsets, dtype=np.int64)
    counts = np.diff(offsets)
    ids = pool.entity_ids
    judged = [qi for qi in range(len(pool)) if counts[qi] > 0]
    prepared: DenseQrels | None = None
    qrels: dict[str, dict[str, int]] = {}
    candidates: dict[str, list[str]] = {}
    rows = np.zeros(0, dtype=np.int64)
    cand = np.zeros((0, 0), dtype=np.int64)
    if judged and any(m.kind == "ir" for m in refs):
        # The pool's qrels: every entity plus the relevant places no entity resolves to
        # (``world:<id>``, never a candidate), so they count in the ideal DCG and in the
        # recall/AP denominators exactly as in measures.evaluate. Queries without entities
        # score 0 on every IR metric either way and stay out of the dense block.
        all_qrels = pool.qrels()
        for qi in judged:
            a, b = int(offsets[qi]), int(offsets[qi + 1])
            qid = pool.query_ids[qi]
            qrels[qid] = all_qrels[qid]
            candidates[qid] = list(ids[a:b])
        prepared = prepare(qrels, candidates, rel_threshold=1, on_missing="zero")
        qindex = pool.query_index
        rows = np.array([qindex[q] for q in prepared.qids], dtype=np.int64)
        width = max(prepared.width, 1)
        cols = np.arange(width, dtype=np.int64)
        cand = np.where(
            cols[None, :] < counts[rows][:, None], offsets[rows][:, None] + cols[None, :], 0
        )
    return PoolData(
        query_ids=tuple(pool.query_ids),
        regions=regions,
        query_region=np.array([code[r] for r in labels], dtype=np.int64),
        query_error=errors,
        offsets=offsets,
        ties=np.asarray(pool.ties, dtype=np.int64),
        features=pool.features,
        hidden=values["hidden"].astype(np.float64),
        inside=values["inside"].astype(bool),
        expired=values["expired"].astype(bool),
        n_sources=values["n_sources"].astype(np.float64),
        prepared=prepared,
        prepared_rows=rows,
        candidate_index=cand.astype(np.int64),
        metrics=refs,
        radius_km=float(radius_km),
        pool_key=pool.manifest.pool_key,
        block_inputs=(qrels, candidates) if prepared is not None else None,
    )


CACHE_VERSION = 1
"""Bumped when :func:`entity_domain_values` changes what it computes (old files are ignored)."""
_CACHE_KEYS = ("hidden", "inside", "expired", "n_sources")


def _cache_name(pool: Pool, radius_km: float, world: Any) -> str:
    m = pool.manifest
    mode = "auto" if isinstance(world, str) else ("none" if world is None else "given")
    if mode == "given":  # a caller's own world: key it by its seed and clock
        mode = f"{world.seed}@{world.clock.isoformat()}@{world.scenario_hash}"
    text = json.dumps(
        [CACHE_VERSION, m.pool_key, m.inputs_hash, m.world_seed, m.world_clock, radius_km, mode]
    )
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
    return f"domain-{m.pool_key[:12]}-{m.inputs_hash[:12]}-{digest}.npz"


def _read_cache(path: Path | None, n: int) -> dict[str, FloatArray | BoolArray] | None:
    if path is None or not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as z:
            out: dict[str, FloatArray | BoolArray] = {k: np.array(z[k]) for k in _CACHE_KEYS}
    except (OSError, KeyError, ValueError):
        return None  # a damaged or foreign file: recompute (and overwrite it)
    if any(v.shape != (n,) for v in out.values()):
        return None
    return out


def _write_cache(path: Path | None, values: Mapping[str, FloatArray | BoolArray]) -> None:
    if path is None:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with tmp.open("wb") as fh:
        np.savez(
            fh,
            hidden=values["hidden"],
            inside=values["inside"],
            expired=values["expired"],
            n_sources=values["n_sources"],
        )
    os.replace(tmp, path)  # atomic: concurrent sweeps never read half a file


# ------------------------------------------------------------------------------ results
@dataclass(frozen=True, eq=False)
class BatchResult:
    """Per-region sums and finite counts of every metric for a batch of trials.

    ``sums``/``counts`` are ``[trials, regions, metrics]``; ``numbers`` the trial numbers.
    """

    numbers: IntArray
    sums: FloatArray
    counts: FloatArray

    def __len__(self) -> int:
        return int(self.numbers.shape[0])

    def means(self, region_mask: BoolArray) -> FloatArray:
        """``[trials, metrics]``: means over the queries of the masked regions (NaN values
        skipped; NaN when no query has a value)."""
        s = self.sums[:, region_mask, :].sum(axis=1)
        c = self.counts[:, region_mask, :].sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            out: FloatArray = np.where(c > 0, s / np.where(c > 0, c, 1.0), np.nan)
        return out

    @staticmethod
    def concat(parts: Sequence[BatchResult]) -> BatchResult:
        if not parts:
            raise ValueError("nothing to concatenate")
        return BatchResult(
            np.concatenate([p.numbers for p in parts]),
            np.concatenate([p.sums for p in parts]),
            np.concatenate([p.counts for p in parts]),
        )


def aggregate(data: PoolData, per_query: FloatArray, numbers: IntArray) -> BatchResult:
    """Per-region sums/counts of a ``[trials, queries, metrics]`` block."""
    b, _, m = per_query.shape
    r = len(data.regions)
    sums = np.zeros((b, r, m), dtype=np.float64)
    counts = np.zeros((b, r, m), dtype=np.float64)
    for ri in range(r):
        block = per_query[:, data.query_region == ri, :]
        finite = np.isfinite(block)
        sums[:, ri, :] = np.where(finite, block, 0.0).sum(axis=1)
        counts[:, ri, :] = finite.sum(axis=1)
    return BatchResult(np.asarray(numbers, dtype=np.int64), sums, counts)


# ------------------------------------------------------------------------------ evaluation
def evaluate_batch(data: PoolData, batch: TrialBatch, *, per_query: bool = False) -> Any:
    """Evaluate every trial of ``batch`` on the whole pool.

    Returns a :class:`BatchResult` (per-region sums), or with ``per_query`` the
    ``[trials, queries, metrics]`` values (columns in ``data.metrics`` order, queries in pool
    order).
    """
    out = np.zeros((len(batch), data.n_queries, len(data.metrics)), dtype=np.float64)
    ws = Workspace()
    for sub, scores in _score_blocks(data, batch, ws):
        out[sub] = _metrics(data, scores, batch.threshold[sub], batch.radius_km[sub], ws)
    if per_query:
        return out
    return aggregate(data, out, batch.numbers)


def _score_blocks(
    data: PoolData, batch: TrialBatch, ws: Workspace | None = None
) -> Iterator[tuple[IntArray, FloatArray]]:
    """(trial positions, their exact scores ``[b, entities]``) in blocks of SUB_BATCH (with
    ``ws``, each block's scores live in it until the next block is scored)."""
    for params, idx in batch.groups():
        x = data.scored(params)
        for a in range(0, idx.size, SUB_BATCH):
            sub = idx[a : a + SUB_BATCH]
            m = batch.matrix[sub]
            yield sub, exact_scores(x, m, batch.cap[sub], batch.keyword_cap[sub], ws)


def _primary(
    data: PoolData,
    scores: FloatArray,
    threshold: FloatArray,
    radius: FloatArray,
    ws: Workspace | None = None,
) -> BoolArray:
    """The feature scorer's primary rule for every trial (``inf`` radius: no radius)."""
    ws = ws or Workspace()
    dist = data.features.column("distance_km")
    primary: BoolArray = np.greater_equal(
        scores, threshold[:, None], out=ws.get("primary", scores.shape, np.bool_)
    )
    near = np.less_equal(dist[None, :], radius[:, None], out=ws.get("near", scores.shape, np.bool_))
    near |= np.isnan(dist)[None, :]
    primary &= near
    return primary


def trial_rankings(
    data: PoolData, batch: TrialBatch
) -> list[dict[str, list[tuple[str, float, str]]]]:
    """Every trial's ranking of every query as ``(entity id, score, category)`` lists -- the
    scores, order and primary/nearby split the metrics are computed from (for checks against
    :meth:`FeatureScorer.rank`; slow, Python objects)."""
    out: list[dict[str, list[tuple[str, float, str]]]] = [{} for _ in range(len(batch))]
    ids = data.features.entity_ids
    off = data.offsets
    for sub, scores in _score_blocks(data, batch):
        order = rank_pool(scores, off, data.ties)
        primary = _primary(data, scores, batch.threshold[sub], batch.radius_km[sub])
        for row, pos in enumerate(sub.tolist()):
            for qi, qid in enumerate(data.query_ids):
                rows = order[row, int(off[qi]) : int(off[qi + 1])].tolist()
                out[pos][qid] = [
                    (ids[r], float(scores[row, r]), "primary" if primary[row, r] else "nearby")
                    for r in rows
                ]
    return out


def evaluate_weights(data: PoolData, weights: Sequence[Any]) -> FloatArray:
    """Per-query values ``[len(weights), queries, metrics]`` of some ScoringWeights."""
    return np.asarray(
        evaluate_batch(data, TrialBatch.from_weights(list(weights)), per_query=True),
        dtype=np.float64,
    )


def _metrics(
    data: PoolData,
    scores: FloatArray,
    threshold: FloatArray,
    radius: FloatArray,
    ws: Workspace | None = None,
) -> FloatArray:
    """``[b, queries, metrics]`` for a block of scores ``[b, entities]``."""
    from ..evaluation.metrics.dense import dense_scores

    b = scores.shape[0]
    nq = data.n_queries
    out = np.zeros((b, nq, len(data.metrics)), dtype=np.float64)
    offsets = data.offsets
    counts = np.diff(offsets)
    ir = [j for j, m in enumerate(data.metrics) if m.kind == "ir"]
    domain = [j for j, m in enumerate(data.metrics) if m.kind == "domain"]
    ks = [data.metrics[j].k or 0 for j in domain]
    ranked = data.ranked_ir() if ir else None
    if ranked is not None and np.isnan(scores).any():
        ranked = None  # dense_scores reports the NaN score as the one-trial path does
    depth = max([*ks, ranked[0] if ranked is not None else 0])
    top: IntArray | None = None
    valid: BoolArray | None = None
    if depth > 0:
        cols_k = np.arange(depth, dtype=np.int64)
        valid = cols_k[None, :] < counts[:, None]  # [nq, depth]
        # rank_pool's top rows of every query, from a partition (the metrics read no deeper)
        top = top_rows(scores, offsets, data.ties, depth, data.layout(), ws)
    if ir and data.prepared is not None:
        from ..evaluation.metrics.dense import dense_scores, ranked_scores

        measures = [data.metrics[j].measure or "" for j in ir]
        cols = np.asarray(ir, dtype=np.int64)
        pr = data.prepared_rows
        if ranked is not None:
            # The same ranking dense_scores would make (score desc, id desc), read from the
            # shared top-k: the ranked grades give the kernel's values bit for bit.
            assert top is not None and valid is not None
            d, grades = ranked
            rows = np.where(valid[None, pr, :d], top[:, pr, :d], grades.shape[0] - 1)
            tile = np.tile(np.arange(len(pr), dtype=np.int64), b)
            values = ranked_scores(data.prepared, grades[rows].reshape(b * len(pr), d),
                                   measures, tile).reshape(b, len(pr), len(ir))  # fmt: skip
            out[:, pr[:, None], cols[None, :]] = values
        else:
            tiled = data.block_prepared() if b == SUB_BATCH else None
            if tiled is not None:
                # One call for the whole block: rows are computed independently, so the
                # values equal b separate calls (tests compare them).
                r = len(pr)
                block = scores[:, data.candidate_index].reshape(b * r, -1)
                values = dense_scores(tiled, block, measures).reshape(b, r, len(ir))
                out[:, pr[:, None], cols[None, :]] = values
            else:
                for i in range(b):
                    block = scores[i][data.candidate_index]
                    values = dense_scores(data.prepared, block, measures)
                    out[i, pr[:, None], cols[None, :]] = values

    if not domain:
        return out
    for j, k in zip(domain, ks, strict=True):
        kind = data.metrics[j].domain
        if kind == "nearby_ratio":
            primary = _primary(data, scores, threshold, radius, ws)
            # per-query counts of nearby rows: one segmented integer sum over the queries
            # with rows (each runs to the next such query's first row)
            nearby = np.zeros((b, nq), dtype=np.int64)
            filled = counts > 0
            if filled.any():
                np.logical_not(primary, out=primary)
                nearby[:, filled] = np.add.reduceat(
                    primary, offsets[:-1][filled], axis=1, dtype=np.int64
                )
            with np.errstate(invalid="ignore", divide="ignore"):
                out[:, :, j] = np.where(counts > 0, nearby / np.maximum(counts, 1), np.nan)
        else:
            assert top is not None and valid is not None
            t = top[:, :, :k]
            v = np.broadcast_to(valid[None, :, :k], t.shape)
            denom = np.minimum(counts, k).astype(np.float64)  # len(top k)
            if kind == "hiddenness":
                vals = data.hidden[t]
                ok = v & ~np.isnan(vals)
                # a left-to-right running sum (as Python's sum over the list), then the count
                total = np.cumsum(np.where(ok, vals, 0.0), axis=-1)[..., -1]
                n = ok.sum(axis=-1)
                with np.errstate(invalid="ignore", divide="ignore"):
                    out[:, :, j] = np.where(n > 0, total / np.maximum(n, 1), np.nan)
            else:
                if kind == "geo_precision":
                    hits = (data.inside[t] & v).sum(axis=-1).astype(np.float64)
                elif kind == "expired_event_rate":
                    hits = (data.expired[t] & v).sum(axis=-1).astype(np.float64)
                else:  # corroboration
                    hits = np.cumsum(np.where(v, data.n_sources[t], 0.0), axis=-1)[..., -1]
                with np.errstate(invalid="ignore", divide="ignore"):
                    out[:, :, j] = np.where(denom > 0, hits / np.maximum(denom, 1.0), 0.0)
        if data.query_error.any():
            out[:, data.query_error, j] = _ON_ERROR[kind or ""]
    return out
