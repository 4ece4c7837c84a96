"""Ground truth: what a query intent means, and how relevant an entity is to it (0-3).

The grade is a function of the entity's LATENT variables only (see
:mod:`underfoot_lab.world.latent`); no observable field (reviews, rating, coordinates, dates,
text) enters it. The definition (also in ``docs/offline-world.md``), in order:

* **0** - irrelevant: no topical fit with the intent, latent zone "far" (out of reach), latent
  timing "past" (an event that is over, a place closed for good), another town's entity, or an
  item not about one entity (a listicle, a city page).
* **1** - marginal: a weak fit, a decoy tourist trap, latent quality below the scenario's
  ``grade.good_quality``, or latent timing "future" (an event months away).
* **3** - a hidden gem: strong fit, good quality, latently hidden (low tourist exposure), local
  esteem at least ``grade.gem_esteem``, in the town's core zone.
* **2** - otherwise (good, but known to tourists, not locally loved, or in the nearby band).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING

from .catalog import ALL_CATEGORIES

if TYPE_CHECKING:  # pragma: no cover
    from .model import Entity
    from .scenario import GradeSpec

PRIMARY_RADIUS_KM = 25.0
"""The core zone's radius: where a place of latent zone "core" appears when the zone link is 1."""
SEARCH_RADIUS_KM = 80.0
"""The nearby band's outer radius (latent zone "band" is 25-80 km)."""
GOOD_QUALITY = 0.6
"""Default of ``grade.good_quality`` (used when no scenario spec is given)."""
GEM_ESTEEM = -0.25
"""Default of ``grade.gem_esteem``."""
EVENT_HORIZON = timedelta(days=60)

# Intent keywords, phrase -> group. Phrases are matched on word boundaries, longest first.
INTENT_KEYWORDS: dict[str, tuple[str, ...]] = {
    "swimming": (
        "swim", "swims", "swimming", "swimming hole", "swimming holes", "swim spot",
        "swim spots", "creek", "creeks", "river", "lake", "lakes", "beach", "beaches",
        "blue hole",
    ),
    "bars": (
        "bar", "bars", "dive", "dives", "dive bar", "dive bars", "nightlife", "pub", "pubs",
        "tavern", "taverns", "drinks", "drink", "beer", "beers", "brewery", "breweries",
        "cocktails", "night out", "saloon",
    ),
    "food": (
        "food", "eat", "eats", "eating", "diner", "diners", "restaurant", "restaurants",
        "breakfast", "brunch", "lunch", "dinner", "bbq", "barbecue", "coffee", "cafe", "cafes",
        "bakery", "where to eat",
    ),
    "oddities": (
        "weird", "odd", "oddities", "oddity", "quirky", "strange", "unusual", "bizarre",
        "roadside", "roadside attractions", "curiosities", "kitschy", "offbeat",
    ),
    "history": (
        "history", "historic", "historical", "museum", "museums", "heritage", "civil war",
        "landmarks", "landmark",
    ),
    "events": (
        "event", "events", "concert", "concerts", "festival", "festivals", "fest", "live music",
        "music", "market", "markets", "farmers market", "trivia", "quiz", "shows", "show",
        "this weekend", "tonight", "happening",
    ),
    "outdoors": (
        "outdoors", "outdoor", "hike", "hikes", "hiking", "trail", "trails", "waterfall",
        "waterfalls", "falls", "nature", "cave", "caves", "caving", "overlook", "overlooks",
        "views", "view", "scenic", "park", "parks", "camping",
    ),
    "shopping": (
        "shopping", "shop", "shops", "antiques", "antique", "vintage", "thrift", "records",
        "record store", "record stores", "vinyl", "flea market",
    ),
    "art": ("art", "arts", "murals", "mural", "street art", "gallery", "galleries"),
}  # fmt: skip

EVENT_TYPE_KEYWORDS: dict[str, tuple[str, ...]] = {
    "concert": ("concert", "concerts", "live music", "music", "show", "shows", "band", "bands"),
    "festival": ("festival", "festivals", "fest"),
    "market": ("market", "markets", "farmers market", "flea market"),
    "trivia_night": ("trivia", "quiz", "pub quiz", "bingo"),
}

BROAD_PHRASES = (
    "hidden gems", "hidden gem", "underground", "secret", "secrets", "cool", "things to do",
    "unique", "local", "off the beaten path", "fun", "underrated", "best kept secret",
)  # fmt: skip


