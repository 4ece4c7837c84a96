"""The embedded gazetteer: loading, lookup, suggestions, proximity and ZIP codes."""

from __future__ import annotations

import pytest

from underfoot_lab.geo.gazetteer import (
    Gazetteer,
    Town,
    get_gazetteer,
    haversine_km,
    normalize_name,
)


def test_load(gazetteer: Gazetteer) -> None:
    assert len(gazetteer) > 15_000
    assert gazetteer.states["KY"] == "Kentucky"
    assert gazetteer.states["DC"] == "District of Columbia"
    keys = [t.key for t in gazetteer.towns]
    assert len(keys) == len(set(keys))
    assert all(t.state_code in gazetteer.states for t in gazetteer)
    assert all(isinstance(t, Town) for t in list(gazetteer)[:10])
    assert get_gazetteer() is gazetteer  # one per process


def test_lookup(gazetteer: Gazetteer) -> None:
    pikes = gazetteer.lookup("Pikeville")
    assert [t.state_code for t in pikes] == ["KY", "TN"]  # biggest first
    assert pikes[0].label == "Pikeville, KY"
    assert pikes[0].ref().admin1 == "Kentucky"
    assert [t.state_code for t in gazetteer.lookup("pikeville", "Tennessee")] == ["TN"]
    assert gazetteer.lookup("Pikeville", "OH") == []
    assert gazetteer.lookup("Narnia") == []
    assert gazetteer.lookup("Saint Louis")[0].state_code == "MO"  # "St." == "Saint"
    assert gazetteer.get(pikes[0].key) == pikes[0]
    assert gazetteer.has_name("eureka springs")
    assert not gazetteer.has_name("Eureka Springs")  # has_name takes normalised names


def test_state_codes(gazetteer: Gazetteer) -> None:
    for text in ("KY", "ky", "Kentucky", "kentucky", "Ky."):
        assert gazetteer.state_code(text) == "KY", text
    assert gazetteer.state_code("Calif.") == "CA"
    assert gazetteer.state_code("D.C.") == "DC"
    assert gazetteer.state_code("New Hampshire") == "NH"
    assert gazetteer.state_code("Narnia") is None
    assert gazetteer.state_name("or") == "Oregon"
    assert gazetteer.state_names_normalized["west virginia"] == "WV"


def test_aliases_and_name_length(gazetteer: Gazetteer) -> None:
    assert gazetteer.alias("new york") == ("new york city", "NY")
    assert gazetteer.alias("pikeville") is None
    # No alias shadows a real town name.
    from underfoot_lab.geo.gazetteer import ALIASES

    assert not any(gazetteer.has_name(a) for a in ALIASES)
    assert 3 <= gazetteer.max_name_words <= 10


def test_suggest(gazetteer: Gazetteer) -> None:
    assert [t.label for t in gazetteer.suggest("Springfeld", "IL")] == ["Springfield, IL"]
    assert "Pikeville, KY" in [t.label for t in gazetteer.suggest("Pikevile")]
    assert gazetteer.suggest("Qwxzv") == []


def test_largest(gazetteer: Gazetteer) -> None:
    top = gazetteer.largest("VT", 3)
    assert top[0].label == "Burlington, VT"
    assert len(top) == 3
    pops = [t.population for t in top]
    assert pops == sorted(pops, reverse=True)
    assert gazetteer.largest("Narnia") == []


def test_nearby(gazetteer: Gazetteer) -> None:
    hits = gazetteer.nearby(37.479, -82.519, 30)
    assert hits[0][0].label == "Pikeville, KY"
    distances = [d for _, d in hits]
    assert distances == sorted(distances)
    assert all(d <= 30 for d in distances)
    assert len(gazetteer.nearby(37.479, -82.519, 30, limit=2)) == min(2, len(hits))
    town, d = gazetteer.nearest(37.48, -82.52)
    assert town.label == "Pikeville, KY" and d < 5


def test_zip_code(gazetteer: Gazetteer) -> None:
    info = gazetteer.zip_code("41501")
    assert info is not None
    assert (info.city, info.state_code, info.county) == ("Pikeville", "KY", "Pike County")
    assert haversine_km(info.lat, info.lon, 37.479, -82.519) < 10
    assert gazetteer.zip_code("00000") is None
    assert gazetteer.zip_code("4150") is None
    assert gazetteer.zip_code("abcde") is None


@pytest.mark.parametrize(
    ("text", "norm"),
    [
        ("St. Louis", "st louis"),
        ("Saint Louis", "st louis"),
        ("Mount Shasta", "mt shasta"),
        ("Coeur d'Alene", "coeur d alene"),
        ("Winston-Salem", "winston salem"),
        ("Cañon City", "canon city"),
    ],
)
def test_normalize_name(text: str, norm: str) -> None:
    assert normalize_name(text) == norm


def test_haversine() -> None:
    assert haversine_km(0, 0, 0, 0) == 0
    # One degree of latitude is about 111 km.
    assert haversine_km(37, -82, 38, -82) == pytest.approx(111.2, abs=0.5)
