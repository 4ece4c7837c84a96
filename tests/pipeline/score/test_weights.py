"""ScoringWeights: validation, YAML round trip, hashes and versions, the shipped files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from underfoot_lab.errors import ConfigError
from underfoot_lab.pipeline.score.features import SCORED_FEATURES
from underfoot_lab.pipeline.score.weights import ScoringWeights

ROOT = Path(__file__).resolve().parents[3]
WEIGHTS_DIR = ROOT / "experiments" / "weights"


def test_yaml_round_trip_is_equal_and_hash_stable(tmp_path: Path) -> None:
    w = ScoringWeights(
        name="trial",
        description="a test",
        weights={"src_web": 0.15, "intent_match": 0.3, "freshness": -0.1234567890123},
        keyword_cap=0.4,
        primary_radius_km=25.0,
        diversity_lambda=0.8,
        half_distance_km=7.5,
    )
    path = w.to_yaml(tmp_path / "sub" / "trial.yaml")
    back = ScoringWeights.from_yaml(path)
    assert back == w
    assert back.weights_hash() == w.weights_hash()
    assert back.version == w.version == f"weights:trial:{w.weights_hash()[:12]}"
    # canonical order: the file order never matters
    assert list(w.weights) == ["intent_match", "src_web", "freshness"]


def test_hash_covers_behaviour_not_labels() -> None:
    a = ScoringWeights(name="a", weights={"src_web": 0.15})
    same = ScoringWeights(name="b", description="other words", weights={"src_web": 0.15})
    zero = ScoringWeights(name="a", weights={"src_web": 0.15, "clickbait": 0.0})
    assert a.weights_hash() == same.weights_hash() == zero.weights_hash()
    assert a.version != same.version  # the name is in the version string
    for changed in (
        ScoringWeights(name="a", weights={"src_web": 0.16}),
        ScoringWeights(name="a", weights={"src_web": 0.15}, cap=None),
        ScoringWeights(name="a", weights={"src_web": 0.15}, primary_threshold=0.6),
        ScoringWeights(name="a", weights={"src_web": 0.15}, half_distance_km=11.0),
        ScoringWeights(name="a", weights={"src_web": 0.15}, diversity_lambda=0.5),
    ):
        assert changed.weights_hash() != a.weights_hash()


def test_vector_params_and_with_weights() -> None:
    w = ScoringWeights(name="v", weights={"src_events": 0.1, "rating_quality": 1.0})
    vec = w.vector()
    assert vec.shape == (len(SCORED_FEATURES),)
    assert vec[SCORED_FEATURES.index("src_events")] == 0.1
    assert np.count_nonzero(vec) == 2
    assert w.weight("clickbait") == 0.0
    w2 = w.with_weights(clickbait=-0.5)
    assert w2.weight("clickbait") == -0.5 and w.weight("clickbait") == 0.0
    assert w.params.half_distance_km == w.half_distance_km
    with pytest.raises(KeyError):
        w.weight("distance_km")  # raw columns are not weighted


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("weights: {src_webb: 1}\n", "did you mean 'src_web'"),
        ("weights: {distance_km: 1}\n", "unknown feature 'distance_km'"),
        ("weights: {src_web: .nan}\n", "finite"),
        ("bogus: 1\n", "bogus"),
        ("half_distance_km: 0\n", "half_distance_km"),
        ("diversity_lambda: 2\n", "diversity_lambda"),
        ("- a\n- b\n", "mapping"),
        ("weights: [\n", "YAML syntax error"),
    ],
)
def test_bad_files_are_one_line_config_errors(tmp_path: Path, text: str, match: str) -> None:
    p = tmp_path / "bad.yaml"
    p.write_text(text)
    with pytest.raises(ConfigError, match=match) as err:
        ScoringWeights.from_yaml(p)
    assert "\n" not in str(err.value) and str(p) in str(err.value)


def test_missing_file_and_default_name(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        ScoringWeights.from_yaml(tmp_path / "nope.yaml")
    p = tmp_path / "unnamed.yaml"
    p.write_text("weights: {src_web: 1}\n")
    assert ScoringWeights.from_yaml(p).name == "unnamed"


def test_shipped_files_load() -> None:
    seed = ScoringWeights.from_yaml(WEIGHTS_DIR / "baseline-seed.yaml")
    assert seed.name == "baseline-seed"
    assert seed.weights == {
        "intent_match": 0.3,
        "keyword_count": 0.1,
        "src_events": 0.1,
        "src_reddit": 0.2,
        "src_web": 0.15,
    }
    assert (seed.cap, seed.keyword_cap, seed.primary_threshold) == (1.0, 0.4, 0.5)
    assert seed.primary_radius_km is None and seed.diversity_lambda is None
    default = ScoringWeights.from_yaml(WEIGHTS_DIR / "tuned-default-world.yaml")
    assert default.name == "tuned-default-world" and default.version.startswith(
        "weights:tuned-default-world:"
    )
