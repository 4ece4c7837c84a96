"""Where trials run: in-process, on a local process pool, or on a Dask cluster.

Every executor takes chunks of trials (:class:`~.search.TrialBatch`) and returns their
:class:`~.evaluate.BatchResult`\\ s **in submission order**; evaluation is deterministic and
does not depend on chunking, so all of them give bit-identical results.

* :class:`InlineExecutor` -- in this process (tests, notebooks, tiny sweeps);
* :class:`ProcessExecutor` -- a :class:`concurrent.futures.ProcessPoolExecutor` (``fork``
  from a single-threaded process, else ``spawn``: :func:`start_method`); the pool arrays
  (:class:`~.evaluate.PoolData`) reach each worker **once**, through the pool's initializer,
  never per trial or per chunk;
* :class:`DaskExecutor` -- a ``dask.distributed`` cluster: ``Client(address)`` for a running
  scheduler (``tcp://host:8786``, the multi-machine path) or a ``LocalCluster`` when no address
  is given. The pool arrays are scattered to every worker once (``client.scatter(...,
  broadcast=True)``) and chunks run through ``client.get_executor()``, a
  ``concurrent.futures``-compatible executor;
* :class:`FuturesExecutor` -- any other ``concurrent.futures.Executor`` you pass in (a
  ``ThreadPoolExecutor``, say); the arrays travel with each chunk (or pass a handle your
  executor resolves, as Dask does with a scattered future).
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import os
from collections.abc import Iterator, Sequence
from typing import Any, Literal

from ..errors import ConfigError
from .evaluate import BatchResult, PoolData, evaluate_batch
from .search import TrialBatch

__all__ = [
    "DaskExecutor",
    "ExecutorKind",
    "FuturesExecutor",
    "InlineExecutor",
    "ProcessExecutor",
    "TrialExecutor",
    "default_workers",
    "make_executor",
    "start_method",
]

ExecutorKind = Literal["inline", "local", "dask"]

_WORKER_DATA: PoolData | None = None


def _init_worker(data: PoolData) -> None:
    """Process-pool initializer: keep the pool arrays for every chunk this worker runs."""
    global _WORKER_DATA
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    _WORKER_DATA = data


def _run_chunk(data: PoolData | None, batch: TrialBatch) -> BatchResult:
    """Evaluate one chunk; ``data`` None means the worker's own copy (initializer)."""
    pool = data if data is not None else _WORKER_DATA
    if pool is None:  # pragma: no cover - a worker started without its initializer
        raise RuntimeError("sweep worker has no pool data")
    result: BatchResult = evaluate_batch(pool, batch)
    return result


