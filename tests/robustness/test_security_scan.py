"""The static security scan `make lint` runs: bandit over underfoot_lab/ finds nothing that is not
justified inline (``# nosec BXXX -- why``) or skipped with a reason in pyproject.toml."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_bandit_is_clean() -> None:
    bandit = shutil.which("bandit") or str(Path(sys.executable).with_name("bandit"))
    if not Path(bandit).exists():
        pytest.skip("bandit is not installed (pip install -e '.[dev]')")
    p = subprocess.run(
        [bandit, "-q", "-c", "pyproject.toml", "-r", "underfoot_lab", "-f", "json"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    report = json.loads(p.stdout)
    found = [f"{r['filename']}:{r['line_number']} {r['test_id']}" for r in report["results"]]
    assert found == [] and p.returncode == 0, found


def test_every_nosec_says_why() -> None:
    bare = []
    for path in (ROOT / "underfoot_lab").rglob("*.py"):
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            m = re.search(r"#\s*nosec\b(.*)", line)
            if m and not re.match(r"\s*(B\d+[ ,]*)+(--|below --)", m.group(1)):
                bare.append(f"{path.relative_to(ROOT)}:{n}")
    assert bare == [], f"nosec without a test id and a reason: {bare}"
