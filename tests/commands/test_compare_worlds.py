"""``compare`` over several worlds (per-world homes, the robustness line, the --json shape) and
the CI gate ``--fail-if-worse`` (exit 1 for a worse candidate, 0 for a better one)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from underfoot_lab.cli import main

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
SEED = ROOT / "experiments" / "weights" / "baseline-seed.yaml"
TUNED = ROOT / "experiments" / "weights" / "tuned-default-world.yaml"
MINI = ROOT / "tests" / "fixtures" / "regions" / "mini.yaml"


def test_compare_in_two_worlds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("UNDERFOOT_HOME", str(tmp_path))
    base = ["compare", "--region-set", str(MINI), "--resamples", "200", "--no-progress",
            "--candidate", str(TUNED), "-m", "nDCG@10", "-m", "mrr"]  # fmt: skip
    assert main([*base, "--world", "default", "--world", "null", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [w["world"] for w in out["worlds"]] == ["default", "null"]
    homes = sorted(p.name for p in (tmp_path / "worlds").iterdir())
    assert [h.rsplit("-", 1)[0] for h in homes] == ["default", "null"]  # nothing mixes
    for w in out["worlds"]:
        assert len(w["world_hash"]) == 16 and w["queries"] == 3
        assert {r["metric"] for r in w["comparisons"]} == {"ndcg_at_10", "mrr"}
        assert w["verdict"] in {"better", "worse", "inconclusive"}
        for r in w["comparisons"]:
            assert r["n_regions"] == 2 and "p_region" in r and "p_region_holm" in r
        assert "only 2 region(s)" in w["region_note"]
    # different worlds grade differently: the two baselines do not score the same
    means = [w["comparisons"][0]["mean_a"] for w in out["worlds"]]
    assert means[0] != means[1]
    s = out["summary"]
    assert s["n"] == 2 and s["better"] + s["worse"] + s["inconclusive"] == 2
    assert s["line"].startswith(f"candidate better in {s['better']} of 2 worlds")
    assert "comparisons" not in out  # several worlds: the per-world list only

    # text: each world's table, the summary table and the line; stored runs are reused
    assert main([*base, "--worlds", str(ROOT / "experiments" / "worlds")]) == 0
    captured = capsys.readouterr()
    assert "reusing run" in captured.err
    assert captured.out.count("p region Holm") == len(
        list((ROOT / "experiments/worlds").glob("*.yaml"))
    )
    assert "candidate better in" in captured.out and "note: only 2 region(s)" in captured.out
    # one world: today's shape plus its name and hash
    assert main([*base, "--world", "null", "--json"]) == 0
    one = json.loads(capsys.readouterr().out)
    assert one["world"] == "null" and "comparisons" in one and "worlds" not in one
    assert one["comparisons"] == out["worlds"][1]["comparisons"]
    # run ids are per home: refused with worlds
    assert main([*base, "--world", "null", "--baseline-run", "x"]) == 2
    assert "--baseline-run" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("baseline", "candidate", "code", "said"),
    [(TUNED, SEED, 1, "gate FAILED"), (SEED, TUNED, 0, "gate passed")],
)
def test_fail_if_worse(
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    baseline: Path,
    candidate: Path,
    code: int,
    said: str,
) -> None:
    # one home for both cases: the second reuses the first's runs
    monkeypatch.setenv("UNDERFOOT_HOME", str(tmp_path_factory.getbasetemp() / "gate-home"))
    args = [
        "compare", "--region-set", "smoke", "--resamples", "2000", "--no-progress",
        "--baseline", str(baseline), "--candidate", str(candidate), "--fail-if-worse",
    ]  # fmt: skip
    assert main(args) == code
    lines = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("gate ")]
    assert len(lines) == 1 and lines[0].startswith(said) and "nDCG@10" in lines[0]
    assert main([*args, "--json", "--metric", "nDCG@10", "--alpha", "0.01"]) == code
    captured = capsys.readouterr()
    gate = json.loads(captured.out)["gate"]
    assert gate["exit_code"] == code and gate["metric"] == "ndcg_at_10"
    assert gate["reason"] in captured.err
