"""TREC qrels/run reading and writing."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from underfoot_lab.errors import UnderfootError
from underfoot_lab.evaluation.metrics.trec import (
    TrecFormatError,
    ranked,
    read_qrels,
    read_qrels_table,
    read_run,
    read_run_table,
    read_trec_pair,
    write_qrels,
    write_run,
)

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "trec"


def test_read_qrels_from_lines_skips_comments_and_blank_lines() -> None:
    qrels = read_qrels(["# judged by hand", "", "q1 0 d1 2", "q1 0 d2 0", "  q2\t0\td9  -1  "])
    assert qrels == {"q1": {"d1": 2, "d2": 0}, "q2": {"d9": -1}}


def test_read_qrels_needs_four_fields_and_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "qrels.txt"
    path.write_text("q1 0 d1 1\nq1 0 d2\n")
    with pytest.raises(TrecFormatError, match=r"qrels.txt:2: .*4 fields"):
        read_qrels(path)
    with pytest.raises(TrecFormatError, match=r":1: .*4 fields"):
        read_qrels(["q1 0 d1 1 extra"])


def test_read_qrels_rejects_non_integer_grades_and_duplicates() -> None:
    with pytest.raises(TrecFormatError, match=r":1: grade must be an integer, got '1.5'"):
        read_qrels(["q1 0 d1 1.5"])
    with pytest.raises(TrecFormatError, match=r":3: duplicate judgment for qid 'q1' docid 'd1'"):
        read_qrels(["q1 0 d1 1", "q1 0 d2 0", "q1 0 d1 0"])


def test_format_errors_are_value_errors_the_cli_can_print() -> None:
    assert issubclass(TrecFormatError, ValueError)
    assert issubclass(TrecFormatError, UnderfootError)


def test_read_run_parses_six_fields_and_ignores_rank() -> None:
    run = read_run(["q1 Q0 d1 7 1.5 tag", "q1 Q0 d2 1 -2.25e-3 tag", "q2 Q0 d3 1 inf tag"])
    assert run == {"q1": {"d1": 1.5, "d2": -0.00225}, "q2": {"d3": math.inf}}


def test_read_run_rejects_extra_fields_naming_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "run.txt"
    path.write_text("q1 Q0 d1 1 1.5 tag\nq1 Q0 d2 2 1.0 tag trailing words\n")
    with pytest.raises(TrecFormatError, match=r"run.txt:2: run line needs 6 fields .* got 8"):
        read_run(path)


def test_read_run_too_few_fields_is_an_error_with_line_number() -> None:
    with pytest.raises(TrecFormatError, match=r"<lines>:2: run line needs 6 fields .* got 5"):
        read_run(["q1 Q0 d1 1 0.5 tag", "q1 Q0 d2 2 0.4"])


def test_read_run_duplicate_document_names_qid_and_docid(tmp_path: Path) -> None:
    path = tmp_path / "run.txt"
    path.write_text("q1 Q0 d1 1 0.9 t\nq2 Q0 d1 1 0.9 t\nq1 Q0 d1 2 0.1 t\n")
    with pytest.raises(TrecFormatError, match=r"run.txt:3: duplicate document .*'q1'.*'d1'"):
        read_run(path)


def test_read_run_rejects_bad_and_nan_scores() -> None:
    with pytest.raises(TrecFormatError, match="score must be a number"):
        read_run(["q1 Q0 d1 1 high tag"])
    with pytest.raises(TrecFormatError, match="NaN"):
        read_run(["q1 Q0 d1 1 nan tag"])


def test_ranked_is_trec_eval_order_score_then_docid_descending() -> None:
    docs = {"d1": 1.0, "d3": 2.0, "d2": 2.0, "B": 0.5, "a": 0.5, "é": 0.5}
    # ties by docid descending in byte order: "é" (0xC3..) > "a" (0x61) > "B" (0x42)
    assert [d for d, _ in ranked(docs)] == ["d3", "d2", "d1", "é", "a", "B"]


def test_run_round_trip_is_exact_and_ranks_follow_trec_order(tmp_path: Path) -> None:
    run = {
        "q1": {"b": 0.1 + 0.2, "a": 0.30000000000000004, "c": 1e-300, "d": -math.inf},
        "q2": {"x": 5.0},
    }
    path = tmp_path / "run.txt"
    write_run(run, path, tag="sys1")
    lines = path.read_text().splitlines()
    assert lines[0] == "q1 Q0 b 1 0.30000000000000004 sys1"
    assert [line.split()[2] for line in lines[:4]] == ["b", "a", "c", "d"]
    assert [line.split()[3] for line in lines[:4]] == ["1", "2", "3", "4"]
    assert read_run(path) == run


def test_qrels_round_trip(tmp_path: Path) -> None:
    qrels = {"q1": {"d1": 3, "d2": 0, "d3": -1}, "q2": {"d1": 1}}
    path = tmp_path / "qrels.txt"
    write_qrels(qrels, path)
    assert path.read_text().splitlines()[0] == "q1 0 d1 3"
    assert read_qrels(path) == qrels


def test_writers_refuse_ids_that_would_break_the_format(tmp_path: Path) -> None:
    with pytest.raises(TrecFormatError, match="docid"):
        write_run({"q1": {"two words": 1.0}}, tmp_path / "r", tag="t")
    with pytest.raises(TrecFormatError, match="run tag"):
        write_run({"q1": {"d": 1.0}}, tmp_path / "r", tag="")
    with pytest.raises(TrecFormatError, match="qid"):
        write_qrels({"": {"d": 1}}, tmp_path / "q")
    with pytest.raises(TrecFormatError, match="NaN"):
        write_run({"q1": {"d": math.nan}}, tmp_path / "r", tag="t")


def test_public_trec_eval_sample_loads() -> None:
    qrels = read_qrels(FIXTURES / "qrels.test.excerpt")
    run = read_run(FIXTURES / "results.test.top100")
    assert sorted(qrels) == ["301", "302"]
    assert sum(g >= 1 for g in qrels["301"].values()) == 474  # trec_eval's num_rel
    assert sum(g >= 1 for g in qrels["302"].values()) == 77
    assert {q: len(d) for q, d in run.items()} == {"301": 100, "302": 100}


def test_public_sample_rank_column_agrees_with_trec_eval_order() -> None:
    lines = (FIXTURES / "results.test.top100").read_text().splitlines()
    file_rank = {(f[0], f[2]): int(f[3]) for f in (line.split() for line in lines)}
    run = read_run(FIXTURES / "results.test.top100")
    for qid, docs in run.items():
        ours = [file_rank[(qid, docid)] for docid, _ in ranked(docs)]
        assert ours == list(range(1, 101))
    # the ties in topic 301 are ordered by docid descending in the file, as trec_eval does
    assert file_rank[("301", "FBIS3-3622")] < file_rank[("301", "FBIS3-3586")]
    assert file_rank[("301", "FBIS3-58055")] < file_rank[("301", "FBIS3-58025")]


def test_bom_is_skipped_and_non_utf8_or_binary_files_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "bom.qrels"
    path.write_bytes(b"\xef\xbb\xbfq1 0 d1 2\nq1 0 d2 0\n")
    assert read_qrels(path) == {"q1": {"d1": 2, "d2": 0}}
    latin = tmp_path / "latin.run"
    latin.write_bytes("q1 Q0 caf\xe9 1 1.0 t\n".encode("latin-1"))
    with pytest.raises(TrecFormatError, match=r"latin.run: not UTF-8"):
        read_run(latin)
    binary = tmp_path / "blob.run"
    binary.write_bytes(b"q1 Q0 d1 1 1.0 t\n\x00\x01\x02")
    with pytest.raises(TrecFormatError, match=r"blob.run: not a text file"):
        read_run(binary)


@pytest.mark.parametrize(
    "text",
    [
        "q1 Q0 b 1 2.0 t\nq1 Q0 a 2 2.0 t\nq2 Q0 zz 1 -inf t\n",  # the CSV fast path
        "q1\tQ0 b 1 2.0 t\r\n# note\n\n  q1 Q0 a 2 2.0 t\nq2 Q0 zz 1 -inf t",  # line by line
    ],
)
def test_fast_and_line_by_line_readers_agree(tmp_path: Path, text: str) -> None:
    path = tmp_path / "run.txt"
    path.write_text(text, newline="")
    table = read_run_table(path)
    assert table.to_dict() == {"q1": {"b": 2.0, "a": 2.0}, "q2": {"zz": -math.inf}}
    assert read_run(text.splitlines()) == table.to_dict()


@pytest.mark.parametrize("fast", [True, False])
def test_duplicates_name_the_repeating_line_on_both_paths(tmp_path: Path, fast: bool) -> None:
    lines = ["q1 0 d1 1", "q1 0 d2 0", "q2 0 d1 1", "q1 0 d2 3", "q1 0 d1 0"]
    if not fast:
        lines.insert(0, "# comments force the line-by-line reader")
    path = tmp_path / "q.txt"
    path.write_text("\n".join(lines) + "\n")
    line = 4 if fast else 5
    with pytest.raises(TrecFormatError, match=rf"q.txt:{line}: duplicate judgment .*'q1'.*'d2'"):
        read_qrels_table(path)


def test_a_pair_read_together_shares_qids_and_is_joined(tmp_path: Path) -> None:
    qrels, run = tmp_path / "q", tmp_path / "r"
    qrels.write_text("q1 0 d1 1\nq1 0 long-docid-9 2\nq2 0 d1 1\n")
    run.write_text("q3 Q0 d1 1 1.0 t\nq1 Q0 d2 2 0.5 t\nq1 Q0 d1 3 0.25 t\n")
    qt, rt = read_trec_pair(qrels, run)
    assert qt.qids is rt.qids and qt.qids == ["q1", "q2", "q3"]
    assert qt.vocabulary.width == 2 and rt.vocabulary.width == 1  # each file its own width
    assert qt.matches is rt.matches and qt.matches is not None
    assert list(zip(qt.matches.qrels.tolist(), qt.matches.run.tolist(), strict=True)) == [(0, 2)]
    assert qt.to_dict() == {"q1": {"d1": 1, "long-docid-9": 2}, "q2": {"d1": 1}}
    assert rt.to_dict() == {"q3": {"d1": 1.0}, "q1": {"d2": 0.5, "d1": 0.25}}


def test_tables_evaluate_exactly_like_dicts_ties_included(tmp_path: Path) -> None:
    from underfoot_lab.evaluation.metrics.kernel import evaluate

    qrels, run = tmp_path / "q", tmp_path / "r"
    qrels.write_text("q1 0 b 2\nq1 0 a 1\nq1 0 gone 3\nq2 0 x 1\nq3 0 y 1\n")
    run.write_text(
        "q1 Q0 a 1 1.0 t\nq1 Q0 b 2 1.0 t\nq1 Q0 c 3 1.0 t\nq1 Q0 é 4 1.0 t\n"
        "q2 Q0 x 1 0.5 t\nq2 Q0 w 2 0.5 t\nq9 Q0 x 1 9.0 t\n"
    )
    measures = ["nDCG@2", "P@1", "RR", "AP", "R@100"]
    expected = evaluate(read_qrels(qrels), read_run(run), measures)
    pair = evaluate(*read_trec_pair(qrels, run), measures)
    apart = evaluate(read_qrels_table(qrels), read_run_table(run), measures)
    assert pair.per_query == expected.per_query == apart.per_query
    assert pair.mean == expected.mean and pair.queries == 3
    # ties by docid descending in byte order: 'é' (U+00E9) ranks before 'c', 'b', 'a'
    assert expected.per_query["q1"]["RR"] == 1 / 3


def test_packed_docids_order_ties_by_bytes_beyond_the_first_word(tmp_path: Path) -> None:
    from underfoot_lab.evaluation.metrics.kernel import evaluate

    # docids sharing their first 8 bytes, of different lengths (a prefix sorts first, as in
    # strcmp), and a non-ASCII one (the line-by-line reader packs it the same way)
    docs = ["clueweb09-en0000-01", "clueweb09-en0000-1", "clueweb09-en0000", "clueweb09-é", "c"]
    qrels, run = tmp_path / "q", tmp_path / "r"
    qrels.write_text("".join(f"q1 0 {d} {i % 3}\n" for i, d in enumerate(docs)))
    for path, extra in ((run, ""), (tmp_path / "r2", "# a comment forces the slow path\n")):
        path.write_text(extra + "".join(f"q1 Q0 {d} {i} 1.0 t\n" for i, d in enumerate(docs)))
        measures = ["nDCG@3", "P@2", "RR", "AP"]
        expected = evaluate(read_qrels(qrels), read_run(path), measures)
        assert evaluate(*read_trec_pair(qrels, path), measures).per_query == expected.per_query
        assert read_run_table(path).to_dict() == read_run(path) == {"q1": dict.fromkeys(docs, 1.0)}
    assert [d for d, _ in ranked(dict.fromkeys(docs, 1.0))] == sorted(docs, reverse=True)


def test_pair_keys_tell_a_repeat_from_a_docid_shared_by_two_qids() -> None:
    from underfoot_lab.evaluation.metrics import packing, trec

    words = packing._pack(packing._string_parts(["a", "b", "a"]))
    table, other = np.array([0, 0, 1]), np.array([0, 1])
    number, first, matches = trec._check_and_match([(table, words), (other, words[:2])], 2)
    assert number is None and first is None  # ("a" twice, two qids)
    assert matches is not None
    assert (matches.qrels.tolist(), matches.run.tolist()) == ([0], [0])
    number, first, matches = trec._check_and_match([(np.array([0, 0, 0]), words)], 1)
    assert (number, first, matches) == (0, 2, None)  # the third line repeats the first


def test_tables_read_apart_join_through_hashes_like_a_pair(tmp_path: Path) -> None:
    from underfoot_lab.evaluation.metrics.kernel import evaluate

    qrels, run = tmp_path / "q", tmp_path / "r"
    qrels.write_text("q1 0 long-document-id-0001 2\nq1 0 d2 1\nq2 0 x 1\nq3 0 y 1\n")
    run.write_text(
        "q2 Q0 x 1 0.5 t\nq1 Q0 d2 1 3.0 t\nq1 Q0 long-document-id-0001 2 3.0 t\nq1 Q0 z 3 1 t\n"
    )
    measures = ["nDCG@2", "P@1", "RR", "AP", "R@100"]
    apart = evaluate(read_qrels_table(qrels), read_run_table(run), measures)
    assert apart.per_query == evaluate(read_qrels(qrels), read_run(run), measures).per_query
    assert apart.per_query == evaluate(*read_trec_pair(qrels, run), measures).per_query
    assert apart.per_query["q1"]["RR"] == 1.0 and apart.queries == 3


def test_a_tab_inside_a_field_is_a_separator_as_for_trec_eval(tmp_path: Path) -> None:
    path = tmp_path / "run.txt"
    path.write_text("q1 Q0 a\tx 1 2.0 t\nq1 Q0 b 2 1.0 t\n")  # six fields to a CSV reader
    with pytest.raises(TrecFormatError, match=r"run.txt:1: run line needs 6 fields .* got 7"):
        read_run(path)


def test_large_files_are_read_like_lines(tmp_path: Path) -> None:
    from underfoot_lab.evaluation.metrics.kernel import evaluate

    lines = [f"q{i % 50} Q0 d{i} {i} {i % 7 / 2} run\n" for i in range(70_000)]
    expected = read_run(lines)
    assert len(expected) == 50 and sum(map(len, expected.values())) == 70_000
    variants = {
        "plain": "".join(lines).encode(),  # the CSV fast path
        "bom": b"\xef\xbb\xbf" + "".join(lines).encode(),
        "tab": "".join(lines).replace(" run\n", "\trun\n", 1).encode(),  # line by line
        "utf8": "".join(lines).replace(" d7 ", " d\u00e9 ", 1).encode(),  # line by line
    }
    for name, data in variants.items():
        path = tmp_path / name
        path.write_bytes(data)
        assert len(data) >= 1 << 20  # larger than the CSV reader's blocks and the key sort's
        table = read_run_table(path)
        assert table.to_dict() == read_run(data.decode("utf-8-sig").splitlines()), name
        assert (table.to_dict() == expected) == (name in ("plain", "bom", "tab")), name
    blob = tmp_path / "blob"
    blob.write_bytes("".join(lines).encode() + b"\x00")
    with pytest.raises(TrecFormatError, match=r"blob: not a text file"):
        read_run(blob)
    repeated = tmp_path / "repeated"
    repeated.write_text("".join(lines) + lines[123])
    message = r"repeated:70001: duplicate document .*'q23'.*'d123'"
    with pytest.raises(TrecFormatError, match=message):
        read_run_table(repeated)
    # a pair larger than one block of the key sort: judgments of every third document
    qrels = tmp_path / "qrels"
    qrels.write_text("".join(f"q{i % 50} 0 d{i} {i % 4}\n" for i in range(0, 90_000, 3)))
    measures = ["nDCG@10", "P@10", "AP", "RR", "R@1000"]
    ours = evaluate(*read_trec_pair(qrels, tmp_path / "plain"), measures)
    assert ours.per_query == evaluate(read_qrels(qrels), expected, measures).per_query
    assert 0 < ours.mean["AP"] < 1


@pytest.mark.parametrize("length", [1, 7, 8, 9, 14, 16, 17, 25])
def test_strings_of_one_length_pack_as_strings_of_mixed_lengths(length: int) -> None:
    from underfoot_lab.evaluation.metrics import packing

    rng = np.random.default_rng(length)
    for n in (1, 2, 3, 40):
        strings = ["".join(rng.choice(list("abcxyz~-09"), size=length)) for _ in range(n)]
        equal = packing._pack(packing._string_parts(strings))  # one length: strided word reads
        mixed = packing._pack(
            packing._string_parts([*strings, "w" * (length + 9)])
        )  # 8-byte windows
        assert packing._decode(equal) == strings
        assert np.array_equal(mixed[:n, : equal.shape[1]], equal)
        assert not mixed[:n, equal.shape[1] :].any()
