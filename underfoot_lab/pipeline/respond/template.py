"""The offline responder: a short answer written from a template, from the ranked list only."""

from __future__ import annotations

from collections.abc import Sequence

from ...records import Answer, Availability, ParsedQuery, Place, RankedResult
from ...registry import ProviderContext
from ...settings import Settings

MAX_PRIMARY = 3
MAX_NEARBY = 2


def _join(names: Sequence[str]) -> str:
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]


def _is_place(r: RankedResult) -> bool:
    return r.lat is not None or any(m.source_type in ("local", "events") for m in r.mentions)


class TemplateResponder:
    """Names the top primary places, mentions nearby ones and how many sources agreed."""

    name = "template"

    def __init__(self, simulated: bool) -> None:
        self.simulated = simulated

    @classmethod
    def availability(cls, settings: Settings) -> Availability:
        return Availability(True, "template responder; always available")

    @classmethod
    def create(cls, ctx: ProviderContext) -> TemplateResponder:
        return cls(simulated=ctx.simulated)

    async def respond(
        self, parsed: ParsedQuery, place: Place, results: Sequence[RankedResult]
    ) -> Answer:
        return self.respond_sync(parsed, place, results)

    def respond_sync(
        self, parsed: ParsedQuery, place: Place, results: Sequence[RankedResult]
    ) -> Answer:
        prefix = "[offline world, simulated] " if self.simulated else ""
        # Name places and events, not the posts and pages that talk about them; fall back to
        # whatever ranked when no result is a place.
        places = [r for r in results if _is_place(r)] or list(results)
        primary = [r for r in places if r.category == "primary"][:MAX_PRIMARY]
        nearby = [r for r in places if r.category == "nearby"][:MAX_NEARBY]
        if not primary and not nearby:
            return Answer(
                text=f"{prefix}I couldn't find {parsed.intent} around {place.label}.",
                responder=self.name,
            )
        parts: list[str] = []
        if primary:
            parts.append(
                f"Top {parsed.intent} in {place.label}: {_join([r.title for r in primary])}."
            )
        else:
            parts.append(f"Nothing stood out as {parsed.intent} right in {place.label}.")
        if nearby:
            parts.append(f"Also worth a look nearby: {_join([r.title for r in nearby])}.")
        named = primary + nearby
        agreed = max(len(r.sources) for r in named)
        if agreed > 1:
            best = next(r for r in named if len(r.sources) == agreed)
            parts.append(f"{best.title} was mentioned by {agreed} sources.")
        return Answer(
            text=prefix + " ".join(parts),
            responder=self.name,
            named_ids=tuple(r.id for r in named),
        )
