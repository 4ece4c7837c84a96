"""Sweep specs: parsing, defaults, one-line errors, and the shipped example specs."""

from __future__ import annotations

from pathlib import Path

import pytest

from underfoot_lab.errors import ConfigError
from underfoot_lab.pipeline.score.features import SCORED_FEATURES
from underfoot_lab.sweeps.spec import (
    Constraint,
    ParamRange,
    SweepSpec,
    load_spec,
    parse_constraint,
    parse_metric,
    spec_from_options,
)

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "experiments" / "sweeps").glob("*.yaml"))


def write(tmp_path: Path, text: str, name: str = "s.yaml") -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


@pytest.mark.parametrize(
    ("text", "name", "kind", "k", "higher"),
    [
        ("nDCG@10", "ndcg_at_10", "ir", 10, True),
        ("ndcg_at_10", "ndcg_at_10", "ir", 10, True),
        ("ndcg_cut_5", "ndcg_at_5", "ir", 5, True),
        ("P@5", "p_at_5", "ir", 5, True),
        ("RR", "mrr", "ir", None, True),
        ("mrr", "mrr", "ir", None, True),
        ("map", "map", "ir", None, True),
        ("hiddenness@10", "hiddenness_at_10", "domain", 10, True),
        ("Hiddenness_at_5", "hiddenness_at_5", "domain", 5, True),
        ("geo_precision@10", "geo_precision_at_10", "domain", 10, True),
        ("GeoP@3", "geo_precision_at_3", "domain", 3, True),
        ("expired_event_rate@10", "expired_event_rate_at_10", "domain", 10, False),
        ("corroboration@10", "corroboration_at_10", "domain", 10, True),
        ("nearby_ratio", "nearby_ratio", "domain", None, True),
    ],
)
def test_metric_names_parse_to_report_names(
    text: str, name: str, kind: str, k: int | None, higher: bool
) -> None:
    m = parse_metric(text)
    assert (m.name, m.kind, m.k, m.higher_is_better) == (name, kind, k, higher)


def test_unknown_metric_lists_the_known_ones() -> None:
    with pytest.raises(ValueError, match=r"unknown metric 'relevance'.*hiddenness@k"):
        parse_metric("relevance")


def test_constraints_parse_and_measure_violation() -> None:
    c = parse_constraint("geo_precision@10 >= 0.8")
    assert c == Constraint("geo_precision_at_10", ">=", 0.8)
    assert str(c) == "geo_precision_at_10 >= 0.8"
    assert c.ok(0.8) and not c.ok(0.79) and not c.ok(float("nan"))
    assert c.violation(0.9) == 0.0 and c.violation(0.7) == pytest.approx(0.1)
    assert parse_constraint("expired@10<0.05").ok(0.0)
    for bad in ("geo_precision@10 = 0.8", "geo_precision@10 >= x", "nope >= 1"):
        with pytest.raises(ValueError):
            parse_constraint(bad)


def test_ranges_shorthand_star_and_canonical_order() -> None:
    spec = SweepSpec.model_validate(
        {
            "name": "x",
            "ranges": {
                "keyword_cap": {"low": 0.05, "high": 1.0, "log": True},
                "half_distance_km": [5, 10],
                "*": {"low": -1, "high": 1},
                "text_bm25": {"low": 0, "high": 0.5},
            },
        }
    )
    assert list(spec.ranges) == [*SCORED_FEATURES, "keyword_cap", "half_distance_km"]
    assert spec.ranges["text_bm25"] == ParamRange(low=0, high=0.5)
    assert spec.ranges["intent_match"] == ParamRange(low=-1, high=1)
    assert spec.ranges["half_distance_km"].values == (5.0, 10.0)
    assert spec.method == "random" and spec.n_trials == 100
    assert spec.objective == "ndcg_at_10"
    assert spec.secondary == ("hiddenness_at_10", "geo_precision_at_10")
    assert spec.validation.holdout is not None and spec.validation.holdout.fraction == 0.3


