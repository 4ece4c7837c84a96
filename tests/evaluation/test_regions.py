"""Region sets: every shipped set validates against the real gazetteer; bad files fail clearly."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from underfoot_lab.errors import ConfigError
from underfoot_lab.evaluation.regions import (
    DATA_REGIONS_DIR,
    INTENTS,
    ExpectedPlace,
    RegionQuery,
    RegionSet,
    data_regions_dir,
    default_region_set_name,
    list_region_sets,
    load_region_set,
    region_set_hash,
)

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures" / "regions"


@pytest.fixture(scope="module")
def shipped() -> dict[str, RegionSet]:
    return {name: load_region_set(name) for name in list_region_sets()}


@pytest.fixture(scope="module")
def regional(shipped: dict[str, RegionSet]) -> dict[str, RegionSet]:
    return {n: rs for n, rs in shipped.items() if not rs.is_composite}


def _load_fixture(name: str) -> RegionSet:
    return load_region_set(name, root=FIXTURES)


def _error(name: str) -> str:
    with pytest.raises(ConfigError) as info:
        _load_fixture(name)
    message = str(info.value)
    assert "\n" not in message, "errors are one line"
    return message


# ------------------------------------------------------------------------------ shipped sets
def test_data_dir_is_the_repos() -> None:
    assert DATA_REGIONS_DIR == REPO / "data" / "regions"
    assert data_regions_dir() == DATA_REGIONS_DIR


def test_data_dir_env_override(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "regions").mkdir()
    shutil.copy(FIXTURES / "dup-x.yaml", tmp_path / "regions" / "dup-x.yaml")
    monkeypatch.setenv("UNDERFOOT_DATA_DIR", str(tmp_path))
    assert data_regions_dir() == tmp_path / "regions"
    assert list_region_sets() == ["dup-x"]
    assert load_region_set("dup-x").ids == ("fx-shared-01",)


def test_every_shipped_set_loads_and_validates(shipped: dict[str, RegionSet]) -> None:
    assert {"all", "smoke"} <= set(shipped)
    for name, rs in shipped.items():
        assert rs.name == name
        assert rs.description
        assert len(rs) > 0
        assert rs.path == DATA_REGIONS_DIR / f"{name}.yaml"


def test_counts(regional: dict[str, RegionSet], shipped: dict[str, RegionSet]) -> None:
    assert len(regional) >= 4
    all_queries = [q for rs in regional.values() for q in rs.queries]
    towns = {(q.expected.place, q.expected.state) for q in all_queries}
    assert len(towns) >= 40
    assert len(all_queries) >= 120
    assert {q.intent for q in all_queries} == set(INTENTS)
    assert len(shipped["all"]) == len(all_queries)


def test_ids_unique_across_sets(regional: dict[str, RegionSet]) -> None:
    ids = [q.id for rs in regional.values() for q in rs.queries]
    assert len(ids) == len(set(ids))
    for rs in regional.values():
        # Readable, prefixed ids: "<set prefix>-<town>-<state>-<nn>".
        for q in rs.queries:
            assert re.fullmatch(r"[a-z]+-[a-z0-9-]+-[a-z]{2}-\d{2}", q.id), q.id
            assert q.id.endswith(f"-{q.expected.state.lower()}-{q.id[-2:]}")


def test_every_regional_set_has_a_region_label(regional: dict[str, RegionSet]) -> None:
    for name, rs in regional.items():
        assert rs.region == name
        assert rs.regions == (name,)
        assert all(q.region == name for q in rs.queries)


def test_all_includes_every_regional_set(
    shipped: dict[str, RegionSet], regional: dict[str, RegionSet]
) -> None:
    everything = shipped["all"]
    assert set(everything.include) == set(regional)
    assert not everything.select
    assert set(everything.regions) == set(regional)
    assert everything.ids == tuple(q.id for n in everything.include for q in regional[n].queries)
    by_region = everything.by_region()
    assert {k: len(v) for k, v in by_region.items()} == {n: len(rs) for n, rs in regional.items()}


def test_phrasings_and_tags(shipped: dict[str, RegionSet]) -> None:
    queries = shipped["all"].queries
    tags = {t for q in queries for t in q.tags}
    assert {"zip", "lowercase", "no-state", "full-state", "near", "question"} <= tags
    zips = [q for q in queries if "zip" in q.tags]
    assert len(zips) >= 5
    assert all(q.zip_code is not None and q.zip_code in q.text for q in zips)
    lower = [q for q in queries if "lowercase" in q.tags]
    assert lower and all(q.text == q.text.lower() for q in lower)
    assert any(q.text == "hidden gems near 41501" for q in zips)


def test_default_set_is_small_and_spread(shipped: dict[str, RegionSet]) -> None:
    name = default_region_set_name()
    assert name == "smoke"
    smoke = shipped[name]
    assert smoke.default
    assert 10 <= len(smoke) <= 15
    assert len(smoke.towns) >= 6
    assert len(smoke.regions) >= 5
    # Selected, not copied: the very same queries (and so the same judgments) as the regional sets.
    everything = shipped["all"]
    assert all(everything.get(q.id) == q for q in smoke.queries)
    assert sum(rs.default for rs in shipped.values()) == 1


def test_expected_places_are_in_the_gazetteer(shipped: dict[str, RegionSet]) -> None:
    from underfoot_lab.geo.gazetteer import get_gazetteer

    gaz = get_gazetteer()
    for place, state in shipped["all"].towns:
        assert gaz.lookup(place, state), f"{place}, {state}"


# ------------------------------------------------------------------------------ hashing
def test_hash_is_stable_and_content_addressed(shipped: dict[str, RegionSet]) -> None:
    smoke = shipped["smoke"]
    again = load_region_set("smoke")
    assert region_set_hash(smoke) == region_set_hash(again) == smoke.hash
    assert re.fullmatch(r"[0-9a-f]{64}", smoke.hash)
    # Order does not matter, content does.
    reordered = smoke.model_copy(update={"queries": tuple(reversed(smoke.queries))})
    assert region_set_hash(reordered) == smoke.hash
    first = smoke.queries[0]
    changed = first.model_copy(update={"text": first.text + " please"})
    edited = smoke.model_copy(update={"queries": (changed, *smoke.queries[1:])})
    assert region_set_hash(edited) != smoke.hash
    assert len({rs.hash for rs in shipped.values()}) == len(shipped)


def test_hash_pinned_for_a_hand_built_set() -> None:
    # Pinned so an accidental change to the canonical form (which would orphan every MLflow tag)
    # fails loudly; update it only on purpose.
    rs = RegionSet(
        name="tiny",
        description="two queries",
        queries=(
            RegionQuery(
                id="t-b-01",
                text="dive bars in Hazard KY",
                expected=ExpectedPlace(place="Hazard", state="KY"),
                tags=("nightlife", "in-town"),
                region="appalachia",
            ),
            RegionQuery(
                id="t-a-01",
                text="hidden gems in Pikeville KY",
                expected=ExpectedPlace(place="Pikeville", state="Kentucky"),
                tags=("general",),
            ),
        ),
    )
    assert rs.queries[1].expected.state == "KY"
    assert region_set_hash(rs) == _expected_tiny_hash()


def _expected_tiny_hash() -> str:
    import hashlib
    import json

    rows = [
        {
            "expected": {"place": "Pikeville", "state": "KY"},
            "id": "t-a-01",
            "region": None,
            "tags": ["general"],
            "text": "hidden gems in Pikeville KY",
        },
        {
            "expected": {"place": "Hazard", "state": "KY"},
            "id": "t-b-01",
            "region": "appalachia",
            "tags": ["nightlife", "in-town"],
            "text": "dive bars in Hazard KY",
        },
    ]
    blob = json.dumps(rows, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()


# ------------------------------------------------------------------------------ bad files
def test_unknown_region_set_lists_known_ones() -> None:
    with pytest.raises(ConfigError) as info:
        load_region_set("appalachiaa")
    message = str(info.value)
    assert "unknown region set 'appalachiaa'" in message
    assert "known: all, appalachia," in message
    assert "did you mean appalachia?" in message


def test_yaml_syntax_error_names_file_and_line() -> None:
    message = _error("bad-syntax")
    assert "fixtures/regions/bad-syntax.yaml:12: YAML syntax error" in message
    assert "quoted scalar started at line 9" in message


def test_unknown_town_suggests() -> None:
    message = _error("unknown-town")
    assert "unknown-town.yaml:8" in message
    assert "unknown town 'Hazzard, KY'" in message
    assert "did you mean Hazard, KY?" in message
    assert "fx-town-02" in message


def test_unknown_town_passes_without_place_validation() -> None:
    rs = load_region_set("unknown-town", root=FIXTURES, validate_places=False)
    assert rs.ids == ("fx-town-01", "fx-town-02")


def test_state_not_a_us_state() -> None:
    message = _error("bad-state")
    assert "bad-state.yaml:6" in message
    assert "'ZZ' is not a US state" in message
    assert "queries[0] (fx-state-01).expected.state" in message


def test_duplicate_ids_in_one_file_name_both_positions() -> None:
    message = _error("dup-ids")
    assert "duplicate query id 'fx-dup-01'" in message
    assert "dup-ids.yaml:4 (queries[0])" in message
    assert "dup-ids.yaml:8 (queries[1])" in message


def test_duplicate_ids_across_included_files_name_both_files() -> None:
    message = _error("dup-across")
    assert "duplicate query id 'fx-shared-01'" in message
    assert "dup-x.yaml:4 (queries[0])" in message
    assert "dup-y.yaml:8 (queries[1])" in message


def test_empty_set() -> None:
    assert "region set 'empty' is empty" in _error("empty")
    assert "empty-file.yaml: the file is empty" in _error("empty-file")


def test_include_cycle() -> None:
    message = _error("cycle-a")
    assert "include cycle: cycle-a -> cycle-b -> cycle-a" in message
    assert "fixtures/regions/cycle-b.yaml:3: " in message


def test_unknown_include() -> None:
    message = _error("unknown-include")
    assert "unknown-include.yaml:3: unknown include 'nowhere-land'" in message
    assert "known: " in message and "dup-x" in message


def test_missing_field_is_one_line_with_file() -> None:
    message = _error("missing-field")
    assert message.endswith(
        "fixtures/regions/missing-field.yaml:10: queries[1] (fx-missing-02).expected: "
        "missing field 'state'"
    )


def test_unknown_field() -> None:
    message = _error("unknown-field")
    assert "unknown field 'expcted'" in message
    assert "unknown-field.yaml:6" in message


def test_intent_tag_required() -> None:
    message = _error("no-intent")
    assert "needs exactly one intent tag" in message
    assert "no-intent.yaml:7" in message


def test_zip_must_belong_to_expected_place() -> None:
    message = _error("bad-zip")
    assert "ZIP 41501 is in Pikeville, KY, not Hazard, KY" in message


def test_name_must_match_file() -> None:
    message = _error("name-mismatch")
    assert "name 'something-else' does not match the file name ('name-mismatch')" in message


def test_load_by_path(tmp_path: Path) -> None:
    rs = load_region_set(FIXTURES / "dup-x.yaml")
    assert rs.name == "dup-x"
    missing = tmp_path / "nope.yaml"
    with pytest.raises(ConfigError, match="does not exist"):
        load_region_set(missing)


# ------------------------------------------------------------------------------ composition
def _write(root: Path, name: str, body: str) -> None:
    (root / f"{name}.yaml").write_text(body, encoding="utf-8")


_BASE = """\
name: base
description: Two towns.
region: appalachia
queries:
  - id: b-pikeville-ky-01
    text: "hidden gems in Pikeville KY"
    expected: {place: Pikeville, state: KY}
    tags: [general]
  - id: b-hazard-ky-01
    text: "dive bars in Hazard KY"
    expected: {place: Hazard, state: KY}
    tags: [nightlife]
    region: eastern-kentucky
