"""Region sets: the query sets the evaluation runs over, as YAML files in ``data/regions/``.

A region set file is one of two kinds:

* **regional**: its own ``queries`` (usually one region, named by a top-level ``region:`` that
  every query inherits unless it sets its own)::

      name: appalachia
      description: Eastern Kentucky, West Virginia, ...
      region: appalachia
      queries:
        - id: app-pikeville-ky-01
          text: "hidden gems in Pikeville KY"
          expected: {place: "Pikeville", state: KY}
          tags: [general, in-town]

* **composite**: ``include`` (whole sets, by name) and/or ``select`` (single query ids taken
  from any regional set in the same directory), so ``all`` and the default ``smoke`` set never
  duplicate a query and judgments made for a query apply wherever it appears.

One file may be marked ``default: true``: :func:`default_region_set_name` returns it and the
main job evaluates it on every fresh clone.

Every problem is a one-line :class:`~underfoot_lab.errors.ConfigError` naming the file and line:
YAML syntax, missing or unknown fields, unknown towns (with gazetteer suggestions), states that
are not US states, ZIP codes that do not belong to the expected place, duplicate ids (both
positions), unknown or cyclic includes, empty sets.

The directory is ``$UNDERFOOT_DATA_DIR/regions`` when that variable is set, else the
``data/regions`` found walking up from this package (the repo checkout it is installed from,
editable), else ``./data/regions``.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ..config import read_yaml_nodes
from ..errors import ConfigError

__all__ = [
    "DATA_REGIONS_DIR",
    "INTENTS",
    "PHRASING_TAGS",
    "ExpectedPlace",
    "RegionQuery",
    "RegionSet",
    "data_dir",
    "data_regions_dir",
    "default_region_set_name",
    "list_region_sets",
    "load_region_set",
    "region_set_hash",
]

INTENTS: tuple[str, ...] = (
    "outdoors",
    "food",
    "nightlife",
    "history",
    "weird",
    "events",
    "general",
)
"""Intent classes; every query carries exactly one of them as a tag."""

PHRASING_TAGS: tuple[str, ...] = (
    "in-town",  # "<what> in <town> ..."
    "town-first",  # "<town>[, state] <what>"
    "near",  # "... near/around <town or ZIP>"
    "question",  # "what's happening in ...", "where to eat in ..."
    "full-state",  # the state spelled out ("Kentucky")
    "no-state",  # no state at all: the geocoder must pick the right town
    "lowercase",
    "zip",  # a ZIP code instead of a town name
)
"""The phrasing-style tags the shipped sets use (documented in ``data/README.md``; other tags
are allowed)."""

DATA_ENV = "UNDERFOOT_DATA_DIR"
_ID_RE = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
_TAG_RE = re.compile(r"^[a-z0-9][a-z0-9-]*$")
_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_ZIP_RE = re.compile(r"(?<!\d)(\d{5})(?!\d)")


# ------------------------------------------------------------------------------------ paths
def data_dir() -> Path:
    """The workbench's ``data/`` directory (see the module docstring for how it is found)."""
    env = os.environ.get(DATA_ENV)
    if env:
        return Path(env).expanduser()
    for parent in Path(__file__).resolve().parents:
        if (parent / "data" / "regions").is_dir():
            return parent / "data"
    return Path.cwd() / "data"


def data_regions_dir() -> Path:
    """``data_dir() / "regions"``, resolved now (so a changed ``UNDERFOOT_DATA_DIR`` applies)."""
    return data_dir() / "regions"


DATA_REGIONS_DIR: Path = data_regions_dir()
"""The region-set directory as resolved at import; functions here re-resolve when ``root`` is
not given."""


# ------------------------------------------------------------------------------------ models
@cache
def _us_states() -> dict[str, str]:
    """Postal code -> name for the states, DC and territories (same list as the gazetteer)."""
    import us

    states = {s.abbr: s.name for s in us.states.STATES_AND_TERRITORIES}
    states["DC"] = "District of Columbia"
    return states


def _state_code(text: str) -> str | None:
    states = _us_states()
    t = text.strip().rstrip(".")
    if t.upper() in states:
        return t.upper()
    by_name = {n.lower(): c for c, n in states.items()}
    return by_name.get(" ".join(t.lower().split()))


