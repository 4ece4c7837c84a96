"""JudgePanel, headless: grading by button and by typed digit, resume, skip, agreement."""

from __future__ import annotations

import html
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from widget_support import SCRIPT_TITLE, CountingTransport

from underfoot_lab.evaluation.judging.judgments import Judgment, JudgmentStore
from underfoot_lab.evaluation.judging.llm_judge import STAND_IN_LABEL, WorldStandInJudge
from underfoot_lab.evaluation.judging.pooling import JudgingPool, build_judging_pool
from underfoot_lab.evaluation.regions import RegionSet, load_region_set
from underfoot_lab.pipeline.run import Pipeline
from underfoot_lab.widgets import JudgePanel
from underfoot_lab.widgets.judge_panel import rater_judge

MINI = """\
name: mini
description: two towns for the judge panel tests
queries:
  - id: t-pikeville-01
    text: hidden gems in Pikeville KY
    expected: {place: Pikeville, state: KY}
    tags: [general]
    region: appalachia
  - id: t-marfa-01
    text: weird stuff in Marfa TX
    expected: {place: Marfa, state: TX}
    tags: [weird]
    region: desert-southwest
"""


@pytest.fixture
def region_set(tmp_path: Path) -> RegionSet:
    path = tmp_path / "sets" / "mini.yaml"
    path.parent.mkdir()
    path.write_text(MINI)
    return load_region_set(path)


@pytest.fixture
def pool(region_set: RegionSet, pipe: Pipeline) -> JudgingPool:
    return build_judging_pool(region_set, k=3, pipeline=pipe)


@pytest.fixture
def store(home: Path) -> JudgmentStore:
    return JudgmentStore(home / "judgments.sqlite3")


@pytest.fixture
def panel(pool: JudgingPool, store: JudgmentStore, pipe: Pipeline) -> Iterator[JudgePanel]:
    p = JudgePanel(pool=pool, store=store, pipeline=pipe)
    yield p
    p.close()


def test_panel_waits_for_a_rater(panel: JudgePanel, pool: JudgingPool) -> None:
    assert panel.current is None and panel.judge is None
    assert f"{len(pool)} items over 2 queries" in panel.card.value
    assert all(b.disabled for b in panel.grade_buttons)
    assert [b.description for b in panel.grade_buttons] == [
        "0 (not relevant)", "1 (marginal)", "2 (relevant)", "3 (hidden gem)",
    ]  # fmt: skip
    assert all(b.tabbable for b in panel.grade_buttons)
    panel.grade(2)
    assert "press Start" in panel.status.value
    panel.rater.value = "bad name!"
    assert "rater name" in panel.status.value and panel.judge is None


def test_grading_by_buttons_and_typed_digits(
    panel: JudgePanel, pool: JudgingPool, store: JudgmentStore
) -> None:
    panel.rater.value = "alice"
    assert panel.judge == "human:alice" and panel.current == pool.items[0]
    assert f"item 1 of {len(pool)}" in panel.card.value
    assert html.escape(pool.items[0].result.title) in panel.card.value
    panel.note.value = "great <b>spot</b>"
    panel.grade_buttons[3].click()
    panel.grade_box.value = "1"  # typed digit + Enter (the box commits on Enter)
    assert panel.grade_box.value == ""
    panel.grade_box.value = "x"
    assert "type 0, 1, 2, 3, s, u or b" in panel.status.value
    got = {(j.query_id, j.doc_id): j for j in store.all(["human:alice"])}
    assert len(got) == 2
    first, second = got[pool.items[0].key], got[pool.items[1].key]
    assert (first.grade, first.note) == (3, "great <b>spot</b>")
    assert (second.grade, second.note) == (1, None)
    assert panel.note.value == ""
    assert panel.current == pool.items[2]
    assert panel.progress.value == 2 and f"2 / {len(pool)} judged" in panel.progress_label.value


def test_skip_comes_back_last_and_resume_continues(
    panel: JudgePanel, pool: JudgingPool, store: JudgmentStore, pipe: Pipeline
) -> None:
    panel.start("bob")
    panel.skip_button.click()
    assert panel.current == pool.items[1]
    panel.grade_box.value = "s"
    assert panel.current == pool.items[2]
    for _ in range(len(pool) - 2):
        panel.grade(0)
    assert panel.current == pool.items[0]  # skipped ones come back at the end
    panel.grade(2)
    assert panel.current == pool.items[1]
    again = JudgePanel(pool=pool, store=store, pipeline=pipe, rater="bob")
    assert again.current == pool.items[1]  # resumes at the only item bob has not graded
    assert "resuming" in again.status.value
    again.grade(2)
    assert again.current is None and "All" in again.card.value
    assert all(b.disabled for b in again.grade_buttons)
    assert len(store.all(["human:bob"])) == len(pool)
    again.close()


