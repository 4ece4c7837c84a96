"""Where MLflow runs go, and setting the store up safely from several processes at once.

``MLFLOW_TRACKING_URI`` when set (the team setup: a shared server, see ``docs/tracking.md``);
otherwise a local store that works offline with nothing to configure:
``sqlite:///<settings.home, absolute>/mlflow.db`` with artifacts in
``<settings.home>/mlartifacts/<experiment>`` (``.underfoot/`` is git-ignored). A SQLite store
gets that explicit artifact location when the experiment is created (MLflow would otherwise
put artifacts in ``./mlruns`` of whatever the current directory is). MLflow's telemetry is
off unless ``MLFLOW_DISABLE_TELEMETRY`` is set otherwise.

**Several processes, one fresh store.** MLflow creates and migrates a SQLite schema on first
use; two processes doing that at once corrupt it (``duplicate column name: step``,
``_alembic_tmp_metrics already exists``). :func:`get_client` therefore sets the store up
under an exclusive lock on ``<db>.lock`` next to the database (``fcntl.flock``), once per
process and store, before anything else touches it; later writes only contend for SQLite's
own lock, which :func:`retry_locked` waits out.

``mlflow`` is imported inside the functions (it costs over a second).
"""

from __future__ import annotations

import fcntl
import logging
import os
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from ..errors import ConfigError

if TYPE_CHECKING:  # pragma: no cover
    from mlflow.tracking import MlflowClient

    from ..settings import Settings

__all__ = [
    "DEFAULT_EXPERIMENT",
    "EXPERIMENT_KIND",
    "TRACKING_URI_ENV",
    "artifact_location",
    "check_store",
    "default_tracking_uri",
    "ensure_experiment",
    "get_client",
    "retry_locked",
    "tracking_uri",
]

DEFAULT_EXPERIMENT = "underfoot-eval"
TRACKING_URI_ENV = "MLFLOW_TRACKING_URI"
EXPERIMENT_KIND = {"mlflow.experimentKind": "custom_model_development"}
"""The tag every experiment is created with (MLflow's UI groups experiments by kind)."""

T = TypeVar("T")

_ready: set[str] = set()
_ready_lock = threading.Lock()


def _settings(settings: Settings | None) -> Settings:
    if settings is not None:
        return settings
    from ..settings import Settings

    return Settings()


def _mlflow_env() -> None:
    """Environment MLflow must see before it is imported (telemetry off, quiet migrations)."""
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    # A progress bar per download is noise in notebooks and CLI output.
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    # The SQLite store logs its schema migrations at INFO on first use; not our users' concern.
    for name in ("mlflow.store.db.utils", "alembic", "alembic.runtime.migration"):
        logging.getLogger(name).setLevel(logging.WARNING)


def default_tracking_uri(settings: Settings | None = None) -> str:
    """``sqlite:///<absolute settings.home>/mlflow.db`` (the zero-configuration store)."""
    home = _settings(settings).home.expanduser().resolve()
    return f"sqlite:///{home / 'mlflow.db'}"


def tracking_uri(uri: str | None = None, settings: Settings | None = None) -> str:
    """The tracking URI to use: ``uri``, else ``$MLFLOW_TRACKING_URI``, else the local store."""
    return uri or os.environ.get(TRACKING_URI_ENV) or default_tracking_uri(settings)


def _sqlite_path(uri: str) -> Path | None:
    """The database file of a ``sqlite:///`` URI (None for other schemes or in-memory)."""
    if not uri.startswith("sqlite:"):
        return None
    path = uri.split("://", 1)[1] if "://" in uri else ""
    path = path[1:] if path.startswith("/") else path  # sqlite:///abs -> /abs, sqlite:///rel -> rel
    if not path or path == ":memory:":
        return None
    return Path(path.split("?", 1)[0])


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-.") or "experiment"


def artifact_location(uri: str, experiment: str) -> str | None:
    """Where a new experiment's artifacts go: next to a SQLite store
    (``<db dir>/mlartifacts/<experiment>``, a ``file://`` URI); None (the server's or the
    store's choice) for anything else."""
    db = _sqlite_path(uri)
    if db is None:
        return None
    return (db.expanduser().resolve().parent / "mlartifacts" / _slug(experiment)).as_uri()


