"""Batch evaluation of a region set, with a resumable run store.

:func:`evaluate_region_set` runs the pipeline over every query of a region set with bounded
concurrency (an ``asyncio.Semaphore`` around :meth:`Pipeline.asearch`, on the pipeline's own
loop via :meth:`Pipeline.run_sync`, so it works in a script and in a running notebook kernel),
shows a ``tqdm.auto`` progress bar (terminal or notebook widget; off when stderr is not a
terminal outside a notebook, or with ``progress=False``), and writes each query's outcome to
the :class:`RunStore` **as it finishes**, in small batches (one connection and one committed
transaction per batch: 16 outcomes, or fewer once 0.5 s passed since the last). When a run is
interrupted (Ctrl-C, a crash, SIGKILL), ``evaluate_region_set(..., run_id=ID, resume=True)``
(``underfoot-lab evaluate --resume ID``) computes only the queries that have no row yet and
ends with the same metrics as an uninterrupted run: the offline world is deterministic for a
seed, so a result computed today equals one computed before the interruption, and the report
is always built from the stored rows.

A query that raises (``LocationNotFound``, an upstream failure the pipeline does not absorb) is
stored as an error row and scored 0 on the IR metrics (see :mod:`.domain` for the rest); it
never stops the batch. Error rows count as done when resuming.

Then, for offline runs, the world's truth for every stored result, and for every relevant
place of the query's town that no result retrieved (doc id ``world:<entity id>``), is upserted
into the :class:`~underfoot_lab.evaluation.judging.judgments.JudgmentStore` (judge ``"world"``,
:mod:`.world_judge`), the qrels are read back for the run's queries (``judges``, default
``"world"``) and the :class:`~underfoot_lab.evaluation.results.model.EvaluationReport` is built.
:func:`load_report` rebuilds a report from the store at any time (e.g. against newer
judgments, or human ones).

**Run store** (``settings.home / "runs.sqlite3"``)::

    runs(run_id PRIMARY KEY, created_at, config_json, status)  -- running|complete|interrupted
    results(run_id, query_id, result_json, error, elapsed_ms, finished_at, session)

``result_json`` is :func:`underfoot_lab.codec.dumps` of the
:class:`~underfoot_lab.records.SearchResult` without its raw pre-merge ``candidates`` (the
merged results keep every mention; use :mod:`.pools` to re-rank from raw candidates);
``error`` is ``"<ExceptionType>: message"`` for a query that raised. ``session`` identifies
the process invocation that wrote the row (so a resumed run shows what it recomputed).

Run ids are short and readable: ``YYYYMMDD-HHMMSS-xxxxxx`` (UTC time plus 6 random hex digits).

Test-only knob: ``UNDERFOOT_EVAL_QUERY_DELAY_S`` (seconds, default 0) sleeps before each query,
so tests can interrupt a run midway. It is not a setting; do not use it otherwise.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import sqlite3
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..config import file_hash, read_yaml
from ..errors import ConfigError
from ..provenance import git_commit, git_dirty
from .results.build import build_report
from .results.model import EvaluationReport, QueryOutcome, RunConfig

if TYPE_CHECKING:  # pragma: no cover
    from ..harness import WorldIdentity
    from ..pipeline.run import Pipeline
    from ..records import SearchResult
    from ..settings import Settings
    from ..world import World
    from .regions import RegionQuery, RegionSet

__all__ = [
    "DELAY_ENV",
    "RunConfig",
    "RunStore",
    "StoredRow",
    "evaluate_region_set",
    "find_run",
    "load_report",
    "make_run_config",
    "new_run_id",
    "run_world",
    "weights_identity",
]

DELAY_ENV = "UNDERFOOT_EVAL_QUERY_DELAY_S"
"""Test-only: seconds to sleep before each query (see the module docstring)."""

WeightsArg = str | Path | None


def new_run_id(now: datetime | None = None) -> str:
    """``YYYYMMDD-HHMMSS-xxxxxx``: UTC time plus 6 random hex digits."""
    now = now or datetime.now(UTC)
    return f"{now:%Y%m%d-%H%M%S}-{secrets.token_hex(3)}"


# ------------------------------------------------------------------------------ run store
_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id      TEXT PRIMARY KEY,
    created_at  TEXT NOT NULL,
    config_json TEXT NOT NULL,
    status      TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS results (
    run_id      TEXT NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
    query_id    TEXT NOT NULL,
    result_json TEXT,
    error       TEXT,
    elapsed_ms  REAL,
    finished_at TEXT NOT NULL,
    session     TEXT,
    PRIMARY KEY (run_id, query_id)
);
"""


