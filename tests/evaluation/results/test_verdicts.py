"""Verdicts of a comparison: per world, over several worlds, and the CI gate's line."""

from __future__ import annotations

import math

import numpy as np

from underfoot_lab.evaluation.metrics.paired import paired_comparison
from underfoot_lab.evaluation.results.compare import gate_line, robustness_line, verdict

RNG = np.random.default_rng(1)
A = RNG.uniform(0.2, 0.6, 40)


def row(shift: float, higher_is_better: bool | None = True) -> dict[str, object]:
    result = paired_comparison(
        {"ndcg_at_10": A},
        {"ndcg_at_10": A + shift + RNG.normal(0, 0.01, A.size)},
        display={"ndcg_at_10": "nDCG@10"},
        higher_is_better={"ndcg_at_10": higher_is_better},
        n_resamples=999,
    )
    return result["ndcg_at_10"].to_dict()


def test_verdict_follows_holm_p_and_direction() -> None:
    better, worse, same = row(0.1), row(-0.1), row(0.0)
    assert verdict(better) == "better" and verdict(worse) == "worse"
    assert verdict(same, alpha=0.0001) == "inconclusive"
    # lower is better (e.g. latency): a larger value is worse
    assert verdict(row(0.1, higher_is_better=False)) == "worse"
    assert verdict({**better, "p_rand_holm": math.nan}) == "inconclusive"
    line = robustness_line(["better", "worse", "inconclusive", "better"], "nDCG@10", 0.05)
    assert line.startswith(
        "candidate better in 2 of 4 worlds, worse in 1, inconclusive in the rest"
    )


def test_gate_fails_on_a_significantly_worse_world_only() -> None:
    code, why = gate_line([("default", row(0.1)), ("null", row(-0.1))], 0.05)
    assert code == 1 and "gate FAILED" in why and "in world null" in why and "\n" not in why
    code, why = gate_line([(None, row(0.1))], 0.05)
    assert code == 0 and why.startswith("gate passed: candidate not significantly worse on nDCG@10")
    code, _ = gate_line([(None, row(-0.1))], 1e-9)  # nothing is significant at this alpha
    assert code == 0
