"""The LLM judge: an OpenAI model grades pool items 0-3 with a versioned rubric.

:class:`LLMJudge` sends one chat completion per (query, document) with the rubric prompt
``prompts/judge-v1.md`` as the system message and the item as a JSON document in the user
message (data, never instructions), asks for structured output (:class:`GradeOutput`:
``grade`` in 0..3 and a one-sentence ``rationale``) and returns
:class:`~.judgments.Judgment` records with provenance ``llm:<model>`` and the prompt id and
rationale in the note. Requests run concurrently under an :class:`asyncio.Semaphore`; answers
are cached in SQLite keyed by model + prompt version + query text + a hash of the document
content the model saw, so re-running over a grown pool only pays for new items and a changed
document (or prompt, or model) is graded again.

Offline (``UNDERFOOT_MODE=offline`` or no ``OPENAI_API_KEY``) the offline world's ground truth
stands in (:class:`WorldStandInJudge`, judge ``"world"``), and everything that shows it says
so: :data:`STAND_IN_LABEL`. :func:`make_reference_judge` picks one of the two.

Agreement with people: :func:`agreement_by_region` (weighted Cohen's kappa and ordinal
Krippendorff's alpha, per region of the pool and overall).

Request (``OPENAI_BASE_URL`` replaces ``https://api.openai.com/v1``)::

    POST /v1/chat/completions   Authorization: Bearer <OPENAI_API_KEY>
    {"model": ..., "temperature": 0, "messages": [system: judge-vN, user: {query, result...}],
     "response_format": {"type": "json_schema", "json_schema": GradeOutput (strict)}}
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
import sqlite3
from abc import ABC, abstractmethod
from collections.abc import Callable, Coroutine, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict

from ...errors import ConfigError
from ...http import make_client
from ...pipeline.openai_client import chat_parse, openai_client, openai_key, parsed_output
from ...redaction import scrub
from .judgments import Agreement, Judgment

if TYPE_CHECKING:  # pragma: no cover
    import httpx
    import pandas as pd
    from openai import AsyncOpenAI

    from ...prompts import Prompt
    from ...settings import Settings
    from ...world import World
    from .judgments import JudgmentStore
    from .pooling import JudgingPool, PoolItem

__all__ = [
    "PROMPT_NAME",
    "STAND_IN_LABEL",
    "GradeOutput",
    "JudgeCache",
    "JudgeFailure",
    "JudgeRun",
    "LLMJudge",
    "ReferenceJudge",
    "WorldStandInJudge",
    "agreement_by_region",
    "agreement_frame",
    "agreement_over",
    "content_hash",
    "judge_document",
    "make_reference_judge",
    "pool_grades",
]

T = TypeVar("T")
PROMPT_NAME = "judge"
STAND_IN_LABEL = "offline world truth standing in for the LLM judge"
"""What every view says when the offline world's truth is used instead of an LLM."""
DESCRIPTION_CHARS = 1200
MENTION_CHARS = 300
MAX_MENTIONS = 5


class GradeOutput(BaseModel):
    """The structured output the model must return (also its strict JSON schema)."""

    model_config = ConfigDict(extra="forbid")

    grade: Literal[0, 1, 2, 3]
    rationale: str


# ------------------------------------------------------------------------------ documents
def _clip(text: str | None, limit: int) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def judge_document(item: PoolItem, today: datetime) -> dict[str, Any]:
    """The JSON document the model sees for one item (the query and the result's content)."""
    r = item.result
    lead = r.mentions[0] if r.mentions else None
    result: dict[str, Any] = {
        "title": _clip(r.title, 300),
        "description": _clip(r.description, DESCRIPTION_CHARS),
        "url": r.url,
        "sources": list(r.sources),
        "distance_km": None if r.distance_km is None else round(r.distance_km, 1),
    }
    if lead is not None:
        if lead.place_type:
            result["place_type"] = lead.place_type
        if lead.rating is not None:
            result["rating"] = lead.rating
        reviews = [m.reviews for m in r.mentions if m.reviews is not None]
        if reviews:
            result["reviews"] = max(reviews)
        starts = [m.starts_at for m in r.mentions if m.starts_at is not None]
        if starts:
            result["event_starts"] = min(starts).isoformat()
    others = [
        {
            "source": m.source,
            "title": _clip(m.title, 200),
            "snippet": _clip(m.description, MENTION_CHARS),
        }
        for m in r.mentions[1 : 1 + MAX_MENTIONS]
    ]
    if others:
        result["mentions"] = others
    return {
        "query": item.query.text,
        "looking_for": item.intent,
        "town": item.place.label,
        "today": today.date().isoformat(),
        "result": result,
    }


