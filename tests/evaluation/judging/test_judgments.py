"""Judgments: the SQLite store, upserts, merge rules, qrels and JSONL round-trips, agreement."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from underfoot_lab.errors import ConfigError
from underfoot_lab.evaluation.judging.judgments import Judgment, JudgmentStore, merge, read_jsonl
from underfoot_lab.evaluation.metrics.trec import read_qrels
from underfoot_lab.settings import Settings

T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def j(
    qid: str, doc: str, grade: int, judge: str, minutes: int = 0, note: str | None = None
) -> Judgment:
    return Judgment(qid, doc, grade, judge, T0 + timedelta(minutes=minutes), note)


@pytest.fixture
def store(tmp_path: Path) -> JudgmentStore:
    return JudgmentStore(tmp_path / "judgments.sqlite3")


# ------------------------------------------------------------------------------ the record
def test_judgment_normalises_time_to_utc() -> None:
    eastern = timezone(timedelta(hours=-5))
    made = Judgment("q1", "d1", 2, "human:alice", datetime(2026, 6, 1, 7, 0, tzinfo=eastern))
    assert made.created_at == T0
    assert made.created_at.tzinfo == UTC
    naive = Judgment("q1", "d1", 2, "human:alice", datetime(2026, 6, 1, 12, 0))
    assert naive.created_at == T0
    assert Judgment("q1", "d1", 0, "world").created_at.tzinfo == UTC


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"grade": 4}, "above the maximum 3"),
        ({"grade": True}, "grade must be an int"),
        ({"grade": 1.0}, "grade must be an int"),
        ({"doc_id": "two words"}, "doc_id must be a non-empty string without whitespace"),
        ({"query_id": ""}, "query_id must be"),
        ({"judge": "human: alice"}, "judge must be"),
    ],
)
def test_judgment_rejects_bad_values(kwargs: dict[str, object], message: str) -> None:
    fields: dict[str, object] = {"query_id": "q1", "doc_id": "d1", "grade": 1, "judge": "world"}
    fields.update(kwargs)
    with pytest.raises(ValueError, match=message):
        Judgment(**fields)  # type: ignore[arg-type]


def test_negative_grades_are_kept() -> None:
    assert Judgment("q1", "d1", -2, "trec").grade == -2


def test_dict_round_trip() -> None:
    made = j("q1", "d1", 3, "llm:gpt-4o-mini", note="names the place")
    data = made.to_dict()
    assert data["created_at"] == "2026-06-01T12:00:00.000000+00:00"
    assert Judgment.from_dict(json.loads(json.dumps(data))) == made
    with pytest.raises(ValueError, match="unknown field"):
        Judgment.from_dict({**data, "grdae": 1})
    with pytest.raises(ValueError, match="missing field"):
        Judgment.from_dict({"query_id": "q1", "doc_id": "d1", "judge": "world"})


# ------------------------------------------------------------------------------ the store
def test_default_path_is_under_settings_home(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "home")
    store = JudgmentStore(settings=settings)
    assert store.path == tmp_path / "home" / "judgments.sqlite3"
    store.add([j("q1", "d1", 1, "world")])
    assert store.path.is_file()


def test_round_trip(store: JudgmentStore) -> None:
    made = [
        j("q1", "d1", 3, "human:alice", note="great find"),
        j("q1", "d2", 0, "human:alice"),
        j("q2", "d1", 2, "llm:gpt-4o-mini"),
        j("q1", "d1", 2, "world"),
    ]
    assert store.add(made) == 4
    assert len(store) == 4
    assert store.judges() == ["human:alice", "llm:gpt-4o-mini", "world"]
    assert store.all() == sorted(made, key=lambda x: x.key)
    assert store.for_queries(["q2"]) == [made[2]]
    assert store.for_queries(["q1"], judges=["world"]) == [made[3]]
    assert store.for_queries(["q1", "q2", "q3"], judges=[]) == []
    assert store.for_queries([]) == []
    # A fresh object on the same file sees the same data.
    assert JudgmentStore(store.path).all() == store.all()


def test_for_queries_many_ids(store: JudgmentStore) -> None:
    made = [j(f"q{i:04d}", "d1", i % 4, "world") for i in range(1200)]
    store.add(made)
    got = store.for_queries(f"q{i:04d}" for i in range(0, 1200, 2))
    assert [x.query_id for x in got] == [f"q{i:04d}" for i in range(0, 1200, 2)]


def test_upsert_keeps_the_latest(store: JudgmentStore) -> None:
    store.add([j("q1", "d1", 1, "human:alice", minutes=10, note="first look")])
    # Newer: replaces.
    assert store.add([j("q1", "d1", 3, "human:alice", minutes=20, note="visited")]) == 1
    # Older (e.g. re-importing an old export): ignored.
    assert store.add([j("q1", "d1", 0, "human:alice", minutes=5)]) == 0
    # Another judge on the same pair: a separate row.
    store.add([j("q1", "d1", 2, "world")])
    rows = store.for_queries(["q1"])
    assert [(x.judge, x.grade, x.note) for x in rows] == [
        ("human:alice", 3, "visited"),
        ("world", 2, None),
    ]
    # Within one batch the latest wins too.
    store.add([j("q2", "d1", 1, "world", minutes=30), j("q2", "d1", 2, "world", minutes=1)])
    assert store.qrels("world") == {"q1": {"d1": 2}, "q2": {"d1": 1}}


def test_delete_judge(store: JudgmentStore) -> None:
    store.add([j("q1", "d1", 1, "world"), j("q1", "d1", 2, "human:bob")])
    assert store.delete_judge("world") == 1
    assert store.judges() == ["human:bob"]


def test_to_frame(store: JudgmentStore) -> None:
    store.add([j("q1", "d1", 3, "human:alice", note="x"), j("q1", "d2", 1, "world")])
    frame = store.to_frame()
    assert list(frame.columns) == ["query_id", "doc_id", "grade", "judge", "created_at", "note"]
    assert frame["grade"].tolist() == [3, 1]
    assert str(frame["created_at"].dt.tz) == "UTC"
    assert frame["created_at"].iloc[0] == T0
    empty = JudgmentStore(store.path.parent / "empty.sqlite3").to_frame()
    assert len(empty) == 0 and "grade" in empty.columns


# ------------------------------------------------------------------------------ merging
def _by(pairs: list[tuple[str, int]], qid: str = "q1", doc: str = "d1") -> list[Judgment]:
    return [j(qid, doc, grade, judge) for judge, grade in pairs]


def test_majority() -> None:
    assert merge(_by([("a", 2), ("b", 2), ("c", 0)]), "majority") == {"q1": {"d1": 2}}
    # Ties go to the lower grade.
    assert merge(_by([("a", 3), ("b", 1)]), "majority") == {"q1": {"d1": 1}}
    assert merge(_by([("a", 3), ("b", 3), ("c", 1), ("d", 1), ("e", 2)])) == {"q1": {"d1": 1}}


def test_mean_rounds_half_up() -> None:
    assert merge(_by([("a", 2), ("b", 3)]), "mean") == {"q1": {"d1": 3}}  # 2.5 -> 3
    assert merge(_by([("a", 1), ("b", 2)]), "mean") == {"q1": {"d1": 2}}  # 1.5 -> 2
    assert merge(_by([("a", 0), ("b", 1), ("c", 1)]), "mean") == {"q1": {"d1": 1}}  # 0.67 -> 1
    assert merge(_by([("a", 0), ("b", 0), ("c", 1)]), "mean") == {"q1": {"d1": 0}}  # 0.33 -> 0
    assert merge(_by([("a", -1), ("b", 0)]), "mean") == {"q1": {"d1": 0}}  # -0.5 -> 0


def test_max_min() -> None:
    judged = _by([("a", 0), ("b", 3), ("c", 1)])
    assert merge(judged, "max") == {"q1": {"d1": 3}}
    assert merge(judged, "min") == {"q1": {"d1": 0}}


def test_merge_unknown_rule() -> None:
    with pytest.raises(ConfigError, match="unknown merge rule 'median'"):
        merge(_by([("a", 1)]), "median")  # type: ignore[arg-type]


def test_prefer() -> None:
    judged = [
        *_by([("human:alice", 3), ("human:bob", 1), ("llm:x", 0), ("world", 0)]),
        *_by([("llm:x", 2), ("world", 3)], doc="d2"),
    ]
    # Humans decide where they judged (their tie goes low); elsewhere every judge counts.
    assert merge(judged, "majority", prefer="human:") == {"q1": {"d1": 1, "d2": 2}}
    assert merge(judged, "max", prefer="human:") == {"q1": {"d1": 3, "d2": 3}}
    # A priority list: alice first, then any LLM.
    assert merge(judged, "min", prefer=["human:alice", "llm:"]) == {"q1": {"d1": 3, "d2": 2}}
    assert merge(judged, "majority") == {"q1": {"d1": 0, "d2": 2}}


def test_merge_counts_each_judges_latest_only() -> None:
    judged = [
        j("q1", "d1", 0, "a", minutes=0),
        j("q1", "d1", 3, "a", minutes=5),
        j("q1", "d1", 3, "b"),
    ]
    assert merge(judged, "min") == {"q1": {"d1": 3}}


def test_store_merged(store: JudgmentStore) -> None:
    store.add([*_by([("a", 1), ("b", 2), ("c", 2)]), *_by([("a", 3)], qid="q2")])
    assert store.merged() == {"q1": {"d1": 2}, "q2": {"d1": 3}}
    assert store.merged("min", judges=["a", "b"]) == {"q1": {"d1": 1}, "q2": {"d1": 3}}
    assert store.merged("max", qids=["q2"]) == {"q2": {"d1": 3}}


# ------------------------------------------------------------------------------ qrels
def test_qrels_round_trip(store: JudgmentStore, tmp_path: Path) -> None:
    source = tmp_path / "in.qrels"
    source.write_text(
        "# a comment\nq2 0 d9 1\nq1 0 d2 0\nq1 0 d1 3\nq1 0 spam -2\n\n", encoding="utf-8"
    )
    when = datetime(2026, 5, 1, tzinfo=UTC)
    assert store.import_qrels(source, "trec:pool", created_at=when) == 4
    rows = store.all()
    assert {x.note for x in rows} == {"qrels import: in.qrels"}
    assert {x.created_at for x in rows} == {when}
    out = tmp_path / "out" / "trec.qrels"
    assert store.export_qrels(out, "trec:pool") == 4
    assert out.read_text(encoding="utf-8") == "q1 0 d1 3\nq1 0 d2 0\nq1 0 spam -2\nq2 0 d9 1\n"
    assert read_qrels(out) == read_qrels(source)


def test_export_merged_and_mapping(store: JudgmentStore, tmp_path: Path) -> None:
    store.add([*_by([("a", 2), ("b", 3)]), j("q1", "d2", 1, "a")])
    assert store.export_qrels(tmp_path / "m.qrels", "merged") == 2
    assert read_qrels(tmp_path / "m.qrels") == {"q1": {"d1": 2, "d2": 1}}
    store.export_qrels(tmp_path / "mean.qrels", "merged:mean")
    assert read_qrels(tmp_path / "mean.qrels") == {"q1": {"d1": 3, "d2": 1}}
    store.export_qrels(tmp_path / "given.qrels", {"qz": {"dz": 2}})
    assert read_qrels(tmp_path / "given.qrels") == {"qz": {"dz": 2}}
    with pytest.raises(ConfigError, match=r"no judgments by 'human:zed' .*judges: a, b"):
        store.export_qrels(tmp_path / "x.qrels", "human:zed")
    with pytest.raises(ConfigError, match="unknown merge rule 'median'"):
        store.export_qrels(tmp_path / "x.qrels", "merged:median")


def test_import_bad_qrels(store: JudgmentStore, tmp_path: Path) -> None:
    bad = tmp_path / "bad.qrels"
    bad.write_text("q1 0 d1 2\nq1 0 d2\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"bad.qrels:2: qrels line needs 4 fields"):
        store.import_qrels(bad, "x")
    too_high = tmp_path / "graded4.qrels"
    too_high.write_text("q1 0 d1 4\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"graded4.qrels: qid 'q1' doc 'd1': grade 4 is above"):
        store.import_qrels(too_high, "x")
    with pytest.raises(ConfigError, match="cannot read qrels"):
        store.import_qrels(tmp_path / "missing.qrels", "x")
    assert len(store) == 0


# ------------------------------------------------------------------------------ JSONL
def test_jsonl_round_trip_keeps_provenance(store: JudgmentStore, tmp_path: Path) -> None:
    made = [
        j("q1", "d1", 3, "human:alice", minutes=1, note="went there in May"),
        j("q1", "d1", 1, "llm:gpt-4o-mini", minutes=2, note="prompt v3"),
        j("q2", "d5", 0, "world"),
    ]
    store.add(made)
    path = tmp_path / "export" / "judgments.jsonl"
    assert store.export_jsonl(path) == 3
    lines = path.read_text(encoding="utf-8").splitlines()
    assert json.loads(lines[0]) == made[0].to_dict()
    other = JudgmentStore(tmp_path / "other.sqlite3")
    assert other.import_jsonl(path) == 3
    assert other.all() == store.all()
    assert store.export_jsonl(tmp_path / "alice.jsonl", judges=["human:alice"]) == 1
    assert read_jsonl(tmp_path / "alice.jsonl") == [made[0]]


def test_jsonl_errors_name_the_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    good = json.dumps(j("q1", "d1", 1, "world").to_dict())
    path.write_text(f"{good}\n\n{{not json\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"bad.jsonl:3: invalid JSON"):
        read_jsonl(path)
    path.write_text(f'{good}\n{{"query_id": "q1", "doc_id": "d 2", "grade": 1, "judge": "w"}}\n')
    with pytest.raises(ConfigError, match=r"bad.jsonl:2: invalid judgment: doc_id must be"):
        read_jsonl(path)


# ------------------------------------------------------------------------------ agreement
def test_agreement_pairs(store: JudgmentStore) -> None:
    store.add(
        [
            *_by([("human:alice", 3), ("llm:x", 3)], doc="d1"),
            *_by([("human:alice", 0), ("llm:x", 1)], doc="d2"),
            *_by([("human:alice", 2)], doc="d3"),  # only one judge: not a pair
            *_by([("llm:x", 2)], doc="d4"),
        ]
    )
    assert store.pairs("human:alice", "llm:x") == [("q1", "d1", 3, 3), ("q1", "d2", 0, 1)]


def test_agreement_hand_case(store: JudgmentStore) -> None:
    pairs = [(3, 3), (0, 1), (2, 2), (1, 1)]
    store.add(
        j("q1", f"d{i}", grade, judge)
        for i, (ga, gb) in enumerate(pairs)
        for judge, grade in (("human:alice", ga), ("llm:x", gb))
    )
    store.add([j("q2", "d9", 3, "human:alice")])  # judged by one side only: ignored
    result = store.agreement("human:alice", "llm:x")
    assert (result.judge_a, result.judge_b, result.n) == ("human:alice", "llm:x", 4)
    assert result.exact == 0.75
    # Linear weights |i-j|/3: observed disagreement 1/12, expected 3/8 -> 1 - 2/9.
    assert result.kappa == pytest.approx(7 / 9)
    assert result.weights == "linear"
    assert -1.0 <= result.alpha <= 1.0
    assert store.agreement("human:alice", "llm:x", weights="quadratic").kappa > result.kappa
    assert store.agreement("llm:x", "human:alice").kappa == pytest.approx(result.kappa)
    same = store.agreement("human:alice", "human:alice")
    assert same.n == 5 and same.exact == 1.0
    assert same.kappa == pytest.approx(1.0) and same.alpha == pytest.approx(1.0)
    assert result.to_dict()["n"] == 4


def test_agreement_with_negative_grades(store: JudgmentStore) -> None:
    store.add([*_by([("a", -2), ("b", -2)], doc="d1"), *_by([("a", 3), ("b", 2)], doc="d2")])
    result = store.agreement("a", "b")
    assert result.n == 2
    assert 0.0 < result.kappa < 1.0


def test_agreement_unknown_judge(store: JudgmentStore) -> None:
    store.add([j("q1", "d1", 1, "world")])
    with pytest.raises(ConfigError, match="no judgments by 'human:zed'"):
        store.agreement("world", "human:zed")


def test_agreement_no_overlap_is_nan(store: JudgmentStore) -> None:
    store.add([j("q1", "d1", 1, "a"), j("q1", "d2", 1, "b")])
    result = store.agreement("a", "b")
    assert result.n == 0
    assert math.isnan(result.exact) and math.isnan(result.kappa)


# ------------------------------------------------------------------------------ bulk paths
def test_add_grades_stores_what_add_stores(tmp_path: Path) -> None:
    """The world's bulk write equals add() of the same Judgment objects, row for row."""
    triples = [("q1", "d1", 2), ("q1", "world:e7", 3), ("q2", "d1", 0), ("q1", "d1", 1)]
    note = "offline world seed=1 clock=x"
    by_objects = JudgmentStore(tmp_path / "a.sqlite3")
    by_objects.add([Judgment(q, d, g, "world", T0, note) for q, d, g in triples])
    bulk = JudgmentStore(tmp_path / "b.sqlite3")
    assert bulk.add_grades("world", T0, note, triples) == 3  # (q1, d1) twice: the later wins
    assert bulk.all() == by_objects.all()
    assert bulk.qrels("world") == {"q1": {"d1": 1, "world:e7": 3}, "q2": {"d1": 0}}


