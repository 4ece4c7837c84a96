"""Validated region sets are cached under UNDERFOOT_HOME (issue 15), keyed by their files'
contents: a cached load equals a fresh one, and an edit is never served stale. (The ZIP index's
own cache: tests/geo/test_zips.py.)"""

from __future__ import annotations

from pathlib import Path

import pytest

from underfoot_lab.errors import ConfigError
from underfoot_lab.evaluation import regions
from underfoot_lab.evaluation.regions import load_region_set

MINI = Path(__file__).resolve().parents[1] / "fixtures" / "regions" / "mini.yaml"


def test_cached_load_equals_a_fresh_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UNDERFOOT_HOME", str(tmp_path))
    monkeypatch.setattr(regions, "_MEMO", {})
    first = load_region_set("smoke")
    assert len(list((tmp_path / "derived").glob("region-set-*.json"))) == 1
    monkeypatch.setattr(regions, "_MEMO", {})  # a new process: only the file remains
    second = load_region_set("smoke")
    assert second == first and second.path == first.path
    root = regions._resolve_root(None)
    assert second == regions._load_region_set(regions._find_set("smoke", root), root, True)


def test_an_edited_file_is_reloaded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UNDERFOOT_HOME", str(tmp_path / "home"))
    sets = tmp_path / "sets"
    sets.mkdir()
    path = sets / "mini.yaml"
    path.write_text(MINI.read_text(encoding="utf-8"), encoding="utf-8")
    before = load_region_set(path)
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace(before.description.split()[0], "Edited", 1), encoding="utf-8")
    after = load_region_set(path)
    assert after.description != before.description
    path.write_text(text + "\n  - this is: [not valid\n", encoding="utf-8")
    with pytest.raises(ConfigError):
        load_region_set(path)
