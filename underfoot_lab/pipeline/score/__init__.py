"""Score stage: entity resolution (merge), features, weights and ranking.

The feature engine (numpy) loads on first use of one of its names: a cached search, which only
needs the scorer's version, starts without numpy (issue 15).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .base import (
    PRODUCTION_SOURCES,
    ItemScorer,
    Scorer,
    is_per_item,
    load_scorer,
    rank_candidates,
)
from .merge import Entity, merge_candidates

if TYPE_CHECKING:  # pragma: no cover
    from .engine import (
        FeatureScorer,
        WeightBatch,
        rank_pool,
        score_pool,
        score_rows,
        stack_weights,
    )
    from .features import (
        FEATURES,
        SCORED_FEATURES,
        FeatureMatrix,
        FeatureParams,
        FeatureSpec,
        build_features,
    )
    from .weights import ScoringWeights

_LAZY = {
    **dict.fromkeys(
        ("FeatureScorer", "WeightBatch", "rank_pool", "score_pool", "score_rows", "stack_weights"),
        "engine",
    ),
    **dict.fromkeys(
        (
            "FEATURES",
            "SCORED_FEATURES",
            "FeatureMatrix",
            "FeatureParams",
            "FeatureSpec",
            "build_features",
        ),
        "features",
    ),
    "ScoringWeights": "weights",
}

__all__ = [
    "FEATURES",
    "PRODUCTION_SOURCES",
    "SCORED_FEATURES",
    "Entity",
    "FeatureMatrix",
    "FeatureParams",
    "FeatureScorer",
    "FeatureSpec",
    "ItemScorer",
    "Scorer",
    "ScoringWeights",
    "WeightBatch",
    "build_features",
    "is_per_item",
    "load_scorer",
    "merge_candidates",
    "rank_candidates",
    "rank_pool",
    "score_pool",
    "score_rows",
    "stack_weights",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f".{module}", __name__), name)
