"""Sweep specs: what a weight experiment searches, how it is scored and validated.

A spec is a YAML file (``experiments/sweeps/*.yaml``) validated by :class:`SweepSpec`; every
problem is a one-line :class:`~underfoot_lab.errors.ConfigError` naming the file and the field::

    name: random-all
    region_set: all
    base_weights: experiments/weights/tuned-default-world.yaml   # fields not swept come from here
    ranges:
      "*": {low: -1.0, high: 1.0}        # every scored feature not named below
      text_bm25: {low: 0.0, high: 0.5}
      keyword_cap: {low: 0.05, high: 1.0, log: true}
      half_distance_km: [5, 10, 20]      # a list: exactly these values
    method: random                       # grid | random | optuna (TPE)
    trials: 1000
    seed: 0
    objective: nDCG@10
    secondary: [hiddenness@10, geo_precision@10]
    constraints: ["geo_precision@10 >= 0.5"]
    validation:
      holdout: {regions: [gulf-coast, ozarks]}   # or {fraction: 0.3, seed: 0}
      # kfold: {k: 7}                            # k folds of regions (no k: one per region)

Parameters are scored features (a weight each) or the scalar fields of
:class:`~underfoot_lab.pipeline.score.weights.ScoringWeights` listed in :data:`SCALAR_PARAMS`.
Metric names accept the report's names and spellings (``nDCG@10``, ``ndcg_at_10``, ``P@5``,
``RR``/``mrr``, ``AP``/``map``, ``hiddenness@10``, ``geo_precision@10``, ``nearby_ratio``,
``corroboration@10``, ``expired_event_rate@10``) and are stored as MLflow-safe names
(``ndcg_at_10``, ``hiddenness_at_10``, ...).
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, cast

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from ..config import content_hash, file_hash, load_model, validation_message
from ..errors import ConfigError
from ..pipeline.score.features import SCORED_FEATURES
from ..pipeline.score.weights import SCALAR_FIELDS

__all__ = [
    "DEFAULT_SECONDARY",
    "FEATURE_PARAMS",
    "SCALAR_PARAMS",
    "Constraint",
    "HoldoutSpec",
    "KFoldSpec",
    "MetricRef",
    "ParamRange",
    "SweepSpec",
    "ValidationSpec",
    "load_spec",
    "parse_constraint",
    "parse_metric",
    "repo_root",
    "resolve_path",
]

SCALAR_PARAMS: tuple[str, ...] = tuple(f for f in SCALAR_FIELDS if f != "diversity_lambda")
"""ScoringWeights fields a sweep may vary besides the feature weights."""
FEATURE_PARAMS: tuple[str, ...] = (
    "half_distance_km",
    "freshness_window_days",
    "post_half_life_days",
)
"""Scalar parameters that change feature columns (trials are grouped by them)."""
POSITIVE_PARAMS = frozenset(FEATURE_PARAMS)
ALL_PARAMS: tuple[str, ...] = (*SCORED_FEATURES, *SCALAR_PARAMS)
DEFAULT_OBJECTIVE = "ndcg_at_10"
DEFAULT_SECONDARY: tuple[str, ...] = ("hiddenness_at_10", "geo_precision_at_10")
MAX_GRID = 1_000_000
_NAME_RE = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"


# ------------------------------------------------------------------------------ metrics
@dataclass(frozen=True, slots=True)
class MetricRef:
    """A metric a sweep computes: its MLflow-safe name and how to compute it."""

    name: str
    """MLflow-safe name (``ndcg_at_10``, ``hiddenness_at_10``, ``nearby_ratio``)."""
    display: str
    kind: Literal["ir", "domain"]
    measure: str | None = None
    """Canonical measure for :mod:`underfoot_lab.evaluation.metrics` (IR metrics)."""
    domain: str | None = None
    """``hiddenness``, ``geo_precision``, ``corroboration``, ``expired_event_rate`` or
    ``nearby_ratio`` (domain metrics)."""
    k: int | None = None
    higher_is_better: bool = True


_DOMAIN_ALIASES = {
    "hiddenness": "hiddenness",
    "geo_precision": "geo_precision",
    "geop": "geo_precision",
    "geo_p": "geo_precision",
    "corroboration": "corroboration",
    "expired_event_rate": "expired_event_rate",
    "expired": "expired_event_rate",
}
_DOMAIN_DISPLAY = {
    "hiddenness": "Hiddenness@{k}",
    "geo_precision": "GeoP@{k}",
    "corroboration": "Corroboration@{k}",
    "expired_event_rate": "Expired@{k}",
}
_DOMAIN_RE = re.compile(r"^(?P<name>[a-z_]+?)(?:@|_at_|_)(?P<k>\d+)$")
KNOWN_METRICS = (
    "nDCG@k, P@k, R@k, RR (mrr), AP (map), hiddenness@k, geo_precision@k, corroboration@k, "
    "expired_event_rate@k, nearby_ratio"
)


def parse_metric(text: str) -> MetricRef:
    """A metric name as written in a spec or on the command line -> :class:`MetricRef`.

    Raises :class:`ValueError` with the known names for anything else.
    """
    from ..evaluation.metrics.measure_names import parse_measure

    raw = str(text).strip()
    low = raw.lower().replace("-", "_")
    if low in ("nearby_ratio", "nearby"):
        return MetricRef(
            "nearby_ratio", "Nearby ratio", "domain", domain="nearby_ratio", higher_is_better=True
        )
    m = _DOMAIN_RE.match(low)
    if m and m.group("name") in _DOMAIN_ALIASES:
        kind = _DOMAIN_ALIASES[m.group("name")]
        k = int(m.group("k"))
        if k < 1:
            raise ValueError(f"cutoff must be a positive integer in {raw!r}")
        return MetricRef(
            f"{kind}_at_{k}",
            _DOMAIN_DISPLAY[kind].format(k=k),
            "domain",
            domain=kind,
            k=k,
            higher_is_better=kind != "expired_event_rate",
        )
    try:
        measure = parse_measure(re.sub(r"_at_(\d+)", r"@\1", raw, flags=re.IGNORECASE))
    except ValueError:
        raise ValueError(f"unknown metric {raw!r}; known: {KNOWN_METRICS}") from None
    base = {"nDCG": "ndcg", "P": "p", "R": "r", "RR": "mrr", "AP": "map"}[measure.name]
    if measure.name == "nDCG" and measure.option("gain") == "exp":
        base = "ndcg_exp"
    name = base if measure.cutoff is None else f"{base}_at_{measure.cutoff}"
    display = {"RR": "MRR", "AP": "MAP"}.get(str(measure), str(measure))
    return MetricRef(name, display, "ir", measure=str(measure), k=measure.cutoff)


# ------------------------------------------------------------------------------ constraints
_OPS: dict[str, Any] = {
    ">=": lambda a, b: a >= b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    "<": lambda a, b: a < b,
}
_CONSTRAINT_RE = re.compile(
    r"^\s*(?P<metric>[A-Za-z][A-Za-z0-9_@.\-()=]*?)\s*(?P<op>>=|<=|>|<)\s*(?P<value>\S+)\s*$"
)


@dataclass(frozen=True, slots=True)
class Constraint:
    """``metric op value`` on a trial's tuning metrics (``geo_precision_at_10 >= 0.8``)."""

    metric: str
    op: Literal[">=", "<=", ">", "<"]
    value: float

    def __str__(self) -> str:
        return f"{self.metric} {self.op} {self.value:g}"

    def ok(self, value: float) -> bool:
        """Whether ``value`` satisfies the constraint (NaN never does)."""
        return bool(not math.isnan(value) and _OPS[self.op](value, self.value))

    def violation(self, value: float) -> float:
        """How far ``value`` is from satisfying it (0 when it does; inf for NaN)."""
        if math.isnan(value):
            return math.inf
        if self.ok(value):
            return 0.0
        return abs(value - self.value) + (1e-12 if value == self.value else 0.0)


