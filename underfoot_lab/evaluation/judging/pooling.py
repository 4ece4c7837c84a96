"""Judging pools: which (query, document) pairs people and the LLM judge should grade.

TREC pooling: judge the union of the top ``k`` documents of every system being compared, so
each system's top ``k`` is fully judged and no system is favoured by what got judged. Here the
"systems" are weight settings (``experiments/weights/*.yaml``). :func:`build_judging_pool`
runs the pipeline once per query of a region set (cache on, so a second build costs nothing
and never refetches), re-ranks the fetched candidates under every weights file (the same
:class:`~underfoot_lab.pipeline.score.engine.FeatureScorer` the pipeline uses; no upstream is
touched) and keeps the union of the top-``k`` result ids.

Order for judging is deterministic and **blind to the systems' ranks**: queries in region-set
order, and within a query by a hash of the document id (:func:`judging_order`), so a rater is
not anchored by which documents a system liked, yet every rater sees the same sequence and can
resume. Document ids are the pipeline's result ids (stable within a query), query ids the
region set's, i.e. exactly the keys of :class:`~.judgments.JudgmentStore`.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from ...errors import ConfigError, UnderfootError

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from ...pipeline.run import Pipeline
    from ...pipeline.score.weights import ScoringWeights
    from ...records import Place, RankedResult, SearchResult
    from ...settings import Settings
    from ..regions import RegionQuery, RegionSet

__all__ = [
    "DEFAULT_POOL_WEIGHTS",
    "JudgingPool",
    "PoolItem",
    "build_judging_pool",
    "default_weights_dir",
    "judging_order",
    "load_weights",
    "pipeline_now",
    "pool_from_results",
]

DEFAULT_POOL_WEIGHTS: tuple[str, ...] = ("baseline-seed", "tuned-default-world")
"""The weights files pooled by default (in ``experiments/weights/``): today's scorer and the
tuned default, the two rankings every experiment is compared with."""
DEFAULT_K = 10


@dataclass(frozen=True, slots=True)
class PoolItem:
    """One (query, document) pair to judge, with everything a judge needs to see."""

    query: RegionQuery
    intent: str
    """The pipeline's parsed intent (what the person is looking for)."""
    place: Place
    """Where the search was centred (the geocoded place)."""
    result: RankedResult
    """The document: as ranked by the first weights setting that retrieved it (mentions kept)."""
    ranks: tuple[tuple[str, int], ...]
    """(weights name, 1-based rank) for every setting that put it in its top ``k``."""
    simulated: bool

    @property
    def query_id(self) -> str:
        return self.query.id

    @property
    def doc_id(self) -> str:
        return self.result.id

    @property
    def key(self) -> tuple[str, str]:
        """(query_id, doc_id): the judgment key (with a judge)."""
        return (self.query.id, self.result.id)

    @property
    def best_rank(self) -> int:
        return min(r for _, r in self.ranks)


@dataclass(frozen=True, slots=True)
class JudgingPool:
    """A deterministic judging pool over one region set (see the module docstring)."""

    region_set: str
    k: int
    weights: tuple[str, ...]
    """Scorer versions pooled (``weights:<name>:<hash>``), in pooling order."""
    items: tuple[PoolItem, ...]
    queries: tuple[RegionQuery, ...]
    now: datetime
    """The clock features were computed at (offline: the world's clock)."""
    errors: tuple[tuple[str, str], ...] = ()
    """(query id, one-line reason) for queries that could not be searched."""
    simulated: bool = True
    results: dict[str, SearchResult] = field(default_factory=dict, repr=False, compare=False)
    """The search behind each query id (for the world stand-in and for inspection)."""

    def __len__(self) -> int:
        return len(self.items)

    def __iter__(self) -> Iterator[PoolItem]:
        return iter(self.items)

    @property
    def keys(self) -> tuple[tuple[str, str], ...]:
        return tuple(i.key for i in self.items)

    @property
    def query_ids(self) -> tuple[str, ...]:
        return tuple(q.id for q in self.queries)

    def index_of(self, key: tuple[str, str]) -> int:
        """Position of a (query_id, doc_id) in judging order (ValueError when absent)."""
        return self.keys.index(key)

    def for_query(self, query_id: str) -> tuple[PoolItem, ...]:
        return tuple(i for i in self.items if i.query_id == query_id)

    def to_frame(self) -> pd.DataFrame:
        """One row per item, in judging order (plain values; render with escaping)."""
        import pandas as pd

        rows = [
            {
                "query_id": i.query_id,
                "region": i.query.region,
                "query": i.query.text,
                "doc_id": i.doc_id,
                "title": i.result.title,
                "url": i.result.url,
                "sources": ", ".join(i.result.sources),
                "distance_km": i.result.distance_km,
                "best_rank": i.best_rank,
                "pooled_by": ", ".join(f"{n}@{r}" for n, r in i.ranks),
            }
            for i in self.items
        ]
        return pd.DataFrame(
            rows,
            columns=[
                "query_id", "region", "query", "doc_id", "title", "url", "sources",
                "distance_km", "best_rank", "pooled_by",
            ],
        )  # fmt: skip


def judging_order(query_id: str, doc_id: str) -> str:
    """The sort key within a query: sha256 of ``"<query_id>|<doc_id>"`` (stable, rank-blind)."""
    return hashlib.sha256(f"{query_id}|{doc_id}".encode()).hexdigest()


# ------------------------------------------------------------------------------ weights
def default_weights_dir() -> Path:
    """``experiments/weights`` of the checkout this package runs from (else under the cwd)."""
    for parent in Path(__file__).resolve().parents:
        candidate = parent / "experiments" / "weights"
        if candidate.is_dir():
            return candidate
    return Path.cwd() / "experiments" / "weights"


