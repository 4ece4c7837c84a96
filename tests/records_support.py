"""Records many test modules build alike: Pikeville, KY as the pipeline's geocoders return it,
and the parsed query for a search there. Importable from every test module (``tests/`` is on
``sys.path`` through the root conftest)."""

from __future__ import annotations

import dataclasses
from typing import Any

from underfoot_lab.records import ParsedQuery, Place

PIKEVILLE = Place(
    name="Pikeville",
    admin1="Kentucky",
    admin1_code="KY",
    county="Pike County",
    country="US",
    lat=37.47927,
    lon=-82.51876,
    population=7012,
    confidence=1.0,
    geocoder="gazetteer",
)


def pikeville(**changes: Any) -> Place:
    """:data:`PIKEVILLE` with ``changes`` (e.g. ``geocoder="geoapify"``)."""
    return dataclasses.replace(PIKEVILLE, **changes)


def parsed(text: str = "hidden gems in Pikeville KY", **changes: Any) -> ParsedQuery:
    """The parse of a search in Pikeville, KY; ``changes`` override its fields."""
    fields: dict[str, Any] = {
        "text": text, "location": "Pikeville KY", "intent": "hidden gems", "confidence": 0.9,
        "parser": "heuristic", "admin1_hint": "KY",
    }  # fmt: skip
    return ParsedQuery(**(fields | changes))
