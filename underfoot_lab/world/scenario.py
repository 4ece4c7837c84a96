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

A :class:`Scenario` is a tree of plain frozen records; the pydantic models that validate the
YAML live in :mod:`.scenario_schema`. The shipped scenarios' validated content is kept in
``scenarios.json`` next to this module, keyed by the sha256 of each YAML file's bytes and of the
validating code (this module and the schema): a file with those exact bytes loads from it
without YAML parsing or pydantic (a cold search's start-up, issue 15); any other file is parsed
and validated. Regenerate it after editing a shipped scenario or the schema:
``python -m underfoot_lab.world.scenario``.
"""

from __future__ import annotations

import hashlib
import inspect
import json
from collections.abc import Mapping
from dataclasses import FrozenInstanceError
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any, ClassVar

from ..errors import ConfigError

WORLDS_DIR = Path("experiments") / "worlds"
"""Where named scenarios live, relative to the working directory or the repository root."""


class _Record:
    """A frozen record built by keyword: equality, hash and repr by its fields, like a frozen
    dataclass, and :meth:`as_dict` like ``dataclasses.asdict``. Defining one is a plain class
    statement: a dataclass's generated methods cost ~0.5 ms each to define, and every cold
    search defined the scenario's thirteen (issue 15)."""

    _fields: ClassVar[tuple[str, ...]] = ()
    _defaults: ClassVar[dict[str, Any]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._fields = tuple(inspect.get_annotations(cls))
        cls._defaults = {n: cls.__dict__[n] for n in cls._fields if n in cls.__dict__}

    def __init__(self, **values: Any) -> None:
        for name in self._fields:
            if name in values:
                value = values[name]
            elif name in self._defaults:
                value = self._defaults[name]
            else:
                raise TypeError(f"{type(self).__name__}() missing keyword argument {name!r}")
            object.__setattr__(self, name, value)
        if unknown := sorted(set(values) - set(self._fields)):
            raise TypeError(f"{type(self).__name__}() got an unexpected keyword {unknown[0]!r}")

    def __setattr__(self, name: str, value: object) -> None:
        raise FrozenInstanceError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        raise FrozenInstanceError(f"cannot delete field {name!r}")

    def _values(self) -> tuple[Any, ...]:
        return tuple(getattr(self, n) for n in self._fields)

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        assert isinstance(other, _Record)
        return self._values() == other._values()

    def __hash__(self) -> int:
        return hash(self._values())

    def __repr__(self) -> str:
        shown = ", ".join(f"{n}={getattr(self, n)!r}" for n in self._fields)
        return f"{type(self).__name__}({shown})"

    def as_dict(self) -> dict[str, Any]:
        """Field name -> value, records within as dicts (like ``dataclasses.asdict``)."""
        return {n: _plain(getattr(self, n)) for n in self._fields}


def _plain(value: Any) -> Any:
    if isinstance(value, _Record):
        return value.as_dict()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, tuple | list):
        return type(value)(_plain(v) for v in value)
    return value


class Zones(_Record):
    """Shares of the latent zones (normalised): core (the town's own scene, < 25 km), band
    (25-80 km, "nearby") and far (> 80 km, beyond the search radius)."""

    core: float
    band: float
    far: float


class TimingShares(_Record):
    """Shares of latent timings (normalised). Places: "past" = closed for good, "current" =
    open, "future" = not open yet. Events: over, upcoming within 60 days, later."""

    past: float
    current: float
    future: float

    def weights(self) -> tuple[float, float, float]:
        """(past, current, future)."""
        return self.past, self.current, self.future


class LatentSpec(_Record):
    """How the latent truth of a place is drawn (all standard-normal scores unless stated)."""

    esteem_quality_corr: float
    """Correlation of local esteem with quality."""
    exposure_quality_corr: float
    """Correlation of tourist exposure with quality."""
    hidden_share: float
    """Share of ordinary places whose exposure is low enough to count as hidden."""
    zones: Zones
    place_timing: TimingShares
    event_timing: TimingShares
    decoys_min: int
    decoys_max: int
    tourist_spots_min: int
    tourist_spots_max: int
    tourist_exposure_boost: float
    """Added to a tourist spot's (and a decoy's) exposure score."""


class Links(_Record):
    """How strongly each apparent view (what sources can see) follows its latent variable.

    Continuous views are ``link * latent + sqrt(1 - link**2) * noise``; categorical ones copy
    the latent value with probability ``link`` and are drawn independently otherwise. 0 makes a
    view independent of the truth, 1 makes it the truth."""

    quality: float
    esteem: float
    exposure: float
    zone: float
    """Where the place appears to be (its coordinates) vs its latent zone."""
    timing: float
    """An event's dates vs its latent timing (past, upcoming, far future)."""
    topic: float
    """What a place appears to be (category, name, tags) vs what it is good for (topical fit)."""
    decoy: float
    """Whether a tourist trap looks like one (name, blurb, clickbait pages)."""


class GradeSpec(_Record):
    """Thresholds on latent variables (never on an observable) that define the grade."""

    good_quality: float
    gem_esteem: float
    """A grade of 3 needs local esteem (a standard-normal score) at least this high."""


class ReviewSpec(_Record):
    """log(reviews) = base + town_size * log10(pop/1000) + exposure * E + esteem * S + noise."""

    base: float
    town_size: float
    exposure: float
    esteem: float
    noise_sd: float
    trap_boost: float
    """Added to log(reviews) of a place that looks like a tourist trap."""


class RatingSpec(_Record):
    """rating = mean + quality * Q + noise (Q the apparent quality score), clipped to 1..5."""

    mean: float
    quality: float
    noise_sd: float
    trap_shift: float
    """Added to the rating of a place that looks like a tourist trap."""


class Logit(_Record):
    """P(use a phrase list) = sigmoid(base + esteem*S + exposure*E + quality*Q + trap*T)."""

    base: float
    esteem: float = 0.0
    exposure: float = 0.0
    quality: float = 0.0
    trap: float = 0.0


class LanguageSpec(_Record):
    """When pages and posts about a place use the ``gem`` and ``clickbait`` vocabularies."""

    gem: Logit
    clickbait: Logit
    recommend: Logit
    """Weight (as a log-odds score) of a place being picked for a locals' recommendation post."""


class EngineSpec(_Record):
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
    noise_sd: float
    position_noise: float


class Engines(_Record):
    google: EngineSpec
    local_pack: EngineSpec
    maps: EngineSpec
    events: EngineSpec
    reddit: EngineSpec


class CorpusSpec(_Record):
    """Which items about NO place exist. They always grade 0 (they are not places), which a
    scorer can learn from their look (listicle titles, Reddit questions, single sources); the
    ``null`` world switches them off so that no returned item carries information."""

    listicles: bool = True
    generic_pages: bool = True
    """Encyclopedia, city, visitor-bureau and weather pages."""
    subjectless_posts: bool = True
    """Reddit questions ("what should we do?") and off-topic posts."""


class Scenario(_Record):
    """One scenario world (see ``docs/offline-world.md``)."""

    name: str
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

    @cached_property
    def content_hash(self) -> str:
        """sha256 of the validated content (key order and YAML formatting do not matter).

        Cached (the record is frozen): every world response's noise is seeded with it. The
        canonical JSON is the one pydantic's ``model_dump(mode="json")`` gave, field for field
        (tests check that), so the hashes of existing scenarios did not change."""
        canon = json.dumps(self.as_dict(), sort_keys=True, separators=(",", ":"))
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
    return _from_data(_validate(data, source))


def _validate(data: dict[str, Any], source: str) -> dict[str, Any]:
    """The validated content of a scenario mapping, as JSON data (pydantic's dump)."""
    from pydantic import ValidationError

    from . import scenario_schema

    try:
        model = scenario_schema.Scenario.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise ConfigError(f"{source}: {_field_path(first['loc'])}: {first['msg']}") from None
    dumped: dict[str, Any] = model.model_dump(mode="json")
    return dumped


def _from_data(data: Mapping[str, Any]) -> Scenario:
    """The records of validated content (:func:`_validate`'s output, or its stored copy)."""
    latent = data["latent"]
    return Scenario(
        name=data["name"],
        description=data["description"],
        latent=LatentSpec(
            **{
                **latent,
                "zones": Zones(**latent["zones"]),
                "place_timing": TimingShares(**latent["place_timing"]),
                "event_timing": TimingShares(**latent["event_timing"]),
            }
        ),
        links=Links(**data["links"]),
        grade=GradeSpec(**data["grade"]),
        reviews=ReviewSpec(**data["reviews"]),
        ratings=RatingSpec(**data["ratings"]),
        language=LanguageSpec(**{k: Logit(**v) for k, v in data["language"].items()}),
        engines=Engines(**{k: EngineSpec(**v) for k, v in data["engines"].items()}),
        corpus=CorpusSpec(**data["corpus"]),
        vocabulary={k: tuple(v) for k, v in data["vocabulary"].items()},
    )


VALIDATED = Path(__file__).with_name("scenarios.json")
"""The shipped scenarios' validated content, by the sha256 of their YAML bytes."""
VALIDATED_FORMAT = 1


def _schema_hash() -> str:
    """sha256 of the code that validates and builds a scenario (this module and the schema)."""
    h = hashlib.sha256(str(VALIDATED_FORMAT).encode())
    for name in ("scenario.py", "scenario_schema.py"):
        h.update(name.encode() + b"\0" + Path(__file__).with_name(name).read_bytes())
    return h.hexdigest()


@lru_cache(maxsize=1)
def _validated_copies() -> dict[str, Any]:
    """YAML sha256 -> validated content, when ``scenarios.json`` was written by this code."""
    try:
        stored = json.loads(VALIDATED.read_text(encoding="utf-8"))
        if stored["schema"] != _schema_hash():
            return {}
        copies: dict[str, Any] = stored["validated"]
    except (OSError, ValueError, KeyError, TypeError):
        return {}
    return copies


def write_validated(paths: list[Path] | None = None) -> Path:
    """(Re)write ``scenarios.json`` from the shipped scenarios (``experiments/worlds``), each
    parsed and validated as any file is: ``python -m underfoot_lab.world.scenario``."""
    repo = Path(__file__).resolve().parents[2] / WORLDS_DIR
    validated = {}
    for path in sorted(paths if paths is not None else repo.glob("*.yaml")):
        raw = path.read_bytes()
        data = _read_yaml(raw, str(path))
        if not isinstance(data, dict):
            raise ConfigError(f"{path}: a scenario must be a YAML mapping")
        validated[hashlib.sha256(raw).hexdigest()] = _validate(data, str(path))
    payload = {"format": VALIDATED_FORMAT, "schema": _schema_hash(), "validated": validated}
    VALIDATED.write_text(json.dumps(payload, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return VALIDATED


@lru_cache(maxsize=32)
def _load_file(path: str, mtime_ns: int) -> Scenario:
    raw = Path(path).read_bytes()
    known = _validated_copies().get(hashlib.sha256(raw).hexdigest())
    if known is not None:
        return _from_data(known)
    return parse_scenario(_read_yaml(raw, path), path)


def _read_yaml(raw: bytes, path: str) -> Any:
    import yaml

    try:
        # libyaml's loader when present: the pure-Python one took ~0.1 s of every search
        # process's start-up for the default scenario (issue 15)
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        # decoded as read_text would (universal newlines)
        text = raw.decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")
        return yaml.load(text, Loader=loader)  # nosec B506 -- a safe loader, C or Python
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({exc})".replace("\n", " ")) from None


def load_scenario(ref: str | Path = "default") -> Scenario:
    """Resolve, read and validate a scenario (cached per file and modification time)."""
    path = resolve_scenario_path(ref)
    return _load_file(str(path), path.stat().st_mtime_ns)


if __name__ == "__main__":  # pragma: no cover - a maintenance command
    print(f"wrote {write_validated()}")
