"""``snapshot create --bundle`` and ``sweep --bundle`` on the example bundle, upstreams stopped:
the frozen pool ranks as the replayed evaluation does and is graded by the bundle's judgments;
a replay miss is exit 2 naming the query and the exchange; the sweep's MLflow run names the
bundle."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from bundle_support import Example, cli, offline_env
from test_replay import exchanges, write_qrels

from underfoot_lab.evaluation.candidate_pools import load_pool
from underfoot_lab.pipeline.score.weights import ScoringWeights

WEIGHTS = Path(__file__).resolve().parents[2] / "experiments" / "weights" / "baseline-seed.yaml"


@pytest.fixture
def bundle(example: Example, tmp_path: Path) -> Path:
    return Path(shutil.copytree(example.path, tmp_path / example.path.name))


@pytest.fixture
def home(tmp_path: Path) -> Path:
    out = tmp_path / "home"
    out.mkdir()
    return out


def test_snapshot_create_freezes_the_bundle_graded_by_its_judges(
    example: Example, bundle: Path, home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    qrels = write_qrels(tmp_path / "q.txt", example.live_rankings)
    assert cli("bundle", "import", bundle, qrels, "--judge", "human:alice") == 0
    pool_dir = tmp_path / "pool"
    capsys.readouterr()
    with pytest.MonkeyPatch.context() as mp:
        offline_env(mp, home)  # no keys, no upstreams
        assert cli("snapshot", "create", "--bundle", bundle, "--out", pool_dir, "--json") == 0
        out = json.loads(capsys.readouterr().out)
        # Same bundle and judgments: the pool on disk is reused, nothing replayed again.
        assert cli("snapshot", "create", "--bundle", bundle, "--out", pool_dir) == 0
        assert "already exists" in capsys.readouterr().err
        assert cli("snapshot", "info", pool_dir) == 0
        info = capsys.readouterr().out
    manifest = json.loads((bundle / "manifest.json").read_text())
    assert out["bundle"] == {"bundle": "mini-example", "bundle_hash": manifest["hash"],
                             "simulated": "false", "bundle_label": manifest["label"]}  # fmt: skip
    assert out["judge"] == "human:alice"
    assert out["world_seed"] is None and out["world"] is None
    assert out["n_queries"] == 3
    assert "real data, replayed, judged by human:alice" in info and "simulated" not in info
    pool = load_pool(pool_dir)
    # Re-scoring the frozen pool with the seed's weights ranks exactly as the live run did.
    rescored = pool.rescore(ScoringWeights.from_yaml(WEIGHTS))
    assert {q: [r.id for r in rs] for q, rs in rescored.items()} == example.live_rankings
    # Grades are the imported ones: rank i of the live run got grade i % 4.
    for qid, ids in example.live_rankings.items():
        judged = pool.query(qid).judgments
        assert [judged[d] for d in ids[:6]] == [i % 4 for i in range(len(ids[:6]))]
    assert set(pool.tables["judgments"].column("judge").to_pylist()) == {"human:alice"}


def test_snapshot_from_bundle_needs_every_exchange(
    bundle: Path, home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for f in exchanges(bundle, "/v1/geocode/search"):
        f.unlink()
    capsys.readouterr()
    with pytest.MonkeyPatch.context() as mp:
        offline_env(mp, home)
        code = cli("snapshot", "create", "--bundle", bundle, "--out", home / "pool")
    err = capsys.readouterr().err
    assert code == 2
    (line,) = [x for x in err.splitlines() if x.startswith("error")]
    assert "query t-" in line and "/v1/geocode/search" in line
    assert not (home / "pool" / "manifest.json").exists()


def test_snapshot_create_needs_a_region_set_or_a_bundle(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.MonkeyPatch.context() as mp:
        offline_env(mp, home)
        assert cli("snapshot", "create") == 2
    assert "--region-set" in capsys.readouterr().err


def test_sweep_on_a_bundle_uses_its_judgments_and_tags_mlflow(
    example: Example, bundle: Path, home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    qrels = write_qrels(tmp_path / "q.txt", example.live_rankings)
    assert cli("bundle", "import", bundle, qrels, "--judge", "human:bob") == 0
    capsys.readouterr()
    args = ("sweep", "--bundle", bundle, "--method", "random", "--trials", "12", "--seed", "1",
            "--holdout-regions", "upper-midwest", "--executor", "inline", "--out",
            tmp_path / "w", "--json")  # fmt: skip
    with pytest.MonkeyPatch.context() as mp:
        offline_env(mp, home)
        assert cli(*args) == 0
        captured = capsys.readouterr()
        out = json.loads(captured.out)
        assert "simulated" not in captured.err, captured.err  # the log names real data
        # A judge the bundle does not hold: one line, exit 2.
        assert cli(*args[:-1], "--judges", "human:nobody", "--no-mlflow") == 2
        assert "human:nobody" in capsys.readouterr().err
    manifest = json.loads((bundle / "manifest.json").read_text())
    assert out["simulated"] is False
    assert out["bundle"]["bundle_hash"] == manifest["hash"]
    assert out["queries"] == 3
    assert out["splits"][0]["heldout_regions"] == ["upper-midwest"]
    # The pool was graded by the bundle's judge: its manifest says so.
    pool = load_pool(out["pool"])
    assert pool.manifest.judge == "human:bob" and pool.manifest.world_seed is None
    assert pool.manifest.world_label == "real data, judged by human:bob"
    assert int((pool.grades > 0).sum()) > 0
    import mlflow

    client = mlflow.MlflowClient(f"sqlite:///{home / 'mlflow.db'}")
    tags = client.get_run(out["mlflow"]["run_id"]).data.tags
    assert tags["simulated"] == "false"
    assert tags["bundle"] == "mini-example"
    assert tags["bundle_hash"] == manifest["hash"]
    weights = ScoringWeights.from_yaml(out["weights_path"])
    assert "real data" in (weights.description or "")
