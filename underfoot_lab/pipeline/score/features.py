"""Features: one numeric row per merged entity, for a whole query in one call.

:func:`build_features` turns a query's merged entities into a :class:`FeatureMatrix` (frozen,
``float64``), whose columns are documented in :data:`FEATURES` (name, range, meaning, group) so
docs and notebooks can list them (:func:`feature_table`). Scorers only ever read this matrix:
the seed's scorer is reproduced by weights over ``intent_match``, ``keyword_count`` and the
``src_*`` indicators (``experiments/weights/baseline-seed.yaml``); other weights use the rest.

Columns come in four groups. ``text``, ``source`` and ``context`` features are *scored*
(weights apply to them, see :mod:`.engine`); ``raw`` columns (``distance_km``, ``event_days``,
``post_age_days``, ``reviews``) are the unscaled inputs some features are computed from, kept
for the primary-radius split and so a frozen pool can recompute the parameter-dependent
features (distance decay, freshness) for other half-distances and windows
(:meth:`FeatureMatrix.with_params`). Raw columns are ``NaN`` when unknown; scored features never
are (unknowns get a documented neutral value).

"Now" (for freshness) is always passed in explicitly: the pipeline's clock, which offline is
``settings.world_clock``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Literal

import numpy as np
import numpy.typing as npt

from ...records import ParsedQuery, Place
from .merge import Entity
from .seed import PRIOR_KIND, UNDERGROUND_KEYWORDS

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

FloatArray = npt.NDArray[np.float64]
FeatureGroup = Literal["text", "source", "context", "raw"]

__all__ = [
    "FEATURES",
    "FEATURE_NAMES",
    "RAW_FEATURES",
    "SCORED_FEATURES",
    "FeatureMatrix",
    "FeatureParams",
    "FeatureSpec",
    "build_features",
    "feature_spec",
    "feature_table",
    "param_columns",
    "tokenize",
]


@dataclass(frozen=True, slots=True)
class FeatureSpec:
    """One documented feature column."""

    name: str
    range: tuple[float, float]
    """Inclusive bounds of the values the column can take (``inf`` where unbounded)."""
    meaning: str
    group: FeatureGroup = "context"
    """``text``/``source``/``context`` are scored, ``raw`` columns are inputs (never weighted).
    The engine sums each scored group in registry order, then the groups in this order: that
    fixes the floating-point association, which is what lets the baseline reproduce the seed's
    scores to the bit."""
    neutral: float | None = None
    """The value given when the input is unknown (``None``: never unknown, or ``NaN`` for raw)."""


# Parameters some features depend on; the defaults here are also the ScoringWeights defaults.
DEFAULT_HALF_DISTANCE_KM = 10.0
DEFAULT_FRESHNESS_WINDOW_DAYS = 30.0
DEFAULT_POST_HALF_LIFE_DAYS = 180.0
EXPIRED_GRACE_DAYS = 1.0
"""An event that started less than a day ago may still be on: it is "now" (freshness 1), not
expired (candidates carry a start time only, no end)."""
NEUTRAL_DISTANCE_DECAY = 0.5
"""Unknown distance (a post or page without coordinates) decays as if at the half-distance."""
RATING_PRIOR_MEAN = 4.0
RATING_PRIOR_WEIGHT = 10.0
"""Bayesian shrinkage: a rating counts as ``RATING_PRIOR_WEIGHT`` pseudo-reviews at the prior mean
plus the real reviews (a 5.0 from 3 reviews is worth less than a 4.7 from 300)."""
POPULARITY_SCALE_REVIEWS = 10_000
HIDDEN_LANGUAGE_CAP = 3
CLICKBAIT_CAP = 3

FEATURES: tuple[FeatureSpec, ...] = (
    # --- text -----------------------------------------------------------------------------
    FeatureSpec(
        "intent_match", (0.0, 1.0),
        "1 when the intent occurs as a case-insensitive substring of the entity's text (name + "
        "every mention's title and description), else 0: the seed's intent rule.",
        "text",
    ),
    FeatureSpec(
        "keyword_count", (0.0, float(len(UNDERGROUND_KEYWORDS))),
        "How many of the seed's 14 'underground' keywords occur as substrings of the entity's "
        "text (the seed's count, quirks included: 'locals only' also counts 'local'). Its weight "
        "is capped by ScoringWeights.keyword_cap.",
        "text",
    ),
    FeatureSpec(
        "text_bm25", (0.0, 1.0),
        "BM25 (k1=1.2, b=0.75) of the intent's terms over the entity's text, the query's "
        "entities being the corpus, after a small synonym map ('swim spot' ~ 'swimming hole', "
        "'odd'/'quirky'/'strange' ~ 'weird', 'pub'/'tavern' ~ 'bar', 'trail' ~ 'hike', ...); "
        "divided by the query's best, so 1 is the best-matching entity and 0 no match.",
        "text",
    ),
    FeatureSpec(
        "hidden_language", (0.0, 1.0),
        f"Distinct 'hidden' phrases (the seed lexicon plus 'off the beaten path', 'underrated', "
        f"'hole in the wall', 'tucked away', ...) matched on word boundaries, capped at "
        f"{HIDDEN_LANGUAGE_CAP}, divided by {HIDDEN_LANGUAGE_CAP}.",
        "text",
    ),
    FeatureSpec(
        "clickbait", (0.0, 1.0),
        f"Distinct tourist/listicle phrases ('top 10', 'must-see', 'famous', 'most popular', "
        f"'bucket list', 'you have to see', '15 best ...', ...), capped at {CLICKBAIT_CAP}, "
        f"divided by {CLICKBAIT_CAP}.",
        "text",
    ),
    # --- source priors (order = the seed's sorted kinds: events, reddit, web) -----------------
    FeatureSpec(
        "src_events", (0.0, 1.0), "1 when an events source mentions the entity.", "source"
    ),
    FeatureSpec("src_reddit", (0.0, 1.0), "1 when Reddit mentions the entity.", "source"),
    FeatureSpec(
        "src_web", (0.0, 1.0),
        "1 when web search mentions the entity (organic 'web' and 'local' results both count, "
        "as in the seed).",
        "source",
    ),
    # --- context --------------------------------------------------------------------------
    FeatureSpec(
        "hiddenness", (0.0, 1.0),
        "1 - the percentile rank of the entity's review count (max over mentions, log scale) "
        "among the query's entities that have one: 1 = fewest reviews, 0 = most; 0.5 when the "
        "count is unknown or only one entity has one.",
        "context", 0.5,
    ),
    FeatureSpec(
        "popularity", (0.0, 1.0),
        f"log(1 + reviews) / log(1 + {POPULARITY_SCALE_REVIEWS}), capped at 1 (an absolute "
        f"scale: 0.5 is about 100 reviews); 0.5 when unknown.",
        "context", 0.5,
    ),
    FeatureSpec(
        "distance_decay", (0.0, 1.0),
        "0.5 ** (distance_km / half_distance_km): 1 at the centre, 0.5 at the half-distance; "
        f"{NEUTRAL_DISTANCE_DECAY} when the distance is unknown.",
        "context", NEUTRAL_DISTANCE_DECAY,
    ),
    FeatureSpec(
        "freshness", (-1.0, 1.0),
        "Events: 1 when on now (started less than a day ago), falling linearly to 0 at the "
        "freshness window's edge (1 - days_ahead / window), 0 beyond it, -1 when it started "
        "more than a day before now (expired). Otherwise posts/pages: 0.5 ** (age_days / "
        "post_half_life_days) of the most recent mention. Undated: 0.",
        "context", 0.0,
    ),
    FeatureSpec(
        "event_expired", (0.0, 1.0),
        "1 when the entity is an event that started more than a day before now, else 0.",
        "context",
    ),
    FeatureSpec(
        "n_sources", (1.0, math.inf),
        "Corroboration: the number of distinct sources mentioning the entity (from the merge).",
        "context",
    ),
    FeatureSpec(
        "n_source_types", (1.0, 4.0),
        "Corroboration: the number of distinct source types (web, local, events, reddit).",
        "context",
    ),
    FeatureSpec(
        "rating_quality", (0.0, 1.0),
        f"Bayesian-shrunk rating ((n * rating + {RATING_PRIOR_WEIGHT:g} * {RATING_PRIOR_MEAN}) / "
        f"(n + {RATING_PRIOR_WEIGHT:g}), n = reviews) mapped from 1..5 to 0..1; "
        f"{(RATING_PRIOR_MEAN - 1) / 4} (the prior) when unrated.",
        "context", (RATING_PRIOR_MEAN - 1) / 4,
    ),
    FeatureSpec(
        "source_rank", (0.0, 1.0),
        "1 / the best (lowest) rank any source gave the entity.",
        "context",
    ),
    # --- raw inputs (never weighted) ------------------------------------------------------
    FeatureSpec(
        "distance_km", (0.0, math.inf),
        "Great-circle distance from the place's centre (merge step); NaN when unknown. Used "
        "for the primary radius.",
        "raw",
    ),
    FeatureSpec(
        "event_days", (-math.inf, math.inf),
        "Days from now until the event starts (negative: started); NaN for non-events. The "
        "next upcoming start when mentions disagree.",
        "raw",
    ),
    FeatureSpec(
        "post_age_days", (-math.inf, math.inf),
        "Days since the most recent dated mention was published; NaN when none is dated.",
        "raw",
    ),
    FeatureSpec(
        "reviews", (0.0, math.inf), "Review count, max over mentions; NaN when unknown.", "raw"
    ),
)  # fmt: skip
"""Every feature column, in matrix order."""

FEATURE_NAMES: tuple[str, ...] = tuple(f.name for f in FEATURES)
SCORED_FEATURES: tuple[str, ...] = tuple(f.name for f in FEATURES if f.group != "raw")
RAW_FEATURES: tuple[str, ...] = tuple(f.name for f in FEATURES if f.group == "raw")
_INDEX = {name: i for i, name in enumerate(FEATURE_NAMES)}
_SPECS = {f.name: f for f in FEATURES}


def feature_spec(name: str) -> FeatureSpec:
    """The spec of one feature (``KeyError`` naming the known ones otherwise)."""
    try:
        return _SPECS[name]
    except KeyError:
        raise KeyError(f"unknown feature {name!r}; known: {', '.join(FEATURE_NAMES)}") from None


def feature_table() -> pd.DataFrame:
    """The registry as a DataFrame (name, group, low, high, neutral, meaning)."""
    import pandas as pd

    return pd.DataFrame(
        [
            {
                "name": f.name,
                "group": f.group,
                "low": f.range[0],
                "high": f.range[1],
                "neutral": f.neutral,
                "meaning": f.meaning,
            }
            for f in FEATURES
        ]
    )


@dataclass(frozen=True, slots=True)
class FeatureParams:
    """Parameters the distance and freshness features depend on (set by the weights file)."""

    half_distance_km: float = DEFAULT_HALF_DISTANCE_KM
    freshness_window_days: float = DEFAULT_FRESHNESS_WINDOW_DAYS
    post_half_life_days: float = DEFAULT_POST_HALF_LIFE_DAYS

    def __post_init__(self) -> None:
        for name in ("half_distance_km", "freshness_window_days", "post_half_life_days"):
            value = getattr(self, name)
            if not (value > 0 and math.isfinite(value)):
                raise ValueError(f"{name} must be a positive number, got {value!r}")


# ------------------------------------------------------------------------------------ text
_SYNONYMS: dict[str, tuple[str, ...]] = {
    "swimming_hole": (
        "swimming hole", "swimming holes", "swimming spot", "swimming spots", "swim spot",
        "swim spots", "swim hole", "swim holes", "swimming area", "blue hole",
    ),
    "weird": (
        "weird", "odd", "oddity", "oddities", "quirky", "strange", "unusual", "bizarre",
        "offbeat", "curiosities", "kitschy",
    ),
    "bar": ("bar", "bars", "pub", "pubs", "tavern", "taverns", "saloon", "saloons", "taproom"),
    "hike": ("hike", "hikes", "hiking", "trail", "trails", "trailhead"),
    "hidden_gem": (
        "hidden gem", "hidden gems", "best kept secret", "best-kept secret", "underrated",
        "off the beaten path",
    ),
    "waterfall": ("waterfall", "waterfalls", "falls", "cascade", "cascades"),
    "food": (
        "food", "eats", "eat", "restaurant", "restaurants", "diner", "diners", "cafe", "cafes",
    ),
    "concert": ("concert", "concerts", "live music", "gig", "gigs"),
    "vintage": ("vintage", "antique", "antiques", "thrift"),
    "museum": ("museum", "museums"),
    "history": ("history", "historic", "historical", "heritage"),
    "event": ("event", "events", "festival", "festivals", "fest"),
}  # fmt: skip
_SYNONYM_OF = {v: canon for canon, vs in _SYNONYMS.items() for v in vs}
_SYNONYM_RE = re.compile(
    r"\b(?:" + "|".join(re.escape(v) for v in sorted(_SYNONYM_OF, key=len, reverse=True)) + r")\b"
)
_QUERY_STOP = frozenset(
    (
        "a", "an", "the", "in", "on", "at", "of", "near", "around", "by", "to", "for", "and",
        "or", "with", "best", "good", "cool", "great", "some", "any", "what", "where", "is",
        "are", "me", "my", "things", "thing", "do", "find", "spots", "spot", "places", "place",
        "stuff", "area", "nearby", "local",
    )
)  # fmt: skip


def _stem(tok: str) -> str:
    # Light plural folding so "holes" ~ "hole" and "gems" ~ "gem"; not a real stemmer.
    if len(tok) > 4 and tok.endswith("ies"):
        return tok[:-3] + "y"
    if len(tok) > 3 and tok.endswith("s") and not tok.endswith("ss"):
        return tok[:-1]
    return tok


def tokenize(text: str) -> list[str]:
    """Lower-cased, synonym-folded, plural-folded tokens (what BM25 counts)."""
    lowered = text.lower().replace("\u2019", "'").replace("'", "")
    folded = _SYNONYM_RE.sub(lambda m: f" {_SYNONYM_OF[m.group(0)]} ", lowered)
    return [_stem(t) for t in re.findall(r"[a-z0-9_]+", folded)]


@lru_cache(maxsize=4096)
def _query_terms(intent: str) -> tuple[str, ...]:
    terms = [t for t in tokenize(intent) if t not in _QUERY_STOP]
    return tuple(dict.fromkeys(terms))


def _bm25(terms: Sequence[str], docs: Sequence[Sequence[str]]) -> FloatArray:
    """BM25 of ``terms`` over ``docs`` (the corpus), divided by the best document's score."""
    n = len(docs)
    out = np.zeros(n, dtype=np.float64)
    if n == 0 or not terms:
        return out
    col = {t: j for j, t in enumerate(terms)}
    tf = np.zeros((n, len(terms)), dtype=np.float64)
    lengths = np.empty(n, dtype=np.float64)
    for i, doc in enumerate(docs):
        lengths[i] = len(doc)
        for tok in doc:
            j = col.get(tok)
            if j is not None:
                tf[i, j] += 1.0
    avgdl = float(lengths.mean()) or 1.0
    df = (tf > 0).sum(axis=0).astype(np.float64)
    idf = np.log1p((n - df + 0.5) / (df + 0.5))
    k1, b = 1.2, 0.75
    norm = k1 * (1.0 - b + b * lengths / avgdl)
    scores = ((tf * (k1 + 1.0)) / (tf + norm[:, None])) @ idf
    best = float(scores.max())
    if best > 0.0:
        out = scores / best
    return out


