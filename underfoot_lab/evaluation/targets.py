"""Evaluating a search that runs somewhere else: any service speaking production's contract.

The HTTP side lives in :mod:`underfoot_lab.service.target` (the evaluation layer may not import
the service layer); this module takes a :class:`Searcher` that returns each answer's validated
JSON body and does the rest as an in-process run does: bounded concurrency, one committed
run-store row per query as it finishes, the world's judgments and the report
(:func:`~underfoot_lab.evaluation.runner.load_report`, so metrics, ``compare`` and MLflow work
on target runs unchanged).

**Answers to results** (:func:`result_from_body`). A place of the answer becomes a
:class:`~underfoot_lab.records.RankedResult`:

* our own service lists every source mention of a place (``places[].mentions``), its result id,
  rank, sources and distance, and the pipeline's parsed query, place, trace and source statuses
  under ``debug``: the result is rebuilt exactly, so the world judges it by the same URLs and
  ids as in process and the relevance metrics equal in-process ``evaluate``;
* another service (production's own) gives ``name, description, source, url, score,
  category``: the place becomes one mention with its URL. When the world knows no entity behind
  that URL, the place's name is matched against the entities of the query's town (expected
  town; normalised names; the nearest to the reported distance when several share the name) and
  the mention carries the matched entity's id, so the world judge grades it; a place matching
  nothing grades 0. Result ids are the answer's own, else a slug of the name (unique per
  answer).

**Run config.** ``mode`` is ``"target <URL>"`` (the URL without credentials, query or fragment),
so a target run never passes for an in-process one (:meth:`RunStore.find` compares the mode);
``scorer``, ``sources``, ``simulated`` and ``world_seed`` are what the first answer's ``debug``
says (``"unknown"``, none, False, None when it says nothing); the world clock and scenario are
this process's settings (the service does not publish them). ``weights`` records the weights
file the caller says the service runs with (``"unknown"`` when not given).
"""

from __future__ import annotations

import asyncio
import re
import secrets
import sys
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypedDict

from .. import codec
from ..errors import ConfigError
from ..provenance import git_commit, git_dirty
from ..records import (
    Answer,
    CacheInfo,
    CacheStatus,
    Candidate,
    ParsedQuery,
    Place,
    RankedResult,
    ResultCategory,
    SearchResult,
    SourceStatus,
    StageTrace,
)
from .results.model import RunConfig

if TYPE_CHECKING:  # pragma: no cover
    from ..geo.gazetteer import Town
    from ..settings import Settings
    from ..world import Entity, World
    from .regions import RegionQuery, RegionSet
    from .results.model import EvaluationReport

__all__ = [
    "Searcher",
    "TargetRun",
    "evaluate_searcher",
    "match_entity",
    "result_from_body",
    "target_config",
]

_DT_FIELDS = ("starts_at", "published_at")


class Searcher(Protocol):
    """Searches a remote service: the validated JSON body of a 200 answer, or a workbench
    error (:class:`~underfoot_lab.errors.BadQuery`, ``LocationNotFound``, ``UpstreamError``)."""

    async def search(self, text: str, *, force: bool) -> Mapping[str, Any]: ...

    async def aclose(self) -> None: ...


# ------------------------------------------------------------------------------ answers
def _norm(name: str) -> str:
    from ..geo.gazetteer import normalize_name

    return normalize_name(name)


def match_entity(
    world: World, town: Town, name: str, distance_km: float | None = None
) -> Entity | None:
    """The entity of ``town``'s universe named ``name`` (normalised), the nearest to
    ``distance_km`` from the town centre when several share the name; None when none does."""
    wanted = _norm(name)
    if not wanted:
        return None
    found = [e for e in world.universe(town).entities if _norm(e.name) == wanted]
    if not found:
        return None
    if distance_km is None or len(found) == 1:
        return found[0]
    return min(found, key=lambda e: abs(e.distance_km - distance_km))


def _slug(name: str, taken: set[str]) -> str:
    base = re.sub(r"[^a-z0-9]+", "-", _norm(name)).strip("-") or "place"
    slug, n = base, 2
    while slug in taken:
        slug, n = f"{base}-{n}", n + 1
    return slug


