"""Assembling an :class:`~underfoot_lab.evaluation.results.model.EvaluationReport` from the
outcomes of a run: IR metrics (trec_eval-exact), domain metrics, latency, cache statistics.

See :mod:`underfoot_lab.evaluation.results.model` for what a report holds and how the TREC run
is written (:func:`trec_scores`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ..metrics.catalog import ir_measures
from .failures import count_failures
from .model import EvaluationReport, QueryOutcome, RunConfig, _float, _normalise_per_query

if TYPE_CHECKING:  # pragma: no cover
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
    import pandas as pd

    from ..judging.world_judge import qrels_hash
    from ..metrics.domain import DomainContext, domain_metric_specs, domain_metrics, error_values
    from ..metrics.kernel import evaluate
    from ..metrics.latency import cache_stats, latency_table

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
        res = evaluate(used_qrels, run_scores, list(measures.values()), on_missing="zero")
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
    per_query = _normalise_per_query(pd.DataFrame(rows))
    metric_cols = [*measures, *(m.name for m in domain_metric_specs(k))]

    results = [o.result for o in outcomes if o.result is not None]
    latency = latency_table(results)
    cache = cache_stats(results)
    total = latency[latency["stage"] == "total"]
    means: dict[str, float] = {
        c: (float(per_query[c].mean(skipna=True)) if len(per_query) else math.nan)
        for c in metric_cols
    }
    means["latency_p50_ms"] = float(total["p50"].iloc[0]) if len(total) else math.nan
    means["latency_p95_ms"] = float(total["p95"].iloc[0]) if len(total) else math.nan
    means["cache_hit_rate"] = cache.hit_rate
    means = {k_: (math.nan if v is None else float(v)) for k_, v in means.items()}

    region_rows = []
    for region, group in per_query.groupby("region", sort=True):
        entry: dict[str, Any] = {
            "region": str(region),
            "n": len(group),
            "errors": int((group["status"] == "error").sum()),
        }
        for c in (*metric_cols, "latency_total_ms"):
            entry[c] = float(group[c].mean(skipna=True))
        region_rows.append(entry)
    per_region = pd.DataFrame(region_rows)

    return EvaluationReport(
        run_id=run_id,
        config=config,
        per_query=per_query,
        means=means,
        per_region=per_region,
        latency=latency,
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
