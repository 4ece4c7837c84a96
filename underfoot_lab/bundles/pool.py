"""A frozen candidate pool from a bundle: ``snapshot create --bundle`` and ``sweep --bundle``.

:func:`bundle_candidate_pool` fetches every query of the bundle's region set by **replay** (no
network: a request the bundle did not record is a ConfigError naming the query and the
exchange, never a silently thinner pool), merges and featurises the candidates at the bundle's
clock exactly as :func:`~underfoot_lab.evaluation.candidate_pools.build_pool` does, and grades
every entity with the bundle's judgments (the judges ``--judges`` names; unjudged: 0). A judged
relevant document no entity of the pool matches (judged under another pipeline, or imported)
is kept as an unretrieved relevant place, as an evaluation's qrels would count it.

The pool is not simulated (``world_seed`` and ``world`` are None), its ``judge`` is the judges
it was graded by, and its key covers the bundle's hash and the qrels, so re-judging the bundle
gives a new pool rather than reusing a stale one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from ..evaluation.candidate_pools import Pool
    from ..pipeline.run import Fetched, Pipeline
    from ..pipeline.score.features import FeatureParams
    from ..settings import Settings
    from .replay import BundleRun

__all__ = ["bundle_candidate_pool", "bundle_pool_key", "bundle_qrels", "freeze_bundle_pool"]

_Progress = Callable[[int, int], None]


def bundle_qrels(run: BundleRun) -> dict[str, dict[str, int]]:
    """The qrels of the bundle's queries by ``run.judges`` (empty when nothing is judged)."""
    from ..evaluation.judging.judgments import JudgmentStore
    from ..evaluation.judging.world_judge import qrels_for

    qids = list(run.bundle.manifest["queries"])
    # world=None: the offline world's truth never grades real data.
    return qrels_for(JudgmentStore(settings=run.settings), qids, run.judges, world=None)


def bundle_pool_key(
    run: BundleRun, params: FeatureParams, qrels: Mapping[str, Mapping[str, int]]
) -> str:
    """sha256 of what the pool depends on: the usual pool key (no world), the bundle's hash
    (its region set and every recorded exchange) and the qrels it is graded with."""
    from ..evaluation.candidate_pools import pool_key
    from ..evaluation.candidate_pools.model import _sha256_json
    from ..evaluation.judging.world_judge import qrels_hash

    rs = run.bundle.region_set()
    base = pool_key(rs.hash, run.settings, params, simulated=False)
    return _sha256_json(
        {
            "pool_key": base,
            "bundle_hash": run.bundle.hash,
            "judges": run.judges,
            "qrels_hash": qrels_hash(qrels),
        }
    )


def _fetch(
    pipe: Pipeline, texts: Sequence[str], concurrency: int, progress: _Progress | None
) -> list[Fetched | str]:
    """Every query fetched (or the error it raised), in order."""
    from ..errors import UnderfootError
    from ..pipeline.run import validate_query

    async def all_of() -> list[Fetched | str]:
        sem = asyncio.Semaphore(max(1, concurrency))
        done = 0

        async def one(text: str) -> Fetched | str:
            nonlocal done
            async with sem:
                try:
                    out: Fetched | str = await pipe.fetch(validate_query(text))
                except UnderfootError as exc:
                    out = f"{type(exc).__name__}: {exc}"
            done += 1
            if progress is not None:
                progress(done, len(texts))
            return out

        return list(await asyncio.gather(*(one(t) for t in texts)))

    result: list[Fetched | str] = pipe.run_sync(all_of())
    return result


def bundle_candidate_pool(
    path: Path | str,
    settings: Settings | None = None,
    *,
    judges: str = "world",
    params: FeatureParams | None = None,
    concurrency: int = 4,
    progress: _Progress | None = None,
) -> tuple[Pool, BundleRun]:
    """The bundle's frozen candidate pool (in memory; ``write_pool`` stores it) and the
    :class:`BundleRun` it was built with (its ``tags`` name the bundle for MLflow).

    ``judges`` as ``evaluate --judges`` (``"world"``: the bundle's own judges). Raises
    ConfigError for a replay miss (naming the query and the exchange) or a broken bundle.
    """
    from .replay import prepare

    run = prepare(path, settings, judges)
    return _build(run, params, concurrency, progress), run


