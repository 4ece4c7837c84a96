"""The result of evaluating a region set: :class:`EvaluationReport`.

A report holds one row per query (``per_query``: every IR metric, every domain metric, the
total latency, the cache status and the error if the query raised), the means, a per-region
breakdown, stage latencies, cache statistics, the TREC run and the qrels it was scored against.

**Metric names.** ``means`` is keyed by MLflow-safe names (``ndcg_at_10``, ``mrr``, ...);
:mod:`underfoot_lab.evaluation.metrics.catalog` lists them with their display names.

The ``_at_10`` domain metrics follow the run's ``k`` (``k=5`` gives ``hiddenness_at_5``); when
``k`` is not 5 or 10, ``ndcg_at_<k>`` and ``p_at_<k>`` are added. IR metrics come from
:func:`underfoot_lab.evaluation.metrics.kernel.evaluate` with ``on_missing="zero"``; every query of
the region set counts: a query that raised, or has no judgments, scores 0. Means skip NaN
(see :mod:`..metrics.domain` for which metrics can be NaN). NaN becomes ``null`` in JSON.

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
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, cast

from ...errors import ConfigError
from ..metrics.catalog import display_names
from .failures import FailureCounts

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from ...records import SearchResult
    from ..metrics.latency import CacheStats
    from ..regions import RegionQuery

__all__ = [
    "REPORT_FORMAT_VERSION",
    "SIMULATED_LABEL",
    "EvaluationReport",
    "LazyTable",
    "QueryOutcome",
    "RunConfig",
    "json_safe",
    "lazy_table",
]

REPORT_FORMAT_VERSION = 1
SIMULATED_LABEL = "offline world (simulated)"


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
    world: str | None = None
    """The offline world's scenario name (None: live sources, or a run from before scenarios)."""
    world_hash: str | None = None
    """The scenario's hash (its content and the world's code); a resume in another world, or
    after the world changed, differs here and is refused."""
    world_path: str | None = None
    """The scenario file when the world was given as a file (found again by it)."""

    NOT_COMPARED: ClassVar[tuple[str, ...]] = (
        "weights_path",
        "use_cache",
        "region_set_path",
        "git_dirty",
        "world_path",
    )

    @property
    def world_label(self) -> str:
        """``offline world 'null' (a1b2c3d4), simulated``, or ``live (<mode>)``."""
        from ...provenance import world_label

        return world_label(self.world, self.world_hash) if self.simulated else f"live ({self.mode})"

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


class LazyTable:
    """A report table not built yet: ``build()`` makes the DataFrame (importing pandas then),
    ``records`` are its rows as plain dicts when known (what the text summary and the JSON
    payload read, so a run that prints its report never imports pandas: ~0.5 s).

    Only :class:`EvaluationReport` holds one, in place of a DataFrame field; reading the field
    builds the DataFrame once and keeps it (:class:`_TableField`). Picklable when ``build`` is
    (a :func:`functools.partial` of module functions).
    """

    __slots__ = ("build", "records")

    def __init__(
        self, build: Callable[[], pd.DataFrame], records: list[dict[str, Any]] | None = None
    ) -> None:
        self.build = build
        self.records = records

    def __reduce__(self) -> tuple[Any, ...]:
        return (LazyTable, (self.build, self.records))


def lazy_table(
    build: Callable[[], pd.DataFrame], records: list[dict[str, Any]] | None = None
) -> pd.DataFrame:
    """A :class:`LazyTable` for a DataFrame field of :class:`EvaluationReport` (typed as the
    DataFrame the field returns when read)."""
    return cast("pd.DataFrame", LazyTable(build, records))


