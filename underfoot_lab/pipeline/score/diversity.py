"""Optional diversity re-rank: maximal marginal relevance (MMR) over source and category.

Greedy MMR (Carbonell & Goldstein, 1998): repeatedly take the result maximising
``lambda * score - (1 - lambda) * max_similarity(result, already taken)``. Two results are
similar by what they are and where they come from::

    similarity = 0.5 * jaccard(source types) + 0.5 * [same category]

where a result's category is its leading mention's place type (``"event"`` for events; unknown
categories are never equal). ``lambda = 1`` keeps the relevance order.

The re-ranked list's ``score`` is the MMR value at selection, made strictly decreasing (a tie
steps down by one ulp), so sorting by score (trec_eval's order) gives the re-ranked order; the
relevance score stays in the result's features as ``relevance``. Primary/nearby is not changed.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace

import numpy as np
import numpy.typing as npt

from ...records import RankedResult

__all__ = ["category_of", "mmr_rerank", "similarity_matrix"]

_TYPE_BITS = {"web": 1, "local": 2, "events": 4, "reddit": 8}


def category_of(result: RankedResult) -> str | None:
    """The result's category: ``"event"`` or its leading place type (None when unknown)."""
    if not result.mentions:
        return None
    lead = result.mentions[0]
    if lead.source_type == "events" or lead.starts_at is not None:
        return "event"
    return (lead.place_type or "").strip().lower() or None


def similarity_matrix(results: Sequence[RankedResult]) -> npt.NDArray[np.float64]:
    """Pairwise similarity in [0, 1] (see the module docstring)."""
    n = len(results)
    masks = np.array(
        [
            sum({_TYPE_BITS.get(m.source_type, 16) for m in r.mentions}) if r.mentions else 0
            for r in results
        ],
        dtype=np.int64,
    )
    inter = np.bitwise_and(masks[:, None], masks[None, :])
    union = np.bitwise_or(masks[:, None], masks[None, :])
    popcount = np.vectorize(lambda v: int(v).bit_count(), otypes=[np.int64])
    with np.errstate(divide="ignore", invalid="ignore"):
        jac = np.where(union > 0, popcount(inter) / np.maximum(popcount(union), 1), 0.0)
    cats = [category_of(r) for r in results]
    codes = {c: i for i, c in enumerate(dict.fromkeys(c for c in cats if c is not None))}
    cat = np.array([codes[c] if c is not None else -1 - i for i, c in enumerate(cats)])
    same = (cat[:, None] == cat[None, :]).astype(np.float64)
    sim: npt.NDArray[np.float64] = 0.5 * jac.astype(np.float64) + 0.5 * same
    if n:
        np.fill_diagonal(sim, 1.0)
    return sim


def mmr_rerank(results: Sequence[RankedResult], lam: float) -> list[RankedResult]:
    """Re-rank relevance-ordered ``results`` by MMR with trade-off ``lam`` in [0, 1]."""
    if not 0.0 <= lam <= 1.0:
        raise ValueError(f"diversity lambda must be in [0, 1], got {lam}")
    n = len(results)
    if n == 0:
        return []
    rel = np.array([r.score for r in results], dtype=np.float64)
    sim = similarity_matrix(results)
    taken = np.zeros(n, dtype=bool)
    max_sim = np.zeros(n, dtype=np.float64)
    picks: list[int] = []
    values: list[float] = []
    for _ in range(n):
        mmr = lam * rel - (1.0 - lam) * max_sim
        mmr[taken] = -np.inf
        i = int(np.argmax(mmr))  # first maximum: earlier (more relevant) results win ties
        picks.append(i)
        values.append(float(mmr[i]))
        taken[i] = True
        max_sim = np.maximum(max_sim, sim[i])
    out: list[RankedResult] = []
    prev = math.inf
    for i, v in zip(picks, values, strict=True):
        score = v if v < prev else math.nextafter(prev, -math.inf)
        prev = score
        r = results[i]
        out.append(replace(r, score=score, features=(*r.features, ("relevance", r.score))))
    return out
