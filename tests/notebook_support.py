"""Reading executed notebooks in tests (importable from every test module: ``tests/`` is on
``sys.path`` through the root conftest)."""

from __future__ import annotations

from typing import Any


def cell_errors(nb: Any) -> list[str]:
    """``"Name: message"`` of every error output of the notebook's code cells, in order."""
    return [
        f"{o.get('ename')}: {o.get('evalue')}"
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.get("outputs", [])
        if o.get("output_type") == "error"
    ]
