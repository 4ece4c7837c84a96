"""The pydantic models that validate a scenario YAML (:mod:`.scenario`).

Validation only: :func:`.scenario.parse_scenario` turns a validated model into the plain frozen
records the world reads (:class:`.scenario.Scenario`), so that the world, and a search answered
from the default scenario's validated copy (``scenarios.json``), need not import pydantic.
Messages name the field; the checks and bounds are the scenario's contract (see
``docs/offline-world.md``).
"""

from __future__ import annotations

import string

from pydantic import BaseModel, ConfigDict, Field, model_validator

REQUIRED_VOCABULARY = (
    "gem",
    "clickbait",
    "plain",
    "local_talk",
    "praise",
    "meh",
    "letdown",
    "trap_talk",
    "decoy_blurb",
)
"""The phrase lists the world's code reads (a scenario may add others; they are ignored)."""

PLACEHOLDERS = frozenset({"name", "town", "state", "county", "what"})
"""Fields a phrase may use: ``{name}`` (the place), ``{town}``, ``{state}``, ``{county}``,
``{what}`` (its kind: "swimming hole", "dive bar")."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


Unit = Field(ge=0.0, le=1.0)
Corr = Field(ge=-1.0, le=1.0)


class Zones(_Strict):
    """Shares of the latent zones (normalised): core (the town's own scene, < 25 km), band
    (25-80 km, "nearby") and far (> 80 km, beyond the search radius)."""

    core: float = Field(ge=0.0)
    band: float = Field(ge=0.0)
    far: float = Field(ge=0.0)


class TimingShares(_Strict):
    """Shares of latent timings (normalised). Places: "past" = closed for good, "current" =
    open, "future" = not open yet. Events: over, upcoming within 60 days, later."""

    past: float = Field(ge=0.0)
    current: float = Field(ge=0.0)
    future: float = Field(ge=0.0)

    def weights(self) -> tuple[float, float, float]:
        """(past, current, future)."""
        return self.past, self.current, self.future


class LatentSpec(_Strict):
    """How the latent truth of a place is drawn (all standard-normal scores unless stated)."""

    esteem_quality_corr: float = Corr
    """Correlation of local esteem with quality."""
    exposure_quality_corr: float = Corr
    """Correlation of tourist exposure with quality."""
    hidden_share: float = Field(gt=0.0, lt=1.0)
    """Share of ordinary places whose exposure is low enough to count as hidden."""
    zones: Zones
    place_timing: TimingShares
    event_timing: TimingShares
    decoys_min: int = Field(ge=0, le=7)
    decoys_max: int = Field(ge=0, le=7)
    tourist_spots_min: int = Field(ge=0, le=10)
    tourist_spots_max: int = Field(ge=0, le=10)
    tourist_exposure_boost: float = Field(ge=0.0)
    """Added to a tourist spot's (and a decoy's) exposure score."""

    @model_validator(mode="after")
    def _ranges(self) -> LatentSpec:
        if self.decoys_min > self.decoys_max:
            raise ValueError("decoys_min must not exceed decoys_max")
        if self.tourist_spots_min > self.tourist_spots_max:
            raise ValueError("tourist_spots_min must not exceed tourist_spots_max")
        if self.zones.core + self.zones.band + self.zones.far <= 0:
            raise ValueError("zones must not all be 0")
        for name in ("place_timing", "event_timing"):
            shares: TimingShares = getattr(self, name)
            if shares.current <= 0:
                raise ValueError(f"{name}.current must be > 0 (every town has open places)")
        return self


class Links(_Strict):
    """How strongly each apparent view (what sources can see) follows its latent variable.

    Continuous views are ``link * latent + sqrt(1 - link**2) * noise``; categorical ones copy
    the latent value with probability ``link`` and are drawn independently otherwise. 0 makes a
    view independent of the truth, 1 makes it the truth."""

    quality: float = Unit
    esteem: float = Unit
    exposure: float = Unit
    zone: float = Unit
    """Where the place appears to be (its coordinates) vs its latent zone."""
    timing: float = Unit
    """An event's dates vs its latent timing (past, upcoming, far future)."""
    topic: float = Unit
    """What a place appears to be (category, name, tags) vs what it is good for (topical fit)."""
    decoy: float = Unit
    """Whether a tourist trap looks like one (name, blurb, clickbait pages)."""