def test_reference_judge_and_agreement(
    panel: JudgePanel, pool: JudgingPool, store: JudgmentStore, pipe: Pipeline
) -> None:
    assert isinstance(panel.reference, WorldStandInJudge)
    assert STAND_IN_LABEL in panel.reference_view.value
    run = panel.run_reference()
    assert run is not None and len(run.judgments) == len(pool)
    assert STAND_IN_LABEL in panel.reference_view.value
    truth = run.grades()
    store.add(
        [Judgment(q, d, g, "human:carol") for (q, d), g in truth.items()]
    )  # carol agrees with the world everywhere
    panel.start("alice")
    for item in pool.items[:4]:
        panel.grade(truth[item.key])
    rows = {a.judge_b: a for a in panel.agreement()}
    assert set(rows) == {"world", "human:carol"}
    assert next(iter(rows)) == "world"  # the reference judge first
    assert rows["world"].n == 4 and rows["world"].exact == 1.0
    assert "human:carol" in panel.agreement_view.value
    assert STAND_IN_LABEL in panel.agreement_view.value
    per_region = panel.region_agreement()
    assert list(per_region)[-1] == "all" and per_region["all"].n == 4
    assert sum(a.n for r, a in per_region.items() if r != "all") == 4
    frame = panel.agreement_frame()
    assert list(frame["judge_b"]) == ["world", "human:carol"]


def test_card_escapes_untrusted_text(pool: JudgingPool, store: JudgmentStore) -> None:
    item = pool.items[0]
    mention = replace(item.result.mentions[0], title=SCRIPT_TITLE, url="javascript:alert(1)")
    hostile = replace(
        item,
        result=replace(
            item.result, title=SCRIPT_TITLE, url="javascript:alert(1)",
            description="<img src=x onerror=alert(2)>", mentions=(mention,),
        ),
    )  # fmt: skip
    small = replace(pool, items=(hostile,))
    p = JudgePanel(pool=small, store=store, reference=None, rater="dave")
    assert "<script" not in p.card.value and "<img" not in p.card.value
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in p.card.value
    assert 'href="javascript' not in p.card.value
    assert p.reference_button.disabled
    p.close()


def test_building_the_pool_twice_never_refetches(
    region_set: RegionSet, pipe: Pipeline, counting: CountingTransport, home: Path
) -> None:
    first = build_judging_pool(region_set, k=3, pipeline=pipe)
    n = len(counting.requests)
    assert n > 0
    second = build_judging_pool(region_set, k=3, pipeline=pipe)
    assert len(counting.requests) == n
    assert second.keys == first.keys


def test_rater_names() -> None:
    assert rater_judge("Alice Smith") == "human:Alice-Smith"
    assert rater_judge(" bob ") == "human:bob"
    with pytest.raises(Exception, match="rater name"):
        rater_judge("")
    with pytest.raises(Exception, match="rater name"):
        rater_judge("a:b")


# ------------------------------------------------------------------------------ issue 18
def test_buttons_fit_their_labels_and_none_looks_selected(panel: JudgePanel) -> None:
    buttons = [
        panel.start_button, *panel.grade_buttons, panel.skip_button, panel.undo_button,
        panel.back_button, panel.reference_button,
    ]  # fmt: skip
    # Sized to the label and never shrunk by the row (the labels were cut short).
    assert all(b.layout.width == "auto" and b.layout.flex == "0 0 auto" for b in buttons)
    # No grade button is styled as if chosen before anything is graded.
    panel.rater.value = "carol"
    assert [b.button_style for b in panel.grade_buttons] == ["", "", "", ""]


def test_undo_and_back(panel: JudgePanel, pool: JudgingPool, store: JudgmentStore) -> None:
    panel.rater.value = "dave"
    assert panel.undo_button.disabled and panel.back_button.disabled
    panel.grade(3)
    panel.grade(1)
    assert panel.current == pool.items[2] and not panel.undo_button.disabled
    # Undo: the last grade is forgotten and its item is shown again.
    panel.undo_button.click()
    assert panel.current == pool.items[1]
    got = {(j.query_id, j.doc_id): j.grade for j in store.all(["human:dave"])}
    assert got == {pool.items[0].key: 3}
    assert "undid" in panel.status.value
    # Back (typed): the previous item, its stored grade highlighted; regrading replaces it.
    panel.grade_box.value = "b"
    assert panel.current == pool.items[0] and "graded 3" in panel.status.value
    assert [b.button_style for b in panel.grade_buttons] == ["", "", "", "info"]
    panel.grade(2)
    panel.grade_box.value = "u"  # undo restores the grade it replaced
    got = {(j.query_id, j.doc_id): j.grade for j in store.all(["human:dave"])}
    assert got == {pool.items[0].key: 3} and panel.current == pool.items[0]
