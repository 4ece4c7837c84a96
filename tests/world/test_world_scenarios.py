"""Scenario worlds: validation, resolution, hashing, and a user's own file without code changes."""

from __future__ import annotations

import hashlib
import json
import math
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest
import yaml

from underfoot_lab.errors import ConfigError
from underfoot_lab.geo.gazetteer import Gazetteer, get_gazetteer
from underfoot_lab.settings import Settings
from underfoot_lab.world import World, build_world
from underfoot_lab.world.scenario import load_scenario, resolve_scenario_path

ROOT = Path(__file__).resolve().parents[2]
WORLDS = ROOT / "experiments" / "worlds"
SHIPPED = ("default", "null", "adversarial", "popularity-biased")
CLOCK = datetime.fromisoformat("2026-06-15T12:00:00+00:00")


@pytest.fixture(scope="module")
def gazetteer() -> Gazetteer:
    return get_gazetteer()


def _data(name: str) -> dict[str, object]:
    loaded = yaml.safe_load((WORLDS / f"{name}.yaml").read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_scenarios_load_and_carry_their_name(name: str) -> None:
    s = load_scenario(name)
    assert s.name == name
    assert len(s.hash) == 16 and int(s.hash, 16) >= 0
    assert {"gem", "clickbait", "decoy_blurb"} <= set(s.vocabulary)


def test_hashes_differ_between_scenarios_and_ignore_formatting(tmp_path: Path) -> None:
    hashes = {load_scenario(n).hash for n in SHIPPED}
    assert len(hashes) == len(SHIPPED)
    # The same content written differently (key order, flow style) hashes the same.
    data = _data("default")
    shuffled = dict(reversed(list(data.items())))
    path = tmp_path / "same.yaml"
    path.write_text(yaml.safe_dump(shuffled, default_flow_style=True), encoding="utf-8")
    assert load_scenario(path).hash == load_scenario("default").hash


def test_null_world_has_every_link_at_zero() -> None:
    s = load_scenario("null")
    assert all(v == 0.0 for v in s.links.as_dict().values())
    assert s.latent.place_timing == s.latent.event_timing


def test_names_resolve_and_unknown_names_fail_with_one_line() -> None:
    assert resolve_scenario_path("null").name == "null.yaml"
    with pytest.raises(ConfigError, match="no scenario named 'nope'") as err:
        resolve_scenario_path("nope")
    assert "\n" not in str(err.value) and "default" in str(err.value)
    with pytest.raises(ConfigError, match="does not exist"):
        resolve_scenario_path("missing/world.yaml")


@pytest.mark.parametrize(
    ("edit", "needle"),
    [
        (lambda d: d["links"].update(bogus=1.0), "links.bogus"),
        (lambda d: d["links"].update(quality=1.5), "links.quality"),
        (lambda d: d.update(extra_block={}), "extra_block"),
        (lambda d: d["vocabulary"].pop("gem"), "gem"),
        (lambda d: d["vocabulary"].update(gem=["a {nope} phrase"]), "nope"),
        (lambda d: d["engines"].pop("maps"), "engines.maps"),
    ],
)
def test_bad_files_name_the_file_and_the_field(tmp_path: Path, edit: object, needle: str) -> None:
    data = json.loads(json.dumps(_data("default")))
    edit(data)  # type: ignore[operator]
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_scenario(path)
    msg = str(err.value)
    assert str(path) in msg and needle in msg and "\n" not in msg


def test_a_users_own_world_runs_without_code_changes(tmp_path: Path, gazetteer: Gazetteer) -> None:
    """Another language (every vocabulary swapped) and other noise: the world speaks it."""
    data = json.loads(json.dumps(_data("default")))
    data["name"] = "wellness-speak"
    data["vocabulary"] = {
        k: [f"zen {k} {{name}} near {{town}} namaste"] for k in data["vocabulary"]
    }
    data["reviews"]["noise_sd"] = 2.0
    data["language"]["gem"]["base"] = 5.0  # nearly every page about a place speaks "gem"
    path = tmp_path / "mine.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    world = build_world(Settings(world=str(path), world_clock=CLOCK), gazetteer)
    assert world.scenario_name == "wellness-speak"
    town = gazetteer.lookup("Pikeville", "KY")[0]
    u = world.universe(town)
    blogs = [p for p in u.pages if p.kind == "blog"]
    assert blogs and sum("zen gem" in p.title for p in blogs) >= 0.8 * len(blogs)
    assert not any("hidden gem" in p.title.lower() for p in blogs)
    body = json.loads(
        world.respond(
            "GET", "/search.json", {"engine": "google", "q": "namaste in Pikeville, KY"}
        ).body
    )
    assert any("namaste" in r["title"] for r in body["organic_results"][:5])


def test_world_setting_reaches_the_world(
    gazetteer: Gazetteer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("UNDERFOOT_WORLD", "adversarial")
    settings = Settings()
    assert settings.world == "adversarial"
    world = build_world(settings, gazetteer)
    assert world.scenario_name == "adversarial"
    assert world.scenario_hash == load_scenario("adversarial").hash
    assert Settings(world="default").world == "default"


def test_links_tie_observables_to_the_truth_only_when_set(gazetteer: Gazetteer) -> None:
    """Review counts track latent exposure in the default world and not at all in null."""

    def corr(scenario: str) -> float:
        world = World(5, gazetteer, CLOCK, scenario=scenario)
        xs: list[float] = []
        ys: list[float] = []
        for name, st in (("Pikeville", "KY"), ("Ely", "MN"), ("Marfa", "TX"), ("Bisbee", "AZ")):
            for e in world.universe(gazetteer.lookup(name, st)[0]).places:
                xs.append(e.exposure)
                ys.append(math.log(e.reviews))
        mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
        sxy = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True))
        sxx = sum((x - mx) ** 2 for x in xs)
        syy = sum((y - my) ** 2 for y in ys)
        return sxy / math.sqrt(sxx * syy)

    assert corr("default") > 0.6
    assert abs(corr("null")) < 0.2


