"""Collecting a bundle: every query of a region set through the live providers, recorded.

:func:`collect_bundle` runs the queries one at a time (politely: the upstreams' rate limits and
``Retry-After`` apply as in any live run) through a pipeline whose every exchange is recorded,
secrets removed, into ``<bundle>/exchanges/``. The manifest is rewritten after every query, so
an interruption (Ctrl-C, a crash) loses at most the query in flight, and ``resume=True`` picks up
the queries that are not ``done``: nothing already recorded is fetched again.

``max_requests`` bounds the upstream calls of this session: a query starts only when its
estimated calls still fit (:func:`estimate_calls`), and a call past the bound is refused (the
query is then marked ``incomplete`` and redone on resume). The manifest's ``status`` says
``partial`` until every query is ``done`` or ``failed``.

The clock of the first session is kept for the whole bundle: every session records with it, so
a replay dates events and posts against one "now".
"""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from ..errors import ConfigError
from .manifest import (
    EXCHANGES,
    FORMAT,
    MANIFEST,
    bundle_hash,
    cost_estimate,
    file_hashes,
    load_bundle_region_set,
    provider_of,
    provider_settings,
    read_manifest,
    write_manifest,
    write_region_set,
)

if TYPE_CHECKING:  # pragma: no cover
    from ..evaluation.regions import RegionSet
    from ..pipeline.providers import Selection
    from ..settings import Settings

__all__ = [
    "CALLS_PER_QUERY",
    "CollectOutcome",
    "collect_bundle",
    "estimate_calls",
    "live_selection",
]

CALLS_PER_QUERY: dict[str, dict[str, int]] = {
    "parse:openai": {"openai": 1},
    "geocode:geoapify": {"geoapify": 1},
    "sources:serpapi_web": {"serpapi": 1},
    "sources:serpapi_local": {"serpapi": 1},
    "sources:serpapi_events": {"serpapi": 1},
    "sources:reddit": {"reddit": 3},
    "sources:eventbrite": {"eventbrite": 1},
    "respond:openai": {"openai": 1},
}
"""Upstream calls one query makes per live provider, without retries: Reddit asks the town's
subreddit, the state's and the site-wide search."""


class BudgetExhausted(httpx.TransportError):
    """A call past ``--max-requests``: refused before it reaches the upstream."""


def estimate_calls(selection: Selection, n_queries: int) -> dict[str, int]:
    """Upstream calls per provider for ``n_queries`` queries with this provider selection."""
    out: Counter[str] = Counter()
    for choice in selection.all():
        if not choice.live:
            continue
        for upstream, n in CALLS_PER_QUERY.get(f"{choice.stage}:{choice.provider}", {}).items():
            out[upstream] += n * n_queries
    return dict(sorted(out.items()))


def live_selection(settings: Settings) -> Selection:
    """The provider selection, refusing one whose sources are not all live (a bundle holds
    real data, never the offline world's)."""
    from ..pipeline.providers import select_providers

    if settings.mode == "offline":
        raise ConfigError(
            "UNDERFOOT_MODE is offline: collect asks the real upstreams; set UNDERFOOT_MODE=live "
            "(or auto) and the API keys"
        )
    selection = select_providers(settings)
    offline = [c for c in selection.sources if not c.live]
    if offline:
        c = offline[0]
        raise ConfigError(
            f"source {c.provider} would answer from the offline world ({c.reason}); set its key "
            "or leave it out with UNDERFOOT_SOURCES"
        )
    return selection


class _Meter(httpx.AsyncBaseTransport):
    """Counts the calls that reach the upstreams, per provider, and refuses those past the
    budget (the recording wraps this transport, so it sees each call once)."""

    def __init__(self, inner: httpx.AsyncBaseTransport, budget: int | None) -> None:
        self.inner = inner
        self.budget = budget
        self.calls: Counter[str] = Counter()
        self.refused = 0

    @property
    def total(self) -> int:
        return sum(self.calls.values())

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self.budget is not None and self.total >= self.budget:
            self.refused += 1
            raise BudgetExhausted("--max-requests reached; not sent", request=request)
        self.calls[provider_of(str(request.url))] += 1
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