class _TableField:
    """The descriptor behind the report's DataFrame fields: the dataclass ``__init__`` stores
    a DataFrame or a :class:`LazyTable`; reading returns a DataFrame (built on first read)."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __get__(self, obj: Any, owner: Any = None) -> Any:
        if obj is None:
            return self
        value = obj.__dict__[self.name]
        if isinstance(value, LazyTable):
            value = value.build()
            obj.__dict__[self.name] = value
        return value

    def __set__(self, obj: Any, value: Any) -> None:
        obj.__dict__[self.name] = value


def _records(report: EvaluationReport, name: str) -> list[dict[str, Any]]:
    """A table's rows as dicts: the known rows of a table not built yet, else the frame's."""
    value = report.__dict__[name]
    if isinstance(value, LazyTable) and value.records is not None:
        return value.records
    frame: pd.DataFrame = getattr(report, name)
    return [{str(k): v for k, v in row.items()} for row in frame.to_dict("records")]


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
    failures: FailureCounts = field(default_factory=FailureCounts)
    """Errored queries, failed sources, fallback stages (:mod:`.failures`)."""

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
        from ..metrics.trec import ranked

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
            for row in _records(self, "latency")
        }
        per_region = {
            str(row["region"]): {c: v for c, v in row.items() if c != "region"}
            for row in _records(self, "per_region")
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
            "world": self.config.world if self.simulated else None,
            "world_hash": self.config.world_hash if self.simulated else None,
            "git_commit": self.git_commit,
            "queries": self.n_queries,
            "errors": self.n_errors,
            "failures": self.failures.to_dict(),
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

        from ..metrics.latency import LATENCY_COLUMNS, CacheStats
        from ..metrics.trec import read_qrels, read_run

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
            failures=FailureCounts.from_dict(meta.get("failures")),
        )

    # -------------------------------------------------------------------------- text
    def summary_table(self) -> str:
        """A plain-text summary: means, per-region nDCG@10, latency, cache, counts, labels."""
        from ...terminal import table

        cfg = self.config
        names = self.display_names()
        world = cfg.world_label
        lines = [
            f"Evaluation run {self.run_id} [{world}]",
            f"region set {cfg.region_set} ({self.region_set_hash[:12]}): {self.n_queries} "
            f"queries, {self.n_errors} errors, {self.n_judged} judged by {self.judges} "
            f"(qrels {self.judgments_hash[:12]})",
            f"scorer {cfg.scorer} (weights {cfg.weights}), k={cfg.k}, sources "
            f"{','.join(cfg.sources)}, git {(self.git_commit or 'unknown')[:10]}"
            + ("" if self.status == "complete" else f", status {self.status}"),
        ]
        failures = self.failures.summary_line()
        if failures:
            lines.append(failures)
        if self.failures.failure_reason:
            lines.append(f"error: {self.failures.failure_reason}: the metrics measure nothing")
        if self.n_judged == 0:
            lines.append("warning: no judged query: every IR metric is 0")
        lines.append("")
        rows = [
            [names.get(n, n), _fmt(v, 1 if n.endswith("_ms") else 4)] for n, v in self.means.items()
        ]
        lines.append(table(["metric", "mean"], rows, "lr"))
        regions = _records(self, "per_region")
        if regions:
            lines.append("")
            ndcg = "ndcg_at_10"
            region_rows = [
                [r["region"], int(r["n"]), int(r["errors"]), _fmt(float(r[ndcg]))] for r in regions
            ]
            lines.append(table(["region", "n", "errors", names[ndcg]], region_rows, "lrrr"))
        stages = _records(self, "latency")
        if stages:
            lines.append("")
            lat_rows = [
                [r["stage"], int(r["n"]), _fmt(r["p50"], 1), _fmt(r["p95"], 1)] for r in stages
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
            + (f" · {cfg.world_label}" if self.simulated else "")
        )
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (
            f"EvaluationReport(run_id={self.run_id!r}, region_set={self.config.region_set!r}, "
            f"n_queries={self.n_queries}, ndcg_at_10={self.means.get('ndcg_at_10', math.nan):.4f})"
        )


# The DataFrame fields, read through _TableField (the dataclass __init__ sets them with
# object.__setattr__, which goes through a data descriptor of the class).
for _name in ("per_query", "per_region", "latency"):
    setattr(EvaluationReport, _name, _TableField(_name))