def freeze_bundle_pool(
    path: Path | str,
    settings: Settings | None = None,
    *,
    judges: str = "world",
    out: Path | str | None = None,
    force: bool = False,
    concurrency: int = 4,
    progress: _Progress | None = None,
) -> tuple[Path, BundleRun, bool]:
    """The bundle's pool on disk: (its directory, the run, whether it was built now).

    ``out`` defaults to ``<home>/pools/<region set>-<key12>``; a pool already there with the
    same key (same bundle, judges and qrels) is reused without replaying anything, another
    pool there is refused unless ``force``.
    """
    from ..errors import ConfigError
    from ..evaluation.candidate_pools import default_pool_dir, load_pool, write_pool
    from ..pipeline.score.features import FeatureParams
    from .replay import prepare

    run = prepare(path, settings, judges)
    params = FeatureParams()
    key = bundle_pool_key(run, params, bundle_qrels(run))
    name = run.bundle.region_set().name
    target = Path(out) if out is not None else default_pool_dir(run.settings, name, key)
    if (target / "manifest.json").is_file() and not force:
        if load_pool(target, verify=False).manifest.pool_key == key:
            return target, run, False
        raise ConfigError(f"{target} holds another pool; choose --out or pass --force")
    write_pool(_build(run, params, concurrency, progress), target)
    return target, run, True


def _build(
    run: BundleRun, params: FeatureParams | None, concurrency: int, progress: _Progress | None
) -> Pool:
    from ..evaluation.candidate_pools.model import _Fetched, _QueryRows
    from ..evaluation.candidate_pools.storage import freeze_rows
    from ..harness import build_harness
    from ..pipeline.score.features import FeatureParams, build_features
    from ..pipeline.score.merge import merge_candidates
    from .replay import find_miss, miss_error

    rs = run.bundle.region_set()
    params = params or FeatureParams()
    qrels = bundle_qrels(run)
    # The bundle's "now": the clock it was collected with, which its replay dates things by.
    now = datetime.fromisoformat(str(run.bundle.manifest["clock"]))
    with build_harness(run.settings, use_cache=False) as harness:
        pipe = harness.pipeline
        fetched = _fetch(pipe, [q.text for q in rs.queries], concurrency, progress)
        sources = tuple(c.provider for c in pipe.selection.sources)
    rows: list[_QueryRows] = []
    for q, f in zip(rs.queries, fetched, strict=True):
        if isinstance(f, str):
            exchange = find_miss([f])
            if exchange is not None:
                raise miss_error(run.bundle, q.id, exchange)
            rows.append(_QueryRows(_Fetched(q, None, None, (), f), [], None, [], [], "", {}))
            continue
        exchange = find_miss([t.detail for t in f.trace] + [s.message for s in f.statuses])
        if exchange is not None:
            raise miss_error(run.bundle, q.id, exchange)
        entities = merge_candidates(f.candidates, f.place)
        fm = build_features(f.parsed, f.place, entities, now=now, params=params)
        judged = qrels.get(q.id, {})
        grades = [int(judged.get(e.id, 0)) for e in entities]
        ids = {e.id for e in entities}
        # A judged relevant document outside the pool still counts in the ideal DCG.
        missed = {d: ("", int(g)) for d, g in judged.items() if d not in ids and g > 0}
        rows.append(
            _QueryRows(
                _Fetched(q, f.parsed, f.place, f.candidates, None),
                entities,
                fm,
                grades,
                [None] * len(entities),
                f.parsed.intent,
                missed,
            )
        )
    return freeze_rows(
        rows,
        region_set=rs,
        pool_key=bundle_pool_key(run, params, qrels),
        now=now,
        params=params,
        mode=run.settings.mode,
        sources=sources,
        judge=run.judges,
    )
