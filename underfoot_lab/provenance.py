"""Which code produced a result: the checkout's commit and whether it had uncommitted changes.

Runs, pools and sweeps record both (``git_commit``, ``git_dirty``) so a number can be traced
back to the code; a dirty tree means the commit alone does not reproduce it. Outside a git
checkout (an installed wheel) both are None. Each is asked of git once per process.

Simulated results also record the offline world they came from: the scenario's name and its
hash (over the scenario's content and the world's code); :func:`world_label` is how every
printed header names it.
"""

from __future__ import annotations

import subprocess  # nosec B404 -- runs only `git`, with fixed arguments
from functools import cache
from pathlib import Path

__all__ = ["git_commit", "git_dirty", "world_label"]

_HERE = Path(__file__).resolve().parent


def _git(*args: str) -> str | None:
    """``git <args>`` run in the package's directory; its stdout, or None when git fails."""
    try:
        out = subprocess.run(  # nosec B603 B607 -- `git` from PATH, fixed argv, no shell
            ["git", *args], cwd=_HERE, capture_output=True, text=True, timeout=5, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout if out.returncode == 0 else None


@cache
def git_commit() -> str | None:
    """The checkout's HEAD commit (40 hex digits); None outside a git checkout."""
    out = _git("rev-parse", "HEAD")
    commit = (out or "").strip()
    return commit if len(commit) == 40 else None


@cache
def git_dirty() -> bool | None:
    """True when tracked files differ from HEAD (untracked files do not count: scratch
    notebooks and outputs would make every tree dirty); None outside a git checkout."""
    if git_commit() is None:
        return None
    out = _git("status", "--porcelain", "--untracked-files=no")
    return None if out is None else bool(out.strip())


def world_label(name: str | None, world_hash: str | None) -> str:
    """How headers name a simulated world: ``offline world 'null' (a1b2c3d4), simulated``."""
    short = f" ({world_hash[:8]})" if world_hash else ""
    return f"offline world {name or 'unknown'!r}{short}, simulated"
