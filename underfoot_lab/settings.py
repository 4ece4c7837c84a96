"""One source of truth for configuration: :class:`Settings`.

API keys come from the standard variables (``OPENAI_API_KEY``, ``SERPAPI_API_KEY``,
``GEOAPIFY_API_KEY``, ``EVENTBRITE_TOKEN``) as :class:`SecretStr`, so they never show in a repr,
a log line or a ``model_dump``. Everything else is ``UNDERFOOT_*``.

Settings read the environment themselves, with pydantic-settings' rules (keyword arguments >
environment variables > a git-ignored ``.env`` > defaults; names are case-insensitive; empty
values count). A bad value from the environment raises :class:`SettingsError` (a
:class:`~underfoot_lab.errors.ConfigError`) naming the variable; bad keyword arguments raise
pydantic's ``ValidationError`` (title ``Settings``).

:class:`Settings` is a plain class, not a pydantic model: importing pydantic and building the
model cost a cold search ~0.12 s (issue 15). Values in their plain spelling (``"8"``,
``"true"``, ``"reddit,serpapi_web"``, a path) are converted here, to exactly what pydantic makes
of them; anything else (and every invalid value) is validated by the pydantic model of the same
fields (:func:`_model`, built on first need), so what is accepted, what it becomes and every
error message stay pydantic's. The pydantic-style methods the code uses are kept:
``model_copy(update=...)`` (no validation, like pydantic's), ``model_dump()``,
``model_fields`` and ``model_fields_set``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal
from urllib.parse import urlsplit, urlunsplit

from .errors import ConfigError

if TYPE_CHECKING:  # pragma: no cover
    from pydantic import BaseModel, ValidationError

Mode = Literal["offline", "live", "auto"]
MODES: tuple[str, ...] = ("offline", "live", "auto")

DEFAULT_SOURCES = ("serpapi_web", "serpapi_local", "serpapi_events", "reddit")

# The real endpoints; a *_BASE_URL setting replaces only their scheme, host and port.
SERPAPI_DEFAULT = "https://serpapi.com"
REDDIT_DEFAULT = "https://www.reddit.com"
GEOAPIFY_DEFAULT = "https://api.geoapify.com"
EVENTBRITE_DEFAULT = "https://www.eventbriteapi.com"
OPENAI_DEFAULT = "https://api.openai.com/v1"


ENV_PREFIX = "UNDERFOOT_"
ENV_FILE = ".env"


class SettingsError(ConfigError, ValueError):
    """An environment variable (or ``.env`` line) holds a value the setting cannot take."""


class SecretStr:
    """A secret string that never shows itself: ``str()`` and ``repr()`` are masked, like
    pydantic's ``SecretStr`` (whose interface this is); :meth:`get_secret_value` reveals it."""

    __slots__ = ("_secret_value",)

    def __init__(self, secret_value: str) -> None:
        self._secret_value = secret_value

    def get_secret_value(self) -> str:
        """The secret itself (never log it)."""
        return self._secret_value

    def __str__(self) -> str:
        return "**********" if self._secret_value else ""

    def __repr__(self) -> str:
        return f"SecretStr({str(self)!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SecretStr) and self._secret_value == other._secret_value

    def __hash__(self) -> int:
        return hash(self._secret_value)

    def __len__(self) -> int:
        return len(self._secret_value)


_ALIASES: dict[str, str] = {
    # field -> its environment variable, where that is not UNDERFOOT_<FIELD>
    "openai_api_key": "OPENAI_API_KEY",
    "serpapi_api_key": "SERPAPI_API_KEY",
    "geoapify_api_key": "GEOAPIFY_API_KEY",
    "eventbrite_token": "EVENTBRITE_TOKEN",  # nosec B105 -- a variable name, not a secret
    "openai_base_url": "OPENAI_BASE_URL",
    "serpapi_base_url": "SERPAPI_BASE_URL",
    "reddit_base_url": "REDDIT_BASE_URL",
    "geoapify_base_url": "GEOAPIFY_BASE_URL",
    "eventbrite_base_url": "EVENTBRITE_BASE_URL",
}


@dataclass(frozen=True, slots=True)
class FieldInfo:
    """One setting: its name and its environment variable (``validation_alias`` when that is
    not ``UNDERFOOT_<NAME>``, as pydantic spelled it)."""

    name: str
    validation_alias: str | None

    @property
    def variable(self) -> str:
        """The environment variable that sets it."""
        return self.validation_alias or f"{ENV_PREFIX}{self.name.upper()}"