@dataclass(frozen=True, slots=True)
class StoredRow:
    """One stored query outcome (the result still JSON-encoded)."""

    query_id: str
    result_json: str | None
    error: str | None
    elapsed_ms: float | None
    finished_at: str
    session: str | None
    decoded: SearchResult | None = field(default=None, compare=False, repr=False)
    """The result as this process wrote it (so :meth:`result` need not decode it again)."""

    def result(self) -> SearchResult | None:
        """The decoded :class:`SearchResult` (None for an error row)."""
        if self.result_json is None:
            return None
        if self.decoded is not None:
            return self.decoded
        from .. import codec
        from ..records import SearchResult

        return codec.loads(SearchResult, self.result_json)


class RunStore:
    """Evaluation runs in one SQLite file (default ``settings.home / "runs.sqlite3"``).

    Every method opens its own short connection and commits before returning, so a row written
    by :meth:`put` survives the process being killed right after.
    """

    def __init__(self, path: str | Path | None = None, *, settings: Settings | None = None) -> None:
        if path is None:
            if settings is None:
                from ..settings import Settings

                settings = Settings()
            path = settings.home / "runs.sqlite3"
        self.path = Path(path)
        self._ready = False
        # (run_id, query_id) -> (the stored JSON, the result it encodes), for rows this
        # instance wrote: a report built right after a run skips decoding them again.
        self._written: dict[tuple[str, str], tuple[str, SearchResult]] = {}

    def __repr__(self) -> str:
        return f"RunStore({str(self.path)!r})"

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        # storage.connect: WAL, busy timeout, and a damaged file named with its remedy (exit 2)
        # rather than "internal error: file is not a database"; never deleted.
        from ..storage import connect, corruption_guard

        what = "the run store"
        with corruption_guard(self.path, what=what):
            conn = connect(self.path, what=what, check_dir=not self._ready)
            with closing(conn):
                conn.execute("PRAGMA foreign_keys = ON")
                if not self._ready:
                    conn.executescript(_SCHEMA)
                    self._ready = True
                with conn:
                    yield conn

    def create(self, run_id: str, config: RunConfig) -> None:
        """Register a new run (ConfigError when the id exists)."""
        with self._connect() as conn:
            try:
                conn.execute(
                    "INSERT INTO runs (run_id, created_at, config_json, status) VALUES (?,?,?,?)",
                    (
                        run_id,
                        datetime.now(UTC).isoformat(timespec="seconds"),
                        json.dumps(config.to_dict(), sort_keys=True),
                        "running",
                    ),
                )
            except sqlite3.IntegrityError:
                raise ConfigError(
                    f"run {run_id!r} already exists in {self.path}; pass resume=True "
                    "(--resume) to continue it"
                ) from None

    def exists(self, run_id: str) -> bool:
        with self._connect() as conn:
            row = conn.execute("SELECT 1 FROM runs WHERE run_id = ?", (run_id,)).fetchone()
        return row is not None

    def config(self, run_id: str) -> RunConfig:
        """The stored config of a run (ConfigError when unknown)."""
        with self._connect() as conn:
            row = conn.execute(
                "SELECT config_json FROM runs WHERE run_id = ?", (run_id,)
            ).fetchone()
        if row is None:
            known = self.run_ids()[-5:]
            raise ConfigError(
                f"no run {run_id!r} in {self.path}"
                + (f" (recent: {', '.join(known)})" if known else " (the store is empty)")
            )
        return RunConfig.from_dict(json.loads(row[0]))

    def info(self, run_id: str) -> dict[str, Any]:
        """created_at, status and the number of stored rows of a run."""
        with self._connect() as conn:
            row = conn.execute(
                "SELECT created_at, status FROM runs WHERE run_id = ?", (run_id,)
            ).fetchone()
            n = conn.execute("SELECT COUNT(*) FROM results WHERE run_id = ?", (run_id,)).fetchone()
        if row is None:
            raise ConfigError(f"no run {run_id!r} in {self.path}")
        return {"run_id": run_id, "created_at": row[0], "status": row[1], "rows": int(n[0])}

    def run_ids(self) -> list[str]:
        """Every run id, oldest first."""
        with self._connect() as conn:
            return [
                r[0] for r in conn.execute("SELECT run_id FROM runs ORDER BY created_at, run_id")
            ]

    def set_status(self, run_id: str, status: str) -> None:
        with self._connect() as conn:
            conn.execute("UPDATE runs SET status = ? WHERE run_id = ?", (status, run_id))

    def put(
        self,
        run_id: str,
        query_id: str,
        result: SearchResult | None,
        *,
        error: str | None = None,
        elapsed_ms: float | None = None,
        session: str | None = None,
    ) -> None:
        """Store one query's outcome and commit (replacing an earlier row for it)."""
        from .. import codec

        text = None if result is None else codec.dumps(replace(result, candidates=()))
        with self._connect() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO results "
                "(run_id, query_id, result_json, error, elapsed_ms, finished_at, session) "
                "VALUES (?,?,?,?,?,?,?)",
                (
                    run_id,
                    query_id,
                    text,
                    error,
                    elapsed_ms,
                    datetime.now(UTC).isoformat(timespec="microseconds"),
                    session,
                ),
            )

    def put_many(
        self,
        run_id: str,
        outcomes: Sequence[tuple[str, SearchResult | None, str | None, float | None]],
        *,
        session: str | None = None,
    ) -> None:
        """Store many outcomes ``(query_id, result, error, elapsed_ms)`` in one transaction on
        one connection (what :meth:`put` does for one; a batch is all or nothing)."""
        from .. import codec

        rows = []
        for query_id, result, error, elapsed_ms in outcomes:
            text = None
            if result is not None:
                stored = replace(result, candidates=())
                text = codec.dumps(stored)
                self._written[(run_id, query_id)] = (text, stored)
            finished = datetime.now(UTC).isoformat(timespec="microseconds")
            rows.append((run_id, query_id, text, error, elapsed_ms, finished, session))
        if not rows:
            return
        with self._connect() as conn:
            conn.executemany(
                "INSERT OR REPLACE INTO results "
                "(run_id, query_id, result_json, error, elapsed_ms, finished_at, session) "
                "VALUES (?,?,?,?,?,?,?)",
                rows,
            )

    def done(self, run_id: str) -> set[str]:
        """Query ids with a stored row (results and errors)."""
        with self._connect() as conn:
            return {
                r[0]
                for r in conn.execute("SELECT query_id FROM results WHERE run_id = ?", (run_id,))
            }

    def rows(self, run_id: str) -> dict[str, StoredRow]:
        """Every stored row of a run, by query id."""
        with self._connect() as conn:
            cur = conn.execute(
                "SELECT query_id, result_json, error, elapsed_ms, finished_at, session "
                "FROM results WHERE run_id = ?",
                (run_id,),
            )
            out = {}
            for query_id, text, error, elapsed_ms, finished_at, session in cur:
                written = self._written.get((run_id, query_id))
                decoded = written[1] if written is not None and written[0] == text else None
                out[query_id] = StoredRow(
                    query_id, text, error, elapsed_ms, finished_at, session, decoded=decoded
                )
            return out

    def delete(self, run_id: str) -> None:
        """Remove a run and its rows."""
        with self._connect() as conn:
            conn.execute("DELETE FROM results WHERE run_id = ?", (run_id,))
            conn.execute("DELETE FROM runs WHERE run_id = ?", (run_id,))

    def find(self, config: RunConfig, *, status: str = "complete") -> str | None:
        """The newest run with this (compared) config and status, or None."""
        wanted = config.compared()
        with self._connect() as conn:
            rows = conn.execute(
                "SELECT run_id, config_json FROM runs WHERE status = ? "
                "ORDER BY created_at DESC, run_id DESC",
                (status,),
            ).fetchall()
        for run_id, text in rows:
            if RunConfig.from_dict(json.loads(text)).compared() == wanted:
                return str(run_id)
        return None


