"""Trial generation: the search space, grid / random / Optuna TPE, and trials as arrays.

A :class:`Trial` is a number and a value per swept parameter; :class:`SearchSpace` turns it
into a full :class:`~underfoot_lab.pipeline.score.weights.ScoringWeights` (the base weights
with the swept values replaced) or, for many trials at once, into a :class:`TrialBatch` of
plain arrays (what workers score).

* **grid** -- every combination of each range's grid points, in order (the last parameter
  varies fastest);
* **random** -- ``numpy.random.default_rng(seed).random((n, n_params))`` mapped onto the ranges
  row by row, so the first 100 trials of a 1,000-trial sweep are the trials of a 100-trial one;
* **optuna** -- :class:`OptunaSearch`: a TPE study (``TPESampler(seed=...)``) asked for trials
  in batches (constant liar keeps a batch diverse), optionally on an RDB storage so several
  processes share one study.

Trials never depend on the executor: the same spec and seed give the same trials whether they
are scored in-process, on a process pool or on a Dask cluster.
"""

from __future__ import annotations

import itertools
import math
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import numpy.typing as npt

from ..errors import ConfigError
from ..pipeline.score.features import SCORED_FEATURES, FeatureParams
from ..pipeline.score.weights import ScoringWeights
from .spec import FEATURE_PARAMS, SCALAR_PARAMS, Constraint, ParamRange

if TYPE_CHECKING:  # pragma: no cover
    import optuna

    from ..settings import Settings

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

__all__ = [
    "OptunaSearch",
    "SearchSpace",
    "Trial",
    "TrialBatch",
    "default_storage",
    "open_storage",
]

_FEATURE_INDEX = {f: i for i, f in enumerate(SCORED_FEATURES)}
_INF = math.inf


@dataclass(frozen=True, slots=True)
class Trial:
    """One setting to evaluate: its number and a value per swept parameter."""

    number: int
    params: Mapping[str, float] = field(hash=False)


# ------------------------------------------------------------------------------ arrays
@dataclass(frozen=True, slots=True, eq=False)
class TrialBatch:
    """Many weight settings as arrays (what :func:`.evaluate.evaluate_batch` scores).

    ``matrix`` holds the feature weights in :data:`SCORED_FEATURES` order; ``inf`` stands for
    "no cap" / "no radius"; ``feature_params`` is ``[B, 3]``: half-distance, freshness window,
    post half-life (trials are scored in groups sharing them).
    """

    numbers: IntArray
    matrix: FloatArray
    cap: FloatArray
    keyword_cap: FloatArray
    threshold: FloatArray
    radius_km: FloatArray
    feature_params: FloatArray

    def __len__(self) -> int:
        return int(self.numbers.shape[0])

    def take(self, index: npt.ArrayLike) -> TrialBatch:
        """The trials at ``index`` (positions, not numbers)."""
        i = np.asarray(index, dtype=np.int64)
        return TrialBatch(
            self.numbers[i],
            self.matrix[i],
            self.cap[i],
            self.keyword_cap[i],
            self.threshold[i],
            self.radius_km[i],
            self.feature_params[i],
        )

    def split(self, size: int) -> list[TrialBatch]:
        """Consecutive chunks of at most ``size`` trials."""
        n = len(self)
        return [self.take(np.arange(a, min(a + size, n))) for a in range(0, n, max(size, 1))]

    def groups(self) -> Iterator[tuple[FeatureParams, IntArray]]:
        """(feature parameters, positions of the trials using them), in first-seen order."""
        if not len(self):
            return
        _, first, inverse = np.unique(
            self.feature_params, axis=0, return_index=True, return_inverse=True
        )
        inverse = inverse.reshape(-1)
        for g in np.argsort(first, kind="stable"):
            idx = np.flatnonzero(inverse == g).astype(np.int64)
            hd, win, hl = (float(v) for v in self.feature_params[idx[0]])
            yield FeatureParams(hd, win, hl), idx

    @classmethod
    def from_weights(
        cls, weights: Sequence[ScoringWeights], numbers: Sequence[int] | None = None
    ) -> TrialBatch:
        """Stack weights files (their caps, primary rule and feature parameters included)."""
        n = len(weights)
        nums = np.arange(n, dtype=np.int64) if numbers is None else np.asarray(numbers, np.int64)
        if any(w.diversity_lambda is not None for w in weights):
            raise ConfigError(
                "sweeps score without the MMR diversity re-rank; set diversity_lambda: null"
            )

        def col(values: Sequence[float | None]) -> FloatArray:
            return np.array([_INF if v is None else v for v in values], dtype=np.float64)

        return cls(
            numbers=nums,
            matrix=np.stack([w.vector() for w in weights])
            if n
            else np.zeros((0, len(SCORED_FEATURES))),
            cap=col([w.cap for w in weights]),
            keyword_cap=col([w.keyword_cap for w in weights]),
            threshold=col([w.primary_threshold for w in weights]),
            radius_km=col([w.primary_radius_km for w in weights]),
            feature_params=np.array(
                [
                    [w.half_distance_km, w.freshness_window_days, w.post_half_life_days]
                    for w in weights
                ],
                dtype=np.float64,
            ).reshape(n, 3),
        )