_FAIL: Any = object()
_INT = re.compile(r"-?[0-9]+\Z")
_FLOAT = re.compile(r"-?[0-9]+(?:\.[0-9]+)?\Z")
_BOOLS = {"true": True, "1": True, "false": False, "0": False}


def _split(value: object) -> object:
    """A comma-separated string -> a tuple of its non-empty, stripped parts."""
    if isinstance(value, str):
        return tuple(s.strip() for s in value.split(",") if s.strip())
    return value


def _text(v: object) -> Any:
    return v if isinstance(v, str) else _FAIL


def _path(v: object) -> Any:
    if isinstance(v, Path):
        return v
    return Path(v) if isinstance(v, str) and v else _FAIL


def _optional_path(v: object) -> Any:
    return None if v is None else _path(v)


def _secret(v: object) -> Any:
    if v is None or isinstance(v, SecretStr):
        return v
    return SecretStr(v) if isinstance(v, str) else _FAIL


def _mode(v: object) -> Any:
    return v if isinstance(v, str) and v in MODES else _FAIL


def _names(v: object) -> Any:
    v = _split(v)
    if isinstance(v, tuple | list) and all(isinstance(x, str) for x in v):
        return tuple(v)
    return _FAIL


def _bool(v: object) -> Any:
    if isinstance(v, bool):
        return v
    return _BOOLS.get(v.lower(), _FAIL) if isinstance(v, str) else _FAIL


def _datetime(v: object) -> Any:
    return v if isinstance(v, datetime) else _FAIL


def _number(
    kind: type, *, gt: float | None = None, ge: float | None = None
) -> Callable[[object], Any]:
    pattern = _INT if kind is int else _FLOAT

    def convert(v: object) -> Any:
        if isinstance(v, str):
            x = kind(v) if pattern.match(v) else _FAIL
        elif type(v) is int or (kind is float and type(v) is float):
            x = kind(v)
        else:
            return _FAIL
        if x is _FAIL or x != x or x in (float("inf"), float("-inf")):
            return _FAIL  # NaN and infinities: pydantic decides (allowed or not per field)
        if (gt is not None and not x > gt) or (ge is not None and not x >= ge):
            return _FAIL
        return x

    return convert


_PLAIN: dict[str, Callable[[object], Any]] = {
    # How each field's value is taken in its plain spelling; _FAIL sends the whole input to
    # the pydantic model (every invalid value, and any unusual but valid one).
    "mode": _mode,
    "home": _path,
    "openai_api_key": _secret,
    "serpapi_api_key": _secret,
    "geoapify_api_key": _secret,
    "eventbrite_token": _secret,
    "openai_base_url": _text,
    "serpapi_base_url": _text,
    "reddit_base_url": _text,
    "geoapify_base_url": _text,
    "eventbrite_base_url": _text,
    "eventbrite_map": _optional_path,
    "openai_model": _text,
    "user_agent": _text,
    "sources": _names,
    "live_sources": _names,
    "source_deadline_s": _number(float, gt=0),
    "http_timeout_s": _number(float, gt=0),
    "max_response_bytes": _number(int, gt=0),
    "primary_radius_km": _number(float, gt=0),
    "search_radius_km": _number(float, gt=0),
    "weights": _optional_path,
    "cache_enabled": _bool,
    "cache_memory_ttl_s": _number(float),
    "cache_memory_max_items": _number(int),
    "cache_sqlite_ttl_s": _number(float),
    "cache_path": _optional_path,
    "cache_degraded_ttl_s": _number(float, ge=0),
    "record_dir": _optional_path,
    "replay_dir": _optional_path,
    "service_cors_origins": _names,
    "service_rate_limit_per_s": _number(float, ge=0),
    "service_rate_limit_burst": _number(int, ge=1),
    "service_degraded_window_s": _number(float, ge=0),
    "world": _text,
    "world_seed": _number(int),
    "world_clock": _datetime,
}