def parse_constraint(text: str) -> Constraint:
    """``"geo_precision@10 >= 0.8"`` -> :class:`Constraint` (ValueError otherwise)."""
    m = _CONSTRAINT_RE.match(str(text))
    if not m:
        raise ValueError(f"constraint {text!r} is not 'METRIC OP VALUE' (OP one of >=, <=, >, <)")
    try:
        value = float(m.group("value"))
    except ValueError:
        raise ValueError(f"constraint {text!r}: {m.group('value')!r} is not a number") from None
    if not math.isfinite(value):
        raise ValueError(f"constraint {text!r}: the bound must be finite")
    op = cast(Literal[">=", "<=", ">", "<"], m.group("op"))
    return Constraint(parse_metric(m.group("metric")).name, op, value)


# ------------------------------------------------------------------------------ ranges
class ParamRange(BaseModel):
    """Where one parameter is searched: ``low``/``high`` (optionally log-scaled) or ``values``.

    Random search draws uniformly (log-uniformly with ``log``) in ``[low, high]`` or picks one
    of ``values``; grid search takes ``values`` or ``steps`` evenly spaced points (geometric
    with ``log``) from ``low`` to ``high``; Optuna suggests a float (``log`` honoured) or a
    categorical over ``values``. A YAML list is shorthand for ``values``.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    low: float | None = None
    high: float | None = None
    log: bool = False
    values: tuple[float, ...] | None = None
    steps: int | None = Field(None, ge=2, le=1000)

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        if isinstance(data, list | tuple):
            return {"values": list(data)}
        if isinstance(data, int | float) and not isinstance(data, bool):
            return {"values": [data]}
        return data

    @model_validator(mode="after")
    def _check(self) -> ParamRange:
        if self.values is not None:
            if self.low is not None or self.high is not None:
                raise ValueError("give either low/high or values, not both")
            if not self.values:
                raise ValueError("values must not be empty")
            if any(not math.isfinite(v) for v in self.values):
                raise ValueError("values must be finite numbers")
            if len(set(self.values)) != len(self.values):
                raise ValueError("values must be distinct")
            if self.log:
                raise ValueError("log applies to low/high ranges, not to values")
            if self.steps is not None:
                raise ValueError("steps applies to low/high ranges, not to values")
            return self
        if self.low is None or self.high is None:
            raise ValueError("needs low and high (or values)")
        if not (math.isfinite(self.low) and math.isfinite(self.high)):
            raise ValueError("low and high must be finite numbers")
        if not self.low < self.high:
            raise ValueError(f"low ({self.low:g}) must be below high ({self.high:g})")
        if self.log and self.low <= 0:
            raise ValueError("a log-scaled range needs low > 0")
        return self

    @property
    def is_choice(self) -> bool:
        return self.values is not None

    def grid(self, default_steps: int = 5) -> tuple[float, ...]:
        """The grid points of this range."""
        if self.values is not None:
            return self.values
        assert self.low is not None and self.high is not None
        n = self.steps or default_steps
        if self.log:
            lo, hi = math.log(self.low), math.log(self.high)
            pts = [math.exp(lo + (hi - lo) * i / (n - 1)) for i in range(n)]
            pts[0], pts[-1] = self.low, self.high
            return tuple(pts)
        return tuple(self.low + (self.high - self.low) * i / (n - 1) for i in range(n))

    def describe(self) -> str:
        if self.values is not None:
            return "{" + ", ".join(f"{v:g}" for v in self.values) + "}"
        return f"[{self.low:g}, {self.high:g}]" + (" log" if self.log else "")


# ------------------------------------------------------------------------------ validation
class HoldoutSpec(BaseModel):
    """Hold some regions out: named (``regions``) or a random ``fraction`` of them."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    regions: tuple[str, ...] | None = None
    fraction: float | None = Field(None, gt=0.0, lt=1.0)
    seed: int | None = None
    """Seed of the random pick (default: the spec's seed)."""

    @model_validator(mode="after")
    def _one(self) -> HoldoutSpec:
        if (self.regions is None) == (self.fraction is None):
            raise ValueError("give either regions or fraction")
        if self.regions is not None:
            if not self.regions:
                raise ValueError("regions must not be empty")
            if len(set(self.regions)) != len(self.regions):
                raise ValueError("regions are listed twice")
            if self.seed is not None:
                raise ValueError("seed applies to fraction, not to named regions")
        return self