def _phrase_re(phrases: Iterable[str]) -> re.Pattern[str]:
    ordered = sorted(set(phrases), key=len, reverse=True)
    return re.compile(r"\b(?:" + "|".join(ordered) + r")\b")


_HIDDEN_PHRASES = (
    *(re.escape(k) for k in UNDERGROUND_KEYWORDS),
    r"off the beaten path",
    r"underrated",
    r"best[- ]kept secret",
    r"hole[- ]in[- ]the[- ]wall",
    r"tucked away",
    r"little[- ]known",
    r"locals",
    r"under the radar",
    r"no[- ]frills",
)
_HIDDEN_RE = _phrase_re(_HIDDEN_PHRASES)
_CLICKBAIT_PHRASES = (
    r"top \d+",
    r"\d+ (?:best|must|amazing|awesome|incredible|essential|top|greatest|coolest|things|"
    r"places|spots|reasons|ways|attractions)",
    r"must[- ]see",
    r"must[- ]visit",
    r"must[- ]do",
    r"world[- ]famous",
    r"famous",
    r"most popular",
    r"bucket[- ]list",
    r"you (?:have|need|ought) to (?:see|visit|try)",
    r"you won'?t believe",
    r"ultimate guide",
    r"iconic",
    r"tourist favorite",
    r"best of",
    r"instagram(?:mable|-worthy| worthy)",
)
_CLICKBAIT_RE = _phrase_re(_CLICKBAIT_PHRASES)


