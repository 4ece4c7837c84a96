"""US ZIP codes from ``zipcodes`` (3.0.0: 42,789 codes with city, state, county, coordinates).

One process-wide :class:`ZipIndex`, loaded on the first ZIP lookup (:func:`get_zip_index`):

1. from the index shipped with the package (``us_zips.json.gz``, columns; used when it was
   built from the installed ``zipcodes`` version; regenerate with
   ``python -m underfoot_lab.geo.zips``): ~60 ms;
2. else from a copy under ``UNDERFOOT_HOME/derived`` keyed by ``zipcodes``' version and data;
3. else from ``zipcodes`` itself (~0.9 s of CPU: its extension makes 42k dicts), then written
   to that copy.

The first ZIP query of a fresh process used to build the index (step 3) inside the request,
holding the interpreter for most of a second: a service answering other queries at the same
time stalled with it. Rows stay columns; a :class:`ZipInfo` is made per lookup.
"""

from __future__ import annotations

import gzip
import hashlib
import importlib.util
import json
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PREBUILT = Path(__file__).with_name("us_zips.json.gz")
"""The index shipped with the package: every ZIP of ``zipcodes`` as JSON columns."""
FORMAT = 2
_COLUMNS = ("codes", "cities", "states", "counties", "lats", "lons")


@dataclass(frozen=True, slots=True)
class ZipInfo:
    """One ZIP code: its city, state (postal code), county and coordinates."""

    zip_code: str
    city: str
    state_code: str
    county: str | None
    lat: float
    lon: float


class ZipIndex:
    """ZIP code -> :class:`ZipInfo`, kept as columns (see the module docstring)."""

    def __init__(self, columns: dict[str, list[Any]]) -> None:
        """``columns``: :data:`_COLUMNS`, equally long, one row per ZIP code (the first row of
        a repeated code wins). ValueError when a column is missing or of another length."""
        try:
            self._cols = [columns[name] for name in _COLUMNS]
        except KeyError as exc:
            raise ValueError(f"ZIP index column {exc} missing") from None
        codes = self._cols[0]
        if any(len(col) != len(codes) for col in self._cols):
            raise ValueError("ZIP index columns differ in length")
        self._row: dict[str, int] = {}
        for i, code in enumerate(codes):
            self._row.setdefault(code, i)

    def get(self, code: str) -> ZipInfo | None:
        """The ZIP code's row, or None when unknown."""
        i = self._row.get(code)
        if i is None:
            return None
        code_, city, state, county, lat, lon = (col[i] for col in self._cols)
        return ZipInfo(code_, city, state, county, lat, lon)

    def __len__(self) -> int:
        return len(self._row)

    def columns(self) -> dict[str, list[Any]]:
        """The rows as columns (JSON-ready), one row per distinct code, in index order."""
        rows = sorted(self._row.values())
        pairs = zip(_COLUMNS, self._cols, strict=True)
        return {name: [col[i] for i in rows] for name, col in pairs}


def build_from_zipcodes() -> ZipIndex:
    """The index made from the installed ``zipcodes`` (rows without coordinates skipped)."""
    import zipcodes

    cols: dict[str, list[Any]] = {name: [] for name in _COLUMNS}
    for z in zipcodes.list_all():  # type: ignore[no-untyped-call]
        try:
            lat, lon = float(z["lat"]), float(z["long"])
            code, city, state = str(z["zip_code"]), str(z["city"]), str(z["state"])
        except (TypeError, ValueError, KeyError):
            continue
        for name, value in zip(
            _COLUMNS, (code, city, state, z.get("county") or None, lat, lon), strict=True
        ):
            cols[name].append(value)
    return ZipIndex(cols)


def _zipcodes_version() -> str | None:
    from importlib import metadata

    try:
        return metadata.version("zipcodes")
    except metadata.PackageNotFoundError:
        return None


def _read_prebuilt(version: str | None) -> ZipIndex | None:
    """The shipped index when it was built from ``zipcodes`` ``version``, else None."""
    try:
        payload = json.loads(gzip.decompress(PREBUILT.read_bytes()))
        if payload["format"] != FORMAT or payload["zipcodes"] != version:
            return None
        return ZipIndex(payload["columns"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def write_prebuilt(path: Path = PREBUILT) -> Path:
    """(Re)write the shipped index from the installed ``zipcodes``; run after upgrading it:
    ``python -m underfoot_lab.geo.zips``."""
    payload = {
        "format": FORMAT,
        "zipcodes": _zipcodes_version(),
        "columns": build_from_zipcodes().columns(),
    }
    text = json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
    path.write_bytes(gzip.compress(text.encode("utf-8"), mtime=0))
    return path


def home_cache_path() -> Path | None:
    """``UNDERFOOT_HOME/derived/zip-index-<key>.json``, keyed by ``zipcodes``' version and the
    bytes of its data; None when ``zipcodes`` cannot be found."""
    from ..settings import Settings

    version = _zipcodes_version()
    spec = importlib.util.find_spec("zipcodes")
    folders = list(spec.submodule_search_locations or []) if spec else []
    if version is None or not folders:
        return None
    digest = hashlib.sha256(f"{FORMAT}|{version}".encode())
    folder = Path(folders[0])
    for data in sorted(folder.glob("_zipcodes*")) + sorted(folder.glob("*.json*")):
        digest.update(data.name.encode())
        digest.update(data.read_bytes())
    return Path(Settings().home) / "derived" / f"zip-index-{digest.hexdigest()[:16]}.json"


def load() -> ZipIndex:
    """The index, from the first of the three places in the module docstring that has it."""
    from ..storage import write_atomically

    index = _read_prebuilt(_zipcodes_version())
    if index is not None:
        return index
    path = home_cache_path()
    if path is not None:
        try:
            return ZipIndex(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError, TypeError, AttributeError):
            pass  # absent or unreadable: rebuild (and rewrite) below
    index = build_from_zipcodes()
    if path is not None:
        write_atomically(path, json.dumps(index.columns(), separators=(",", ":")))
    return index


_lock = threading.Lock()
_instance: ZipIndex | None = None


def get_zip_index() -> ZipIndex:
    """The process-wide index, loaded on first call; concurrent first callers wait for one load."""
    global _instance
    if _instance is None:
        with _lock:
            if _instance is None:
                _instance = load()
    return _instance


if __name__ == "__main__":  # pragma: no cover - a maintenance command
    print(f"wrote {write_prebuilt()}")