@dataclass
class CollectOutcome:
    """What one :func:`collect_bundle` session did."""

    path: Path
    status: str
    """``complete`` (every query done or failed) or ``partial``."""
    collected: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    calls: dict[str, int] = field(default_factory=dict)
    stopped_by_budget: bool = False


def _new_manifest(
    rs: RegionSet, settings: Settings, selection: Selection, label: str | None
) -> dict[str, Any]:
    from .. import __version__
    from ..pipeline.run import PIPELINE_VERSION

    return {
        "format": FORMAT,
        "name": None,
        "label": label,
        "region_set": {"name": rs.name, "hash": rs.hash, "queries": len(rs)},
        "clock": datetime.now(UTC).isoformat(timespec="seconds"),
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "package_version": __version__,
        "pipeline_version": PIPELINE_VERSION,
        "providers": {
            "selection": [
                {"stage": c.stage, "provider": c.provider, "live": c.live} for c in selection.all()
            ],
            "settings": provider_settings(settings),
        },
        "queries": {q.id: {"text": q.text, "status": "pending"} for q in rs.queries},
        "sessions": [],
        "status": "partial",
    }


def refresh_counts(path: Path, manifest: dict[str, Any]) -> dict[str, Any]:
    """Recompute the manifest's counts, costs, file hashes and bundle hash from disk."""
    queries: Mapping[str, Mapping[str, Any]] = manifest.get("queries", {})
    statuses = Counter(str(q.get("status")) for q in queries.values())
    calls: Counter[str] = Counter()
    for q in queries.values():
        calls.update({str(k): int(v) for k, v in (q.get("calls") or {}).items()})
    files = file_hashes(path / EXCHANGES)
    manifest["counts"] = {
        "queries": len(queries),
        **{s: statuses.get(s, 0) for s in ("done", "failed", "incomplete", "pending")},
        "exchange_files": len(files),
        "calls": dict(sorted(calls.items())),
    }
    manifest["cost"] = cost_estimate(calls)
    manifest["files"] = files
    manifest["hash"] = bundle_hash(str(manifest["region_set"]["hash"]), files)
    done = statuses.get("done", 0) + statuses.get("failed", 0)
    manifest["status"] = "complete" if done == len(queries) else "partial"
    return manifest


