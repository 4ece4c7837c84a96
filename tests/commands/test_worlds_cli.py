"""``--world NAME|FILE`` end to end: the world changes results, headers, cache keys, run configs
and pools; a user's own scenario file runs; bad files exit 2; runs and pools never cross
worlds (resume, load, sweep)."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import pytest
import yaml

from underfoot_lab.cli import main
from underfoot_lab.errors import ConfigError
from underfoot_lab.harness import build_harness, world_identity
from underfoot_lab.settings import Settings

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
MINI = ROOT / "tests" / "fixtures" / "regions" / "mini.yaml"
TUNED = ROOT / "experiments" / "weights" / "tuned-default-world.yaml"
QUERY = "hidden gems in Pikeville KY"
HASH = r"[0-9a-f]{8}"


@pytest.fixture(autouse=True)
def offline_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    monkeypatch.setenv("UNDERFOOT_HOME", str(home))
    monkeypatch.setenv("UNDERFOOT_MODE", "offline")
    monkeypatch.setenv("MLFLOW_DISABLE_TELEMETRY", "true")
    monkeypatch.delenv("UNDERFOOT_WORLD", raising=False)
    monkeypatch.delenv("UNDERFOOT_WEIGHTS", raising=False)
    return home


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def own_world(tmp_path: Path) -> Path:
    """A user's own scenario: the null world renamed, with other praise phrases."""
    data = yaml.safe_load((ROOT / "experiments" / "worlds" / "null.yaml").read_text())
    data["name"] = "mine"
    data["vocabulary"]["praise"] = ["a proper treasure, {name}", "we adore {name}"]
    path = tmp_path / "worlds" / "mine.yaml"
    path.parent.mkdir()
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


@pytest.fixture
def bad_world(tmp_path: Path) -> Path:
    data = yaml.safe_load((ROOT / "experiments" / "worlds" / "default.yaml").read_text())
    data["links"]["quality"] = 3.0
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


