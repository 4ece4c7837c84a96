"""The sources stage: (ParsedQuery, Place) -> candidates, one upstream per module."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Protocol

from ...records import Candidate, ParsedQuery, Place, SourceType
from ...registry import Registry


class Source(Protocol):
    """Asks one upstream about a place and normalises its answer into candidates.

    Raises :class:`underfoot_lab.errors.UpstreamError` with an error class on failure; the
    gatherer turns that (or a deadline) into a :class:`SourceStatus` and keeps the other sources'
    results.
    """

    name: str
    source_type: SourceType

    async def fetch(self, parsed: ParsedQuery, place: Place) -> Sequence[Candidate]: ...


SOURCES: Registry[Source] = Registry("source")


def iso_datetime(value: object) -> datetime | None:
    """An upstream's ISO-8601 timestamp (``Z`` allowed) as an aware datetime, UTC when it
    names no offset; None when it is missing, not text or unreadable (the field is optional)."""
    if not isinstance(value, str) or not value:
        return None
    try:
        dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return dt if dt.tzinfo is not None else dt.replace(tzinfo=UTC)