class ExpectedPlace(BaseModel):
    """Where a query should be geocoded to: a gazetteer town and its state."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    place: str = Field(min_length=1)
    """Town name; matched against the gazetteer after normalisation ("St." = "Saint")."""
    state: str
    """Two-letter postal code; a spelled-out name ("Kentucky") is accepted and converted."""
    county: str | None = None
    """Only to disambiguate a name that occurs twice in one state."""

    @field_validator("place")
    @classmethod
    def _strip_place(cls, value: str) -> str:
        value = " ".join(value.split())
        if not value:
            raise ValueError("place is empty")
        return value

    @field_validator("state", mode="before")
    @classmethod
    def _check_state(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        code = _state_code(value)
        if code is None:
            raise ValueError(f"{value!r} is not a US state (use a postal code such as KY)")
        return code

    @property
    def label(self) -> str:
        """ "Pikeville, KY"."""
        return f"{self.place}, {self.state}"


class RegionQuery(BaseModel):
    """One evaluation query with the place it should resolve to and its tags."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    """Stable and unique across every set, e.g. ``app-pikeville-ky-01``; judgments key on it."""
    text: str = Field(min_length=1)
    expected: ExpectedPlace
    tags: tuple[str, ...] = ()
    """Exactly one intent (:data:`INTENTS`) plus phrasing tags (:data:`PHRASING_TAGS`)."""
    region: str | None = None
    """Region label for per-region breakdowns and region cross-validation."""

    @field_validator("id")
    @classmethod
    def _check_id(cls, value: str) -> str:
        if not _ID_RE.match(value):
            raise ValueError(
                f"id {value!r} must be lower-case letters, digits, '-', '.' or '_' "
                "(it is written to qrels files)"
            )
        return value

    @field_validator("text")
    @classmethod
    def _check_text(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("text is empty")
        return value

    @field_validator("tags")
    @classmethod
    def _check_tags(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for tag in value:
            if not _TAG_RE.match(tag):
                raise ValueError(f"tag {tag!r} must be lower-case letters, digits and '-'")
        if len(set(value)) != len(value):
            raise ValueError(f"repeated tag in {list(value)}")
        intents = [t for t in value if t in INTENTS]
        if len(intents) != 1:
            raise ValueError(
                f"needs exactly one intent tag ({'|'.join(INTENTS)}), got {intents or 'none'}"
            )
        return value

    @model_validator(mode="after")
    def _check_zip(self) -> RegionQuery:
        if "zip" in self.tags and not _ZIP_RE.search(self.text):
            raise ValueError(f"tagged 'zip' but the text {self.text!r} has no 5-digit ZIP code")
        return self

    @property
    def intent(self) -> str:
        """The intent class (the one tag in :data:`INTENTS`)."""
        return next(t for t in self.tags if t in INTENTS)

    @property
    def zip_code(self) -> str | None:
        """The ZIP code in the text, for queries tagged ``zip``."""
        if "zip" not in self.tags:
            return None
        m = _ZIP_RE.search(self.text)
        return m.group(1) if m else None


class RegionSet(BaseModel):
    """A resolved region set: its own queries plus everything it includes or selects."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    description: str
    queries: tuple[RegionQuery, ...]
    """Resolved, in file order: own queries, then each include, then each selected id."""
    region: str | None = None
    default: bool = False
    include: tuple[str, ...] = ()
    select: tuple[str, ...] = ()
    path: Path | None = Field(default=None, exclude=True)

    def __len__(self) -> int:
        return len(self.queries)

    @property
    def is_composite(self) -> bool:
        """Built from other sets (``include``/``select``) rather than only its own queries."""
        return bool(self.include or self.select)

    @property
    def hash(self) -> str:
        """:func:`region_set_hash` of this set."""
        return region_set_hash(self)

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(q.id for q in self.queries)

    @property
    def regions(self) -> tuple[str, ...]:
        """The distinct region labels, sorted (queries without one are left out)."""
        return tuple(sorted({q.region for q in self.queries if q.region}))

    @property
    def towns(self) -> frozenset[tuple[str, str]]:
        """Distinct expected (place, state) pairs."""
        return frozenset((q.expected.place, q.expected.state) for q in self.queries)

    def by_region(self) -> dict[str, tuple[RegionQuery, ...]]:
        """Queries grouped by region label (``"unlabelled"`` for queries without one)."""
        out: dict[str, list[RegionQuery]] = {}
        for q in self.queries:
            out.setdefault(q.region or "unlabelled", []).append(q)
        return {k: tuple(v) for k, v in sorted(out.items())}

    def get(self, query_id: str) -> RegionQuery:
        """The query with this id (KeyError when absent)."""
        for q in self.queries:
            if q.id == query_id:
                return q
        raise KeyError(query_id)


