"""underfoot_lab.provenance: the commit and dirtiness of the checkout the package runs from."""

from __future__ import annotations

import subprocess
from pathlib import Path

import underfoot_lab
from underfoot_lab.provenance import git_commit, git_dirty


def test_commit_and_dirty_agree_with_git() -> None:
    here = Path(underfoot_lab.__file__).resolve().parent
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, check=False
    )
    if head.returncode != 0:  # an installed copy: nothing to trace back to
        assert git_commit() is None and git_dirty() is None
        return
    assert git_commit() == head.stdout.strip()
    status = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=no"],
        cwd=here,
        capture_output=True,
        text=True,
        check=True,
    )
    assert git_dirty() is bool(status.stdout.strip())