def default_workers() -> int:
    """The CPUs this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


class TrialExecutor:
    """Runs chunks of trials; use as a context manager (or call :meth:`close`)."""

    kind: str = "inline"
    workers: int = 1

    def map(self, batches: Sequence[TrialBatch]) -> Iterator[BatchResult]:
        """Results of ``batches``, in order (all chunks are submitted at once)."""
        raise NotImplementedError

    def run(self, batch: TrialBatch, chunk_size: int) -> BatchResult:
        """One batch split into chunks of ``chunk_size``, results concatenated in order."""
        parts = list(self.map(batch.split(chunk_size)))
        if not parts:
            return BatchResult.concat([_empty(batch)])
        return BatchResult.concat(parts)

    def describe(self) -> str:
        return f"{self.kind} x{self.workers}"

    def close(self) -> None:
        """Release workers and connections."""

    def __enter__(self) -> TrialExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _empty(batch: TrialBatch) -> BatchResult:
    import numpy as np

    return BatchResult(batch.numbers, np.zeros((0, 0, 0)), np.zeros((0, 0, 0)))


class InlineExecutor(TrialExecutor):
    """Evaluate in the calling process."""

    kind = "inline"

    def __init__(self, data: PoolData) -> None:
        self.data = data
        self.workers = 1

    def map(self, batches: Sequence[TrialBatch]) -> Iterator[BatchResult]:
        for b in batches:
            yield _run_chunk(self.data, b)


class FuturesExecutor(TrialExecutor):
    """Chunks through any :class:`concurrent.futures.Executor`.

    ``data_ref`` is passed to every task: the :class:`PoolData` itself (sent with each chunk),
    a handle the executor resolves (a Dask future), or None when the workers already hold it
    (a process pool's initializer).
    """

    kind = "futures"

    def __init__(
        self, executor: cf.Executor, data_ref: Any, *, workers: int = 1, owns: bool = False
    ) -> None:
        self.executor = executor
        self.data_ref = data_ref
        self.workers = workers
        self._owns = owns

    def map(self, batches: Sequence[TrialBatch]) -> Iterator[BatchResult]:
        futures = [self.executor.submit(_run_chunk, self.data_ref, b) for b in batches]
        try:
            for f in futures:
                yield f.result()
        finally:
            for f in futures:
                f.cancel()

    def close(self) -> None:
        if self._owns:
            self.executor.shutdown(wait=True, cancel_futures=True)


def start_method() -> str:
    """``fork`` when this process runs a single Python thread on a platform that has it
    (workers start in milliseconds and inherit the pool arrays), else ``spawn`` (safe next to
    threads: a Jupyter kernel, a Dask client; each worker imports the package, ~0.5 s)."""
    import multiprocessing
    import threading

    if "fork" in multiprocessing.get_all_start_methods() and threading.active_count() == 1:
        return "fork"
    return "spawn"


class ProcessExecutor(FuturesExecutor):
    """A local :class:`~concurrent.futures.ProcessPoolExecutor` of ``workers`` processes.

    ``method`` is the multiprocessing start method (default: :func:`start_method`).
    """

    kind = "local"

    def __init__(
        self, data: PoolData, workers: int | None = None, *, method: str | None = None
    ) -> None:
        import multiprocessing

        n = workers or default_workers()
        self.method = method or start_method()
        pool = cf.ProcessPoolExecutor(
            max_workers=n,
            mp_context=multiprocessing.get_context(self.method),
            initializer=_init_worker,
            initargs=(data,),
        )
        super().__init__(pool, None, workers=n, owns=True)

    def describe(self) -> str:
        return f"local x{self.workers} ({self.method})"


class DaskExecutor(FuturesExecutor):
    """Chunks on a Dask cluster: ``scheduler`` (``tcp://host:8786``, connecting within
    ``timeout``) or a new LocalCluster of ``workers`` single-threaded processes on loopback;
    ``client`` uses an existing Client instead (left open on close)."""

    kind = "dask"

    def __init__(
        self,
        data: PoolData,
        *,
        scheduler: str | None = None,
        workers: int | None = None,
        client: Any = None,
        timeout: str = "20s",
    ) -> None:
        from ..errors import require_extra

        require_extra("distributed", "sweeps")
        from distributed import Client, LocalCluster

        self._cluster: Any = None
        self._own_client = client is None
        if client is None:
            if scheduler:
                try:
                    client = Client(scheduler, timeout=timeout)  # type: ignore[no-untyped-call]
                except OSError as exc:
                    raise ConfigError(
                        f"cannot reach the Dask scheduler at {scheduler}: {exc}"
                    ) from None
            else:
                self._cluster = LocalCluster(  # type: ignore[no-untyped-call]
                    n_workers=workers or default_workers(),
                    threads_per_worker=1,
                    processes=True,
                    dashboard_address=None,
                    host="127.0.0.1",
                )
                client = Client(self._cluster)  # type: ignore[no-untyped-call]
        self.client = client
        info = client.scheduler_info()
        n = len(info.get("workers", {})) or (workers or 1)
        self.address = str(getattr(client.scheduler, "address", scheduler or "local"))
        # Ship the pool once to every worker; each task gets the worker's copy.
        ref = client.scatter(data, broadcast=True, hash=False)
        super().__init__(client.get_executor(pure=False), ref, workers=n, owns=False)

    def describe(self) -> str:
        return f"dask x{self.workers} ({self.address})"

    def close(self) -> None:
        with contextlib.suppress(Exception):  # the client may already be gone
            self.data_ref.release()
        if self._own_client:
            self.client.close()
        if self._cluster is not None:
            self._cluster.close()


def make_executor(
    kind: ExecutorKind | str,
    data: PoolData,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    executor: cf.Executor | None = None,
) -> TrialExecutor:
    """An executor by name (``inline``, ``local``, ``dask``), or around ``executor``."""
    if executor is not None:
        return FuturesExecutor(executor, data, workers=workers or 1)
    if workers is not None and workers < 1:
        raise ConfigError(f"--workers must be at least 1, got {workers}")
    if kind == "inline":
        return InlineExecutor(data)
    if kind == "local":
        if (workers or default_workers()) == 1:
            return InlineExecutor(data)
        return ProcessExecutor(data, workers)
    if kind == "dask":
        return DaskExecutor(data, scheduler=scheduler, workers=workers)
    raise ConfigError(f"unknown executor {kind!r}; use inline, local or dask")
