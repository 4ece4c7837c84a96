"""The one MLflow writer: runs, batched params/metrics/tags and artifacts, secrets kept out.

Evaluations (:func:`~underfoot_lab.tracking.log_evaluation`), the papermill report runner
and sweeps all write through here, so every write gets the same treatment:

* **No secret reaches MLflow.** Settings are never logged wholesale; every param and tag value,
  every key, the run name and every artifact file is checked against the secrets of the given
  settings and of the environment (:func:`underfoot_lab.redaction.known_secrets`): text has
  each secret replaced by ``***``, a key holding one becomes ``REDACTED``, a binary artifact
  containing one is not uploaded (the ``redacted_artifacts`` tag lists it).
* Keys are made MLflow-safe (:func:`safe_key`), values truncated to MLflow's limits, metrics
  that are not finite numbers dropped, and batches sized to MLflow's limits.
* Every write is retried while SQLite reports its database locked (parallel kernels or sweep
  workers sharing one local store; :func:`~underfoot_lab.tracking.store.retry_locked`).
"""

from __future__ import annotations

import math
import re
import shutil
import tempfile
import time
from collections.abc import Iterable, Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..redaction import known_secrets, redact, scrub_file
from .store import DEFAULT_EXPERIMENT, ensure_experiment, get_client, retry_locked, tracking_uri

if TYPE_CHECKING:  # pragma: no cover
    from mlflow.tracking import MlflowClient

    from ..settings import Settings

__all__ = [
    "end_run",
    "finite",
    "log_artifacts",
    "log_file",
    "log_values",
    "param_text",
    "safe_key",
    "start_run",
]

_KEY_REDACTED = "REDACTED"
_UNSAFE_KEY = re.compile(r"[^A-Za-z0-9_\-./ ]")
_MAX_PARAM = 6000
_MAX_TAG = 8000
_BATCH_PARAMS = 100
_BATCH_METRICS = 1000


def safe_key(key: str, secrets: Sequence[str] = ()) -> str:
    """A valid MLflow key: characters outside ``[A-Za-z0-9_-./ ]`` become ``_``; at most 250
    characters; a key containing a secret becomes ``REDACTED``."""
    if any(s and s in key for s in secrets):
        return _KEY_REDACTED
    return _UNSAFE_KEY.sub("_", key)[:250] or "_"


def param_text(value: Any) -> str:
    """A param or tag value as MLflow text: lists comma-joined, booleans ``true``/``false``."""
    if value is None:
        return "None"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return ",".join(str(v) for v in value)
    return str(value)


def _clean(values: Mapping[str, Any], secrets: Sequence[str], limit: int) -> dict[str, str]:
    return {safe_key(k, secrets): redact(param_text(v), secrets)[:limit] for k, v in values.items()}


def finite(value: Any) -> float | None:
    """``value`` as a finite float; None when it is not a number or not finite."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def start_run(
    experiment: str = DEFAULT_EXPERIMENT,
    *,
    run_name: str | None = None,
    tags: Mapping[str, str] | None = None,
    tracking_uri: str | None = None,
    settings: Settings | None = None,
) -> str:
    """Create a RUNNING run in ``experiment`` (created if missing); returns its id. Callers
    log into it and end it (:func:`end_run`)."""
    secrets = known_secrets(settings)
    uri = _uri(tracking_uri, settings)
    c = get_client(uri)
    exp_id = ensure_experiment(experiment, tracking_uri=uri, client=c)
    clean = _clean(tags or {}, secrets, _MAX_TAG)
    name = redact(run_name, secrets)[:250] if run_name else None
    run = retry_locked(lambda: c.create_run(exp_id, tags=clean, run_name=name))
    return str(run.info.run_id)


def end_run(
    run_id: str,
    status: str = "FINISHED",
    *,
    tracking_uri: str | None = None,
    settings: Settings | None = None,
) -> None:
    """Mark a run FINISHED (or FAILED, KILLED)."""
    c = get_client(_uri(tracking_uri, settings))
    retry_locked(lambda: c.set_terminated(run_id, status=status))


def _chunks(items: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def log_values(
    run_id: str,
    *,
    params: Mapping[str, Any] | None = None,
    metrics: Mapping[str, Any] | None = None,
    tags: Mapping[str, Any] | None = None,
    tracking_uri: str | None = None,
    settings: Settings | None = None,
    client: MlflowClient | None = None,
) -> None:
    """Log params, metrics and tags into a run in batches: keys made safe, values as text
    (lists comma-joined, booleans ``true``/``false``) scrubbed of secrets and truncated,
    metrics that are not finite numbers left out."""
    from mlflow.entities import Metric, Param, RunTag

    secrets = known_secrets(settings)
    c = client or get_client(_uri(tracking_uri, settings))
    now = int(time.time() * 1000)
    p = [Param(k, v) for k, v in _clean(params or {}, secrets, _MAX_PARAM).items()]
    t = [RunTag(k, v) for k, v in _clean(tags or {}, secrets, _MAX_TAG).items()]
    m = []
    for k, v in (metrics or {}).items():
        f = finite(v)
        if f is not None:
            m.append(Metric(safe_key(k, secrets), f, now, 0))
    for chunk in _chunks(p, _BATCH_PARAMS):
        retry_locked(partial(c.log_batch, run_id, params=list(chunk)))
    for chunk in _chunks(t, _BATCH_PARAMS):
        retry_locked(partial(c.log_batch, run_id, tags=list(chunk)))
    for chunk in _chunks(m, _BATCH_METRICS):
        retry_locked(partial(c.log_batch, run_id, metrics=list(chunk)))


def log_artifacts(
    run_id: str,
    staging: Path,
    *,
    tracking_uri: str | None = None,
    settings: Settings | None = None,
    client: MlflowClient | None = None,
) -> list[str]:
    """Scrub every file under ``staging`` in place and upload the tree as the run's
    artifacts; returns the files withheld (binary with a secret in them), which the run's
    ``redacted_artifacts`` tag then lists."""
    secrets = known_secrets(settings)
    c = client or get_client(_uri(tracking_uri, settings))
    dropped: list[str] = []
    for f in sorted(p for p in staging.rglob("*") if p.is_file()):
        if not scrub_file(f, secrets):
            dropped.append(f.relative_to(staging).as_posix())
            f.unlink()
    retry_locked(lambda: c.log_artifacts(run_id, str(staging)))
    if dropped:
        text = ",".join(dropped)[:_MAX_TAG]
        retry_locked(lambda: c.set_tag(run_id, "redacted_artifacts", text))
    return dropped


def log_file(
    run_id: str,
    path: str | Path,
    artifact_path: str | None = None,
    *,
    tracking_uri: str | None = None,
    settings: Settings | None = None,
) -> bool:
    """Log one file (scrubbed of secrets) into a run; False when it was withheld (binary with
    a secret in it)."""
    src = Path(path)
    with tempfile.TemporaryDirectory(prefix="underfoot-mlflow-") as tmp:
        target = Path(tmp) / (artifact_path or "") / src.name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, target)
        dropped = log_artifacts(run_id, Path(tmp), tracking_uri=tracking_uri, settings=settings)
    return not dropped


def _uri(uri: str | None, settings: Settings | None) -> str:
    return tracking_uri(uri, settings)
