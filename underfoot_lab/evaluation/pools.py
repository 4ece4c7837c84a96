"""Frozen candidate pools: fetch a region set once, re-score it with any weights offline.

:func:`build_pool` runs :meth:`Pipeline.fetch` (no cache) for every query of a region set with
bounded concurrency, merges the candidates, computes the feature matrix and asks the offline
world for the truth grade (0-3) of every merged entity, and for every relevant place of the
town no entity resolves to (``world:<entity id>``, relevant but unretrieved: they count in the
ideal DCG and the recall denominators, exactly as in an evaluation run's qrels).
:func:`write_pool` stores it as five parquet tables plus ``manifest.json`` (format:
``docs/pools-format.md``); :func:`load_pool` reads it back into a frozen :class:`Pool` whose
arrays are ready for vectorised scoring (one feature matrix for all queries, query offsets,
grades, entity ids).

:meth:`Pool.rescore` ranks every query with a weights file exactly as the pipeline would
(same code path as :class:`~underfoot_lab.pipeline.score.engine.FeatureScorer`), never calling
a source; :meth:`Pool.scores` / :meth:`Pool.rank` score and order thousands of weight vectors
in a few matrix operations for sweeps.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from ..errors import ConfigError, UnderfootError
from ..pipeline.score.engine import (
    FeatureScorer,
    WeightBatch,
    primary_mask,
    rank_pool,
    score_pool,
    stack_weights,
    tie_codes,
)
from ..pipeline.score.features import (
    FEATURE_NAMES,
    FeatureMatrix,
    FeatureParams,
    build_features,
)
from ..pipeline.score.merge import Entity, merge_candidates
from ..pipeline.score.weights import ScoringWeights
from ..provenance import git_commit, git_dirty
from ..records import Candidate, ParsedQuery, Place, RankedResult

if TYPE_CHECKING:  # pragma: no cover
    import pyarrow as pa

    from ..pipeline.run import Pipeline
    from ..settings import Settings
    from .regions import RegionQuery, RegionSet

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

__all__ = [
    "POOL_FORMAT_VERSION",
    "Pool",
    "PoolManifest",
    "PoolQuery",
    "build_pool",
    "default_pool_dir",
    "load_pool",
    "pool_key",
    "write_pool",
]

POOL_FORMAT_VERSION = 2
"""Bumped whenever the tables or the manifest change incompatibly (docs/pools-format.md).
Version 2 added the ``unretrieved`` table (relevant places no source surfaced)."""
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
        from .measures import _discounts

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
        from .measures import _discounts

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


# ------------------------------------------------------------------------------ building
def default_pool_dir(settings: Settings, region_set: str, key: str) -> Path:
    """``<home>/pools/<region-set>-<key[:12]>``."""
    return Path(settings.home) / "pools" / f"{region_set}-{key[:12]}"


def pool_key(
    region_set_hash: str, settings: Settings, params: FeatureParams, *, simulated: bool
) -> str:
    """sha256 of what determines a pool before anything is fetched.

    Covers the region set, settings that change what is fetched, the world, the features and
    the code's version numbers; uncommitted code changes are not seen (rebuild with --force).
    """
    from .. import __version__
    from ..pipeline.run import PIPELINE_VERSION

    payload = {
        "format_version": POOL_FORMAT_VERSION,
        "code_version": __version__,
        "pipeline_version": PIPELINE_VERSION,
        "region_set_hash": region_set_hash,
        "mode": settings.mode,
        "sources": list(settings.sources),
        "world_seed": settings.world_seed if simulated else None,
        "world_clock": settings.world_clock.isoformat() if simulated else None,
        "features": list(FEATURE_NAMES),
        "params": _params_dict(params),
    }
    return _sha256_json(payload)


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


async def _fetch_all(
    pipe: Pipeline,
    queries: Sequence[RegionQuery],
    concurrency: int,
    progress: Callable[[int, int], None] | None,
) -> list[_Fetched]:
    from ..pipeline.run import validate_query

    sem = asyncio.Semaphore(max(1, concurrency))
    done = 0

    async def one(q: RegionQuery) -> _Fetched:
        nonlocal done
        async with sem:
            try:
                fetched = await pipe.fetch(validate_query(q.text))
                out = _Fetched(q, fetched.parsed, fetched.place, fetched.candidates, None)
            except UnderfootError as exc:
                out = _Fetched(q, None, None, (), f"{type(exc).__name__}: {exc}")
        done += 1
        if progress is not None:
            progress(done, len(queries))
        return out

    return list(await asyncio.gather(*(one(q) for q in queries)))


def _judge_entities(
    pipe: Pipeline, q: RegionQuery, parsed: ParsedQuery, place: Place, entities: Sequence[Entity]
) -> tuple[list[int], list[str | None], str, dict[str, tuple[str, int]]]:
    """World-truth grade and world entity id of every merged entity, and the town's relevant
    entities none of them resolves to (``world:<id> -> (entity id, grade)``)."""
    from .world_judge import town_for, unretrieved_relevant

    world = pipe.world
    # the town an evaluation run grades against (world_judge.town_for): expected, else geocoded
    town = town_for(world, q, None) or world.resolve_town(place.name, place.admin1_code or None)
    intent = parsed.intent
    grades: list[int] = []
    ids: list[str | None] = []
    for e in entities:
        tokens: list[str] = []
        resolved = []
        for m in e.mentions:
            hit = world.entity_for_url(m.url)
            token = m.url
            if hit is None and m.native_id:
                hit = world.entity_for_url(m.native_id)
                token = m.native_id
            tokens.append(token)
            if hit is not None:
                resolved.append(hit)
        if town is None:
            grades.append(0)
        else:
            grades.append(int(world.grade_urls(town, intent, tokens)))
        if resolved:
            counts = Counter(x.id for x in resolved)
            best = max(counts.values())
            ids.append(next(x.id for x in resolved if counts[x.id] == best))
        else:
            ids.append(None)
    unretrieved = {} if town is None else unretrieved_relevant(world, town, intent, ids)
    return grades, ids, intent, unretrieved


def build_pool(
    region_set: RegionSet | str | Path,
    *,
    settings: Settings | None = None,
    params: FeatureParams | None = None,
    concurrency: int = 8,
    progress: Callable[[int, int], None] | None = None,
) -> Pool:
    """Fetch every query of a region set (cache off), merge, featurise and judge: a Pool.

    Offline only for the judgments: grades come from the offline world's ground truth. The
    result lives in memory; :func:`write_pool` stores it.
    """
    from .. import __version__
    from ..pipeline.run import Pipeline
    from ..settings import Settings
    from .regions import load_region_set

    rs = region_set if not isinstance(region_set, (str, Path)) else load_region_set(region_set)
    settings = settings or Settings()
    params = params or FeatureParams()
    with Pipeline(settings, use_cache=False) as pipe:
        if not pipe.simulated:
            raise ConfigError(
                "frozen pools need the offline world's ground truth; "
                "run with UNDERFOOT_MODE=offline"
            )
        now = settings.world_clock
        fetched = pipe.run_sync(_fetch_all(pipe, rs.queries, concurrency, progress))
        rows: list[_QueryRows] = []
        for f in fetched:
            if f.parsed is None or f.place is None:
                rows.append(_QueryRows(f, [], None, [], [], "", {}))
                continue
            entities = merge_candidates(f.candidates, f.place)
            fm = build_features(f.parsed, f.place, entities, now=now, params=params)
            grades, wids, intent, missed = _judge_entities(
                pipe, f.query, f.parsed, f.place, entities
            )
            rows.append(_QueryRows(f, entities, fm, grades, wids, intent, missed))
        tables = _to_tables(rows, now, params)
        manifest = PoolManifest(
            format_version=POOL_FORMAT_VERSION,
            region_set=rs.name,
            region_set_hash=rs.hash,
            pool_key=pool_key(rs.hash, settings, params, simulated=True),
            inputs_hash=_inputs_hash(tables),
            world_seed=settings.world_seed,
            world_clock=settings.world_clock.isoformat(),
            now=now.isoformat(),
            mode=settings.mode,
            sources=tuple(c.provider for c in pipe.selection.sources),
            feature_names=FEATURE_NAMES,
            feature_params=_params_dict(params),
            judge="world",
            code_version=__version__,
            git_commit=git_commit(),
            git_dirty=git_dirty(),
            created_at=datetime.now(UTC).isoformat(timespec="seconds"),
            n_queries=tables["queries"].num_rows,
            n_entities=tables["entities"].num_rows,
            n_candidates=tables["candidates"].num_rows,
            n_unretrieved=tables["unretrieved"].num_rows,
        )
    return _pool_from_tables(tables, manifest, None)


@dataclass(frozen=True, slots=True)
class _QueryRows:
    fetched: _Fetched
    entities: list[Entity]
    features: FeatureMatrix | None
    grades: list[int]
    world_ids: list[str | None]
    intent: str
    unretrieved: dict[str, tuple[str, int]]


def _iso(dt: datetime | None) -> str | None:
    return None if dt is None else dt.isoformat()


def _to_tables(rows: Sequence[_QueryRows], now: datetime, params: FeatureParams) -> dict[str, Any]:
    import pyarrow as pa

    from .. import codec

    q_cols: dict[str, list[Any]] = {
        k: []
        for k in (
            "query_index", "query_id", "text", "region", "tags", "expected_place",
            "expected_state", "parsed", "place", "error", "entity_offset", "entity_count",
            "candidate_offset", "candidate_count", "unretrieved_offset", "unretrieved_count",
        )
    }  # fmt: skip
    c_cols: dict[str, list[Any]] = {
        k: [] for k in ("query_index", "query_id", "candidate_index", *_CANDIDATE_FIELDS)
    }
    e_cols: dict[str, list[Any]] = {
        k: []
        for k in (
            "query_index", "query_id", "entity_index", "entity_id", "name", "key", "lat", "lon",
            "distance_km", "mentions",
        )
    }  # fmt: skip
    j_cols: dict[str, list[Any]] = {
        k: [] for k in ("query_id", "entity_id", "grade", "world_entity_id", "intent", "judge")
    }
    u_cols: dict[str, list[Any]] = {
        k: []
        for k in (
            "query_index", "query_id", "doc_id", "world_entity_id", "grade", "intent", "judge",
        )
    }  # fmt: skip
    blocks: list[FloatArray] = []
    e_off = c_off = u_off = 0
    for qi, r in enumerate(rows):
        f = r.fetched
        q = f.query
        cand_index = {id(c): i for i, c in enumerate(f.candidates)}
        q_cols["query_index"].append(qi)
        q_cols["query_id"].append(q.id)
        q_cols["text"].append(q.text)
        q_cols["region"].append(q.region)
        q_cols["tags"].append(list(q.tags))
        q_cols["expected_place"].append(q.expected.place)
        q_cols["expected_state"].append(q.expected.state)
        q_cols["parsed"].append(None if f.parsed is None else codec.dumps(f.parsed))
        q_cols["place"].append(None if f.place is None else codec.dumps(f.place))
        q_cols["error"].append(f.error)
        q_cols["entity_offset"].append(e_off)
        q_cols["entity_count"].append(len(r.entities))
        q_cols["candidate_offset"].append(c_off)
        q_cols["candidate_count"].append(len(f.candidates))
        q_cols["unretrieved_offset"].append(u_off)
        q_cols["unretrieved_count"].append(len(r.unretrieved))
        for doc, (wid, grade) in r.unretrieved.items():
            u_cols["query_index"].append(qi)
            u_cols["query_id"].append(q.id)
            u_cols["doc_id"].append(doc)
            u_cols["world_entity_id"].append(wid)
            u_cols["grade"].append(grade)
            u_cols["intent"].append(r.intent)
            u_cols["judge"].append("world")
        for ci, c in enumerate(f.candidates):
            c_cols["query_index"].append(qi)
            c_cols["query_id"].append(q.id)
            c_cols["candidate_index"].append(ci)
            for name in _CANDIDATE_FIELDS:
                value = getattr(c, name)
                c_cols[name].append(_iso(value) if name in ("starts_at", "published_at") else value)
        for ei, e in enumerate(r.entities):
            e_cols["query_index"].append(qi)
            e_cols["query_id"].append(q.id)
            e_cols["entity_index"].append(ei)
            e_cols["entity_id"].append(e.id)
            e_cols["name"].append(e.name)
            e_cols["key"].append(e.key)
            e_cols["lat"].append(e.lat)
            e_cols["lon"].append(e.lon)
            e_cols["distance_km"].append(e.distance_km)
            e_cols["mentions"].append([cand_index[id(m)] for m in e.mentions])
            j_cols["query_id"].append(q.id)
            j_cols["entity_id"].append(e.id)
            j_cols["grade"].append(r.grades[ei])
            j_cols["world_entity_id"].append(r.world_ids[ei])
            j_cols["intent"].append(r.intent)
            j_cols["judge"].append("world")
        if r.features is not None:
            blocks.append(r.features.values)
        e_off += len(r.entities)
        c_off += len(f.candidates)
        u_off += len(r.unretrieved)
    feats = (
        np.concatenate(blocks, axis=0) if blocks else np.zeros((0, len(FEATURE_NAMES)))
    ).astype(np.float64)

    s, i32, i64, f64 = pa.string(), pa.int32(), pa.int64(), pa.float64()
    meta = {b"underfoot.pool.format_version": str(POOL_FORMAT_VERSION).encode()}
    queries = pa.table(
        {
            "query_index": pa.array(q_cols["query_index"], i32),
            "query_id": pa.array(q_cols["query_id"], s),
            "text": pa.array(q_cols["text"], s),
            "region": pa.array(q_cols["region"], s),
            "tags": pa.array(q_cols["tags"], pa.list_(pa.field("element", s))),
            "expected_place": pa.array(q_cols["expected_place"], s),
            "expected_state": pa.array(q_cols["expected_state"], s),
            "parsed": pa.array(q_cols["parsed"], s),
            "place": pa.array(q_cols["place"], s),
            "error": pa.array(q_cols["error"], s),
            "entity_offset": pa.array(q_cols["entity_offset"], i64),
            "entity_count": pa.array(q_cols["entity_count"], i32),
            "candidate_offset": pa.array(q_cols["candidate_offset"], i64),
            "candidate_count": pa.array(q_cols["candidate_count"], i32),
            "unretrieved_offset": pa.array(q_cols["unretrieved_offset"], i64),
            "unretrieved_count": pa.array(q_cols["unretrieved_count"], i32),
        }
    ).replace_schema_metadata(
        {
            **meta,
            b"underfoot.pool.now": now.isoformat().encode(),
            b"underfoot.pool.params": json.dumps(_params_dict(params), sort_keys=True).encode(),
        }
    )
    cand_types = {
        "rank": i64, "lat": f64, "lon": f64, "rating": f64, "reviews": i64,
        "simulated": pa.bool_(),
    }  # fmt: skip
    candidates = pa.table(
        {
            "query_index": pa.array(c_cols["query_index"], i32),
            "query_id": pa.array(c_cols["query_id"], s),
            "candidate_index": pa.array(c_cols["candidate_index"], i32),
            **{n: pa.array(c_cols[n], cand_types.get(n, s)) for n in _CANDIDATE_FIELDS},
        }
    ).replace_schema_metadata(meta)
    entity_data: dict[str, Any] = {
        "query_index": pa.array(e_cols["query_index"], i32),
        "query_id": pa.array(e_cols["query_id"], s),
        "entity_index": pa.array(e_cols["entity_index"], i32),
        "entity_id": pa.array(e_cols["entity_id"], s),
        "name": pa.array(e_cols["name"], s),
        "key": pa.array(e_cols["key"], s),
        "lat": pa.array(e_cols["lat"], f64),
        "lon": pa.array(e_cols["lon"], f64),
        "distance_km": pa.array(e_cols["distance_km"], f64),
        "mentions": pa.array(e_cols["mentions"], pa.list_(pa.field("element", i32))),
    }
    for j, name in enumerate(FEATURE_NAMES):
        entity_data[FEATURE_PREFIX + name] = pa.array(np.ascontiguousarray(feats[:, j]), f64)
    entities = pa.table(entity_data).replace_schema_metadata(meta)
    judgments = pa.table(
        {
            "query_id": pa.array(j_cols["query_id"], s),
            "entity_id": pa.array(j_cols["entity_id"], s),
            "grade": pa.array(j_cols["grade"], pa.int8()),
            "world_entity_id": pa.array(j_cols["world_entity_id"], s),
            "intent": pa.array(j_cols["intent"], s),
            "judge": pa.array(j_cols["judge"], s),
        }
    ).replace_schema_metadata(meta)
    unretrieved = pa.table(
        {
            "query_index": pa.array(u_cols["query_index"], i32),
            "query_id": pa.array(u_cols["query_id"], s),
            "doc_id": pa.array(u_cols["doc_id"], s),
            "world_entity_id": pa.array(u_cols["world_entity_id"], s),
            "grade": pa.array(u_cols["grade"], pa.int8()),
            "intent": pa.array(u_cols["intent"], s),
            "judge": pa.array(u_cols["judge"], s),
        }
    ).replace_schema_metadata(meta)
    return {
        "queries": queries,
        "entities": entities,
        "candidates": candidates,
        "judgments": judgments,
        "unretrieved": unretrieved,
    }


def _inputs_hash(tables: Mapping[str, Any]) -> str:
    """sha256 over the fetched inputs: query ids/texts, parsed queries, places, candidates."""
    h = hashlib.sha256()
    q = tables["queries"]
    for col in ("query_id", "text", "parsed", "place", "error"):
        h.update(json.dumps(q.column(col).to_pylist(), ensure_ascii=False).encode("utf-8"))
    c = tables["candidates"]
    for col in c.column_names:
        h.update(col.encode())
        h.update(json.dumps(c.column(col).to_pylist(), ensure_ascii=False).encode("utf-8"))
    return h.hexdigest()


def _pool_from_tables(tables: Mapping[str, Any], manifest: PoolManifest, path: Path | None) -> Pool:
    q = tables["queries"]
    e = tables["entities"]
    j = tables["judgments"]
    for name, t in tables.items():
        version = (t.schema.metadata or {}).get(b"underfoot.pool.format_version")
        if version is not None and int(version) != POOL_FORMAT_VERSION:
            raise ConfigError(
                f"pool table {name} has format version {int(version)}; this build reads "
                f"version {POOL_FORMAT_VERSION} (re-create the pool)"
            )
    if tuple(manifest.feature_names) != FEATURE_NAMES:
        raise ConfigError(
            "pool was built with other features than this build computes; re-create it with "
            "`underfoot-lab snapshot create --force`"
        )
    meta = q.schema.metadata or {}
    params = FeatureParams(**json.loads(meta[b"underfoot.pool.params"]))
    n_total = e.num_rows
    values = np.empty((n_total, len(FEATURE_NAMES)), dtype=np.float64)
    for k, name in enumerate(FEATURE_NAMES):
        values[:, k] = e.column(FEATURE_PREFIX + name).to_numpy()
    ids = tuple(e.column("entity_id").to_pylist())
    counts = q.column("entity_count").to_numpy().astype(np.int64)
    offsets = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    grades = j.column("grade").to_numpy().astype(np.int8)
    if j.column("entity_id").to_pylist() != list(ids):
        raise ConfigError("pool tables disagree: judgments and entities are not aligned")
    u = tables["unretrieved"]
    u_counts = q.column("unretrieved_count").to_numpy().astype(np.int64)
    u_offsets = np.zeros(len(u_counts) + 1, dtype=np.int64)
    np.cumsum(u_counts, out=u_offsets[1:])
    if int(u_offsets[-1]) != u.num_rows:
        raise ConfigError("pool tables disagree: unretrieved rows and query counts differ")
    return Pool(
        manifest=manifest,
        query_ids=tuple(q.column("query_id").to_pylist()),
        offsets=offsets,
        features=FeatureMatrix(FEATURE_NAMES, values, ids, params),
        grades=grades,
        unretrieved_offsets=u_offsets,
        unretrieved_grades=u.column("grade").to_numpy().astype(np.int8),
        unretrieved_ids=tuple(u.column("doc_id").to_pylist()),
        tables=dict(tables),
        path=path,
    )


def _records_from_tables(pool: Pool) -> tuple[PoolQuery, ...]:
    from .. import codec

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


# ------------------------------------------------------------------------------ disk
def write_pool(pool: Pool, out_dir: str | Path) -> Path:
    """Write the pool's tables (parquet) and ``manifest.json`` into ``out_dir``."""
    import pyarrow.parquet as pq

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    files: dict[str, str] = {}
    for name in TABLES:
        path = out / f"{name}.parquet"
        pq.write_table(pool.tables[name], path, compression="zstd")
        files[path.name] = hashlib.sha256(path.read_bytes()).hexdigest()
    manifest = PoolManifest.from_dict({**pool.manifest.to_dict(), "files": files})
    (out / "manifest.json").write_text(
        json.dumps(manifest.to_dict(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    return out


def load_pool(path: str | Path, *, verify: bool = True) -> Pool:
    """Read a pool directory written by :func:`write_pool` (``verify``: check file hashes)."""
    import pyarrow.parquet as pq

    root = Path(path)
    mpath = root / "manifest.json"
    if not mpath.is_file():
        raise ConfigError(f"{root} is not a pool directory (no manifest.json)")
    try:
        data = json.loads(mpath.read_text(encoding="utf-8"))
        version = int(data["format_version"])
    except (ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"{mpath}: unreadable pool manifest ({exc})") from None
    if version != POOL_FORMAT_VERSION:
        why = (
            " (version 2 added the relevant places no source retrieved, which every pool "
            "metric now counts)"
            if version < POOL_FORMAT_VERSION
            else ""
        )
        raise ConfigError(
            f"{root}: pool format version {version}, this build reads "
            f"{POOL_FORMAT_VERSION}{why}; re-create it with `underfoot-lab snapshot create "
            f"--region-set {data.get('region_set', 'NAME')} --out {root} --force`"
        )
    try:
        manifest = PoolManifest.from_dict(data)
    except (ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"{mpath}: unreadable pool manifest ({exc})") from None
    tables = {}
    for name in TABLES:
        p = root / f"{name}.parquet"
        if not p.is_file():
            raise ConfigError(f"{root}: missing {p.name}")
        if verify and manifest.files:
            digest = hashlib.sha256(p.read_bytes()).hexdigest()
            if manifest.files.get(p.name) != digest:
                raise ConfigError(f"{p}: checksum does not match the manifest (file changed)")
        tables[name] = pq.read_table(p)
    return _pool_from_tables(tables, manifest, root)