# ------------------------------------------------------------------------------ search
def test_search_world_changes_results_header_and_cache_key(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, default_out, _ = run_cli(capsys, "search", QUERY, "--json")
    assert code == 0
    default = json.loads(default_out)
    assert default["world"] == "default" and re.fullmatch(r"[0-9a-f]{16}", default["world_hash"])
    assert default["cache"]["status"] == "miss"

    # The same home, query and weights in another world: not a cache hit.
    code, null_out, _ = run_cli(capsys, "search", QUERY, "--world", "null", "--json")
    assert code == 0
    null = json.loads(null_out)
    assert null["cache"]["status"] == "miss"
    assert null["cache"]["key"] != default["cache"]["key"]
    assert null["world"] == "null" and null["world_hash"] != default["world_hash"]
    ranked = [[r["title"] for r in d["results"]] for d in (default, null)]
    assert ranked[0] != ranked[1]

    code, again, _ = run_cli(capsys, "search", QUERY, "--world", "null", "--json")
    assert json.loads(again)["cache"]["status"].startswith("hit")

    code, text, _ = run_cli(capsys, "search", QUERY, "--world", "null", "--limit", "2")
    assert re.search(rf"\[offline world 'null' \({HASH}\), simulated\]", text.splitlines()[0])


def test_cache_context_carries_the_world() -> None:
    contexts = {}
    for world in ("default", "null"):
        settings = Settings(world=world)
        with build_harness(settings, use_cache=False) as harness:
            contexts[world] = harness.pipeline.cache_context()
        assert contexts[world]["simulation"] == world_identity(settings).simulation_id
    assert contexts["default"]["simulation"] != contexts["null"]["simulation"]
    assert {k: v for k, v in contexts["default"].items() if k != "simulation"} == {
        k: v for k, v in contexts["null"].items() if k != "simulation"
    }


def test_own_scenario_file_and_bad_files(
    capsys: pytest.CaptureFixture[str], own_world: Path, bad_world: Path
) -> None:
    code, out, _ = run_cli(capsys, "search", QUERY, "--world", str(own_world), "--json")
    assert code == 0
    mine = json.loads(out)
    assert mine["world"] == "mine" and mine["world_hash"] == world_identity(own_world).hash

    for command in (
        ["search", QUERY],
        ["evaluate", "--region-set", str(MINI), "--no-mlflow"],
        ["snapshot", "create", "--region-set", str(MINI)],
        ["sweep", "--region-set", str(MINI), "--no-mlflow"],
        ["report", "--region-set", str(MINI)],
        ["serve", "--port", "1"],
    ):
        code, out, err = run_cli(capsys, *command, "--world", str(bad_world))
        assert code == 2, command
        lines = err.strip().splitlines()
        assert len(lines) == 1 and str(bad_world) in lines[0] and "links.quality" in lines[0]
    code, _, err = run_cli(capsys, "search", QUERY, "--world", "no-such-world")
    assert code == 2 and "no scenario named 'no-such-world'" in err
    # the report's "Across worlds" worlds are checked before any kernel starts
    report = ["report", "--region-set", str(MINI), "--weights", str(TUNED)]
    code, _, err = run_cli(capsys, *report, "--compare-world", str(bad_world))
    assert code == 2 and str(bad_world) in err and len(err.strip().splitlines()) == 1
    code, _, err = run_cli(capsys, *report, "--compare-world", "null", "--no-compare-worlds")
    assert code == 2 and "contradict" in err


# ------------------------------------------------------------------------------ evaluate
def test_evaluate_per_world_resume_and_reload(
    capsys: pytest.CaptureFixture[str], own_world: Path
) -> None:
    from underfoot_lab.evaluation.runner import RunStore, load_report

    base = ["evaluate", "--region-set", str(MINI), "--no-mlflow", "--no-progress"]
    payloads = {}
    for world in ("default", "null"):
        code, out, _ = run_cli(capsys, *base, "--world", world, "--json")
        assert code == 0
        payloads[world] = json.loads(out)
    d, n = payloads["default"], payloads["null"]
    assert (d["world"], n["world"]) == ("default", "null")
    assert d["config"]["world_hash"] == d["world_hash"] != n["world_hash"]
    assert d["metrics"]["ndcg_at_10"] != n["metrics"]["ndcg_at_10"]

    code, text, _ = run_cli(capsys, *base, "--world", "null")
    assert code == 0
    assert re.search(rf"^Evaluation run \S+ \[offline world 'null' \({HASH}\), simulated\]", text)

    # A resume in another world is refused; without --world it stays in the run's own.
    code, _, err = run_cli(capsys, *base, "--resume", n["eval_run_id"], "--world", "default")
    assert code == 2 and "config differs" in err and "world: 'null' -> 'default'" in err
    code, out, _ = run_cli(capsys, *base, "--resume", n["eval_run_id"], "--json")
    assert code == 0 and json.loads(out)["metrics"] == n["metrics"]

    # A user's scenario file: recorded by name, hash and file; the run reloads from it.
    code, out, _ = run_cli(capsys, *base, "--world", str(own_world), "--json")
    assert code == 0
    mine = json.loads(out)
    assert mine["world"] == "mine" and mine["config"]["world_path"] == str(own_world.resolve())
    settings = Settings()
    loaded = load_report(mine["eval_run_id"], settings=settings)
    assert loaded.config.world == "mine"
    assert loaded.means["ndcg_at_10"] == pytest.approx(mine["metrics"]["ndcg_at_10"])

    # A world that changed since the run (code or scenario file): its results are not
    # re-judged by the new truth.
    store = RunStore(settings=settings)
    stale = dataclasses.replace(store.config(n["eval_run_id"]), world_hash="0" * 16)
    store.create("stale-run", stale)
    with pytest.raises(ConfigError, match="offline world 'null' has changed since run stale-run"):
        load_report("stale-run", settings=settings)


# ------------------------------------------------------------------------------ pools, sweeps
def test_pools_per_world_and_sweeps_never_cross_worlds(
    capsys: pytest.CaptureFixture[str], offline_home: Path
) -> None:
    from underfoot_lab.evaluation.candidate_pools import load_pool
    from underfoot_lab.sweeps.evaluate import build_pool_data
    from underfoot_lab.sweeps.run import resolve_pool
    from underfoot_lab.sweeps.spec import spec_from_options

    manifests = {}
    for world in ("default", "null"):
        code, out, _ = run_cli(
            capsys, "snapshot", "create", "--region-set", str(MINI), "--world", world, "--json"
        )
        assert code == 0
        manifests[world] = json.loads(out)
    d, n = manifests["default"], manifests["null"]
    assert (d["world"], n["world"]) == ("default", "null")
    assert d["pool_key"] != n["pool_key"] and d["path"] != n["path"]
    assert d["world_hash"] == world_identity("default").hash and "git_dirty" in d

    code, text, _ = run_cli(capsys, "snapshot", "info", n["path"])
    assert re.search(rf"world\s+offline world 'null' \({HASH}\), simulated: seed", text)

    # The region set's pool of the sweep's world is found by the key; another world's pool,
    # given explicitly, is refused.
    spec = spec_from_options(region_set=str(MINI))
    null_settings = Settings(world="null")
    pool, path, built = resolve_pool(spec, settings=null_settings)
    assert not built and str(path) == n["path"] and pool.manifest.world == "null"
    with pytest.raises(ConfigError, match="was built in offline world 'default'"):
        resolve_pool(spec, pool_path=d["path"], settings=null_settings)

    # A pool whose world changed since it was built is not judged by the new truth.
    manifest_file = Path(n["path"]) / "manifest.json"
    data = json.loads(manifest_file.read_text())
    data["world_hash"] = "0" * 16
    manifest_file.write_text(json.dumps(data))
    stale = load_pool(n["path"], verify=False)
    with pytest.raises(ConfigError, match="offline world 'null' has changed since pool"):
        build_pool_data(stale, ["ndcg@10"], cache_dir=None)