def _distinct_count(pattern: re.Pattern[str], text: str) -> int:
    return len({m.group(0) for m in pattern.finditer(text)})


# ------------------------------------------------------------------------------------ matrix
@dataclass(frozen=True, eq=False)
class FeatureMatrix:
    """The feature rows of one query's entities (or of a whole pool of queries).

    ``values[i, j]`` is feature ``names[j]`` of entity ``entity_ids[i]``; the array is read-only.
    ``params`` are the parameters the distance/freshness columns were computed with.
    """

    names: tuple[str, ...]
    values: FloatArray
    entity_ids: tuple[str, ...]
    params: FeatureParams = field(default_factory=FeatureParams)

    def __post_init__(self) -> None:
        if self.values.dtype != np.float64 or self.values.ndim != 2:
            raise ValueError("feature values must be a 2-d float64 array")
        if self.values.shape != (len(self.entity_ids), len(self.names)):
            raise ValueError(
                f"feature values have shape {self.values.shape}, expected "
                f"({len(self.entity_ids)}, {len(self.names)})"
            )
        self.values.flags.writeable = False

    def __len__(self) -> int:
        return len(self.entity_ids)

    def __eq__(self, other: object) -> bool:
        # Bit-for-bit (so NaN raw columns compare equal to themselves).
        if not isinstance(other, FeatureMatrix):
            return NotImplemented
        return (
            self.names == other.names
            and self.entity_ids == other.entity_ids
            and self.params == other.params
            and self.values.shape == other.values.shape
            and self.values.tobytes() == other.values.tobytes()
        )

    __hash__ = None  # type: ignore[assignment]

    def column(self, name: str) -> FloatArray:
        """One feature column (read-only view)."""
        return self.values[:, self.names.index(name)]

    @property
    def scored(self) -> FloatArray:
        """The scored columns, in :data:`SCORED_FEATURES` order (what weights multiply)."""
        idx = [self.names.index(n) for n in SCORED_FEATURES]
        return self.values[:, idx]

    def row(self, i: int) -> dict[str, float]:
        return {n: float(v) for n, v in zip(self.names, self.values[i], strict=True)}

    def with_params(self, params: FeatureParams) -> FeatureMatrix:
        """The same rows with the parameter-dependent columns recomputed for ``params``."""
        if params == self.params:
            return self
        values = self.values.copy()
        raw = {n: self.values[:, self.names.index(n)] for n in RAW_FEATURES}
        for name, col in param_columns(raw, params).items():
            values[:, self.names.index(name)] = col
        return FeatureMatrix(self.names, values, self.entity_ids, params)

    def to_frame(self) -> pd.DataFrame:
        """Rows as a DataFrame indexed by entity id."""
        import pandas as pd

        return pd.DataFrame(self.values, columns=list(self.names), index=list(self.entity_ids))