# ------------------------------------------------------------------------------ the space
def _from_unit(rng: ParamRange, u: FloatArray) -> FloatArray:
    """Uniform draws in [0, 1) -> values of the range (vectorised)."""
    if rng.values is not None:
        vals = np.asarray(rng.values, dtype=np.float64)
        idx = np.minimum((u * len(vals)).astype(np.int64), len(vals) - 1)
        out: FloatArray = vals[idx]
        return out
    assert rng.low is not None and rng.high is not None
    if rng.log:
        lo, hi = math.log(rng.low), math.log(rng.high)
        return np.clip(np.exp(lo + (hi - lo) * u), rng.low, rng.high)
    return rng.low + (rng.high - rng.low) * u


class SearchSpace:
    """The swept parameters (``ranges``) around fixed ``base`` weights."""

    def __init__(
        self, ranges: Mapping[str, ParamRange], base: ScoringWeights, *, grid_steps: int = 5
    ) -> None:
        if base.diversity_lambda is not None:
            raise ConfigError(
                f"base weights {base.name!r} use the MMR diversity re-rank, which sweeps do not "
                "score; set diversity_lambda: null"
            )
        unknown = [k for k in ranges if k not in _FEATURE_INDEX and k not in SCALAR_PARAMS]
        if unknown:
            raise ConfigError(f"unknown sweep parameter(s): {', '.join(unknown)}")
        self.ranges = dict(ranges)
        self.base = base
        self.grid_steps = grid_steps
        self.names: tuple[str, ...] = tuple(self.ranges)

    def __repr__(self) -> str:
        return f"SearchSpace({len(self.names)} parameters around {self.base.name!r})"

    # -------------------------------------------------------------- one trial
    def weights(
        self, params: Mapping[str, float], *, name: str | None = None, description: str = ""
    ) -> ScoringWeights:
        """The base weights with ``params`` applied (validated like a weights file)."""
        data = self.base.model_dump()
        feats = dict(self.base.weights)
        for key, value in params.items():
            if key in _FEATURE_INDEX:
                feats[key] = float(value)
            elif key in SCALAR_PARAMS:
                data[key] = float(value)
            else:
                raise KeyError(f"unknown sweep parameter {key!r}")
        data["weights"] = feats
        data["name"] = name or self.base.name
        data["description"] = description
        return ScoringWeights.model_validate(data)

    # -------------------------------------------------------------- many trials
    def batch(self, trials: Sequence[Trial]) -> TrialBatch:
        """The trials as arrays (equal to ``TrialBatch.from_weights`` of :meth:`weights`)."""
        n = len(trials)
        base = TrialBatch.from_weights([self.base])
        matrix = np.repeat(base.matrix, n, axis=0)
        scal = {
            "cap": np.repeat(base.cap, n),
            "keyword_cap": np.repeat(base.keyword_cap, n),
            "primary_threshold": np.repeat(base.threshold, n),
            "primary_radius_km": np.repeat(base.radius_km, n),
        }
        fparams = np.repeat(base.feature_params, n, axis=0)
        for name in self.names:
            col = np.array([float(t.params[name]) for t in trials], dtype=np.float64)
            if name in _FEATURE_INDEX:
                matrix[:, _FEATURE_INDEX[name]] = col
            elif name in FEATURE_PARAMS:
                fparams[:, FEATURE_PARAMS.index(name)] = col
            else:
                scal[name] = col
        return TrialBatch(
            numbers=np.array([t.number for t in trials], dtype=np.int64),
            matrix=matrix,
            cap=scal["cap"],
            keyword_cap=scal["keyword_cap"],
            threshold=scal["primary_threshold"],
            radius_km=scal["primary_radius_km"],
            feature_params=fparams,
        )

    def grid_points(self) -> int:
        return math.prod(len(r.grid(self.grid_steps)) for r in self.ranges.values())

    def grid(self) -> list[Trial]:
        """Every grid point, numbered from 0 (the last parameter varies fastest)."""
        axes = [self.ranges[n].grid(self.grid_steps) for n in self.names]
        return [
            Trial(i, dict(zip(self.names, (float(v) for v in point), strict=True)))
            for i, point in enumerate(itertools.product(*axes))
        ]

    def random(self, n: int, seed: int, *, start: int = 0) -> list[Trial]:
        """Trials ``start .. start + n - 1`` of the random sequence for ``seed``."""
        if n <= 0:
            return []
        rng = np.random.default_rng(seed)
        u = rng.random((start + n, len(self.names)))[start:]
        cols = [_from_unit(self.ranges[name], u[:, j]) for j, name in enumerate(self.names)]
        values = np.stack(cols, axis=1) if cols else np.zeros((n, 0))
        return [
            Trial(start + i, dict(zip(self.names, map(float, row), strict=True)))
            for i, row in enumerate(values.tolist())
        ]

    def diff(self, params: Mapping[str, float], other: ScoringWeights) -> dict[str, Any]:
        """Parameters whose value differs from ``other``'s (for summaries)."""
        w = self.weights(params)
        out: dict[str, Any] = {}
        for name in (*SCORED_FEATURES, *SCALAR_PARAMS):
            a = w.weight(name) if name in _FEATURE_INDEX else getattr(w, name)
            b = other.weight(name) if name in _FEATURE_INDEX else getattr(other, name)
            if a != b:
                out[name] = (b, a)
        return out


