"""Frozen candidate pools: the records -- :class:`PoolManifest`, :class:`PoolQuery`, :class:`Pool`.

A pool freezes everything a region set's searches fetched (built by
:mod:`~underfoot_lab.evaluation.candidate_pools.build`, stored by
:mod:`~underfoot_lab.evaluation.candidate_pools.storage`; format: ``docs/pools-format.md``).
:meth:`Pool.rescore` ranks every query with a weights file exactly as the pipeline would
(same code path as :class:`~underfoot_lab.pipeline.score.engine.FeatureScorer`), never calling
a source; :meth:`Pool.scores` / :meth:`Pool.rank` score and order thousands of weight vectors
in a few matrix operations for sweeps.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from ...pipeline.score.engine import (
    FeatureScorer,
    WeightBatch,
    primary_mask,
    rank_pool,
    score_pool,
    stack_weights,
    tie_codes,
)
from ...pipeline.score.features import (
    FEATURE_NAMES,
    FeatureMatrix,
    FeatureParams,
)
from ...pipeline.score.merge import Entity
from ...pipeline.score.weights import ScoringWeights
from ...records import Candidate, ParsedQuery, Place, RankedResult

if TYPE_CHECKING:  # pragma: no cover
    import pyarrow as pa

    from ..regions import RegionQuery

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


POOL_FORMAT_VERSION = 3
"""Bumped whenever the tables or the manifest change incompatibly (docs/pools-format.md).
Version 2 added the ``unretrieved`` table (relevant places no source surfaced); version 3 the
offline world's scenario (``world``, ``world_hash``), part of the pool key."""
TABLES = ("queries", "entities", "candidates", "judgments", "unretrieved")
FEATURE_PREFIX = "f_"
_CANDIDATE_FIELDS = (
    "source", "source_type", "native_id", "title", "name", "description", "url", "rank",
    "lat", "lon", "rating", "reviews", "address", "place_type", "starts_at", "published_at",
    "simulated",
)  # fmt: skip