def param_columns(raw: dict[str, FloatArray], params: FeatureParams) -> dict[str, FloatArray]:
    """``distance_decay``, ``freshness`` and ``event_expired`` from the raw columns.

    Shared by :func:`build_features` and :meth:`FeatureMatrix.with_params`, so a pool
    recomputed for other parameters is bit-identical to building the features afresh.
    """
    dist = raw["distance_km"]
    known = ~np.isnan(dist)
    decay = np.full(dist.shape, NEUTRAL_DISTANCE_DECAY, dtype=np.float64)
    decay[known] = np.power(0.5, dist[known] / params.half_distance_km)

    days = raw["event_days"]
    age = raw["post_age_days"]
    fresh = np.zeros(days.shape, dtype=np.float64)
    is_event = ~np.isnan(days)
    expired = is_event & (days < -EXPIRED_GRACE_DAYS)
    # Events: 1 when on now, linear down to 0 at the window's edge, 0 beyond.
    ev = is_event & ~expired
    ahead = np.clip(days[ev], 0.0, None)
    fresh[ev] = np.clip(1.0 - ahead / params.freshness_window_days, 0.0, 1.0)
    fresh[expired] = -1.0
    post = ~is_event & ~np.isnan(age)
    fresh[post] = np.power(0.5, np.clip(age[post], 0.0, None) / params.post_half_life_days)
    return {
        "distance_decay": decay,
        "freshness": fresh,
        "event_expired": expired.astype(np.float64),
    }