class _RegionFile(BaseModel):
    """The on-disk schema of one region-set file."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    description: str = Field(min_length=1)
    region: str | None = None
    default: bool = False
    include: tuple[str, ...] = ()
    select: tuple[str, ...] = ()
    queries: tuple[RegionQuery, ...] = ()

    @field_validator("name")
    @classmethod
    def _check_name(cls, value: str) -> str:
        if not _NAME_RE.match(value):
            raise ValueError(f"name {value!r} must be lower-case letters, digits, '-' or '_'")
        return value


# ------------------------------------------------------------------------------------ hashing
def _canonical_query(q: RegionQuery) -> dict[str, Any]:
    expected: dict[str, Any] = {"place": q.expected.place, "state": q.expected.state}
    if q.expected.county is not None:
        expected["county"] = q.expected.county
    return {
        "id": q.id,
        "text": q.text,
        "expected": expected,
        "tags": list(q.tags),
        "region": q.region,
    }


def region_set_hash(rs: RegionSet) -> str:
    """sha256 (hex) of a canonical JSON of the resolved queries, for MLflow tags.

    Queries are sorted by id, so reordering a file or the ``include`` list does not change the
    hash; any change to a query's text, expected place, tags or region does. The set's name and
    description are not part of it: two sets with the same queries hash the same.
    """
    rows = sorted((_canonical_query(q) for q in rs.queries), key=lambda d: d["id"])
    blob = json.dumps(rows, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


# ------------------------------------------------------------------------------------ loading
def _resolve_root(root: str | Path | None) -> Path:
    return Path(root) if root is not None else data_regions_dir()


def _show(path: Path) -> str:
    """A path as the user would type it: relative to the working directory when inside it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def list_region_sets(root: str | Path | None = None) -> list[str]:
    """Names (file stems) of the region sets in ``root``, sorted."""
    root_dir = _resolve_root(root)
    if not root_dir.is_dir():
        raise ConfigError(
            f"region-set directory {_show(root_dir)} does not exist "
            f"(set {DATA_ENV} to the directory holding regions/)"
        )
    return sorted(p.stem for p in root_dir.glob("*.yaml") if p.is_file())


def default_region_set_name(root: str | Path | None = None) -> str:
    """The one set marked ``default: true`` (the set the main job evaluates)."""
    root_dir = _resolve_root(root)
    marked = []
    for name in list_region_sets(root_dir):
        path = root_dir / f"{name}.yaml"
        data, _ = _read_yaml(path)
        if isinstance(data, Mapping) and data.get("default") is True:
            marked.append(name)
    if not marked:
        raise ConfigError(f"no region set in {_show(root_dir)} is marked 'default: true'")
    if len(marked) > 1:
        raise ConfigError(
            f"more than one region set in {_show(root_dir)} is marked 'default: true': "
            f"{', '.join(marked)}"
        )
    return marked[0]


def load_region_set(
    name_or_path: str | Path,
    *,
    root: str | Path | None = None,
    validate_places: bool = True,
) -> RegionSet:
    """Load, resolve and validate a region set.

    ``name_or_path`` is a set name (a file stem in ``root``, default :func:`data_regions_dir`)
    or a path to a YAML file; a path's includes and selects resolve in its own directory unless
    ``root`` is given. With ``validate_places`` (the default) every expected town is checked
    against the embedded gazetteer and every ZIP query against the ZIP index; without it only
    the schema, states, ids and composition are checked (no gazetteer load).

    Raises :class:`ConfigError` with a one-line message for every problem.
    """
    text = str(name_or_path)
    is_path = isinstance(name_or_path, Path) or text.endswith((".yaml", ".yml")) or "/" in text
    if is_path:
        path = Path(name_or_path)
        if not path.is_file():
            raise ConfigError(f"region-set file {_show(path)} does not exist")
        root_dir = Path(root) if root is not None else path.parent
    else:
        root_dir = _resolve_root(root)
        path = _find_set(text, root_dir)
    key = _cache_key(path, root_dir, validate_places)
    cached = _cached_set(key, path)
    if cached is not None:
        return cached
    loaded = _load_region_set(path, root_dir, validate_places)
    _remember(key, loaded)
    return loaded


