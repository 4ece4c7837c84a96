"""The seed scorer: the scorer Underfoot runs today, reproduced faithfully.

It is the baseline every experiment is compared with, so it is kept exactly as it is, quirks
included. For one merged entity:

* +0.3 when the intent occurs as a substring (case-insensitive) of name + description;
* +0.1 for each "underground" keyword found in name + description, at most +0.4;
* source priors: +0.2 when Reddit mentions it, +0.15 when web search does (SerpAPI organic and
  local results both count as web search), +0.1 when an events source does; a merged result
  backed by several kinds of source gets each kind's prior once (this is what makes the cap
  bind: 0.3 + 0.4 + 0.45 = 1.15);
* the total is capped at 1.0;
* primary when the score is >= 0.5, otherwise nearby.

"name + description" of a merged entity is its name and every mention's title and description
(see :attr:`Entity.text`). Ranking is by score, ties broken by result id descending, the same
order trec_eval uses, so what the pipeline shows is what the evaluation scores.
"""

from __future__ import annotations

from collections.abc import Sequence

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


def seed_components(entity: Entity, intent: str) -> dict[str, float]:
    """The seed scorer's additive parts for one entity (for explanations and tests)."""
    text = entity.text.lower()
    intent_hit = 1.0 if intent.strip() and intent.strip().lower() in text else 0.0
    keywords = sum(1 for k in UNDERGROUND_KEYWORDS if k in text)
    kinds = {PRIOR_KIND.get(t, t) for t in entity.source_types}
    prior = sum(SOURCE_PRIORS.get(k, 0.0) for k in sorted(kinds))
    return {
        "intent_match": intent_hit,
        "keyword_count": float(keywords),
        "source_prior": prior,
    }


def seed_score(entity: Entity, intent: str) -> float:
    c = seed_components(entity, intent)
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
    """The baseline scorer (``name = "seed-v1"``)."""

    name = SEED_SCORER_VERSION
    version = SEED_SCORER_VERSION

    def rank(
        self, parsed: ParsedQuery, place: Place, entities: Sequence[Entity]
    ) -> list[RankedResult]:
        out = []
        for e in entities:
            score = seed_score(e, parsed.intent)
            comps = seed_components(e, parsed.intent)
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