def content_hash(document: Mapping[str, Any]) -> str:
    """sha256 (hex) of the canonical JSON of a judge document."""
    text = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# ------------------------------------------------------------------------------ results
@dataclass(frozen=True, slots=True)
class JudgeFailure:
    """An item the judge could not grade, and why (one line, no secrets)."""

    query_id: str
    doc_id: str
    reason: str


@dataclass(frozen=True, slots=True)
class JudgeRun:
    """What one grading pass produced."""

    judge: str
    label: str
    judgments: tuple[Judgment, ...]
    failures: tuple[JudgeFailure, ...] = ()
    requested: int = 0
    """Items sent to the upstream (0 for the world stand-in)."""
    cached: int = 0
    """Items answered from the cache."""

    def grades(self) -> dict[tuple[str, str], int]:
        return {(j.query_id, j.doc_id): j.grade for j in self.judgments}


Progress = Callable[[int, int], None] | None
"""A callback told (items done, items in all) as a judge works."""


class ReferenceJudge(ABC):
    """What the judge panel needs from a reference judge (LLM or the world stand-in)."""

    judge: str
    label: str
    stand_in: bool

    def grade(
        self,
        items: Sequence[PoolItem],
        progress: Progress = None,
        *,
        today: datetime | None = None,
    ) -> JudgeRun:
        """Grade ``items`` synchronously (safe inside a notebook's running loop).

        ``today`` is the date an LLM is told (events); pass the pool's clock
        (:attr:`JudgingPool.now`), default the wall clock. The world stand-in ignores it.
        """
        return self._grade(list(items), progress, today)

    @abstractmethod
    def _grade(
        self, items: list[PoolItem], progress: Progress, today: datetime | None
    ) -> JudgeRun: ...


