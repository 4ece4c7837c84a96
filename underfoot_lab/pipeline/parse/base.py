"""The parse stage: query text -> :class:`ParsedQuery`."""

from __future__ import annotations

from typing import Protocol

from ...records import ParsedQuery
from ...registry import Registry


class Parser(Protocol):
    """Finds the location span and the intent in a query."""

    name: str

    async def parse(self, text: str) -> ParsedQuery: ...


PARSERS: Registry[Parser] = Registry("parser")


def town_parse(
    text: str,
    location: str,
    intent: str,
    confidence: float,
    parser: str,
    span: tuple[int, int] | None,
    admin1_hint: str | None,
    notes: list[str],
) -> ParsedQuery:
    """A parse that found a town (not a ZIP code), as every parser reports it.

    Confidence is rounded to 4 places so a cached parse and a fresh one compare equal.
    """
    return ParsedQuery(
        text=text,
        location=location,
        intent=intent,
        confidence=round(confidence, 4),
        parser=parser,
        location_span=span,
        admin1_hint=admin1_hint,
        zip_code=None,
        notes=tuple(notes),
    )
