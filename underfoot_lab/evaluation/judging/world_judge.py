"""The offline world's ground truth as relevance judgments (judge ``"world"``).

For every ranked result of a search, the world decides which latent entity the result is about
(the majority entity of its mentions' URLs and ids, as :meth:`World.grade_urls` does) and how
relevant that entity is to the query (0-3, ``docs/offline-world.md``). :func:`world_judgments`
turns that into :class:`~underfoot_lab.evaluation.judging.judgments.Judgment` records keyed by the
region-set query id and the result id, which :func:`export_world_judgments` upserts into the
:class:`~underfoot_lab.evaluation.judging.judgments.JudgmentStore`.

Which town and which intent a query is graded against:

* the town is the region set's **expected** town (``expected.place``/``state``/``county``), so a
  search geocoded to the wrong town gets 0 for everything (its results belong to another town's
  universe); without an expected place, the geocoded place is used;
* the intent is the pipeline's parsed intent text (the same reading
  :mod:`underfoot_lab.evaluation.candidate_pools` grades with, so pools and runs share one truth).

**Unretrieved relevant places.** The world knows every place of the town, so the qrels of a
query are not only the results the search retrieved: every entity of the graded town's universe
with grade > 0 that none of the retrieved results resolves to is judged too, under the doc id
``world:<entity id>`` (:func:`unretrieved_doc_id`; result ids are merge slugs,
``[a-z0-9-]`` only, so the two never collide). They are relevant but unretrieved documents: they
count in nDCG's ideal ranking and in the recall/AP denominators, so R@100 measures how much of
the town's relevant truth the sources surfaced. A query that raised (no result, no parsed
intent) gets no judgments at all, as before.

Every world judgment carries a note naming the world (``offline world seed=... clock=...``);
:func:`qrels_for` keeps only the world judgments of the current world, so a store shared across
world seeds never mixes two worlds' grades. The store is shared by every run of a home, so
:func:`export_world_judgments` also records which world entity each retrieved result resolves
to (:meth:`JudgmentStore.add_resolved`), and :func:`qrels_for` drops ``world:<id>`` when some
stored result of the query resolves to that entity: a place one run retrieved and another
missed is judged once, under the retrieved result's id.
"""

from __future__ import annotations

import fnmatch
import hashlib
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, cast

from ...errors import ConfigError

if TYPE_CHECKING:  # pragma: no cover
    from ...geo.gazetteer import Town
    from ...records import RankedResult, SearchResult
    from ...world import Entity, Intent, World
    from ..regions import RegionQuery
    from .judgments import Judgment, JudgmentStore, MergeHow, ResolvedDoc

__all__ = [
    "UNRETRIEVED_PREFIX",
    "WORLD_JUDGE",
    "QueryJudgments",
    "export_world_judgments",
    "judge_query",
    "judge_result",
    "mention_tokens",
    "qrels_for",
    "qrels_hash",
    "resolve_entity",
    "town_for",
    "union_qrels",
    "unretrieved_doc_id",
    "unretrieved_entity_id",
    "unretrieved_relevant",
    "world_judgments",
    "world_note",
]

WORLD_JUDGE = "world"
"""The judge name of the offline world's ground truth."""

UNRETRIEVED_PREFIX = "world:"
"""Doc id prefix of a relevant world entity no retrieved result resolves to. Result ids are
merge slugs (``[a-z0-9-]``, :func:`underfoot_lab.pipeline.score.merge.slug`) and never hold
a colon, so ``world:<entity id>`` can never collide with one."""


def world_note(world: World) -> str:
    """The provenance note of this world's judgments (its seed and clock)."""
    return f"offline world seed={world.seed} clock={world.clock.isoformat()}"


def _resolved_mentions(world: World, result: RankedResult) -> list[tuple[str, Entity | None]]:
    """(token, entity) per mention: the URL, or the native id when the URL does not resolve."""
    out: list[tuple[str, Entity | None]] = []
    for m in result.mentions:
        hit = world.entity_for_url(m.url)
        token = m.url
        if hit is None and m.native_id:
            hit = world.entity_for_url(m.native_id)
            token = m.native_id
        out.append((token, hit))
    return out


def mention_tokens(result: RankedResult, world: World) -> list[str]:
    """One URL or id per mention: the URL, or the native id when the URL does not resolve."""
    return [token for token, _ in _resolved_mentions(world, result)]


