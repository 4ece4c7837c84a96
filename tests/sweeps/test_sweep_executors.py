"""Executors give bit-identical results: in-process, process pools (fork, spawn), threads, Dask."""

from __future__ import annotations

import concurrent.futures as cf
from collections.abc import Iterator

import numpy as np
import pytest

from underfoot_lab.errors import ConfigError
from underfoot_lab.evaluation.candidate_pools import Pool
from underfoot_lab.pipeline.score.features import SCORED_FEATURES
from underfoot_lab.pipeline.score.weights import ScoringWeights
from underfoot_lab.sweeps import evaluate as ev
from underfoot_lab.sweeps.executors import (
    DaskExecutor,
    FuturesExecutor,
    InlineExecutor,
    ProcessExecutor,
    make_executor,
    start_method,
)
from underfoot_lab.sweeps.search import SearchSpace, TrialBatch
from underfoot_lab.sweeps.spec import ParamRange


@pytest.fixture(scope="module")
def data(pool: Pool) -> ev.PoolData:
    return ev.build_pool_data(pool, ["nDCG@10", "P@5", "hiddenness@10", "geo_precision@10",
                                     "nearby_ratio"])  # fmt: skip


@pytest.fixture(scope="module")
def batch(default_weights: ScoringWeights) -> TrialBatch:
    space = SearchSpace(
        {
            **{f: ParamRange(low=-1, high=1) for f in SCORED_FEATURES},
            "half_distance_km": ParamRange(values=(5.0, 20.0)),
        },
        default_weights,
    )
    return space.batch(space.random(60, seed=5))


@pytest.fixture(scope="module")
def reference(data: ev.PoolData, batch: TrialBatch) -> ev.BatchResult:
    result: ev.BatchResult = ev.evaluate_batch(data, batch)
    return result


@pytest.fixture(scope="module")
def dask_client() -> Iterator[object]:
    from distributed import Client, LocalCluster

    cluster = LocalCluster(  # type: ignore[no-untyped-call]
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
        host="127.0.0.1",
    )  # fmt: skip
    client = Client(cluster)  # type: ignore[no-untyped-call]
    try:
        yield client
    finally:
        client.close()  # type: ignore[no-untyped-call]
        cluster.close()


def same(a: ev.BatchResult, b: ev.BatchResult) -> bool:
    return (
        np.array_equal(a.numbers, b.numbers)
        and np.array_equal(a.sums, b.sums)
        and np.array_equal(a.counts, b.counts)
    )


def test_inline_and_threads(
    data: ev.PoolData, batch: TrialBatch, reference: ev.BatchResult
) -> None:
    with InlineExecutor(data) as ex:
        assert same(ex.run(batch, 7), reference)
    with cf.ThreadPoolExecutor(2) as pool, make_executor("local", data, executor=pool) as ex:
        assert isinstance(ex, FuturesExecutor)
        assert same(ex.run(batch, 16), reference)


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_process_pool(
    data: ev.PoolData, batch: TrialBatch, reference: ev.BatchResult, method: str
) -> None:
    with ProcessExecutor(data, workers=2, method=method) as ex:
        assert ex.describe() == f"local x2 ({method})"
        assert same(ex.run(batch, 13), reference)
        assert same(ex.run(batch.take(np.arange(5)), 2), _first(reference, 5))


def _first(r: ev.BatchResult, n: int) -> ev.BatchResult:
    return ev.BatchResult(r.numbers[:n], r.sums[:n], r.counts[:n])


def test_dask_cluster(
    data: ev.PoolData, batch: TrialBatch, reference: ev.BatchResult, dask_client: object
) -> None:
    with DaskExecutor(data, client=dask_client) as ex:
        assert ex.workers == 2
        assert same(ex.run(batch, 11), reference)
    # By scheduler address, as another machine would connect.
    address = dask_client.scheduler.address  # type: ignore[attr-defined]
    assert address.startswith("tcp://127.0.0.1:")
    with make_executor("dask", data, scheduler=address) as ex:
        assert "dask x2" in ex.describe()
        assert same(ex.run(batch, 30), reference)


def test_executor_choices(data: ev.PoolData) -> None:
    assert isinstance(make_executor("local", data, workers=1), InlineExecutor)
    assert isinstance(make_executor("inline", data), InlineExecutor)
    assert start_method() in ("fork", "spawn")
    with pytest.raises(ConfigError, match="unknown executor"):
        make_executor("gpu", data)
    with pytest.raises(ConfigError, match="at least 1"):
        make_executor("local", data, workers=0)
    with pytest.raises(ConfigError, match="cannot reach the Dask scheduler"):
        DaskExecutor(data, scheduler="tcp://127.0.0.1:9", timeout="1s")
