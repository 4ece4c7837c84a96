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