# ------------------------------------------------------------------------------ config
def weights_identity(weights: WeightsArg) -> tuple[str, str, str | None]:
    """(name, hash, path) of a weights file; ``("seed", "seed", None)`` for the seed scorer."""
    if weights is None:
        return "seed", "seed", None
    path = Path(weights)
    if not path.is_file():
        raise ConfigError(f"weights file {path} does not exist")
    name = path.stem
    try:
        data = read_yaml(path, "weights file")
        if isinstance(data, dict) and isinstance(data.get("name"), str) and data["name"]:
            name = data["name"]
    except ConfigError:  # the scorer loader reports a broken file when it loads it
        pass
    return name, file_hash(path), str(path)


def _load_set(region_set: RegionSet | str | Path) -> RegionSet:
    from .regions import RegionSet, load_region_set

    if isinstance(region_set, RegionSet):
        return region_set
    return load_region_set(region_set)


def _outside_data_dir(rs: RegionSet) -> str | None:
    """The set's file when it is not in the data directory (so a name would not find it)."""
    from .regions import data_regions_dir

    if rs.path is None:
        return None
    path = Path(rs.path).resolve()
    try:
        path.relative_to(data_regions_dir().resolve())
    except ValueError:
        return str(path)
    return None


def make_run_config(
    rs: RegionSet, pipe: Pipeline, *, weights: WeightsArg, k: int, use_cache: bool
) -> RunConfig:
    """The :class:`RunConfig` of evaluating ``rs`` with this pipeline."""
    from ..pipeline.run import PIPELINE_VERSION

    name, digest, path = weights_identity(weights)
    s = pipe.settings
    world = _world_of(s) if pipe.simulated else None
    return RunConfig(
        region_set=rs.name,
        region_set_hash=rs.hash,
        weights=name,
        weights_hash=digest,
        scorer=pipe.scorer.version,
        k=int(k),
        sources=tuple(c.provider for c in pipe.selection.sources),
        mode=s.mode,
        simulated=bool(pipe.simulated),
        world_seed=s.world_seed if pipe.simulated else None,
        world_clock=s.world_clock.isoformat() if pipe.simulated else None,
        primary_radius_km=float(s.primary_radius_km),
        pipeline_version=PIPELINE_VERSION,
        git_commit=git_commit(),
        git_dirty=git_dirty(),
        weights_path=path,
        use_cache=bool(use_cache),
        region_set_path=_outside_data_dir(rs),
        world=world.name if world else None,
        world_hash=world.hash if world else None,
        world_path=world.path if world else None,
    )


