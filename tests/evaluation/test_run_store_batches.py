"""The run store's batched writes (issue 15): one transaction per batch, and a report built
from the results this process wrote equals one decoded from the store."""

from __future__ import annotations

import math
import sqlite3
from pathlib import Path

import pytest

from underfoot_lab import codec
from underfoot_lab.evaluation.regions import load_region_set
from underfoot_lab.evaluation.runner import RunStore, evaluate_region_set, load_report
from underfoot_lab.harness import build_harness
from underfoot_lab.records import SearchResult
from underfoot_lab.settings import Settings

SET = """\
name: batch
description: Three queries, one naming no place.
region: appalachia
queries:
  - id: b-pikeville-01
    text: "hidden gems in Pikeville KY"
    expected: {place: "Pikeville", state: KY}
    tags: [general, in-town]
  - id: b-ely-01
    text: "secret swimming holes around Ely, MN"
    expected: {place: "Ely", state: MN}
    tags: [outdoors, near]
  - id: b-nowhere-01
    text: "best tacos"
    expected: {place: "Marfa", state: TX}
    tags: [food]
"""


def test_put_many_writes_all_rows_and_keeps_what_it_wrote(tmp_path: Path) -> None:
    settings = Settings(_env_file=None, home=tmp_path, mode="offline")
    with build_harness(settings, use_cache=False) as harness:
        result = harness.pipeline.search("hidden gems in Pikeville KY")
    store = RunStore(tmp_path / "runs.sqlite3")
    assert store.run_ids() == []  # (creates the schema)
    with sqlite3.connect(store.path) as conn:
        conn.execute("INSERT INTO runs VALUES ('r1', 'now', '{}', 'running')")
    store.put_many("r1", [("q1", result, None, 12.5), ("q2", None, "LocationNotFound: x", 3.0)])
    rows = store.rows("r1")
    assert set(rows) == {"q1", "q2"}
    assert rows["q2"].result() is None and rows["q2"].error == "LocationNotFound: x"
    kept = rows["q1"].result()
    assert kept is not None and kept.candidates == ()
    # What the store hands back without decoding equals what decoding its JSON gives.
    assert rows["q1"].result_json is not None
    assert codec.loads(SearchResult, rows["q1"].result_json) == kept
    fresh = RunStore(store.path).rows("r1")["q1"]
    assert fresh.decoded is None and fresh.result() == kept


def test_report_after_a_run_equals_the_report_from_the_store(tmp_path: Path) -> None:
    path = tmp_path / "batch.yaml"
    path.write_text(SET, encoding="utf-8")
    rs = load_region_set(path)
    settings = Settings(_env_file=None, home=tmp_path / "home", mode="offline")
    report = evaluate_region_set(rs, settings=settings, use_cache=False, progress=False)
    again = load_report(report.run_id, settings=settings, region_set=rs)
    assert report.run_lines() == again.run_lines()

    def comparable(means: dict[str, float]) -> dict[str, float | None]:
        skip = ("latency_p50_ms", "latency_p95_ms")
        return {k: None if math.isnan(v) else v for k, v in means.items() if k not in skip}

    assert comparable(report.means) == comparable(again.means)
    with sqlite3.connect(settings.home / "runs.sqlite3") as conn:
        n = conn.execute("SELECT COUNT(*) FROM results WHERE run_id = ?", (report.run_id,))
        assert n.fetchone()[0] == 3


@pytest.mark.parametrize("batch", [1, 2])
def test_small_batches_store_every_outcome(
    batch: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from underfoot_lab.evaluation import runner

    monkeypatch.setattr(runner._BatchWriter, "BATCH", batch)
    path = tmp_path / "batch.yaml"
    path.write_text(SET, encoding="utf-8")
    settings = Settings(_env_file=None, home=tmp_path / "home", mode="offline")
    report = evaluate_region_set(path, settings=settings, use_cache=False, progress=False)
    assert set(RunStore(settings=settings).rows(report.run_id)) == {
        "b-pikeville-01",
        "b-ely-01",
        "b-nowhere-01",
    }
