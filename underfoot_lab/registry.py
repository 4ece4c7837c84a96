"""Providers registered by name, as papermill registers engines.

Each stage (parse, geocode, sources, respond) has one :class:`Registry`. A provider class is
registered under a name; it can say whether it can run with the current settings
(``availability``) and is built from a :class:`ProviderContext` (settings, the shared HTTP client,
the clock, the gazetteer). Nothing here imports a provider module eagerly.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Protocol, Self, TypeVar

from .records import Availability
from .settings import Settings

if TYPE_CHECKING:  # pragma: no cover
    import httpx

    from .geo.gazetteer import Gazetteer
    from .http import RetryPolicy
    from .settings import SecretStr


class Clock(Protocol):
    def __call__(self) -> datetime: ...


@dataclass(frozen=True)
class ProviderContext:
    """What a provider may use. The HTTP client is passed in (httpx style), never created."""

    settings: Settings
    http: httpx.AsyncClient
    clock: Clock
    gazetteer_loader: Callable[[], Gazetteer]
    simulated: bool

    @property
    def gazetteer(self) -> Gazetteer:
        return self.gazetteer_loader()


class UpstreamProvider:
    """Base of a provider that calls one upstream with the context's HTTP client: it keeps the
    context and the retry policy (None: the upstream default; tests pass a fast one) and is
    created from the context alone. Subclasses add ``name``, ``availability`` and the calls."""

    upstream: ClassVar[str]
    """The upstream's name: its rate limit, and the prefix of its error messages."""

    def __init__(self, ctx: ProviderContext, *, retry: RetryPolicy | None = None) -> None:
        self.ctx = ctx
        self.retry = retry

    @classmethod
    def create(cls, ctx: ProviderContext) -> Self:
        return cls(ctx)

    async def get_json(
        self,
        url: str,
        params: Mapping[str, str],
        *,
        headers: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        """:func:`underfoot_lab.http.fetch_json` through the context's client and settings,
        as this provider's upstream, with its retry policy."""
        from .http import fetch_json  # httpx loads only when a provider fetches

        return await fetch_json(
            self.ctx.http,
            url,
            upstream=self.upstream,
            settings=self.ctx.settings,
            params=params,
            headers=headers,
            retry=self.retry,
        )


def api_key(secret: SecretStr | None) -> str | None:
    """The value of a key setting, or None when it is unset or empty."""
    return secret.get_secret_value() if secret is not None and secret.get_secret_value() else None


def key_availability(settings: Settings, field_name: str, env_var: str) -> Availability:
    """A keyed upstream's availability: always in offline mode (the offline world answers),
    else only with its key (``field_name`` of the settings, ``env_var`` in the reason)."""
    if settings.mode == "offline":
        return Availability(True, "offline world")
    if api_key(getattr(settings, field_name)) is None:
        return Availability(False, f"{env_var} not set")
    return Availability(True, f"{env_var} set")


P_co = TypeVar("P_co", covariant=True)
P = TypeVar("P")


class ProviderClass(Protocol[P_co]):
    """A provider class: its name, whether it can run, and how to build one (a ``P_co``)."""

    name: str

    @classmethod
    def availability(cls, settings: Settings) -> Availability: ...

    @classmethod
    def create(cls, ctx: ProviderContext) -> P_co: ...


class Registry(Generic[P]):
    """Name -> provider class building a ``P``; entries may be ``"module:attr"`` strings
    imported on first use (so registering a provider imports nothing)."""

    def __init__(self, stage: str) -> None:
        self.stage = stage
        self._entries: dict[str, ProviderClass[P] | str] = {}

    def register(self, name: str, target: ProviderClass[P] | str) -> None:
        """Register ``target`` (a class or ``"module:attr"``) under ``name``."""
        self._entries[name] = target

    def create(self, name: str, ctx: ProviderContext) -> P:
        """Build the provider registered as ``name`` (ConfigError when unknown)."""
        return self.get(name).create(ctx)

    def get(self, name: str) -> ProviderClass[P]:
        """The provider class registered as ``name`` (ConfigError when unknown)."""
        try:
            target = self._entries[name]
        except KeyError:
            known = ", ".join(sorted(self._entries))
            from .errors import ConfigError

            raise ConfigError(f"unknown {self.stage} provider {name!r}; known: {known}") from None
        if isinstance(target, str):
            module, _, attr = target.partition(":")
            loaded: ProviderClass[P] = getattr(importlib.import_module(module), attr)
            self._entries[name] = loaded
            return loaded
        return target

    def names(self) -> list[str]:
        return sorted(self._entries)

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __contains__(self, name: object) -> bool:
        return name in self._entries
