"""Which provider runs each stage, and why: the answer to ``underfoot-lab doctor``.

``UNDERFOOT_MODE``:

* ``offline`` (default): the heuristic parser, the gazetteer, the offline world behind every
  source, the template responder. Needs nothing.
* ``live``: the live provider of every stage; one that cannot run (no key) is reported and the
  stage falls back to its offline provider.
* ``auto``: live for each provider whose credentials are set. Reddit needs none, so it is live
  only in ``live`` mode or when named in ``UNDERFOOT_LIVE_SOURCES``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..records import Availability
from ..settings import Settings

if TYPE_CHECKING:  # pragma: no cover
    from ..registry import ProviderContext, Registry
    from .geocode import Geocoder
    from .parse import Parser
    from .respond import Responder
    from .sources import Source

OFFLINE_PARSER = "heuristic"
OFFLINE_GEOCODER = "gazetteer"
OFFLINE_RESPONDER = "template"
LIVE_PARSER = "openai"
LIVE_GEOCODER = "geoapify"
LIVE_RESPONDER = "openai"


@dataclass(frozen=True, slots=True)
class Choice:
    """One stage's provider and whether it talks to the real upstream."""

    stage: str
    provider: str
    live: bool
    reason: str


@dataclass(frozen=True, slots=True)
class Selection:
    parser: Choice
    geocoder: Choice
    sources: tuple[Choice, ...]
    responder: Choice

    @property
    def simulated(self) -> bool:
        """True when any source answers from the offline world."""
        return any(not c.live for c in self.sources)

    @property
    def live_sources(self) -> frozenset[str]:
        return frozenset(c.provider for c in self.sources if c.live)

    def all(self) -> tuple[Choice, ...]:
        return (self.parser, self.geocoder, *self.sources, self.responder)


# Which settings field holds each provider's upstream base URL (providers without one make no
# HTTP request). The composition root routes requests by these URLs.
UPSTREAM_URL_FIELD: dict[str, str] = {
    "serpapi_web": "serpapi_base_url",
    "serpapi_local": "serpapi_base_url",
    "serpapi_events": "serpapi_base_url",
    "reddit": "reddit_base_url",
    "geoapify": "geoapify_base_url",
    "eventbrite": "eventbrite_base_url",
    "openai": "openai_base_url",
}


def upstream_url(settings: Settings, provider: str) -> str | None:
    """The base URL ``provider`` talks to, or None when it makes no HTTP request."""
    field = UPSTREAM_URL_FIELD.get(provider)
    return str(getattr(settings, field)) if field else None


@dataclass(frozen=True, slots=True)
class Providers:
    """The built providers of one pipeline: each stage's choice and its offline fallback."""

    parser: Parser
    fallback_parser: Parser
    geocoder: Geocoder
    fallback_geocoder: Geocoder
    sources: tuple[Source, ...]
    responder: Responder
    fallback_responder: Responder


def build_providers(
    selection: Selection, ctx: ProviderContext, ctx_for: Callable[[bool], ProviderContext]
) -> Providers:
    """Build the selected providers; ``ctx_for(live)`` is the context of one source."""
    from .geocode import GEOCODERS
    from .parse import PARSERS
    from .respond import RESPONDERS
    from .sources import SOURCES

    return Providers(
        parser=PARSERS.create(selection.parser.provider, ctx),
        fallback_parser=PARSERS.create(OFFLINE_PARSER, ctx),
        geocoder=GEOCODERS.create(selection.geocoder.provider, ctx),
        fallback_geocoder=GEOCODERS.create(OFFLINE_GEOCODER, ctx),
        sources=tuple(SOURCES.create(c.provider, ctx_for(c.live)) for c in selection.sources),
        responder=RESPONDERS.create(selection.responder.provider, ctx),
        fallback_responder=RESPONDERS.create(OFFLINE_RESPONDER, ctx),
    )


def _availability(stage: str, name: str, settings: Settings) -> Availability:
    from .geocode import GEOCODERS
    from .parse import PARSERS
    from .respond import RESPONDERS
    from .sources import SOURCES

    registries: dict[str, Registry[Any]] = {
        "parse": PARSERS,
        "geocode": GEOCODERS,
        "sources": SOURCES,
        "respond": RESPONDERS,
    }
    registry = registries[stage]
    try:
        cls = registry.get(name)
    except Exception as exc:  # a provider module that is missing or broken
        return Availability(False, f"{name} cannot be loaded: {type(exc).__name__}")
    result: Availability = cls.availability(settings.model_copy(update={"mode": "live"}))
    return result


def _pick(stage: str, live: str, offline: str, settings: Settings, *, keyless: bool) -> Choice:
    if settings.mode == "offline":
        return Choice(stage, offline, False, "offline mode")
    avail = _availability(stage, live, settings)
    if settings.mode == "auto" and keyless and live not in settings.live_sources:
        return Choice(stage, offline, False, f"auto mode: {live} needs no key, so not named live")
    if avail.ok:
        return Choice(stage, live, True, avail.reason)
    return Choice(stage, offline, False, f"{live} unavailable: {avail.reason}")


def select_providers(settings: Settings) -> Selection:
    """Resolve ``settings.mode`` into one provider per stage, with reasons."""
    sources = []
    for name in settings.sources:
        if settings.mode == "offline":
            sources.append(Choice("sources", name, False, "offline mode: offline world"))
            continue
        keyless = name == "reddit"
        c = _pick("sources", name, name, settings, keyless=keyless)
        sources.append(
            c if c.live else Choice("sources", name, False, c.reason + "; offline world")
        )
    return Selection(
        parser=_pick("parse", LIVE_PARSER, OFFLINE_PARSER, settings, keyless=False),
        geocoder=_pick("geocode", LIVE_GEOCODER, OFFLINE_GEOCODER, settings, keyless=False),
        sources=tuple(sources),
        responder=_pick("respond", LIVE_RESPONDER, OFFLINE_RESPONDER, settings, keyless=False),
    )