REGION_CACHE_FORMAT = 1
_MEMO: dict[str, RegionSet] = {}


def _cache_key(path: Path, root_dir: Path, validate_places: bool) -> str:
    """A hash of everything a loaded set depends on: every YAML it may include (all of the root
    directory's, plus the file itself), this code's version and, when places are validated,
    the versions of the gazetteer's data packages."""
    from importlib import metadata

    from .. import __version__

    digest = hashlib.sha256(
        f"{REGION_CACHE_FORMAT}|{__version__}|{validate_places}|{path.resolve()}|"
        f"{root_dir.resolve()}".encode()
    )
    if validate_places:
        for package in ("reverse_geocode", "zipcodes", "us"):
            try:
                digest.update(f"|{package}={metadata.version(package)}".encode())
            except metadata.PackageNotFoundError:
                digest.update(f"|{package}=?".encode())
    files = {p.resolve() for p in root_dir.glob("*.y*ml")} | {path.resolve()}
    for file in sorted(files):
        digest.update(f"|{file}|".encode())
        digest.update(file.read_bytes())
    return digest.hexdigest()[:24]


def _cache_file(key: str) -> Path:
    from ..settings import Settings

    return Path(Settings().home) / "derived" / f"region-set-{key}.json"


def _cached_set(key: str, path: Path) -> RegionSet | None:
    """The set from this process's memo or from ``UNDERFOOT_HOME/derived`` (None: load it)."""
    hit = _MEMO.get(key)
    if hit is not None:
        return hit
    try:
        text = _cache_file(key).read_text(encoding="utf-8")
        found = RegionSet.model_validate_json(text).model_copy(update={"path": path})
    except (OSError, ValueError):
        return None
    _MEMO[key] = found
    return found


def _remember(key: str, loaded: RegionSet) -> None:
    from ..storage import write_atomically

    _MEMO[key] = loaded
    write_atomically(_cache_file(key), loaded.model_dump_json())


def _load_region_set(path: Path, root_dir: Path, validate_places: bool) -> RegionSet:
    """Parse, resolve and (optionally) validate one set from its files."""
    loader = _Loader(root_dir)
    entries = loader.resolve(path, ())
    parsed = loader.parse(path)
    label = _show(path)
    if not entries:
        raise ConfigError(f"{label}: region set {parsed.spec.name!r} has no queries")
    if validate_places:
        _validate_places(entries)
    spec = parsed.spec
    return RegionSet(
        name=spec.name,
        description=" ".join(spec.description.split()),
        queries=tuple(e.query for e in entries),
        region=spec.region,
        default=spec.default,
        include=spec.include,
        select=spec.select,
        path=path,
    )


def _find_set(name: str, root_dir: Path) -> Path:
    known = list_region_sets(root_dir)
    if name not in known:
        close = difflib.get_close_matches(name, known, n=3, cutoff=0.6)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise ConfigError(
            f"unknown region set {name!r} (known: {', '.join(known) or 'none'}){hint}"
        )
    return root_dir / f"{name}.yaml"


@dataclass(frozen=True, slots=True)
class _Entry:
    query: RegionQuery
    origin: str
    """ "appalachia.yaml:12 (queries[2])": where the query is defined."""


@dataclass(frozen=True, slots=True)
class _Parsed:
    path: Path
    spec: _RegionFile
    own: tuple[_Entry, ...]
    include_lines: tuple[int, ...]
    select_lines: tuple[int, ...]


def _read_yaml(path: Path) -> tuple[Any, yaml.Node | None]:
    """The document and its node tree (for line numbers); problems as ConfigError."""
    return read_yaml_nodes(path, label=_show(path))


