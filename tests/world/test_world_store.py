"""Universes kept under the home: a stored universe is the one a fresh world builds, answers
the same bytes, and a damaged or foreign file is rebuilt rather than trusted."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from underfoot_lab.geo.gazetteer import Town, get_gazetteer
from underfoot_lab.world import World

CLOCK = datetime.fromisoformat("2026-06-15T12:00:00+00:00")
REQUESTS: list[tuple[str, dict[str, str]]] = [
    ("/search.json", {"engine": "google", "q": "hidden gems in Pikeville, KY", "num": "10"}),
    ("/search.json", {"engine": "google_maps", "q": "swimming holes in Pikeville, KY"}),
    ("/search.json", {"engine": "google_events", "q": "events in Pikeville, KY"}),
    ("/search.rss", {"q": "dive bars Pikeville, KY", "sort": "relevance", "t": "all"}),
]


def _town() -> Town:
    return get_gazetteer().lookup("Pikeville", "KY")[0]


def _bodies(world: World) -> list[bytes]:
    return [world.respond("GET", path, params).body for path, params in REQUESTS]


def test_stored_universe_equals_a_fresh_build_and_renders_the_same(tmp_path: Path) -> None:
    town = _town()
    plain = World(7, get_gazetteer(), CLOCK)
    first = World(7, get_gazetteer(), CLOCK, store_dir=tmp_path)
    built = first.universe(town)
    files = list(tmp_path.rglob("*.pickle"))
    assert len(files) == 1, files

    second = World(7, get_gazetteer(), CLOCK, store_dir=tmp_path)
    loaded = second.universe(town)
    assert loaded is not built
    assert loaded == built == plain.universe(town)
    assert loaded.by_slug == built.by_slug
    # The renderers' term sets are stored with it: the very sets a plain world computes.
    assert sorted(loaded.memo) == ["events", "pages", "places", "posts"]
    assert _bodies(second) == _bodies(plain)
    assert loaded.memo == plain.universe(town).memo


def test_another_seed_or_clock_uses_another_folder(tmp_path: Path) -> None:
    town = _town()
    World(7, get_gazetteer(), CLOCK, store_dir=tmp_path).universe(town)
    World(8, get_gazetteer(), CLOCK, store_dir=tmp_path).universe(town)
    later = datetime.fromisoformat("2026-07-01T00:00:00+00:00")
    World(7, get_gazetteer(), later, store_dir=tmp_path).universe(town)
    assert len({p.parent for p in tmp_path.rglob("*.pickle")}) == 3


def test_a_damaged_file_is_rebuilt(tmp_path: Path) -> None:
    town = _town()
    expected = World(7, get_gazetteer(), CLOCK).universe(town)
    World(7, get_gazetteer(), CLOCK, store_dir=tmp_path).universe(town)
    (path,) = tmp_path.rglob("*.pickle")
    path.write_bytes(b"not a pickle")
    again = World(7, get_gazetteer(), CLOCK, store_dir=tmp_path).universe(town)
    assert again == expected
    assert path.read_bytes() != b"not a pickle"  # rewritten
