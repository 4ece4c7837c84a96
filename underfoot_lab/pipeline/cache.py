"""The two-layer answer cache: an in-process TTL LRU (the edge KV) over a SQLite table.

This mirrors the production system the workbench serves: the edge KV answers repeat queries in
microseconds; the Supabase table (here SQLite) survives restarts and fills the edge layer on a
hit. Keys hash the normalised query plus everything that changes the answer (mode, sources,
scorer and weights, world seed), so a weight experiment never reads another's answers.

Both layers take an injectable clock (seconds, monotonic or wall) so expiry is testable.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, Literal, TypeVar

from ..storage import StoreCorrupt, connect, is_corruption, move_aside

V = TypeVar("V")
T = TypeVar("T")
Layer = Literal["memory", "sqlite"]

SCHEMA_VERSION = 1


def normalize_query(text: str) -> str:
    """Case- and whitespace-insensitive form of a query (punctuation kept: "Ely, MN" != "Ely MN"
    only in commas, so commas are dropped too)."""
    return " ".join(text.lower().replace(",", " ").split())


def cache_key(query: str, **context: object) -> str:
    """A stable key: sha256 of the normalised query and the sorted context."""
    payload = json.dumps(
        {"q": normalize_query(query), "ctx": context, "v": SCHEMA_VERSION},
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(payload.encode()).hexdigest()[:32]


class MemoryLayer(Generic[V]):
    """A thread-safe TTL LRU holding live objects (no serialisation on a hit)."""

    def __init__(self, ttl_s: float, max_items: int, clock: Callable[[], float]) -> None:
        self.ttl_s = ttl_s
        self.max_items = max_items
        self._clock = clock
        self._data: OrderedDict[str, tuple[float, V]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> V | None:
        with self._lock:
            item = self._data.get(key)
            if item is None:
                return None
            expires, value = item
            if self._clock() >= expires:
                del self._data[key]
                return None
            self._data.move_to_end(key)
            return value

    def put(self, key: str, value: V, ttl_s: float | None = None) -> None:
        with self._lock:
            self._data[key] = (self._clock() + (self.ttl_s if ttl_s is None else ttl_s), value)
            self._data.move_to_end(key)
            while len(self._data) > self.max_items:
                self._data.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()

    def __len__(self) -> int:
        return len(self._data)


class SQLiteLayer:
    """Persistent key -> JSON text with expiry, in one SQLite file (WAL, one connection/thread).

    A cache holds nothing that cannot be fetched again, so a damaged file is moved aside
    (``cache.sqlite3.corrupt-<time>``, with a one-line warning on stderr) and rebuilt instead of
    stopping every search.
    """

    def __init__(self, path: Path, ttl_s: float, clock: Callable[[], float]) -> None:
        self.path = path
        self.ttl_s = ttl_s
        self._clock = clock
        self._local = threading.local()
        self._conns: list[sqlite3.Connection] = []
        self._conns_lock = threading.Lock()
        self._healing = threading.Lock()
        self._guard(lambda: None)

    def _open(self) -> sqlite3.Connection:
        conn = connect(self.path, what="answer cache")
        with conn:
            conn.execute(
                "CREATE TABLE IF NOT EXISTS answers ("
                " key TEXT PRIMARY KEY, query TEXT NOT NULL, value TEXT NOT NULL,"
                " created_at REAL NOT NULL, expires_at REAL NOT NULL)"
            )
        return conn

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._open()
            self._local.conn = conn
            with self._conns_lock:
                self._conns.append(conn)
        return conn

    def _guard(self, op: Callable[[], T]) -> T:
        """Run ``op``; on a damaged file, move it aside, rebuild and run ``op`` once more."""
        try:
            self._conn()
            return op()
        except StoreCorrupt:
            pass
        except sqlite3.DatabaseError as exc:
            if not is_corruption(exc):
                raise
        with self._healing:
            self.close()
            if self.path.exists():
                moved = move_aside(self.path)
                print(
                    f"warning: the answer cache {self.path} was damaged; moved to {moved.name}"
                    " and rebuilt",
                    file=sys.stderr,
                )
        self._conn()
        return op()

    def get(self, key: str) -> tuple[str, float] | None:
        """(value, seconds left) or None when missing or expired."""

        def op() -> tuple[str, float] | None:
            row = (
                self._conn()
                .execute("SELECT value, expires_at FROM answers WHERE key = ?", (key,))
                .fetchone()
            )
            if row is None:
                return None
            value, expires_at = row
            left = float(expires_at) - self._clock()
            if left <= 0:
                with self._conn() as conn:
                    conn.execute("DELETE FROM answers WHERE key = ?", (key,))
                return None
            return str(value), left

        return self._guard(op)

    def put(self, key: str, query: str, value: str) -> None:
        def op() -> None:
            now = self._clock()
            with self._conn() as conn:
                conn.execute(
                    "INSERT OR REPLACE INTO answers (key, query, value, created_at, expires_at)"
                    " VALUES (?, ?, ?, ?, ?)",
                    (key, query, value, now, now + self.ttl_s),
                )

        self._guard(op)

    def clear(self) -> int:
        def op() -> int:
            with self._conn() as conn:
                return int(conn.execute("DELETE FROM answers").rowcount)

        return self._guard(op)

    def count(self) -> int:
        return self._guard(
            lambda: int(self._conn().execute("SELECT COUNT(*) FROM answers").fetchone()[0])
        )

    def close(self) -> None:
        """Close every connection this layer opened (from any thread)."""
        with self._conns_lock:
            conns, self._conns = self._conns, []
        for conn in conns:
            conn.close()
        self._local = threading.local()


@dataclass(frozen=True, slots=True)
class CacheHit(Generic[V]):
    value: V
    layer: Layer


class TwoLayerCache(Generic[V]):
    """Memory first, then SQLite; a SQLite hit fills the memory layer for its remaining TTL."""

    def __init__(
        self,
        path: Path,
        *,
        encode: Callable[[V], str],
        decode: Callable[[str], V],
        memory_ttl_s: float,
        memory_max_items: int,
        sqlite_ttl_s: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.memory: MemoryLayer[V] = MemoryLayer(memory_ttl_s, memory_max_items, clock)
        self.sqlite = SQLiteLayer(path, sqlite_ttl_s, clock)
        self._encode = encode
        self._decode = decode

    def get_memory(self, key: str) -> CacheHit[V] | None:
        """The memory layer alone: no I/O, so an event loop may call it without a thread."""
        value = self.memory.get(key)
        return CacheHit(value, "memory") if value is not None else None

    def get(self, key: str) -> CacheHit[V] | None:
        value = self.memory.get(key)
        if value is not None:
            return CacheHit(value, "memory")
        stored = self.sqlite.get(key)
        if stored is None:
            return None
        text, left = stored
        decoded = self._decode(text)
        self.memory.put(key, decoded, ttl_s=min(left, self.memory.ttl_s))
        return CacheHit(decoded, "sqlite")

    def put(
        self,
        key: str,
        query: str,
        value: V,
        *,
        persist: bool = True,
        memory_ttl_s: float | None = None,
    ) -> None:
        """Store ``value``; ``persist=False`` keeps it in memory only (for ``memory_ttl_s``).

        Degraded answers (a failed or fallback stage) are never persisted: after the upstream
        recovers, the next process must ask again rather than serve the outage for days.
        """
        self.memory.put(key, value, ttl_s=memory_ttl_s)
        if persist:
            self.sqlite.put(key, query, self._encode(value))

    def clear(self) -> None:
        self.memory.clear()
        self.sqlite.clear()
