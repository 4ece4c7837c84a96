"""The package's shape: no import circle, no import from a lower layer to a higher one.

Every import counts, at module level and inside functions alike (a lazy import is still a
dependency). Layers, lowest first; a module may import its own layer or any lower one.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "underfoot_lab"

# Lowest first. Names are module prefixes below ``underfoot_lab``; the longest prefix wins.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("errors", "records", "codec", "redaction", "config", "provenance", "prompts", "settings"),
    ("storage",),
    ("http", "registry", "recording", "geo", "logs", "terminal"),
    ("pipeline",),
    ("world",),
    ("harness",),
    ("evaluation",),
    ("viz",),
    ("tracking",),
    ("sweeps", "bundles", "service", "papermill_reports", "notebook_helpers"),
    ("widgets", "commands", "cli", "__main__"),
)
# Siblings that must not know each other even though their layers would allow it.
FORBIDDEN = (("pipeline", "world"), ("world", "pipeline"))


def _modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(PACKAGE.parent).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def _imports(name: str, path: Path, known: set[str]) -> set[str]:
    is_pkg = path.name == "__init__.py"
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".") if is_pkg else name.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            targets = []
            for alias in node.names:
                sub = f"{mod}.{alias.name}"
                targets.append(sub if sub in known else mod)
        else:
            continue
        for target in targets:
            # The deepest known module that the import names.
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target.startswith("underfoot_lab") and target != name:
                found.add(target)
    return found


def _graph() -> dict[str, set[str]]:
    mods = _modules()
    known = set(mods)
    return {name: _imports(name, path, known) for name, path in mods.items()}


def _layer(module: str) -> tuple[int, str]:
    rest = module.split(".")[1:]
    if not rest:
        return -1, ""
    best: tuple[int, str] = (-2, "")
    for rank, names in enumerate(LAYERS):
        for prefix in names:
            p = prefix.split(".")
            if rest[: len(p)] == p and len(prefix) > len(best[1]):
                best = (rank, prefix)
    return best


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on.add(root)
        while work:
            node, it = work[-1]
            advanced = False
            for nxt in it:
                if nxt not in graph:
                    continue
                if nxt not in index:
                    index[nxt] = low[nxt] = counter
                    counter += 1
                    stack.append(nxt)
                    on.add(nxt)
                    work.append((nxt, iter(sorted(graph[nxt]))))
                    advanced = True
                    break
                if nxt in on:
                    low[node] = min(low[node], index[nxt])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                comp = []
                while True:
                    top = stack.pop()
                    on.discard(top)
                    comp.append(top)
                    if top == node:
                        break
                if len(comp) > 1:
                    out.append(sorted(comp))
    return out


def test_every_module_has_a_layer() -> None:
    unplaced = [m for m in _graph() if _layer(m)[0] == -2]
    assert unplaced == [], f"modules with no layer in LAYERS: {unplaced}"


def test_no_import_circle() -> None:
    assert _cycles(_graph()) == []


def test_no_import_up_a_layer() -> None:
    bad = []
    for module, targets in sorted(_graph().items()):
        rank, _ = _layer(module)
        for target in sorted(targets):
            if _layer(target)[0] > rank >= 0:
                bad.append(f"{module} -> {target}")
    assert bad == []


@pytest.mark.parametrize(("low", "high"), FORBIDDEN)
def test_siblings_do_not_know_each_other(low: str, high: str) -> None:
    bad = [
        f"{m} -> {t}"
        for m, ts in _graph().items()
        for t in ts
        if _layer(m)[1] == low and _layer(t)[1] == high
    ]
    assert bad == []


def test_no_module_over_800_lines() -> None:
    long = {
        str(p.relative_to(PACKAGE)): n
        for p in PACKAGE.rglob("*.py")
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > 800
    }
    assert long == {}
