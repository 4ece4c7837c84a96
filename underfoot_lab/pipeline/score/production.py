"""Production's ranking, per raw item: candidates -> production's items -> ranked results.

The baseline "seed (production, per item)": Underfoot's production backend scores every raw
result it got from its sources (web pages, Reddit posts, Eventbrite events) with the seed rules
(:func:`.seed.rank_seed_items`) and never merges two results about the same place. This module
turns our :class:`Candidate` records into production's item mappings, calls
:func:`rank_seed_items`, and returns one :class:`RankedResult` per candidate, in production's
order, each keeping its candidate's URL (the world judge grades a page or post by the place its
URL is about; a page about no place, or about a decoy, is graded as such).

Candidate -> item (``name``, ``description``, ``source``, ``url``, ``metadata``):

==================  ==========================================================================
candidate           production item
==================  ==========================================================================
``web``, ``local``  ``source="serp"``, ``description`` = the snippet,
                    ``metadata={"position": rank}``
``reddit``          ``source="reddit"``, ``description`` = the first 200 characters of the
                    self-text, ``metadata={"subreddit": community, "score": votes}`` (a feed
                    without vote scores reads as score 0)
``events``          ``source="eventbrite"``, ``description`` = its first 200 characters,
                    ``metadata={"start": ..., "venue": ...}``
==================  ==========================================================================

``name`` is always the candidate's title (production names items by page/post/event title).
Items enter the ranker in production's source order: web, then Reddit, then events, each in
the order the sources returned them, which is what ties keep. Production's own sources are
``serpapi_organic`` and ``reddit_json`` (Eventbrite's search API is closed); candidates of the
other sources are mapped by their kind, so the scorer also runs on today's source mix.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

from ...geo.gazetteer import haversine_km
from ...records import Candidate, ParsedQuery, Place, RankedResult
from .merge import Entity, slug
from .seed import rank_seed_items

__all__ = [
    "PRODUCTION_SCORER_VERSION",
    "ProductionSeedScorer",
    "production_item",
    "production_order",
]

PRODUCTION_SCORER_VERSION = "seed-production-v1"
DESCRIPTION_CHARS = 200
"""Production cuts Reddit self-text and event descriptions to this many characters."""
ITEM_SOURCE: dict[str, str] = {
    "web": "serp",
    "local": "serp",
    "reddit": "reddit",
    "events": "eventbrite",
}
"""Candidate ``source_type`` -> production's item ``source``."""
SOURCE_ORDER = ("serp", "reddit", "eventbrite")
"""The order production concatenates its sources' items in."""


def production_item(c: Candidate) -> dict[str, Any]:
    """A candidate as production's item mapping (see the module docstring)."""
    source = ITEM_SOURCE.get(c.source_type, c.source_type)
    metadata: dict[str, Any]
    if source == "serp":
        description = c.description
        metadata = {"position": c.rank}
    elif source == "reddit":
        description = c.description[:DESCRIPTION_CHARS]
        metadata = {"subreddit": c.community or "", "score": c.votes or 0}
    else:
        description = c.description[:DESCRIPTION_CHARS]
        start = c.starts_at.isoformat() if c.starts_at is not None else None
        metadata = {"start": start, "venue": c.address}
    return {
        "name": c.title,
        "description": description,
        "source": source,
        "url": c.url,
        "metadata": metadata,
    }


def production_order(candidates: Sequence[Candidate]) -> list[Candidate]:
    """Candidates in production's input order: web, Reddit, events (stable within each)."""

    def kind(c: Candidate) -> int:
        source = ITEM_SOURCE.get(c.source_type, c.source_type)
        return SOURCE_ORDER.index(source) if source in SOURCE_ORDER else len(SOURCE_ORDER)

    return sorted(candidates, key=kind)


class ProductionSeedScorer:
    """Seed (production, per item): no merging, one result per raw candidate.

    ``per_item = True`` tells the pipeline to skip merging and call :meth:`rank_items` with the
    gathered candidates. :meth:`rank` (the :class:`~.base.Scorer` protocol) accepts merged
    entities too and un-merges them into their mentions, for callers that only have entities.
    """

    name = "seed-production"
    version = PRODUCTION_SCORER_VERSION
    per_item = True

    def rank_items(
        self, parsed: ParsedQuery, place: Place, candidates: Sequence[Candidate]
    ) -> list[RankedResult]:
        """Production's ranking of raw candidates (score desc, ties in production's order)."""
        ordered = production_order(candidates)
        items = [{**production_item(c), "_candidate": i} for i, c in enumerate(ordered)]
        ranked = rank_seed_items(items, parsed.intent)
        ids = _ResultIds()
        out: list[RankedResult] = []
        for row in ranked:
            c = ordered[row["_candidate"]]
            out.append(_result(c, row, ids.next(c), place))
        return out

    def rank(
        self, parsed: ParsedQuery, place: Place, entities: Sequence[Entity]
    ) -> list[RankedResult]:
        """Un-merge: every mention of every entity, ranked as raw items."""
        return self.rank_items(parsed, place, [m for e in entities for m in e.mentions])


class _ResultIds:
    """Result ids: ``<kind>-<title slug>-<url hash>``, unique within one ranking.

    Built from the URL (not the rank) so the same page keeps its id across runs and systems;
    ``[a-z0-9-]`` only, as the judgment store's doc ids require. A repeated URL gets ``-2``...
    """

    def __init__(self) -> None:
        self.used: set[str] = set()

    def next(self, c: Candidate) -> str:
        key = c.url or f"{c.source}:{c.native_id}"
        digest = hashlib.sha1(key.encode("utf-8"), usedforsecurity=False).hexdigest()[:8]
        base = f"{slug(c.source_type)}-{slug(c.title.lower())[:40].strip('-')}-{digest}"
        rid, n = base, 1
        while rid in self.used:
            n += 1
            rid = f"{base}-{n}"
        self.used.add(rid)
        return rid


def _result(c: Candidate, row: dict[str, Any], rid: str, place: Place) -> RankedResult:
    distance = None
    if c.lat is not None and c.lon is not None:
        distance = haversine_km(place.lat, place.lon, c.lat, c.lon)
    score = float(row["score"])
    return RankedResult(
        id=rid,
        title=c.title,
        url=c.url,
        sources=(c.source,),
        score=score,
        category="primary" if row["category"] == "primary" else "nearby",
        distance_km=distance,
        lat=c.lat,
        lon=c.lon,
        description=str(row["description"]),
        mentions=(c,),
        simulated=c.simulated,
        features=(("seed_item_score", score),),
    )