def _candidate(data: Mapping[str, Any]) -> Candidate:
    fixed = dict(data)
    for key in _DT_FIELDS:
        if isinstance(fixed.get(key), str):
            fixed[key] = {"$dt": fixed[key]}
    cand: Candidate = codec.from_jsonable(Candidate, fixed)
    return cand


def _float_or_none(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) else None


def _place_result(
    p: Mapping[str, Any],
    *,
    taken: set[str],
    simulated: bool,
    world: World | None,
    town: Town | None,
) -> RankedResult:
    name = str(p.get("name", ""))
    url = str(p.get("url", ""))
    source = str(p.get("source", ""))
    distance = _float_or_none(p.get("distance_km"))
    raw = p.get("mentions")
    if isinstance(raw, list) and raw:
        mentions = tuple(_candidate(m) for m in raw)
    else:
        native = url
        if world is not None and town is not None and world.entity_for_url(url) is None:
            entity = match_entity(world, town, name, distance)
            if entity is not None:
                native = str(entity.cid)  # an id the world resolves (and nothing else uses)
        mentions = (
            Candidate(
                source=source,
                source_type="web",
                native_id=native,
                title=name,
                name=name,
                description=str(p.get("description", "")),
                url=url,
                rank=len(taken) + 1,
                simulated=simulated,
            ),
        )
    rid = p.get("id")
    result_id = (
        str(rid) if isinstance(rid, str) and rid and rid not in taken else _slug(name, taken)
    )
    taken.add(result_id)
    sources = p.get("sources")
    category: ResultCategory = "primary" if p.get("category") == "primary" else "nearby"
    return RankedResult(
        id=result_id,
        title=name,
        url=url,
        sources=tuple(str(s) for s in sources) if isinstance(sources, list) else (source,),
        score=float(p.get("score", 0.0)),
        category=category,
        distance_km=distance,
        lat=_float_or_none(p.get("lat")),
        lon=_float_or_none(p.get("lon")),
        description=str(p.get("description", "")),
        mentions=mentions,
        simulated=simulated,
    )


def _place(debug: Mapping[str, Any], location: str, world: World | None) -> Place:
    raw = debug.get("place")
    if isinstance(raw, Mapping) and raw.get("name"):
        place: Place = codec.from_jsonable(Place, raw)
        return place
    name, _, state = location.partition(",")
    town = None
    if world is not None:
        found = world.gazetteer.lookup(name.strip(), state.strip() or None)
        town = found[0] if found else None
    if town is None:
        return Place(location, "", "", None, "US", 0.0, 0.0, 0, 0.0, "target")
    return Place(
        town.name, town.state, town.state_code, town.county, "US", town.lat, town.lon,
        town.population, 1.0, "target",
    )  # fmt: skip


def _cache(debug: Mapping[str, Any]) -> CacheStatus:
    state = debug.get("cache")
    if state == "hit":
        return "hit-sqlite" if debug.get("cache_layer") == "sqlite" else "hit-memory"
    return "miss" if state == "miss" else "bypass"


