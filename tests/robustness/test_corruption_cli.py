"""Damaged stores through the CLI (issue 14 case 3): a garbage or truncated run store, judgment
store or MLflow store gives exit 2 and one line naming the file and the way out; the damaged
file is left exactly as it was (never deleted), and `doctor` names it and moves it aside."""

from __future__ import annotations

import os
import random
import shutil
import subprocess
from pathlib import Path

import pytest
from offline_cli import start_cli

pytestmark = pytest.mark.slow

MINI = str(Path(__file__).resolve().parents[1] / "fixtures" / "regions" / "mini.yaml")
STORES = {"runs.sqlite3": "run store", "judgments.sqlite3": "judgment store", "mlflow.db": "MLflow"}


def cli(home: Path, *args: str) -> subprocess.Popen[str]:
    return start_cli(home, *args, cwd=home)


def damage(path: Path, how: str) -> None:
    if how == "garbage":
        path.write_bytes(random.Random(14).randbytes(8192))
    else:
        os.truncate(path, path.stat().st_size // 2)


@pytest.fixture(scope="module")
def populated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A home after one evaluation: every store exists and holds data."""
    home = tmp_path_factory.mktemp("populated")
    p = cli(home, "evaluate", "--region-set", MINI, "--no-progress")
    _, err = p.communicate(timeout=600)
    assert p.returncode == 0, err[-2000:]
    for name in STORES:
        assert (home / name).stat().st_size > 0, name
    return home


def test_damaged_stores_exit_2_naming_the_file(populated: Path, tmp_path: Path) -> None:
    cases = {}
    for name in STORES:
        for how in ("garbage", "truncated"):
            home = tmp_path / f"{name}-{how}"
            shutil.copytree(populated, home)
            for side in home.glob("*-wal"):
                side.unlink()  # a checkpointed copy: the damage is the only difference
            for side in home.glob("*-shm"):
                side.unlink()
            damage(home / name, how)
            before = (home / name).read_bytes()
            proc = cli(home, "evaluate", "--region-set", MINI, "--no-progress", "--no-cache")
            cases[(name, how)] = (home, before, proc)
    for (name, how), (home, before, proc) in cases.items():
        out, err = proc.communicate(timeout=600)
        assert proc.returncode == 2, (name, how, err[-2000:])
        lines = err.strip().splitlines()
        last = lines[-1]
        assert last.startswith("error: ") and str(home / name) in last, (name, how, last)
        assert STORES[name] in last and "doctor --move-aside" in last, last
        assert "Traceback" not in err and "internal error" not in err
        assert (home / name).read_bytes() == before, "the damaged file was changed or deleted"

    # doctor names the broken store and the fix, and --move-aside keeps every byte aside.
    home, before, _ = cases[("mlflow.db", "garbage")]
    p = cli(home, "doctor")
    out, _ = p.communicate(timeout=120)
    assert p.returncode == 1 and "MLflow store" in out and "BROKEN" in out
    assert "underfoot-lab doctor --move-aside" in out
    p = cli(home, "doctor", "--move-aside")
    out, _ = p.communicate(timeout=120)
    aside = list(home.glob("mlflow.db.corrupt-*"))
    assert len(aside) == 1 and aside[0].read_bytes() == before
    assert not (home / "mlflow.db").exists() and "moved the MLflow store" in out
    p = cli(home, "doctor")
    out, _ = p.communicate(timeout=120)
    assert p.returncode == 0 and "BROKEN" not in out
