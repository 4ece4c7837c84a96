"""The explorer's helpers that need no widgets: slider help, saving weights, the ambiguity
chooser's query rewrite, re-merging with some sources hidden and the note saying which
weights the sliders start from (the one default scorer, or not).

Kept apart from :mod:`.explorer` so each can be tested (and reused by other widgets) without
building an explorer.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import ConfigError
from ..pipeline.score.base import DEFAULT_WEIGHTS_NAME

if TYPE_CHECKING:  # pragma: no cover
    from ..pipeline.score.merge import Entity
    from ..pipeline.score.weights import ScoringWeights
    from ..records import Candidate, ParsedQuery, Place, PlaceRef, SearchResult

__all__ = [
    "DEFAULT_WEIGHTS_NAME",
    "ambiguity_notes",
    "choice_query",
    "is_default_scorer",
    "merge_visible",
    "save_weights",
    "slider_help",
    "weights_note",
]


def slider_help(feature: str) -> str:
    """The feature's documented meaning and range (``FEATURES``), for a slider's tooltip."""
    from ..pipeline.score.features import FEATURES

    spec = next((f for f in FEATURES if f.name == feature), None)
    if spec is None:
        return feature
    lo, hi = spec.range
    return f"{feature} ({spec.group}, {lo:g} to {hi:g}): {spec.meaning}"


def is_default_scorer(weights: ScoringWeights) -> bool:
    """Whether ``weights`` are the default scorer's (``baseline-seed``; compared by content)."""
    from ..evaluation.judging.pooling import load_weights

    return weights.weights_hash() == load_weights(DEFAULT_WEIGHTS_NAME).weights_hash()


def weights_note(weights: ScoringWeights) -> str:
    """One line for the widgets: which weights the ranking starts from and whether that is the
    default scorer (what ``search``/``evaluate``/``report`` run without ``--weights``)."""
    if is_default_scorer(weights):
        used = ", ".join(weights.weights) or "none"
        return (
            f"weights: {weights.name}, the default scorer (seed rules on merged places, as "
            f"search/evaluate/report without --weights); it uses {used}. For other features "
            'start from another file, e.g. weights="tuned-default-world"'
        )
    return (
        f"weights: {weights.name} (not the default scorer {DEFAULT_WEIGHTS_NAME}; "
        "reset goes back to this file)"
    )


def save_weights(weights: ScoringWeights, path: str | Path, *, name: str | None = None) -> Path:
    """Write ``weights`` (renamed ``name``, default the file's stem) as a YAML weights file,
    validated first: the file must load with :meth:`ScoringWeights.from_yaml` into the same
    canonical weights (same hash) before it replaces ``path``; otherwise :class:`ConfigError`
    and ``path`` is left as it was."""
    from ..pipeline.score.weights import ScoringWeights

    target = Path(path).expanduser()
    if target.suffix not in (".yaml", ".yml"):
        raise ConfigError(f"{target}: a weights file is a .yaml file")
    stem = name or target.stem
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", stem):
        raise ConfigError(f"{stem!r}: a weights name is letters, digits, '.', '_' or '-'")
    named = ScoringWeights.model_validate({**weights.model_dump(), "name": stem})
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".weights-", suffix=target.suffix, dir=target.parent)
    os.close(fd)
    scratch = Path(tmp)
    try:
        named.to_yaml(scratch)
        loaded = ScoringWeights.from_yaml(scratch)
        if loaded.weights_hash() != named.weights_hash():
            raise ConfigError(f"{target}: the written weights do not read back the same")
        os.replace(scratch, target)
    finally:
        scratch.unlink(missing_ok=True)
    return target


def ambiguity_notes(result: SearchResult) -> list[str]:
    """The parser's ``ambiguous: ...`` notes of a search (empty when the town was clear)."""
    return [n for n in result.parsed.notes if n.lower().startswith("ambiguous")]


def choice_query(text: str, parsed: ParsedQuery, ref: PlaceRef | Place) -> str:
    """``text`` with its location replaced by ``ref`` ("Name, State"), so searching it again
    resolves to the chosen town; appended (" in Name, State") when no span is known."""
    admin1 = getattr(ref, "admin1", None) or getattr(ref, "admin1_code", "")
    where = f"{ref.name}, {admin1}" if admin1 else ref.name
    if parsed.location_span is not None:
        a, b = parsed.location_span
        return f"{text[:a]}{where}{text[b:]}"
    return f"{text} in {where}"


def merge_visible(
    candidates: Sequence[Candidate], place: Place, enabled: Iterable[str]
) -> list[Entity]:
    """Entities with only the ``enabled`` sources' mentions, resolved over **every** source.

    Merging only the visible candidates would lose the links a hidden source made (a maps
    place that a Reddit post and a web page both name), leaving duplicates such as "Turkey
    Ridge Trail" and "Turkey Ridge Trail (Marfa)". So: merge everything, then drop the hidden
    mentions, drop entities left with none, and take name and coordinates from what remains
    (a hidden source's coordinates must not place the entity either).
    """
    from ..geo.gazetteer import haversine_km
    from ..pipeline.score.merge import merge_candidates

    keep = set(enabled)
    out: list[Entity] = []
    for e in merge_candidates(candidates, place):
        mentions = tuple(m for m in e.mentions if m.source in keep)
        if not mentions:
            continue
        if len(mentions) == len(e.mentions):
            out.append(e)
            continue
        located = next((m for m in mentions if m.lat is not None and m.lon is not None), None)
        lat = located.lat if located is not None else None
        lon = located.lon if located is not None else None
        dist = (
            haversine_km(place.lat, place.lon, lat, lon)
            if lat is not None and lon is not None
            else None
        )
        out.append(
            replace(
                e,
                name=mentions[0].name or mentions[0].title,
                mentions=mentions,
                lat=lat,
                lon=lon,
                distance_km=dist,
            )
        )
    return out