@pytest.mark.parametrize(
    ("triple", "message"),
    [
        (("q 1", "d1", 1), "query_id"),
        (("q1", "", 1), "doc_id"),
        (("q1", "d1", 4), "above the maximum"),
        (("q1", "d1", True), "must be an int"),
    ],
)
def test_add_grades_checks_like_a_judgment(
    store: JudgmentStore, triple: tuple[str, str, int], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        store.add_grades("world", T0, None, [triple])
    with pytest.raises(ValueError, match="judge"):
        store.add_grades("bad judge", T0, None, [("q1", "d1", 1)])
    assert len(store) == 0


def test_grades_are_for_queries_as_tuples(store: JudgmentStore) -> None:
    store.add(
        [
            j("q1", "d2", 1, "world", note="n"),
            j("q1", "d1", 2, "human:a"),
            j("q2", "d1", 3, "world"),
        ]
    )
    store.add([j("q3", "d1", 3, "world")])
    got = store.grades(["q1", "q2"], ["world", "human:a"])
    want = [
        (x.query_id, x.doc_id, x.judge, x.grade, x.note)
        for x in store.for_queries(["q1", "q2"], ["world", "human:a"])
    ]
    assert got == want
    assert [r[:2] for r in got] == [("q1", "d1"), ("q1", "d2"), ("q2", "d1")]
    assert store.grades(["q1"], ["world"]) == [("q1", "d2", "world", 1, "n")]
