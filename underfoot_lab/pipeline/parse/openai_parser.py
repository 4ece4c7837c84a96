"""The live parser: an OpenAI chat model reads the query, the gazetteer checks what it says.

Request (``OPENAI_BASE_URL`` replaces ``https://api.openai.com/v1``)::

    POST /v1/chat/completions   Authorization: Bearer <OPENAI_API_KEY>
    {"model": settings.openai_model, "temperature": 0, "messages": [system: prompt parse-vN,
     user: the query], "response_format": {"type": "json_schema", "json_schema": ParseOutput}}

The model's structured output (:class:`ParseOutput`: location, state code, ZIP, intent,
confidence) is validated by pydantic and then by the embedded gazetteer: the town must exist
(in the named state, when one is named) and must be written in the query (exactly, or as a
near spelling), so a hallucinated or invented town fails. Every failure (HTTP error, timeout,
refusal, truncated or invalid JSON, schema mismatch, unknown town) raises
:class:`~underfoot_lab.errors.UpstreamError` with a one-line, secret-free message; the pipeline
then falls back to the heuristic parser and records why in the trace.

The SDK client is built on the shared ``ctx.http`` client (so recording, replay and the
transport routing apply), with ``max_retries=0``: a failed parse costs one round trip and the
offline parser answers at once, which beats waiting out the SDK's ``Retry-After`` (up to 60 s).
"""

from __future__ import annotations

import difflib
import json
import re
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict

from ...errors import UpstreamError
from ...geo.gazetteer import Gazetteer, Town, normalize_name
from ...records import ParsedQuery
from ..openai_client import (
    UPSTREAM,
    OpenAIProvider,
    ask_structured,
    make_openai_client,
    openai_failure,
)
from .base import town_parse

if TYPE_CHECKING:  # pragma: no cover
    from openai.types.chat import ChatCompletionMessageParam

__all__ = [
    "DEFAULT_INTENT",
    "OpenAIParser",
    "ParseOutput",
    "make_openai_client",
    "openai_failure",
]

DEFAULT_INTENT = "hidden gems"
FUZZY_CUTOFF = 0.84
"""How close a query's words must be to the model's town name when not spelled identically."""


class ParseOutput(BaseModel):
    """The structured output the model must return (also its JSON schema, strict mode)."""

    model_config = ConfigDict(extra="forbid")

    location: str | None
    state_code: str | None
    zip_code: str | None
    intent: str
    confidence: float


# ------------------------------------------------------------------------------ the parser


class OpenAIParser(OpenAIProvider):
    """An OpenAI model reads the query; the gazetteer vouches for the town (``"openai"``)."""

    prompt_name = "parse"
    purpose = "parses queries"

    async def parse(self, text: str) -> ParsedQuery:
        """Ask the model, then check its answer against the gazetteer (raises on any doubt)."""
        settings = self.ctx.settings
        try:
            output = await self._ask(text)
            return self._validate(text, output)
        except Exception as exc:
            raise openai_failure(exc, settings, "parse") from None

    async def _ask(self, text: str) -> ParseOutput:
        messages: list[ChatCompletionMessageParam] = [
            {"role": "system", "content": self.prompt.text},
            # The query is quoted as JSON so it reads as data, not as instructions.
            {"role": "user", "content": json.dumps({"query": text}, ensure_ascii=False)},
        ]
        return await ask_structured(self.client, self.ctx.settings, "parse", messages, ParseOutput)

    # ------------------------------------------------------------------------------ validation
    def _validate(self, text: str, out: ParseOutput) -> ParsedQuery:
        g = self.ctx.gazetteer
        notes = [f"prompt {self.prompt.id}", f"model {self.ctx.settings.openai_model}"]
        confidence = out.confidence
        if not (0.0 <= confidence <= 1.0):  # also rejects NaN
            raise UpstreamError("bad_payload", f"{UPSTREAM} parse: confidence {confidence!r}")
        intent = " ".join(out.intent.split()) or DEFAULT_INTENT
        if len(intent) > len(text) + 20:
            raise UpstreamError("bad_payload", f"{UPSTREAM} parse: intent longer than the query")
        state = _state(g, out.state_code)

        if out.zip_code:
            code = out.zip_code.strip()
            info = g.zip_code(code) if re.fullmatch(r"\d{5}", code) else None
            if info is None or code not in text:
                raise UpstreamError(
                    "bad_payload", f"{UPSTREAM} parse: ZIP {code!r} is not in the query or unknown"
                )
            notes.append(f"ZIP {code} -> {info.city}, {info.state_code} (gazetteer)")
            return ParsedQuery(
                text=text,
                location=f"{info.city}, {info.state_code}",
                intent=intent,
                confidence=min(confidence, 0.95),
                parser=self.name,
                location_span=_span(text, code),
                admin1_hint=info.state_code if state == info.state_code else None,
                zip_code=code,
                notes=tuple(notes),
            )

        if not out.location or not out.location.strip():
            raise UpstreamError("bad_payload", f"{UPSTREAM} parse: no location in the query")
        name, loc_state = _split_location(g, out.location)
        if state and loc_state and state != loc_state:
            raise UpstreamError(
                "bad_payload",
                f"{UPSTREAM} parse: state {state} contradicts location {out.location!r}",
            )
        state = state or loc_state
        towns = _towns(g, name, state)
        if not towns:
            where = f" in {g.state_name(state)}" if state else ""
            raise UpstreamError(
                "bad_payload",
                f"{UPSTREAM} parse: {name!r}{where} is not a known US town (gazetteer)",
            )
        span = _find_in_query(text, name, towns[0].name)
        if span is None:
            raise UpstreamError(
                "bad_payload", f"{UPSTREAM} parse: {name!r} is not named in the query"
            )
        top = towns[0]
        if state is not None:
            location = f"{top.name}, {state}"
            notes.append(f"location {out.location!r} -> {top.label} (gazetteer, town + state)")
        elif len({t.state_code for t in towns}) == 1:
            location = f"{top.name}, {top.state_code}"
            notes.append(f"location {out.location!r} -> {top.label} (gazetteer, only one)")
        else:
            # Ambiguous: keep the bare name so the geocoder sees (and reports) the ambiguity.
            location = top.name
            confidence = min(confidence, 0.6)
            notes.append(
                f"ambiguous: {len(towns)} towns named {top.name}; the geocoder picks "
                f"(largest {top.label})"
            )
        return town_parse(text, location, intent, confidence, self.name, span, state, notes)