def _node_at(node: yaml.Node | None, loc: Sequence[int | str]) -> yaml.Node | None:
    """The deepest node along ``loc`` (a pydantic error location) that exists."""
    found = node
    for part in loc:
        if isinstance(found, yaml.MappingNode):
            nxt = next(
                (v for k, v in found.value if isinstance(k, yaml.ScalarNode) and k.value == part),
                None,
            )
        elif isinstance(found, yaml.SequenceNode) and isinstance(part, int):
            nxt = found.value[part] if 0 <= part < len(found.value) else None
        else:
            nxt = None
        if nxt is None:
            break
        found = nxt
    return found


def _line(node: yaml.Node | None, loc: Sequence[int | str]) -> int | None:
    found = _node_at(node, loc)
    return found.start_mark.line + 1 if found is not None else None


def _loc_text(loc: Sequence[int | str], data: Any) -> str:
    out = ""
    cur = data
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
            item = cur[part] if isinstance(cur, list) and 0 <= part < len(cur) else None
            # Name the query by its id too: positions shift when someone edits the file.
            if isinstance(item, Mapping) and isinstance(item.get("id"), str):
                out += f" ({' '.join(item['id'].split())})"
            cur = item
        else:
            out += f".{part}" if out else str(part)
            cur = cur.get(part) if isinstance(cur, Mapping) else None
    return out


def _condense(exc: ValidationError, label: str, node: yaml.Node | None, data: Any) -> str:
    """A pydantic error as one line: ``file:line: where: what`` (first three problems)."""
    parts = []
    errors = exc.errors()
    for err in errors[:3]:
        loc = [p for p in err["loc"] if isinstance(p, int | str)]
        kind = err["type"]
        if kind == "missing":
            where, what = loc[:-1], f"missing field {loc[-1]!r}"
        elif kind == "extra_forbidden":
            where, what = loc[:-1], f"unknown field {loc[-1]!r}"
        else:
            where = loc
            what = str(err["msg"]).removeprefix("Value error, ")
        line = _line(node, where if kind != "extra_forbidden" else loc)
        prefix = f"{label}:{line}" if line else label
        place = _loc_text(where, data)
        parts.append(f"{prefix}: {place + ': ' if place else ''}{what}")
    more = f" (+{len(errors) - 3} more)" if len(errors) > 3 else ""
    return "; ".join(parts) + more


class _Loader:
    """Parses each file once and resolves includes/selects with cycle detection."""

    def __init__(self, root_dir: Path) -> None:
        self.root_dir = root_dir
        self._parsed: dict[Path, _Parsed] = {}
        self._catalog: dict[str, _Entry] | None = None

    def parse(self, path: Path) -> _Parsed:
        key = path.resolve()
        if key in self._parsed:
            return self._parsed[key]
        label = _show(path)
        data, node = _read_yaml(path)
        if data is None:
            raise ConfigError(f"{label}: the file is empty (expected name, description, queries)")
        if not isinstance(data, dict):
            raise ConfigError(
                f"{label}:1: expected a mapping with name, description and queries, "
                f"got {type(data).__name__}"
            )
        try:
            spec = _RegionFile.model_validate(data)
        except ValidationError as exc:
            raise ConfigError(_condense(exc, label, node, data)) from exc
        if spec.name != path.stem:
            line = _line(node, ["name"])
            raise ConfigError(
                f"{label}:{line}: name {spec.name!r} does not match the file name "
                f"({path.stem!r}); a set is loaded by its file name"
            )
        own: list[_Entry] = []
        seen: dict[str, str] = {}
        for i, q in enumerate(spec.queries):
            origin = f"{label}:{_line(node, ['queries', i])} (queries[{i}])"
            if q.id in seen:
                raise ConfigError(f"duplicate query id {q.id!r}: {seen[q.id]} and {origin}")
            seen[q.id] = origin
            if q.region is None and spec.region is not None:
                q = q.model_copy(update={"region": spec.region})
            own.append(_Entry(q, origin))
        if not own and not spec.include and not spec.select:
            raise ConfigError(
                f"{label}: region set {spec.name!r} is empty (no queries, include or select)"
            )
        parsed = _Parsed(
            path=path,
            spec=spec,
            own=tuple(own),
            include_lines=tuple(_line(node, ["include", i]) or 0 for i in range(len(spec.include))),
            select_lines=tuple(_line(node, ["select", i]) or 0 for i in range(len(spec.select))),
        )
        self._parsed[key] = parsed
        return parsed

    def resolve(self, path: Path, stack: tuple[str, ...]) -> list[_Entry]:
        parsed = self.parse(path)
        name = parsed.spec.name
        label = _show(path)
        entries: list[_Entry] = list(parsed.own)
        for inc, line in zip(parsed.spec.include, parsed.include_lines, strict=True):
            if inc in (*stack, name):
                chain = " -> ".join([*stack, name, inc])
                raise ConfigError(f"{label}:{line}: include cycle: {chain}")
            known = list_region_sets(self.root_dir)
            if inc not in known:
                close = difflib.get_close_matches(inc, known, n=3, cutoff=0.6)
                hint = f"; did you mean {', '.join(close)}?" if close else ""
                raise ConfigError(
                    f"{label}:{line}: unknown include {inc!r} "
                    f"(known: {', '.join(k for k in known if k != name)}){hint}"
                )
            entries.extend(self.resolve(self.root_dir / f"{inc}.yaml", (*stack, name)))
        if parsed.spec.select:
            catalog = self.catalog()
            for qid, line in zip(parsed.spec.select, parsed.select_lines, strict=True):
                entry = catalog.get(qid)
                if entry is None:
                    close = difflib.get_close_matches(qid, list(catalog), n=3, cutoff=0.75)
                    hint = f"; did you mean {', '.join(close)}?" if close else ""
                    raise ConfigError(
                        f"{label}:{line}: selected query id {qid!r} is not defined in any "
                        f"region set in {_show(self.root_dir)}{hint}"
                    )
                entries.append(entry)
        return _dedupe(entries)

    def catalog(self) -> dict[str, _Entry]:
        """Every query defined in any file of the directory, by id (for ``select``)."""
        if self._catalog is None:
            out: dict[str, _Entry] = {}
            for name in list_region_sets(self.root_dir):
                for e in self.parse(self.root_dir / f"{name}.yaml").own:
                    if e.query.id in out:
                        raise ConfigError(
                            f"duplicate query id {e.query.id!r}: {out[e.query.id].origin} "
                            f"and {e.origin}"
                        )
                    out[e.query.id] = e
            self._catalog = out
        return self._catalog


