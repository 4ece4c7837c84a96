"""Production's seed scorer, per item, and the "seed rules on merged places" derived from it.

Two baselines live here; reports and the README name them so:

* **seed (production, per item)** -- :func:`rank_seed_items`: exactly the rules Underfoot's
  production backend applies to each RAW result (a web page or a Reddit post: title + snippet,
  or title + the first 200 characters of self-text), with no merging and no de-duplication
  (``/work/shared/seed-system.md``, "The scorer, rule by rule"). :mod:`.production` feeds it
  candidates; this module knows only production's item mappings.
* **seed rules on merged places** -- :class:`SeedScorer` (``seed-v1``, the scorer used when no
  weights file is given, and ``experiments/weights/baseline-seed.yaml`` bit for bit): the same
  bonuses applied to a merged place entity (its name plus every mention's text), with one prior
  per kind of source that backs it (summed, not exclusive), Maps/local results counted as web
  search, and ties broken by result id. It is NOT production's behaviour: merged text fills the
  keyword cap faster and the summed priors reach 0.45 where production's exclusive bonus stops
  at 0.2. It stays as a workbench baseline on merged places.

Rules of the merged-places variant, for one merged entity:

* +0.3 when the intent occurs as a substring (case-insensitive) of name + description;
* +0.1 for each "underground" keyword found in name + description, at most +0.4;
* source priors: +0.2 when Reddit mentions it, +0.15 when web search does (SerpAPI organic and
  local results both count as web search), +0.1 when an events source does; a merged result
  backed by several kinds of source gets each kind's prior once (0.3 + 0.4 + 0.45 = 1.15);
* the total is capped at 1.0;
* primary when the score is >= 0.5, otherwise nearby.

"name + description" of a merged entity is its name and every mention's title and description
(see :attr:`Entity.text`). Ranking is by score, ties broken by result id descending, the same
order trec_eval uses, so what the pipeline shows is what the evaluation scores.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ...records import ParsedQuery, Place, RankedResult
from .merge import Entity

UNDERGROUND_KEYWORDS: tuple[str, ...] = (
    "underground",
    "hidden",
    "secret",
    "local",
    "offbeat",
    "alternative",
    "indie",
    "dive",
    "authentic",
    "quirky",
    "weird",
    "unique",
    "undiscovered",
    "locals only",
)
INTENT_BONUS = 0.3
KEYWORD_BONUS = 0.1
KEYWORD_CAP = 0.4
SOURCE_PRIORS: dict[str, float] = {"reddit": 0.2, "web": 0.15, "events": 0.1}
# Source type -> the seed's source kind ("local" results come from web search too).
PRIOR_KIND: dict[str, str] = {"reddit": "reddit", "web": "web", "local": "web", "events": "events"}
SCORE_CAP = 1.0
PRIMARY_THRESHOLD = 0.5

SEED_SCORER_VERSION = "seed-v1"

# ------------------------------------------------------------------ production, per item
ITEM_SOURCE_BONUS: tuple[tuple[str, float], ...] = (("reddit", 0.2), ("serp", 0.15))
"""Production's source bonus, tested in this order; the first match wins (exclusive)."""
REDDIT_POPULAR_SCORE = 100
"""A Reddit post whose vote score exceeds this gets the metadata bonus."""
METADATA_BONUS = 0.1
ITEM_KEYS = ("name", "description", "source", "url", "metadata")
"""Keys of production's item mapping (input of :func:`rank_seed_items`)."""


def seed_item_score(item: Mapping[str, Any], intent: str) -> float:
    """Production's score of one raw item (rules 1-6 of ``seed-system.md``).

    The bonuses are added in the rules' order (intent, capped keywords, source, metadata), then
    capped at 1.0; that association decides the last bits at the 0.5 boundary. ``None`` name or
    description reads as ""; a metadata ``score`` that is not a number counts as not above 100.
    """
    text = (_text(item.get("name")) + " " + _text(item.get("description"))).lower()
    # Not stripped, on purpose: production lowercases only, so "bars " misses "bars," and an
    # empty intent (a substring of everything) always earns the bonus.
    needle = intent.lower()
    score = 0.0
    if needle in text:
        score += INTENT_BONUS
    keywords = sum(1 for k in UNDERGROUND_KEYWORDS if k in text)
    score += min(keywords * KEYWORD_BONUS, KEYWORD_CAP)
    source = item.get("source")
    score += next((bonus for kind, bonus in ITEM_SOURCE_BONUS if source == kind), 0.0)
    metadata = item.get("metadata")
    if isinstance(metadata, Mapping) and metadata:
        votes = metadata.get("score", 0)
        numeric = isinstance(votes, int | float) and not isinstance(votes, bool)
        popular_post = source == "reddit" and numeric and votes > REDDIT_POPULAR_SCORE
        if popular_post or source == "eventbrite":
            score += METADATA_BONUS
    return min(score, SCORE_CAP)


