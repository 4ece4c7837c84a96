"""Judging a bundle: the judge panel opens its pool and writes grades into it; the LLM judge
(any OpenAI-compatible server) grades it; ``bundle info`` reports the agreement."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from bundle_support import Example, cli, offline_env
from live_servers import MODEL, OPENAI_KEY, UpstreamServer

from underfoot_lab.bundles import read_bundle_judgments
from underfoot_lab.settings import Settings


@pytest.fixture
def bundle(example: Example, tmp_path: Path) -> Path:
    return Path(shutil.copytree(example.path, tmp_path / example.path.name))


def test_judge_panel_grades_into_the_bundle(bundle: Path, tmp_path: Path) -> None:
    from underfoot_lab.widgets.judge_panel import JudgePanel

    settings = Settings(_env_file=None, home=tmp_path / "home")
    panel = JudgePanel(bundle=bundle, settings=settings, reference=None)
    try:
        assert panel.pool.region_set == "mini"
        assert not panel.pool.simulated  # real (here: loopback) data, replayed
        panel.start("alice")
        first = panel.current
        assert first is not None
        panel.grade(3, note="lovely")
    finally:
        panel.close()
    (stored,) = read_bundle_judgments(bundle)
    assert (stored.query_id, stored.doc_id, stored.grade) == (first.query_id, first.doc_id, 3)
    assert stored.judge == "human:alice" and stored.note == "lovely"
    qrels = (bundle / "judgments" / "qrels" / "human_alice.txt").read_text()
    assert qrels.split() == [first.query_id, "0", first.doc_id, "3"]


def test_llm_judge_grades_a_bundle_and_info_reports_agreement(
    bundle: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    server = UpstreamServer().start()
    server.openai_content["openai:unknown"] = lambda _user: json.dumps(
        {"grade": 2, "rationale": "a fine place"}
    )
    try:
        with pytest.MonkeyPatch.context() as mp:
            offline_env(mp, home)
            mp.setenv("OPENAI_API_KEY", OPENAI_KEY)
            code = cli("bundle", "judge", bundle, "--base-url", f"{server.base_url}/v1",
                       "--model", MODEL, "-k", "3")  # fmt: skip
    finally:
        server.stop()
    assert code == 0
    # The pool came from the recording: the server only saw the judge's questions.
    assert server.seen and {s.path for s in server.seen} == {"/v1/chat/completions"}
    graded = read_bundle_judgments(bundle)
    assert graded and {j.judge for j in graded} == {f"llm:{MODEL}"}
    assert {j.grade for j in graded} == {2}
    # A person grades the same items differently: info shows kappa and alpha.
    lines = [f"{j.query_id} 0 {j.doc_id} {i % 4}" for i, j in enumerate(graded)]
    (tmp_path / "h.txt").write_text("\n".join(lines) + "\n")
    assert cli("bundle", "import", bundle, tmp_path / "h.txt", "--judge", "human:dana") == 0
    capsys.readouterr()
    assert cli("bundle", "info", bundle, "--json") == 0
    (pair,) = json.loads(capsys.readouterr().out)["agreement"]
    assert (pair["judge_a"], pair["judge_b"]) == ("human:dana", f"llm:{MODEL}")
    assert pair["n"] == len(graded)
    assert pair["exact"] == pytest.approx(sum(i % 4 == 2 for i in range(len(graded))) / len(graded))


def test_undo_takes_the_grade_back_out_of_the_bundle(bundle: Path, tmp_path: Path) -> None:
    from underfoot_lab.widgets.judge_panel import JudgePanel

    qrels = bundle / "judgments" / "qrels" / "human_erin.txt"
    settings = Settings(_env_file=None, home=tmp_path / "home")
    panel = JudgePanel(bundle=bundle, settings=settings, reference=None)
    try:
        panel.start("erin")
        first = panel.current
        assert first is not None
        panel.grade(1)
        second = panel.current
        assert second is not None and second.key != first.key
        panel.grade(2)
        assert {(j.doc_id, j.grade) for j in read_bundle_judgments(bundle)} == {
            (first.doc_id, 1),
            (second.doc_id, 2),
        }
        panel.undo()  # the second grade leaves the store, the JSONL and the qrels
        assert panel.current == second
        assert [(j.doc_id, j.grade) for j in read_bundle_judgments(bundle)] == [(first.doc_id, 1)]
        assert qrels.read_text().split() == [first.query_id, "0", first.doc_id, "1"]
        # Re-grading an item and undoing that brings its earlier grade back, in the bundle too.
        panel.back()
        assert panel.current == first
        panel.grade(3)
        assert [(j.doc_id, j.grade) for j in read_bundle_judgments(bundle)] == [(first.doc_id, 3)]
        panel.undo()
        (restored,) = read_bundle_judgments(bundle)
        assert (restored.doc_id, restored.grade, restored.judge) == (first.doc_id, 1, "human:erin")
        assert qrels.read_text().split()[-1] == "1"
        panel.undo()  # the first grade: nothing of erin's is left, nor her qrels file
        assert read_bundle_judgments(bundle) == []
        assert not qrels.exists()
        assert panel.store.for_queries([first.query_id], ["human:erin"]) == []
    finally:
        panel.close()
