"""Scenario worlds: the simulator's assumptions as a validated, hashed YAML file.

A scenario (``experiments/worlds/<name>.yaml``) states everything the offline world assumes:
how the latent truth of a place is drawn (:class:`LatentSpec`), how strongly every view a source
can return is tied to that truth (:class:`Links`), how reviews, ratings and language are made
from those views, how each simulated engine ranks, and every phrase list (one top-level
``vocabulary:`` mapping). The grade is a function of the latent truth only (see
:mod:`underfoot_lab.world.truth`); with every link at 0 (the ``null`` world) nothing a source
returns carries information about it.

:func:`load_scenario` resolves a name (``default`` -> ``experiments/worlds/default.yaml``) or a
file path, validates it (unknown keys are errors; messages name the file and the field) and
returns a :class:`Scenario` whose :attr:`Scenario.hash` covers both the file's content and the
world's code (:func:`world_code_hash`), so a change to either changes every key built from it.
"""

from __future__ import annotations

import hashlib
import json
import string
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from ..errors import ConfigError

WORLDS_DIR = Path("experiments") / "worlds"
"""Where named scenarios live, relative to the working directory or the repository root."""

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

    @cached_property
    def content_hash(self) -> str:
        """sha256 of the validated content (key order and YAML formatting do not matter).

        Cached (the model is frozen): every world response's noise is seeded with it."""
        canon = json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canon.encode("utf-8")).hexdigest()

    @property
    def hash(self) -> str:
        """16 hex digits over the content and the world's code (:func:`world_code_hash`)."""
        return hashlib.sha256(f"{self.content_hash}|{world_code_hash()}".encode()).hexdigest()[:16]

    def phrases(self, key: str) -> tuple[str, ...]:
        """One vocabulary list (validated to exist for the required keys)."""
        return self.vocabulary[key]


@lru_cache(maxsize=1)
def world_code_hash() -> str:
    """sha256 of every ``.py`` file of ``underfoot_lab.world`` (name and bytes, sorted)."""
    h = hashlib.sha256()
    root = Path(__file__).resolve().parent
    for path in sorted(root.rglob("*.py")):
        h.update(str(path.relative_to(root)).encode())
        h.update(b"\0")
        h.update(path.read_bytes())
    return h.hexdigest()


def worlds_dirs() -> tuple[Path, ...]:
    """Where a scenario name is looked up, in order: the working directory's
    ``experiments/worlds`` and the repository's (next to the package)."""
    repo = Path(__file__).resolve().parents[2] / WORLDS_DIR
    here = Path.cwd() / WORLDS_DIR
    return (here,) if here.resolve() == repo.resolve() else (here, repo)


def resolve_scenario_path(ref: str | Path) -> Path:
    """A scenario name (``null``) or a file path -> the YAML file; ConfigError when missing."""
    text = str(ref).strip()
    if not text:
        raise ConfigError("world: empty scenario name")
    looks_like_path = isinstance(ref, Path) or text.endswith((".yaml", ".yml")) or "/" in text
    if looks_like_path:
        path = Path(text).expanduser()
        if not path.is_file():
            raise ConfigError(f"world: scenario file {path} does not exist")
        return path
    for d in worlds_dirs():
        path = d / f"{text}.yaml"
        if path.is_file():
            return path
    known = sorted({p.stem for d in worlds_dirs() if d.is_dir() for p in d.glob("*.yaml")})
    raise ConfigError(
        f"world: no scenario named {text!r} (looked in {', '.join(str(d) for d in worlds_dirs())};"
        f" known: {', '.join(known) or 'none'})"
    )


def _field_path(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(p) for p in loc) or "(top level)"


def parse_scenario(data: Any, source: str) -> Scenario:
    """Validate a mapping as a scenario; errors name ``source`` and the first bad field."""
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: a scenario must be a YAML mapping")
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise ConfigError(f"{source}: {_field_path(first['loc'])}: {first['msg']}") from None


@lru_cache(maxsize=32)
def _load_file(path: str, mtime_ns: int) -> Scenario:
    import yaml

    try:
        # libyaml's loader when present: the pure-Python one took ~0.1 s of every search
        # process's start-up for the default scenario (issue 15)
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        text = Path(path).read_text(encoding="utf-8")
        data = yaml.load(text, Loader=loader)  # nosec B506 -- a safe loader, C or Python
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({exc})".replace("\n", " ")) from None
    return parse_scenario(data, path)


def load_scenario(ref: str | Path = "default") -> Scenario:
    """Resolve, read and validate a scenario (cached per file and modification time)."""
    path = resolve_scenario_path(ref)
    return _load_file(str(path), path.stat().st_mtime_ns)