def _world_of(settings: Settings) -> WorldIdentity:
    from ..harness import world_identity

    return world_identity(settings)


def run_world(config: RunConfig, settings: Settings, run_id: str) -> World:
    """The offline world a simulated run was evaluated in: ``settings``' seed and clock (the
    caller sets the run's) and the run's scenario, its hash checked (ConfigError when the
    world's code or scenario file changed since the run)."""
    from ..harness import WorldIdentity, load_world

    if not config.world_hash:
        # A run from before scenario worlds: it recorded none, and was made in the default one.
        from ..geo.gazetteer import get_gazetteer
        from ..world import World

        return World(settings.world_seed, get_gazetteer(), settings.world_clock)
    identity = WorldIdentity(config.world or "default", config.world_hash, config.world_path)
    return load_world(identity, settings.world_seed, settings.world_clock, what=f"run {run_id}")


def _settings_for(settings: Settings | None, weights: WeightsArg) -> tuple[Settings, WeightsArg]:
    from ..settings import Settings

    base = settings or Settings()
    chosen = weights if weights is not None else base.weights
    return base.model_copy(update={"weights": Path(chosen) if chosen else None}), chosen


# ------------------------------------------------------------------------------ running
def _progress_enabled(progress: bool) -> bool:
    if not progress:
        return False
    if sys.stderr is not None and sys.stderr.isatty():
        return True
    shell = sys.modules.get("IPython")
    if shell is None:
        return False
    get = getattr(shell, "get_ipython", None)
    ip = get() if get is not None else None
    return ip is not None and type(ip).__name__ == "ZMQInteractiveShell"


