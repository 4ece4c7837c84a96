"""One paired comparison in several scenario worlds: does a verdict survive the simulator's
assumptions?

:func:`compare_in_worlds` is the engine behind ``underfoot-lab compare --world A --world B``
for code and notebooks (the report notebook's "Across worlds" section): in each world it
evaluates the baseline and the candidate over the region set with the pipeline (reusing a
complete stored run of the same config), scores both against the same qrels and runs the
paired tests of :func:`~.results.compare.compare_reports`. The result
(:class:`AcrossWorlds`) has, per world and metric, the difference, its bootstrap CI and the
Holm-adjusted p, each world's verdict on the first metric and the one line "candidate better
in k of n worlds, worse in j, inconclusive in the rest".

Each world runs in its own home, ``<UNDERFOOT_HOME>/worlds/<name>-<hash12>``
(:func:`world_settings`, shared with ``compare``), so a report and a ``compare --worlds`` run
reuse each other's evaluations and nothing of two worlds mixes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from ..settings import Settings
    from .metrics.paired import PairedComparison
    from .regions import RegionSet
    from .results.model import EvaluationReport

__all__ = [
    "AcrossWorlds",
    "WorldResult",
    "compare_in_worlds",
    "shipped_worlds",
    "world_settings",
]


def world_settings(base: Settings, ref: str) -> tuple[Settings, str, str]:
    """Settings for one world, its scenario name and hash.

    Until cache keys, run configs and the judgment store carry the scenario (issue 12), each
    world gets its own home ``<home>/worlds/<name>-<hash12>`` so nothing of two worlds mixes;
    the hash covers the scenario and the world's code, so a changed world starts afresh.
    """
    from ..world.scenario import load_scenario, resolve_scenario_path

    scenario = load_scenario(ref)
    # a name stays a name (resolved later the same way); a file is passed as its absolute path
    path = resolve_scenario_path(ref)
    world = ref if path.stem == ref and "/" not in ref else str(path.resolve())
    home = Path(base.home) / "worlds" / f"{scenario.name}-{scenario.hash[:12]}"
    return base.model_copy(update={"world": world, "home": home}), scenario.name, scenario.hash


def shipped_worlds() -> list[str]:
    """The names of the scenario worlds shipped in the repository's ``experiments/worlds``
    (sorted; ``default`` first)."""
    from ..world.scenario import worlds_dirs

    names = {p.stem for d in worlds_dirs() if d.is_dir() for p in d.glob("*.yaml")}
    return sorted(names, key=lambda n: (n != "default", n))


@dataclass(frozen=True)
class WorldResult:
    """One world's paired comparison."""

    world: str
    world_hash: str
    baseline: EvaluationReport
    candidate: EvaluationReport
    comparison: PairedComparison
    verdict: str
    """``better``, ``worse`` or ``inconclusive`` on :attr:`AcrossWorlds.metric`."""


