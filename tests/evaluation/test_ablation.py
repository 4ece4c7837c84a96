"""``ablate``: single-feature, leave-one-out and full nDCG@10 over a frozen pool, and its CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from underfoot_lab.cli import main
from underfoot_lab.errors import ConfigError
from underfoot_lab.evaluation.ablation import (
    Ablation,
    ablate,
    ablation_pool,
    load_ablation_weights,
)
from underfoot_lab.evaluation.candidate_pools import Pool
from underfoot_lab.pipeline.score.weights import ScoringWeights
from underfoot_lab.settings import Settings
from underfoot_lab.viz.ablation import ablation_figure

ROOT = Path(__file__).resolve().parents[2]
WEIGHTS = ROOT / "experiments" / "weights"
MINI = ROOT / "tests" / "fixtures" / "regions" / "mini.yaml"


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("ablation-home")


@pytest.fixture(scope="module")
def pool(home: Path) -> Pool:
    _, path, was_built = ablation_pool(MINI, settings=Settings(home=home))
    assert was_built and (path / "manifest.json").is_file()
    again, path2, rebuilt = ablation_pool(MINI, settings=Settings(home=home))  # loaded
    assert not rebuilt and path2 == path
    return again


def ndcg(pool: Pool, w: ScoringWeights) -> float:
    return float(pool.ndcg(pool.scores(w, exact=True), 10)[0])


def test_ablation_values_are_the_variants_scored_on_the_pool(pool: Pool) -> None:
    tuned = load_ablation_weights(WEIGHTS / "tuned-default-world.yaml")
    result = ablate(pool, tuned)
    used = {f for f, w in tuned.weights.items() if w != 0.0}
    assert set(result.single_feature) == set(result.leave_one_out) == used
    assert result.full == ndcg(pool, tuned)
    assert result.seed == ndcg(pool, ScoringWeights.from_yaml(WEIGHTS / "baseline-seed.yaml"))
    for f in used:
        alone = tuned.model_copy(update={"weights": {f: tuned.weights[f]}})
        without = tuned.with_weights(**{f: 0.0})
        assert result.single_feature[f] == ndcg(pool, alone), f
        assert result.leave_one_out[f] == ndcg(pool, without), f
    assert (result.queries, result.k, result.region_set) == (3, 10, "mini")
    assert all(0.0 <= v <= 1.0 for v in [*result.single_feature.values(), result.full])
    # the figure: one bar per feature for each of the two variants
    fig = ablation_figure(result)
    assert [len(t.y) for t in fig.data] == [len(used), len(used)]
    assert ablation_figure(result.to_dict()).to_dict()["data"] == fig.to_dict()["data"]


def test_production_system_and_empty_weights_are_refused(pool: Pool, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="production's per-item system"):
        load_ablation_weights(WEIGHTS / "production-seed.yaml")
    empty = ScoringWeights.model_validate({"name": "empty", "weights": {}})
    with pytest.raises(ConfigError, match="no non-zero feature weight"):
        ablate(pool, empty)


def test_cli_json(
    pool: Pool, home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("UNDERFOOT_HOME", str(home))
    tuned = WEIGHTS / "tuned-default-world.yaml"
    args = ["ablate", "--region-set", str(MINI), "--weights", str(tuned)]
    assert main([*args, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    expected = ablate(pool, load_ablation_weights(tuned)).to_dict()
    for key in ("full", "seed", "single_feature", "leave_one_out"):
        assert out[key] == pytest.approx(expected[key]), key
    assert out["world"] == "default" and len(out["world_hash"]) == 16
    assert set(out) == set(Ablation.__dataclass_fields__)
    assert main(args) == 0
    text = capsys.readouterr().out
    assert "nDCG@10 full" in text and "without - full" in text
    assert main([*args[:3], "--weights", str(WEIGHTS / "production-seed.yaml")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "production-seed.yaml" in err
    assert np.isfinite(out["full"])