class GradeSpec(_Strict):
    """Thresholds on latent variables (never on an observable) that define the grade."""

    good_quality: float = Field(gt=0.0, lt=1.0)
    gem_esteem: float
    """A grade of 3 needs local esteem (a standard-normal score) at least this high."""


class ReviewSpec(_Strict):
    """log(reviews) = base + town_size * log10(pop/1000) + exposure * E + esteem * S + noise."""

    base: float
    town_size: float
    exposure: float
    esteem: float
    noise_sd: float = Field(ge=0.0)
    trap_boost: float
    """Added to log(reviews) of a place that looks like a tourist trap."""


class RatingSpec(_Strict):
    """rating = mean + quality * Q + noise (Q the apparent quality score), clipped to 1..5."""

    mean: float = Field(ge=1.0, le=5.0)
    quality: float
    noise_sd: float = Field(ge=0.0)
    trap_shift: float
    """Added to the rating of a place that looks like a tourist trap."""


class Logit(_Strict):
    """P(use a phrase list) = sigmoid(base + esteem*S + exposure*E + quality*Q + trap*T)."""

    base: float
    esteem: float = 0.0
    exposure: float = 0.0
    quality: float = 0.0
    trap: float = 0.0


class LanguageSpec(_Strict):
    """When pages and posts about a place use the ``gem`` and ``clickbait`` vocabularies."""

    gem: Logit
    clickbait: Logit
    recommend: Logit
    """Weight (as a log-odds score) of a place being picked for a locals' recommendation post."""


class EngineSpec(_Strict):
    """An engine's own ranking: a weighted sum of what it can see, plus noise.

    ``text`` weighs the lexical match of the query's words with the item's text, ``popularity``
    its log review count (or link popularity for pages), ``authority`` the site's authority,
    ``freshness`` how recent (or, for events, how soon) it is, ``distance`` a penalty per 50 km
    from the map centre. ``position_noise`` is the share of the returned list whose positions
    are shuffled at random (0: the engine's score order, 1: random order)."""

    text: float
    popularity: float
    authority: float = 0.0
    freshness: float = 0.0
    distance: float = 0.0
    noise_sd: float = Field(ge=0.0)
    position_noise: float = Unit


class Engines(_Strict):
    google: EngineSpec
    local_pack: EngineSpec
    maps: EngineSpec
    events: EngineSpec
    reddit: EngineSpec


class CorpusSpec(_Strict):
    """Which items about NO place exist. They always grade 0 (they are not places), which a
    scorer can learn from their look (listicle titles, Reddit questions, single sources); the
    ``null`` world switches them off so that no returned item carries information."""

    listicles: bool = True
    generic_pages: bool = True
    """Encyclopedia, city, visitor-bureau and weather pages."""
    subjectless_posts: bool = True
    """Reddit questions ("what should we do?") and off-topic posts."""


class Scenario(_Strict):
    """One scenario world (see ``docs/offline-world.md``)."""

    name: str = Field(min_length=1)
    description: str = ""
    latent: LatentSpec
    links: Links
    grade: GradeSpec
    reviews: ReviewSpec
    ratings: RatingSpec
    language: LanguageSpec
    engines: Engines
    corpus: CorpusSpec = CorpusSpec()
    vocabulary: dict[str, tuple[str, ...]]

    @model_validator(mode="after")
    def _vocabulary(self) -> Scenario:
        missing = [k for k in REQUIRED_VOCABULARY if not self.vocabulary.get(k)]
        if missing:
            raise ValueError(f"vocabulary is missing (or has empty) lists: {', '.join(missing)}")
        for key, phrases in self.vocabulary.items():
            for phrase in phrases:
                try:
                    fields = {f for _, f, _, _ in string.Formatter().parse(phrase) if f is not None}
                except ValueError as exc:
                    raise ValueError(f"vocabulary.{key}: bad phrase {phrase!r}: {exc}") from exc
                if bad := fields - PLACEHOLDERS:
                    raise ValueError(
                        f"vocabulary.{key}: phrase {phrase!r} uses unknown placeholder(s) "
                        f"{sorted(bad)} (allowed: {sorted(PLACEHOLDERS)})"
                    )
        return self