def test_grid_points() -> None:
    r = ParamRange(low=1.0, high=100.0, log=True, steps=3)
    g = r.grid()
    assert len(g) == 3 and g[0] == 1.0 and g[1] == pytest.approx(10.0) and g[2] == 100.0
    assert ParamRange(low=0, high=1).grid(3) == (0.0, 0.5, 1.0)
    spec = SweepSpec.model_validate(
        {"name": "g", "method": "grid", "grid_steps": 3,
         "ranges": {"text_bm25": {"low": 0, "high": 1}, "hiddenness": [0.1, 0.2]}}
    )  # fmt: skip
    assert spec.grid_size() == 6 and spec.n_trials == 6


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("ranges: {text_bm: {low: 0, high: 1}}",
         "ranges: unknown parameter 'text_bm' (did you mean 'text_bm25'?)"),
        ("ranges: {text_bm25: {low: 1, high: 0}}", "low (1) must be below high (0)"),
        ("ranges: {text_bm25: {low: 0, high: 1, values: [1]}}", "either low/high or values"),
        ("ranges: {keyword_cap: {low: 0, high: 1, log: true}}", "log-scaled range needs low > 0"),
        ("ranges: {half_distance_km: [0, 10]}", "half_distance_km must stay positive"),
        ("ranges: {}", "no parameter to sweep"),
        ("ranges: {text_bm25: [0, 1]}\nmethod: bayes", "method"),
        ("ranges: {text_bm25: [0, 1]}\nobjective: relevance", "objective: unknown metric"),
        ("ranges: {text_bm25: [0, 1]}\nconstraints: ['ndcg@10 ~ 1']", "is not 'METRIC OP VALUE'"),
        ("ranges: {text_bm25: [0, 1]}\nvalidation: {holdout: {regions: [a]}, kfold: {}}",
         "exactly one of holdout or kfold"),
        ("ranges: {text_bm25: [0, 1]}\nvalidation: {holdout: {fraction: 1.5}}", "fraction"),
        ("ranges: {text_bm25: [0, 1]}\ntrials: 0", "trials"),
        ("ranges: {text_bm25: [0, 1, 2]}\nmethod: grid\ntrials: 2",
         "the grid has 3 points but trials is 2"),
        ("ranges: {text_bm25: [0, 1]}\nsurprise: 1", "surprise: Extra inputs"),
        ("ranges: {text_bm25: [0, 1]}\npareto: [ndcg@10, nDCG@10]", "Pareto metrics must differ"),
    ],
)  # fmt: skip
def test_bad_specs_are_one_line_config_errors(tmp_path: Path, body: str, message: str) -> None:
    path = write(tmp_path, f"name: bad\n{body}\n")
    with pytest.raises(ConfigError) as info:
        load_spec(path)
    text = str(info.value)
    assert "\n" not in text
    assert text.startswith(f"sweep spec {path}: ")
    assert message in text


def test_yaml_and_file_problems(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"s\.yaml:\d+: YAML syntax error"):
        load_spec(write(tmp_path, "name: x\nranges: {a: [\n"))
    with pytest.raises(ConfigError, match="expected a mapping"):
        load_spec(write(tmp_path, "- 1\n"))
    with pytest.raises(ConfigError, match=r"sweep spec .*missing\.yaml: cannot read"):
        load_spec(tmp_path / "missing.yaml")


def test_name_defaults_to_the_stem_and_overrides_apply(tmp_path: Path) -> None:
    path = write(tmp_path, "ranges: {text_bm25: [0, 1]}\ntrials: 5\n", "my-sweep.yaml")
    spec = load_spec(path, trials=7, seed=None, method="optuna")
    assert spec.name == "my-sweep" and spec.trials == 7 and spec.method == "optuna"
    again = spec.with_overrides(seed=3, objective="P@5")
    assert again.seed == 3 and again.objective == "p_at_5" and again.trials == 7


def test_study_key_ignores_trials_and_bookkeeping(tmp_path: Path) -> None:
    a = spec_from_options(name="a", trials=10)
    assert a.study_key() == a.with_overrides(trials=99, top=1, n_resamples=500).study_key()
    assert a.study_key() != a.with_overrides(seed=1).study_key()
    assert a.spec_hash() != a.with_overrides(trials=99).spec_hash()


def test_metrics_cover_objective_secondary_constraints_and_pareto() -> None:
    spec = spec_from_options(
        objective="P@5", secondary=["corroboration@5"], constraints=["expired@10 <= 0.1"]
    )
    names = [m.name for m in spec.metrics()]
    assert names[:3] == ["p_at_5", "corroboration_at_5", "expired_event_rate_at_10"]
    assert {"ndcg_at_10", "hiddenness_at_10", "geo_precision_at_10", "nearby_ratio"} <= set(names)
    assert spec.report_metrics() == ("p_at_5", "corroboration_at_5")


def test_example_specs_validate() -> None:
    assert {p.stem for p in EXAMPLES} >= {"random-all", "optuna-tpe", "grid-small", "kfold-regions"}
    for p in EXAMPLES:
        spec = load_spec(p)
        assert spec.name == p.stem
        assert spec.n_trials >= 1
        assert (ROOT / spec.base_weights).is_file()
        assert all((ROOT / b).is_file() for b in spec.baselines.values())
