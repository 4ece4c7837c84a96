"""The result of evaluating a region set: :class:`EvaluationReport`, and comparing two of them.

A report holds one row per query (``per_query``: every IR metric, every domain metric, the
total latency, the cache status and the error if the query raised), the means, a per-region
breakdown, stage latencies, cache statistics, the TREC run and the qrels it was scored against.

**Metric names.** ``means`` is keyed by MLflow-safe names (letters, digits and ``_`` only);
:func:`display_names` maps them to what tables show:

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
``k`` is not 5 or 10, ``ndcg_at_<k>`` and ``p_at_<k>`` are added. IR metrics come from
:func:`underfoot_lab.evaluation.measures.evaluate` with ``on_missing="zero"``; every query of
the region set counts: a query that raised, or has no judgments, scores 0. Means skip NaN
(see :mod:`.domain` for which metrics can be NaN). NaN becomes ``null`` in JSON.

**The TREC run.** :meth:`EvaluationReport.run_lines` lists each query's results in the
pipeline's rank order with their scores. trec_eval re-ranks by score descending, ties by docid
descending -- the order the scorers produce -- so the raw scores are written whenever they
reproduce the pipeline's order; for a ranking that is not score-ordered (a diversity re-rank)
that query's scores are replaced by ``n, n-1, ..., 1`` so trec_eval still sees our order. The
IR metrics are computed from exactly these scores, so ``trec_eval -c -m ndcg_cut.10 qrels.txt
run.trec`` reproduces them.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from ..errors import ConfigError

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from ..geo.gazetteer import Gazetteer
    from ..records import RankedResult, SearchResult
    from ..world import World
    from .latency import CacheStats
    from .regions import RegionQuery

__all__ = [
    "IR_MEASURES",
    "REPORT_FORMAT_VERSION",
    "EvaluationReport",
    "QueryOutcome",
    "RunConfig",
    "build_report",
    "compare_reports",
    "display_names",
    "format_comparison",
    "ir_measures",
    "json_safe",
    "metric_names",
    "resolve_metric",
    "trec_scores",
]

REPORT_FORMAT_VERSION = 1
SIMULATED_LABEL = "offline world (simulated)"

IR_MEASURES: dict[str, str] = {
    "ndcg_at_10": "nDCG@10",
    "ndcg_at_5": "nDCG@5",
    "p_at_5": "P@5",
    "p_at_10": "P@10",
    "r_at_100": "R@100",
    "mrr": "RR",
    "map": "AP",
}
"""MLflow-safe name -> canonical measure (:mod:`underfoot_lab.evaluation.measures`)."""

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


def _higher_is_better(name: str, k: int) -> bool | None:
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
    from .measures import parse_measure

    try:
        measure = str(parse_measure(name))
    except ValueError:
        measure = None
    for n, m in ir_measures(k).items():
        if measure == m:
            return n
    raise ConfigError(f"unknown metric {name!r}; known: {', '.join(names)}")


# ------------------------------------------------------------------------------ config
@dataclass(frozen=True, slots=True)
class RunConfig:
    """Everything that determines a run's results; stored with the run in the run store.

    Resuming a run with a different config is an error (:meth:`differences`); ``use_cache``,
    ``weights_path`` and ``region_set_path`` are recorded but not compared (a cached answer
    equals a fresh one; weights and region sets are identified by their hashes).
    """

    region_set: str
    region_set_hash: str
    weights: str
    """"seed" (the seed scorer) or the weights file's ``name``."""
    weights_hash: str
    """"seed", or sha256 of the weights file's bytes."""
    scorer: str
    """The scorer's version string (part of cache keys)."""
    k: int
    sources: tuple[str, ...]
    mode: str
    simulated: bool
    world_seed: int | None
    world_clock: str | None
    primary_radius_km: float
    pipeline_version: str
    git_commit: str | None
    weights_path: str | None = None
    use_cache: bool = True
    region_set_path: str | None = None
    """The YAML file when the set came from outside the data directory (found again by it)."""
    git_dirty: bool | None = None
    """The checkout had uncommitted changes (None: unknown, or not a git checkout)."""

    NOT_COMPARED: ClassVar[tuple[str, ...]] = (
        "weights_path",
        "use_cache",
        "region_set_path",
        "git_dirty",
    )

    @property
    def region_set_ref(self) -> str:
        """What to load the region set by: its file when recorded and present, else its name."""
        if self.region_set_path and Path(self.region_set_path).is_file():
            return self.region_set_path
        return self.region_set

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["sources"] = list(self.sources)
        return d

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RunConfig:
        known = set(cls.__dataclass_fields__)
        kwargs = {k: v for k, v in data.items() if k in known}
        kwargs["sources"] = tuple(kwargs.get("sources") or ())
        return cls(**kwargs)

    def compared(self) -> dict[str, Any]:
        """The fields that must match for a resume (everything but :attr:`NOT_COMPARED`)."""
        return {k: v for k, v in self.to_dict().items() if k not in self.NOT_COMPARED}

    def differences(self, other: RunConfig) -> list[str]:
        """``"field: stored -> given"`` for every compared field that differs."""
        a, b = self.compared(), other.compared()
        return [f"{k}: {a[k]!r} -> {b[k]!r}" for k in a if a[k] != b[k]]