# ------------------------------------------------------------------------------ optuna
def default_storage(settings: Settings) -> str:
    """``sqlite:///<settings.home, absolute>/optuna.sqlite3``."""
    home = Path(settings.home).expanduser().resolve()
    return f"sqlite:///{home / 'optuna.sqlite3'}"


def open_storage(url: str | None) -> Any:
    """An Optuna storage for ``url`` (None or ``memory``: a new in-memory storage;
    ``sqlite:///`` files get their directory created and a generous lock timeout, as several
    processes may share them)."""
    from ..errors import require_extra

    require_extra("optuna", "sweeps")
    import optuna

    if url is None or url in ("memory", ":memory:"):
        return optuna.storages.InMemoryStorage()

    kwargs: dict[str, Any] = {}
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///").split("?", 1)[0])
        if str(path) and str(path) != ":memory:":
            path.expanduser().parent.mkdir(parents=True, exist_ok=True)
        kwargs["engine_kwargs"] = {"connect_args": {"timeout": 60}}
    try:
        return optuna.storages.RDBStorage(url, **kwargs)
    except Exception as exc:  # a bad URL or an unreachable database: say which, in one line
        raise ConfigError(f"cannot open Optuna storage: {type(exc).__name__}: {exc}") from None


def _constraint_values(trial: optuna.trial.FrozenTrial) -> Sequence[float]:
    return list(trial.user_attrs.get("constraints", ()))