@contextmanager
def _store_lock(db: Path) -> Iterator[None]:
    """An exclusive inter-process lock on ``<db>.lock`` (released when the block ends)."""
    with open(db.with_name(db.name + ".lock"), "a+b") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def get_client(uri: str | None = None, settings: Settings | None = None) -> MlflowClient:
    """An :class:`mlflow.tracking.MlflowClient` for :func:`tracking_uri`. For a SQLite store:
    creates the file's directory and, the first time in this process, creates or migrates
    the schema under the store's file lock (see the module docstring)."""
    resolved = tracking_uri(uri, settings)
    _mlflow_env()
    from mlflow.tracking import MlflowClient

    db = _sqlite_path(resolved)
    if db is None:
        return MlflowClient(tracking_uri=resolved)
    db = db.expanduser()
    with _ready_lock:
        if resolved in _ready:
            return MlflowClient(tracking_uri=resolved)
        from ..storage import ensure_home

        ensure_home(db.parent)
        with _store_lock(db):
            check_store(db)
            # The client builds the store object eagerly, which creates and migrates the
            # schema; MLflow caches that store per URI for the rest of the process.
            try:
                client = MlflowClient(tracking_uri=resolved)
            except Exception as exc:
                _raise_if_corrupt(db, exc)
                raise
        _ready.add(resolved)
    return client


_MLFLOW_STORE = "the MLflow store"


def check_store(db: Path) -> None:
    """Raise :class:`~underfoot_lab.storage.StoreCorrupt` (exit 2, file and remedy named) when
    the SQLite file ``db`` exists and is not a database (garbage, truncated).

    Read-only and cheap (the header and schema page); MLflow would otherwise fail with a raw
    SQLAlchemy error, or worse, run its migrations over the damage.
    """
    import sqlite3

    from ..storage import StoreCorrupt, is_corruption

    if not db.is_file() or db.stat().st_size == 0:
        return
    from ..storage import truncation

    cut = truncation(db)
    if cut is not None:
        raise StoreCorrupt(db, _MLFLOW_STORE, cut)
    try:
        conn = sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True, timeout=30.0)
        try:
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        if is_corruption(exc):
            raise StoreCorrupt(db, _MLFLOW_STORE, str(exc)) from None
        raise


def _raise_if_corrupt(db: Path, exc: BaseException) -> None:
    """MLflow wraps SQLite's corruption errors; name the file instead of its traceback."""
    from ..storage import StoreCorrupt

    text = str(exc).lower()
    for marker in ("file is not a database", "malformed", "disk image"):
        if marker in text:
            raise StoreCorrupt(db, _MLFLOW_STORE, marker) from None


def retry_locked(fn: Callable[[], T], attempts: int = 6) -> T:
    """``fn()``, retried with backoff while SQLite reports its database locked (parallel
    notebook kernels, sweep workers)."""
    for i in range(attempts):
        try:
            return fn()
        except Exception as exc:
            if i == attempts - 1 or "locked" not in str(exc).lower():
                raise
            time.sleep(0.2 * (2**i))
    raise AssertionError("unreachable")  # pragma: no cover


def ensure_experiment(
    name: str = DEFAULT_EXPERIMENT,
    *,
    tracking_uri: str | None = None,
    settings: Settings | None = None,
    client: MlflowClient | None = None,
) -> str:
    """The id of experiment ``name``, created (with :func:`artifact_location` and
    :data:`EXPERIMENT_KIND`) if missing."""
    uri = _uri(tracking_uri, settings)
    c = client or get_client(uri)
    exp = retry_locked(lambda: c.get_experiment_by_name(name))
    if exp is not None:
        if exp.lifecycle_stage != "active":
            raise ConfigError(
                f"MLflow experiment {name!r} is deleted; restore it or use another name"
            )
        if "mlflow.experimentKind" not in exp.tags:
            for key, value in EXPERIMENT_KIND.items():
                retry_locked(partial(c.set_experiment_tag, exp.experiment_id, key, value))
        return str(exp.experiment_id)
    try:
        return str(
            retry_locked(
                lambda: c.create_experiment(
                    name, artifact_location=artifact_location(uri, name), tags=EXPERIMENT_KIND
                )
            )
        )
    except Exception:
        # Another process created it between our lookup and the insert.
        exp = c.get_experiment_by_name(name)
        if exp is None:
            raise
        return str(exp.experiment_id)


def _uri(uri: str | None, settings: Settings | None) -> str:
    return tracking_uri(uri, settings)
