"""Two-layer cache: hit/miss/expiry per layer with an injected clock, on a real SQLite file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from underfoot_lab.pipeline.cache import MemoryLayer, TwoLayerCache, cache_key, normalize_query


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def make_cache(path: Path, clock: FakeClock, mem_ttl: float = 10, sql_ttl: float = 100):
    return TwoLayerCache[dict](
        path,
        encode=json.dumps,
        decode=json.loads,
        memory_ttl_s=mem_ttl,
        memory_max_items=3,
        sqlite_ttl_s=sql_ttl,
        clock=clock,
    )


def test_miss_then_memory_hit(tmp_path: Path) -> None:
    clock = FakeClock()
    c = make_cache(tmp_path / "c.db", clock)
    assert c.get("k") is None
    c.put("k", "q", {"a": 1})
    hit = c.get("k")
    assert hit is not None and hit.layer == "memory" and hit.value == {"a": 1}


def test_memory_only_lookup_never_reads_sqlite(tmp_path: Path) -> None:
    """``get_memory`` (what the pipeline asks on its event loop) answers memory hits only."""
    clock = FakeClock()
    c = make_cache(tmp_path / "c.db", clock)
    assert c.get_memory("k") is None
    c.put("k", "q", {"a": 1})
    hit = c.get_memory("k")
    assert hit is not None and hit.layer == "memory" and hit.value == {"a": 1}
    clock.now += 11  # only SQLite holds it now
    assert c.get_memory("k") is None
    assert c.get("k").layer == "sqlite"  # type: ignore[union-attr]
    assert c.get_memory("k") is not None  # the SQLite hit refilled memory


def test_memory_expiry_falls_back_to_sqlite_and_refills_memory(tmp_path: Path) -> None:
    clock = FakeClock()
    c = make_cache(tmp_path / "c.db", clock)
    c.put("k", "q", {"a": 1})
    clock.now += 11  # memory TTL (10 s) passed, SQLite TTL (100 s) not
    hit = c.get("k")
    assert hit is not None and hit.layer == "sqlite"
    again = c.get("k")
    assert again is not None and again.layer == "memory"


def test_sqlite_expiry_is_a_miss_and_deletes_the_row(tmp_path: Path) -> None:
    clock = FakeClock()
    c = make_cache(tmp_path / "c.db", clock)
    c.put("k", "q", {"a": 1})
    clock.now += 101
    assert c.get("k") is None
    assert c.sqlite.count() == 0


def test_refilled_memory_entry_never_outlives_the_sqlite_row(tmp_path: Path) -> None:
    clock = FakeClock()
    c = make_cache(tmp_path / "c.db", clock, mem_ttl=10, sql_ttl=15)
    c.put("k", "q", {"a": 1})
    clock.now += 12  # memory expired; 3 s left in SQLite
    assert c.get("k").layer == "sqlite"  # type: ignore[union-attr]
    clock.now += 4  # past the SQLite expiry: the refilled memory entry must be gone too
    assert c.get("k") is None


def test_persistent_layer_survives_a_new_process_object(tmp_path: Path) -> None:
    clock = FakeClock()
    make_cache(tmp_path / "c.db", clock).put("k", "q", {"a": 2})
    fresh = make_cache(tmp_path / "c.db", clock)
    hit = fresh.get("k")
    assert hit is not None and hit.layer == "sqlite" and hit.value == {"a": 2}


def test_memory_layer_is_lru_bounded() -> None:
    clock = FakeClock()
    m: MemoryLayer[int] = MemoryLayer(100, 2, clock)
    m.put("a", 1)
    m.put("b", 2)
    assert m.get("a") == 1  # a is now most recent
    m.put("c", 3)
    assert m.get("b") is None and m.get("a") == 1 and m.get("c") == 3


@pytest.mark.parametrize(
    ("a", "b"),
    [("Hidden gems in Pikeville KY", "hidden  gems in pikeville ky"), ("Ely, MN", "ely mn")],
)
def test_key_normalises_case_space_and_commas(a: str, b: str) -> None:
    assert normalize_query(a) == normalize_query(b)
    assert cache_key(a, scorer="s") == cache_key(b, scorer="s")


def test_key_changes_with_context() -> None:
    assert cache_key("q", scorer="seed-v1") != cache_key("q", scorer="weights:abc")
    assert cache_key("q", sources=["a"]) != cache_key("q", sources=["a", "b"])
