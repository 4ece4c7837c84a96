"""The respond stage: ranked results -> a short :class:`Answer`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from ...records import Answer, ParsedQuery, Place, RankedResult
from ...registry import Registry


class Responder(Protocol):
    """Writes the answer from the ranked results it is given, and only from them."""

    name: str

    async def respond(
        self, parsed: ParsedQuery, place: Place, results: Sequence[RankedResult]
    ) -> Answer: ...


RESPONDERS: Registry[Responder] = Registry("responder")
