"""The simulated engines' own ranking: what Google, Maps and Reddit can see, never the truth.

An engine scores an item by a weighted sum (the scenario's
:class:`~underfoot_lab.world.scenario.EngineSpec`) of the lexical match of the query's words
with the item's text, its popularity (log reviews, or link popularity for pages), its site's
authority, its freshness and its distance from the map centre, plus Gaussian noise; then a
``position_noise`` share of the positions is shuffled. Nothing here reads a latent variable or
the judge's relevance function (:func:`underfoot_lab.world.truth.match_strength`).
"""

from __future__ import annotations

import math
import random
import re
from collections.abc import Callable, Iterable, Sequence
from collections.abc import Set as AbstractSet
from datetime import datetime
from functools import lru_cache
from typing import Any, TypeVar

from .scenario import EngineSpec

T = TypeVar("T")

_STOP = frozenset(
    [
        "a",
        "an",
        "and",
        "the",
        "of",
        "in",
        "on",
        "at",
        "to",
        "for",
        "near",
        "around",
        "by",
        "best",
        "top",
        "things",
        "stuff",
        "some",
        "any",
        "what",
        "where",
        "is",
        "are",
        "with",
        "from",
        "this",
        "that",
        "my",
        "our",
        "your",
        "spots",
        "spot",
        "places",
        "place",
    ]
)
_WORD = re.compile(r"[a-z0-9]+")


def _stem(word: str) -> str:
    """A crude plural stemmer ("holes" -> "hole", "breweries" -> "brewery")."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


_STEMS: dict[str, str] = {}
"""word -> its stem ("" for a stop word): the vocabulary is small and every rendered result
list re-tokenises thousands of texts, so a word is stemmed once per process."""
_STEMS_MAX = 200_000


def _fill_stems(words: Sequence[str]) -> None:
    if len(_STEMS) > _STEMS_MAX:
        _STEMS.clear()
    for w in words:
        if w not in _STEMS:
            _STEMS[w] = "" if w in _STOP else _stem(w)


@lru_cache(maxsize=4096)
def terms(text: str) -> frozenset[str]:
    """The stemmed content words of a text."""
    words = _WORD.findall(text.lower())
    try:
        out = set(map(_STEMS.__getitem__, words))
    except KeyError:
        _fill_stems(words)
        out = set(map(_STEMS.__getitem__, words))
    out.discard("")  # stop words (a word is never empty, so neither is its stem)
    return frozenset(out)


def query_terms(text: str) -> tuple[str, ...]:
    """The query's content words, in order, without repeats."""
    out: list[str] = []
    for w in _WORD.findall(text.lower()):
        if w in _STOP:
            continue
        s = _stem(w)
        if s not in out:
            out.append(s)
    return tuple(out)


def text_match(query: Sequence[str], text: str) -> float:
    """Share of the query's words the text contains (0..1; 0 for an empty query)."""
    return terms_match(query, terms(text)) if query else 0.0


def terms_match(query: Sequence[str], have: AbstractSet[str]) -> float:
    """:func:`text_match` against the text's :func:`terms`, already computed."""
    if not query:
        return 0.0
    return sum(1 for q in query if q in have) / len(query)


def memo_terms(
    memo: dict[str, Any], key: str, texts: Callable[[], Iterable[str]]
) -> tuple[frozenset[str], ...]:
    """The :func:`terms` of each of ``texts()``, computed once per ``memo`` (a universe's):
    renderers match every request against the same pages, posts and places."""
    found = memo.get(key)
    if found is None:
        found = memo[key] = tuple(terms(t) for t in texts())
    return found


def popularity(reviews: int | None) -> float:
    """log10(1 + reviews) / 4: about 0.5 at 100 reviews, 1 at 10,000."""
    return 0.0 if not reviews else math.log10(reviews + 1) / 4.0


def age_freshness(when: datetime | None, clock: datetime, half_life_days: float = 365.0) -> float:
    """0.5 ** (age / half-life) for a dated item; 0 when undated."""
    if when is None:
        return 0.0
    age = max(0.0, (clock - when).total_seconds() / 86400.0)
    return float(0.5 ** (age / half_life_days))


def score(
    spec: EngineSpec,
    rng: random.Random,
    *,
    match: float,
    pop: float,
    authority: float = 0.0,
    fresh: float = 0.0,
    distance_km: float = 0.0,
) -> float:
    """The engine's score of one item."""
    return (
        spec.text * match
        + spec.popularity * pop
        + spec.authority * authority
        + spec.freshness * fresh
        - spec.distance * (distance_km / 50.0)
        + rng.gauss(0.0, spec.noise_sd)
    )


def order(scored: list[tuple[float, int, T]], spec: EngineSpec, rng: random.Random) -> list[T]:
    """Items by descending score (ties by index), then a ``position_noise`` share of the
    positions shuffled among themselves."""
    scored = sorted(scored, key=lambda t: (-t[0], t[1]))
    items = [t[2] for t in scored]
    k = round(spec.position_noise * len(items))
    if k >= 2:
        slots = sorted(rng.sample(range(len(items)), k))
        moved = [items[i] for i in slots]
        rng.shuffle(moved)
        for i, item in zip(slots, moved, strict=True):
            items[i] = item
    return items