class KFoldSpec(BaseModel):
    """K-fold cross-validation by region (``k`` omitted: one fold per region)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    k: int | None = Field(None, ge=2)
    seed: int | None = None
    """Seed of the region shuffle when ``k`` is below the number of regions."""


class ValidationSpec(BaseModel):
    """Exactly one of ``holdout`` or ``kfold``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    holdout: HoldoutSpec | None = None
    kfold: KFoldSpec | None = None

    @model_validator(mode="after")
    def _one(self) -> ValidationSpec:
        if (self.holdout is None) == (self.kfold is None):
            raise ValueError("give exactly one of holdout or kfold")
        return self

    def describe(self) -> str:
        if self.holdout is not None:
            h = self.holdout
            if h.regions is not None:
                return "holdout regions " + ", ".join(h.regions)
            seed = "the spec's" if h.seed is None else str(h.seed)
            return f"holdout {h.fraction:g} of the regions (seed {seed})"
        assert self.kfold is not None
        return f"{self.kfold.k}-fold by region" if self.kfold.k else "leave-one-region-out"


def _default_validation() -> ValidationSpec:
    return ValidationSpec(holdout=HoldoutSpec(fraction=0.3))


# ------------------------------------------------------------------------------ the spec
class SweepSpec(BaseModel):
    """One weight experiment (see the module docstring). Frozen; ``model_copy(update=...)``
    for command-line overrides, then :meth:`checked` to re-validate."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=_NAME_RE, max_length=80)
    description: str = ""
    region_set: str | None = None
    """Region set name or YAML path (None: the pool's, else ``all``)."""
    pool: str | None = None
    """A frozen pool directory (None: the default pool of the region set, built if missing)."""
    base_weights: str = "experiments/weights/tuned-default-world.yaml"
    baselines: dict[str, str] = Field(
        default_factory=lambda: {
            "baseline-seed": "experiments/weights/baseline-seed.yaml",
            "tuned-default-world": "experiments/weights/tuned-default-world.yaml",
        }
    )
    """Weights the winner is compared with on the held-out queries (name -> YAML)."""
    ranges: dict[str, ParamRange]
    method: Literal["grid", "random", "optuna"] = "random"
    trials: int | None = Field(None, ge=1, le=10_000_000)
    """Random/Optuna: trials to run (default 100). Grid: every point (must be >= the grid)."""
    grid_steps: int = Field(5, ge=2, le=1000)
    """Points per low/high range on a grid (a range's own ``steps`` wins)."""
    seed: int = 0
    objective: str = DEFAULT_OBJECTIVE
    secondary: tuple[str, ...] = DEFAULT_SECONDARY
    constraints: tuple[str, ...] = ()
    validation: ValidationSpec = Field(default_factory=_default_validation)
    pareto: tuple[str, str] = ("ndcg_at_10", "hiddenness_at_10")
    """The two metrics of the Pareto front (both maximised)."""
    top: int = Field(5, ge=0, le=100)
    """Child MLflow runs for this many best trials (plus the Pareto front)."""
    max_pareto_runs: int = Field(25, ge=0, le=1000)
    batch_size: int | None = Field(None, ge=1, le=100_000)
    """Trials per task sent to a worker (default: chosen from trials and workers)."""
    n_resamples: int = Field(10_000, ge=100, le=1_000_000)
    """Resamples of the randomization test and the bootstrap intervals."""
    storage: str | None = None
    """Optuna storage URL (None: ``sqlite:///<home>/optuna.sqlite3``; ``memory``: in memory)."""
    study_name: str | None = None
    """Optuna study name prefix (None: ``<name>-<hash of the spec>``); processes using the same
    storage and name share one study."""
    experiment: str = "underfoot-sweeps"
    """MLflow experiment."""

    # -------------------------------------------------------------- validators
    @field_validator("ranges", mode="before")
    @classmethod
    def _expand(cls, value: Any) -> Any:
        if not isinstance(value, Mapping):
            return value
        out: dict[str, Any] = {}
        star = value.get("*")
        for key, rng in value.items():
            if key == "*":
                continue
            key = str(key)
            if key not in ALL_PARAMS:
                close = difflib.get_close_matches(key, ALL_PARAMS, n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                raise ValueError(
                    f"unknown parameter {key!r}{hint}; parameters are the scored features and "
                    f"{', '.join(SCALAR_PARAMS)}"
                )
            out[key] = rng
        if star is not None:
            for f in SCORED_FEATURES:
                out.setdefault(f, star)
        # Canonical order (features in registry order, then scalars) so trials never depend
        # on the order a file lists its ranges in.
        return {k: out[k] for k in ALL_PARAMS if k in out}

    @field_validator("ranges")
    @classmethod
    def _ranges(cls, value: dict[str, ParamRange]) -> dict[str, ParamRange]:
        if not value:
            raise ValueError("no parameter to sweep")
        for key, rng in value.items():
            pts = rng.values if rng.values is not None else (rng.low, rng.high)
            if key in POSITIVE_PARAMS and any(p is not None and p <= 0 for p in pts):
                raise ValueError(f"{key} must stay positive")
        return value

    @field_validator("objective")
    @classmethod
    def _objective(cls, value: str) -> str:
        return parse_metric(value).name

    @field_validator("secondary")
    @classmethod
    def _secondary(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(dict.fromkeys(parse_metric(v).name for v in value))

    @field_validator("pareto")
    @classmethod
    def _pareto(cls, value: tuple[str, str]) -> tuple[str, str]:
        a, b = (parse_metric(v).name for v in value)
        if a == b:
            raise ValueError("the two Pareto metrics must differ")
        return a, b

    @field_validator("constraints", mode="before")
    @classmethod
    def _constraints(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [value]
        if isinstance(value, list | tuple):
            return tuple(str(parse_constraint(v)) for v in value)
        return value

    @model_validator(mode="after")
    def _method(self) -> SweepSpec:
        if self.method == "grid":
            size = self.grid_size()
            if size > MAX_GRID:
                raise ValueError(f"the grid has {size:,} points (at most {MAX_GRID:,})")
            if self.trials is not None and self.trials < size:
                raise ValueError(
                    f"the grid has {size} points but trials is {self.trials}; drop trials or "
                    f"make the grid smaller"
                )
        return self

    # -------------------------------------------------------------- derived
    def grid_size(self) -> int:
        return math.prod(len(r.grid(self.grid_steps)) for r in self.ranges.values())

    @property
    def n_trials(self) -> int:
        """Trials this process runs (grid: its size)."""
        if self.method == "grid":
            return self.grid_size()
        return self.trials if self.trials is not None else 100

    @property
    def constraint_list(self) -> tuple[Constraint, ...]:
        return tuple(parse_constraint(c) for c in self.constraints)

    def metrics(self) -> tuple[MetricRef, ...]:
        """Every metric the sweep computes: the objective, the secondary ones, the
        constraints' and the Pareto axes', then nDCG@10, hiddenness@10, geo precision@10."""
        names = [
            self.objective,
            *self.secondary,
            *(c.metric for c in self.constraint_list),
            *self.pareto,
            "ndcg_at_10",
            "hiddenness_at_10",
            "geo_precision_at_10",
            "nearby_ratio",
        ]
        return tuple(parse_metric(n) for n in dict.fromkeys(names))

    def report_metrics(self) -> tuple[str, ...]:
        """The metrics summaries and comparisons show: objective then secondary."""
        return tuple(dict.fromkeys([self.objective, *self.secondary]))

    def study_key(self) -> str:
        """sha256 of what defines the search (not ``trials``, reporting or bookkeeping), for
        naming Optuna studies: the same spec in several processes shares a study."""
        data = self.model_dump(
            mode="json",
            include={
                "region_set",
                "base_weights",
                "ranges",
                "method",
                "seed",
                "objective",
                "constraints",
                "validation",
                "grid_steps",
            },
        )
        data["base_weights"] = _file_digest(self.base_weights)
        return content_hash(data)

    def spec_hash(self) -> str:
        """sha256 of the whole validated spec (canonical JSON)."""
        return content_hash(self)

    def to_yaml_text(self) -> str:
        return yaml.safe_dump(
            self.model_dump(mode="json", exclude_none=True), sort_keys=False, width=100
        )

    def with_overrides(self, **changes: Any) -> SweepSpec:
        """A copy with some fields replaced (None values are ignored), validated again."""
        data = self.model_dump(mode="python")
        data.update({k: v for k, v in changes.items() if v is not None})
        return _validate(data, "sweep spec")


def _file_digest(path: str) -> str:
    try:
        return file_hash(resolve_path(path))
    except OSError:
        return path


# ------------------------------------------------------------------------------ paths
def repo_root() -> Path:
    """The checkout this package lives in (the first parent holding ``experiments/``), else
    the current directory."""
    for parent in Path(__file__).resolve().parents:
        if (parent / "experiments").is_dir() and (parent / "pyproject.toml").is_file():
            return parent
    return Path.cwd()


def resolve_path(path: str | Path) -> Path:
    """A spec path: absolute as is; relative to the current directory when it exists there,
    else to the repository root (so specs work from any directory)."""
    p = Path(path).expanduser()
    if p.is_absolute() or p.exists():
        return p
    alt = repo_root() / p
    return alt if alt.exists() else p


# ------------------------------------------------------------------------------ loading
def _validate(data: Mapping[str, Any], where: str) -> SweepSpec:
    try:
        return SweepSpec.model_validate(dict(data))
    except ValidationError as exc:
        raise ConfigError(f"{where}: {validation_message(exc)}") from None


def load_spec(path: str | Path, **overrides: Any) -> SweepSpec:
    """Read and validate a spec file (``name`` defaults to the file's stem); ``overrides``
    (None values ignored) replace fields before validation. Problems are one-line
    :class:`ConfigError`\\ s (see :mod:`underfoot_lab.config`)."""
    p = resolve_path(path)

    def prepare(data: dict[str, Any]) -> None:
        data.setdefault("name", p.stem)
        data.update({k: v for k, v in overrides.items() if v is not None})

    return load_model(p, SweepSpec, "sweep spec", prepare=prepare)


def spec_from_options(**fields: Any) -> SweepSpec:
    """A spec from keyword fields alone (the command line without ``--spec``): every scored
    feature in [-1, 1] unless ``ranges`` is given, name ``adhoc`` unless given."""
    data = {k: v for k, v in fields.items() if v is not None}
    data.setdefault("name", "adhoc")
    data.setdefault("ranges", {"*": {"low": -1.0, "high": 1.0}})
    return _validate(data, "sweep options")