@dataclass(init=False)
class Settings:
    """Workbench settings, read from the environment (and a git-ignored ``.env``).

    ``Settings(**values)`` takes field names (or the variable names of the keys); what is not
    given comes from the environment, then from ``_env_file`` (default ``.env`` in the working
    directory; ``None`` skips it), then from the defaults below.
    """

    model_fields: ClassVar[dict[str, FieldInfo]]
    """Field name -> :class:`FieldInfo` (its environment variable)."""

    def __init__(self, _env_file: str | Path | None = ENV_FILE, **values: Any) -> None:
        names = _field_names()
        given = {names.get(k.lower(), k): v for k, v in values.items()}
        found = _from_environment(_env_file)
        merged = {**{k: v for k, v in found.items() if k not in given}, **given}
        known = {k: v for k, v in merged.items() if k in _PLAIN}
        plain = {k: _PLAIN[k](v) for k, v in known.items()}
        if any(v is _FAIL for v in plain.values()):
            plain = _validated(merged, found, given)
        for f in fields(self):
            setattr(self, f.name, plain.get(f.name, f.default))
        self._fields_set: set[str] = set(known)

    mode: Mode = "offline"
    home: Path = Path(".underfoot")
    """Where the workbench writes: cache, run store, MLflow store, reports."""

    # --- credentials (never printed) ---------------------------------------------------------
    openai_api_key: SecretStr | None = None
    serpapi_api_key: SecretStr | None = None
    geoapify_api_key: SecretStr | None = None
    eventbrite_token: SecretStr | None = None

    # --- upstream base URLs ------------------------------------------------------------------
    openai_base_url: str = OPENAI_DEFAULT
    serpapi_base_url: str = SERPAPI_DEFAULT
    reddit_base_url: str = REDDIT_DEFAULT
    geoapify_base_url: str = GEOAPIFY_DEFAULT
    eventbrite_base_url: str = EVENTBRITE_DEFAULT
    eventbrite_map: Path | None = None
    """YAML mapping towns to Eventbrite organizer and venue ids
    (:mod:`underfoot_lab.pipeline.sources.eventbrite_map`); env ``UNDERFOOT_EVENTBRITE_MAP``."""
    openai_model: str = "gpt-4o-mini"
    user_agent: str = (
        "python:underfoot-lab:0.1 (research workbench; +https://github.com/underfoot/underfoot_lab)"
    )

    # --- pipeline ----------------------------------------------------------------------------
    sources: tuple[str, ...] = DEFAULT_SOURCES
    live_sources: tuple[str, ...] = ()
    """In ``auto`` mode, keyless sources (Reddit) named here go live too."""
    source_deadline_s: float = 8.0
    """Seconds (> 0, finite)."""
    http_timeout_s: float = 6.0
    """Seconds (> 0, finite)."""
    max_response_bytes: int = 5_000_000
    """> 0."""
    primary_radius_km: float = 25.0
    """Primary results lie within this many km (``UNDERFOOT_PRIMARY_RADIUS_KM``, > 0)."""
    search_radius_km: float = 80.0
    """> 0, finite."""
    weights: Path | None = None
    """A weights YAML; unset means the seed scorer (the baseline)."""

    # --- cache -------------------------------------------------------------------------------
    cache_enabled: bool = True
    cache_memory_ttl_s: float = 900.0
    cache_memory_max_items: int = 512
    cache_sqlite_ttl_s: float = 7 * 24 * 3600.0
    cache_path: Path | None = None
    cache_degraded_ttl_s: float = 60.0
    """How long a degraded answer (a failed source, a fallback stage) stays in the in-memory
    layer; it never reaches SQLite (``UNDERFOOT_CACHE_DEGRADED_TTL_S``, 0 = not at all)."""

    # --- record / replay (underfoot_lab.recording) ----------------------------------------
    record_dir: Path | None = None
    """Write every upstream exchange here, secrets removed (``UNDERFOOT_RECORD_DIR``)."""
    replay_dir: Path | None = None
    """Answer every upstream request from this recording; no network (``UNDERFOOT_REPLAY_DIR``)."""

    # --- service (underfoot_lab.service; `underfoot-lab serve`) ------------------------------
    service_cors_origins: tuple[str, ...] = ()
    """Origins allowed by CORS (comma-separated in ``UNDERFOOT_SERVICE_CORS_ORIGINS``); none by
    default, so browsers on other origins cannot call the service."""
    service_rate_limit_per_s: float = 5.0
    """Inbound requests per second per client IP (token refill rate); 0 turns the limit off."""
    service_rate_limit_burst: int = 20
    """Token-bucket size: how many requests a client may send at once before being limited."""
    service_degraded_window_s: float = 300.0
    """``/health`` says "degraded" while a source has failed within this many seconds."""

    # --- offline world -----------------------------------------------------------------------
    world: str = "default"
    """The offline world's scenario (``UNDERFOOT_WORLD``): a name resolving to
    ``experiments/worlds/NAME.yaml`` (``default``, ``null``, ``adversarial``,
    ``popularity-biased``) or a path to a scenario YAML. See ``docs/offline-world.md``."""
    world_seed: int = 20261126
    world_clock: datetime = field(
        default=datetime.fromisoformat("2026-06-15T12:00:00+00:00"),
    )
    """The offline world's fixed "now": event dates and post ages are relative to it."""

    @property
    def resolved_cache_path(self) -> Path:
        return self.cache_path or self.home / "cache.sqlite3"

    def secret_values(self) -> tuple[str, ...]:
        """Every configured secret, for redaction (never log the result)."""
        out = []
        for s in (
            self.openai_api_key,
            self.serpapi_api_key,
            self.geoapify_api_key,
            self.eventbrite_token,
        ):
            if s is not None and s.get_secret_value():
                out.append(s.get_secret_value())
        return tuple(out)

    # --- the pydantic-model methods the code uses ----------------------------------------------
    @property
    def model_fields_set(self) -> set[str]:
        """The fields given (by keyword, the environment or ``.env``) or updated by a copy."""
        return set(self._fields_set)

    def model_copy(
        self, *, update: Mapping[str, Any] | None = None, deep: bool = False
    ) -> Settings:
        """A copy with ``update`` applied, not validated (like pydantic's ``model_copy``)."""
        import copy

        new = copy.deepcopy(self) if deep else copy.copy(self)
        if update:
            new.__dict__.update(update)
            new._fields_set = self._fields_set | set(update)
        return new

    def model_dump(self) -> dict[str, Any]:
        """Field name -> value (secrets stay :class:`SecretStr`, masked when printed)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


Settings.model_fields = {f.name: FieldInfo(f.name, _ALIASES.get(f.name)) for f in fields(Settings)}


@lru_cache(maxsize=1)
def _model() -> type[BaseModel]:
    """The pydantic model of the same fields, for every value not in its plain spelling (and
    every invalid one): pydantic's conversions and error messages (title ``Settings``)."""
    from pydantic import AliasChoices, BaseModel, ConfigDict, Field, field_validator
    from pydantic import SecretStr as PydanticSecret

    def env(name: str) -> AliasChoices:
        return AliasChoices(_ALIASES[name])

    class Settings(BaseModel):
        model_config = ConfigDict(extra="ignore", populate_by_name=True)

        mode: Mode = Field("offline")
        home: Path = Field(Path(".underfoot"))
        openai_api_key: PydanticSecret | None = Field(None, validation_alias=env("openai_api_key"))
        serpapi_api_key: PydanticSecret | None = Field(
            None, validation_alias=env("serpapi_api_key")
        )
        geoapify_api_key: PydanticSecret | None = Field(
            None, validation_alias=env("geoapify_api_key")
        )
        eventbrite_token: PydanticSecret | None = Field(
            None, validation_alias=env("eventbrite_token")
        )
        openai_base_url: str = Field(OPENAI_DEFAULT, validation_alias=env("openai_base_url"))
        serpapi_base_url: str = Field(SERPAPI_DEFAULT, validation_alias=env("serpapi_base_url"))
        reddit_base_url: str = Field(REDDIT_DEFAULT, validation_alias=env("reddit_base_url"))
        geoapify_base_url: str = Field(GEOAPIFY_DEFAULT, validation_alias=env("geoapify_base_url"))
        eventbrite_base_url: str = Field(
            EVENTBRITE_DEFAULT, validation_alias=env("eventbrite_base_url")
        )
        eventbrite_map: Path | None = Field(None)
        openai_model: str = Field("gpt-4o-mini")
        user_agent: str = Field(
            "python:underfoot-lab:0.1 (research workbench; "
            "+https://github.com/underfoot/underfoot_lab)",
        )
        sources: tuple[str, ...] = Field(DEFAULT_SOURCES)
        live_sources: tuple[str, ...] = Field(())
        source_deadline_s: float = Field(8.0, gt=0, allow_inf_nan=False)
        http_timeout_s: float = Field(6.0, gt=0, allow_inf_nan=False)
        max_response_bytes: int = Field(5_000_000, gt=0)
        primary_radius_km: float = Field(25.0, gt=0, allow_inf_nan=False)
        search_radius_km: float = Field(80.0, gt=0, allow_inf_nan=False)
        weights: Path | None = Field(None)
        cache_enabled: bool = Field(True)
        cache_memory_ttl_s: float = Field(900.0)
        cache_memory_max_items: int = Field(512)
        cache_sqlite_ttl_s: float = Field(7 * 24 * 3600.0)
        cache_path: Path | None = Field(None)
        cache_degraded_ttl_s: float = Field(60.0, ge=0)
        record_dir: Path | None = Field(None)
        replay_dir: Path | None = Field(None)
        service_cors_origins: tuple[str, ...] = Field(())
        service_rate_limit_per_s: float = Field(5.0, ge=0)
        service_rate_limit_burst: int = Field(20, ge=1)
        service_degraded_window_s: float = Field(300.0, ge=0)
        world: str = Field("default")
        world_seed: int = Field(20261126)
        world_clock: datetime = Field(datetime.fromisoformat("2026-06-15T12:00:00+00:00"))

        @field_validator("sources", "live_sources", "service_cors_origins", mode="before")
        @classmethod
        def _split_sources(cls, value: object) -> object:
            return _split(value)

    return Settings


