"""Shared store discipline: home checks, corrupt files named and moved aside, never deleted."""

from __future__ import annotations

import os
import sqlite3
import stat
import sys
from pathlib import Path

import pytest

from underfoot_lab.errors import ConfigError
from underfoot_lab.pipeline.cache import SQLiteLayer
from underfoot_lab.storage import StoreCorrupt, connect, ensure_home, move_aside


def test_home_that_is_a_file_names_the_variable_and_path(tmp_path: Path) -> None:
    target = tmp_path / "home"
    target.write_text("not a directory")
    with pytest.raises(ConfigError, match=rf"UNDERFOOT_HOME={target} is not a directory"):
        ensure_home(target)


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX permissions")
def test_unwritable_home_names_the_variable_and_path(tmp_path: Path) -> None:
    home = tmp_path / "ro"
    home.mkdir()
    home.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        if os.access(home, os.W_OK) and os.geteuid() == 0:
            # root writes anywhere on an ordinary file system; use a path under a file instead.
            blocker = tmp_path / "blocker"
            blocker.write_text("x")
            with pytest.raises(ConfigError, match=r"UNDERFOOT_HOME=.*blocker/home cannot be"):
                ensure_home(blocker / "home")
        else:
            with pytest.raises(ConfigError, match=rf"UNDERFOOT_HOME={home} is not writable"):
                ensure_home(home)
    finally:
        home.chmod(stat.S_IRWXU)


def test_missing_home_is_created(tmp_path: Path) -> None:
    assert ensure_home(tmp_path / "a" / "b").is_dir()


def test_garbage_file_is_reported_with_its_path_and_the_way_out(tmp_path: Path) -> None:
    db = tmp_path / "runs.sqlite3"
    db.write_bytes(b"this is not sqlite at all" * 100)
    with pytest.raises(StoreCorrupt) as err:
        connect(db, what="run store")
    msg = str(err.value)
    assert str(db) in msg and "run store" in msg and "mv " in msg
    assert db.read_bytes().startswith(b"this is not sqlite")  # nothing deleted


def test_move_aside_keeps_the_bytes_and_side_files(tmp_path: Path) -> None:
    db = tmp_path / "x.sqlite3"
    db.write_bytes(b"junk")
    (tmp_path / "x.sqlite3-wal").write_bytes(b"wal")
    moved = move_aside(db)
    assert not db.exists() and moved.read_bytes() == b"junk"
    assert moved.name.startswith("x.sqlite3.corrupt-")
    assert (tmp_path / f"{moved.name}-wal").read_bytes() == b"wal"


@pytest.mark.parametrize("damage", ["garbage", "truncated"])
def test_damaged_cache_is_moved_aside_and_rebuilt(
    tmp_path: Path, damage: str, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "cache.sqlite3"
    layer = SQLiteLayer(db, ttl_s=100, clock=lambda: 0.0)
    for i in range(300):
        layer.put(f"k{i}", "q", "v" * 500)
    layer.close()
    with sqlite3.connect(db) as conn:  # fold the WAL in so the main file holds the data
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    raw = db.read_bytes()
    db.write_bytes(b"\x00garbage" * 4096 if damage == "garbage" else raw[: len(raw) // 3])

    healed = SQLiteLayer(db, ttl_s=100, clock=lambda: 0.0)
    assert healed.get("k299") is None  # a miss, not an exception
    healed.put("fresh", "q", "value")
    assert healed.get("fresh") == ("value", 100.0)
    assert healed.clear() == 1
    healed.close()
    aside = [p for p in tmp_path.iterdir() if ".corrupt-" in p.name]
    assert aside, "the damaged file is kept beside the new one"
    assert "answer cache" in capsys.readouterr().err
