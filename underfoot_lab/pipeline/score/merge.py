"""Entity resolution: merge the mentions of one place across sources.

Two mentions are the same entity when their normalised names are equal and, if both carry
coordinates, they lie within ``MERGE_RADIUS_KM`` of each other. A mention without a usable name
of its own (a Reddit post, a blog post) joins an entity whose name it contains in its title or
text; that is how corroboration is counted. The merged entity's id is a slug of its name, unique
within the query.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from ...geo.gazetteer import haversine_km, normalize_name
from ...records import Candidate, Place

MERGE_RADIUS_KM = 2.0
_MIN_MENTION_NAME_LEN = 6
# Words that make a name generic ("the", a trailing "the"); stripped from merge keys.
_STOP = {"the", "a", "an"}
# Source types whose items are places with their own names (as opposed to posts about places).
_NAMED_TYPES = {"local", "events"}


@dataclass(frozen=True, slots=True)
class Entity:
    """One merged place or event and every mention of it."""

    id: str
    name: str
    key: str
    mentions: tuple[Candidate, ...]
    lat: float | None
    lon: float | None
    distance_km: float | None

    @property
    def sources(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(m.source for m in self.mentions))

    @property
    def source_types(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(m.source_type for m in self.mentions))

    @property
    def primary_mention(self) -> Candidate:
        return self.mentions[0]

    @property
    def text(self) -> str:
        """Name plus every mention's title and description (what text features read)."""
        parts = [self.name]
        for m in self.mentions:
            parts.append(m.title)
            parts.append(m.description)
        return " ".join(p for p in parts if p)


def merge_key(name: str) -> str:
    """Normalised name without articles or apostrophes ("The Rusty Spur" -> "rusty spur")."""
    name = name.replace("'", "").replace("\u2019", "")
    words = [w for w in normalize_name(name).split() if w not in _STOP]
    return " ".join(words)


def slug(key: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", key).strip("-") or "item"


def _mention_order(c: Candidate) -> tuple[int, int, str]:
    # Named items (local places, events) lead an entity; then by source rank; then by id for
    # determinism whatever order the sources finished in.
    return (0 if c.source_type in _NAMED_TYPES else 1, c.rank, f"{c.source}:{c.native_id}")


def merge_candidates(candidates: Sequence[Candidate], place: Place) -> list[Entity]:
    """Group candidates into entities; deterministic for a given set of candidates."""
    ordered = sorted(candidates, key=_mention_order)
    groups: list[list[Candidate]] = []
    keys: list[str] = []
    coords: list[tuple[float, float] | None] = []
    by_key: dict[str, list[int]] = {}
    loose: list[tuple[Candidate, str]] = []  # with its merge key (computed once)

    for c in ordered:
        key = merge_key(c.name or c.title)
        if not key:
            continue
        placed = False
        for gi in by_key.get(key, []):
            here = coords[gi]
            # Without coordinates on either side the name alone decides; otherwise proximity too.
            placed = (
                here is None
                or c.lat is None
                or c.lon is None
                or haversine_km(here[0], here[1], c.lat, c.lon) <= MERGE_RADIUS_KM
            )
            if placed:
                groups[gi].append(c)
                if here is None and c.lat is not None and c.lon is not None:
                    coords[gi] = (c.lat, c.lon)
                break
        if placed:
            continue
        if c.source_type not in _NAMED_TYPES:
            loose.append((c, key))
            continue
        by_key.setdefault(key, []).append(len(groups))
        groups.append([c])
        keys.append(key)
        coords.append((c.lat, c.lon) if c.lat is not None and c.lon is not None else None)

    # Posts and pages: attach to the entity whose (long enough) name they mention; the longest
    # matching name wins so "Coal Run Falls Trail" beats "Coal Run Falls".
    named = sorted(
        ((k, gi) for gi, k in enumerate(keys) if len(k) >= _MIN_MENTION_NAME_LEN),
        key=lambda kv: (-len(kv[0]), kv[1]),
    )
    needles = [(f" {k} ", gi) for k, gi in named]
    for c, key in loose:
        same = by_key.get(key)
        if same:
            groups[same[0]].append(c)
            continue
        text = f" {normalize_name(c.title + ' ' + c.description)} " if needles else ""
        target = next((gi for k, gi in needles if k in text), None)
        if target is not None:
            groups[target].append(c)
            continue
        by_key.setdefault(key, []).append(len(groups))
        groups.append([c])
        keys.append(key)
        coords.append(None)

    entities: list[Entity] = []
    used: dict[str, int] = {}
    for members, key, xy in zip(groups, keys, coords, strict=True):
        base = slug(key)
        n = used.get(base, 0) + 1
        used[base] = n
        eid = base if n == 1 else f"{base}-{n}"
        lat, lon = xy if xy is not None else (None, None)
        dist = (
            haversine_km(place.lat, place.lon, lat, lon)
            if lat is not None and lon is not None
            else None
        )
        entities.append(
            Entity(
                id=eid,
                name=members[0].name or members[0].title,
                key=key,
                mentions=tuple(members),
                lat=lat,
                lon=lon,
                distance_km=dist,
            )
        )
    return entities