def _dedupe(entries: list[_Entry]) -> list[_Entry]:
    """Drop repeats of the same definition (a set reached twice); refuse real duplicates."""
    seen: dict[str, _Entry] = {}
    out: list[_Entry] = []
    for e in entries:
        prev = seen.get(e.query.id)
        if prev is None:
            seen[e.query.id] = e
            out.append(e)
        elif prev.origin != e.origin:
            raise ConfigError(f"duplicate query id {e.query.id!r}: {prev.origin} and {e.origin}")
    return out


def _validate_places(entries: Sequence[_Entry]) -> None:
    """Every expected town exists in the gazetteer; every ZIP query's ZIP is in that town."""
    from ..geo.gazetteer import get_gazetteer, normalize_name

    gaz = get_gazetteer()
    for e in entries:
        q, exp = e.query, e.query.expected
        where = f"{e.origin}: query {q.id!r}"
        towns = gaz.lookup(exp.place, exp.state)
        if not towns:
            suggestions = [t.label for t in gaz.suggest(exp.place, exp.state)]
            elsewhere = sorted({t.state_code for t in gaz.lookup(exp.place)})
            hint = ""
            if suggestions:
                hint += f"; did you mean {', '.join(suggestions)}?"
            if elsewhere:
                hint += f" ({exp.place!r} exists in {', '.join(elsewhere)})"
            raise ConfigError(f"{where}: unknown town {exp.label!r} (not in the gazetteer){hint}")
        if exp.county is not None:
            want = normalize_name(exp.county)
            if not any(normalize_name(t.county or "") == want for t in towns):
                counties = ", ".join(sorted({t.county or "?" for t in towns}))
                raise ConfigError(
                    f"{where}: no {exp.place!r} in {exp.county}, {exp.state} (found in {counties})"
                )
        zip_code = q.zip_code
        if zip_code is not None:
            info = gaz.zip_code(zip_code)
            if info is None:
                raise ConfigError(f"{where}: unknown ZIP code {zip_code}")
            if info.state_code != exp.state or normalize_name(info.city) != normalize_name(
                exp.place
            ):
                raise ConfigError(
                    f"{where}: ZIP {zip_code} is in {info.city}, {info.state_code}, not {exp.label}"
                )