def resolve_entity(world: World, result: RankedResult) -> Entity | None:
    """The latent entity a merged result is about: the majority over its mentions (ties: the
    first resolved), None when no mention resolves (listicles, city pages, off-topic posts)."""
    return _majority(_resolved_mentions(world, result))


def _majority(mentions: Sequence[tuple[str, Entity | None]]) -> Entity | None:
    resolved = [e for _, e in mentions if e is not None]
    if not resolved:
        return None
    counts = Counter(e.id for e in resolved)
    best = max(counts.values())
    return next(e for e in resolved if counts[e.id] == best)


def town_for(world: World, query: RegionQuery | None, result: SearchResult | None) -> Town | None:
    """The town a query is graded against: the expected town, else the geocoded place."""
    if query is not None:
        exp = query.expected
        towns = world.gazetteer.lookup(exp.place, exp.state)
        if exp.county is not None:
            towns = [t for t in towns if (t.county or "").lower() == exp.county.lower()] or towns
        if towns:
            return towns[0]
    if result is not None:
        return world.resolve_town(result.place.name, result.place.admin1_code or None)
    return None


def unretrieved_doc_id(entity_id: str) -> str:
    """The doc id of an unretrieved relevant world entity: ``world:<entity id>``."""
    return f"{UNRETRIEVED_PREFIX}{entity_id}"


def unretrieved_entity_id(doc_id: str) -> str | None:
    """The world entity id behind a ``world:<entity id>`` doc id (None for any other id)."""
    return doc_id[len(UNRETRIEVED_PREFIX) :] if doc_id.startswith(UNRETRIEVED_PREFIX) else None


def unretrieved_relevant(
    world: World, town: Town, intent: str | Intent, retrieved: Iterable[str | None]
) -> dict[str, tuple[str, int]]:
    """``world:<id> -> (entity id, grade)`` for every entity of ``town``'s universe with
    grade > 0 (:meth:`World.grade`, same town and intent as the retrieved results) whose id is
    not in ``retrieved`` (the world entity ids the retrieved results resolve to), in universe
    order."""
    from ...world import parse_intent

    seen = {e for e in retrieved if e is not None}
    it = intent if not isinstance(intent, str) else parse_intent(intent)
    out: dict[str, tuple[str, int]] = {}
    for e in world.universe(town).entities:
        if e.id in seen:
            continue
        grade = int(world.grade(town, it, e))
        if grade > 0:
            out[unretrieved_doc_id(e.id)] = (e.id, grade)
    return out


@dataclass(frozen=True, slots=True)
class QueryJudgments:
    """The world's judgments of one search: its results and the relevant places it missed."""

    retrieved: dict[str, int]
    """``result id -> grade`` for every ranked result (first occurrence of an id)."""
    resolved: dict[str, str | None]
    """``result id -> world entity id`` it resolves to (None: no mention resolves)."""
    unretrieved: dict[str, int]
    """``world:<entity id> -> grade`` (> 0) for the town's relevant entities no result
    resolves to (empty when the town is unknown)."""

    @property
    def qrels(self) -> dict[str, int]:
        """Every judged document: the results, then the unretrieved relevant entities."""
        return {**self.retrieved, **self.unretrieved}


def judge_query(
    world: World, result: SearchResult, query: RegionQuery | None = None
) -> QueryJudgments:
    """The world's judgments of one search (see the module docstring for town and intent)."""
    from ...world import parse_intent

    town = town_for(world, query, result)
    intent = parse_intent(result.parsed.intent)
    retrieved: dict[str, int] = {}
    resolved: dict[str, str | None] = {}
    for r in result.results:
        if r.id in retrieved:
            continue
        mentions = _resolved_mentions(world, r)
        entity = _majority(mentions)  # the entity grade_urls grades (same majority and ties)
        resolved[r.id] = None if entity is None else entity.id
        # What World.grade_urls(town, intent, tokens) returns, without resolving every token
        # a second time: the majority entity's grade, 0 when none resolves.
        grade = 0 if town is None or entity is None else world.grade(town, intent, entity)
        retrieved[r.id] = int(grade)
    unretrieved: dict[str, int] = {}
    if town is not None:
        found = unretrieved_relevant(world, town, intent, resolved.values())
        unretrieved = {doc: grade for doc, (_, grade) in found.items()}
    return QueryJudgments(retrieved, resolved, unretrieved)


