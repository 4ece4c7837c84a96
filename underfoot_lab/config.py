"""Reading configuration files: YAML into a pydantic model, with one-line errors, and hashes.

Every YAML file the lab reads (weights files, sweep specs, region sets, the explorer's user
set) goes through :func:`read_yaml` / :func:`load_model`, so they fail alike: a
:class:`~underfoot_lab.errors.ConfigError` (exit code 2) of one line that names the file and,
where it can, the line or the field:

* unreadable: ``weights file w.yaml: cannot read: No such file or directory``;
* not text (binary, or not UTF-8): ``sweep spec s.yaml: not UTF-8 text (binary file?)``;
* bad syntax: ``regions/x.yaml:12: YAML syntax error: found ... (while scanning ...)``;
* wrong shape: ``weights file w.yaml: expected a mapping at the top level``;
* invalid field: ``weights file w.yaml: weights.typo: unknown feature ...``.

A UTF-8 byte-order mark (Windows editors write one) is accepted.

:func:`content_hash` is the stable hash of a config's content: sha256 of canonical JSON
(sorted keys, no spaces), the same for equal data however it was written.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from .errors import ConfigError

__all__ = [
    "content_hash",
    "file_hash",
    "load_model",
    "read_yaml",
    "read_yaml_nodes",
    "validation_message",
]

M = TypeVar("M", bound=BaseModel)


def _label(path: Path, what: str) -> str:
    return f"{what} {path}" if what else str(path)


def _read_text(path: str | Path, what: str = "", *, label: str | None = None) -> str:
    """A config file's text (UTF-8, a byte-order mark dropped); ``what`` names the kind of
    file in errors (``"weights file"``), ``label`` replaces the whole name."""
    p = Path(path)
    name = label or _label(p, what)
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{name}: cannot read: {exc.strerror or exc}") from None
    if b"\x00" in data:
        raise ConfigError(f"{name}: not UTF-8 text (binary file?)")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{name}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None


def read_yaml_nodes(
    path: str | Path, what: str = "", *, label: str | None = None
) -> tuple[Any, yaml.Node | None]:
    """The YAML document in ``path`` and its node tree (for line numbers of later errors)."""
    p = Path(path)
    name = label or _label(p, what)
    text = _read_text(p, label=name)
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{name}:{mark.line + 1}" if mark is not None else name
        problem = " ".join(str(exc.problem or exc.context or "invalid YAML").split())
        if exc.problem and exc.context:
            # "while scanning a quoted scalar" + where it started: usually the real culprit.
            started = f" started at line {exc.context_mark.line + 1}" if exc.context_mark else ""
            problem += f" ({' '.join(exc.context.split())}{started})"
        raise ConfigError(f"{where}: YAML syntax error: {problem}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{name}: YAML error: {' '.join(str(exc).split())}") from None
    finally:
        loader.dispose()
    return data, node


def read_yaml(path: str | Path, what: str = "", *, label: str | None = None) -> Any:
    """The YAML document in ``path`` (None for an empty file)."""
    return read_yaml_nodes(path, what, label=label)[0]


def validation_message(exc: ValidationError) -> str:
    """The first problem of a pydantic error as ``field.path: message``."""
    err = exc.errors()[0]
    loc = ".".join(str(x) for x in err["loc"] if not str(x).startswith("function-"))
    msg = str(err["msg"]).removeprefix("Value error, ").removeprefix("Assertion failed, ")
    return f"{loc}: {msg}" if loc else msg


def load_model(
    path: str | Path,
    model: type[M],
    what: str = "",
    *,
    prepare: Callable[[dict[str, Any]], None] | None = None,
    label: str | None = None,
) -> M:
    """Read ``path`` and validate it as ``model``; the document must be a mapping.

    ``prepare`` may fill defaults or apply overrides to the mapping before validation (a
    weights file's ``name`` defaults to the file's stem, say)."""
    p = Path(path)
    name = label or _label(p, what)
    data = read_yaml(p, label=name)
    if not isinstance(data, dict):
        raise ConfigError(f"{name}: expected a mapping at the top level")
    if prepare is not None:
        prepare(data)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"{name}: {validation_message(exc)}") from None


def content_hash(data: Mapping[str, Any] | BaseModel | list[Any]) -> str:
    """sha256 (hex) of ``data`` as canonical JSON (a model as its JSON dump)."""
    if isinstance(data, BaseModel):
        data = data.model_dump(mode="json")
    text = json.dumps(data, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def file_hash(path: str | Path) -> str:
    """sha256 (hex) of a file's bytes (what runs record to notice a changed file)."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()
