"""Where the workbench writes, and how every SQLite store is opened.

One place for the discipline all stores share (answer cache, run store, judgments, MLflow):

* :func:`ensure_home` checks ``UNDERFOOT_HOME`` once and names the variable and the path when it
  is not a writable directory (instead of SQLite's "unable to open database file");
* :func:`connect` opens a SQLite file with WAL, a busy timeout (concurrent processes wait instead
  of failing with "database is locked") and a cheap header check, raising :class:`StoreCorrupt`
  (a :class:`~underfoot_lab.errors.ConfigError`, exit 2) that names the file and the way out;
* :func:`move_aside` renames a broken file (and its WAL/SHM side files) to
  ``<name>.corrupt-<UTC time>``: nothing is ever deleted silently.
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from .errors import ConfigError

BUSY_TIMEOUT_S = 30.0
MOVE_ASIDE_COMMAND = "underfoot-lab doctor --move-aside"
"""The command that moves every broken store aside (renamed, never deleted)."""


def default_remedy(path: Path) -> str:
    """How to get past a broken store: move it aside (nothing is deleted)."""
    return (
        f"move it aside with `{MOVE_ASIDE_COMMAND}` (or mv '{path}' '{path}.bak') "
        "and run the command again"
    )


class StoreCorrupt(ConfigError):
    """A SQLite store is not a valid database; the message names the file and the way out."""

    def __init__(self, path: Path, what: str, detail: str, remedy: str | None = None) -> None:
        remedy = remedy or default_remedy(path)
        super().__init__(f"{what} {path} is unreadable ({detail}); {remedy}")
        self.path = path


def ensure_home(home: Path) -> Path:
    """Create ``home`` if needed and check that it is a writable directory.

    Raises :class:`ConfigError` naming ``UNDERFOOT_HOME`` and the path otherwise.
    """
    path = Path(home).expanduser()
    try:
        path.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise ConfigError(f"UNDERFOOT_HOME={path} is not a directory") from None
    except OSError as exc:
        raise ConfigError(
            f"UNDERFOOT_HOME={path} cannot be created ({exc.strerror or exc})"
        ) from None
    if not path.is_dir():
        raise ConfigError(f"UNDERFOOT_HOME={path} is not a directory")
    try:
        # os.access lies for root on read-only mounts; a real write is the only honest test.
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as exc:
        raise ConfigError(
            f"UNDERFOOT_HOME={path} is not writable ({exc.strerror or exc})"
        ) from None
    return path


def is_corruption(exc: BaseException) -> bool:
    """True for the SQLite errors that mean a damaged file (not a lock or a full disk)."""
    if not isinstance(exc, sqlite3.DatabaseError) or isinstance(exc, sqlite3.OperationalError):
        return False
    text = str(exc).lower()
    return any(s in text for s in ("not a database", "malformed", "corrupt", "disk image"))


def truncation(path: Path) -> str | None:
    """Why ``path`` is shorter than its own header says (a cut copy), or None.

    SQLite only notices a truncated file when a query reaches a missing page, which may be
    mid-run or never; the header's page count (when valid: its change counter matches the
    version-valid-for number) says up front.
    """
    try:
        with open(path, "rb") as handle:
            header = handle.read(100)
        size = path.stat().st_size
    except OSError:
        return None
    if len(header) < 100 or not header.startswith(b"SQLite format 3\x00"):
        return None
    page_size = int.from_bytes(header[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    pages = int.from_bytes(header[28:32], "big")
    valid = pages > 0 and header[24:28] == header[92:96]
    if not (valid and page_size and size < pages * page_size):
        return None
    # Raw bytes are read without SQLite's lock, so a writer mid-commit could look short;
    # confirm under a shared lock before calling the file damaged.
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=5.0)
        try:
            rows = conn.execute("PRAGMA quick_check").fetchall()
        finally:
            conn.close()
    except sqlite3.DatabaseError:
        rows = []
    if rows == [("ok",)]:
        return None
    return f"truncated: {size} of {pages * page_size} bytes"


def _enable_wal(conn: sqlite3.Connection) -> None:
    """Switch to WAL once; retry while another process holds the lock.

    Changing the journal mode needs an exclusive lock and SQLite does not always call the
    busy handler for it, so two processes opening a fresh store at once can see "database is
    locked" at once; the mode persists in the file, so a store already in WAL is left alone.
    """
    deadline = time.monotonic() + BUSY_TIMEOUT_S
    delay = 0.01
    while True:
        try:
            (mode,) = conn.execute("PRAGMA journal_mode").fetchone()
            if str(mode).lower() != "wal":
                conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 0.2)


def connect(
    path: Path, *, what: str, remedy: str | None = None, check_dir: bool = True
) -> sqlite3.Connection:
    """Open ``path`` (WAL, busy timeout); :class:`StoreCorrupt` when it is not a database.

    ``check_dir=False`` skips :func:`ensure_home` on the file's directory (a store that opens a
    short connection per call checks it once, on the first).
    """
    if check_dir:
        ensure_home(path.parent)
        cut = truncation(path)
        if cut is not None:
            raise StoreCorrupt(path, what, cut, remedy)
    try:
        conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, check_same_thread=False)
    except sqlite3.OperationalError as exc:
        raise ConfigError(f"{what} {path} cannot be opened ({exc})") from None
    try:
        # Reading the schema touches the header: a garbage file fails here, not mid-run.
        conn.execute("PRAGMA schema_version").fetchone()
        conn.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_S * 1000)}")
        _enable_wal(conn)
        conn.execute("PRAGMA synchronous=NORMAL")
    except sqlite3.DatabaseError as exc:
        conn.close()
        if is_corruption(exc):
            raise StoreCorrupt(path, what, str(exc), remedy) from None
        raise
    return conn


@contextmanager
def corruption_guard(path: Path, *, what: str, remedy: str | None = None) -> Iterator[None]:
    """Turn a corruption error raised inside the block into :class:`StoreCorrupt`.

    A truncated file passes :func:`connect`'s header check and fails only when a missing page
    is read ("database disk image is malformed"), in the middle of a run.
    """
    try:
        yield
    except sqlite3.DatabaseError as exc:
        if is_corruption(exc):
            raise StoreCorrupt(path, what, str(exc), remedy) from None
        raise


def integrity(path: Path) -> str | None:
    """None when ``path`` is a sound SQLite file (or absent); else what is wrong, one line.

    Read-only (``mode=ro``) and ``PRAGMA quick_check``: safe while other processes write.
    """
    if not path.exists():
        return None
    if not path.is_file():
        return "not a file"
    cut = truncation(path)
    if cut is not None:
        return cut
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=5.0)
    except sqlite3.Error as exc:
        return f"cannot be opened ({exc})"
    try:
        rows = conn.execute("PRAGMA quick_check").fetchall()
    except sqlite3.Error as exc:
        return str(exc)
    finally:
        conn.close()
    problems = [str(r[0]) for r in rows if str(r[0]) != "ok"]
    return "; ".join(problems)[:200] if problems else None


def move_aside(path: Path) -> Path:
    """Rename a broken store (and its ``-wal``/``-shm`` files) aside; return its new path."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    target = path.with_name(f"{path.name}.corrupt-{stamp}")
    n = 1
    while target.exists():
        n += 1
        target = path.with_name(f"{path.name}.corrupt-{stamp}-{n}")
    os.replace(path, target)
    for suffix in ("-wal", "-shm"):
        side = path.with_name(path.name + suffix)
        if side.exists():
            os.replace(side, target.with_name(target.name + suffix))
    return target


def write_atomically(path: Path, text: str) -> None:
    """Write a derived-data cache file (the ZIP index's home copy, validated region sets,
    world identities) in one step; a home we cannot write to just means no cache."""
    tmp: str | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except OSError:
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)