def _state(g: Gazetteer, code: str | None) -> str | None:
    if code is None or not code.strip():
        return None
    found = g.state_code(code)
    if found is None:
        raise UpstreamError("bad_payload", f"{UPSTREAM} parse: unknown state {code[:20]!r}")
    return found


def _split_location(g: Gazetteer, location: str) -> tuple[str, str | None]:
    """ "Pikeville, KY" -> ("Pikeville", "KY"); "Portland Oregon" -> ("Portland", "OR")."""
    text = " ".join(location.split()).strip(" ,")
    text = re.sub(r"(?i),?\s*(?:usa|u\.s\.a\.|united states(?: of america)?)$", "", text)
    if "," in text:
        left, right = text.rsplit(",", 1)
        code = g.state_code(right.strip())
        if code is not None:
            return left.strip(), code
        return text, None
    words = text.split()
    for k in (3, 2, 1):
        if len(words) > k and (code := g.state_code(" ".join(words[-k:]))) is not None:
            return " ".join(words[:-k]), code
    return text, None


def _towns(g: Gazetteer, name: str, state: str | None) -> list[Town]:
    norm = normalize_name(name)
    alias = None if g.has_name(norm) else g.alias(norm)
    if alias is not None:
        target, alias_state = alias
        if state is not None and state != alias_state:
            return []
        return g.lookup(target, alias_state)
    return g.lookup(name, state)


def _span(text: str, needle: str) -> tuple[int, int] | None:
    i = text.lower().find(needle.lower())
    return None if i < 0 else (i, i + len(needle))


def _find_in_query(text: str, name: str, canonical: str) -> tuple[int, int] | None:
    """Where the town is written in the query: exactly, normalised, or a near spelling."""
    for needle in (name, canonical):
        span = _span(text, needle)
        if span is not None:
            return span
    words = [
        (m.group(0), m.start(), m.end()) for m in re.finditer(r"[^\W_]+(?:['’.-][^\W_]+)*", text)
    ]
    targets = {normalize_name(name), normalize_name(canonical)}
    n = max(len(t.split()) for t in targets)
    best: tuple[float, tuple[int, int]] | None = None
    for size in range(1, n + 2):
        for i in range(len(words) - size + 1):
            chunk = words[i : i + size]
            norm = normalize_name(" ".join(w for w, _, _ in chunk))
            for target in targets:
                if norm == target:
                    return chunk[0][1], chunk[-1][2]
                ratio = difflib.SequenceMatcher(None, norm, target).ratio()
                if ratio >= FUZZY_CUTOFF and (best is None or ratio > best[0]):
                    best = (ratio, (chunk[0][1], chunk[-1][2]))
    return best[1] if best else None
