"""The notebooks on a bundle, real kernels, upstreams stopped: ``report --bundle`` (papermill,
MLflow tagged with the bundle) and ``judge.ipynb`` opening a bundle through its ``bundle``
parameter."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import nbformat
import pytest
from bundle_support import Example, cli, offline_env
from notebook_support import cell_errors
from test_replay import write_qrels

pytestmark = pytest.mark.slow

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"


@pytest.fixture
def bundle(example: Example, tmp_path: Path) -> Path:
    return Path(shutil.copytree(example.path, tmp_path / example.path.name))


def test_report_on_a_bundle(
    example: Example, bundle: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    qrels = write_qrels(tmp_path / "q.txt", example.live_rankings)
    assert cli("bundle", "import", bundle, qrels, "--judge", "human:alice") == 0
    home = tmp_path / "home"
    home.mkdir()
    capsys.readouterr()
    with pytest.MonkeyPatch.context() as mp:
        offline_env(mp, home)  # the kernel inherits it: no keys, nothing to call
        code = cli("report", "--bundle", bundle, "--json", "--out", tmp_path / "reports")
    captured = capsys.readouterr()
    assert code == 0, captured.out[-3000:] + captured.err[-2000:]
    out = json.loads(captured.out)
    manifest = json.loads((bundle / "manifest.json").read_text())
    (report,) = out["reports"]
    assert report["ok"] and report["simulated"] is False
    assert report["region_set"] == "mini"
    assert out["bundle"]["bundle_hash"] == manifest["hash"]
    assert report["metrics"]["ndcg_at_10"] > 0  # scored with the bundle's judgments
    import mlflow

    client = mlflow.MlflowClient(out["tracking_uri"])
    run = client.get_run(report["mlflow_run_id"])
    assert run.data.tags["simulated"] == "false"
    assert run.data.tags["bundle"] == "mini-example"
    assert run.data.tags["bundle_hash"] == manifest["hash"]
    assert run.data.tags["judges"] == "human:alice"
    executed = nbformat.read(report["notebook"], as_version=4)
    assert not cell_errors(executed)
    assert str(bundle.resolve()) in "".join(c.source for c in executed.cells)


def test_report_refuses_a_bundle_with_a_region_set(
    bundle: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.MonkeyPatch.context() as mp:
        offline_env(mp, tmp_path)
        assert cli("report", "--bundle", bundle, "--region-set", "smoke") == 2
    assert "--bundle" in capsys.readouterr().err


def test_judge_notebook_opens_a_bundle(bundle: Path, tmp_path: Path) -> None:
    import papermill

    home = tmp_path / "home"
    home.mkdir()
    out = tmp_path / "judge.ipynb"
    with pytest.MonkeyPatch.context() as mp:
        offline_env(mp, home)
        papermill.execute_notebook(
            str(NOTEBOOKS / "judge.ipynb"),
            str(out),
            parameters={"bundle": str(bundle)},
            kernel_name="python3",
            progress_bar=False,
            cwd=str(NOTEBOOKS),
        )
    nb = nbformat.read(out, as_version=4)
    assert not cell_errors(nb)
    text = json.dumps([c.get("outputs", []) for c in nb.cells if c.cell_type == "code"])
    # The pool is the bundle's (its queries), and no simulated world stood in as the reference.
    assert "t-pikeville-01" in text and "t-ely-01" in text
    assert "smoke" not in text
