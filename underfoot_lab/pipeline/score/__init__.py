"""Score stage: entity resolution (merge), features, weights and ranking."""

from .base import (
    PRODUCTION_SOURCES,
    ItemScorer,
    Scorer,
    is_per_item,
    load_scorer,
    rank_candidates,
)
from .engine import FeatureScorer, WeightBatch, rank_pool, score_pool, score_rows, stack_weights
from .features import (
    FEATURES,
    SCORED_FEATURES,
    FeatureMatrix,
    FeatureParams,
    FeatureSpec,
    build_features,
)
from .merge import Entity, merge_candidates
from .weights import ScoringWeights

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