@dataclass(frozen=True)
class AcrossWorlds:
    """The same comparison in several worlds (:func:`compare_in_worlds`)."""

    region_set: str
    baseline: str
    """What the baseline is (its weights name, or ``seed`` for the seed scorer)."""
    candidate: str
    metric: str
    """The metric of the verdicts (MLflow name, e.g. ``ndcg_at_10``): the first compared."""
    alpha: float
    worlds: tuple[WorldResult, ...]

    @property
    def verdicts(self) -> list[str]:
        return [w.verdict for w in self.worlds]

    @property
    def display_metric(self) -> str:
        """How tables show :attr:`metric` (``nDCG@10``)."""
        return self.worlds[0].comparison[self.metric].display if self.worlds else self.metric

    def line(self) -> str:
        """ "candidate better in k of n worlds, worse in j, inconclusive in the rest (...)"."""
        from .results.compare import robustness_line

        return robustness_line(self.verdicts, self.display_metric, self.alpha)

    def counts(self) -> dict[str, int]:
        """How many worlds gave each verdict, and ``n``."""
        v = self.verdicts
        return {
            "better": v.count("better"),
            "worse": v.count("worse"),
            "inconclusive": v.count("inconclusive"),
            "n": len(v),
        }

    def frame(self) -> pd.DataFrame:
        """One row per world and metric: ``world, world_hash, metric, display, n, mean_a,
        mean_b, diff, ci_low, ci_high, p_rand_holm, p_region, verdict`` (the verdict of that
        metric in that world, by :func:`~.results.compare.verdict`)."""
        import pandas as pd

        from .results.compare import verdict

        cols = [
            "world", "world_hash", "metric", "display", "n", "mean_a", "mean_b", "diff",
            "ci_low", "ci_high", "p_rand_holm", "p_region", "verdict",
        ]  # fmt: skip
        rows = []
        for w in self.worlds:
            for r in w.comparison.rows:
                d = r.to_dict()
                rows.append(
                    {
                        **{c: d[c] for c in cols if c in d},
                        "world": w.world,
                        "world_hash": w.world_hash,
                        "verdict": verdict(r, self.alpha),
                    }
                )
        return pd.DataFrame(rows, columns=cols)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: the worlds (name, hash, verdict, run ids, comparisons) and the summary."""
        from .results.model import json_safe

        return {
            "region_set": self.region_set,
            "baseline": self.baseline,
            "candidate": self.candidate,
            "metric": self.metric,
            "alpha": self.alpha,
            "worlds": [
                {
                    "world": w.world,
                    "world_hash": w.world_hash,
                    "verdict": w.verdict,
                    "baseline_run": w.baseline.run_id,
                    "candidate_run": w.candidate.run_id,
                    "comparisons": json_safe(w.comparison.to_records()),
                }
                for w in self.worlds
            ],
            "summary": {**self.counts(), "line": self.line()},
        }


def _run_in(
    rs: RegionSet,
    settings: Settings,
    weights: Path | None,
    *,
    k: int,
    judges: str,
    concurrency: int,
    progress: bool,
    log: Callable[[str], None],
    fresh: bool = False,
    use_cache: bool = True,
) -> str:
    """A complete run of this config in this world's home: a stored one (unless ``fresh``),
    else a new one."""
    from .runner import evaluate_region_set, find_run

    found = None if fresh else find_run(rs, settings=settings, weights=weights, k=k)
    if found is not None:
        log(f"reusing run {found}")
        return found
    report = evaluate_region_set(
        rs,
        settings=settings,
        weights=weights,
        k=k,
        use_cache=use_cache,
        concurrency=concurrency,
        progress=progress,
        judges=judges,
    )
    log(f"run {report.run_id}")
    return report.run_id


def compare_in_worlds(
    region_set: RegionSet | str | Path,
    *,
    candidate: str | Path,
    baseline: str | Path | None = None,
    worlds: Sequence[str | Path],
    settings: Settings | None = None,
    k: int = 10,
    metrics: Sequence[str] | None = None,
    alpha: float = 0.05,
    seed: int = 0,
    n_resamples: int = 10000,
    judges: str = "world",
    concurrency: int = 4,
    progress: bool = False,
    log: Callable[[str], None] = lambda _: None,
    fresh: bool = False,
    use_cache: bool = True,
) -> AcrossWorlds:
    """``candidate`` (a weights YAML) against ``baseline`` (a weights YAML; None: the seed
    scorer, the default) over ``region_set`` in every world of ``worlds`` (scenario names or
    YAML files), as ``underfoot-lab compare --world ...`` does.

    ``metrics`` as :func:`~.results.compare.compare_reports` (default: its metrics, nDCG@k
    first); the first one is the metric of the per-world verdicts (Holm-adjusted randomization
    p below ``alpha``). Stored complete runs of the same config in a world's home are reused
    unless ``fresh``; ``use_cache=False`` evaluates without the search cache.
    """
    from ..errors import ConfigError
    from ..settings import Settings
    from .metrics.catalog import resolve_metric
    from .regions import load_region_set
    from .results.compare import DEFAULT_COMPARE_METRICS, compare_reports, verdict
    from .runner import load_report

    if not worlds:
        raise ConfigError("worlds: give at least one scenario world")
    if not 0.0 < alpha < 1.0:
        raise ConfigError(f"alpha must be in (0, 1), got {alpha}")
    base = settings or Settings()
    rs = region_set if not isinstance(region_set, str | Path) else load_region_set(region_set)
    b_path = Path(candidate)
    a_path = Path(baseline) if baseline is not None else None
    for p in (a_path, b_path):
        if p is not None and not p.is_file():
            raise ConfigError(f"weights file {p} does not exist")
    chosen = list(metrics or DEFAULT_COMPARE_METRICS)
    metric = resolve_metric(chosen[0], k)
    results: list[WorldResult] = []
    for ref in worlds:
        ws, name, digest = world_settings(base, str(ref))
        log(f"world {name} ({digest[:12]}): home {ws.home}")
        a_id, b_id = (
            _run_in(
                rs,
                ws,
                p,
                k=k,
                judges=judges,
                concurrency=concurrency,
                progress=progress,
                log=log,
                fresh=fresh,
                use_cache=use_cache,
            )
            for p in (a_path, b_path)
        )
        # both rebuilt after both ran, so they are scored against the same (pooled) qrels
        a = load_report(a_id, settings=ws, judges=judges, region_set=rs)
        b = load_report(b_id, settings=ws, judges=judges, region_set=rs)
        comparison = compare_reports(a, b, chosen, seed=seed, n_resamples=n_resamples)
        row = comparison[metric]
        results.append(WorldResult(name, digest, a, b, comparison, verdict(row, alpha)))
    first = results[0]
    return AcrossWorlds(
        region_set=rs.name,
        baseline=first.baseline.config.weights,
        candidate=first.candidate.config.weights,
        metric=metric,
        alpha=alpha,
        worlds=tuple(results),
    )
