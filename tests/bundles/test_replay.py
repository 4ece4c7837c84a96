"""``--bundle``: evaluate and compare replay a bundle with the upstreams stopped, scored with the
bundle's judgments; ``bundle verify`` / ``info`` / ``import``."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from bundle_support import Example, cli, offline_env

from underfoot_lab.evaluation.runner import RunStore

EXPERIMENTS = Path(__file__).resolve().parents[2] / "experiments" / "weights"


@pytest.fixture
def bundle(example: Example, tmp_path: Path) -> Path:
    """A private copy of the example bundle (tests add judgments to it)."""
    return Path(shutil.copytree(example.path, tmp_path / example.path.name))


def write_qrels(path: Path, rankings: dict[str, list[str]], *, shift: int = 0) -> Path:
    lines = []
    for qid, ids in sorted(rankings.items()):
        for i, doc in enumerate(ids[:6]):
            lines.append(f"{qid} 0 {doc} {(i + shift) % 4}")
    path.write_text("\n".join(lines) + "\n")
    return path


def exchanges(bundle: Path, fragment: str) -> list[Path]:
    """Recorded exchange files whose request URL contains ``fragment`` (read from the files,
    whatever the recording names them)."""
    out = []
    for f in sorted((bundle / "exchanges").glob("*.json")):
        data = json.loads(f.read_text())
        if fragment in str(data.get("request", {}).get("url", "")):
            out.append(f)
    assert out, fragment
    return out


def rankings_of(home: Path, run_id: str) -> dict[str, list[str]]:
    rows = RunStore(home / "runs.sqlite3").rows(run_id)
    out = {}
    for qid, row in rows.items():
        result = row.result()
        assert result is not None, row.error
        out[qid] = [r.id for r in result.results]
    return out


def test_evaluate_bundle_replays_the_live_rankings_offline(
    example: Example, bundle: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli("bundle", "import", bundle, write_qrels(tmp_path / "q.txt", example.live_rankings),
               "--judge", "human:alice") == 0  # fmt: skip
    home = tmp_path / "home"
    home.mkdir()
    capsys.readouterr()
    with pytest.MonkeyPatch.context() as mp:
        offline_env(mp, home)  # no keys, no upstreams (they are stopped)
        assert cli("evaluate", "--bundle", bundle, "--json", "--no-progress") == 0
    out = json.loads(capsys.readouterr().out)
    assert out["simulated"] is False
    assert out["judges"] == "human:alice"
    assert out["judged_queries"] == 3
    assert out["metrics"]["ndcg_at_10"] > 0
    assert rankings_of(home, out["eval_run_id"]) == example.live_rankings
    # Tagged in MLflow with the bundle's name and hash.
    import mlflow

    client = mlflow.MlflowClient(f"sqlite:///{home / 'mlflow.db'}")
    tags = client.get_run(out["run_id"]).data.tags
    manifest = json.loads((bundle / "manifest.json").read_text())
    assert tags["simulated"] == "false"
    assert tags["bundle"] == "mini-example"
    assert tags["bundle_hash"] == manifest["hash"]


def test_judgments_in_the_bundle_change_the_scores(
    example: Example, bundle: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    good = write_qrels(tmp_path / "good.txt", example.live_rankings, shift=0)
    with pytest.MonkeyPatch.context() as mp:
        offline_env(mp, home)
        assert cli("bundle", "import", bundle, good, "--judge", "human:bob") == 0
        capsys.readouterr()
        assert cli("evaluate", "--bundle", bundle, "--json", "--no-progress", "--no-mlflow") == 0
        first = json.loads(capsys.readouterr().out)
        reversed_grades = {q: list(reversed(ids[:6])) for q, ids in example.live_rankings.items()}
        bad = write_qrels(tmp_path / "bad.txt", reversed_grades, shift=0)
        assert cli("bundle", "import", bundle, bad, "--judge", "human:bob") == 0
        capsys.readouterr()
        assert cli("evaluate", "--bundle", bundle, "--json", "--no-progress", "--no-mlflow") == 0
        second = json.loads(capsys.readouterr().out)
    assert first["metrics"]["ndcg_at_10"] != second["metrics"]["ndcg_at_10"]


def test_compare_on_a_bundle(
    example: Example, bundle: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    qrels = write_qrels(tmp_path / "q.txt", example.live_rankings)
    assert cli("bundle", "import", bundle, qrels, "--judge", "human:carol") == 0
    # other weights than the collected ranking: the ranking replays, but the LLM answer of a
    # new ranking was never recorded, so that stage answers from the template (and says so)
    candidate = EXPERIMENTS / "tuned-default-world.yaml"
    capsys.readouterr()
    with pytest.MonkeyPatch.context() as mp:
        offline_env(mp, home)
        assert cli("compare", "--bundle", bundle, "--candidate", candidate, "--json",
                   "--no-progress", "--resamples", "200") == 0  # fmt: skip
    captured = capsys.readouterr()
    out = json.loads(captured.out)
    assert out["simulated"] is False
    assert out["queries"] == 3
    assert out["comparisons"]
    assert out["candidate"]["weights"] != out["baseline"]["weights"]
    assert "answered by the template responder" in captured.err


def test_verify_info_and_tampering(
    example: Example, bundle: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    with pytest.MonkeyPatch.context() as mp:
        offline_env(mp, home)
        assert cli("bundle", "verify", bundle) == 0
        assert "ok" in capsys.readouterr().out
        # Two judges: info reports their agreement.
        assert cli("bundle", "import", bundle, write_qrels(tmp_path / "a.txt",
                   example.live_rankings), "--judge", "human:alice") == 0  # fmt: skip
        assert cli("bundle", "import", bundle, write_qrels(tmp_path / "b.txt",
                   example.live_rankings, shift=1), "--judge", "llm:gpt-4o-mini") == 0  # fmt: skip
        capsys.readouterr()
        assert cli("bundle", "info", bundle, "--json") == 0
        info = json.loads(capsys.readouterr().out)
        assert info["judgments"]["queries_judged"] == 3
        assert info["counts"]["done"] == 3
        assert info["cost"]["total_usd"] > 0
        (pair,) = info["agreement"]
        assert pair["judge_a"] == "human:alice" and pair["n"] == 18
        assert pair["kappa"] is not None
        assert cli("bundle", "info", bundle) == 0
        assert "kappa" in capsys.readouterr().out
        # A planted key and a lost exchange are both found.
        files = exchanges(bundle, "engine=google")
        text = files[0].read_text().replace("api_key=***", "api_key=real-looking-key")
        files[0].write_text(text)
        files[1].unlink()
        assert cli("bundle", "verify", bundle) == 1
    out = capsys.readouterr().out
    assert "unmasked credential" in out
    assert "missing" in out
    assert "not replayable" in out or "ranks differently" in out


def test_a_replay_miss_names_the_query(
    example: Example, bundle: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    for f in exchanges(bundle, "/v1/geocode/search"):
        f.unlink()
    capsys.readouterr()
    with pytest.MonkeyPatch.context() as mp:
        offline_env(mp, home)
        code = cli("evaluate", "--bundle", bundle, "--no-progress", "--no-mlflow")
    err = capsys.readouterr().err
    assert code == 2
    assert "query t-" in err and "/v1/geocode/search" in err