def _validated(
    merged: Mapping[str, Any], found: Mapping[str, Any], given: Mapping[str, Any]
) -> dict[str, Any]:
    """Field name -> value of every field, validated by the pydantic model; SettingsError
    naming the variable when the first bad value came from the environment, else pydantic's
    ValidationError."""
    from pydantic import SecretStr as PydanticSecret
    from pydantic import ValidationError

    try:
        model = _model()(**merged)
    except ValidationError as exc:
        raise _env_error(exc, found, given) or exc from None
    out: dict[str, Any] = {}
    for name in model.model_fields_set | set(_PLAIN):
        value = getattr(model, name)
        out[name] = (
            SecretStr(value.get_secret_value()) if isinstance(value, PydanticSecret) else value
        )
    return out


def settings_error(exc: ValidationError) -> str:
    """One line for an invalid setting, naming its environment variable and the problem."""
    parts = []
    for err in exc.errors():
        name = str(err["loc"][0]) if err["loc"] else ""
        info = Settings.model_fields.get(name)
        if info is not None and info.validation_alias:
            var = info.validation_alias
        else:
            var = f"UNDERFOOT_{name.upper()}" if name else "settings"
        shown = err.get("input")
        got = f" (got {shown!r})" if isinstance(shown, str | int | float) else ""
        parts.append(f"{var}: {err['msg']}{got}")
    return "invalid setting: " + "; ".join(parts)