def collect_bundle(
    region_set: RegionSet | str | Path,
    out: Path | str,
    *,
    settings: Settings | None = None,
    max_requests: int | None = None,
    resume: bool = False,
    progress: bool = True,
    label: str | None = None,
    confirm: Callable[[dict[str, int]], bool] | None = None,
) -> CollectOutcome:
    """Collect (or, with ``resume``, continue collecting) a bundle at ``out``.

    ``confirm`` is shown the estimated calls per upstream of what remains and may refuse
    (returns False: nothing is fetched). ``label`` marks a bundle that is not real data (the
    test suite's example says so). Raises ConfigError for an offline selection, an existing
    bundle without ``resume``, or a resumed bundle of another region set or provider setup.
    """
    from ..evaluation.regions import RegionSet, load_region_set
    from ..harness import build_harness
    from ..settings import Settings

    settings = settings or Settings()
    if max_requests is not None and max_requests < 1:
        raise ConfigError(f"--max-requests must be at least 1, got {max_requests}")
    rs = region_set if isinstance(region_set, RegionSet) else load_region_set(region_set)
    selection = live_selection(settings)
    path = Path(out)
    exists = (path / MANIFEST).is_file()
    if exists and not resume:
        raise ConfigError(f"{path} already holds a bundle; pass --resume to continue it")
    if not exists and path.is_dir() and any(path.iterdir()):
        raise ConfigError(f"{path} is not empty and holds no bundle; choose an empty --out")
    if exists:
        manifest = read_manifest(path)
        _check_same(path, manifest, rs, selection)
    else:
        manifest = _new_manifest(rs, settings, selection, label)
        manifest["name"] = path.resolve().name
    todo = [q for q in rs.queries if manifest["queries"][q.id].get("status") not in DONE]
    outcome = CollectOutcome(path, "partial", skipped=[q.id for q in rs.queries if q not in todo])
    estimate = estimate_calls(selection, len(todo))
    if confirm is not None and todo and not confirm(estimate):
        return outcome
    path.mkdir(parents=True, exist_ok=True)
    if not exists:
        write_region_set(path, rs)
        load_bundle_region_set(path, manifest)  # the copy must hash as the original
    session: dict[str, Any] = {
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "max_requests": max_requests,
    }
    manifest["sessions"].append(session)
    write_manifest(path, refresh_counts(path, manifest))
    per_query = max(1, sum(estimate_calls(selection, 1).values()))
    clock = datetime.fromisoformat(str(manifest["clock"]))
    meter = _Meter(httpx.AsyncHTTPTransport(), max_requests)
    bar = None
    if progress and todo:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(rs), initial=len(rs) - len(todo), desc=f"collect {rs.name}",
                   unit="query", file=sys.stderr)  # fmt: skip
    try:
        with build_harness(
            settings,
            transport=meter,
            clock=lambda: clock,
            use_cache=False,
            record_dir=path / EXCHANGES,
        ) as harness:
            pipe = harness.pipeline
            for q in todo:
                if max_requests is not None and meter.total + per_query > max_requests:
                    outcome.stopped_by_budget = True
                    break
                before = Counter(meter.calls)
                entry = manifest["queries"][q.id]
                entry["status"] = "incomplete"  # until it finishes (a crash leaves it so)
                write_manifest(path, manifest)
                entry.update(_search(pipe, q.text))
                calls = meter.calls - before
                entry["calls"] = dict(sorted(calls.items()))
                entry["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
                if meter.refused:
                    entry["status"] = "incomplete"
                    entry["error"] = "stopped by --max-requests in the middle of the query"
                    outcome.stopped_by_budget = True
                outcome.collected.append(q.id)
                write_manifest(path, refresh_counts(path, manifest))
                if bar is not None:
                    bar.update(1)
                if meter.refused:
                    break
    finally:
        if bar is not None:
            bar.close()
        session["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
        session["calls"] = dict(sorted(meter.calls.items()))
        session["stopped_by_budget"] = outcome.stopped_by_budget
        write_manifest(path, refresh_counts(path, manifest))
    outcome.calls = dict(sorted(meter.calls.items()))
    outcome.status = str(manifest["status"])
    return outcome


DONE = frozenset({"done", "failed"})
"""Query statuses a resumed collection does not fetch again (``failed``: the pipeline refused
the query itself, e.g. an unknown town, which a retry would not change)."""


def _search(pipe: Any, text: str) -> dict[str, Any]:
    from ..errors import UnderfootError
    from ..redaction import known_secrets, scrub

    try:
        result = pipe.search(text)
    except UnderfootError as exc:
        message = scrub(f"{type(exc).__name__}: {exc}", known_secrets(pipe.settings))
        return {"status": "failed", "error": message[:300], "result_ids": []}
    degraded = [s.source for s in result.sources if s.status in ("error", "timeout", "partial")]
    return {
        "status": "done",
        "error": None,
        "result_ids": [r.id for r in result.results],
        "degraded_sources": degraded,
    }


def _check_same(
    path: Path, manifest: Mapping[str, Any], rs: RegionSet, selection: Selection
) -> None:
    stored = manifest.get("region_set", {})
    if stored.get("hash") != rs.hash:
        raise ConfigError(
            f"{path / MANIFEST}: region set {stored.get('name')!r} "
            f"({str(stored.get('hash'))[:12]}) differs from {rs.name!r} ({rs.hash[:12]})"
        )
    want = [{"stage": c.stage, "provider": c.provider, "live": c.live} for c in selection.all()]
    have = manifest.get("providers", {}).get("selection")
    if have != want:
        raise ConfigError(
            f"{path / MANIFEST}: field 'providers.selection' differs from this run's providers "
            "(same keys and UNDERFOOT_SOURCES as the first session, please)"
        )
