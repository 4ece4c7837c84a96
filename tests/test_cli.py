"""The CLI end to end in a subprocess: JSON shape, tables, bad input never shows a traceback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def run(args: list[str], home: Path, **env: str) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "UNDERFOOT_HOME": str(home), **env}
    return subprocess.run(
        [sys.executable, "-m", "underfoot_lab.cli", *args],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=120,
    )


def test_search_json(tmp_path: Path) -> None:
    p = run(["search", "hidden gems in Pikeville KY", "--json"], tmp_path)
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert out["place"]["name"] == "Pikeville" and out["place"]["admin1"] == "Kentucky"
    assert abs(out["place"]["lat"] - 37.479) < 0.05 and abs(out["place"]["lon"] + 82.519) < 0.05
    assert out["parsed"]["parser"] == "heuristic" and out["parsed"]["intent"] == "hidden gems"
    assert len(out["results"]) >= 8
    assert len({s for r in out["results"] for s in r["sources"]}) >= 3
    cats = {r["category"] for r in out["results"]}
    assert cats == {"primary", "nearby"}
    assert len(out["trace"]) >= 6
    assert out["cache"]["status"] == "miss"
    assert all(r["simulated"] for r in out["results"])
    again = json.loads(run(["search", "hidden gems in Pikeville KY", "--json"], tmp_path).stdout)
    assert again["cache"]["status"] == "hit-sqlite"  # a new process: the persistent layer


def test_search_table(tmp_path: Path) -> None:
    p = run(["search", "secret swimming holes around Ely, MN", "--no-cache"], tmp_path)
    assert p.returncode == 0, p.stderr
    assert "Ely, Minnesota" in p.stdout
    assert "offline world" in p.stdout
    for header in ("title", "sources", "km", "score", "category", "stage"):
        assert header in p.stdout


@pytest.mark.parametrize(
    ("query", "fragment"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("x" * 501 + " in Pikeville KY", "500"),
        ("hidden\x07gems in Pikeville KY", "control"),
        ("best tacos", "location"),
        ("hidden gems in Pikevile, KY", "Pikeville"),
    ],
)
def test_bad_input_is_one_clear_line(tmp_path: Path, query: str, fragment: str) -> None:
    p = run(["search", query], tmp_path)
    assert p.returncode != 0
    assert "Traceback" not in p.stderr
    lines = [line for line in p.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, p.stderr
    assert fragment.lower() in lines[0].lower()
    assert p.stdout == ""


def _run_bytes(args: list[bytes], home: Path) -> subprocess.CompletedProcess[bytes]:
    env = {**os.environ, "UNDERFOOT_HOME": str(home)}
    return subprocess.run(
        [sys.executable.encode(), b"-m", b"underfoot_lab.cli", *args],
        capture_output=True,
        env=env,
        timeout=120,
    )


def test_invalid_utf8_argument_exits_2_with_one_line(tmp_path: Path) -> None:
    p = _run_bytes([b"search", b"hidden gems in Pikeville KY \xff"], tmp_path)
    assert p.returncode == 2
    err = p.stderr.decode("utf-8", "replace").strip().splitlines()
    assert len(err) == 1 and "not valid UTF-8" in err[0], err


def test_unusable_home_exits_2_naming_the_variable(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    p = run(["search", "hidden gems in Pikeville KY"], blocker / "home")
    assert p.returncode == 2, p.stderr
    assert "UNDERFOOT_HOME=" in p.stderr and str(blocker / "home") in p.stderr
    assert "Traceback" not in p.stderr


def test_cache_info_and_clear_survive_a_garbage_cache(tmp_path: Path) -> None:
    (tmp_path / "cache.sqlite3").write_bytes(b"\x00garbage" * 1000)
    info = run(["cache", "info"], tmp_path)
    assert info.returncode == 0, info.stderr
    assert "0 cached answers" in info.stdout
    assert "moved to cache.sqlite3.corrupt-" in info.stderr
    cleared = run(["cache", "clear"], tmp_path)
    assert cleared.returncode == 0 and "cleared" in cleared.stdout
    search = run(["search", "hidden gems in Pikeville KY", "--json"], tmp_path)
    assert search.returncode == 0, search.stderr


def test_search_in_process_leaves_the_garbage_collector_as_it_found_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import gc

    from underfoot_lab.cli import main

    monkeypatch.setenv("UNDERFOOT_HOME", str(tmp_path))
    monkeypatch.setenv("UNDERFOOT_MODE", "offline")
    assert gc.isenabled()
    assert main(["search", "hidden gems in Pikeville KY", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["results"]
    assert gc.isenabled()  # paused for the search only
    gc.disable()
    try:
        assert main(["search", "hidden gems in Pikeville KY", "--no-cache", "--json"]) == 0
        assert not gc.isenabled()  # a caller's choice is kept
    finally:
        gc.enable()
    assert main(["search", "", "--json"]) == 2  # bad input: resumed on the error path too
    assert gc.isenabled()
