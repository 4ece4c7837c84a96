"""The score stage: merged entities -> ranked results (score, primary/nearby)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Protocol

from ...records import Candidate, ParsedQuery, Place, RankedResult
from ...settings import Settings
from .merge import Entity

PRODUCTION_SYSTEM = "production"
"""``system: production`` in a weights file selects production's per-item system."""
DEFAULT_WEIGHTS_NAME = "baseline-seed"
"""The one default scorer as a weights file (``experiments/weights/baseline-seed.yaml``): what
``load_scorer(None)`` runs (seed rules on merged places, bit for bit), so the CLI without
``--weights``, the report, the explorer, ``RankingDiff`` and the notebooks all start from it."""
PRODUCTION_SOURCES = ("serpapi_organic", "reddit_json")
"""Production's sources as it calls them, without Eventbrite (see :func:`production_sources`)."""


def production_sources(settings: Settings) -> tuple[str, ...]:
    """Production's sources for these settings: web and Reddit, plus Eventbrite's organizer and
    venue listings when a token is set (production skips Eventbrite without one; here the
    source is simply not asked, so runs without a token keep their config and cache keys)."""
    if settings.eventbrite_token is not None:
        return (*PRODUCTION_SOURCES, "eventbrite")
    return PRODUCTION_SOURCES


class Scorer(Protocol):
    """Scores and orders entities. ``version`` goes into cache keys and MLflow params."""

    name: str
    version: str

    def rank(
        self, parsed: ParsedQuery, place: Place, entities: Sequence[Entity]
    ) -> list[RankedResult]: ...


class ItemScorer(Scorer, Protocol):
    """A scorer of raw candidates (no merging), as production scores each page or post."""

    per_item: bool

    def rank_items(
        self, parsed: ParsedQuery, place: Place, candidates: Sequence[Candidate]
    ) -> list[RankedResult]: ...


def is_per_item(scorer: Scorer) -> bool:
    """True for a scorer that ranks raw candidates (production's per-item system)."""
    return bool(getattr(scorer, "per_item", False))


def rank_candidates(
    scorer: Scorer, parsed: ParsedQuery, place: Place, candidates: Sequence[Candidate]
) -> tuple[list[RankedResult], int | None]:
    """Rank gathered candidates: merged into place entities first, except for a per-item
    scorer. Returns the ranking and the number of merged entities (None: not merged)."""
    if is_per_item(scorer):
        item_scorer: ItemScorer = scorer  # type: ignore[assignment]
        return item_scorer.rank_items(parsed, place, candidates), None
    from .merge import merge_candidates

    entities = merge_candidates(candidates, place)
    return scorer.rank(parsed, place, entities), len(entities)


def weights_system(weights: Path | str | None) -> str | None:
    """The ``system`` a weights file names (``production``), or None for a weights file."""
    if weights is None:
        return None
    from ...config import read_yaml

    data = read_yaml(weights, "weights")
    if isinstance(data, dict) and "system" in data:
        system = data["system"]
        if system != PRODUCTION_SYSTEM or len(data) != 1:
            from ...errors import ConfigError

            raise ConfigError(
                f"weights {weights}: 'system' must be {PRODUCTION_SYSTEM!r} and stand alone"
            )
        return str(system)
    return None


def require_weights_vector(weights: Path | str, what: str) -> None:
    """ConfigError (one line) when ``weights`` selects a system rather than a weights vector.

    ``system: production`` is production's per-item scorer: it scores raw pages and posts, not
    the merged entities a frozen pool stores, so sweeps and ablations cannot score it; compare
    it through the pipeline (``underfoot-lab compare --baseline FILE``) instead.
    """
    if weights_system(weights) == PRODUCTION_SYSTEM:
        from ...errors import ConfigError

        raise ConfigError(
            f"{what} {weights}: selects production's per-item system (system: production), "
            "not a weights vector; frozen pools score weight vectors only (use it with "
            "`underfoot-lab compare` or `evaluate`)"
        )


def load_scorer(
    weights: Path | str | None, *, clock: Callable[[], datetime] | None = None
) -> Scorer:
    """The scorer for a weights file; ``None`` means seed rules on merged places (``seed-v1``).

    A file holding only ``system: production`` selects production's per-item scorer
    (:class:`~.production.ProductionSeedScorer`; the pipeline then skips merging and asks
    production's sources, see :data:`PRODUCTION_SOURCES`). Any other weights YAML gives a
    :class:`~.engine.FeatureScorer`; ``clock`` is the pipeline's clock
    ("now" for the freshness features; by default the one the current settings imply).
    ``experiments/weights/baseline-seed.yaml`` reproduces the seed scorer exactly.
    """
    if weights is None:
        from .seed import SeedScorer

        return SeedScorer()
    if weights_system(weights) == PRODUCTION_SYSTEM:
        from .production import ProductionSeedScorer

        return ProductionSeedScorer()
    from .engine import FeatureScorer
    from .weights import ScoringWeights

    return FeatureScorer(ScoringWeights.from_yaml(weights), clock=clock)
