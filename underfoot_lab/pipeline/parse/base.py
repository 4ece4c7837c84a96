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
