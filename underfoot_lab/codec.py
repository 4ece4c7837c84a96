"""JSON round-trip for the frozen records (the SQLite cache and the run store use it).

A small, generic codec driven by the dataclasses' type hints: nested records, tuples, optional
values and datetimes. It is exact for what the records hold (floats round-trip through JSON's
shortest repr), so a cached result equals the one that was stored.
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from datetime import datetime
from functools import cache
from typing import Any, TypeVar, get_args, get_origin

T = TypeVar("T")


_SCALARS = frozenset({str, int, float, bool, type(None)})


_FIELD_NAMES: dict[type, tuple[str, ...] | None] = {}


def _field_names(cls: type) -> tuple[str, ...] | None:
    """A dataclass's field names in order (None for any other class); cached per class, since
    ``dataclasses.fields`` per object was most of the cost of encoding a search result."""
    try:
        return _FIELD_NAMES[cls]
    except KeyError:
        pass
    names = (
        tuple(f.name for f in dataclasses.fields(cls)) if dataclasses.is_dataclass(cls) else None
    )
    _FIELD_NAMES[cls] = names
    return names


def to_jsonable(obj: Any) -> Any:
    """Records -> plain JSON values (dataclasses become objects, tuples lists, datetimes ISO)."""
    cls = type(obj)
    if cls in _SCALARS:
        return obj
    names = _field_names(cls)
    if names is not None:
        return {n: to_jsonable(getattr(obj, n)) for n in names}
    if isinstance(obj, datetime):
        return {"$dt": obj.isoformat()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(x) for x in obj]
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    return obj


def dumps(obj: Any) -> str:
    return json.dumps(to_jsonable(obj), separators=(",", ":"), allow_nan=True)


@cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def from_jsonable(tp: Any, value: Any) -> Any:
    """Plain JSON values -> an instance of type ``tp`` (a record class or a typing form)."""
    if value is None:
        return None
    if isinstance(value, dict) and "$dt" in value:
        return datetime.fromisoformat(value["$dt"])
    origin = get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        members = [a for a in get_args(tp) if a is not type(None)]
        for a in members:
            if dataclasses.is_dataclass(a) and isinstance(value, dict):
                return from_jsonable(a, value)
        return from_jsonable(members[0], value) if len(members) == 1 else value
    if origin is tuple:
        args = get_args(tp)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(from_jsonable(args[0], v) for v in value)
        return tuple(from_jsonable(a, v) for a, v in zip(args, value, strict=True))
    if origin is typing.Literal:
        return value
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        hints = _hints(tp)
        kwargs = {
            f.name: from_jsonable(hints[f.name], value[f.name])
            for f in dataclasses.fields(tp)
            if f.name in value
        }
        return tp(**kwargs)
    return value


def loads(tp: type[T], text: str) -> T:
    result: T = from_jsonable(tp, json.loads(text))
    return result