def _error_text(exc: BaseException) -> str:
    from ..redaction import known_secrets, redact

    text = f"{type(exc).__name__}: {exc}".replace("\n", " ")
    return redact(text, known_secrets())[:500]


class _Batch:
    """Shared between the caller's thread and the pipeline's loop: lets Ctrl-C stop a batch.

    On an interrupt the caller sets ``stop`` and cancels the tasks on their loop; a task that
    finishes after that writes nothing (its result may be the product of a closing client).
    """

    def __init__(self) -> None:
        self.stop = threading.Event()
        self.loop: asyncio.AbstractEventLoop | None = None
        self.tasks: list[asyncio.Future[None]] = []

    def cancel(self) -> None:
        self.stop.set()
        loop = self.loop
        if loop is not None and not loop.is_closed():
            for t in self.tasks:
                loop.call_soon_threadsafe(t.cancel)


async def _run_queries(
    pipe: Pipeline,
    store: RunStore,
    run_id: str,
    queries: Sequence[RegionQuery],
    *,
    concurrency: int,
    use_cache: bool,
    session: str,
    bar: Any,
    batch: _Batch,
) -> int:
    """Search every query (bounded), storing each outcome as it finishes; returns the count."""
    sem = asyncio.Semaphore(max(1, int(concurrency)))
    delay = float(os.environ.get(DELAY_ENV, "0") or 0)
    count = 0

    async def one(q: RegionQuery) -> None:
        nonlocal count
        async with sem:
            if batch.stop.is_set():
                return
            if delay > 0:
                await asyncio.sleep(delay)
            start = time.perf_counter()
            result: SearchResult | None = None
            error: str | None = None
            try:
                result = await pipe.asearch(q.text, use_cache=use_cache)
            except Exception as exc:  # recorded, scored 0; the batch goes on
                error = _error_text(exc)
            elapsed = (time.perf_counter() - start) * 1000.0
        # The write (encode + commit) happens outside the semaphore: it overlaps the next search.
        if batch.stop.is_set():
            return
        await writer.put(q.id, result, error, elapsed)
        count += 1
        if bar is not None:
            bar.update(1)

    writer = _BatchWriter(store, run_id, session)
    batch.loop = asyncio.get_running_loop()
    batch.tasks = [asyncio.ensure_future(one(q)) for q in queries]
    try:
        await asyncio.gather(*batch.tasks)
    finally:
        await writer.flush()
    return count


class _BatchWriter:
    """Outcomes written in batches (:meth:`RunStore.put_many`: one connection, one transaction
    each), off the loop: when ``BATCH`` are pending or ``MAX_WAIT_S`` passed since the last
    write, and at the end. An interruption loses at most the unwritten batch, which a resumed
    run recomputes (the offline world is deterministic)."""

    BATCH = 16
    MAX_WAIT_S = 0.5

    def __init__(self, store: RunStore, run_id: str, session: str) -> None:
        self.store, self.run_id, self.session = store, run_id, session
        self.pending: list[tuple[str, SearchResult | None, str | None, float | None]] = []
        self.last = time.monotonic()

    async def put(
        self, query_id: str, result: SearchResult | None, error: str | None, elapsed: float
    ) -> None:
        self.pending.append((query_id, result, error, elapsed))
        if len(self.pending) >= self.BATCH or time.monotonic() - self.last >= self.MAX_WAIT_S:
            await self.flush()

    async def flush(self) -> None:
        rows, self.pending = self.pending, []
        self.last = time.monotonic()
        if rows:
            await asyncio.to_thread(self.store.put_many, self.run_id, rows, session=self.session)