def judge_result(
    world: World, result: SearchResult, query: RegionQuery | None = None
) -> dict[str, int]:
    """``result id -> grade`` (0-3) for every ranked result of one search (the retrieved
    part of :func:`judge_query`)."""
    return judge_query(world, result, query).retrieved


def _judged(
    world: World, items: Iterable[tuple[str, SearchResult, RegionQuery | None]]
) -> Iterable[tuple[str, QueryJudgments]]:
    for qid, result, query in items:
        yield qid, judge_query(world, result, query)


def _records(
    world: World, judged: Iterable[tuple[str, QueryJudgments]], when: datetime
) -> tuple[list[Judgment], list[ResolvedDoc]]:
    from .judgments import Judgment, ResolvedDoc

    note = world_note(world)
    out: list[Judgment] = []
    resolved: list[ResolvedDoc] = []
    for qid, qj in judged:
        for doc, grade in qj.qrels.items():
            out.append(Judgment(qid, doc, grade, WORLD_JUDGE, when, note))
        for doc, entity_id in qj.resolved.items():
            if entity_id is not None:
                resolved.append(ResolvedDoc(qid, doc, entity_id, note))
    return out, resolved


def world_judgments(
    world: World,
    items: Iterable[tuple[str, SearchResult, RegionQuery | None]],
    *,
    created_at: datetime | None = None,
) -> list[Judgment]:
    """World judgments for ``(query_id, result, region query)`` triples: every ranked result,
    plus every relevant entity of the town no result resolves to (``world:<entity id>``)."""
    return _records(world, _judged(world, items), created_at or datetime.now(UTC))[0]


def export_world_judgments(
    store: JudgmentStore,
    world: World,
    items: Iterable[tuple[str, SearchResult, RegionQuery | None]],
) -> int:
    """Upsert the world's judgments of these results into ``store`` (and which world entity
    each result resolves to, for :func:`qrels_for`); returns judgment rows written."""
    from .judgments import ResolvedDoc

    # The rows _records would build, written without a Judgment object per row (~15k on
    # ``all``): the same checks, times and notes (JudgmentStore.add_grades).
    when = datetime.now(UTC)
    note = world_note(world)
    judged = list(_judged(world, items))
    written = store.add_grades(
        WORLD_JUDGE,
        when,
        note,
        ((qid, doc, grade) for qid, qj in judged for doc, grade in qj.qrels.items()),
    )
    store.add_resolved(
        ResolvedDoc(qid, doc, entity_id, note)
        for qid, qj in judged
        for doc, entity_id in qj.resolved.items()
        if entity_id is not None
    )
    return written


def _select_judges(spec: str, known: Sequence[str]) -> tuple[list[str], str | None]:
    """Judges named by ``spec`` and the merge rule (None: a single judge, no merging)."""
    spec = spec.strip()
    if spec == "merged" or spec.startswith("merged:"):
        from .judgments import MERGE_RULES

        how = spec.partition(":")[2] or "majority"
        if how not in MERGE_RULES:
            raise ConfigError(
                f"unknown merge rule {how!r} in judges {spec!r} "
                f"(use merged:{'|merged:'.join(MERGE_RULES)})"
            )
        return list(known), how
    chosen: list[str] = []
    for part in (p.strip() for p in spec.split(",")):
        if not part:
            continue
        matched = [j for j in known if fnmatch.fnmatchcase(j, part)]
        if not matched and part == WORLD_JUDGE:
            matched = [WORLD_JUDGE]  # no world judgments yet: an empty qrels, not an error
        if not matched:
            raise ConfigError(
                f"no judgments by {part!r} in the judgment store "
                f"(judges: {', '.join(known) or 'none'}; or 'merged[:rule]')"
            )
        chosen.extend(j for j in matched if j not in chosen)
    if not chosen:
        raise ConfigError(f"judges {spec!r} names no judge")
    return chosen, (None if len(chosen) == 1 else "majority")