def rank_seed_items(items: Sequence[Mapping[str, Any]], intent: str) -> list[dict[str, Any]]:
    """Production's scorer and ranker over raw items: new mappings, best first.

    ``items``: mappings with ``name``, ``description``, ``source`` (``"serp"``, ``"reddit"``,
    ``"eventbrite"``), ``url`` and ``metadata`` (a mapping or None), in production's input order
    (web items, then Reddit, then Eventbrite, each in the source's order). Returns copies (every
    input key, ``metadata`` copied too) plus ``score`` (float, in [0, 1]) and ``category``
    (``"primary"`` when ``score >= 0.5``, else ``"nearby"``), sorted by score descending with a
    stable sort, so ties keep the input order. The inputs are not modified.
    """
    scored: list[dict[str, Any]] = []
    for item in items:
        out = dict(item)
        metadata = item.get("metadata")
        if isinstance(metadata, Mapping):
            out["metadata"] = dict(metadata)
        score = seed_item_score(item, intent)
        out["score"] = score
        out["category"] = "primary" if score >= PRIMARY_THRESHOLD else "nearby"
        scored.append(out)
    # sorted() is stable, also with reverse=True: equal scores keep the input order.
    return sorted(scored, key=lambda r: float(r["score"]), reverse=True)


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


# ------------------------------------------------------------------ seed rules, merged places


def seed_components(entity: Entity, intent: str) -> dict[str, float]:
    """The seed scorer's additive parts for one entity (for explanations and tests)."""
    text = entity.text.lower()
    intent_hit = 1.0 if intent.strip() and intent.strip().lower() in text else 0.0
    keywords = sum(1 for k in UNDERGROUND_KEYWORDS if k in text)
    kinds = {PRIOR_KIND.get(t, t) for t in entity.source_types}
    prior = 0.0
    for k in sorted(kinds):
        # Left to right, as the engine adds: from Python 3.12 on, sum() of floats compensates
        # rounding and would differ from the engine's scores in the last bit.
        prior += SOURCE_PRIORS.get(k, 0.0)
    return {
        "intent_match": intent_hit,
        "keyword_count": float(keywords),
        "source_prior": prior,
    }


def seed_score(entity: Entity, intent: str) -> float:
    return _score_of(seed_components(entity, intent))


def _score_of(c: dict[str, float]) -> float:
    raw = (
        INTENT_BONUS * c["intent_match"]
        + min(KEYWORD_BONUS * c["keyword_count"], KEYWORD_CAP)
        + c["source_prior"]
    )
    return min(raw, SCORE_CAP)


def rank_order(results: Sequence[RankedResult]) -> list[RankedResult]:
    """Score descending, then id descending (trec_eval's tie-break)."""
    by_id = sorted(results, key=lambda r: r.id, reverse=True)
    return sorted(by_id, key=lambda r: -r.score)


class SeedScorer:
    """Seed rules on merged places (``name = "seed-v1"``); see the module docstring."""

    name = SEED_SCORER_VERSION
    version = SEED_SCORER_VERSION

    def rank(
        self, parsed: ParsedQuery, place: Place, entities: Sequence[Entity]
    ) -> list[RankedResult]:
        out = []
        for e in entities:
            comps = seed_components(e, parsed.intent)  # once: the score is made of them
            score = _score_of(comps)
            out.append(
                to_ranked(
                    e,
                    score,
                    "primary" if score >= PRIMARY_THRESHOLD else "nearby",
                    tuple(comps.items()),
                )
            )
        return rank_order(out)


def to_ranked(
    e: Entity, score: float, category: str, features: tuple[tuple[str, float], ...]
) -> RankedResult:
    """An entity as a ranked result (title/url/description from its leading mention)."""
    lead = e.primary_mention
    desc = next((m.description for m in e.mentions if m.description), "")
    return RankedResult(
        id=e.id,
        title=e.name,
        url=lead.url,
        sources=e.sources,
        score=float(score),
        category="primary" if category == "primary" else "nearby",
        distance_km=e.distance_km,
        lat=e.lat,
        lon=e.lon,
        description=desc,
        mentions=e.mentions,
        simulated=any(m.simulated for m in e.mentions),
        features=features,
    )
