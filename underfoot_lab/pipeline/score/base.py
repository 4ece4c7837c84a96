"""The score stage: merged entities -> ranked results (score, primary/nearby)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Protocol

from ...records import ParsedQuery, Place, RankedResult
from .merge import Entity


class Scorer(Protocol):
    """Scores and orders entities. ``version`` goes into cache keys and MLflow params."""

    name: str
    version: str

    def rank(
        self, parsed: ParsedQuery, place: Place, entities: Sequence[Entity]
    ) -> list[RankedResult]: ...


def load_scorer(
    weights: Path | str | None, *, clock: Callable[[], datetime] | None = None
) -> Scorer:
    """The scorer for a weights file; ``None`` means seed rules on merged places (``seed-v1``).

    Production's per-item scorer is not chosen here: it ranks raw candidates
    (:class:`~.production.ProductionSeedScorer`, ``per_item = True``) and needs the pipeline to
    skip merging.

    A weights YAML gives a :class:`~.engine.FeatureScorer`; ``clock`` is the pipeline's clock
    ("now" for the freshness features; by default the one the current settings imply).
    ``experiments/weights/baseline-seed.yaml`` reproduces the seed scorer exactly.
    """
    if weights is None:
        from .seed import SeedScorer

        return SeedScorer()
    from .engine import FeatureScorer
    from .weights import ScoringWeights

    return FeatureScorer(ScoringWeights.from_yaml(weights), clock=clock)
