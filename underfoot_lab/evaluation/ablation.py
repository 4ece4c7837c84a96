"""Feature ablation of a weights file over a frozen pool: what each feature is worth.

:func:`ablate` scores a :class:`~underfoot_lab.evaluation.candidate_pools.Pool` with

* the full weights (``full``),
* each feature of the file alone, at its own weight, every other weight 0 (``single_feature``),
* the weights with each feature removed (set to 0; ``leave_one_out``),

and reports nDCG@k (mean over the pool's queries, trec_eval semantics, exact scores so ties
break as the pipeline breaks them: :meth:`Pool.ndcg`). Only features the file weighs (non-zero
weight) are ablated; caps, the primary rule and the feature parameters stay as in the file. The
seed scorer's value on the same pool (``seed``, seed rules on merged places) is given for scale.

:func:`ablation_pool` loads the region set's frozen pool of the settings' world, building and
writing it first when missing (as ``underfoot-lab sweep`` does).
``underfoot-lab ablate`` is the CLI; :func:`underfoot_lab.viz.ablation.ablation_figure` the
figure of the report notebook.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from ..pipeline.score.weights import ScoringWeights
    from ..settings import Settings
    from .candidate_pools import Pool

__all__ = ["Ablation", "ablate", "ablation_pool", "load_ablation_weights"]


@dataclass(frozen=True)
class Ablation:
    """The result of :func:`ablate` (``--json`` keys are the field names)."""

    weights: str
    """The weights' name."""
    weights_version: str
    """``ScoringWeights.version`` (name and hash)."""
    region_set: str
    queries: int
    k: int
    full: float
    """nDCG@k of the full weights."""
    seed: float
    """nDCG@k of the seed rules on merged places on the same pool (for scale)."""
    single_feature: dict[str, float]
    """feature -> nDCG@k of that feature alone (at its weight in the file)."""
    leave_one_out: dict[str, float]
    """feature -> nDCG@k of the weights without that feature."""
    world: str | None = None
    """The scenario world the pool was built in (None: live data)."""
    world_hash: str | None = None
    pool_key: str = ""

    def to_dict(self) -> dict[str, Any]:
        """The fields as a JSON-ready dict."""
        return asdict(self)

    def table(self) -> str:
        """A plain-text table: one row per feature, sorted by the loss when it is removed."""
        from ..terminal import table

        rows = [
            [
                f,
                f"{self.single_feature[f]:.4f}",
                f"{self.leave_one_out[f]:.4f}",
                f"{self.leave_one_out[f] - self.full:+.4f}",
            ]
            for f in sorted(self.leave_one_out, key=lambda f: self.leave_one_out[f])
        ]
        head = (
            f"ablation of {self.weights} on {self.region_set} ({self.queries} queries"
            f"{', world ' + self.world if self.world else ''}): nDCG@{self.k} full "
            f"{self.full:.4f}, seed rules {self.seed:.4f}"
        )
        headers = ["feature", "alone", "without", "without - full"]
        return head + "\n" + table(headers, rows, "lrrr")


def load_ablation_weights(path: str | Path) -> ScoringWeights:
    """A weights vector from YAML; ConfigError for a file selecting a system (production's)."""
    from ..pipeline.score.base import require_weights_vector
    from ..pipeline.score.weights import ScoringWeights

    require_weights_vector(path, "weights")
    return ScoringWeights.from_yaml(path)


def ablate(pool: Pool, weights: ScoringWeights, *, k: int = 10) -> Ablation:
    """Single-feature, leave-one-out and full nDCG@k of ``weights`` on ``pool``."""
    from ..pipeline.score.weights import ScoringWeights

    used = [f for f, w in weights.weights.items() if w != 0.0]
    if not used:
        from ..errors import ConfigError

        raise ConfigError(f"weights {weights.name}: no non-zero feature weight to ablate")
    base = weights.model_dump()

    def variant(feature_weights: dict[str, float]) -> ScoringWeights:
        return ScoringWeights.model_validate({**base, "weights": feature_weights})

    singles = [variant({f: weights.weights[f]}) for f in used]
    dropped = [variant({g: w for g, w in weights.weights.items() if g != f}) for f in used]
    # one exact scoring call per parameter setting; all variants share the file's parameters
    scores = pool.scores([weights, *singles, *dropped], exact=True)
    ndcg = np.asarray(pool.ndcg(scores, k), dtype=np.float64)
    seed = _seed_ndcg(pool, k)
    n = len(used)
    m = pool.manifest
    return Ablation(
        weights=weights.name,
        weights_version=weights.version,
        region_set=m.region_set,
        queries=len(pool),
        k=k,
        full=float(ndcg[0]),
        seed=seed,
        single_feature={f: float(v) for f, v in zip(used, ndcg[1 : 1 + n], strict=True)},
        leave_one_out={f: float(v) for f, v in zip(used, ndcg[1 + n :], strict=True)},
        pool_key=m.pool_key,
    )


def _seed_ndcg(pool: Pool, k: int) -> float:
    """nDCG@k of ``experiments/weights/baseline-seed.yaml`` (the seed rules, bit for bit)."""
    from ..pipeline.score.weights import ScoringWeights

    seed_file = Path(__file__).resolve().parents[2] / "experiments/weights/baseline-seed.yaml"
    if not seed_file.is_file():  # pragma: no cover - installed without the repository
        return float("nan")
    seed = ScoringWeights.from_yaml(seed_file)
    return float(pool.ndcg(pool.scores(seed, exact=True), k)[0])


def ablation_pool(
    region_set: str | Path,
    *,
    settings: Settings,
    log: Callable[[str], None] = lambda _: None,
) -> tuple[Pool, Path, bool]:
    """(pool, its directory, whether it was built now) of ``region_set`` in the settings' world.

    The default pool directory of the set (``<home>/pools/<set>-<key12>``, shared with
    ``underfoot-lab sweep`` in the default world); in another scenario world the key also
    covers the scenario's name and hash, as the pool key itself does not carry them yet
    (issue 12), so pools of two worlds never share a directory.
    """
    from ..pipeline.score.features import FeatureParams
    from .candidate_pools import build_pool, default_pool_dir, load_or_build, pool_key
    from .regions import load_region_set

    rs = load_region_set(region_set)
    key = pool_key(rs.hash, settings, FeatureParams(), simulated=True)
    if settings.world != "default":
        from ..world.scenario import load_scenario

        scenario = load_scenario(settings.world)
        payload = {"pool": key, "world": scenario.name, "world_hash": scenario.hash}
        key = hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()
    out = default_pool_dir(settings, rs.name, key)
    pool, built = load_or_build(
        out,
        lambda: build_pool(rs, settings=settings, params=FeatureParams()),
        log=lambda msg: log(
            f"no frozen pool for region set {rs.name!r} in world {settings.world!r}; {msg}"
        ),
    )
    return pool, out, built
