"""Scoring weights: a validated, hashable, YAML-backed description of one linear scorer.

A weights file (``experiments/weights/*.yaml``) names a weight per feature (features missing
from the file weigh 0), the caps, the primary/nearby rule, the feature parameters (distance
half-distance, freshness window and half-life) and an optional diversity re-rank::

    name: baseline-seed
    description: today's production scorer, as weights
    weights: {intent_match: 0.3, keyword_count: 0.1, src_events: 0.1, src_reddit: 0.2,
              src_web: 0.15}
    keyword_cap: 0.4
    cap: 1.0
    primary_threshold: 0.5

``version`` (``"weights:<name>:<sha256[:12]>"``) is the scorer version in cache keys and run
metadata; the hash covers everything that changes a ranking (not ``name``/``description``).
"""

from __future__ import annotations

import difflib
import hashlib
import json
import math
from pathlib import Path

import numpy as np
import numpy.typing as npt
import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator

from .features import (
    DEFAULT_FRESHNESS_WINDOW_DAYS,
    DEFAULT_HALF_DISTANCE_KM,
    DEFAULT_POST_HALF_LIFE_DAYS,
    SCORED_FEATURES,
    FeatureParams,
)

__all__ = ["SCALAR_FIELDS", "ScoringWeights"]

SCALAR_FIELDS: tuple[str, ...] = (
    "cap",
    "keyword_cap",
    "primary_threshold",
    "primary_radius_km",
    "half_distance_km",
    "freshness_window_days",
    "post_half_life_days",
    "diversity_lambda",
)
"""The numeric fields of :class:`ScoringWeights` besides the feature weights (what runs log)."""

_HASH_EXCLUDE = frozenset({"name", "description"})


class ScoringWeights(BaseModel):
    """One linear scorer over :data:`~.features.SCORED_FEATURES` (frozen, YAML round-trip)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    description: str = ""
    weights: dict[str, float] = Field(default_factory=dict)
    """Feature name -> weight; features not named weigh 0."""
    cap: float | None = 1.0
    """Scores above this are cut to it (the seed caps at 1.0); None: no cap."""
    keyword_cap: float | None = None
    """The ``keyword_count`` term is ``min(weight * count, keyword_cap)`` (the seed: 0.4)."""
    primary_threshold: float = 0.5
    primary_radius_km: float | None = None
    """Primary also needs distance <= this (unknown distances pass); None: threshold only."""
    half_distance_km: float = Field(DEFAULT_HALF_DISTANCE_KM, gt=0)
    freshness_window_days: float = Field(DEFAULT_FRESHNESS_WINDOW_DAYS, gt=0)
    post_half_life_days: float = Field(DEFAULT_POST_HALF_LIFE_DAYS, gt=0)
    diversity_lambda: float | None = Field(None, ge=0.0, le=1.0)
    """MMR trade-off (1 = pure relevance, lower = more diverse); None: no re-rank."""

    @field_validator("weights")
    @classmethod
    def _known_features(cls, value: dict[str, float]) -> dict[str, float]:
        for key, w in value.items():
            if key not in SCORED_FEATURES:
                close = difflib.get_close_matches(key, SCORED_FEATURES, n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                raise ValueError(
                    f"unknown feature {key!r}{hint}; scored features: {', '.join(SCORED_FEATURES)}"
                )
            if not math.isfinite(w):
                raise ValueError(f"weight of {key!r} must be a finite number")
        # Canonical order (registry order) so dumps and hashes never depend on file order.
        return {k: float(value[k]) for k in SCORED_FEATURES if k in value}

    @field_validator(*SCALAR_FIELDS)
    @classmethod
    def _finite(cls, value: float | None) -> float | None:
        if value is not None and not math.isfinite(value):
            raise ValueError("must be a finite number")
        return value

    @field_validator("primary_radius_km")
    @classmethod
    def _positive_radius(cls, value: float | None) -> float | None:
        # A radius <= 0 makes nothing primary: every result would silently score as nearby.
        if value is not None and value <= 0:
            raise ValueError(f"must be greater than 0 km (got {value:g}); omit it for no radius")
        return value

    # ------------------------------------------------------------------------ derived values
    def weight(self, feature: str) -> float:
        """The weight of one scored feature (0 when the file does not name it)."""
        if feature not in SCORED_FEATURES:
            raise KeyError(f"unknown feature {feature!r}")
        return self.weights.get(feature, 0.0)

    def vector(self) -> npt.NDArray[np.float64]:
        """The weights in :data:`SCORED_FEATURES` order."""
        return np.array([self.weights.get(f, 0.0) for f in SCORED_FEATURES], dtype=np.float64)

    @property
    def params(self) -> FeatureParams:
        return FeatureParams(
            half_distance_km=self.half_distance_km,
            freshness_window_days=self.freshness_window_days,
            post_half_life_days=self.post_half_life_days,
        )

    def canonical_json(self) -> str:
        """Everything that changes a ranking, as canonical JSON (sorted keys, no zero weights)."""
        data = self.model_dump(mode="json", exclude=set(_HASH_EXCLUDE))
        data["weights"] = {k: v for k, v in self.weights.items() if v != 0.0}
        return json.dumps(data, sort_keys=True, separators=(",", ":"), allow_nan=False)

    def weights_hash(self) -> str:
        """sha256 (hex) of :meth:`canonical_json`."""
        return hashlib.sha256(self.canonical_json().encode("utf-8")).hexdigest()

    @property
    def version(self) -> str:
        """The scorer version used in cache keys: ``weights:<name>:<hash12>``."""
        return f"weights:{self.name}:{self.weights_hash()[:12]}"

    def with_weights(self, **changes: float) -> ScoringWeights:
        """A copy with some feature weights changed (for sweeps in notebooks)."""
        merged = {**self.weights, **changes}
        return ScoringWeights.model_validate({**self.model_dump(), "weights": merged})

    # ------------------------------------------------------------------------ YAML
    @classmethod
    def from_yaml(cls, path: str | Path) -> ScoringWeights:
        """Load a weights file (``name`` defaults to the file's stem); any problem is a
        one-line :class:`ConfigError` (see :mod:`underfoot_lab.config`)."""
        from ...config import load_model

        p = Path(path)
        return load_model(
            p, cls, "weights file", prepare=lambda data: data.setdefault("name", p.stem)
        )

    def to_yaml_text(self) -> str:
        data = self.model_dump(mode="json")
        return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)

    def to_yaml(self, path: str | Path) -> Path:
        """Write the weights as YAML (``from_yaml`` reads back an equal object)."""
        p = Path(path)
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(self.to_yaml_text(), encoding="utf-8")
        return p