def _in_thread(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to completion on a fresh loop in a worker thread (notebook-safe)."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="underfoot-judge") as pool:
        return pool.submit(asyncio.run, coro).result()


# ------------------------------------------------------------------------------ cache
_CACHE_SCHEMA = """
CREATE TABLE IF NOT EXISTS llm_grades (
    key            TEXT PRIMARY KEY,
    model          TEXT NOT NULL,
    prompt_version TEXT NOT NULL,
    query          TEXT NOT NULL,
    doc_hash       TEXT NOT NULL,
    grade          INTEGER NOT NULL,
    rationale      TEXT NOT NULL,
    created_at     TEXT NOT NULL
) WITHOUT ROWID;
"""


class JudgeCache:
    """LLM grades in SQLite, keyed by model, prompt version, query text and document hash."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._ready = False

    @staticmethod
    def key(model: str, prompt_version: str, query: str, doc_hash: str) -> str:
        blob = json.dumps([model, prompt_version, query, doc_hash], ensure_ascii=False)
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()

    def _connect(self) -> sqlite3.Connection:
        # storage.connect: WAL, busy timeout, a damaged file named with its remedy (exit 2).
        from ...storage import connect, corruption_guard

        what = "the LLM-judge cache"
        with corruption_guard(self.path, what=what):
            conn = connect(self.path, what=what, check_dir=not self._ready)
            if not self._ready:
                try:
                    conn.executescript(_CACHE_SCHEMA)
                except BaseException:
                    conn.close()
                    raise
                self._ready = True
        return conn

    def get(self, key: str) -> tuple[int, str] | None:
        """(grade, rationale) or None."""
        with closing(self._connect()) as conn:
            row = conn.execute(
                "SELECT grade, rationale FROM llm_grades WHERE key = ?", (key,)
            ).fetchone()
        return None if row is None else (int(row[0]), str(row[1]))

    def put(
        self,
        key: str,
        *,
        model: str,
        prompt_version: str,
        query: str,
        doc_hash: str,
        grade: int,
        rationale: str,
    ) -> None:
        with closing(self._connect()) as conn, conn:
            conn.execute(
                "INSERT OR REPLACE INTO llm_grades VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    key, model, prompt_version, query, doc_hash, grade, rationale,
                    datetime.now(UTC).isoformat(timespec="seconds"),
                ),
            )  # fmt: skip

    def __len__(self) -> int:
        with closing(self._connect()) as conn:
            return int(conn.execute("SELECT COUNT(*) FROM llm_grades").fetchone()[0])


# ------------------------------------------------------------------------------ LLM judge
class LLMJudge(ReferenceJudge):
    """An OpenAI chat model as a relevance judge (judge ``llm:<model>``).

    ``transport`` replaces the HTTP transport (tests); ``cache_path`` defaults to
    ``settings.home / "llm_judge_cache.sqlite3"``. ``max_retries`` is the SDK's (it backs off
    on 429 and 5xx); tests pass 0.
    """

    stand_in = False

    def __init__(
        self,
        settings: Settings,
        *,
        model: str | None = None,
        prompt: Prompt | None = None,
        concurrency: int = 4,
        cache_path: str | Path | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        max_retries: int = 2,
    ) -> None:
        from ...prompts import load_prompt

        if openai_key(settings) is None:
            raise ConfigError("the LLM judge needs OPENAI_API_KEY")
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self.settings = settings
        self.model = model or settings.openai_model
        self.prompt = prompt or load_prompt(PROMPT_NAME)
        self.concurrency = concurrency
        self.cache = JudgeCache(cache_path or Path(settings.home) / "llm_judge_cache.sqlite3")
        self._transport = transport
        self.max_retries = max_retries
        self.judge = f"llm:{self.model}"
        self.label = f"LLM judge {self.model} (prompt {self.prompt.id})"

    def __repr__(self) -> str:
        return f"LLMJudge(model={self.model!r}, prompt={self.prompt.id!r})"

    def _grade(self, items: list[PoolItem], progress: Progress, today: datetime | None) -> JudgeRun:
        # Own loop in a worker thread: asyncio.run fails inside a notebook's running loop.
        return _in_thread(self.agrade(items, progress=progress, today=today))

    async def agrade(
        self,
        items: Sequence[PoolItem],
        *,
        progress: Callable[[int, int], None] | None = None,
        today: datetime | None = None,
    ) -> JudgeRun:
        """Grade items concurrently (at most ``concurrency`` requests in flight)."""
        sem = asyncio.Semaphore(self.concurrency)
        total = len(items)
        done = 0
        requested = 0
        cached = 0
        judgments: list[Judgment | None] = [None] * total
        failures: list[JudgeFailure] = []
        async with make_client(self.settings, transport=self._transport) as http:
            client = openai_client(self.settings, http, max_retries=self.max_retries)

            async def one(i: int, item: PoolItem) -> None:
                nonlocal done, requested, cached
                doc = judge_document(item, today or datetime.now(UTC))
                doc_hash = content_hash(doc)
                key = JudgeCache.key(self.model, self.prompt.id, item.query.text, doc_hash)
                hit = await asyncio.to_thread(self.cache.get, key)
                try:
                    if hit is not None:
                        cached += 1
                        grade, rationale = hit
                    else:
                        async with sem:
                            requested += 1
                            out = await self._ask(client, doc)
                        grade, rationale = out.grade, " ".join(out.rationale.split())
                        await asyncio.to_thread(
                            self.cache.put,
                            key,
                            model=self.model,
                            prompt_version=self.prompt.id,
                            query=item.query.text,
                            doc_hash=doc_hash,
                            grade=grade,
                            rationale=rationale,
                        )
                    judgments[i] = Judgment(
                        item.query_id,
                        item.doc_id,
                        int(grade),
                        self.judge,
                        note=_clip(f"{self.prompt.id}: {rationale}", 300),
                    )
                except Exception as exc:  # one bad item must not sink the batch
                    failures.append(JudgeFailure(item.query_id, item.doc_id, self._why(exc)))
                finally:
                    done += 1
                    if progress is not None:
                        progress(done, total)

            await asyncio.gather(*(one(i, it) for i, it in enumerate(items)))
        return JudgeRun(
            judge=self.judge,
            label=self.label,
            judgments=tuple(j for j in judgments if j is not None),
            failures=tuple(sorted(failures, key=lambda f: (f.query_id, f.doc_id))),
            requested=requested,
            cached=cached,
        )

    async def _ask(self, client: AsyncOpenAI, doc: Mapping[str, Any]) -> GradeOutput:
        completion = await chat_parse(
            client,
            model=self.model,
            messages=[
                {"role": "system", "content": self.prompt.text},
                {"role": "user", "content": json.dumps(doc, ensure_ascii=False)},
            ],
            output=GradeOutput,
            timeout_s=self.settings.http_timeout_s,
        )
        return parsed_output(completion)

    def _why(self, exc: BaseException) -> str:
        import openai

        if isinstance(exc, openai.APIStatusError):
            text = f"HTTP {exc.status_code}: {exc.message}"
        elif isinstance(exc, openai.APITimeoutError | TimeoutError):
            text = f"no answer within {self.settings.http_timeout_s:g}s"
        elif isinstance(exc, openai.APIConnectionError):
            text = (
                f"connection failed ({type(exc.__cause__).__name__ if exc.__cause__ else 'error'})"
            )
        else:
            text = f"{type(exc).__name__}: {exc}"
        return scrub(f"openai judge: {text}", self.settings.secret_values())[:300]


# ------------------------------------------------------------------------------ stand-in
class WorldStandInJudge(ReferenceJudge):
    """The offline world's ground truth in the LLM judge's place (judge ``"world"``).

    Grades exactly as :mod:`~.world_judge` does (the region query's expected town, the parsed
    intent, the result's mentions resolved to a world entity), with the world's note, so these
    judgments are the same rows the evaluation's world qrels use.
    """

    stand_in = True
    label = STAND_IN_LABEL

    def __init__(self, world: World) -> None:
        from .world_judge import WORLD_JUDGE

        self.world = world
        self.judge = WORLD_JUDGE

    def __repr__(self) -> str:
        return f"WorldStandInJudge(seed={self.world.seed})"

    def _grade(self, items: list[PoolItem], progress: Progress, today: datetime | None) -> JudgeRun:
        # ``today`` is ignored: the world has its own clock.
        from .world_judge import mention_tokens, town_for, world_note

        note = world_note(self.world)
        now = datetime.now(UTC)
        out: list[Judgment] = []
        for n, item in enumerate(items, start=1):
            town = town_for(self.world, item.query, None) or self.world.resolve_town(
                item.place.name, item.place.admin1_code or None
            )
            grade = (
                0
                if town is None
                else int(
                    self.world.grade_urls(
                        town, item.intent, mention_tokens(item.result, self.world)
                    )
                )
            )
            out.append(Judgment(item.query_id, item.doc_id, grade, self.judge, now, note))
            if progress is not None:
                progress(n, len(items))
        return JudgeRun(judge=self.judge, label=self.label, judgments=tuple(out))


def make_reference_judge(
    settings: Settings, world: World | None = None, **llm_options: Any
) -> ReferenceJudge:
    """The LLM judge when it can run (a key, and not offline mode), else the world stand-in.

    The stand-in needs simulated results (the world's truth says nothing about real places):
    with live sources and no key this raises :class:`ConfigError`. It grades against ``world``
    (the harness's, :attr:`underfoot_lab.harness.Harness.world`), else the settings' world.
    """
    if settings.mode != "offline" and openai_key(settings) is not None:
        return LLMJudge(settings, **llm_options)
    if not _simulated(settings):
        raise ConfigError(
            "no reference judge: the results are live and OPENAI_API_KEY is not set "
            "(the offline world's truth only grades simulated results)"
        )
    if world is not None:
        return WorldStandInJudge(world)
    from ...geo.gazetteer import get_gazetteer
    from ...world import build_world

    return WorldStandInJudge(build_world(settings, get_gazetteer()))


def _simulated(settings: Settings) -> bool:
    from ...pipeline.providers import select_providers

    return select_providers(settings).simulated


# ------------------------------------------------------------------------------ agreement
Key = tuple[str, str]


def pool_grades(
    store: JudgmentStore,
    pool: JudgingPool,
    *,
    world: World | None = None,
) -> dict[str, dict[Key, int]]:
    """Every judge's grades of the pool's items: ``judge -> (query_id, doc_id) -> grade``.

    World judgments count only when they come from ``world`` (its seed and clock, by note);
    with ``world=None`` every world judgment counts.
    """
    from .world_judge import WORLD_JUDGE, world_note

    keys = set(pool.keys)
    note = world_note(world) if world is not None else None
    out: dict[str, dict[Key, int]] = {}
    for j in store.for_queries(pool.query_ids):
        key = (j.query_id, j.doc_id)
        if key not in keys:
            continue
        if j.judge == WORLD_JUDGE and note is not None and j.note != note:
            continue
        out.setdefault(j.judge, {})[key] = j.grade
    return out


def agreement_over(
    a: Mapping[Key, int],
    b: Mapping[Key, int],
    judge_a: str,
    judge_b: str,
    *,
    weights: Literal["linear", "quadratic"] | None = "linear",
    keys: Iterable[Key] | None = None,
) -> Agreement:
    """Agreement of two judges' grades on the keys both graded (optionally only ``keys``)."""
    from .agreement import GRADES, krippendorff_alpha, weighted_kappa

    shared = set(a) & set(b)
    if keys is not None:
        shared &= set(keys)
    pairs = sorted(shared)
    n = len(pairs)
    if n == 0:
        return Agreement(judge_a, judge_b, 0, math.nan, math.nan, math.nan, weights)
    ga = [a[k] for k in pairs]
    gb = [b[k] for k in pairs]
    exact = sum(x == y for x, y in zip(ga, gb, strict=True)) / n
    categories = sorted({*GRADES, *ga, *gb})
    kappa = weighted_kappa(ga, gb, weights=weights, categories=categories)
    try:
        alpha = krippendorff_alpha([ga, gb], level="ordinal", categories=categories)
    except ValueError:
        alpha = math.nan
    return Agreement(judge_a, judge_b, n, exact, kappa, alpha, weights)


def agreement_by_region(
    store: JudgmentStore,
    pool: JudgingPool,
    judge_a: str,
    judge_b: str,
    *,
    weights: Literal["linear", "quadratic"] | None = "linear",
    world: World | None = None,
) -> dict[str, Agreement]:
    """Agreement of two judges on the pool, per region label and over ``"all"`` (last).

    Queries without a region count as ``"unlabelled"``. Regions where the judges share no
    item have ``n == 0`` and NaN statistics.
    """
    grades = pool_grades(store, pool, world=world)
    a = grades.get(judge_a, {})
    b = grades.get(judge_b, {})
    regions: dict[str, set[Key]] = {}
    for item in pool.items:
        regions.setdefault(item.query.region or "unlabelled", set()).add(item.key)
    out = {
        region: agreement_over(a, b, judge_a, judge_b, weights=weights, keys=keys)
        for region, keys in sorted(regions.items())
    }
    out["all"] = agreement_over(a, b, judge_a, judge_b, weights=weights)
    return out


def agreement_frame(agreements: Mapping[str, Agreement]) -> pd.DataFrame:
    """Per-region agreements (:func:`agreement_by_region`) as a DataFrame, one row per region."""
    import pandas as pd

    return pd.DataFrame([{"region": region, **ag.to_dict()} for region, ag in agreements.items()])
