"""Assembling an :class:`~underfoot_lab.evaluation.results.model.EvaluationReport` from the
outcomes of a run: IR metrics (trec_eval-exact), domain metrics, latency, cache statistics.

See :mod:`underfoot_lab.evaluation.results.model` for what a report holds and how the TREC run
is written (:func:`trec_scores`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any

from ..metrics.catalog import ir_measures
from .failures import count_failures
from .model import (
    EvaluationReport,
    QueryOutcome,
    RunConfig,
    _float,
    _normalise_per_query,
    lazy_table,
)

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from ...geo.gazetteer import Gazetteer
    from ...records import RankedResult
    from ...world import World

__all__ = ["build_report", "trec_scores"]


def trec_scores(results: Sequence[RankedResult]) -> dict[str, float]:
    """``doc id -> score`` whose trec_eval order is ``results``' order (see the module doc).

    A repeated id keeps its first (best) position.
    """
    from ..metrics.trec import ranked

    docs: dict[str, float] = {}
    for r in results:
        if r.id not in docs:
            docs[r.id] = float(r.score)
    order = list(docs)
    finite = all(math.isfinite(s) for s in docs.values())
    if finite and [d for d, _ in ranked(docs)] == order:
        return docs
    n = len(order)
    return {d: float(n - i) for i, d in enumerate(order)}


def build_report(
    run_id: str,
    config: RunConfig,
    outcomes: Sequence[QueryOutcome],
    qrels: Mapping[str, Mapping[str, int]],
    *,
    judges: str,
    world: World | None = None,
    gazetteer: Gazetteer | None = None,
    clock: Any = None,
    status: str = "complete",
    created_at: str = "",
) -> EvaluationReport:
    """Score every outcome and assemble the report (see the module docstring).

    ``qrels`` may hold other queries; only the outcomes' queries are used. ``world`` (offline
    runs) supplies latent popularity for hiddenness; ``clock`` is "now" for expired events.
    """
    from ..judging.world_judge import qrels_hash
    from ..metrics.domain import DomainContext, domain_metric_specs, domain_metrics, error_values
    from ..metrics.kernel import evaluate
    from ..metrics.latency import cache_stats, latency_rows

    k = config.k
    qids = [o.query.id for o in outcomes]
    if not qids:
        raise ValueError("no query outcomes to report on")
    if len(set(qids)) != len(qids):
        raise ValueError("a query appears twice in the outcomes")
    wanted = set(qids)
    used_qrels = {
        q: dict(sorted(docs.items())) for q, docs in sorted(qrels.items()) if q in wanted and docs
    }
    run_scores = {o.query.id: trec_scores(o.result.results) for o in outcomes if o.result}
    run_scores = {q: d for q, d in run_scores.items() if d}
    measures = ir_measures(k)
    ir: dict[str, dict[str, float]] = {}
    if used_qrels:
        # Every IR measure here depends on each query's order only, and ``run_scores`` lists
        # each query's documents in trec_eval's order (trec_scores): the kernel gets that order
        # as tie-free scores n, n-1, ..., so it never breaks ties by docid (a string sort whose
        # pyarrow and pandas imports were ~0.4 s of an evaluation). Same order, same values;
        # the report's run keeps the real scores.
        by_rank = {q: _rank_scores(docs) for q, docs in run_scores.items()}
        res = evaluate(used_qrels, by_rank, list(measures.values()), on_missing="zero")
        ir = res.per_query

    ctx = DomainContext(
        k=k, primary_radius_km=config.primary_radius_km, clock=clock, world=world,
        gazetteer=gazetteer,
    )  # fmt: skip
    rows: list[dict[str, Any]] = []
    for o in outcomes:
        q, r = o.query, o.result
        judged = used_qrels.get(q.id, {})
        row: dict[str, Any] = {
            "query_id": q.id,
            "region": q.region or "unlabelled",
            "text": q.text,
            "tags": ",".join(q.tags),
            "intent": q.intent,
            "status": "ok" if r is not None else "error",
            "error": o.error,
            "place": r.place.label if r is not None else None,
            "n_results": len(r.results) if r is not None else 0,
            "n_judged": len(judged),
            "n_relevant": sum(1 for g in judged.values() if g > 0),
        }
        values = ir.get(q.id, {})
        for name, measure in measures.items():
            row[name] = float(values.get(measure, 0.0))
        row.update(domain_metrics(r, q, ctx) if r is not None else error_values(k))
        row["latency_total_ms"] = float(r.total_ms) if r is not None else _float(o.elapsed_ms)
        row["cache_status"] = r.cache.status if r is not None else None
        rows.append(row)
    metric_cols = [*measures, *(m.name for m in domain_metric_specs(k))]

    # Means, regions and latency from the rows themselves, as pandas computes them (the
    # DataFrames are built only when read: printing the report never imports pandas).
    results = [o.result for o in outcomes if o.result is not None]
    latency = latency_rows(results)
    cache = cache_stats(results)
    total = [r for r in latency if r["stage"] == "total"]
    means: dict[str, float] = {c: _mean([r[c] for r in rows]) for c in metric_cols}
    means["latency_p50_ms"] = float(total[0]["p50"]) if total else math.nan
    means["latency_p95_ms"] = float(total[0]["p95"]) if total else math.nan
    means["cache_hit_rate"] = cache.hit_rate
    means = {k_: (math.nan if v is None else float(v)) for k_, v in means.items()}

    groups: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(row["region"], []).append(row)
    region_rows = []
    for region in sorted(groups):
        group = groups[region]
        entry: dict[str, Any] = {
            "region": str(region),
            "n": len(group),
            "errors": sum(1 for r in group if r["status"] == "error"),
        }
        for c in (*metric_cols, "latency_total_ms"):
            entry[c] = _mean([r[c] for r in group])
        region_rows.append(entry)

    return EvaluationReport(
        run_id=run_id,
        config=config,
        per_query=lazy_table(partial(_per_query_frame, rows)),
        means=means,
        per_region=lazy_table(partial(_frame, region_rows, None), region_rows),
        latency=lazy_table(partial(_latency_frame, latency), latency),
        cache=cache,
        n_queries=len(outcomes),
        n_errors=sum(1 for o in outcomes if o.result is None),
        n_judged=len(used_qrels),
        region_set_hash=config.region_set_hash,
        judgments_hash=qrels_hash(used_qrels),
        judges=judges,
        git_commit=config.git_commit,
        simulated=config.simulated,
        run_scores=run_scores,
        qrels_map=used_qrels,
        status=status,
        created_at=created_at,
        failures=count_failures(outcomes),
    )


def _rank_scores(docs: Mapping[str, float]) -> dict[str, float]:
    """``n, n-1, ..., 1`` in ``docs``' order (which is trec_eval's order of ``docs``)."""
    n = len(docs)
    return {d: float(n - i) for i, d in enumerate(docs)}


def _mean(values: Sequence[Any]) -> float:
    """``pd.Series(values, dtype=float64).mean(skipna=True)``, bit for bit, without pandas:
    NaN (and None) count as 0 in numpy's (pairwise) sum and not in the count; NaN when no
    value is left."""
    import numpy as np

    arr = np.asarray(values, dtype=np.float64)
    missing = np.isnan(arr)
    count = arr.size - int(missing.sum())
    if count == 0:
        return math.nan
    if count < arr.size:
        arr = np.where(missing, 0.0, arr)
    return float(arr.sum(dtype=np.float64) / np.float64(count))


def _frame(rows: list[dict[str, Any]], columns: Sequence[str] | None) -> pd.DataFrame:
    import pandas as pd

    return pd.DataFrame(rows, columns=None if columns is None else list(columns))


def _per_query_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    return _normalise_per_query(_frame(rows, None))


def _latency_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """:func:`..metrics.latency.latency_table`'s frame from its rows."""
    from ..metrics.latency import LATENCY_COLUMNS

    return _frame(rows, LATENCY_COLUMNS).astype({"n": "int64"})