@contextmanager
def _long_lived_heap() -> Iterator[Callable[[], None]]:
    """The cyclic collector's full passes re-walk every long-lived object (modules, the
    gazetteer, the world's universes, the finished results) while a batch allocates millions of
    short-lived ones: ~1 s of an ``all`` evaluation. Inside, what exists is frozen (the
    collector skips it) and the yielded function freezes again at a stage boundary; on the way
    out it is all handed back to the collector, so nothing stays uncollectable."""
    import gc

    thresholds = gc.get_threshold()
    gc.freeze()
    # Fewer, larger young collections: most of a search's objects are gone before the next.
    gc.set_threshold(max(thresholds[0], 50_000), *thresholds[1:])
    try:
        yield gc.freeze
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()


def evaluate_region_set(
    region_set: RegionSet | str | Path,
    *,
    settings: Settings | None = None,
    weights: WeightsArg = None,
    k: int = 10,
    use_cache: bool = True,
    concurrency: int = 4,
    run_id: str | None = None,
    resume: bool = False,
    progress: bool = True,
    judges: str = "world",
) -> EvaluationReport:
    """Evaluate a region set (a :class:`RegionSet`, a set name or a YAML path).

    ``weights``: a weights YAML (loaded with
    :func:`underfoot_lab.pipeline.score.base.load_scorer`); None means ``settings.weights``,
    which is unset by default: the seed scorer, the baseline. ``k`` is the cutoff of the
    domain metrics. ``run_id`` names a new run (default: :func:`new_run_id`) or, with
    ``resume=True``, the interrupted run to continue: only queries without a stored row are
    searched, and the config must equal the stored one (ConfigError listing the differences
    otherwise). ``judges`` selects the qrels (:func:`.world_judge.qrels_for`).

    Returns the :class:`EvaluationReport`; the run's rows stay in the run store
    (``settings.home / "runs.sqlite3"``) and the world judgments in the judgment store.
    """
    from ..harness import build_harness

    if k < 1:
        raise ConfigError(f"k must be a positive integer, got {k}")
    if resume and not run_id:
        raise ConfigError("resume=True needs the run_id of the run to continue")
    rs = _load_set(region_set)
    cfg_settings, chosen = _settings_for(settings, weights)
    store = RunStore(settings=cfg_settings)
    session = secrets.token_hex(4)
    with build_harness(cfg_settings, use_cache=use_cache) as harness, _long_lived_heap() as freeze:
        pipe = harness.pipeline
        config = make_run_config(rs, pipe, weights=chosen, k=k, use_cache=use_cache)
        if resume:
            assert run_id is not None
            stored = store.config(run_id)
            diffs = stored.differences(config)
            if diffs:
                raise ConfigError(
                    f"cannot resume run {run_id}: its config differs ({'; '.join(diffs)})"
                )
            done = store.done(run_id) & set(rs.ids)
        else:
            run_id = run_id or new_run_id()
            store.create(run_id, config)
            done = set()
        missing = [q for q in rs.queries if q.id not in done]
        enabled = _progress_enabled(progress)
        if enabled or progress:
            verb = "resuming" if resume else "starting"
            print(
                f"{verb} run {run_id}: {rs.name}, {len(rs)} queries, {len(done)} already done, "
                f"{len(missing)} to compute (if interrupted: --resume {run_id})",
                file=sys.stderr,
                flush=True,
            )
        bar = None
        if enabled:
            from tqdm.auto import tqdm

            bar = tqdm(
                total=len(rs), initial=len(done), desc=f"evaluate {rs.name}", unit="query",
                file=sys.stderr,
            )  # fmt: skip
        store.set_status(run_id, "running")
        batch = _Batch()
        try:
            if missing:
                pipe.run_sync(
                    _run_queries(
                        pipe, store, run_id, missing, concurrency=concurrency,
                        use_cache=use_cache, session=session, bar=bar, batch=batch,
                    )
                )  # fmt: skip
        except BaseException:
            batch.cancel()
            store.set_status(run_id, "interrupted")
            raise
        finally:
            if bar is not None:
                bar.close()
        store.set_status(run_id, "complete")
        freeze()  # the results and universes now live until the report is built
        return _report_from_store(
            store, run_id, config, rs, settings=cfg_settings, judges=judges, world=harness.world
        )


