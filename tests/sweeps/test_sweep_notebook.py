"""``notebooks/sweeps.ipynb``: thin, committed clean, runnable by papermill on a logged sweep."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from underfoot_lab.sweeps.run import run_sweep
from underfoot_lab.sweeps.spec import spec_from_options

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = ROOT / "notebooks" / "sweeps.ipynb"


def test_notebook_is_thin_and_clean() -> None:
    nb = nbformat.read(NOTEBOOK, as_version=4)  # type: ignore[no-untyped-call]
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1 and tagged[0] is code[0]
    for c in code:
        assert not c.outputs and c.execution_count is None
        lines = c.source.splitlines()
        assert not any(line.lstrip().startswith(("def ", "class ")) for line in lines)
    names = {line.split("=")[0].strip() for line in tagged[0].source.splitlines() if "=" in line}
    assert {"experiment", "tracking_uri", "sweep_run", "baseline", "underfoot_home"} <= names


@pytest.mark.slow
def test_papermill_runs_the_notebook_on_the_latest_sweep(
    pool_dir: Path, sweep_home: Path, tmp_path: Path
) -> None:
    import papermill

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    spec = spec_from_options(
        name="nb", trials=25, n_resamples=500,
        ranges={"hiddenness": {"low": -1, "high": 1}, "rating_quality": {"low": 0, "high": 2}},
        validation={"kfold": {"k": 2}},
    )  # fmt: skip
    result = run_sweep(spec, pool_path=pool_dir, executor="inline", write_weights=False,
                       tracking_uri=uri)  # fmt: skip
    out = tmp_path / "sweeps.ipynb"
    papermill.execute_notebook(
        str(NOTEBOOK), str(out),
        parameters={"underfoot_home": str(sweep_home), "tracking_uri": uri},
        kernel_name="python3", progress_bar=False, cwd=str(ROOT / "notebooks"),
    )  # fmt: skip
    executed = nbformat.read(out, as_version=4)  # type: ignore[no-untyped-call]
    errors = [o for c in executed.cells for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors
    text = "\n".join(
        str(o.get("text", "")) + str(o.get("data", {}).get("text/plain", ""))
        for c in executed.cells
        for o in c.get("outputs", [])
    )
    assert f"sweep nb (MLflow run {result.mlflow_run_id})" in text
    assert f"winner trial {result.winner.number}" in text
    assert "offline world (simulated)" in text
    assert "ndcg_at_10.delta" in text and "p_holm" in text
    html = [o for c in executed.cells for o in c.get("outputs", []) if "data" in o]
    assert any("application/vnd.plotly.v1+json" in o["data"] for o in html)