def _phrase_pattern(phrases: tuple[str, ...]) -> re.Pattern[str]:
    ordered = sorted(set(phrases), key=lambda p: (-len(p), p))
    return re.compile(r"\b(?:" + "|".join(re.escape(p) for p in ordered) + r")\b")


_GROUP_PATTERNS = {g: _phrase_pattern(p) for g, p in INTENT_KEYWORDS.items()}
_EVENT_PATTERNS = {t: _phrase_pattern(p) for t, p in EVENT_TYPE_KEYWORDS.items()}
_BROAD_PATTERN = _phrase_pattern(BROAD_PHRASES)
_ALL_PATTERN = _phrase_pattern(
    tuple({p for ps in INTENT_KEYWORDS.values() for p in ps} | set(BROAD_PHRASES))
)


@dataclass(frozen=True, slots=True)
class Intent:
    """A query's intent as the world understands it."""

    text: str
    groups: frozenset[str]
    """Intent groups named by the query (empty when broad)."""
    event_types: frozenset[str]
    """Event categories the query names ("concerts" -> {"concert"}); empty means any event."""
    phrases: tuple[str, ...]
    """The keyword phrases found in the text, in order (for highlighting and text matching)."""

    @property
    def broad(self) -> bool:
        """ "hidden gems", "things to do", "cool stuff": every place matches."""
        return not self.groups

    @property
    def key(self) -> str:
        """A canonical label ("broad", "swimming", "bars+food")."""
        return "+".join(sorted(self.groups)) or "broad"


def _clean(text: str) -> str:
    return " ".join(re.sub(r"[^a-z0-9' ]+", " ", text.lower().replace("&", " and ")).split())


@lru_cache(maxsize=1024)
def parse_intent(text: str) -> Intent:
    """Map free intent text ("dive bars", "hidden gems", "swimming holes") to groups."""
    clean = _clean(text)
    groups = {g for g, pat in _GROUP_PATTERNS.items() if pat.search(clean)}
    # "flea market" is shopping *and* an event; "falls" inside "water park falls" is fine.
    event_types = (
        {t for t, pat in _EVENT_PATTERNS.items() if pat.search(clean)}
        if "events" in groups
        else set()
    )
    # "music" alone names concerts; it should not also make the query about record stores.
    phrases = tuple(m.group(0) for m in _ALL_PATTERN.finditer(clean))
    return Intent(
        text=text,
        groups=frozenset(groups),
        event_types=frozenset(event_types),
        phrases=phrases,
    )


def match_strength(intent: Intent, entity: Entity) -> int:
    """2 strong, 1 weak, 0: the entity's LATENT topical fit (its ``fit_category``) for an intent.

    The fit category's kind decides the event rules, not the entity's apparent kind, so when
    the topic link is 0 fit is independent of everything a source shows.
    """
    fit = entity.fit_category or entity.category
    spec = ALL_CATEGORIES.get(fit)
    kind = spec.kind if spec is not None else entity.kind
    if kind == "event":
        if intent.broad:
            return 1
        if "events" in intent.groups:
            if intent.event_types and fit not in intent.event_types:
                return 1
            return 2
        return 1 if intent.groups & set(entity.weak_groups) else 0
    if intent.broad:
        return 2
    if intent.groups & set(entity.groups):
        return 2
    if intent.groups & set(entity.weak_groups):
        return 1
    return 0


def grade_entity(
    intent: Intent, entity: Entity, clock: datetime, spec: GradeSpec | None = None
) -> int:
    """Graded relevance 0-3 of ``entity`` for ``intent`` (its own town), from latents only.

    ``clock`` is kept for the signature's stability: timing is latent (the observed dates are a
    view of it), so the grade does not read the clock.
    """
    del clock
    good = spec.good_quality if spec is not None else GOOD_QUALITY
    gem_esteem = spec.gem_esteem if spec is not None else GEM_ESTEEM
    if entity.zone == "far" or entity.timing == "past":
        return 0
    strength = match_strength(intent, entity)
    if strength == 0:
        return 0
    if entity.decoy or strength == 1 or entity.quality < good or entity.timing == "future":
        return 1
    if entity.hidden and entity.zone == "core" and entity.esteem >= gem_esteem:
        return 3
    return 2