# ------------------------------------------------------------------------------ building
@dataclass(frozen=True, slots=True)
class QueryOutcome:
    """One query of a run: its result, or the error it raised."""

    query: RegionQuery
    result: SearchResult | None
    error: str | None = None
    elapsed_ms: float | None = None


def trec_scores(results: Sequence[RankedResult]) -> dict[str, float]:
    """``doc id -> score`` whose trec_eval order is ``results``' order (see the module doc).

    A repeated id keeps its first (best) position.
    """
    from .trec import ranked

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


def json_safe(value: Any) -> Any:
    """``value`` with every non-finite float (NaN, +-inf) replaced by None, for strict JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return value


def _float(value: Any) -> float:
    return math.nan if value is None else float(value)


def _fmt(value: float, digits: int = 4) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{value:.{digits}f}"


_TEXT_COLUMNS = (
    "query_id", "region", "text", "tags", "intent", "status", "error", "place", "cache_status",
)  # fmt: skip
_INT_COLUMNS = ("n_results", "n_judged", "n_relevant")


def _normalise_per_query(frame: pd.DataFrame) -> pd.DataFrame:
    """One dtype per column whatever the source (built, parquet or CSV): nullable strings
    (``pd.StringDtype``, missing = ``pd.NA``) for text, int64 for counts, float64 for metrics."""
    import pandas as pd

    out = frame.copy()
    for c in out.columns:
        if c in _TEXT_COLUMNS:
            out[c] = out[c].astype(pd.StringDtype())
        elif c in _INT_COLUMNS:
            out[c] = out[c].astype("int64")
        else:
            out[c] = out[c].astype("float64")
    return out


@dataclass(frozen=True, eq=False)
class EvaluationReport:
    """A region-set evaluation: per-query rows, means, breakdowns, the run and its qrels."""

    run_id: str
    config: RunConfig
    per_query: pd.DataFrame
    """One row per query, region-set order: ``query_id, region, text, tags, intent, status,
    error, place, n_results, n_judged, n_relevant``, every IR and domain metric,
    ``latency_total_ms, cache_status``."""
    means: dict[str, float]
    """MLflow-safe name -> mean over the queries (module docstring)."""
    per_region: pd.DataFrame
    """One row per region: ``region, n, errors`` and the mean of every per-query metric."""
    latency: pd.DataFrame
    """``stage, n, p50, p90, p95, p99, mean, max`` in ms (:func:`.latency.latency_table`)."""
    cache: CacheStats
    n_queries: int
    n_errors: int
    n_judged: int
    """Queries with at least one judgment in the qrels."""
    region_set_hash: str
    judgments_hash: str
    """sha256 of the canonical qrels (:func:`.world_judge.qrels_hash`)."""
    judges: str
    git_commit: str | None
    simulated: bool
    run_scores: dict[str, dict[str, float]] = field(repr=False)
    """The TREC run: ``qid -> doc id -> score`` (see :meth:`run_lines`)."""
    qrels_map: dict[str, dict[str, int]] = field(repr=False)
    """The qrels the IR metrics used: ``qid -> doc id -> grade``."""
    status: str = "complete"
    created_at: str = ""

    # -------------------------------------------------------------------------- views
    @property
    def k(self) -> int:
        return self.config.k

    @property
    def region_set(self) -> str:
        return self.config.region_set

    def display_names(self) -> dict[str, str]:
        """MLflow-safe name -> display name for this report's metrics."""
        return display_names(self.k)

    def display_means(self) -> dict[str, float]:
        """The means keyed by display name ("nDCG@10")."""
        names = self.display_names()
        return {names.get(k, k): v for k, v in self.means.items()}

    def run_lines(self, tag: str | None = None) -> list[str]:
        """The TREC run: ``qid Q0 docid rank score tag`` lines, trec_eval's order per query."""
        from .trec import ranked

        tag = tag or self.run_id
        lines = []
        for qid, docs in self.run_scores.items():
            for rank, (doc, score) in enumerate(ranked(docs), start=1):
                lines.append(f"{qid} Q0 {doc} {rank} {score!r} {tag}")
        return lines

    def qrels(self) -> dict[str, dict[str, int]]:
        """The qrels (a copy): ``qid -> doc id -> grade``, sorted."""
        return {q: dict(sorted(d.items())) for q, d in sorted(self.qrels_map.items())}

    def qrels_lines(self) -> list[str]:
        """The qrels as ``qid 0 docid grade`` lines (the hashed canonical form)."""
        return [f"{q} 0 {d} {g}" for q, docs in self.qrels().items() for d, g in docs.items()]

    def to_payload(self) -> dict[str, Any]:
        """The JSON summary (``evaluate --json``, ``report.json``); NaN becomes null."""
        latency = {
            str(row["stage"]): {c: row[c] for c in ("n", "p50", "p90", "p95", "p99", "mean", "max")}
            for row in self.latency.to_dict("records")
        }
        per_region = {
            str(row["region"]): {c: v for c, v in row.items() if c != "region"}
            for row in self.per_region.to_dict("records")
        }
        payload = {
            "format_version": REPORT_FORMAT_VERSION,
            "run_id": self.run_id,
            "status": self.status,
            "created_at": self.created_at,
            "region_set": self.config.region_set,
            "region_set_hash": self.region_set_hash,
            "judgments_hash": self.judgments_hash,
            "judges": self.judges,
            "simulated": self.simulated,
            "world": SIMULATED_LABEL if self.simulated else None,
            "git_commit": self.git_commit,
            "queries": self.n_queries,
            "errors": self.n_errors,
            "judged_queries": self.n_judged,
            "metrics": dict(self.means),
            "display_names": self.display_names(),
            "per_region": per_region,
            "latency": latency,
            "cache": self.cache.to_dict(),
            "config": self.config.to_dict(),
        }
        result: dict[str, Any] = json_safe(payload)
        return result

    # -------------------------------------------------------------------------- files
    def save(self, directory: str | Path) -> Path:
        """Write ``per_query.csv``, ``per_query.parquet``, ``run.trec``, ``qrels.txt`` and
        ``report.json`` into ``directory`` (created); returns it."""
        out = Path(directory)
        out.mkdir(parents=True, exist_ok=True)
        self.per_query.to_csv(out / "per_query.csv", index=False)
        self.per_query.to_parquet(out / "per_query.parquet", index=False)
        (out / "run.trec").write_text(
            "".join(f"{line}\n" for line in self.run_lines()), encoding="utf-8"
        )
        (out / "qrels.txt").write_text(
            "".join(f"{line}\n" for line in self.qrels_lines()), encoding="utf-8"
        )
        payload = self.to_payload()
        payload["run_order"] = list(self.run_scores)
        (out / "report.json").write_text(
            json.dumps(payload, indent=2, ensure_ascii=False, allow_nan=False) + "\n",
            encoding="utf-8",
        )
        return out

    @classmethod
    def load(cls, directory: str | Path) -> EvaluationReport:
        """Read a report written by :meth:`save`."""
        import pandas as pd

        from .latency import LATENCY_COLUMNS, CacheStats
        from .trec import read_qrels, read_run

        src = Path(directory)
        meta_path = src / "report.json"
        if not meta_path.is_file():
            raise ConfigError(f"{src} holds no report.json (not a saved evaluation report)")
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        if meta.get("format_version") != REPORT_FORMAT_VERSION:
            raise ConfigError(
                f"{meta_path}: report format {meta.get('format_version')!r} is not "
                f"{REPORT_FORMAT_VERSION}"
            )
        if (src / "per_query.parquet").is_file():
            per_query = pd.read_parquet(src / "per_query.parquet")
        else:
            per_query = pd.read_csv(src / "per_query.csv", keep_default_na=True)
        per_query = _normalise_per_query(per_query)
        latency = pd.DataFrame(
            [{"stage": s, **v} for s, v in meta["latency"].items()], columns=list(LATENCY_COLUMNS)
        )
        latency = latency.astype(
            {c: ("int64" if c == "n" else "float64") for c in LATENCY_COLUMNS if c != "stage"}
        )
        region_rows = [{"region": r, **v} for r, v in meta["per_region"].items()]
        per_region = pd.DataFrame(region_rows)
        if region_rows:
            per_region = per_region.astype(
                {
                    c: ("int64" if c in ("n", "errors") else "float64")
                    for c in per_region.columns
                    if c != "region"
                }
            )
        raw_run = read_run(src / "run.trec")
        run_scores = {q: raw_run.get(q, {}) for q in meta.get("run_order", raw_run)}
        qrels_map = read_qrels(src / "qrels.txt")
        return cls(
            run_id=meta["run_id"],
            config=RunConfig.from_dict(meta["config"]),
            per_query=per_query,
            means={k: _float(v) for k, v in meta["metrics"].items()},
            per_region=per_region,
            latency=latency,
            cache=CacheStats.from_dict(meta["cache"]),
            n_queries=int(meta["queries"]),
            n_errors=int(meta["errors"]),
            n_judged=int(meta["judged_queries"]),
            region_set_hash=meta["region_set_hash"],
            judgments_hash=meta["judgments_hash"],
            judges=meta["judges"],
            git_commit=meta.get("git_commit"),
            simulated=bool(meta["simulated"]),
            run_scores=run_scores,
            qrels_map=qrels_map,
            status=meta.get("status", "complete"),
            created_at=meta.get("created_at", ""),
        )

    # -------------------------------------------------------------------------- text
    def summary_table(self) -> str:
        """A plain-text summary: means, per-region nDCG@10, latency, cache, counts, labels."""
        from ..report_text import table

        cfg = self.config
        names = self.display_names()
        world = SIMULATED_LABEL if self.simulated else f"live ({cfg.mode})"
        lines = [
            f"Evaluation run {self.run_id} [{world}]",
            f"region set {cfg.region_set} ({self.region_set_hash[:12]}): {self.n_queries} "
            f"queries, {self.n_errors} errors, {self.n_judged} judged by {self.judges} "
            f"(qrels {self.judgments_hash[:12]})",
            f"scorer {cfg.scorer} (weights {cfg.weights}), k={cfg.k}, sources "
            f"{','.join(cfg.sources)}, git {(self.git_commit or 'unknown')[:10]}"
            + ("" if self.status == "complete" else f", status {self.status}"),
        ]
        if self.n_judged == 0:
            lines.append("warning: no judged query: every IR metric is 0")
        lines.append("")
        rows = [
            [names.get(n, n), _fmt(v, 1 if n.endswith("_ms") else 4)] for n, v in self.means.items()
        ]
        lines.append(table(["metric", "mean"], rows, "lr"))
        if len(self.per_region):
            lines.append("")
            ndcg = "ndcg_at_10"
            region_rows = [
                [r["region"], int(r["n"]), int(r["errors"]), _fmt(float(r[ndcg]))]
                for r in self.per_region.to_dict("records")
            ]
            lines.append(table(["region", "n", "errors", names[ndcg]], region_rows, "lrrr"))
        if len(self.latency):
            lines.append("")
            lat_rows = [
                [r["stage"], int(r["n"]), _fmt(r["p50"], 1), _fmt(r["p95"], 1)]
                for r in self.latency.to_dict("records")
            ]
            lines.append(table(["stage", "n", "p50 ms", "p95 ms"], lat_rows, "lrrr"))
        c = self.cache
        lines.append("")
        if c.lookups:
            lines.append(
                f"cache: hit rate {_fmt(c.hit_rate, 3)} over {c.lookups} lookups "
                f"(memory {c.hits_memory}, sqlite {c.hits_sqlite}, misses {c.misses})"
            )
        else:
            lines.append(f"cache: off ({c.bypass} searches bypassed it)")
        lines.append(
            f"{self.n_queries} queries · run {self.run_id}"
            + (f" · {SIMULATED_LABEL}" if self.simulated else "")
        )
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (
            f"EvaluationReport(run_id={self.run_id!r}, region_set={self.config.region_set!r}, "
            f"n_queries={self.n_queries}, ndcg_at_10={self.means.get('ndcg_at_10', math.nan):.4f})"
        )


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

    from .domain import DomainContext, domain_metric_specs, domain_metrics, error_values
    from .latency import cache_stats, latency_table
    from .measures import evaluate
    from .world_judge import qrels_hash

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
    )


