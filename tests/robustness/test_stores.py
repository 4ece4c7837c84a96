"""Every SQLite store opens through storage.connect: a damaged file is a one-line ConfigError
(exit 2) naming the file and the remedy, never deleted; doctor checks the home and each store."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest

from underfoot_lab.commands.doctor import check_state, home_problem, move_broken_aside
from underfoot_lab.errors import ConfigError
from underfoot_lab.evaluation.judging.judgments import JudgmentStore
from underfoot_lab.evaluation.judging.llm_judge import JudgeCache
from underfoot_lab.evaluation.runner import RunStore
from underfoot_lab.settings import Settings
from underfoot_lab.storage import StoreCorrupt, integrity
from underfoot_lab.tracking.store import check_store

GARBAGE = b"this is not a database, just bytes " * 200


def test_the_run_store_names_a_garbage_file(tmp_path: Path) -> None:
    path = tmp_path / "runs.sqlite3"
    path.write_bytes(GARBAGE)
    with pytest.raises(StoreCorrupt) as err:
        RunStore(path).run_ids()
    text = str(err.value)
    assert str(path) in text and "run store" in text and "doctor --move-aside" in text
    assert isinstance(err.value, ConfigError) and "\n" not in text
    assert path.read_bytes() == GARBAGE


def test_a_truncated_run_store_is_named_too(tmp_path: Path) -> None:
    path = tmp_path / "runs.sqlite3"
    store = RunStore(path)
    store.run_ids()  # creates the schema
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE filler (x TEXT)")
        conn.executemany("INSERT INTO filler VALUES (?)", [("x" * 500,)] * 400)
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    os.truncate(path, path.stat().st_size // 2)
    with pytest.raises(StoreCorrupt, match=r"truncated: .*runs\.sqlite3|runs\.sqlite3.*truncated"):
        RunStore(path).run_ids()


def test_judgments_and_the_llm_judge_cache_name_their_files(tmp_path: Path) -> None:
    judgments = tmp_path / "judgments.sqlite3"
    judgments.write_bytes(GARBAGE)
    with pytest.raises(StoreCorrupt, match=r"judgment store .*judgments\.sqlite3"):
        len(JudgmentStore(judgments))
    cache = tmp_path / "llm_judge_cache.sqlite3"
    cache.write_bytes(GARBAGE)
    with pytest.raises(StoreCorrupt, match=r"LLM-judge cache .*llm_judge_cache\.sqlite3"):
        len(JudgeCache(cache))
    assert judgments.read_bytes() == GARBAGE and cache.read_bytes() == GARBAGE


def test_the_mlflow_store_check(tmp_path: Path) -> None:
    db = tmp_path / "mlflow.db"
    check_store(db)  # absent: fine (MLflow creates it)
    db.write_bytes(b"")
    check_store(db)  # empty: fine
    db.write_bytes(GARBAGE)
    with pytest.raises(StoreCorrupt, match=r"MLflow store .*mlflow\.db"):
        check_store(db)


def test_integrity_is_read_only(tmp_path: Path) -> None:
    good = tmp_path / "good.sqlite3"
    with sqlite3.connect(good) as conn:
        conn.execute("CREATE TABLE t (x)")
    assert integrity(good) is None and integrity(tmp_path / "absent.sqlite3") is None
    bad = tmp_path / "bad.sqlite3"
    bad.write_bytes(GARBAGE)
    assert "not a database" in (integrity(bad) or "")
    assert bad.read_bytes() == GARBAGE


def test_doctor_checks_the_home(tmp_path: Path) -> None:
    assert home_problem(tmp_path) is None
    assert home_problem(tmp_path / "new" / "home") is None  # creatable
    a_file = tmp_path / "file"
    a_file.write_text("x")
    assert home_problem(a_file) == "is not a directory"
    assert "cannot be created" in (home_problem(a_file / "sub") or "")
    state = check_state(Settings(_env_file=None, home=a_file))
    assert not state["home"]["ok"] and f"UNDERFOOT_HOME={a_file}" in state["home"]["problem"]


def test_doctor_finds_and_moves_a_broken_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    settings = Settings(_env_file=None, home=tmp_path)
    (tmp_path / "judgments.sqlite3").write_bytes(GARBAGE)
    RunStore(settings=settings).run_ids()
    state = check_state(settings)
    by_name = {s["store"]: s for s in state["stores"]}
    assert by_name["run store"]["ok"] and by_name["run store"]["exists"]
    broken = by_name["judgment store"]
    assert not broken["ok"] and broken["fix"] == "underfoot-lab doctor --move-aside"
    assert not by_name["MLflow store"]["exists"]
    lines = move_broken_aside(state)
    assert len(lines) == 1 and "judgment store" in lines[0]
    aside = list(tmp_path.glob("judgments.sqlite3.corrupt-*"))
    assert len(aside) == 1 and aside[0].read_bytes() == GARBAGE
    assert all(s["ok"] for s in check_state(settings)["stores"])
