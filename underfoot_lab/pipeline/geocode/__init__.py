"""The geocode stage: :class:`~underfoot_lab.records.ParsedQuery` -> ``Place``.

Geocoders are registered by name with ``"module:attr"`` targets, so importing this package
imports no geocoder module (and loads no gazetteer).
"""

from __future__ import annotations

from .base import GEOCODERS, Geocoder

GEOCODERS.register("gazetteer", "underfoot_lab.pipeline.geocode.offline:GazetteerGeocoder")
GEOCODERS.register("geoapify", "underfoot_lab.pipeline.geocode.geoapify:GeoapifyGeocoder")

__all__ = ["GEOCODERS", "Geocoder"]
