"""RankingDiff over the offline world: two weight sets, one search, both rankings."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import pytest
from widget_support import SCRIPT_TITLE, CountingTransport, make_settings

from underfoot_lab.errors import ConfigError
from underfoot_lab.geo.gazetteer import get_gazetteer
from underfoot_lab.pipeline.run import Pipeline
from underfoot_lab.widgets import RankingDiff
from underfoot_lab.widgets.ranking_diff import movement_text, ndcg_at
from underfoot_lab.world import build_world

QUERY = "hidden gems in Marfa TX"


@pytest.fixture
def diff(pipe: Pipeline, home: Path) -> RankingDiff:
    world = build_world(make_settings(home), get_gazetteer())
    return RankingDiff(
        query=QUERY,
        baseline="baseline-seed",
        candidate="tuned-default-world",
        pipeline=pipe,
        world=world,
    )


def test_frame_has_both_ranks_movement_and_grades(
    diff: RankingDiff, counting: CountingTransport
) -> None:
    frame = diff.frame
    assert list(frame.columns[:5]) == [
        "title", "rank_baseline", "rank_candidate", "movement", "grade",
    ]  # fmt: skip
    assert len(frame) >= diff.k
    top = frame[frame["rank_candidate"] <= diff.k]
    assert list(top["rank_candidate"]) == list(range(1, diff.k + 1))
    for row in frame.to_dict("records"):
        assert row["movement"] == movement_text(row["rank_baseline"], row["rank_candidate"], diff.k)
    assert frame["grade"].notna().all() and set(frame["grade"]) <= {0, 1, 2, 3}
    # The two weight sets rank differently, and only one search reached the upstreams.
    assert (frame["movement"] != "=").any()
    n = len(counting.requests)
    diff.step(1)
    assert len(counting.requests) == n


def test_delta_and_contributions(diff: RankingDiff) -> None:
    d = diff.current
    assert d.delta == pytest.approx(d.ndcg_candidate - d.ndcg_baseline)
    assert "Δ" in diff.delta.value and f"nDCG@{diff.k}" in diff.delta.value
    rid = diff.frame["id"].iloc[0]
    diff.result_picker.value = rid
    contrib = diff.contributions_frame()
    assert not contrib.empty
    ranked = next(r for r in d.candidate if r.id == rid)
    # The candidate's contributions sum to its score (no cap reached on these weights).
    total = contrib["contribution_candidate"].sum()
    assert total == pytest.approx(ranked.score, abs=1e-9) or ranked.score < total
    assert "per-feature contributions" in diff.contributions.value


def test_ndcg_and_movement_helpers() -> None:
    qrels = {"a": 3, "b": 0, "c": 1, "world:x": 2}
    assert ndcg_at(["a", "world:x", "c"], qrels, 3) == pytest.approx(1.0)
    assert ndcg_at(["b", "c", "a"], qrels, 3) < 0.7
    assert math.isnan(ndcg_at(["a"], {"a": 0}, 3))
    assert movement_text(5, 2, 10) == "▲3"
    assert movement_text(2, 5, 10) == "▼3"
    assert movement_text(4, 4, 10) == "="
    assert movement_text(None, 1, 10) == "new" == movement_text(12, 3, 10)
    assert movement_text(3, 11, 10) == "out"


def test_titles_are_escaped(pipe: Pipeline, home: Path) -> None:
    world = build_world(make_settings(home), get_gazetteer())
    d = RankingDiff(
        query=QUERY,
        baseline="baseline-seed",
        candidate="tuned-default-world",
        pipeline=pipe,
        world=world,
    )
    first = d.current.candidate[0]
    hostile = dataclasses.replace(first, title=SCRIPT_TITLE)
    d.diffs[0] = dataclasses.replace(d.current, candidate=[hostile, *d.current.candidate[1:]])
    d.show(0)
    assert "<script>" not in d.table.value and "&lt;script&gt;" in d.table.value
    d.result_picker.value = hostile.id
    assert "<script>" not in d.contributions.value


def test_region_set_steps_worst_delta_first(pipe: Pipeline, home: Path, tmp_path: Path) -> None:
    rs = tmp_path / "two.yaml"
    rs.write_text(
        "name: two\ndescription: two queries\nregion: desert-southwest\nqueries:\n"
        "  - id: t-marfa-01\n    text: hidden gems in Marfa TX\n"
        "    expected: {place: Marfa, state: TX}\n    tags: [general, in-town]\n"
        "  - id: t-ely-01\n    text: secret swimming holes around Ely, MN\n"
        "    expected: {place: Ely, state: MN}\n    tags: [outdoors, near]\n",
        encoding="utf-8",
    )
    world = build_world(make_settings(home), get_gazetteer())
    d = RankingDiff(
        region_set=rs,
        baseline="baseline-seed",
        candidate="tuned-default-world",
        pipeline=pipe,
        world=world,
    )
    deltas = [x.delta for x in d.diffs if x.delta == x.delta]
    assert deltas == sorted(deltas) and len(d.diffs) == 2
    assert d.index == 0
    d.next_button.click()
    assert d.index == 1 and d.query_picker.value == 1
    d.prev_button.click()
    assert d.index == 0


def test_needs_a_query_or_a_region_set(pipe: Pipeline) -> None:
    with pytest.raises(ConfigError):
        RankingDiff(
            baseline="tuned-default-world",
            candidate="tuned-default-world",
            pipeline=pipe,
            world=None,
        )
    with pytest.raises(ConfigError):
        RankingDiff(
            query=QUERY, baseline="no-such-weights", candidate="tuned-default-world", pipeline=pipe
        )


def test_baseline_defaults_to_the_default_scorer(pipe: Pipeline, home: Path) -> None:
    world = build_world(make_settings(home), get_gazetteer())
    d = RankingDiff(query=QUERY, candidate="tuned-default-world", pipeline=pipe, world=world)
    assert d.baseline.name == "baseline-seed"
    note = d.sides_note()
    assert "baseline weights:baseline-seed:" in note and "(the default scorer)" in note
    assert note.count("(the default scorer)") == 1  # the candidate is not
    assert note in d.widget.children[0].value
    d.close()
