"""Geoapify forward geocoding (``/v1/geocode/search``) answered from the gazetteer.

Towns come from GeoNames (via the embedded gazetteer) and ZIP codes from ``zipcodes``; the
answer is a GeoJSON ``FeatureCollection`` (or Geoapify's ``format=json`` ``results`` list) with
the properties Geoapify documents. Ambiguous names give several features, biggest town first,
with lower confidence; unknown names give no features.
"""

from __future__ import annotations

import hashlib
import math
import struct
from dataclasses import dataclass
from typing import Any

from ..geo.gazetteer import Town, ZipInfo
from .tz import timezone_block, timezone_name

COUNTRY = "United States"
COUNTRY_LONG = "United States of America"
DATASOURCE = {
    "sourcename": "openstreetmap",
    "attribution": "GeoNames (CC BY 4.0) via the underfoot offline world (simulated)",
    "license": "CC BY 4.0",
    "url": "https://www.geonames.org/",
}


@dataclass(frozen=True, slots=True)
class GeoMatch:
    """One geocoding hit: a town, or a ZIP code (with the town it belongs to, if known)."""

    town: Town | None
    zip_info: ZipInfo | None
    confidence: float
    match_type: str


def _place_id(lon: float, lat: float, key: str) -> str:
    # Geoapify's ids start with the point's doubles ("51" lon "59" lat); the tail is a hash.
    tail = hashlib.sha1(key.encode(), usedforsecurity=False).hexdigest()[:16]
    return (
        ("51" + struct.pack("<d", lon).hex() + "59" + struct.pack("<d", lat).hex() + "f00103f901")
        + tail
        + "c00208"
    )


def _feature(m: GeoMatch, state_names: dict[str, str], year: int) -> dict[str, Any]:
    z, t = m.zip_info, m.town
    if z is not None:
        lat, lon = z.lat, z.lon
        city, st = z.city, z.state_code
        county = z.county or (t.county if t else None)
        population = t.population if t else 0
        result_type, category = "postcode", "postcode"
        name = z.zip_code
        line1 = f"{city}, {st} {z.zip_code}"
        key = f"zip|{z.zip_code}"
    else:
        assert t is not None
        lat, lon = t.lat, t.lon
        city, st, county, population = t.name, t.state_code, t.county, t.population
        result_type, category = "city", "populated_place"
        name = t.name
        line1 = f"{t.name}, {st}"
        key = t.key
    state = state_names.get(st, st)
    half = 0.015 + 0.012 * math.log10(population + 10)
    props: dict[str, Any] = {
        "datasource": dict(DATASOURCE),
        "name": name,
        "country": COUNTRY,
        "country_code": "us",
        "state": state,
    }
    if county:
        props["county"] = county
    props["city"] = city
    if z is not None:
        props["postcode"] = z.zip_code
    props.update(
        {
            "lon": lon,
            "lat": lat,
            "state_code": st,
            "result_type": result_type,
            "formatted": f"{line1}, {COUNTRY_LONG}",
            "address_line1": line1,
            "address_line2": COUNTRY_LONG,
            "category": category,
            "timezone": timezone_block(timezone_name(st, lat, lon), year),
            "rank": {
                "importance": round(min(0.85, 0.25 + 0.1 * math.log10(population + 1)), 5),
                "popularity": round(1.0 + 1.5 * math.log10(population + 1), 5),
                "confidence": m.confidence,
                "confidence_city_level": m.confidence,
                "match_type": m.match_type,
            },
            "place_id": _place_id(lon, lat, key),
        }
    )
    bbox = [round(lon - half, 7), round(lat - half, 7), round(lon + half, 7), round(lat + half, 7)]
    return {
        "type": "Feature",
        "properties": props,
        "geometry": {"type": "Point", "coordinates": [lon, lat]},
        "bbox": bbox,
    }


def render_geocode(
    matches: list[GeoMatch],
    text: str,
    parsed: dict[str, str],
    *,
    state_names: dict[str, str],
    year: int,
    fmt: str = "geojson",
) -> dict[str, Any]:
    """The answer body for ``format=geojson`` (default here) or ``format=json``."""
    features = [_feature(m, state_names, year) for m in matches]
    query = {"text": text, "parsed": parsed}
    if fmt == "json":
        results = []
        for f in features:
            props = dict(f["properties"])
            lon1, lat1, lon2, lat2 = f["bbox"]
            props["bbox"] = {"lon1": lon1, "lat1": lat1, "lon2": lon2, "lat2": lat2}
            results.append(props)
        return {"results": results, "query": query}
    return {"type": "FeatureCollection", "features": features, "query": query}