def result_from_body(
    body: Mapping[str, Any],
    text: str,
    *,
    world: World | None = None,
    query: RegionQuery | None = None,
) -> SearchResult:
    """A service's 200 answer as the :class:`SearchResult` an in-process search would give
    (see the module docstring); ``world`` and ``query`` (its expected town) serve the name
    matching of places whose URL the world does not know."""
    from .judging.world_judge import town_for

    debug: Mapping[str, Any] = body.get("debug") or {}
    simulated = bool(debug.get("simulated", False))
    raw_parsed = debug.get("parsed")
    if isinstance(raw_parsed, Mapping) and "intent" in raw_parsed:
        parsed: ParsedQuery = codec.from_jsonable(ParsedQuery, raw_parsed)
    else:
        location = str(body.get("user_location", "")) or None
        parsed = ParsedQuery(text, location, str(body.get("user_intent", "")), 1.0, "target")
    town = town_for(world, query, None) if world is not None and query is not None else None
    places = [p for p in body.get("places", []) if isinstance(p, Mapping)]
    # Our service lists the pipeline's 1-based order as ``rank``; others are taken as listed.
    if places and all(isinstance(p.get("rank"), int) for p in places):
        places.sort(key=lambda p: int(p["rank"]))
    taken: set[str] = set()
    results = tuple(
        _place_result(p, taken=taken, simulated=simulated, world=world, town=town) for p in places
    )
    trace_raw = debug.get("trace")
    if isinstance(trace_raw, list) and trace_raw:
        trace = tuple(codec.from_jsonable(StageTrace, t) for t in trace_raw)
    else:
        ms = float(debug.get("execution_time_ms", 0) or 0)
        trace = (StageTrace("total", ms, "ok"),)
    sources_raw = debug.get("sources")
    sources = (
        tuple(codec.from_jsonable(SourceStatus, s) for s in sources_raw)
        if isinstance(sources_raw, list)
        else ()
    )
    seed = debug.get("world_seed")
    return SearchResult(
        query=text,
        parsed=parsed,
        place=_place(debug, str(body.get("user_location", "")), world),
        results=results,
        answer=Answer(
            text=str(body.get("response", "")),
            responder=str(debug.get("responder") or "target"),
            named_ids=tuple(str(x) for x in debug.get("named_ids") or ()),
            unsupported_names=tuple(str(x) for x in debug.get("unsupported_names") or ()),
        ),
        trace=trace,
        sources=sources,
        cache=CacheInfo(_cache(debug), str(debug.get("request_id", ""))),
        scorer=str(debug.get("scorer") or "unknown"),
        simulated=simulated,
        world_seed=int(seed) if isinstance(seed, int) else None,
    )


# ------------------------------------------------------------------------------ config
def target_config(
    rs: RegionSet,
    target: str,
    first: SearchResult | None,
    *,
    settings: Settings,
    weights: str | Path | None,
    k: int,
    use_cache: bool,
) -> RunConfig:
    """The run config of evaluating ``target`` (see the module docstring)."""
    from .runner import _outside_data_dir, weights_identity

    name, digest, path = weights_identity(weights) if weights else ("unknown", "unknown", None)
    simulated = bool(first.simulated) if first is not None else False
    return RunConfig(
        region_set=rs.name,
        region_set_hash=rs.hash,
        weights=name,
        weights_hash=digest,
        scorer=first.scorer if first is not None else "unknown",
        k=int(k),
        sources=tuple(s.source for s in first.sources) if first is not None else (),
        mode=f"target {target}",
        simulated=simulated,
        world_seed=(first.world_seed if first is not None else None) if simulated else None,
        world_clock=settings.world_clock.isoformat() if simulated else None,
        primary_radius_km=float(settings.primary_radius_km),
        pipeline_version="target",
        git_commit=git_commit(),
        git_dirty=git_dirty(),
        weights_path=path,
        use_cache=bool(use_cache),
        region_set_path=_outside_data_dir(rs),
    )


# ------------------------------------------------------------------------------ running
@dataclass(frozen=True, slots=True)
class TargetRun:
    """What to evaluate: the target's public URL (no credentials) and its searcher."""

    target: str
    searcher: Searcher


def _error_text(exc: BaseException) -> str:
    from ..redaction import known_secrets, redact

    text = f"{type(exc).__name__}: {exc}".replace("\n", " ")
    return redact(text, known_secrets())[:500]


