"""The offline geocoder: resolves a :class:`ParsedQuery` against the embedded gazetteer.

Resolution order:

1. ``parsed.zip_code`` (or a bare 5-digit ``location``): the ZIP's own coordinates, with the
   population and county of the ZIP city's gazetteer row (``kind="zip"``).
2. ``parsed.location`` read as ``"Town, ST"`` / ``"Town, State"`` / ``"Town State"`` (a trailing
   ``"USA"`` is ignored), with ``parsed.admin1_hint`` as the state when the string has none.
   A state narrows the towns to that state; a town that does not exist there is not guessed.
3. No state: the most populous town with that name; the others (up to 5) become
   ``alternatives``.

Confidence rule: ``place.confidence = parsed.confidence x resolution``, so it never exceeds the
parser's. ``resolution`` is 1.0 for a ZIP or a single matching town, and
``0.5 + 0.5 x share`` when several towns match, where ``share`` is the chosen town's share of
their combined population (Pikeville KY 7,012 vs TN 1,636 -> share 0.81 -> 0.91).

Unknown places raise :class:`~underfoot_lab.errors.LocationNotFound` with "Town, ST"
suggestions from :meth:`Gazetteer.suggest`.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from ...errors import LocationNotFound
from ...geo.gazetteer import Gazetteer, Town, get_gazetteer, haversine_km, normalize_name
from ...records import Availability, ParsedQuery, Place
from ...registry import ProviderContext
from ...settings import Settings

MAX_ALTERNATIVES = 5
_COUNTRY_SUFFIXES = frozenset(
    {"usa", "us", "u s", "u s a", "united states", "united states of america"}
)
# A ZIP city further than this from its gazetteer namesake is a different place.
_ZIP_TOWN_MAX_KM = 40.0


class GazetteerGeocoder:
    """Offline geocoder over the embedded US gazetteer (registered as ``"gazetteer"``)."""

    name = "gazetteer"

    def __init__(self, gazetteer_loader: Callable[[], Gazetteer] | None = None) -> None:
        self._loader = gazetteer_loader or get_gazetteer

    @classmethod
    def availability(cls, settings: Settings) -> Availability:
        return Availability(True, "offline gazetteer geocoder; always available")

    @classmethod
    def create(cls, ctx: ProviderContext) -> GazetteerGeocoder:
        return cls(ctx.gazetteer_loader)

    async def geocode(self, parsed: ParsedQuery) -> Place:
        """See :meth:`geocode_sync` (a dict lookup; no I/O once the gazetteer is loaded)."""
        return self.geocode_sync(parsed)

    def geocode_sync(self, parsed: ParsedQuery) -> Place:
        """Resolve ``parsed`` to one place (see the module docstring for the rules)."""
        g = self._loader()
        location = (parsed.location or "").strip()
        zip_code = parsed.zip_code
        if zip_code is None and re.fullmatch(r"\d{5}", location):
            zip_code = location
        if zip_code is not None:
            return self._from_zip(g, parsed, zip_code)
        if not location:
            raise LocationNotFound("The query has no location to geocode.")
        name, state = _split_location(g, location)
        if state is None and parsed.admin1_hint:
            state = g.state_code(parsed.admin1_hint)
        return self._from_name(g, parsed, name, state)

    # ----------------------------------------------------------------------------------- ZIP
    def _from_zip(self, g: Gazetteer, parsed: ParsedQuery, code: str) -> Place:
        info = g.zip_code(code)
        if info is None:
            raise LocationNotFound(f"Unknown ZIP code {code}.")
        rows = g.lookup(info.city, info.state_code)
        alias = g.alias(normalize_name(info.city))  # "New York" -> New York City
        if not rows and alias is not None:
            rows = g.lookup(*alias)
        town: Town | None = None
        if rows:
            town = min(rows, key=lambda t: haversine_km(t.lat, t.lon, info.lat, info.lon))
            if haversine_km(town.lat, town.lon, info.lat, info.lon) > _ZIP_TOWN_MAX_KM:
                town = None
        if town is None:
            town, _ = g.nearest(info.lat, info.lon)
        return Place(
            name=info.city,
            admin1=g.state_name(info.state_code),
            admin1_code=info.state_code,
            county=info.county or town.county,
            country="US",
            lat=info.lat,
            lon=info.lon,
            population=town.population,
            confidence=_clamp(parsed.confidence),
            geocoder=self.name,
            kind="zip",
        )

    # ---------------------------------------------------------------------------------- town
    def _from_name(self, g: Gazetteer, parsed: ParsedQuery, name: str, state: str | None) -> Place:
        norm = normalize_name(name)
        alias = g.alias(norm)
        towns = g.lookup(name)
        if not towns and alias is not None:  # "New York" -> New York City, NY
            towns = g.lookup(alias[0])
            state = state or alias[1]
        if state is not None:
            in_state = [t for t in towns if t.state_code == state]
            if not in_state:
                suggestions = [t.label for t in g.suggest(name, state)]
                suggestions += [t.label for t in towns[:3] if t.label not in suggestions]
                if towns:
                    msg = f"No town named {towns[0].name} in {g.state_name(state)}."
                else:
                    msg = f"Unknown place {name!r} in {g.state_name(state)}."
                raise LocationNotFound(msg, tuple(suggestions[:4]))
            towns = in_state
        if not towns:
            raise LocationNotFound(
                f"Unknown place {name!r}.", tuple(t.label for t in g.suggest(name))
            )
        chosen, others = towns[0], towns[1:]
        if others:
            total = sum(max(t.population, 1) for t in towns)
            share = max(chosen.population, 1) / total
            resolution = 0.5 + 0.5 * share
        else:
            resolution = 1.0
        return Place(
            name=chosen.name,
            admin1=chosen.state,
            admin1_code=chosen.state_code,
            county=chosen.county,
            country="US",
            lat=chosen.lat,
            lon=chosen.lon,
            population=chosen.population,
            confidence=_clamp(parsed.confidence * resolution),
            geocoder=self.name,
            kind="city",
            alternatives=tuple(t.ref() for t in others[:MAX_ALTERNATIVES]),
        )


def _split_location(g: Gazetteer, location: str) -> tuple[str, str | None]:
    """``"Pikeville, KY"`` -> ("Pikeville", "KY"); ``"Portland Oregon"`` -> ("Portland", "OR")."""
    parts = [p.strip() for p in location.split(",") if p.strip()]
    while len(parts) > 1 and normalize_name(parts[-1]) in _COUNTRY_SUFFIXES:
        parts.pop()
    if not parts:
        return location, None
    if len(parts) > 1:
        code = g.state_code(parts[-1])
        if code is not None:
            return parts[0], code
        return parts[0], None
    # No comma: a trailing state name or code, but only if the rest is a town in that state
    # ("Portland Oregon" yes; "Kansas City" and "Virginia Beach" are names, not states).
    words = parts[0].split()
    for k in (3, 2, 1):
        if len(words) <= k:
            continue
        code = g.state_code(" ".join(words[-k:]))
        rest = " ".join(words[:-k])
        if code is not None and g.lookup(rest, code):
            return rest, code
    return parts[0], None


def _clamp(x: float) -> float:
    return round(min(1.0, max(0.0, x)), 4)
