"""Which Eventbrite organizers and venues list a town's events: a small YAML file.

Eventbrite closed its public event search (``/v3/events/search/``) in 2019-2020; what remains
lists the events of one organizer or one venue. So the source needs to know, per town, whose
listings to read::

    # experiments/eventbrite.yaml (path in settings.eventbrite_map, UNDERFOOT_EVENTBRITE_MAP)
    towns:
      - place: Pikeville
        state: KY
        organizations: ["1000000004321"]
        venues: ["2000004321007"]

Validated with pydantic (unknown fields rejected; ids are Eventbrite's numeric strings; every
entry names at least one organizer or venue). Towns match by normalised name and state code.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ...config import load_model

__all__ = ["EventbriteMap", "EventbriteTown", "load_eventbrite_map"]

_ID = re.compile(r"\d{1,20}")


def _key(place: str, state: str) -> tuple[str, str]:
    words = re.sub(r"[^a-z0-9]+", " ", place.lower()).split()
    return " ".join(words), state.strip().upper()


class EventbriteTown(BaseModel):
    """One town's organizers and venues."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    place: str = Field(min_length=1)
    state: str = Field(pattern=r"^[A-Za-z]{2}$", description="two-letter state code")
    organizations: tuple[str, ...] = ()
    venues: tuple[str, ...] = ()

    @field_validator("organizations", "venues")
    @classmethod
    def _ids(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for v in value:
            if not _ID.fullmatch(v):
                raise ValueError(f"{v!r} is not an Eventbrite id (digits only)")
        return value

    @model_validator(mode="after")
    def _some(self) -> EventbriteTown:
        if not self.organizations and not self.venues:
            raise ValueError(f"{self.place}, {self.state}: name an organization or a venue")
        return self


class EventbriteMap(BaseModel):
    """The whole mapping."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    towns: tuple[EventbriteTown, ...] = ()

    def for_town(self, place: str, state: str) -> EventbriteTown | None:
        """The entry of that town (name normalised, state code), or None."""
        wanted = _key(place, state)
        return next((t for t in self.towns if _key(t.place, t.state) == wanted), None)


@lru_cache(maxsize=8)
def _load(path: Path, mtime_ns: int) -> EventbriteMap:
    return load_model(path, EventbriteMap, "Eventbrite mapping")


def load_eventbrite_map(path: str | Path) -> EventbriteMap:
    """Read and validate the mapping (cached per file version); ConfigError naming the file
    and field when it is invalid or missing."""
    from ...errors import ConfigError

    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"Eventbrite mapping {p} does not exist (settings.eventbrite_map)")
    return _load(p, p.stat().st_mtime_ns)