@pytest.mark.parametrize("name", SHIPPED)
def test_stored_validated_copy_is_what_validation_gives(name: str) -> None:
    from underfoot_lab.world import scenario_schema
    from underfoot_lab.world.scenario import _validated_copies, parse_scenario

    raw = (WORLDS / f"{name}.yaml").read_bytes()
    stored = _validated_copies().get(hashlib.sha256(raw).hexdigest())
    assert stored is not None, "stale: run python -m underfoot_lab.world.scenario"
    model = scenario_schema.Scenario.model_validate(_data(name))
    assert stored == model.model_dump(mode="json")
    fresh = parse_scenario(_data(name), name)
    assert load_scenario(name) == fresh
    # the content hash is pydantic's canonical JSON of the validated model, as before
    canon = json.dumps(model.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    assert fresh.content_hash == hashlib.sha256(canon.encode()).hexdigest()


def test_a_stored_copy_of_other_code_is_not_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from underfoot_lab.world import scenario as module

    stale = json.loads(module.VALIDATED.read_text(encoding="utf-8"))
    stale["schema"] = "0" * 64
    for content in stale["validated"].values():
        content["description"] = "from a stale copy"
    path = tmp_path / "scenarios.json"
    path.write_text(json.dumps(stale), encoding="utf-8")
    monkeypatch.setattr(module, "VALIDATED", path)
    module._validated_copies.cache_clear()
    module._load_file.cache_clear()
    try:
        assert module._validated_copies() == {}
        assert load_scenario("default").description != "from a stale copy"
    finally:
        module._validated_copies.cache_clear()
        module._load_file.cache_clear()


def test_an_edited_file_is_validated_again(tmp_path: Path) -> None:
    data = _data("default")
    data["links"] = {**data["links"], "quality": 1.5}  # type: ignore[dict-item]
    path = tmp_path / "edited.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"edited.yaml: links.quality: Input should be less"):
        load_scenario(path)


def test_the_default_scenario_loads_without_yaml_or_pydantic() -> None:
    code = (
        "import sys\nfrom underfoot_lab.world.scenario import load_scenario\n"
        "load_scenario('default')\nprint('yaml' in sys.modules, 'pydantic' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert out.stdout.split() == ["False", "False"]


def test_scenario_records_are_frozen_comparable_and_picklable() -> None:
    import pickle
    from dataclasses import FrozenInstanceError

    from underfoot_lab.world.scenario import Logit, Zones

    s = load_scenario("default")
    again = pickle.loads(pickle.dumps(s))
    assert again == s and again is not s and again.content_hash == s.content_hash
    assert Logit(base=1.0) == Logit(base=1.0, trap=0.0) != Logit(base=1.0, trap=0.5)
    assert hash(Logit(base=1.0)) == hash(Logit(base=1.0))
    assert repr(Zones(core=1.0, band=0.0, far=0.0)) == "Zones(core=1.0, band=0.0, far=0.0)"
    with pytest.raises(FrozenInstanceError):
        s.links.quality = 0.5  # type: ignore[misc]
    with pytest.raises(TypeError, match="missing keyword argument 'band'"):
        Zones(core=1.0, far=0.0)
    with pytest.raises(TypeError, match="unexpected keyword 'middle'"):
        Zones(core=1.0, band=0.0, far=0.0, middle=1.0)


def test_the_records_and_the_schema_declare_the_same_fields() -> None:
    # A scenario is declared twice: the pydantic schema that validates a YAML and the plain
    # records the world reads (no pydantic on a cold search). They must not drift apart: the
    # same classes, the same fields in the same order, the same types and defaults.
    import inspect

    from pydantic import BaseModel

    from underfoot_lab.world import scenario, scenario_schema

    models = {
        name: cls
        for name, cls in vars(scenario_schema).items()
        if isinstance(cls, type)
        and issubclass(cls, scenario_schema._Strict)
        and cls.__module__ == scenario_schema.__name__
        and not name.startswith("_")
    }
    records = {
        name: cls
        for name, cls in vars(scenario).items()
        if isinstance(cls, type)
        and issubclass(cls, scenario._Record)
        and cls is not scenario._Record
    }
    assert sorted(models) == sorted(records) and len(models) == 13
    for name, model in models.items():
        record = records[name]
        assert inspect.get_annotations(model) == inspect.get_annotations(record), name
        assert list(model.model_fields) == list(record._fields), name
        for field, info in model.model_fields.items():
            if info.is_required():
                assert field not in record._defaults, (name, field)
                continue
            ours = record._defaults[field]
            ours = ours.as_dict() if isinstance(ours, scenario._Record) else ours
            theirs = info.default
            theirs = theirs.model_dump() if isinstance(theirs, BaseModel) else theirs
            assert ours == theirs, (name, field)
