"""The geocode stage: :class:`ParsedQuery` -> :class:`Place`."""

from __future__ import annotations

from typing import Protocol

from ...records import ParsedQuery, Place
from ...registry import Registry


class Geocoder(Protocol):
    """Resolves the parsed location to one place (with alternatives when ambiguous).

    Raises :class:`underfoot_lab.errors.LocationNotFound` (with suggestions) when it cannot.
    """

    name: str

    async def geocode(self, parsed: ParsedQuery) -> Place: ...


GEOCODERS: Registry[Geocoder] = Registry("geocoder")