"""


def test_select_diamond_and_region_override(tmp_path: Path) -> None:
    _write(tmp_path, "base", _BASE)
    _write(tmp_path, "mid", "name: mid\ndescription: d\ninclude: [base]\n")
    _write(tmp_path, "top", "name: top\ndescription: d\ninclude: [base, mid]\n")
    _write(tmp_path, "pick", "name: pick\ndescription: d\nselect: [b-hazard-ky-01]\n")
    top = load_region_set("top", root=tmp_path)
    # base is reached twice (directly and via mid): the same definitions are not duplicates.
    assert top.ids == ("b-pikeville-ky-01", "b-hazard-ky-01")
    assert top.by_region() == {
        "appalachia": (top.queries[0],),
        "eastern-kentucky": (top.queries[1],),
    }
    pick = load_region_set("pick", root=tmp_path)
    assert pick.ids == ("b-hazard-ky-01",)
    assert pick.queries[0] == top.queries[1]


def test_select_unknown_id_suggests(tmp_path: Path) -> None:
    _write(tmp_path, "base", _BASE)
    _write(tmp_path, "pick", "name: pick\ndescription: d\nselect:\n  - b-hazard-ky-1\n")
    with pytest.raises(ConfigError) as info:
        load_region_set("pick", root=tmp_path)
    message = str(info.value)
    assert "pick.yaml:4: selected query id 'b-hazard-ky-1' is not defined" in message
    assert "did you mean b-hazard-ky-01?" in message


def test_default_marker_must_be_unique(tmp_path: Path) -> None:
    _write(tmp_path, "base", _BASE)
    with pytest.raises(ConfigError, match=r"no region set .* is marked 'default: true'"):
        default_region_set_name(tmp_path)
    _write(tmp_path, "a", "name: a\ndescription: d\ndefault: true\ninclude: [base]\n")
    assert default_region_set_name(tmp_path) == "a"
    _write(tmp_path, "b", "name: b\ndescription: d\ndefault: true\ninclude: [base]\n")
    with pytest.raises(ConfigError, match=r"more than one .*: a, b"):
        default_region_set_name(tmp_path)


def test_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"does not exist .*UNDERFOOT_DATA_DIR"):
        list_region_sets(tmp_path / "nope")


def test_state_names_are_normalised_to_codes() -> None:
    assert ExpectedPlace(place="Marfa", state="texas").state == "TX"
    assert ExpectedPlace(place="Marfa", state="tx").state == "TX"
    with pytest.raises(ValueError, match="not a US state"):
        ExpectedPlace(place="Marfa", state="Texarkana")