# ------------------------------------------------------------------------------ records
@dataclass(frozen=True, slots=True)
class PoolManifest:
    """``manifest.json``: what a pool is, where it came from, and file checksums."""

    format_version: int
    region_set: str
    region_set_hash: str
    pool_key: str
    """sha256 of everything that determines the pool's content before fetching."""
    inputs_hash: str
    """sha256 of the fetched inputs (queries, parsed queries, places, every candidate)."""
    world_seed: int | None
    world_clock: str | None
    now: str
    """The clock the features were computed at (ISO 8601)."""
    mode: str
    sources: tuple[str, ...]
    feature_names: tuple[str, ...]
    feature_params: dict[str, float]
    judge: str
    code_version: str
    git_commit: str | None
    created_at: str
    n_queries: int
    n_entities: int
    n_candidates: int
    n_unretrieved: int
    """Relevant world entities no merged entity resolves to (rows of ``unretrieved``)."""
    files: dict[str, str] = field(default_factory=dict)
    """Table file name -> sha256 of its bytes."""
    git_dirty: bool | None = None
    """The checkout had uncommitted changes when the pool was built (None: unknown)."""
    world: str | None = None
    """The offline world's scenario name (part of :attr:`pool_key`)."""
    world_hash: str | None = None
    """The scenario's hash (its content and the world's code; part of :attr:`pool_key`)."""
    world_path: str | None = None
    """The scenario file when the world was given as a file (found again by it)."""

    @property
    def world_label(self) -> str:
        """``offline world 'null' (a1b2c3d4), simulated``; ``real data, judged by J`` for a
        pool with no world (a bundle's)."""
        from ...provenance import world_label

        if self.world_seed is None and self.world is None:
            return f"real data, judged by {self.judge}"
        return world_label(self.world, self.world_hash)

    def to_dict(self) -> dict[str, Any]:
        return {
            "format_version": self.format_version,
            "region_set": self.region_set,
            "region_set_hash": self.region_set_hash,
            "pool_key": self.pool_key,
            "inputs_hash": self.inputs_hash,
            "world_seed": self.world_seed,
            "world_clock": self.world_clock,
            "now": self.now,
            "mode": self.mode,
            "sources": list(self.sources),
            "feature_names": list(self.feature_names),
            "feature_params": dict(self.feature_params),
            "judge": self.judge,
            "code_version": self.code_version,
            "git_commit": self.git_commit,
            "git_dirty": self.git_dirty,
            "world": self.world,
            "world_hash": self.world_hash,
            "world_path": self.world_path,
            "created_at": self.created_at,
            "n_queries": self.n_queries,
            "n_entities": self.n_entities,
            "n_candidates": self.n_candidates,
            "n_unretrieved": self.n_unretrieved,
            "files": dict(self.files),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PoolManifest:
        return cls(
            format_version=int(data["format_version"]),
            region_set=str(data["region_set"]),
            region_set_hash=str(data["region_set_hash"]),
            pool_key=str(data["pool_key"]),
            inputs_hash=str(data["inputs_hash"]),
            world_seed=None if data.get("world_seed") is None else int(data["world_seed"]),
            world_clock=data.get("world_clock"),
            now=str(data["now"]),
            mode=str(data["mode"]),
            sources=tuple(data["sources"]),
            feature_names=tuple(data["feature_names"]),
            feature_params={k: float(v) for k, v in data["feature_params"].items()},
            judge=str(data["judge"]),
            code_version=str(data["code_version"]),
            git_commit=data.get("git_commit"),
            git_dirty=data.get("git_dirty"),
            world=data.get("world"),
            world_hash=data.get("world_hash"),
            world_path=data.get("world_path"),
            created_at=str(data["created_at"]),
            n_queries=int(data["n_queries"]),
            n_entities=int(data["n_entities"]),
            n_candidates=int(data["n_candidates"]),
            n_unretrieved=int(data["n_unretrieved"]),
            files={str(k): str(v) for k, v in data.get("files", {}).items()},
        )


@dataclass(frozen=True, slots=True)
class PoolQuery:
    """One query of a pool, as Python records (built on demand from the tables)."""

    index: int
    id: str
    text: str
    region: str | None
    tags: tuple[str, ...]
    expected_place: str
    expected_state: str
    parsed: ParsedQuery | None
    place: Place | None
    error: str | None
    """Why the query has no candidates (a location the geocoder could not find, ...)."""
    candidates: tuple[Candidate, ...]
    entities: tuple[Entity, ...]
    grades: tuple[int, ...]
    """Truth grade of every entity, in ``entities`` order."""
    features: FeatureMatrix
    unretrieved: tuple[tuple[str, int], ...] = ()
    """``(world:<entity id>, grade)`` of every relevant place of the town no entity resolves
    to, in the world universe's order."""

    @property
    def judgments(self) -> dict[str, int]:
        """The query's qrels: every entity's grade, then the unretrieved relevant places."""
        out = {e.id: g for e, g in zip(self.entities, self.grades, strict=True)}
        out.update(self.unretrieved)
        return out


# ------------------------------------------------------------------------------ the pool
@dataclass(frozen=True, eq=False)
class Pool:
    """A frozen candidate pool (see the module docstring); build, write and load it here.

    Arrays: ``features`` (all queries' rows stacked, :data:`FEATURE_NAMES` columns),
    ``offsets`` (query ``q`` owns rows ``offsets[q]:offsets[q + 1]``), ``grades`` (int8 truth
    grades), ``entity_ids``; the relevant places no entity resolves to in
    ``unretrieved_offsets`` / ``unretrieved_grades`` / ``unretrieved_ids`` (laid out the same
    way). Everything is read-only.
    """

    manifest: PoolManifest
    query_ids: tuple[str, ...]
    offsets: IntArray
    features: FeatureMatrix
    grades: npt.NDArray[np.int8]
    unretrieved_offsets: IntArray
    unretrieved_grades: npt.NDArray[np.int8]
    unretrieved_ids: tuple[str, ...]
    tables: dict[str, pa.Table] = field(repr=False)
    path: Path | None = None

    def __post_init__(self) -> None:
        for a in (self.offsets, self.grades, self.unretrieved_offsets, self.unretrieved_grades):
            a.flags.writeable = False

    def __len__(self) -> int:
        return len(self.query_ids)

    def __repr__(self) -> str:
        m = self.manifest
        return (
            f"Pool({m.region_set!r}, queries={m.n_queries}, entities={m.n_entities}, "
            f"candidates={m.n_candidates}, key={m.pool_key[:12]})"
        )

    @property
    def entity_ids(self) -> tuple[str, ...]:
        return self.features.entity_ids

    @cached_property
    def ties(self) -> IntArray:
        """Tie-break codes of the entity ids (id-descending order within a query)."""
        return tie_codes(self.features.entity_ids)

    @cached_property
    def query_index(self) -> dict[str, int]:
        return {q: i for i, q in enumerate(self.query_ids)}

    @property
    def now(self) -> datetime:
        return datetime.fromisoformat(self.manifest.now)

    @property
    def params(self) -> FeatureParams:
        return self.features.params

    def feature_matrix(self, params: FeatureParams | None = None) -> FeatureMatrix:
        """All rows, with the distance/freshness columns for ``params`` (default: as built)."""
        return self.features if params is None else self.features.with_params(params)

    def scored_matrix(self, params: FeatureParams | None = None) -> FloatArray:
        """``[n_total, len(SCORED_FEATURES)]``: what weight vectors multiply."""
        return self.feature_matrix(params).scored

    # -------------------------------------------------------------------- per query records
    def query(self, key: int | str) -> PoolQuery:
        """One query's records (parsed query, place, candidates, entities, grades)."""
        i = self.query_index[key] if isinstance(key, str) else int(key)
        return self._queries[i]

    def __iter__(self) -> Iterator[PoolQuery]:
        return iter(self._queries)

    @cached_property
    def _queries(self) -> tuple[PoolQuery, ...]:
        return _records_from_tables(self)

    # -------------------------------------------------------------------- scoring
    def rescore(self, weights: ScoringWeights) -> dict[str, list[RankedResult]]:
        """Every query ranked with ``weights`` exactly as the pipeline ranks it (no source call).

        Uses :meth:`FeatureScorer.rank_matrix` on the stored features, so results (ids, scores,
        categories, order) equal ``Pipeline(settings with weights).search(q).results``.
        """
        now = self.now
        scorer = FeatureScorer(weights, clock=lambda: now)
        out: dict[str, list[RankedResult]] = {}
        for q in self._queries:
            out[q.id] = scorer.rank_matrix(q.entities, q.features) if q.entities else []
        return out

    def scores(
        self,
        weights: ScoringWeights | Sequence[ScoringWeights] | WeightBatch,
        *,
        exact: bool = False,
    ) -> FloatArray:
        """Scores ``[n_vectors, n_total]`` of every entity under every weight vector.

        The distance/freshness parameters of the *first* weights apply to all (build one call
        per parameter setting when sweeping them).
        """
        batch, params = _as_batch(weights)
        return score_pool(
            self.scored_matrix(params),
            batch.matrix,
            cap=batch.cap,
            keyword_cap=batch.keyword_cap,
            exact=exact,
        )

    def rank(self, scores: FloatArray) -> IntArray:
        """Row order for scores from :meth:`scores` (by query, score desc, id desc)."""
        return rank_pool(scores, self.offsets, self.ties)

    def primary(self, weights: ScoringWeights, scores: FloatArray) -> npt.NDArray[np.bool_]:
        """Primary/nearby split for one weight vector's scores ``[n_total]``."""
        return primary_mask(
            scores,
            self.features.column("distance_km"),
            weights.primary_threshold,
            weights.primary_radius_km,
        )

    # -------------------------------------------------------------------- evaluation helpers
    def qrels(self) -> dict[str, dict[str, int]]:
        """``qid -> doc id -> grade``: the pool's world-truth judgments, every entity's grade
        plus the relevant places no entity resolves to (``world:<entity id>``), i.e. the qrels
        an evaluation run over the same candidates is scored against."""
        out: dict[str, dict[str, int]] = {}
        ids = self.features.entity_ids
        g = self.grades.tolist()
        uids = self.unretrieved_ids
        ug = self.unretrieved_grades.tolist()
        uoff = self.unretrieved_offsets
        for qi, qid in enumerate(self.query_ids):
            a, b = int(self.offsets[qi]), int(self.offsets[qi + 1])
            docs = {ids[r]: int(g[r]) for r in range(a, b)}
            docs.update({uids[r]: int(ug[r]) for r in range(int(uoff[qi]), int(uoff[qi + 1]))})
            out[qid] = docs
        return out

    def run(self, scores: FloatArray) -> dict[str, dict[str, float]]:
        """A run mapping (``qid -> entity id -> score``) from one vector's scores ``[n_total]``."""
        ids = self.features.entity_ids
        s = np.asarray(scores, dtype=np.float64).tolist()
        out: dict[str, dict[str, float]] = {}
        for qi, qid in enumerate(self.query_ids):
            a, b = int(self.offsets[qi]), int(self.offsets[qi + 1])
            out[qid] = {ids[r]: s[r] for r in range(a, b)}
        return out

    def ndcg(self, scores: FloatArray, k: int = 10) -> FloatArray:
        """Mean nDCG@k for each weight vector's scores (``[n_vectors, n_total]`` or ``[n_total]``).

        trec_eval's definition (gain = grade, DCG = sum of gain / log2(rank + 1), ties by id
        descending), the ideal ranking taken from all of the pool's judgments of the query, the
        unretrieved relevant places included; the mean is over every query of the pool (a query
        without entities counts 0). Per query it equals
        ``measures.evaluate(pool.qrels(), pool.run(s), "nDCG@k")`` exactly (same discounts, same
        left-to-right sums).
        """
        s = np.asarray(scores, dtype=np.float64)
        one = s.ndim == 1
        s2 = s[None, :] if one else s
        return self.ndcg_per_query(s2, k).mean(axis=1) if len(self) else np.zeros(s2.shape[0])

    def ndcg_per_query(self, scores: FloatArray, k: int = 10) -> FloatArray:
        """nDCG@k ``[n_vectors, n_queries]`` (see :meth:`ndcg`)."""
        from ..metrics.kernel import _discounts

        s2 = np.atleast_2d(np.asarray(scores, dtype=np.float64))
        counts = np.diff(self.offsets)
        cols = np.arange(k, dtype=np.int64)
        valid = cols[None, :] < counts[:, None]  # [n_q, k]
        slots = np.where(valid, self.offsets[:-1, None] + cols[None, :], 0)
        gains = np.where(self.grades > 0, self.grades, 0).astype(np.float64)
        discount = _discounts(k)  # the metrics module's table: bit-identical sums

        if s2.shape[-1] == 0:
            got = np.zeros((s2.shape[0], len(counts)))
        else:
            order = self.rank(s2)
            g = np.where(valid, gains[order[..., slots]], 0.0)
            got = np.cumsum(g / discount, axis=-1)[..., -1]
        ideal = self.ideal_dcg(k)
        with np.errstate(divide="ignore", invalid="ignore"):
            out: FloatArray = np.where(ideal > 0, got / np.where(ideal > 0, ideal, 1.0), 0.0)
        return out

    def ideal_dcg(self, k: int = 10) -> FloatArray:
        """Ideal DCG@k per query ``[n_queries]``: every positive grade of the query (retrieved
        entities and unretrieved relevant places) sorted descending, as trec_eval's
        ``ndcg_cut`` builds it."""
        from ..metrics.kernel import _discounts

        nq = len(self.query_ids)
        q_of = np.concatenate(
            [
                np.repeat(np.arange(nq, dtype=np.int64), np.diff(self.offsets)),
                np.repeat(np.arange(nq, dtype=np.int64), np.diff(self.unretrieved_offsets)),
            ]
        )
        g = np.concatenate([self.grades, self.unretrieved_grades]).astype(np.int64)
        positive = g > 0
        q_of, g = q_of[positive], g[positive]
        order = np.lexsort((-g, q_of))  # by query, grade descending
        q_of, g = q_of[order], g[order]
        n_per = np.bincount(q_of, minlength=nq)
        rank = np.arange(g.size, dtype=np.int64) - (np.cumsum(n_per) - n_per)[q_of]
        keep = rank < k
        top = np.zeros((nq, k), dtype=np.float64)
        top[q_of[keep], rank[keep]] = g[keep]
        if k == 0:
            return np.zeros(nq, dtype=np.float64)
        ideal: FloatArray = np.cumsum(top / _discounts(k), axis=1)[:, -1]
        return ideal


def _as_batch(
    weights: ScoringWeights | Sequence[ScoringWeights] | WeightBatch,
) -> tuple[WeightBatch, FeatureParams | None]:
    if isinstance(weights, WeightBatch):
        return weights, None
    if isinstance(weights, ScoringWeights):
        return stack_weights([weights]), weights.params
    items = list(weights)
    return stack_weights(items), (items[0].params if items else None)


def _params_dict(params: FeatureParams) -> dict[str, float]:
    return {
        "half_distance_km": params.half_distance_km,
        "freshness_window_days": params.freshness_window_days,
        "post_half_life_days": params.post_half_life_days,
    }


def _sha256_json(payload: Any) -> str:
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class _Fetched:
    query: RegionQuery
    parsed: ParsedQuery | None
    place: Place | None
    candidates: tuple[Candidate, ...]
    error: str | None


@dataclass(frozen=True, slots=True)
class _QueryRows:
    fetched: _Fetched
    entities: list[Entity]
    features: FeatureMatrix | None
    grades: list[int]
    world_ids: list[str | None]
    intent: str
    unretrieved: dict[str, tuple[str, int]]


def _records_from_tables(pool: Pool) -> tuple[PoolQuery, ...]:
    from ... import codec

    q = pool.tables["queries"].to_pydict()
    c = pool.tables["candidates"].to_pydict()
    e = pool.tables["entities"]
    e_cols = e.select(
        ["entity_id", "name", "key", "lat", "lon", "distance_km", "mentions"]
    ).to_pydict()
    grades = pool.grades.tolist()
    u_grades = pool.unretrieved_grades.tolist()
    u_ids = pool.unretrieved_ids
    out: list[PoolQuery] = []
    for qi in range(len(q["query_id"])):
        c0, cn = int(q["candidate_offset"][qi]), int(q["candidate_count"][qi])
        cands = []
        for r in range(c0, c0 + cn):
            kw = {n: c[n][r] for n in _CANDIDATE_FIELDS}
            for dt in ("starts_at", "published_at"):
                if kw[dt] is not None:
                    kw[dt] = datetime.fromisoformat(kw[dt])
            cands.append(Candidate(**kw))
        e0 = int(pool.offsets[qi])
        e1 = int(pool.offsets[qi + 1])
        ents = tuple(
            Entity(
                id=e_cols["entity_id"][r],
                name=e_cols["name"][r],
                key=e_cols["key"][r],
                mentions=tuple(cands[m] for m in e_cols["mentions"][r]),
                lat=e_cols["lat"][r],
                lon=e_cols["lon"][r],
                distance_km=e_cols["distance_km"][r],
            )
            for r in range(e0, e1)
        )
        values = pool.features.values[e0:e1]
        parsed, place = q["parsed"][qi], q["place"][qi]
        fm = FeatureMatrix(
            FEATURE_NAMES, values, pool.features.entity_ids[e0:e1], pool.features.params
        )
        out.append(
            PoolQuery(
                index=qi,
                id=q["query_id"][qi],
                text=q["text"][qi],
                region=q["region"][qi],
                tags=tuple(q["tags"][qi] or ()),
                expected_place=q["expected_place"][qi],
                expected_state=q["expected_state"][qi],
                parsed=None if parsed is None else codec.loads(ParsedQuery, parsed),
                place=None if place is None else codec.loads(Place, place),
                error=q["error"][qi],
                candidates=tuple(cands),
                entities=ents,
                grades=tuple(int(g) for g in grades[e0:e1]),
                features=fm,
                unretrieved=tuple(
                    (u_ids[r], int(u_grades[r]))
                    for r in range(
                        int(pool.unretrieved_offsets[qi]), int(pool.unretrieved_offsets[qi + 1])
                    )
                ),
            )
        )
    return tuple(out)