class OptunaSearch:
    """A TPE study asked for trials in batches and told their objective values.

    ``storage`` is a storage from :func:`open_storage` (None: a new in-memory one). The study
    is created or, when it exists in the storage, joined (``load_if_exists``), so processes
    running the same spec against the same storage share it. A fresh study samples with
    ``seed``; joining one that already has trials uses ``seed`` plus a random offset, so two
    processes do not repeat each other's startup trials.
    """

    def __init__(
        self,
        space: SearchSpace,
        *,
        study_name: str,
        seed: int,
        maximize: bool,
        storage: Any = None,
        constraints: Sequence[Constraint] = (),
    ) -> None:
        from ..errors import require_extra

        require_extra("optuna", "sweeps")
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        self.space = space
        self.constraints = tuple(constraints)
        self.distributions: dict[str, Any] = {}
        for name in space.names:
            r = space.ranges[name]
            if r.values is not None:
                self.distributions[name] = optuna.distributions.CategoricalDistribution(
                    list(r.values)
                )
            else:
                assert r.low is not None and r.high is not None
                self.distributions[name] = optuna.distributions.FloatDistribution(
                    r.low, r.high, log=r.log
                )
        direction: Literal["maximize", "minimize"] = "maximize" if maximize else "minimize"
        storage = storage if storage is not None else optuna.storages.InMemoryStorage()
        probe = optuna.create_study(
            storage=storage, study_name=study_name, direction=direction, load_if_exists=True
        )
        existing = len(probe.get_trials(deepcopy=False))
        self.joined = existing > 0
        sampler_seed = seed if not self.joined else seed + int.from_bytes(os.urandom(3), "big")
        # Optuna 5 reads constraints set on the trial; Optuna 4 needs a constraints_func.
        self._set_constraint = hasattr(optuna.trial.Trial, "set_constraint")
        use_func = bool(self.constraints) and not self._set_constraint
        sampler = optuna.samplers.TPESampler(
            seed=sampler_seed, constraints_func=_constraint_values if use_func else None
        )
        self.study = optuna.load_study(study_name=study_name, storage=storage, sampler=sampler)
        self.name = study_name
        self._pending: dict[int, Any] = {}
        self.asked = 0

    def ask(self, n: int) -> list[Trial]:
        """``n`` new trials (sampled now; pending until told)."""
        out = []
        for _ in range(n):
            t = self.study.ask(fixed_distributions=self.distributions)
            self._pending[t.number] = t
            out.append(Trial(t.number, {k: float(v) for k, v in t.params.items()}))
        self.asked += n
        return out

    def tell(
        self, number: int, value: float, attrs: Mapping[str, float], violations: Sequence[float]
    ) -> None:
        """Finish trial ``number`` with its objective ``value``; ``attrs`` (every metric) and
        the constraint values (<= 0: satisfied) are stored on the trial."""
        t = self._pending.pop(number)
        for key, v in attrs.items():
            t.set_user_attr(key, None if math.isnan(v) else float(v))
        if self.constraints:
            values = [float(v) for v in violations]
            t.set_user_attr("constraints", values)
            if self._set_constraint:
                for c, v in zip(self.constraints, values, strict=True):
                    t.set_constraint(str(c), v)
        if math.isnan(value):
            import optuna

            self.study.tell(t, state=optuna.trial.TrialState.FAIL)
        else:
            self.study.tell(t, float(value))

    def completed(self) -> list[Any]:
        """Every COMPLETE trial of the study (this process's and any other's)."""
        import optuna

        return list(
            self.study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
        )
