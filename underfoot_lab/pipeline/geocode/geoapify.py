"""Geoapify forward geocoding: the parsed location text -> a US place.

Request (``GEOAPIFY_BASE_URL`` moves only the scheme, host and port)::

    GET https://api.geoapify.com/v1/geocode/search?text=<location>&filter=countrycode:us
        &limit=5&format=geojson&apiKey=<key>

The answer is a GeoJSON ``FeatureCollection``. The chosen feature is the first whose
``state_code`` matches the query's state hint (the first feature without a hint); the others
become :attr:`Place.alternatives`. Geoapify has no population, so it comes from the embedded
gazetteer (0 when the town is not there).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ...errors import LocationNotFound, UpstreamError
from ...geo.gazetteer import Town
from ...records import Availability, ParsedQuery, Place, PlaceRef
from ...registry import UpstreamProvider, api_key, key_availability
from ...settings import Settings, endpoint

__all__ = ["GeoapifyGeocoder"]

SEARCH_URL = "https://api.geoapify.com/v1/geocode/search"
UPSTREAM = "geoapify"


class GeoapifyGeocoder(UpstreamProvider):
    """Geoapify's geocoding search, restricted to the US."""

    name: str = "geoapify"
    upstream = UPSTREAM

    @classmethod
    def availability(cls, settings: Settings) -> Availability:
        return key_availability(settings, "geoapify_api_key", "GEOAPIFY_API_KEY")

    def request_params(self, parsed: ParsedQuery) -> dict[str, str]:
        """The query parameters, without ``apiKey``."""
        return {
            "text": parsed.location or "",
            "filter": "countrycode:us",
            "limit": "5",
            "format": "geojson",
        }

    async def geocode(self, parsed: ParsedQuery) -> Place:
        if not parsed.location or not parsed.location.strip():
            raise LocationNotFound("No place named in the query.")
        key = api_key(self.ctx.settings.geoapify_api_key)
        if key is None:
            if not self.ctx.simulated:
                raise UpstreamError("auth", f"{self.name}: GEOAPIFY_API_KEY not set")
            key = "offline-world"  # the offline world does not check keys
        data = await self.get_json(
            endpoint(self.ctx.settings.geoapify_base_url, SEARCH_URL),
            {**self.request_params(parsed), "apiKey": key},
        )
        features = [f for f in _features(data) if _coords(f) is not None]
        if not features:
            gaz = self.ctx.gazetteer
            suggestions = tuple(t.label for t in gaz.suggest(parsed.location, parsed.admin1_hint))
            raise LocationNotFound(f"Could not find {parsed.location!r}.", suggestions)
        chosen = features[0]
        if parsed.admin1_hint:
            hint = parsed.admin1_hint.upper()
            chosen = next((f for f in features if _state_code(f) == hint), chosen)
        return self._place(chosen, [f for f in features if f is not chosen])

    def _place(self, feature: Mapping[str, Any], others: Sequence[Mapping[str, Any]]) -> Place:
        props = _props(feature)
        coords = _coords(feature)
        assert coords is not None  # filtered in geocode()
        lat, lon = coords
        rank = props.get("rank")
        confidence = rank.get("confidence") if isinstance(rank, Mapping) else None
        town = self._town(feature)
        return Place(
            name=_name(props),
            admin1=_text(props.get("state")),
            admin1_code=_state_code(feature),
            county=_text(props.get("county")) or None,
            country=_text(props.get("country_code")).upper() or "US",
            lat=lat,
            lon=lon,
            population=town.population if town is not None else 0,
            confidence=float(confidence) if isinstance(confidence, int | float) else 0.0,
            geocoder=self.name,
            kind=_text(props.get("result_type")) or "city",
            alternatives=tuple(self._ref(f) for f in others),
        )

    def _ref(self, feature: Mapping[str, Any]) -> PlaceRef:
        props = _props(feature)
        coords = _coords(feature)
        assert coords is not None
        town = self._town(feature)
        return PlaceRef(
            name=_name(props),
            admin1=_text(props.get("state")),
            county=_text(props.get("county")) or None,
            country=_text(props.get("country_code")).upper() or "US",
            lat=coords[0],
            lon=coords[1],
            population=town.population if town is not None else 0,
        )

    def _town(self, feature: Mapping[str, Any]) -> Town | None:
        """The gazetteer's town for a feature (same county preferred), for its population."""
        props = _props(feature)
        name, state = _name(props), _state_code(feature) or _text(props.get("state"))
        if not name:
            return None
        towns = self.ctx.gazetteer.lookup(name, state or None)
        if not towns:
            return None
        county = _text(props.get("county")).lower()
        same_county = [t for t in towns if t.county and t.county.lower() == county]
        return (same_county or towns)[0]


def _features(data: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    features = data.get("features")
    if features is None:
        return []
    if not isinstance(features, list):
        raise UpstreamError("bad_payload", f"{UPSTREAM}: 'features' is not a list")
    return [f for f in features if isinstance(f, Mapping)]


def _props(feature: Mapping[str, Any]) -> Mapping[str, Any]:
    props = feature.get("properties")
    return props if isinstance(props, Mapping) else {}


def _coords(feature: Mapping[str, Any]) -> tuple[float, float] | None:
    """(lat, lon) from properties, else from the GeoJSON point ([lon, lat])."""
    props = _props(feature)
    lat, lon = props.get("lat"), props.get("lon")
    if not (isinstance(lat, int | float) and isinstance(lon, int | float)):
        geometry = feature.get("geometry")
        point = geometry.get("coordinates") if isinstance(geometry, Mapping) else None
        if not (isinstance(point, list) and len(point) >= 2):
            return None
        lon, lat = point[0], point[1]
        if not (isinstance(lat, int | float) and isinstance(lon, int | float)):
            return None
    return float(lat), float(lon)


def _name(props: Mapping[str, Any]) -> str:
    """The town: ``city`` (set for cities and postcodes alike), else the feature's own name."""
    for key in ("city", "name", "county", "state", "address_line1", "formatted"):
        value = _text(props.get(key))
        if value:
            return value
    return ""


def _state_code(feature: Mapping[str, Any]) -> str:
    return _text(_props(feature).get("state_code")).upper()


def _text(value: object) -> str:
    return value.strip() if isinstance(value, str) else ""
