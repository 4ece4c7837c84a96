"""The across-worlds figure from a frame: one point per world, verdict colours, CIs, escaping."""

from __future__ import annotations

import math

import pandas as pd

from underfoot_lab.viz.worlds import VERDICT_COLOURS, worlds_figure

COLS = ["world", "world_hash", "metric", "display", "n", "mean_a", "mean_b", "diff", "ci_low",
        "ci_high", "p_rand_holm", "p_region", "verdict"]  # fmt: skip


def _row(world: str, metric: str, diff: float, lo: float, hi: float, verdict: str) -> list[object]:
    return [world, "h" * 16, metric, "nDCG@10" if metric == "ndcg_at_10" else "MRR", 12,
            0.3, 0.3 + diff, diff, lo, hi, 0.01, 0.02, verdict]  # fmt: skip


def test_points_per_world_coloured_by_verdict_with_cis() -> None:
    frame = pd.DataFrame(
        [
            _row("default", "ndcg_at_10", 0.25, 0.1, 0.4, "better"),
            _row("null", "ndcg_at_10", -0.01, -0.08, 0.06, "inconclusive"),
            _row("<b>evil</b>", "ndcg_at_10", -0.2, -0.3, math.nan, "worse"),
            _row("default", "mrr", 0.5, 0.4, 0.6, "better"),
        ],
        columns=COLS,
    )
    fig = worlds_figure(frame, subtitle="candidate better in 1 of 3 worlds")
    by_name = {t.name: t for t in fig.data}
    assert set(by_name) == {"better", "worse", "inconclusive"}
    for name, trace in by_name.items():
        assert trace.marker.color == VERDICT_COLOURS[name]
    better = by_name["better"]
    assert list(better.x) == [0.25] and list(better.y) == ["default"]  # mrr rows not drawn
    assert math.isclose(better.error_x.array[0], 0.15)
    assert math.isclose(better.error_x.arrayminus[0], 0.15)
    worse = by_name["worse"]
    assert list(worse.y) == ["&lt;b&gt;evil&lt;/b&gt;"] and list(worse.error_x.array) == [0.0]
    assert "nDCG@10" in fig.layout.title.text and "1 of 3 worlds" in fig.layout.title.text


def test_other_metric_and_empty_frame() -> None:
    frame = pd.DataFrame([_row("null", "mrr", 0.1, 0.0, 0.2, "inconclusive")], columns=COLS)
    fig = worlds_figure(frame, "mrr")
    assert [list(t.y) for t in fig.data] == [["null"]] and "MRR" in fig.layout.title.text
    empty = worlds_figure(pd.DataFrame(columns=COLS), title="skipped")
    assert all(a.text != "nothing to compare" for a in fig.layout.annotations)
    assert len(empty.data) == 0 and empty.layout.title.text == "skipped"
    assert any(a.text == "nothing to compare" for a in empty.layout.annotations)
