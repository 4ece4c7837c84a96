"""The offline world's ground truth as relevance judgments (judge ``"world"``).

For every ranked result of a search, the world decides which latent entity the result is about
(the majority entity of its mentions' URLs and ids, as :meth:`World.grade_urls` does) and how
relevant that entity is to the query (0-3, ``docs/offline-world.md``). :func:`world_judgments`
turns that into :class:`~underfoot_lab.evaluation.judgments.Judgment` records keyed by the
region-set query id and the result id, which :func:`export_world_judgments` upserts into the
:class:`~underfoot_lab.evaluation.judgments.JudgmentStore`.

Which town and which intent a query is graded against:

* the town is the region set's **expected** town (``expected.place``/``state``/``county``), so a
  search geocoded to the wrong town gets 0 for everything (its results belong to another town's
  universe); without an expected place, the geocoded place is used;
* the intent is the pipeline's parsed intent text (the same reading
  :mod:`underfoot_lab.evaluation.pools` grades with, so pools and runs share one truth).

Every world judgment carries a note naming the world (``offline world seed=... clock=...``);
:func:`qrels_for` keeps only the world judgments of the current world, so a store shared across
world seeds never mixes two worlds' grades.
"""

from __future__ import annotations

import fnmatch
import hashlib
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, cast

from ..errors import ConfigError

if TYPE_CHECKING:  # pragma: no cover
    from ..pipeline.geocode.gazetteer import Town
    from ..records import RankedResult, SearchResult
    from ..world import Entity, World
    from .judgments import Judgment, JudgmentStore, MergeHow
    from .regions import RegionQuery

__all__ = [
    "WORLD_JUDGE",
    "export_world_judgments",
    "judge_result",
    "mention_tokens",
    "qrels_for",
    "qrels_hash",
    "resolve_entity",
    "town_for",
    "world_judgments",
    "world_note",
]

WORLD_JUDGE = "world"
"""The judge name of the offline world's ground truth."""


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
    resolved = [e for _, e in _resolved_mentions(world, result) if e is not None]
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


def judge_result(
    world: World, result: SearchResult, query: RegionQuery | None = None
) -> dict[str, int]:
    """``result id -> grade`` (0-3) for every ranked result of one search."""
    town = town_for(world, query, result)
    out: dict[str, int] = {}
    for r in result.results:
        if r.id in out:
            continue
        out[r.id] = (
            0
            if town is None
            else int(world.grade_urls(town, result.parsed.intent, mention_tokens(r, world)))
        )
    return out


def world_judgments(
    world: World,
    items: Iterable[tuple[str, SearchResult, RegionQuery | None]],
    *,
    created_at: datetime | None = None,
) -> list[Judgment]:
    """World judgments for ``(query_id, result, region query)`` triples."""
    from .judgments import Judgment

    when = created_at or datetime.now(UTC)
    note = world_note(world)
    out: list[Judgment] = []
    for qid, result, query in items:
        for doc, grade in judge_result(world, result, query).items():
            out.append(Judgment(qid, doc, grade, WORLD_JUDGE, when, note))
    return out


def export_world_judgments(
    store: JudgmentStore,
    world: World,
    items: Iterable[tuple[str, SearchResult, RegionQuery | None]],
) -> int:
    """Upsert the world's judgments of these results into ``store``; returns rows written."""
    return store.add(world_judgments(world, items))


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
    ``world`` is None, i.e. in live mode, where the world's truth does not apply).
    """
    from .judgments import merge

    wanted = sorted(set(qids))
    names, how = _select_judges(judges, store.judges())
    note = world_note(world) if world is not None else None
    rows = [
        j
        for j in store.for_queries(wanted, names)
        if j.judge != WORLD_JUDGE or (note is not None and j.note == note)
    ]
    if how is None:
        out: dict[str, dict[str, int]] = {}
        for j in rows:
            out.setdefault(j.query_id, {})[j.doc_id] = j.grade
        return {q: dict(sorted(d.items())) for q, d in sorted(out.items())}
    merged = merge(rows, how=cast("MergeHow", how))
    return {q: dict(sorted(d.items())) for q, d in sorted(merged.items())}


def qrels_hash(qrels: Mapping[str, Mapping[str, int]]) -> str:
    """sha256 (hex) of the canonical qrels text: ``qid 0 docid grade`` lines, sorted by qid then
    docid (byte order), each ending in ``\\n`` -- exactly the ``qrels.txt`` a report saves."""
    h = hashlib.sha256()
    for qid in sorted(qrels):
        for doc in sorted(qrels[qid]):
            h.update(f"{qid} 0 {doc} {int(qrels[qid][doc])}\n".encode())
    return h.hexdigest()
