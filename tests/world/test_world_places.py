"""A point's locality (its nearest town) skips towns too far north or south to be nearer, and
finds the very town the full scan over every town of the neighbourhood finds."""

from __future__ import annotations

import random
from datetime import datetime

from underfoot_lab.geo.gazetteer import Town, get_gazetteer, haversine_km
from underfoot_lab.world.ids import IdCodec, TownIndex
from underfoot_lab.world.places import PlaceBuilder
from underfoot_lab.world.scenario import load_scenario


def _full_scan(builder: PlaceBuilder, lat: float, lon: float) -> Town:
    best, best_d = builder.town, haversine_km(lat, lon, builder.town.lat, builder.town.lon)
    for t, _ in builder.hood:
        d = haversine_km(lat, lon, t.lat, t.lon)
        if d < best_d:
            best, best_d = t, d
    return best


def test_locality_equals_the_full_scan() -> None:
    gazetteer = get_gazetteer()
    rng = random.Random(5)
    for name, state in (("Pikeville", "KY"), ("Springfield", "IL"), ("Bozeman", "MT")):
        town = gazetteer.lookup(name, state)[0]
        builder = PlaceBuilder(
            seed=1,
            town=town,
            town_index=gazetteer.position(town),
            town_slug=TownIndex(gazetteer).slug(town),
            gazetteer=gazetteer,
            clock=datetime.fromisoformat("2026-06-15T12:00:00+00:00"),
            codec=IdCodec(1),
            scenario=load_scenario("default"),
        )
        assert len(builder.hood) > 5
        for _ in range(400):
            lat = town.lat + rng.uniform(-1.3, 1.3)
            lon = town.lon + rng.uniform(-1.6, 1.6)
            assert builder._locality(lat, lon) is _full_scan(builder, lat, lon)
        for t, _ in builder.hood[:40]:  # on a town, and exactly between two
            assert builder._locality(t.lat, t.lon) is _full_scan(builder, t.lat, t.lon)
            mid = ((t.lat + town.lat) / 2, (t.lon + town.lon) / 2)
            assert builder._locality(*mid) is _full_scan(builder, *mid)