_VARIABLE_FIELDS: dict[str, str] = {}
_SECRETS = ("openai_api_key", "serpapi_api_key", "geoapify_api_key", "eventbrite_token")


def _variable_fields() -> dict[str, str]:
    """Lower-cased variable name -> field name (built once per process)."""
    if not _VARIABLE_FIELDS:
        for name, info in Settings.model_fields.items():
            _VARIABLE_FIELDS[info.variable.lower()] = name
    return _VARIABLE_FIELDS


def _field_names() -> dict[str, str]:
    """Lower-cased field or variable name -> field name, for keyword arguments."""
    return {**_variable_fields(), **{name: name for name in Settings.model_fields}}


def _from_environment(env_file: str | Path | None) -> dict[str, Any]:
    """Field name -> raw string from the environment, falling back to the ``.env`` file.

    Like pydantic-settings: variable names are matched case-insensitively, an empty value is a
    value, and python-dotenv reads the file (imported only when the file exists).
    """
    wanted = _variable_fields()
    out: dict[str, Any] = {}
    if env_file is not None and os.path.isfile(env_file):
        from dotenv import dotenv_values

        _pick(dotenv_values(env_file, encoding="utf-8"), wanted, out)
    _pick(os.environ, wanted, out)
    return out


def _pick(source: Mapping[str, str | None], wanted: dict[str, str], out: dict[str, Any]) -> None:
    for key, value in source.items():
        name = wanted.get(key.lower())
        if name is not None and value is not None:
            out[name] = value


def _env_error(
    exc: ValidationError, found: Mapping[str, Any], given: Mapping[str, Any]
) -> SettingsError | None:
    """One line naming the variable, when the first bad value came from the environment."""
    for err in exc.errors():
        name = str(err["loc"][0]) if err["loc"] else ""
        if name in found and name not in given:
            var = Settings.model_fields[name].variable
            # A secret's value is never echoed, not even a wrong one.
            shown = "" if name in _SECRETS else f" (got {str(found[name])[:60]!r})"
            return SettingsError(f"environment variable {var}: {err['msg']}{shown}")
    return None


def endpoint(base_url: str, documented: str) -> str:
    """The documented endpoint URL with scheme, host and port taken from ``base_url``.

    ``endpoint("http://127.0.0.1:8001", "https://serpapi.com/search.json")`` ->
    ``"http://127.0.0.1:8001/search.json"``. A path on ``base_url`` is ignored on purpose: the
    override moves the upstream, it does not re-route it.
    """
    base = urlsplit(base_url)
    doc = urlsplit(documented)
    return urlunsplit(
        (base.scheme or doc.scheme, base.netloc or doc.netloc, doc.path, doc.query, "")
    )