def _as_utc(dt: datetime) -> datetime:
    return dt if dt.tzinfo is not None else dt.replace(tzinfo=UTC)


def _percentile_hiddenness(reviews: FloatArray) -> FloatArray:
    out = np.full(reviews.shape, 0.5, dtype=np.float64)
    known = ~np.isnan(reviews)
    k = int(known.sum())
    if k < 2:
        return out
    x = np.log1p(reviews[known])  # log scale (ranks are the same; kept for clarity)
    order = np.sort(x)
    less = np.searchsorted(order, x, side="left")
    equal = np.searchsorted(order, x, side="right") - less
    pct = (less + 0.5 * (equal - 1)) / (k - 1)
    out[known] = 1.0 - pct
    return out


def build_features(
    parsed: ParsedQuery,
    place: Place,
    entities: Sequence[Entity],
    *,
    now: datetime,
    params: FeatureParams | None = None,
) -> FeatureMatrix:
    """The feature matrix of one query's merged entities (rows in ``entities`` order).

    ``place`` is accepted for symmetry with the scorers (distances were already computed from
    it by the merge step). ``now`` is the pipeline's clock.
    """
    del place  # distances come from the merge step
    params = params or FeatureParams()
    now = _as_utc(now)
    n = len(entities)
    cols = {name: np.zeros(n, dtype=np.float64) for name in FEATURE_NAMES}
    intent = parsed.intent.strip().lower()
    docs: list[list[str]] = []

    for i, e in enumerate(entities):
        text = e.text.lower()
        # The seed's exact rules (see seed.seed_components): substring tests on lower text.
        cols["intent_match"][i] = 1.0 if intent and intent in text else 0.0
        cols["keyword_count"][i] = float(sum(1 for k in UNDERGROUND_KEYWORDS if k in text))
        cols["hidden_language"][i] = (
            min(_distinct_count(_HIDDEN_RE, text), HIDDEN_LANGUAGE_CAP) / HIDDEN_LANGUAGE_CAP
        )
        cols["clickbait"][i] = (
            min(_distinct_count(_CLICKBAIT_RE, text), CLICKBAIT_CAP) / CLICKBAIT_CAP
        )
        docs.append(tokenize(e.text))

        types = e.source_types
        kinds = {PRIOR_KIND.get(t, t) for t in types}
        cols["src_events"][i] = 1.0 if "events" in kinds else 0.0
        cols["src_reddit"][i] = 1.0 if "reddit" in kinds else 0.0
        cols["src_web"][i] = 1.0 if "web" in kinds else 0.0
        cols["n_sources"][i] = float(len(e.sources))
        cols["n_source_types"][i] = float(len(types))
        cols["source_rank"][i] = 1.0 / max(1, min(m.rank for m in e.mentions))

        reviews = [m.reviews for m in e.mentions if m.reviews is not None]
        cols["reviews"][i] = float(max(reviews)) if reviews else math.nan
        rated = [m for m in e.mentions if m.rating is not None]
        if rated:
            best = max(rated, key=lambda m: m.reviews or 0)
            count = float(best.reviews or 0)
            prior = RATING_PRIOR_WEIGHT * RATING_PRIOR_MEAN
            shrunk = (count * float(best.rating or 0.0) + prior) / (count + RATING_PRIOR_WEIGHT)
            cols["rating_quality"][i] = min(1.0, max(0.0, (shrunk - 1.0) / 4.0))
        else:
            cols["rating_quality"][i] = (RATING_PRIOR_MEAN - 1.0) / 4.0

        cols["distance_km"][i] = math.nan if e.distance_km is None else float(e.distance_km)

        starts = [
            (_as_utc(m.starts_at) - now).total_seconds() / 86400.0
            for m in e.mentions
            if m.starts_at is not None
        ]
        if starts:
            upcoming = [d for d in starts if d >= -EXPIRED_GRACE_DAYS]
            cols["event_days"][i] = min(upcoming) if upcoming else max(starts)
        else:
            cols["event_days"][i] = math.nan
        published = [m.published_at for m in e.mentions if m.published_at is not None]
        cols["post_age_days"][i] = (
            (now - max(_as_utc(p) for p in published)).total_seconds() / 86400.0
            if published
            else math.nan
        )

    cols["text_bm25"] = _bm25(_query_terms(parsed.intent), docs)
    reviews_col = cols["reviews"]
    cols["hiddenness"] = _percentile_hiddenness(reviews_col)
    pop = np.full(n, 0.5, dtype=np.float64)
    known = ~np.isnan(reviews_col)
    pop[known] = np.minimum(
        np.log1p(reviews_col[known]) / math.log1p(POPULARITY_SCALE_REVIEWS), 1.0
    )
    cols["popularity"] = pop
    cols.update(param_columns({k: cols[k] for k in RAW_FEATURES}, params))

    values = np.empty((n, len(FEATURE_NAMES)), dtype=np.float64)
    for j, name in enumerate(FEATURE_NAMES):
        values[:, j] = cols[name]
    return FeatureMatrix(FEATURE_NAMES, values, tuple(e.id for e in entities), params)
