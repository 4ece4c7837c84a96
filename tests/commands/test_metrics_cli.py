"""``underfoot-lab metrics``: JSON shape and values against pytrec_eval, table, errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from underfoot_lab.cli import main

pytrec_eval = pytest.importorskip("pytrec_eval")

QRELS = {
    "q1": {"a": 3, "b": 0, "c": 1, "d": 2, "never": 1},
    "q2": {"x": 1, "y": 2, "z": 0},
    "q3": {"m": 0},
}
RUN = {
    "q1": {"a": 0.5, "b": 0.9, "c": 0.5, "e": 0.7, "d": 0.1},  # a tie (c before a)
    "q2": {"z": 3.0, "y": 2.0, "w": 1.0, "x": 0.5},
    "q3": {"m": 1.0, "n": 0.5},
}
MEASURES = {  # ours -> pytrec_eval's
    "nDCG@10": "ndcg_cut_10",
    "P@5": "P_5",
    "P@10": "P_10",
    "R@100": "recall_100",
    "RR": "recip_rank",
    "AP": "map",
}


def write(tmp_path: Path) -> tuple[Path, Path]:
    qrels = tmp_path / "qrels.txt"
    run = tmp_path / "run.trec"
    qrels.write_text(
        "".join(f"{q} 0 {d} {g}\n" for q, docs in QRELS.items() for d, g in docs.items())
    )
    lines = []
    for q, docs in RUN.items():
        for rank, (d, s) in enumerate(sorted(docs.items(), key=lambda x: -x[1]), start=1):
            lines.append(f"{q} Q0 {d} {rank} {s!r} test\n")
    run.write_text("".join(lines))
    return qrels, run


def test_json_matches_pytrec_eval(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    qrels, run = write(tmp_path)
    args = ["metrics", str(qrels), str(run), "--per-query", "--json"]
    for m in MEASURES:
        args += ["-m", m]
    assert main(args) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) == {"queries", "mean", "per_query"}
    assert out["queries"] == 3
    assert list(out["mean"]) == list(MEASURES)
    assert set(out["per_query"]) == {"q1", "q2", "q3"}

    evaluator = pytrec_eval.RelevanceEvaluator(
        QRELS, {"ndcg_cut.10", "P.5", "P.10", "recall.100", "recip_rank", "map"}
    )
    want = evaluator.evaluate(RUN)
    for qid, values in out["per_query"].items():
        assert list(values) == list(MEASURES)
        for ours, theirs in MEASURES.items():
            assert values[ours] == pytest.approx(want[qid][theirs], abs=1e-12), (qid, ours)
    for ours, theirs in MEASURES.items():
        mean = sum(want[q][theirs] for q in want) / len(want)
        assert out["mean"][ours] == pytest.approx(mean, abs=1e-12)


def test_defaults_table_and_missing_queries(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    qrels, run = write(tmp_path)
    partial = tmp_path / "partial.trec"
    partial.write_text("".join(ln for ln in run.read_text().splitlines(True) if ln[:2] != "q3"))
    assert main(["metrics", str(qrels), str(partial), "--json"]) == 0
    zero = json.loads(capsys.readouterr().out)
    assert zero["queries"] == 3 and zero["per_query"] == {}
    assert list(zero["mean"]) == ["nDCG@10", "nDCG@5", "P@5", "P@10", "R@100", "RR", "AP"]
    assert main(["metrics", str(qrels), str(partial), "--json", "--on-missing", "skip"]) == 0
    assert json.loads(capsys.readouterr().out)["queries"] == 2
    assert main(["metrics", str(qrels), str(run), "-m", "ndcg_cut_10", "--per-query"]) == 0
    text = capsys.readouterr().out
    assert "queries: 3" in text and "nDCG@10" in text and "q2" in text


def test_bad_input_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    qrels, run = write(tmp_path)
    assert main(["metrics", str(qrels), str(tmp_path / "missing.trec")]) != 0
    err = capsys.readouterr().err
    assert err.startswith("error:") and "missing.trec" in err and len(err.splitlines()) == 1
    bad = tmp_path / "bad.trec"
    bad.write_text("q1 Q0 a 1\n")
    assert main(["metrics", str(qrels), str(bad)]) != 0
    err = capsys.readouterr().err
    assert "bad.trec:1" in err and len(err.splitlines()) == 1
    assert main(["metrics", str(qrels), str(run), "-m", "nDCG@x"]) != 0
    assert capsys.readouterr().err.startswith("error:")


def test_binary_or_overlong_lines_exit_2_naming_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    qrels, run = write(tmp_path)
    binary = tmp_path / "run.bin"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe")
    assert main(["metrics", str(qrels), str(binary)]) == 2
    err = capsys.readouterr().err
    assert "run.bin" in err and len(err.splitlines()) == 1
    wide = tmp_path / "wide.qrels"
    wide.write_text("q1 0 a 1\nq1 0 b 1 extra\n")
    assert main(["metrics", str(wide), str(run)]) == 2
    assert "wide.qrels:2" in capsys.readouterr().err
