"""One comparison in several worlds from code (the report's "Across worlds"): the same runs,
homes and statistics as ``underfoot-lab compare --world A --world B``, and the notebook
helper's skips."""

from __future__ import annotations

import html
import json
from pathlib import Path

import pytest

from underfoot_lab import notebook_helpers
from underfoot_lab.cli import main
from underfoot_lab.errors import ConfigError
from underfoot_lab.evaluation.across_worlds import (
    AcrossWorlds,
    compare_in_worlds,
    shipped_worlds,
)
from underfoot_lab.settings import Settings

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
SEED = ROOT / "experiments" / "weights" / "baseline-seed.yaml"
TUNED = ROOT / "experiments" / "weights" / "tuned-default-world.yaml"
MINI = ROOT / "tests" / "fixtures" / "regions" / "mini.yaml"
WORLDS = ["default", "null"]


@pytest.fixture(scope="module")
def home(mlflow_home: Path) -> Path:
    return mlflow_home


@pytest.fixture(scope="module")
def across(home: Path) -> AcrossWorlds:
    return compare_in_worlds(
        MINI,
        candidate=TUNED,
        worlds=WORLDS,
        settings=Settings(),
        metrics=["nDCG@10", "mrr"],
        n_resamples=200,
    )


def test_shipped_worlds_are_the_scenario_files() -> None:
    names = shipped_worlds()
    assert names[0] == "default"
    assert set(names) == {p.stem for p in (ROOT / "experiments" / "worlds").glob("*.yaml")}


def test_compare_in_worlds_matches_the_cli(
    across: AcrossWorlds, home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert [w.world for w in across.worlds] == WORLDS
    assert across.baseline == "seed" and across.candidate == "tuned-default-world"
    assert across.metric == "ndcg_at_10" and across.display_metric == "nDCG@10"
    homes = sorted(p.name.rsplit("-", 1)[0] for p in (home / "worlds").iterdir())
    assert homes == WORLDS  # one home per world, as compare uses
    frame = across.frame()
    assert len(frame) == 4 and set(frame["metric"]) == {"ndcg_at_10", "mrr"}
    assert (frame["ci_low"] <= frame["diff"]).all() and (frame["diff"] <= frame["ci_high"]).all()
    c = across.counts()
    assert c["n"] == 2 and c["better"] + c["worse"] + c["inconclusive"] == 2
    assert across.line().startswith(f"candidate better in {c['better']} of 2 worlds")
    # The CLI over the same home reuses these runs and reports the same statistics.
    args = ["compare", "--region-set", str(MINI), "--resamples", "200", "--no-progress",
            "--candidate", str(TUNED), "-m", "nDCG@10", "-m", "mrr", "--json",
            "--world", "default", "--world", "null"]  # fmt: skip
    assert main(args) == 0
    captured = capsys.readouterr()
    assert captured.err.count("reusing run") == 4
    out = json.loads(captured.out)
    mine = across.to_dict()
    assert out["summary"]["line"] == mine["summary"]["line"]
    for cli, ours in zip(out["worlds"], mine["worlds"], strict=True):
        assert cli["world_hash"] == ours["world_hash"] and cli["verdict"] == ours["verdict"]
        assert cli["comparisons"] == ours["comparisons"]


def test_compare_in_worlds_refuses_bad_input(home: Path) -> None:
    with pytest.raises(ConfigError, match="at least one"):
        compare_in_worlds(MINI, candidate=TUNED, worlds=[])
    with pytest.raises(ConfigError, match="does not exist"):
        compare_in_worlds(MINI, candidate=ROOT / "nope.yaml", worlds=WORLDS)
    with pytest.raises(ConfigError, match="no scenario named"):
        compare_in_worlds(MINI, candidate=TUNED, worlds=["no-such-world"])


def test_report_helper_compares_the_reports_weights(home: Path, across: AcrossWorlds) -> None:
    report = notebook_helpers.notebook_report(str(MINI), weights=str(TUNED), progress=False)
    section = notebook_helpers.across_worlds(report, worlds=WORLDS, n_resamples=200)
    assert section.ok and section.result is not None
    assert [w.world for w in section.result.worlds] == WORLDS
    # the default metrics, nDCG@10 first; the same verdicts as the two-metric comparison
    assert section.result.metric == "ndcg_at_10"
    text = section.summary
    assert "A = the default scorer" in text and "B = weights tuned-default-world" in text
    assert "offline worlds (simulated)" in text
    assert section.result.line() in text.splitlines()
    assert text.splitlines()[-1].startswith("note: only 2 region(s)")  # mini: 2 regions
    for w in WORLDS:
        assert f"\n{w} " in text
    table = section.table()
    assert len(table.data) == 2 * 7 and "p Holm" in table.to_html()
    fig = section.figure()
    assert sorted(y for t in fig.data for y in t.y) == sorted(WORLDS)
    assert html.escape(section.result.line()) in fig.layout.title.text
    assert "tuned-default-world vs the default scorer on mini" in fig.layout.title.text
    assert set(section.figures) == {"across_worlds"}


def test_report_helper_skips_what_it_cannot_compare(home: Path) -> None:
    seed_report = notebook_helpers.notebook_report(str(MINI), progress=False)
    skipped = notebook_helpers.across_worlds(seed_report, worlds=WORLDS)
    assert not skipped.ok and "default scorer, baseline-seed" in skipped.summary
    assert skipped.figures == {} and skipped.table().empty
    same = notebook_helpers.across_worlds(seed_report, weights=str(SEED), worlds=WORLDS)
    assert not same.ok and "nothing to compare" in same.message
    empty = notebook_helpers.across_worlds(seed_report, weights=str(TUNED), worlds=[])
    assert not empty.ok and "worlds is empty" in empty.message