def _report_from_store(
    store: RunStore,
    run_id: str,
    config: RunConfig,
    rs: RegionSet,
    *,
    settings: Settings,
    judges: str,
    world: World | None,
) -> EvaluationReport:
    from .judging.judgments import JudgmentStore
    from .judging.world_judge import export_world_judgments, qrels_for

    rows = store.rows(run_id)
    outcomes: list[QueryOutcome] = []
    for q in rs.queries:
        row = rows.get(q.id)
        if row is None:
            outcomes.append(QueryOutcome(q, None, "not run (the run is incomplete)", None))
            continue
        outcomes.append(QueryOutcome(q, row.result(), row.error, row.elapsed_ms))
    judgments = JudgmentStore(settings=settings)
    if world is not None:
        export_world_judgments(
            judgments, world, ((o.query.id, o.result, o.query) for o in outcomes if o.result)
        )
    qrels = qrels_for(judgments, rs.ids, judges, world=world)
    info = store.info(run_id)
    status = "complete" if all(q.id in rows for q in rs.queries) else "partial"
    clock = settings.world_clock if config.simulated else None
    return build_report(
        run_id,
        config,
        outcomes,
        qrels,
        judges=judges,
        world=world,
        clock=clock,
        status=status,
        created_at=info["created_at"],
    )


def load_report(
    run_id: str,
    *,
    settings: Settings | None = None,
    judges: str = "world",
    region_set: RegionSet | str | Path | None = None,
) -> EvaluationReport:
    """Rebuild a run's report from the run store, scored against the current judgments.

    No search is run. The region set defaults to the one named in the run's config and must
    still hash the same (ConfigError otherwise). Offline runs refresh the world judgments of
    their results first, using the world seed and clock stored with the run.
    """
    from ..settings import Settings

    base = settings or Settings()
    store = RunStore(settings=base)
    config = store.config(run_id)
    rs = _load_set(region_set if region_set is not None else config.region_set_ref)
    if rs.hash != config.region_set_hash:
        raise ConfigError(
            f"region set {rs.name!r} has changed since run {run_id} "
            f"(hash {rs.hash[:12]} != {config.region_set_hash[:12]})"
        )
    world = None
    if config.simulated:
        clock = datetime.fromisoformat(config.world_clock) if config.world_clock else None
        base = base.model_copy(
            update={"world_seed": config.world_seed, **({"world_clock": clock} if clock else {})}
        )
        world = run_world(config, base, run_id)
    return _report_from_store(store, run_id, config, rs, settings=base, judges=judges, world=world)


def find_run(
    region_set: RegionSet | str | Path,
    *,
    settings: Settings | None = None,
    weights: WeightsArg = None,
    k: int = 10,
) -> str | None:
    """The newest complete run of this region set with this config, or None."""
    from ..pipeline.run import Pipeline

    rs = _load_set(region_set)
    cfg_settings, chosen = _settings_for(settings, weights)
    with Pipeline(cfg_settings, use_cache=False) as pipe:
        config = make_run_config(rs, pipe, weights=chosen, k=k, use_cache=False)
    return RunStore(settings=cfg_settings).find(config)
