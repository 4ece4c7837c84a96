"""Building a frozen candidate pool: fetch a region set once, judge every candidate.

:func:`build_pool` runs :meth:`Pipeline.fetch` (no cache) for every query of a region set with
bounded concurrency, merges the candidates, computes the feature matrix and asks the offline
world for the truth grade (0-3) of every merged entity, and for every relevant place of the
town no entity resolves to (``world:<entity id>``, relevant but unretrieved: they count in the
ideal DCG and the recall denominators, exactly as in an evaluation run's qrels).
:func:`pool_key` names a pool by everything its contents depend on.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from ...errors import ConfigError, UnderfootError
from ...pipeline.score.features import (
    FEATURE_NAMES,
    FeatureParams,
    build_features,
)
from ...pipeline.score.merge import Entity, merge_candidates
from ...records import ParsedQuery, Place
from .model import (
    POOL_FORMAT_VERSION,
    Pool,
    _Fetched,
    _params_dict,
    _QueryRows,
    _sha256_json,
)
from .storage import freeze_rows

if TYPE_CHECKING:  # pragma: no cover
    from ...pipeline.run import Pipeline
    from ...settings import Settings
    from ...world import World
    from ..regions import RegionQuery, RegionSet

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


# ------------------------------------------------------------------------------ building
def default_pool_dir(settings: Settings, region_set: str, key: str) -> Path:
    """``<home>/pools/<region-set>-<key[:12]>``."""
    return Path(settings.home) / "pools" / f"{region_set}-{key[:12]}"


def pool_key(
    region_set_hash: str, settings: Settings, params: FeatureParams, *, simulated: bool
) -> str:
    """sha256 of what determines a pool before anything is fetched.

    Covers the region set, settings that change what is fetched, the world (seed, clock and
    scenario: its name and hash, which covers the world's code), the features and the code's
    version numbers; other uncommitted code changes are not seen (rebuild with --force).
    """
    from ... import __version__
    from ...harness import world_identity
    from ...pipeline.run import PIPELINE_VERSION

    payload = {
        "format_version": POOL_FORMAT_VERSION,
        "code_version": __version__,
        "pipeline_version": PIPELINE_VERSION,
        "region_set_hash": region_set_hash,
        "mode": settings.mode,
        "sources": list(settings.sources),
        "world_seed": settings.world_seed if simulated else None,
        "world_clock": settings.world_clock.isoformat() if simulated else None,
        "world": world_identity(settings).simulation_id if simulated else None,
        "features": list(FEATURE_NAMES),
        "params": _params_dict(params),
    }
    return _sha256_json(payload)


async def _fetch_all(
    pipe: Pipeline,
    queries: Sequence[RegionQuery],
    concurrency: int,
    progress: Callable[[int, int], None] | None,
) -> list[_Fetched]:
    from ...pipeline.run import validate_query

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
    world: World, q: RegionQuery, parsed: ParsedQuery, place: Place, entities: Sequence[Entity]
) -> tuple[list[int], list[str | None], str, dict[str, tuple[str, int]]]:
    """World-truth grade and world entity id of every merged entity, and the town's relevant
    entities none of them resolves to (``world:<id> -> (entity id, grade)``)."""
    from ..judging.world_judge import town_for, unretrieved_relevant

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
    from ...harness import build_harness, world_identity
    from ...settings import Settings
    from ..regions import load_region_set

    rs = region_set if not isinstance(region_set, (str, Path)) else load_region_set(region_set)
    settings = settings or Settings()
    params = params or FeatureParams()
    with build_harness(settings, use_cache=False) as harness:
        pipe, world = harness.pipeline, harness.world
        if world is None:
            raise ConfigError(
                "frozen pools need the offline world's ground truth; "
                "run with UNDERFOOT_MODE=offline"
            )
        now = settings.world_clock
        identity = world_identity(settings)
        fetched = pipe.run_sync(_fetch_all(pipe, rs.queries, concurrency, progress))
        rows: list[_QueryRows] = []
        for f in fetched:
            if f.parsed is None or f.place is None:
                rows.append(_QueryRows(f, [], None, [], [], "", {}))
                continue
            entities = merge_candidates(f.candidates, f.place)
            fm = build_features(f.parsed, f.place, entities, now=now, params=params)
            grades, wids, intent, missed = _judge_entities(
                world, f.query, f.parsed, f.place, entities
            )
            rows.append(_QueryRows(f, entities, fm, grades, wids, intent, missed))
        sources = tuple(c.provider for c in pipe.selection.sources)
    return freeze_rows(
        rows,
        region_set=rs,
        pool_key=pool_key(rs.hash, settings, params, simulated=True),
        now=now,
        params=params,
        mode=settings.mode,
        sources=sources,
        world=identity,
        world_seed=settings.world_seed,
        world_clock=settings.world_clock,
    )
