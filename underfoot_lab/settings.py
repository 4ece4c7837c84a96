"""One source of truth for configuration: :class:`Settings`.

API keys come from the standard variables (``OPENAI_API_KEY``, ``SERPAPI_API_KEY``,
``GEOAPIFY_API_KEY``, ``EVENTBRITE_TOKEN``) as :class:`~pydantic.SecretStr`, so they never show in
a repr, a log line or a ``model_dump``. Everything else is ``UNDERFOOT_*``.

Settings are a plain pydantic model that reads the environment itself, with pydantic-settings'
rules (keyword arguments > environment variables > a git-ignored ``.env`` > defaults; names are
case-insensitive; empty values count): importing ``pydantic_settings`` cost most of
``import underfoot_lab`` (issue 15), and these few lines do what we used of it. A bad value from
the environment raises :class:`SettingsError` (a :class:`~underfoot_lab.errors.ConfigError`)
naming the variable; bad keyword arguments raise pydantic's ``ValidationError`` as before.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
)

from .errors import ConfigError

Mode = Literal["offline", "live", "auto"]

DEFAULT_SOURCES = ("serpapi_web", "serpapi_local", "serpapi_events", "reddit")

# The real endpoints; a *_BASE_URL setting replaces only their scheme, host and port.
SERPAPI_DEFAULT = "https://serpapi.com"
REDDIT_DEFAULT = "https://www.reddit.com"
GEOAPIFY_DEFAULT = "https://api.geoapify.com"
EVENTBRITE_DEFAULT = "https://www.eventbriteapi.com"
OPENAI_DEFAULT = "https://api.openai.com/v1"


ENV_PREFIX = "UNDERFOOT_"
ENV_FILE = ".env"


def _env(*names: str) -> AliasChoices:
    return AliasChoices(*names)


class SettingsError(ConfigError, ValueError):
    """An environment variable (or ``.env`` line) holds a value the setting cannot take."""


class Settings(BaseModel):
    """Workbench settings, read from the environment (and a git-ignored ``.env``).

    ``Settings(**values)`` takes field names (or the variable names of the keys); what is not
    given comes from the environment, then from ``_env_file`` (default ``.env`` in the working
    directory; ``None`` skips it), then from the defaults below.
    """

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    def __init__(self, _env_file: str | Path | None = ENV_FILE, **values: Any) -> None:
        names = _field_names()
        given = {names.get(k.lower(), k): v for k, v in values.items()}
        found = _from_environment(_env_file)
        merged = {**{k: v for k, v in found.items() if k not in given}, **given}
        try:
            super().__init__(**merged)
        except ValidationError as exc:
            raise _env_error(exc, found, given) or exc from None

    mode: Mode = Field("offline")
    home: Path = Field(Path(".underfoot"))
    """Where the workbench writes: cache, run store, MLflow store, reports."""

    # --- credentials (never printed) ---------------------------------------------------------
    openai_api_key: SecretStr | None = Field(None, validation_alias=_env("OPENAI_API_KEY"))
    serpapi_api_key: SecretStr | None = Field(None, validation_alias=_env("SERPAPI_API_KEY"))
    geoapify_api_key: SecretStr | None = Field(None, validation_alias=_env("GEOAPIFY_API_KEY"))
    eventbrite_token: SecretStr | None = Field(None, validation_alias=_env("EVENTBRITE_TOKEN"))

    # --- upstream base URLs ------------------------------------------------------------------
    openai_base_url: str = Field(OPENAI_DEFAULT, validation_alias=_env("OPENAI_BASE_URL"))
    serpapi_base_url: str = Field(SERPAPI_DEFAULT, validation_alias=_env("SERPAPI_BASE_URL"))
    reddit_base_url: str = Field(REDDIT_DEFAULT, validation_alias=_env("REDDIT_BASE_URL"))
    geoapify_base_url: str = Field(GEOAPIFY_DEFAULT, validation_alias=_env("GEOAPIFY_BASE_URL"))
    eventbrite_base_url: str = Field(
        EVENTBRITE_DEFAULT, validation_alias=_env("EVENTBRITE_BASE_URL")
    )
    eventbrite_map: Path | None = Field(None)
    """YAML mapping towns to Eventbrite organizer and venue ids
    (:mod:`underfoot_lab.pipeline.sources.eventbrite_map`); env ``UNDERFOOT_EVENTBRITE_MAP``."""
    openai_model: str = Field("gpt-4o-mini")
    user_agent: str = Field(
        "python:underfoot-lab:0.1 (research workbench; +https://github.com/underfoot/underfoot_lab)",
    )

    # --- pipeline ----------------------------------------------------------------------------
    sources: tuple[str, ...] = Field(DEFAULT_SOURCES)
    live_sources: tuple[str, ...] = Field(())
    """In ``auto`` mode, keyless sources (Reddit) named here go live too."""
    source_deadline_s: float = Field(8.0, gt=0, allow_inf_nan=False)
    http_timeout_s: float = Field(6.0, gt=0, allow_inf_nan=False)
    max_response_bytes: int = Field(5_000_000, gt=0)
    primary_radius_km: float = Field(25.0, gt=0, allow_inf_nan=False)
    """Primary results lie within this many km (``UNDERFOOT_PRIMARY_RADIUS_KM``, > 0)."""
    search_radius_km: float = Field(80.0, gt=0, allow_inf_nan=False)
    weights: Path | None = Field(None)
    """A weights YAML; unset means the seed scorer (the baseline)."""

    # --- cache -------------------------------------------------------------------------------
    cache_enabled: bool = Field(True)
    cache_memory_ttl_s: float = Field(900.0)
    cache_memory_max_items: int = Field(512)
    cache_sqlite_ttl_s: float = Field(7 * 24 * 3600.0)
    cache_path: Path | None = Field(None)
    cache_degraded_ttl_s: float = Field(60.0, ge=0)
    """How long a degraded answer (a failed source, a fallback stage) stays in the in-memory
    layer; it never reaches SQLite (``UNDERFOOT_CACHE_DEGRADED_TTL_S``, 0 = not at all)."""

    # --- record / replay (underfoot_lab.recording) ----------------------------------------
    record_dir: Path | None = Field(None)
    """Write every upstream exchange here, secrets removed (``UNDERFOOT_RECORD_DIR``)."""
    replay_dir: Path | None = Field(None)
    """Answer every upstream request from this recording; no network (``UNDERFOOT_REPLAY_DIR``)."""

    # --- service (underfoot_lab.service; `underfoot-lab serve`) ------------------------------
    service_cors_origins: tuple[str, ...] = Field(())
    """Origins allowed by CORS (comma-separated in ``UNDERFOOT_SERVICE_CORS_ORIGINS``); none by
    default, so browsers on other origins cannot call the service."""
    service_rate_limit_per_s: float = Field(5.0, ge=0)
    """Inbound requests per second per client IP (token refill rate); 0 turns the limit off."""
    service_rate_limit_burst: int = Field(20, ge=1)
    """Token-bucket size: how many requests a client may send at once before being limited."""
    service_degraded_window_s: float = Field(300.0, ge=0)
    """``/health`` says "degraded" while a source has failed within this many seconds."""

    # --- offline world -----------------------------------------------------------------------
    world: str = Field("default")
    """The offline world's scenario (``UNDERFOOT_WORLD``): a name resolving to
    ``experiments/worlds/NAME.yaml`` (``default``, ``null``, ``adversarial``,
    ``popularity-biased``) or a path to a scenario YAML. See ``docs/offline-world.md``."""
    world_seed: int = Field(20261126)
    world_clock: datetime = Field(
        datetime.fromisoformat("2026-06-15T12:00:00+00:00"),
    )
    """The offline world's fixed "now": event dates and post ages are relative to it."""

    @field_validator("sources", "live_sources", "service_cors_origins", mode="before")
    @classmethod
    def _split_sources(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(s.strip() for s in value.split(",") if s.strip())
        return value

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


def settings_error(exc: ValidationError) -> str:
    """One line for an invalid setting, naming its environment variable and the problem."""
    parts = []
    for err in exc.errors():
        field = str(err["loc"][0]) if err["loc"] else ""
        info = Settings.model_fields.get(field)
        alias = info.validation_alias if info is not None else None
        if isinstance(alias, AliasChoices):
            var = str(alias.choices[0])
        else:
            var = f"UNDERFOOT_{field.upper()}" if field else "settings"
        shown = err.get("input")
        got = f" (got {shown!r})" if isinstance(shown, str | int | float) else ""
        parts.append(f"{var}: {err['msg']}{got}")
    return "invalid setting: " + "; ".join(parts)


def _variables(name: str, info: Any) -> tuple[str, ...]:
    """The environment variable names of one field, as pydantic-settings spelled them."""
    alias = info.validation_alias
    if isinstance(alias, AliasChoices):
        return tuple(str(c) for c in alias.choices)
    if isinstance(alias, str):
        return (alias,)
    return (f"{ENV_PREFIX}{name.upper()}",)


_VARIABLE_FIELDS: dict[str, str] = {}
_SECRETS = ("openai_api_key", "serpapi_api_key", "geoapify_api_key", "eventbrite_token")


def _variable_fields() -> dict[str, str]:
    """Lower-cased variable name -> field name (built once per process)."""
    if not _VARIABLE_FIELDS:
        for name, info in Settings.model_fields.items():
            for var in _variables(name, info):
                _VARIABLE_FIELDS[var.lower()] = name
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
            var = _variables(name, Settings.model_fields[name])[0]
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
