"""The report's metric catalog: MLflow-safe names, display names, directions.

An :class:`~underfoot_lab.evaluation.results.model.EvaluationReport`'s ``means`` are keyed by
MLflow-safe names (letters, digits and ``_`` only); :func:`display_names` maps them to what
tables show, :func:`resolve_metric` accepts any of the spellings:

=============================  ==================  =============================================
name                           display             what
=============================  ==================  =============================================
``ndcg_at_10``                 nDCG@10             trec_eval ``ndcg_cut_10`` (gain = grade)
``ndcg_at_5``                  nDCG@5              trec_eval ``ndcg_cut_5``
``p_at_5``, ``p_at_10``        P@5, P@10           precision at 5 / 10 (grade >= 1 is relevant)
``r_at_100``                   R@100               recall at 100
``mrr``                        MRR                 reciprocal rank (``RR``; mean = MRR)
``map``                        MAP                 average precision (``AP``; mean = MAP)
``hiddenness_at_10``           Hiddenness@10       :mod:`.domain`
``geo_precision_at_10``        GeoP@10             :mod:`.domain`
``nearby_ratio``               Nearby ratio        :mod:`.domain`
``source_diversity_at_10``     SourceDiv@10        :mod:`.domain`
``corroboration_at_10``        Corroboration@10    :mod:`.domain`
``expired_event_rate_at_10``   Expired@10          :mod:`.domain`
``answer_faithfulness``        Faithfulness        :mod:`.domain`
``parse_accuracy``             Parse acc           :mod:`.domain` (also ``parse_location_accuracy``,
                                                   ``parse_intent_accuracy``)
``geocode_error_km``           Geocode err km      :mod:`.domain`
``latency_p50_ms``             Latency p50 (ms)    p50 of the ``total`` stage over the searches
``latency_p95_ms``             Latency p95 (ms)    p95 of the same (:mod:`.latency`)
``cache_hit_rate``             Cache hit rate      overall hit rate (:class:`.latency.CacheStats`)
=============================  ==================  =============================================

The ``_at_10`` domain metrics follow the run's ``k`` (``k=5`` gives ``hiddenness_at_5``); when
``k`` is not 5 or 10, ``ndcg_at_<k>`` and ``p_at_<k>`` are added.
"""

from __future__ import annotations

from ...errors import ConfigError

__all__ = [
    "IR_MEASURES",
    "display_names",
    "higher_is_better",
    "ir_measures",
    "metric_names",
    "resolve_metric",
]

IR_MEASURES: dict[str, str] = {
    "ndcg_at_10": "nDCG@10",
    "ndcg_at_5": "nDCG@5",
    "p_at_5": "P@5",
    "p_at_10": "P@10",
    "r_at_100": "R@100",
    "mrr": "RR",
    "map": "AP",
}
"""MLflow-safe name -> canonical measure (:mod:`.measure_names`)."""

_IR_DISPLAY = {"mrr": "MRR", "map": "MAP"}
_OTHER_DISPLAY = {
    "latency_p50_ms": "Latency p50 (ms)",
    "latency_p95_ms": "Latency p95 (ms)",
    "cache_hit_rate": "Cache hit rate",
}


def ir_measures(k: int = 10) -> dict[str, str]:
    """The IR metrics of a run with cutoff ``k``: :data:`IR_MEASURES` plus nDCG@k and P@k."""
    out = dict(IR_MEASURES)
    if k not in (5, 10):
        out[f"ndcg_at_{k}"] = f"nDCG@{k}"
        out[f"p_at_{k}"] = f"P@{k}"
    return out


def metric_names(k: int = 10) -> list[str]:
    """Every mean's name, in report order."""
    from .domain import domain_metric_specs

    return [
        *ir_measures(k),
        *(m.name for m in domain_metric_specs(k)),
        *_OTHER_DISPLAY,
    ]


def display_names(k: int = 10) -> dict[str, str]:
    """MLflow-safe name -> display name ("ndcg_at_10" -> "nDCG@10")."""
    from .domain import domain_metric_specs

    out = {name: _IR_DISPLAY.get(name, measure) for name, measure in ir_measures(k).items()}
    out.update({m.name: m.display for m in domain_metric_specs(k)})
    out.update(_OTHER_DISPLAY)
    return out


def higher_is_better(name: str, k: int = 10) -> bool | None:
    """Whether a larger value of metric ``name`` is better (None: no direction)."""
    from .domain import domain_metric_specs

    if name in ir_measures(k) or name == "cache_hit_rate":
        return True
    if name.startswith("latency_"):
        return False
    for m in domain_metric_specs(k):
        if m.name == name:
            return m.higher_is_better
    return None


def resolve_metric(name: str, k: int = 10) -> str:
    """A metric's MLflow-safe name from that name, its display name or its measure name
    (case-insensitive: ``nDCG@10``, ``ndcg_cut_10``, ``RR`` -> ``ndcg_at_10``, ..., ``mrr``)."""
    wanted = name.strip().lower()
    names = metric_names(k)
    for n in names:
        if wanted == n.lower():
            return n
    for n, shown in display_names(k).items():
        if wanted == shown.lower():
            return n
    from .measure_names import parse_measure

    try:
        measure = str(parse_measure(name))
    except ValueError:
        measure = None
    for n, m in ir_measures(k).items():
        if measure == m:
            return n
    raise ConfigError(f"unknown metric {name!r}; known: {', '.join(names)}")