def load_weights(
    spec: ScoringWeights | str | Path,
) -> ScoringWeights:
    """A weights object, a path to a YAML file, or a name in :func:`default_weights_dir`."""
    from ...pipeline.score.weights import ScoringWeights

    if isinstance(spec, ScoringWeights):
        return spec
    text = str(spec)
    path = Path(spec)
    if not (isinstance(spec, Path) or text.endswith((".yaml", ".yml")) or "/" in text):
        path = default_weights_dir() / f"{text}.yaml"
    if not path.is_file():
        raise ConfigError(f"weights file {path} does not exist")
    return ScoringWeights.from_yaml(path)


def pipeline_now(pipe: Pipeline) -> datetime:
    """The pipeline's "now": what its own scorer's freshness features use (offline the world's
    clock, replaying a recording the recording's clock, live the wall clock)."""
    return pipe.now()


# ------------------------------------------------------------------------------ pooling
def pool_from_results(
    region_set: str,
    searches: Iterable[tuple[RegionQuery, SearchResult]],
    weights: Sequence[ScoringWeights],
    *,
    k: int = DEFAULT_K,
    now: datetime,
    errors: Sequence[tuple[str, str]] = (),
    queries: Sequence[RegionQuery] | None = None,
) -> JudgingPool:
    """The pool of already-run searches: re-rank each under every weights, union the top ``k``.

    Pure (no I/O): the searches' raw candidates are merged again and ranked with
    :class:`FeatureScorer` at ``now``.
    """
    from ...pipeline.score.engine import FeatureScorer
    from ...pipeline.score.merge import merge_candidates

    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    if not weights:
        raise ValueError("pooling needs at least one weights setting")
    scorers = [FeatureScorer(w, clock=lambda: now) for w in weights]
    items: list[PoolItem] = []
    done: list[RegionQuery] = []
    results: dict[str, SearchResult] = {}
    for query, sr in searches:
        done.append(query)
        results[query.id] = sr
        entities = merge_candidates(sr.candidates, sr.place)
        chosen: dict[str, RankedResult] = {}
        ranks: dict[str, list[tuple[str, int]]] = {}
        for w, scorer in zip(weights, scorers, strict=True):
            ranked = scorer.rank(sr.parsed, sr.place, entities)
            for rank, r in enumerate(ranked[:k], start=1):
                chosen.setdefault(r.id, r)
                ranks.setdefault(r.id, []).append((w.name, rank))
        for doc_id in sorted(chosen, key=lambda d: judging_order(query.id, d)):
            items.append(
                PoolItem(
                    query=query,
                    intent=sr.parsed.intent,
                    place=sr.place,
                    result=chosen[doc_id],
                    ranks=tuple(ranks[doc_id]),
                    simulated=sr.simulated,
                )
            )
    return JudgingPool(
        region_set=region_set,
        k=k,
        weights=tuple(w.version for w in weights),
        items=tuple(items),
        queries=tuple(queries if queries is not None else done),
        now=now,
        errors=tuple(errors),
        simulated=all(sr.simulated for sr in results.values()) if results else True,
        results=results,
    )


async def _search_all(
    pipe: Pipeline,
    queries: Sequence[RegionQuery],
    concurrency: int,
    progress: Callable[[int, int], None] | None,
) -> list[tuple[RegionQuery, SearchResult | None, str | None]]:
    sem = asyncio.Semaphore(max(1, concurrency))
    done = 0

    async def one(q: RegionQuery) -> tuple[RegionQuery, SearchResult | None, str | None]:
        nonlocal done
        async with sem:
            try:
                out: tuple[RegionQuery, SearchResult | None, str | None] = (
                    q,
                    await pipe.asearch(q.text, use_cache=True),
                    None,
                )
            except UnderfootError as exc:
                out = (q, None, " ".join(f"{type(exc).__name__}: {exc}".split())[:300])
        done += 1
        if progress is not None:
            progress(done, len(queries))
        return out

    return list(await asyncio.gather(*(one(q) for q in queries)))


def build_judging_pool(
    region_set: RegionSet | str | Path,
    *,
    weights: Sequence[ScoringWeights | str | Path] | None = None,
    k: int = DEFAULT_K,
    pipeline: Pipeline | None = None,
    settings: Settings | None = None,
    concurrency: int = 4,
    progress: Callable[[int, int], None] | None = None,
) -> JudgingPool:
    """Search every query of ``region_set`` once (cache on) and pool the top ``k`` of every
    weights setting (default :data:`DEFAULT_POOL_WEIGHTS`).

    ``pipeline`` is reused when given (its cache and transport apply) and left open; otherwise
    one is created from ``settings`` and closed. Queries that fail (an unknown town) are listed
    in :attr:`JudgingPool.errors` and contribute nothing.
    """
    from ...harness import build_harness
    from ..regions import load_region_set

    rs = region_set if not isinstance(region_set, (str, Path)) else load_region_set(region_set)
    chosen = [load_weights(w) for w in (weights if weights is not None else DEFAULT_POOL_WEIGHTS)]
    own = None
    if pipeline is None:
        own = build_harness(settings)
        pipeline = own.pipeline
    pipe = pipeline
    try:
        rows = pipe.run_sync(_search_all(pipe, rs.queries, concurrency, progress))
        now = pipeline_now(pipe)
        searches = [(q, sr) for q, sr, _ in rows if sr is not None]
        errors = [(q.id, err) for q, sr, err in rows if sr is None and err is not None]
        return pool_from_results(
            rs.name, searches, chosen, k=k, now=now, errors=errors, queries=rs.queries
        )
    finally:
        if own is not None:
            own.close()
