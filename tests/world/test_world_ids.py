"""Town slugs and positions: built from the gazetteer's columns, they are the ones the rule
over its Town rows gives (names, state, county when the name repeats in the state)."""

from __future__ import annotations

from underfoot_lab.geo.gazetteer import Gazetteer, Town, get_gazetteer
from underfoot_lab.world.ids import TownIndex, slugify


def _reference_slugs(towns: tuple[Town, ...]) -> dict[str, str]:
    # The rule as first written, over Town rows.
    names = [slugify(t.name) for t in towns]
    counts: dict[tuple[str, str], int] = {}
    for t, name in zip(towns, names, strict=True):
        counts[(name, t.state_code)] = counts.get((name, t.state_code), 0) + 1
    slug: dict[str, str] = {}
    taken: set[str] = set()
    for t, name in zip(towns, names, strict=True):
        s = f"{name}-{t.state_code.lower()}"
        if counts[(name, t.state_code)] > 1:
            s += "-" + (slugify(t.county or "") or "x")
        base, n = s, 2
        while s in taken:
            s, n = f"{base}-{n}", n + 1
        slug[t.key] = s
        taken.add(s)
    return slug


def test_every_slug_and_position_matches_the_rule_over_town_rows() -> None:
    gazetteer = get_gazetteer()
    index = TownIndex(gazetteer)
    expected = _reference_slugs(gazetteer.towns)
    assert {t.key: index.slug(t) for t in gazetteer.towns} == expected
    for i, town in enumerate(gazetteer.towns[:500]):
        assert index.index(town) == i and index.town_at(i) is town
        assert index.by_slug(expected[town.key]) is town
    assert index.town_at(len(gazetteer)) is None and index.town_at(-1) is None
    assert index.by_slug("no-such-town-zz") is None


def test_a_repeated_name_gets_its_county_and_a_repeated_county_a_number() -> None:
    def town(key: str, county: str | None) -> Town:
        return Town(key, "Springfield", "Ohio", "OH", county, 39.9, -83.8, 100)

    rows = (
        town("springfield|OH|clark county", "Clark County"),
        town("springfield|OH|", None),
        town("springfield|OH|x", "X"),
        Town("dayton|OH|montgomery county", "Dayton", "Ohio", "OH", "Montgomery", 39.7, -84.2, 9),
    )
    index = TownIndex(Gazetteer(rows, {"OH": "Ohio"}))
    assert [index.slug(t) for t in rows] == [
        "springfield-oh-clark-county",
        "springfield-oh-x",
        "springfield-oh-x-2",
        "dayton-oh",
    ]
    assert [index.slug(t) for t in rows] == list(_reference_slugs(rows).values())


def test_shipped_slug_record_matches_the_installed_gazetteer_and_code() -> None:
    from underfoot_lab.world.ids import _certified_numbered_for

    numbered = _certified_numbered_for(get_gazetteer())
    assert numbered is not None, "stale: run python -m underfoot_lab.world.ids"
    full = TownIndex(get_gazetteer())
    full._build()
    assert full._numbered == numbered


def test_one_slug_alone_is_the_slug_of_the_full_table() -> None:
    gazetteer = get_gazetteer()
    alone, full = TownIndex(gazetteer), TownIndex(gazetteer)
    full._build()
    for name, state in (("Pikeville", "KY"), ("Springfield", "OH"), ("Portland", "ME")):
        for town in gazetteer.lookup(name, state):
            assert alone.slug(town) == full.slug(town)
    assert alone._slug is None  # nothing else was built