def qrels_for(
    store: JudgmentStore,
    qids: Iterable[str],
    judges: str = WORLD_JUDGE,
    *,
    world: World | None = None,
) -> dict[str, dict[str, int]]:
    """The qrels for these queries: every judged document, by the judges ``judges`` names.

    ``judges`` is ``"world"`` (the default), a judge name, a glob (``"human:*"``), a
    comma-separated list of them (merged by majority when more than one judge matches) or
    ``"merged"``/``"merged:<rule>"`` (every judge in the store, merged by the rule). World
    judgments are kept only when they come from ``world`` (same seed and clock; none at all when
    ``world`` is None, i.e. in live mode, where the world's truth does not apply). A
    ``world:<entity id>`` judgment is dropped when a stored world-judged result of the same
    query resolves to that entity (another run retrieved it), so no place is judged twice.
    """
    from .judgments import merge

    wanted = sorted(set(qids))
    names, how = _select_judges(judges, store.judges())
    note = world_note(world) if world is not None else None
    if how is not None:
        rows = [
            j
            for j in store.for_queries(wanted, names)
            if j.judge != WORLD_JUDGE or (note is not None and j.note == note)
        ]
        found = [(j.query_id, j.doc_id, j.judge) for j in rows]
        keep = _not_covered(store, wanted, note, found)
        merged = merge([j for j, k in zip(rows, keep, strict=True) if k], how=cast("MergeHow", how))
        return {q: dict(sorted(d.items())) for q, d in sorted(merged.items())}
    # One judge: plain rows, no Judgment objects (the same rows, filtered the same way).
    grades = [
        r
        for r in store.grades(wanted, names)
        if r[2] != WORLD_JUDGE or (note is not None and r[4] == note)
    ]
    keep = _not_covered(store, wanted, note, [(q, d, j) for q, d, j, _, _ in grades])
    out: dict[str, dict[str, int]] = {}
    for (q, d, _, grade, _), k in zip(grades, keep, strict=True):
        if k:
            out.setdefault(q, {})[d] = grade
    return {q: dict(sorted(d.items())) for q, d in sorted(out.items())}


def _not_covered(
    store: JudgmentStore,
    wanted: list[str],
    note: str | None,
    rows: Sequence[tuple[str, str, str]],
) -> list[bool]:
    """Per ``(query_id, doc_id, judge)`` row: False for a ``world:<entity id>`` world judgment
    when a stored world-judged result of the same query resolves to that entity (another run
    retrieved it), True otherwise."""
    if note is None or not any(
        j == WORLD_JUDGE and d.startswith(UNRETRIEVED_PREFIX) for _, d, j in rows
    ):
        return [True] * len(rows)
    judged = {(q, d) for q, d, j in rows if j == WORLD_JUDGE}
    covered = {
        (r.query_id, r.entity_id)
        for r in store.resolved(wanted, note)
        if (r.query_id, r.doc_id) in judged
    }
    return [j != WORLD_JUDGE or (q, unretrieved_entity_id(d)) not in covered for q, d, j in rows]


def union_qrels(*qrels: Mapping[str, Mapping[str, int]]) -> dict[str, dict[str, int]]:
    """The union of several qrels (later ones win a grade conflict), judging each place once.

    A ``world:<entity id>`` document says that no retrieved result the judging store knew of
    resolved to that entity; a qrels that judges the query without it had a result for the
    entity under its result id. So a ``world:`` document is kept only when every qrels that
    judges its query holds it (else the place would count twice: as that result and as
    unretrieved).
    """
    out: dict[str, dict[str, int]] = {}
    for source in qrels:
        for q, docs in source.items():
            out.setdefault(q, {}).update(docs)
    for q, docs in out.items():
        judging = [source[q] for source in qrels if source.get(q)]
        for doc in [d for d in docs if d.startswith(UNRETRIEVED_PREFIX)]:
            if not all(doc in other for other in judging):
                del docs[doc]
    return {q: dict(sorted(d.items())) for q, d in sorted(out.items())}


def qrels_hash(qrels: Mapping[str, Mapping[str, int]]) -> str:
    """sha256 (hex) of the canonical qrels text: ``qid 0 docid grade`` lines, sorted by qid then
    docid (byte order), each ending in ``\\n`` -- exactly the ``qrels.txt`` a report saves."""
    h = hashlib.sha256()
    for qid in sorted(qrels):
        for doc in sorted(qrels[qid]):
            h.update(f"{qid} 0 {doc} {int(qrels[qid][doc])}\n".encode())
    return h.hexdigest()
