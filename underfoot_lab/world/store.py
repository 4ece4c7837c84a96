"""Built town universes kept on disk, so a new process need not generate them again.

Generating a town's universe (places, events, posts, pages) costs ~20 ms of CPU, and an
evaluation of the ``all`` region set touches ~135 towns: a quarter of an uncached run. A
universe is a pure function of the world's seed, clock, scenario, the world's code and the
gazetteer (:mod:`.universe`), so a copy written by an earlier process is the very object this one
would build. :class:`UniverseStore` keeps one pickle per town under
``UNDERFOOT_HOME/derived/world/<key>/``, where ``key`` hashes all of those inputs (the scenario's
hash already covers its content and every ``.py`` file of the world; the gazetteer is hashed by
its towns, the ``geo`` code by its bytes), plus this format's number and the Python version.
Any change to an input lands in a new folder; an unreadable or mismatched file is rebuilt.
Like the ZIP index's home copy this is derived data, not a search cache: ``--no-cache`` still
sends every request to the world, which still renders every response.
"""

from __future__ import annotations

import copyreg
import dataclasses
import hashlib
import io
import os
import pickle  # nosec B403 -- only our own files under the user's home, written below
import sys
import tempfile
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from ..geo.gazetteer import Gazetteer, Town
from .model import Entity, RedditPost, TownUniverse, WebPage

STORE_FORMAT = 4
"""Bump when :class:`~.model.TownUniverse` or this layout changes shape."""


@lru_cache(maxsize=4)
def _gazetteer_digest(gazetteer: Gazetteer) -> str:
    # The towns (with the fields the builder reads) and the geo code that queries them. A
    # gazetteer loaded from the pre-built index is determined by that file's bytes: its
    # fingerprint stands for the towns (hashing 17k rows cost a cold search ~20 ms).
    h = hashlib.sha256()
    if gazetteer.fingerprint is not None:
        h.update(f"prebuilt|{gazetteer.fingerprint}\n".encode())
    else:
        for t in gazetteer.towns:
            h.update(
                f"{t.key}|{t.name}|{t.state}|{t.county}|{t.lat!r}|{t.lon!r}|{t.population}\n".encode()
            )
    geo = Path(__file__).resolve().parents[1] / "geo"
    for path in sorted(geo.glob("*.py")):
        h.update(path.name.encode() + b"\0" + path.read_bytes())
    return h.hexdigest()


def _by_constructor(obj: Any) -> tuple[type, tuple[Any, ...]]:
    # Rebuilt by calling the class with every field: for frozen slotted dataclasses that is
    # several times faster to load than their generated __setstate__ (dataclasses.fields per
    # object), and there are ~20k of them in the towns of a region set.
    cls = type(obj)
    return cls, tuple(getattr(obj, f.name) for f in dataclasses.fields(cls))


def _universe(u: TownUniverse) -> tuple[type, tuple[Any, ...]]:
    # Every field, ``memo`` too: the renderers' term sets (derived from the fields by the
    # world's code, which the folder's key covers) load ten times faster than they compute.
    names = [f.name for f in dataclasses.fields(TownUniverse)]
    return TownUniverse, tuple(getattr(u, n) for n in names)


_DISPATCH = copyreg.dispatch_table.copy()
for _cls in (Entity, RedditPost, WebPage, Town):
    _DISPATCH[_cls] = _by_constructor
_DISPATCH[TownUniverse] = _universe


class UniverseStore:
    """One folder of pickled universes for one (seed, clock, scenario, gazetteer) world."""

    def __init__(
        self, root: Path, *, seed: int, clock: datetime, scenario_hash: str, gazetteer: Gazetteer
    ) -> None:
        self.root = Path(root)
        self._parts = (seed, clock, scenario_hash, gazetteer)
        self._dir: Path | None = None

    @property
    def dir(self) -> Path:
        """This world's folder (its key is computed on first use: hashing the gazetteer costs
        a few tens of ms, which a process that never builds a universe should not pay)."""
        if self._dir is None:
            seed, clock, scenario_hash, gazetteer = self._parts
            key = "|".join(
                (
                    str(STORE_FORMAT),
                    f"{sys.version_info[0]}.{sys.version_info[1]}",
                    str(seed),
                    clock.isoformat(),
                    scenario_hash,
                    _gazetteer_digest(gazetteer),
                )
            )
            self._dir = self.root / hashlib.sha256(key.encode()).hexdigest()[:16]
        return self._dir

    def _path(self, town: Town) -> Path:
        return self.dir / f"{hashlib.sha256(town.key.encode()).hexdigest()[:20]}.pickle"

    def load(self, town: Town) -> TownUniverse | None:
        """The stored universe of ``town``, or None (absent, unreadable, or another town's)."""
        try:
            data = self._path(town).read_bytes()
        except OSError:
            return None
        try:
            u = pickle.loads(data)  # nosec B301 -- our own file in the user's home, never fetched
        except Exception:  # a truncated or foreign file: rebuild it
            return None
        if not isinstance(u, TownUniverse) or u.town != town:
            return None
        return u

    def save(self, u: TownUniverse) -> None:
        """Write ``u`` in one step; a home we cannot write to just means no store."""
        buf = io.BytesIO()
        pickler = pickle.Pickler(buf, protocol=pickle.HIGHEST_PROTOCOL)
        pickler.dispatch_table = _DISPATCH
        pickler.dump(u)
        self._write(self._path(u.town), buf.getvalue())

    @staticmethod
    def _write(path: Path, data: bytes) -> None:
        tmp: str | None = None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.replace(tmp, path)
        except OSError:
            if tmp is not None and os.path.exists(tmp):
                os.unlink(tmp)
