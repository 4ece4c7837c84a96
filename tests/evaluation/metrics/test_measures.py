"""Metrics with trec_eval semantics: parsing, hand-computed cases, pytrec_eval, dense path."""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from underfoot_lab.commands.metrics import format_metrics_table, metrics_cli_payload
from underfoot_lab.evaluation.metrics.dense import dense_scores, prepare
from underfoot_lab.evaluation.metrics.kernel import evaluate
from underfoot_lab.evaluation.metrics.measure_names import (
    EvaluationError,
    Measure,
    MeasureError,
    parse_measure,
    parse_measures,
)
from underfoot_lab.evaluation.metrics.trec import (
    ranked,
    read_qrels,
    read_run,
    read_trec_pair,
    write_qrels,
)

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "trec"
TOLERANCE = 1e-12

# --------------------------------------------------------------------------------------------
# Parsing


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("nDCG@10", "nDCG@10"),
        ("ndcg@10", "nDCG@10"),
        ("ndcg_cut_10", "nDCG@10"),
        ("NDCG_CUT.10", "nDCG@10"),
        ("nDCG", "nDCG"),
        ("nDCG@10(gain=exp)", "nDCG@10(gain=exp)"),
        ("ndcg_cut_5 (Gain=EXP)", "nDCG@5(gain=exp)"),
        ("nDCG@10(gain=linear)", "nDCG@10"),
        ("P@5", "P@5"),
        ("P_5", "P@5"),
        ("p.5", "P@5"),
        ("precision@20", "P@20"),
        ("R@100", "R@100"),
        ("recall_100", "R@100"),
        ("Recall@1000", "R@1000"),
        ("RR", "RR"),
        ("recip_rank", "RR"),
        ("MRR", "RR"),
        ("MRR@10", "RR@10"),
        ("AP", "AP"),
        ("map", "AP"),
        ("MAP", "AP"),
        ("map_cut_100", "AP@100"),
        ("AP@10", "AP@10"),
    ],
)
def test_parse_measure_aliases(text: str, canonical: str) -> None:
    measure = parse_measure(text)
    assert str(measure) == canonical
    assert parse_measure(str(measure)) == measure


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("BLEU", "unknown measure 'BLEU'"),
        ("P", "P needs a cutoff"),
        ("recall", "R needs a cutoff"),
        ("ndcg_cut", "ndcg_cut needs a cutoff"),
        ("P@0", "cutoff must be a positive integer"),
        ("P@5(gain=exp)", "P takes no option 'gain'"),
        ("nDCG@10(gain=cubic)", "gain='cubic' not one of linear, exp"),
        ("nDCG@10(discount=log)", "nDCG takes no option 'discount'"),
        ("nDCG@10(gain)", "must be key=value"),
        ("nDCG@@10", "cannot parse"),
        ("", "cannot parse"),
    ],
)
def test_parse_measure_errors_are_clear(text: str, message: str) -> None:
    with pytest.raises(MeasureError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_measure(text)


def test_measure_records_and_trec_eval_names() -> None:
    assert parse_measure("ndcg_cut_10") == Measure("nDCG", 10)
    assert parse_measure("nDCG@10(gain=exp)").options == (("gain", "exp"),)
    assert parse_measure("nDCG@10(gain=exp)").option("gain") == "exp"
    assert parse_measure("nDCG@10").option("gain") == "linear"
    names = {m: parse_measure(m).trec_eval_name for m in ["nDCG@10", "nDCG", "P@5", "R@100"]}
    assert names == {"nDCG@10": "ndcg_cut_10", "nDCG": "ndcg", "P@5": "P_5", "R@100": "recall_100"}
    assert parse_measure("RR").trec_eval_name == "recip_rank"
    assert parse_measure("AP").trec_eval_name == "map"
    assert parse_measure("AP@5").trec_eval_name == "map_cut_5"
    assert parse_measure("RR@10").trec_eval_name is None
    assert parse_measure("nDCG@10(gain=exp)").trec_eval_name is None
    assert parse_measures(["map", "AP", "MAP", "P_5"]) == (Measure("AP"), Measure("P", 5))
    with pytest.raises(MeasureError):
        Measure("nDCG", True)  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------
# Hand-computed cases

# Ranked by score: c (grade 1), x (unjudged), a (3), e (-1: in pool, unjudged), b (2);
# f (grade 2) and d (0) are judged but not retrieved.
HAND_QRELS = {"q": {"a": 3, "b": 2, "c": 1, "d": 0, "e": -1, "f": 2}}
HAND_RUN = {"q": {"c": 0.9, "x": 0.8, "a": 0.7, "e": 0.6, "b": 0.5}}


def _one(result: Any, measure: str, qid: str = "q") -> float:
    return float(result.per_query[qid][measure])


def test_hand_computed_graded_example() -> None:
    measures = ["nDCG@5", "nDCG@2", "nDCG", "P@5", "P@10", "R@5", "R@2", "RR", "AP", "AP@3"]
    result = evaluate(HAND_QRELS, HAND_RUN, measures)
    dcg5 = 1 / math.log2(2) + 3 / math.log2(4) + 2 / math.log2(6)
    # the ideal uses every positively judged doc (f included), grades 3, 2, 2, 1
    idcg5 = 3 / math.log2(2) + 2 / math.log2(3) + 2 / math.log2(4) + 1 / math.log2(5)
    assert _one(result, "nDCG@5") == pytest.approx(dcg5 / idcg5, abs=TOLERANCE)
    assert _one(result, "nDCG") == pytest.approx(dcg5 / idcg5, abs=TOLERANCE)
    assert _one(result, "nDCG@2") == pytest.approx(1 / (3 + 2 / math.log2(3)), abs=TOLERANCE)
    assert _one(result, "P@5") == pytest.approx(3 / 5)
    assert _one(result, "P@10") == pytest.approx(3 / 10)  # divides by k: 5 retrieved
    assert _one(result, "R@5") == pytest.approx(3 / 4)  # 4 relevant in the qrels
    assert _one(result, "R@2") == pytest.approx(1 / 4)
    assert _one(result, "RR") == 1.0
    assert _one(result, "AP") == pytest.approx((1 / 1 + 2 / 3 + 3 / 5) / 4)
    assert _one(result, "AP@3") == pytest.approx((1 / 1 + 2 / 3) / 4)
    assert result.queries == 1


def test_relevance_threshold_applies_to_all_but_ndcg() -> None:
    result = evaluate(HAND_QRELS, HAND_RUN, ["P@5", "R@5", "RR", "AP", "nDCG@5"], rel_threshold=2)
    assert _one(result, "P@5") == pytest.approx(2 / 5)  # a and b
    assert _one(result, "R@5") == pytest.approx(2 / 3)  # a, b, f are relevant at level 2
    assert _one(result, "RR") == pytest.approx(1 / 3)
    assert _one(result, "AP") == pytest.approx((1 / 3 + 2 / 5) / 3)
    baseline = evaluate(HAND_QRELS, HAND_RUN, ["nDCG@5"])
    assert _one(result, "nDCG@5") == _one(baseline, "nDCG@5")


def test_relevance_threshold_zero_counts_judged_zeros_as_relevant() -> None:
    # trec_eval -l0 (pytrec_eval refuses level 0): judged grade-0 docs are relevant,
    # negative grades and unjudged docs are not.
    result = evaluate(HAND_QRELS, HAND_RUN, ["P@5", "R@5", "AP"], rel_threshold=0)
    assert _one(result, "P@5") == pytest.approx(3 / 5)  # c, a, b (x unjudged, e negative)
    assert _one(result, "R@5") == pytest.approx(3 / 5)  # a, b, c, d, f are relevant
    assert _one(result, "AP") == pytest.approx((1 / 1 + 2 / 3 + 3 / 5) / 5)


def test_exponential_gain_is_an_option() -> None:
    result = evaluate(HAND_QRELS, HAND_RUN, ["nDCG@5(gain=exp)", "nDCG@5"])
    dcg = 1 + 7 / math.log2(4) + 3 / math.log2(6)
    idcg = 7 + 3 / math.log2(3) + 3 / math.log2(4) + 1 / math.log2(5)
    assert _one(result, "nDCG@5(gain=exp)") == pytest.approx(dcg / idcg, abs=TOLERANCE)
    assert _one(result, "nDCG@5(gain=exp)") != _one(result, "nDCG@5")


def test_ties_break_by_docid_descending_in_byte_order() -> None:
    measures = ["RR"]
    assert _one(evaluate({"q": {"a": 1}}, {"q": {"a": 1.0, "b": 1.0}}, measures), "RR") == 0.5
    assert _one(evaluate({"q": {"b": 1}}, {"q": {"a": 1.0, "b": 1.0}}, measures), "RR") == 1.0
    # bytes, not case-folded or numeric: "a" (0x61) > "B" (0x42); "doc9" > "doc10"
    assert _one(evaluate({"q": {"B": 1}}, {"q": {"a": 2.0, "B": 2.0}}, measures), "RR") == 0.5
    assert _one(evaluate({"q": {"doc9": 1}}, {"q": {"doc10": 0, "doc9": 0}}, measures), "RR") == 1
    # UTF-8 bytes: "é" (0xC3 0xA9) sorts after "z" (0x7A)
    assert _one(evaluate({"q": {"z": 1}}, {"q": {"z": 1.0, "é": 1.0}}, measures), "RR") == 0.5
    # -0.0 and 0.0 tie as trec_eval's comparisons do
    assert _one(evaluate({"q": {"a": 1}}, {"q": {"a": -0.0, "b": 0.0}}, measures), "RR") == 0.5


def test_infinite_scores_are_ranked_not_dropped() -> None:
    run = {"q": {"x": -math.inf, "y": -math.inf, "z": 0.0, "w": math.inf}}
    result = evaluate({"q": {"x": 1}}, run, ["RR", "P@10"])
    assert _one(result, "RR") == 0.25  # w, z, y, x
    assert _one(result, "P@10") == 0.1


def test_rank_column_is_ignored() -> None:
    run = read_run(["q Q0 a 1 0.1 t", "q Q0 b 2 0.9 t"])
    assert _one(evaluate({"q": {"a": 1}}, run, ["RR"]), "RR") == 0.5


def test_query_without_relevant_docs_scores_zero_and_counts() -> None:
    qrels = {"q1": {"a": 0, "b": -1}, "q2": {"a": 1}}
    run = {"q1": {"a": 1.0, "b": 2.0}, "q2": {"a": 1.0}}
    result = evaluate(qrels, run, ["nDCG@10", "P@1", "R@10", "RR", "AP"])
    assert result.per_query["q1"] == {"nDCG@10": 0, "P@1": 0, "R@10": 0, "RR": 0, "AP": 0}
    assert result.queries == 2
    assert result.mean["P@1"] == 0.5


def test_missing_queries_zero_or_skip_and_run_only_queries_ignored() -> None:
    qrels = {"q1": {"a": 1}, "q2": {"a": 1}, "q3": {"b": 2}}
    run = {"q1": {"a": 1.0}, "q4": {"a": 1.0}}
    zero = evaluate(qrels, run, ["P@1", "nDCG@3"])
    assert zero.queries == 3
    assert zero.mean == {"P@1": pytest.approx(1 / 3), "nDCG@3": pytest.approx(1 / 3)}
    assert zero.per_query["q3"] == {"P@1": 0.0, "nDCG@3": 0.0}
    assert "q4" not in zero.per_query
    skip = evaluate(qrels, run, ["P@1"], on_missing="skip")
    assert skip.queries == 1
    assert skip.mean == {"P@1": 1.0}
    assert list(skip.per_query) == ["q1"]


def test_frames_and_mappings_give_the_same_result() -> None:
    qrels = pd.DataFrame(
        [(q, d, g) for q, docs in HAND_QRELS.items() for d, g in docs.items()],
        columns=["qid", "docid", "grade"],
    )
    run = pd.DataFrame(
        [(q, d, s) for q, docs in HAND_RUN.items() for d, s in docs.items()],
        columns=["qid", "docid", "score"],
    )
    measures = ["nDCG@5", "AP", "P@5", "RR"]
    assert evaluate(qrels, run, measures) == evaluate(HAND_QRELS, HAND_RUN, measures)


def test_input_errors() -> None:
    with pytest.raises(EvaluationError, match=r"duplicate document in run: qid 'q' docid 'a'"):
        evaluate(
            {"q": {"a": 1}},
            pd.DataFrame({"qid": ["q", "q", "q"], "docid": ["a", "b", "a"], "score": [1, 2, 3]}),
            ["AP"],
        )
    with pytest.raises(EvaluationError, match=r"duplicate judgment in qrels: qid 'q' docid 'a'"):
        evaluate(
            pd.DataFrame({"qid": ["q", "q"], "docid": ["a", "a"], "grade": [1, 0]}),
            {"q": {"a": 1.0}},
            ["AP"],
        )
    with pytest.raises(EvaluationError, match=r"NaN score in run: qid 'q' docid 'b'"):
        evaluate({"q": {"a": 1}}, {"q": {"a": 1.0, "b": math.nan}}, ["AP"])
    with pytest.raises(EvaluationError, match="grades must be integers"):
        evaluate({"q": {"a": 1.5}}, {"q": {"a": 1.0}}, ["AP"])  # type: ignore[dict-item]
    with pytest.raises(EvaluationError, match="no qrels query appears in the run"):
        evaluate({"q": {"a": 1}}, {"other": {"a": 1.0}}, ["AP"], on_missing="skip")
    with pytest.raises(EvaluationError, match="qrels are empty"):
        evaluate({}, {"q": {"a": 1.0}}, ["AP"])
    with pytest.raises(EvaluationError, match="on_missing"):
        evaluate({"q": {"a": 1}}, {"q": {"a": 1.0}}, ["AP"], on_missing="drop")  # type: ignore[arg-type]
    with pytest.raises(EvaluationError, match="rel_threshold"):
        evaluate({"q": {"a": 1}}, {"q": {"a": 1.0}}, ["AP"], rel_threshold=-1)
    with pytest.raises(TypeError, match="nested mapping or a DataFrame"):
        evaluate({"q": {"a": 1}}, [("q", "a", 1.0)], ["AP"])  # type: ignore[arg-type]


def test_result_as_frame() -> None:
    frame = evaluate(HAND_QRELS | {"q0": {"a": 1}}, HAND_RUN, ["P@5", "AP"]).to_frame()
    assert list(frame.columns) == ["P@5", "AP"]
    assert list(frame.index) == ["q", "q0"]
    assert frame.loc["q0", "AP"] == 0.0


# --------------------------------------------------------------------------------------------
# Against pytrec_eval on random data

PYTREC_MEASURES = {
    "ndcg_cut.5,10",
    "P.5,10",
    "recall.100",
    "recip_rank",
    "map",
    "ndcg",
    "map_cut.10",
}
OURS = ["nDCG@5", "nDCG@10", "P@5", "P@10", "R@100", "RR", "AP", "nDCG", "AP@10"]


def random_case(
    seed: int, n_queries: int = 200
) -> tuple[dict[str, dict[str, int]], dict[str, dict[str, float]]]:
    """Graded qrels (-1..3) and runs with many ties, short runs, missing and run-only queries,
    queries with no relevant document, and a few long runs."""
    rng = np.random.default_rng(seed)
    qrels: dict[str, dict[str, int]] = {}
    run: dict[str, dict[str, float]] = {}
    for i in range(n_queries):
        qid = f"q{i}"
        pool = [f"doc{j}" for j in rng.choice(400, size=320, replace=False)]
        if rng.random() < 0.9:
            n_judged = int(rng.integers(1, 40))
            grades = rng.integers(-1, 4, n_judged)
            if rng.random() < 0.1:
                grades = np.minimum(grades, 0)  # nothing relevant
            qrels[qid] = {d: int(g) for d, g in zip(pool[:n_judged], grades, strict=True)}
        if rng.random() < 0.85:
            n_ret = int(rng.integers(0, 30)) if rng.random() < 0.95 else int(rng.integers(100, 300))
            docs = rng.choice(pool[:60] if n_ret < 60 else pool, size=n_ret, replace=False)
            run[qid] = {str(d): float(rng.integers(0, 6)) / 2 for d in docs}  # many ties
    return qrels, run


@pytest.fixture(scope="module", params=[1, 2, 3])
def case(request: pytest.FixtureRequest) -> tuple[dict[str, dict[str, int]], dict[str, Any]]:
    return random_case(request.param)


def _pytrec(
    qrels: Mapping[str, Mapping[str, int]],
    run: Mapping[str, Mapping[str, float]],
    measures: set[str],
    **kwargs: Any,
) -> dict[str, dict[str, float]]:
    pytrec_eval = pytest.importorskip("pytrec_eval")  # a dev dependency; the reference
    evaluator = pytrec_eval.RelevanceEvaluator(
        {q: dict(d) for q, d in qrels.items()}, measures, **kwargs
    )
    result: dict[str, dict[str, float]] = evaluator.evaluate({q: dict(d) for q, d in run.items()})
    return result


def test_random_case_has_the_edge_cases(case: Any) -> None:
    qrels, run = case
    assert set(qrels) - set(run), "qrels queries missing from the run"
    assert set(run) - set(qrels), "run-only queries"
    assert any(all(g <= 0 for g in d.values()) for d in qrels.values()), "no relevant docs"
    assert any(len(d) < 5 for d in run.values()), "short runs"
    assert any(len(d) > 100 for d in run.values()), "long runs"
    assert any(len(set(d.values())) < len(d) for d in run.values()), "ties"


def test_skip_mode_matches_pytrec_eval_per_query(case: Any) -> None:
    qrels, run = case
    theirs = _pytrec(qrels, run, PYTREC_MEASURES)
    ours = evaluate(qrels, run, OURS, on_missing="skip")
    assert set(ours.per_query) == set(theirs)
    assert ours.queries == len(theirs)
    for qid, values in ours.per_query.items():
        for name in OURS:
            expected = theirs[qid][parse_measure(name).trec_eval_name or ""]
            assert values[name] == pytest.approx(expected, abs=TOLERANCE), (qid, name)


@pytest.mark.parametrize("depth", [None, 12])
def test_trec_files_match_pytrec_eval_with_ties_of_every_size(
    case: Any, depth: int | None, tmp_path: Path
) -> None:
    # the file path packs docids into words and breaks ties of two by a swap, longer ties by
    # a lexsort: docids of several lengths (so ties differ beyond the first word) and scores
    # on a half-point grid give ties of 2, 3, ... entries; with a fixed depth (every query
    # the same number of documents, no padding) the ranking sort is not even stable
    qrels, run = case
    rng = np.random.default_rng(len(run))
    rename = {f"doc{j}": f"doc{j}" + "-x" * (j % 7) for j in range(400)}
    qrels = {q: {rename[d]: g for d, g in docs.items()} for q, docs in qrels.items()}
    run = {  # half the queries keep the coarse grid (long ties), half get mostly pairs
        q: {
            rename[d]: s if i % 2 else float(rng.integers(0, max(1, len(docs) // 2)))
            for d, s in list(docs.items())[:depth]
        }
        for i, (q, docs) in enumerate(run.items())
        if docs and (depth is None or len(docs) >= depth)
    }
    write_qrels(qrels, tmp_path / "qrels")
    # lines shuffled within each query (write_run would list them in trec_eval's order)
    lines = [
        f"{q} Q0 {d} 0 {s!r} t\n"
        for q, docs in run.items()
        for d, s in rng.permutation(np.array(list(docs.items()), dtype=object)).tolist()
    ]
    (tmp_path / "run").write_text("".join(lines))
    sizes = [list(d.values()).count(s) for d in run.values() for s in set(d.values())]
    assert sizes.count(2) > 100 and sizes.count(3) > 30 and max(sizes) > 5
    assert depth is None or {len(d) for d in run.values()} == {depth}
    theirs = _pytrec(qrels, run, PYTREC_MEASURES)
    ours = evaluate(*read_trec_pair(tmp_path / "qrels", tmp_path / "run"), OURS, on_missing="skip")
    assert set(ours.per_query) == set(theirs)
    for qid, values in ours.per_query.items():
        for name in OURS:
            expected = theirs[qid][parse_measure(name).trec_eval_name or ""]
            assert values[name] == pytest.approx(expected, abs=TOLERANCE), (qid, name)


def test_zero_mode_is_pytrec_eval_with_zeros_over_all_qrels_queries(case: Any) -> None:
    qrels, run = case
    theirs = _pytrec(qrels, run, PYTREC_MEASURES)
    ours = evaluate(qrels, run, OURS)
    assert ours.queries == len(qrels)
    for name in OURS:
        key = parse_measure(name).trec_eval_name or ""
        expected = sum(v[key] for v in theirs.values()) / len(qrels)
        assert ours.mean[name] == pytest.approx(expected, abs=TOLERANCE)
        for qid in set(qrels) - set(theirs):
            assert ours.per_query[qid][name] == 0.0


@pytest.mark.parametrize("level", [2, 3])
def test_relevance_level_matches_pytrec_eval(case: Any, level: int) -> None:
    qrels, run = case
    theirs = _pytrec(qrels, run, PYTREC_MEASURES, relevance_level=level)
    ours = evaluate(qrels, run, OURS, on_missing="skip", rel_threshold=level)
    for qid, values in ours.per_query.items():
        for name in OURS:
            expected = theirs[qid][parse_measure(name).trec_eval_name or ""]
            assert values[name] == pytest.approx(expected, abs=TOLERANCE), (qid, name)


def test_exponential_gain_equals_pytrec_eval_on_transformed_grades(case: Any) -> None:
    qrels, run = case
    transformed = {
        q: {d: 2**g - 1 if g > 0 else g for d, g in docs.items()} for q, docs in qrels.items()
    }
    theirs = _pytrec(transformed, run, {"ndcg_cut.10"})
    ours = evaluate(qrels, run, ["nDCG@10(gain=exp)"], on_missing="skip")
    for qid, values in ours.per_query.items():
        assert values["nDCG@10(gain=exp)"] == pytest.approx(
            theirs[qid]["ndcg_cut_10"], abs=TOLERANCE
        )


def test_rr_at_k_is_recip_rank_of_the_run_cut_at_k(case: Any) -> None:
    qrels, run = case
    cut = {q: dict(ranked(docs)[:3]) for q, docs in run.items()}
    theirs = _pytrec(qrels, cut, {"recip_rank"})
    ours = evaluate(qrels, run, ["RR@3"], on_missing="skip")
    for qid, values in ours.per_query.items():
        assert values["RR@3"] == pytest.approx(theirs[qid]["recip_rank"], abs=TOLERANCE)


# --------------------------------------------------------------------------------------------
# The public trec_eval sample: trec_eval's own expected output and pytrec_eval


def _expected_output() -> dict[tuple[str, str], float]:
    rows = (line.split() for line in (FIXTURES / "out.test.aq.excerpt").read_text().splitlines())
    return {(name, qid): float(value) for name, qid, value in rows}


SAMPLE_MEASURES = [f"{m}@{k}" for k in (5, 10, 15, 20, 30, 100) for m in ("P", "R", "nDCG", "AP")]


def test_public_sample_matches_trec_eval_expected_output() -> None:
    qrels = read_qrels(FIXTURES / "qrels.test.excerpt")
    run = read_run(FIXTURES / "results.test.top100")
    expected = _expected_output()
    result = evaluate(qrels, run, [*SAMPLE_MEASURES, "RR"])
    checked = 0
    for qid in ("301", "302"):
        assert sum(g >= 1 for g in qrels[qid].values()) == expected[("num_rel", qid)]
        for name in [*SAMPLE_MEASURES, "RR"]:
            key = parse_measure(name).trec_eval_name or ""
            # trec_eval prints 4 decimals
            assert result.per_query[qid][name] == pytest.approx(expected[(key, qid)], abs=5e-5)
            checked += 1
    assert checked == 50


def test_public_sample_matches_pytrec_eval_and_its_ties_matter() -> None:
    qrels = read_qrels(FIXTURES / "qrels.test.excerpt")
    run = read_run(FIXTURES / "results.test.top100")
    theirs = _pytrec(
        qrels, run, {"P.5,10,100", "recall.100", "ndcg_cut.10,100", "map_cut.100", "recip_rank"}
    )
    names = ["P@5", "P@10", "P@100", "R@100", "nDCG@10", "nDCG@100", "AP@100", "RR"]
    ours = evaluate(qrels, run, names)
    for qid in ("301", "302"):
        for name in names:
            key = parse_measure(name).trec_eval_name or ""
            assert ours.per_query[qid][name] == pytest.approx(theirs[qid][key], abs=TOLERANCE)
    # FBIS3-58055 (relevant) and FBIS3-58025 (not) tie at rank 67/68; docid descending puts
    # the relevant one first, exactly as nudging its score up would.
    assert qrels["301"]["FBIS3-58055"] == 1 and qrels["301"]["FBIS3-58025"] == 0
    nudged_up = {**run, "301": {**run["301"], "FBIS3-58055": run["301"]["FBIS3-58055"] + 1e-9}}
    nudged_down = {**run, "301": {**run["301"], "FBIS3-58055": run["301"]["FBIS3-58055"] - 1e-9}}
    tied = ours.per_query["301"]["AP@100"]
    assert evaluate(qrels, nudged_up, ["AP@100"]).per_query["301"]["AP@100"] == tied
    assert evaluate(qrels, nudged_down, ["AP@100"]).per_query["301"]["AP@100"] < tied


def test_metrics_cli_payload_and_table() -> None:
    qrels_path = FIXTURES / "qrels.test.excerpt"
    run_path = FIXTURES / "results.test.top100"
    payload = metrics_cli_payload(qrels_path, run_path, ["ndcg_cut_10", "P@5", "MRR"], False)
    assert payload["queries"] == 2
    assert list(payload["mean"]) == ["nDCG@10", "P@5", "RR"]
    assert payload["mean"]["P@5"] == pytest.approx((0.0 + 0.8) / 2)
    assert payload["per_query"] == {}
    table = format_metrics_table(payload)
    assert "queries: 2" in table and "P@5" in table and "0.4000" in table
    detailed = metrics_cli_payload(qrels_path, run_path, ["P@5"], True)
    assert detailed["per_query"] == {"301": {"P@5": 0.0}, "302": {"P@5": 0.8}}
    lines = format_metrics_table(detailed).splitlines()
    assert lines[-2].split() == ["301", "0.0000"]
    assert lines[-1].split() == ["302", "0.8000"]


# --------------------------------------------------------------------------------------------
# The dense path


def _matrix(result: Any, qids: tuple[str, ...], measures: list[str]) -> np.ndarray:
    return np.array([[result.per_query[q][m] for m in measures] for q in qids])


@pytest.mark.parametrize("on_missing", ["zero", "skip"])
def test_dense_path_equals_evaluate_exactly(case: Any, on_missing: str) -> None:
    qrels, run = case
    measures = [*OURS, "RR@3", "nDCG@10(gain=exp)"]
    prepared = prepare(qrels, run, on_missing=on_missing)  # type: ignore[arg-type]
    expected = evaluate(qrels, run, measures, on_missing=on_missing)  # type: ignore[arg-type]
    assert prepared.qids == tuple(expected.per_query)
    values = dense_scores(prepared, prepared.score_matrix(run), measures)
    assert np.array_equal(values, _matrix(expected, prepared.qids, measures))
    assert values.mean(axis=0) == pytest.approx([expected.mean[m] for m in measures], abs=1e-15)
    rows = [
        np.array([run[q][d] for d in c])
        for q, c in zip(prepared.qids, prepared.candidates, strict=True)
    ]
    assert np.array_equal(dense_scores(prepared, rows, measures), values)


def test_dense_path_is_independent_of_candidate_order(case: Any) -> None:
    qrels, run = case
    rng = np.random.default_rng(7)
    shuffled = {q: [str(d) for d in rng.permutation(list(docs))] for q, docs in run.items()}
    prepared = prepare(qrels, shuffled)
    reference = prepare(qrels, run)
    measures = ["nDCG@10", "AP", "RR"]
    assert np.array_equal(
        dense_scores(prepared, prepared.score_matrix(run), measures),
        dense_scores(reference, reference.score_matrix(run), measures),
    )


def test_dense_path_sweeps_scores_and_handles_ties_and_infinities() -> None:
    qrels = {"q1": {"a": 1, "b": 2, "c": 0}, "q2": {"z": 1}, "q3": {"y": 3}}
    candidates = {"q1": ["a", "b", "c", "d"], "q2": ["x", "y", "z"]}
    prepared = prepare(qrels, candidates)
    assert prepared.qids == ("q1", "q2", "q3")  # q3 has no candidates: an empty row
    assert prepared.width == 4
    rng = np.random.default_rng(0)
    for _ in range(50):
        scores = rng.integers(0, 3, size=(3, 4)).astype(float)
        scores[rng.random((3, 4)) < 0.2] = -np.inf
        run = {
            q: {d: float(scores[i, j]) for j, d in enumerate(c)}
            for i, (q, c) in enumerate(zip(prepared.qids, prepared.candidates, strict=True))
            if c
        }
        expected = evaluate(qrels, run, ["nDCG@3", "AP", "RR", "P@2"])
        got = dense_scores(prepared, scores, ["nDCG@3", "AP", "RR", "P@2"])
        assert np.array_equal(got, _matrix(expected, prepared.qids, ["nDCG@3", "AP", "RR", "P@2"]))


def test_dense_path_without_padding_and_ties_at_the_cutoff() -> None:
    """Every query with the same number of candidates (no padding masks) and coarse scores,
    so ties straddle the cutoff in some rows and not in others; the caller's matrix is left
    as it was."""
    rng = np.random.default_rng(3)
    docs = [f"d{j:02d}" for j in range(12)]
    qrels = {f"q{i}": {d: int(rng.integers(0, 3)) for d in docs[:8]} for i in range(40)}
    prepared = prepare(qrels, {q: docs for q in qrels})
    assert (prepared.lengths == prepared.width).all()
    measures = ["nDCG@5", "P@3", "RR@4", "AP"]
    for _ in range(20):
        scores = rng.integers(0, 4, size=(40, 12)).astype(float)
        scores[rng.random((40, 12)) < 0.1] = -np.inf
        before = scores.copy()
        # rows follow prepared.qids (sorted as trec_eval sorts them)
        run = {
            q: dict(zip(docs, scores[i].tolist(), strict=True)) for i, q in enumerate(prepared.qids)
        }
        expected = evaluate(qrels, run, measures)
        got = dense_scores(prepared, scores, measures)
        assert np.array_equal(got, _matrix(expected, prepared.qids, measures))
        assert np.array_equal(scores, before)
    scores[7, 3] = np.nan
    with pytest.raises(EvaluationError, match=f"NaN score for qid '{prepared.qids[7]}'"):
        dense_scores(prepared, scores, ["nDCG@5"])


def test_dense_path_errors() -> None:
    prepared = prepare({"q1": {"a": 1}, "q2": {"b": 1}}, {"q1": ["a", "b"], "q2": ["b"]})
    with pytest.raises(EvaluationError, match="shape"):
        dense_scores(prepared, np.zeros((2, 1)), ["AP"])
    with pytest.raises(EvaluationError, match="scores for 1 queries"):
        dense_scores(prepared, [np.zeros(2)], ["AP"])
    with pytest.raises(EvaluationError, match="expected \\(1,\\)"):
        dense_scores(prepared, [np.zeros(2), np.zeros(2)], ["AP"])
    with pytest.raises(EvaluationError, match="NaN score for qid 'q2'"):
        dense_scores(prepared, np.array([[1.0, 2.0], [np.nan, 0.0]]), ["AP"])
    # padding past a row's length is ignored, NaN included
    assert dense_scores(prepared, np.array([[1.0, 2.0], [0.0, np.nan]]), ["RR"]).tolist() == [
        [0.5],
        [1.0],
    ]
    with pytest.raises(KeyError, match="candidate 'b'"):
        prepared.score_matrix({"q1": {"a": 1.0}, "q2": {"b": 1.0}})
    filled = prepared.score_matrix({"q1": {"a": 1.0}, "q2": {"b": 1.0}}, fill=0.0)
    assert filled.tolist() == [[1.0, 0.0], [1.0, -np.inf]]
    with pytest.raises(EvaluationError, match="duplicate candidate: qid 'q1' docid 'a'"):
        prepare({"q1": {"a": 1}}, {"q1": ["a", "a"]})


def test_dense_top_k_for_cutoff_measures_equals_the_full_ranking() -> None:
    """Only cutoff measures (k well inside the width) take the partial top-k; with heavy ties,
    -inf scores and short rows it must equal evaluate exactly, row by row."""
    rng = np.random.default_rng(3)
    width = 30
    candidates = {
        f"q{i}": [f"d{i}-{j:02d}" for j in range(int(rng.integers(1, width + 1)))]
        for i in range(40)
    }
    qrels = {
        q: {d: int(rng.integers(-1, 4)) for d in docs if rng.random() < 0.5} | {f"{q}-x": 2}
        for q, docs in candidates.items()
    }
    prepared = prepare(qrels, candidates)
    measures = ["nDCG@10", "P@5", "R@10", "RR@10", "AP@10", "nDCG@3(gain=exp)"]
    for trial in range(30):
        scores = rng.integers(0, 4 if trial % 2 else 40, size=(len(prepared.qids), width))
        matrix = scores.astype(float)
        matrix[rng.random(matrix.shape) < 0.1] = -np.inf
        run = {
            q: {d: float(matrix[i, j]) for j, d in enumerate(c)}
            for i, (q, c) in enumerate(zip(prepared.qids, prepared.candidates, strict=True))
        }
        expected = _matrix(evaluate(qrels, run, measures), prepared.qids, measures)
        assert np.array_equal(dense_scores(prepared, matrix, measures), expected)


def test_dense_top_k_without_padding_works_in_column_order() -> None:
    """Full rows and cutoff measures: the top k is found in the caller's column order (not
    the internal docid order), ties at and above the k-th score put in docid order; with
    candidates listed in shuffled order, heavy ties and -inf it equals evaluate exactly, and
    columns past the width are ignored."""
    rng = np.random.default_rng(5)
    width = 24
    candidates = {
        f"q{i}": [f"d{i}-{j:02d}" + "x" * (j % 3) for j in rng.permutation(width).tolist()]
        for i in range(50)
    }
    qrels = {
        q: {d: int(rng.integers(-1, 4)) for d in docs if rng.random() < 0.6}
        for q, docs in candidates.items()
    }
    prepared = prepare(qrels, candidates)
    assert (prepared.lengths == width).all()
    measures = ["nDCG@10", "P@5", "R@10", "RR@10", "AP@10", "nDCG@3(gain=exp)"]
    for trial in range(30):
        scores = rng.integers(0, 3 if trial % 2 else 30, size=(len(prepared.qids), width + 2))
        matrix = scores.astype(float)
        matrix[rng.random(matrix.shape) < 0.1] = -np.inf
        run = {
            q: {d: float(matrix[i, j]) for j, d in enumerate(c)}
            for i, (q, c) in enumerate(zip(prepared.qids, prepared.candidates, strict=True))
        }
        expected = _matrix(evaluate(qrels, run, measures), prepared.qids, measures)
        assert np.array_equal(dense_scores(prepared, matrix, measures), expected)
        assert np.array_equal(dense_scores(prepared, matrix[:, :width], measures), expected)
    matrix[3, 5] = np.nan
    with pytest.raises(EvaluationError, match=f"NaN score for qid '{prepared.qids[3]}'"):
        dense_scores(prepared, matrix, ["nDCG@5"])


def test_means_only_skip_the_per_query_dicts(case: Any) -> None:
    qrels, run = case
    full = evaluate(qrels, run, OURS)
    means = evaluate(qrels, run, OURS, per_query=False)
    assert means.per_query == {} and full.per_query
    assert (means.mean, means.queries, means.measures) == (full.mean, full.queries, full.measures)