class _Worlds:
    """The world a target's answers are judged in, built once the first answer says whether
    (and with which seed) the service simulates."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.world: World | None = None

    def for_answer(self, body: Mapping[str, Any]) -> World | None:
        debug = body.get("debug") or {}
        if self.world is None and debug.get("simulated"):
            from ..world import build_world

            seed = debug.get("world_seed")
            seed = seed if isinstance(seed, int) else self.settings.world_seed
            self.world = build_world(self.settings.model_copy(update={"world_seed": seed}))
        return self.world


class SearcherOptions(TypedDict, total=False):
    """:func:`evaluate_searcher`'s keyword arguments that a front end passes through unchanged
    (:func:`underfoot_lab.service.target.evaluate_target`); the function says what each does."""

    weights: str | Path | None
    k: int
    use_cache: bool
    run_id: str | None
    resume: bool
    progress: bool
    judges: str


def evaluate_searcher(
    region_set: RegionSet | str | Path,
    run: TargetRun,
    *,
    settings: Settings,
    weights: str | Path | None = None,
    k: int = 10,
    use_cache: bool = True,
    concurrency: int = 4,
    run_id: str | None = None,
    resume: bool = False,
    progress: bool = True,
    judges: str = "world",
) -> EvaluationReport:
    """Evaluate a region set against a remote service (see the module docstring); the run's
    rows go to the run store like an in-process run's. ``use_cache=False`` sends
    ``force: true`` (the service searches afresh). Returns the report."""
    from .runner import RunStore, _load_set, load_report, new_run_id

    if k < 1:
        raise ConfigError(f"k must be a positive integer, got {k}")
    if concurrency < 1:
        raise ConfigError(f"--concurrency must be at least 1, got {concurrency}")
    if resume and not run_id:
        raise ConfigError("resume=True needs the run_id of the run to continue")
    rs = _load_set(region_set)
    store = RunStore(settings=settings)
    session = secrets.token_hex(4)
    done: set[str] = set()
    if resume:
        assert run_id is not None
        stored = store.config(run_id)
        if stored.mode != f"target {run.target}":
            raise ConfigError(f"cannot resume run {run_id}: it did not evaluate {run.target}")
        done = store.done(run_id) & set(rs.ids)
    else:
        run_id = run_id or new_run_id()
    missing = [q for q in rs.queries if q.id not in done]
    if progress:
        print(
            f"{'resuming' if resume else 'starting'} run {run_id}: {rs.name} against "
            f"{run.target}, {len(rs)} queries, {len(missing)} to compute",
            file=sys.stderr,
            flush=True,
        )
    worlds = _Worlds(settings)

    async def one(q: RegionQuery) -> tuple[SearchResult | None, str | None, float]:
        start = time.perf_counter()
        try:
            body = await run.searcher.search(q.text, force=not use_cache)
            result = result_from_body(body, q.text, world=worlds.for_answer(body), query=q)
        except Exception as exc:  # recorded, scored 0; the batch goes on
            return None, _error_text(exc), (time.perf_counter() - start) * 1000.0
        return result, None, (time.perf_counter() - start) * 1000.0

    async def put(q: RegionQuery, outcome: tuple[SearchResult | None, str | None, float]) -> None:
        result, error, ms = outcome
        assert run_id is not None
        await asyncio.to_thread(
            store.put, run_id, q.id, result, error=error, elapsed_ms=ms, session=session
        )

    async def main() -> None:
        assert run_id is not None
        todo: Sequence[RegionQuery] = missing
        try:
            if not resume:
                # The first answer says what the service is (scorer, sources, simulated).
                first = await one(todo[0]) if todo else (None, None, 0.0)
                config = target_config(
                    rs, run.target, first[0], settings=settings, weights=weights, k=k,
                    use_cache=use_cache,
                )  # fmt: skip
                store.create(run_id, config)
                if todo:
                    await put(todo[0], first)
                    todo = todo[1:]
            store.set_status(run_id, "running")
            sem = asyncio.Semaphore(concurrency)

            async def bounded(q: RegionQuery) -> None:
                async with sem:
                    outcome = await one(q)
                await put(q, outcome)

            await asyncio.gather(*(bounded(q) for q in todo))
        finally:
            await run.searcher.aclose()

    # A loop of its own in a worker thread: works in a script and in a running notebook kernel.
    with ThreadPoolExecutor(1, thread_name_prefix="evaluate-target") as pool:
        try:
            pool.submit(asyncio.run, main()).result()
        except BaseException:
            if store.exists(run_id):
                store.set_status(run_id, "interrupted")
            raise
    store.set_status(run_id, "complete")
    return load_report(run_id, settings=settings, judges=judges, region_set=rs)