# ------------------------------------------------------------------------------ comparing
DEFAULT_COMPARE_METRICS: tuple[str, ...] = (
    "ndcg_at_10",
    "p_at_10",
    "mrr",
    "map",
    "hiddenness_at_10",
    "geo_precision_at_10",
    "expired_event_rate_at_10",
)


def compare_reports(
    baseline: EvaluationReport,
    candidate: EvaluationReport,
    metrics: Sequence[str] | None = None,
    *,
    seed: int = 0,
    n_resamples: int = 10000,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Paired comparison of ``candidate`` (B) with ``baseline`` (A), one row per metric.

    Columns: ``metric, display, n, mean_a, mean_b, diff`` (``mean(b - a)`` over the paired
    queries), ``p_t`` (paired t-test), ``p_rand`` (sign-flip randomization test, seeded),
    ``p_t_holm``/``p_rand_holm`` (Holm-adjusted across the metrics), ``ci_low, ci_high``
    (bootstrap over queries), ``region_ci_low, region_ci_high`` (bootstrap over regions, NaN
    with fewer than two regions), ``effect_size`` (Cohen's d_z), ``higher_is_better``.
    Queries are paired by id and must be the same in both reports; a metric's NaN values
    (e.g. geocode error of a failed query) drop that query for that metric only. Everything
    comes from :mod:`underfoot_lab.evaluation.significance`.
    """
    import numpy as np
    import pandas as pd

    from .significance import (
        bootstrap_ci,
        cluster_bootstrap_ci,
        cohens_d,
        holm,
        paired_t_test,
        randomization_test,
    )

    a = baseline.per_query.set_index("query_id")
    b = candidate.per_query.set_index("query_id")
    if set(a.index) != set(b.index) or len(a) != len(b):
        raise ConfigError(
            "the two runs must cover the same queries "
            f"({baseline.config.region_set} vs {candidate.config.region_set})"
        )
    b = b.loc[a.index]
    k = baseline.k
    chosen = [resolve_metric(m, k) for m in (metrics or DEFAULT_COMPARE_METRICS)]
    shown = display_names(k)
    rows: list[dict[str, Any]] = []
    for metric in chosen:
        if metric not in a.columns or metric not in b.columns:
            raise ConfigError(f"metric {metric!r} is not a per-query metric of both runs")
        x = a[metric].to_numpy(dtype=np.float64)
        y = b[metric].to_numpy(dtype=np.float64)
        keep = np.isfinite(x) & np.isfinite(y)
        x, y = x[keep], y[keep]
        regions = a["region"].to_numpy()[keep]
        row: dict[str, Any] = {
            "metric": metric,
            "display": shown.get(metric, metric),
            "n": int(keep.sum()),
            "mean_a": float(x.mean()) if x.size else math.nan,
            "mean_b": float(y.mean()) if y.size else math.nan,
            "diff": float((y - x).mean()) if x.size else math.nan,
        }
        nan = math.nan
        row.update(p_t=nan, p_rand=nan, ci_low=nan, ci_high=nan, effect_size=nan)
        row.update(region_ci_low=nan, region_ci_high=nan)
        if x.size >= 2:
            row["p_t"] = paired_t_test(x, y).pvalue
            row["p_rand"] = randomization_test(x, y, n_resamples=n_resamples, seed=seed).pvalue
            ci = bootstrap_ci(x, y, n_resamples=n_resamples, confidence=confidence, seed=seed)
            row["ci_low"], row["ci_high"] = ci.low, ci.high
            row["effect_size"] = cohens_d(x, y)
            if len(set(regions.tolist())) >= 2:
                rci = cluster_bootstrap_ci(
                    x, y, list(regions), n_resamples=n_resamples, confidence=confidence, seed=seed
                )
                row["region_ci_low"], row["region_ci_high"] = rci.low, rci.high
        row["higher_is_better"] = _higher_is_better(metric, k)
        rows.append(row)
    for key in ("p_t", "p_rand"):
        finite = {r["metric"]: r[key] for r in rows if not math.isnan(r[key])}
        adjusted = holm(finite) if finite else {}
        for r in rows:
            r[f"{key}_holm"] = adjusted.get(r["metric"], math.nan)
    columns = [
        "metric", "display", "n", "mean_a", "mean_b", "diff", "p_t", "p_rand", "p_t_holm",
        "p_rand_holm", "ci_low", "ci_high", "region_ci_low", "region_ci_high", "effect_size",
        "higher_is_better",
    ]  # fmt: skip
    return pd.DataFrame(rows, columns=columns)


def format_comparison(frame: pd.DataFrame, *, confidence: float = 0.95) -> str:
    """A plain-text table of :func:`compare_reports`."""
    from ..report_text import table

    pct = f"{round(confidence * 100):d}%"
    rows = []
    for r in frame.to_dict("records"):
        rows.append(
            [
                r["display"],
                int(r["n"]),
                _fmt(r["mean_a"]),
                _fmt(r["mean_b"]),
                f"{r['diff']:+.4f}" if not math.isnan(r["diff"]) else "n/a",
                _fmt(r["p_t"]),
                _fmt(r["p_rand"]),
                _fmt(r["p_t_holm"]),
                _fmt(r["p_rand_holm"]),
                f"[{_fmt(r['ci_low'])}, {_fmt(r['ci_high'])}]",
                f"[{_fmt(r['region_ci_low'])}, {_fmt(r['region_ci_high'])}]",
                _fmt(r["effect_size"], 3),
            ]
        )
    headers = [
        "metric", "n", "mean A", "mean B", "diff", "p t", "p rand", "p t Holm", "p rand Holm",
        f"{pct} CI", f"{pct} region CI", "d",
    ]  # fmt: skip
    return table(headers, rows, "lrrrrrrrrrrr")
