"""The ZIP index: the copy shipped with the package is exactly what the installed ``zipcodes``
gives, the home copy stands in when the shipped one does not fit, and a process loads it once
however many threads ask first."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from underfoot_lab.geo import zips
from underfoot_lab.geo.gazetteer import get_gazetteer


@pytest.fixture(scope="module")
def built() -> zips.ZipIndex:
    return zips.build_from_zipcodes()


def test_the_shipped_index_is_the_installed_zipcodes(built: zips.ZipIndex) -> None:
    shipped = zips._read_prebuilt(zips._zipcodes_version())
    assert shipped is not None, "us_zips.json.gz does not fit the installed zipcodes: regenerate"
    assert shipped.columns() == built.columns()
    assert len(shipped) > 40_000
    assert zips.load().columns() == built.columns()


def test_without_the_shipped_index_the_home_copy_is_written_then_read(
    built: zips.ZipIndex, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("UNDERFOOT_HOME", str(tmp_path))
    monkeypatch.setattr(zips, "PREBUILT", tmp_path / "absent.json.gz")
    assert zips.load().columns() == built.columns()  # built from zipcodes, then written
    (copy,) = (tmp_path / "derived").glob("zip-index-*.json")

    def no_build() -> zips.ZipIndex:
        raise AssertionError("the home copy should have been read")

    monkeypatch.setattr(zips, "build_from_zipcodes", no_build)
    again = zips.load()
    assert again.columns() == built.columns()
    assert again.get("41501") == built.get("41501")

    copy.write_text("{not json", encoding="utf-8")  # a broken copy is rebuilt, not trusted
    monkeypatch.setattr(zips, "build_from_zipcodes", lambda: built)
    assert zips.load().columns() == built.columns()
    assert zips.load().get("41501") == built.get("41501")


def test_a_shipped_index_of_another_zipcodes_version_is_not_used() -> None:
    assert zips._read_prebuilt("0.0.0-not-installed") is None


def test_concurrent_first_lookups_load_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(zips, "_instance", None)
    loads = []
    real = zips.load

    def counted() -> zips.ZipIndex:
        loads.append(1)
        return real()

    monkeypatch.setattr(zips, "load", counted)
    seen: list[zips.ZipIndex] = []
    start = threading.Barrier(6)

    def ask() -> None:
        start.wait()
        seen.append(zips.get_zip_index())

    threads = [threading.Thread(target=ask) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(loads) == 1 and len(seen) == 6 and all(s is seen[0] for s in seen)
    assert get_gazetteer().zip_code("41501") == seen[0].get("41501")


def test_index_rows() -> None:
    index = zips.ZipIndex(
        {
            "codes": ["41501", "41501", "59731"],
            "cities": ["Pikeville", "Elsewhere", "Ely"],
            "states": ["KY", "KY", "MN"],
            "counties": ["Pike County", None, None],
            "lats": [37.48, 0.0, 47.9],
            "lons": [-82.52, 0.0, -91.86],
        }
    )
    assert len(index) == 2
    assert index.get("41501") == zips.ZipInfo(
        "41501", "Pikeville", "KY", "Pike County", 37.48, -82.52
    )
    assert index.get("00000") is None
    assert index.columns()["cities"] == ["Pikeville", "Ely"]  # the first row of a code wins
    with pytest.raises(ValueError, match="missing"):
        zips.ZipIndex({"codes": []})
    with pytest.raises(ValueError, match="length"):
        zips.ZipIndex({**index.columns(), "lats": [1.0]})
