"""Frozen candidate pools: build, write/read bit-identically, re-score like the pipeline."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute
import pyarrow.parquet as pq
import pytest

from underfoot_lab.errors import ConfigError
from underfoot_lab.evaluation.candidate_pools import (
    POOL_FORMAT_VERSION,
    Pool,
    build_pool,
    load_or_build,
    load_pool,
    write_pool,
)
from underfoot_lab.evaluation.candidate_pools.model import TABLES
from underfoot_lab.evaluation.metrics import kernel
from underfoot_lab.harness import build_harness
from underfoot_lab.pipeline.score.features import FEATURE_NAMES, FeatureParams, build_features
from underfoot_lab.pipeline.score.merge import merge_candidates
from underfoot_lab.pipeline.score.weights import ScoringWeights
from underfoot_lab.settings import Settings

ROOT = Path(__file__).resolve().parents[3]
WEIGHTS = ROOT / "experiments" / "weights"

TINY = """\
name: tiny
description: a few towns for the pool tests
region: test
queries:
  - id: t-pikeville-01
    text: "hidden gems in Pikeville KY"
    expected: {place: "Pikeville", state: KY}
    tags: [general, in-town]
  - id: t-marfa-01
    text: "dive bars in Marfa TX"
    expected: {place: "Marfa", state: TX}
    tags: [nightlife, in-town]
  - id: t-ely-01
    text: "secret swimming holes around Ely, MN"
    expected: {place: "Ely", state: MN}
    tags: [outdoors, near]
  - id: t-hazard-01
    text: "what's happening in Hazard KY this weekend"
    expected: {place: "Hazard", state: KY}
    tags: [events, question]
  - id: t-nowhere-01
    text: "hidden gems"
    expected: {place: "Pikeville", state: KY}
    tags: [general]
"""


def same_table(a: pa.Table, b: pa.Table) -> bool:
    """Equal schemas (with metadata) and columns; float columns compared bit for bit (NaN)."""
    if not a.schema.equals(b.schema, check_metadata=True):
        return False
    for col in a.column_names:
        x, y = a.column(col), b.column(col)
        if pa.types.is_floating(x.type):
            xs = x.to_numpy(zero_copy_only=False)
            ys = y.to_numpy(zero_copy_only=False)
            if xs.tobytes() != ys.tobytes() or x.null_count != y.null_count:
                return False
            if not pa.compute.equal(x.is_null(), y.is_null()).to_numpy().all():
                return False
        elif not x.equals(y):
            return False
    return True


def settings(home: Path, **kw: object) -> Settings:
    return Settings(_env_file=None, home=home, **kw)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def region_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("regions")
    p = d / "tiny.yaml"
    p.write_text(TINY)
    return p


@pytest.fixture(scope="module")
def pool(region_file: Path, tmp_path_factory: pytest.TempPathFactory) -> Pool:
    home = tmp_path_factory.mktemp("home")
    return build_pool(region_file, settings=settings(home), concurrency=3)


@pytest.fixture(scope="module")
def written(pool: Pool, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_pool(pool, tmp_path_factory.mktemp("pool") / "tiny")


def test_pool_contents(pool: Pool) -> None:
    m = pool.manifest
    assert m.format_version == POOL_FORMAT_VERSION
    assert (m.region_set, m.n_queries, m.judge) == ("tiny", 5, "world")
    assert m.world_seed == Settings(_env_file=None).world_seed
    assert m.feature_names == FEATURE_NAMES
    assert len(m.pool_key) == len(m.inputs_hash) == len(m.region_set_hash) == 64
    assert pool.query_ids[0] == "t-pikeville-01" and len(pool) == 5
    assert pool.features.values.shape == (m.n_entities, len(FEATURE_NAMES))
    assert pool.offsets[0] == 0 and pool.offsets[-1] == m.n_entities
    assert pool.grades.dtype == np.int8 and set(np.unique(pool.grades)) <= {0, 1, 2, 3}
    assert (pool.grades == 3).any() and (pool.grades == 0).any()
    failed = pool.query("t-nowhere-01")
    assert failed.error and "LocationNotFound" in failed.error
    assert failed.entities == () and failed.parsed is None
    q = pool.query("t-pikeville-01")
    assert q.parsed is not None and q.place is not None and q.place.name == "Pikeville"
    assert len(q.candidates) > len(q.entities) > 10
    # entity mentions point into the query's own candidates
    assert all(m in q.candidates for e in q.entities for m in e.mentions)
    # every entity is judged, and so is every relevant place of the town no entity resolves to
    assert set(q.judgments) == {e.id for e in q.entities} | {d for d, _ in q.unretrieved}
    assert q.judgments == pool.qrels()[q.id]
    world_ids = pool.tables["judgments"].column("world_entity_id").to_pylist()
    assert sum(w is not None for w in world_ids) > 0.5 * len(world_ids)
    assert m.n_unretrieved == len(pool.unretrieved_ids) == pool.unretrieved_offsets[-1] > 0
    assert failed.unretrieved == ()  # no parsed intent, no judgments (as in a run)
    assert len(q.unretrieved) > 0 and all(d.startswith("world:") for d, _ in q.unretrieved)
    assert {g for _, g in q.unretrieved} <= {1, 2, 3}
    u = pool.tables["unretrieved"].to_pydict()
    retrieved = {(qid, w) for qid, w in zip(pool.tables["judgments"].column("query_id")
                 .to_pylist(), world_ids, strict=True)}  # fmt: skip
    for qid, doc, wid in zip(u["query_id"], u["doc_id"], u["world_entity_id"], strict=True):
        assert doc == f"world:{wid}" and (qid, wid) not in retrieved
    assert set(u["judge"]) == {"world"}


def test_stored_features_and_entities_are_what_the_pipeline_computes(pool: Pool) -> None:
    q = pool.query(1)
    assert q.parsed is not None and q.place is not None
    ents = merge_candidates(q.candidates, q.place)
    assert tuple(ents) == q.entities
    fm = build_features(q.parsed, q.place, ents, now=pool.now, params=FeatureParams())
    assert fm.values.tobytes() == q.features.values.tobytes()


def test_write_read_round_trip_is_bit_identical(pool: Pool, written: Path, tmp_path: Path) -> None:
    assert sorted(p.name for p in written.iterdir()) == sorted(
        [f"{t}.parquet" for t in TABLES] + ["manifest.json"]
    )
    back = load_pool(written)
    assert back.path == written
    assert back.features.values.tobytes() == pool.features.values.tobytes()
    assert back.features.entity_ids == pool.features.entity_ids
    assert back.features.params == pool.features.params
    assert back.offsets.tobytes() == pool.offsets.tobytes()
    assert back.grades.tobytes() == pool.grades.tobytes()
    assert back.unretrieved_offsets.tobytes() == pool.unretrieved_offsets.tobytes()
    assert back.unretrieved_grades.tobytes() == pool.unretrieved_grades.tobytes()
    assert back.unretrieved_ids == pool.unretrieved_ids
    assert back.qrels() == pool.qrels()
    assert back.query_ids == pool.query_ids
    for name in TABLES:
        assert same_table(back.tables[name], pool.tables[name]), name
    assert list(back) == list(pool)  # every record: parsed, place, candidates, entities
    m = {**pool.manifest.to_dict(), "files": {}}
    assert {**back.manifest.to_dict(), "files": {}} == m
    # writing what was read gives the same bytes again
    again = write_pool(back, tmp_path / "again")
    for name in TABLES:
        assert (again / f"{name}.parquet").read_bytes() == (
            written / f"{name}.parquet"
        ).read_bytes()
    features = pq.read_table(written / "entities.parquet").column("f_text_bm25")
    assert features.type == "double"


@pytest.mark.parametrize("weights_file", ["baseline-seed.yaml", "tuned-default-world.yaml"])
def test_rescoring_equals_the_pipeline(pool: Pool, weights_file: str, tmp_path: Path) -> None:
    path = WEIGHTS / weights_file
    w = ScoringWeights.from_yaml(path)
    rescored = pool.rescore(w)
    assert list(rescored) == list(pool.query_ids)
    with build_harness(settings(tmp_path, weights=path), use_cache=False) as harness:
        pipe = harness.pipeline
        for q in pool:
            if q.error:
                assert rescored[q.id] == []
                continue
            live = pipe.search(q.text)
            assert [(r.id, r.score, r.category) for r in rescored[q.id]] == [
                (r.id, r.score, r.category) for r in live.results
            ]
            assert rescored[q.id] == list(live.results)


def test_vectorised_scores_rank_and_ndcg(pool: Pool) -> None:
    ws = [
        ScoringWeights.from_yaml(WEIGHTS / f)
        for f in ("tuned-default-world.yaml", "baseline-seed.yaml")
    ]
    default = ws[0]
    exact = pool.scores(default, exact=True)
    fast = pool.scores(default)
    assert exact.shape == (1, len(pool.features))
    np.testing.assert_allclose(fast, exact, rtol=0, atol=1e-12)
    rescored = pool.rescore(default)
    order = pool.rank(exact)[0]
    for qi, qid in enumerate(pool.query_ids):
        rows = order[pool.offsets[qi] : pool.offsets[qi + 1]]
        assert [pool.entity_ids[r] for r in rows] == [r.id for r in rescored[qid]]
    # nDCG@10 equals the metrics module on the same run, per query and in the mean
    seed = ws[1]
    seed_scores = pool.scores(seed, exact=True)[0]
    both = np.stack([exact[0], seed_scores])
    per_query = pool.ndcg_per_query(both)
    for i, s in enumerate(both):
        res = kernel.evaluate(pool.qrels(), pool.run(s), ["nDCG@10"])
        assert res.queries == len(pool)  # the failed query counts 0 in both
        for qi, qid in enumerate(pool.query_ids):
            assert per_query[i, qi] == res.per_query[qid]["nDCG@10"]  # exactly
        assert pool.ndcg(s)[0] == pytest.approx(res.mean["nDCG@10"], abs=1e-12)
    means = pool.ndcg(both)
    assert means.shape == (2,) and means[0] > means[1]  # default beats the seed here too
    # primary split for the exact scores
    prim = pool.primary(default, exact[0])
    cats = {(q, r.id): r.category == "primary" for q, rs in rescored.items() for r in rs}
    for qi, qid in enumerate(pool.query_ids):
        for r in range(pool.offsets[qi], pool.offsets[qi + 1]):
            assert bool(prim[r]) == cats[(qid, pool.entity_ids[r])]


@pytest.mark.parametrize("k", [1, 3, 5, 10, 20, 100])
def test_pool_metrics_count_unretrieved_relevant_places(pool: Pool, k: int) -> None:
    """The ideal ranking and the recall denominators include the relevant places no source
    retrieved, exactly as kernel.evaluate on the pool's qrels does."""
    s = pool.scores(ScoringWeights.from_yaml(WEIGHTS / "tuned-default-world.yaml"), exact=True)[0]
    qrels, run = pool.qrels(), pool.run(s)
    res = kernel.evaluate(qrels, run, [f"nDCG@{k}", "R@100", "AP"])
    per_query = pool.ndcg_per_query(s, k)[0]
    retrieved_only = {
        q: {d: g for d, g in docs.items() if d in run[q]} for q, docs in qrels.items()
    }
    old = kernel.evaluate(retrieved_only, run, [f"nDCG@{k}", "R@100"])
    below_one = 0
    for qi, qid in enumerate(pool.query_ids):
        got = res.per_query[qid]
        assert per_query[qi] == got[f"nDCG@{k}"]
        assert per_query[qi] <= old.per_query[qid][f"nDCG@{k}"]
        q = pool.query(qi)
        relevant_retrieved = sum(1 for g in q.grades if g > 0)
        relevant_total = relevant_retrieved + len(q.unretrieved)
        assert len(run[qid]) <= 100
        want = relevant_retrieved / relevant_total if relevant_total else 0.0
        assert got["R@100"] == want
        below_one += want < 1.0 and q.error is None
        # retrieved-only judging: recall was 1 for every query with a relevant result
        assert old.per_query[qid]["R@100"] == (1.0 if relevant_retrieved else 0.0)
    assert below_one >= 1  # "hidden gems in Pikeville": places no source mentions


def test_scores_with_other_parameters_recompute_features(pool: Pool) -> None:
    w = ScoringWeights(name="near", weights={"distance_decay": 1.0}, half_distance_km=3.0)
    s = pool.scores(w, exact=True)[0]
    d = pool.features.column("distance_km")
    known = ~np.isnan(d)
    np.testing.assert_allclose(s[known], 0.5 ** (d[known] / 3.0))


def test_tampered_and_foreign_pools_are_refused(written: Path, tmp_path: Path) -> None:
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(written, copy)
    with (copy / "judgments.parquet").open("ab") as fh:
        fh.write(b"x")
    with pytest.raises(ConfigError, match="checksum"):
        load_pool(copy)
    manifest = json.loads((written / "manifest.json").read_text())
    manifest["format_version"] = 99
    other = tmp_path / "other"
    shutil.copytree(written, other)
    (other / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ConfigError, match="format version 99"):
        load_pool(other)
    manifest["format_version"] = 1  # a pool written before the unretrieved table existed
    del manifest["n_unretrieved"]
    (other / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ConfigError, match=r"format version 1, .*relevant places.*--force"):
        load_pool(other)
    manifest["format_version"] = POOL_FORMAT_VERSION
    manifest["n_unretrieved"] = 0
    manifest["feature_names"] = manifest["feature_names"][:-1]
    manifest["files"] = {}
    (other / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ConfigError, match="other features"):
        load_pool(other)
    with pytest.raises(ConfigError, match="no manifest"):
        load_pool(tmp_path)


@pytest.mark.slow
def test_snapshot_cli(region_file: Path, tmp_path: Path) -> None:
    env = {**os.environ, "UNDERFOOT_HOME": str(tmp_path / "home")}

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "underfoot_lab.cli", "snapshot", *args],
            capture_output=True, text=True, env=env, cwd=ROOT, timeout=300, check=False,
        )  # fmt: skip

    out = cli("create", "--region-set", str(region_file), "--json")
    assert out.returncode == 0, out.stderr
    info = json.loads(out.stdout)
    path = Path(info["path"])
    assert path.parent == tmp_path / "home" / "pools"
    assert path.name == f"tiny-{info['pool_key'][:12]}"
    assert info["n_queries"] == 5 and info["format_version"] == POOL_FORMAT_VERSION
    assert (path / "manifest.json").is_file()
    shown = cli("info", str(path))
    assert shown.returncode == 0 and "grades 0/1/2/3" in shown.stdout
    assert "unretrieved relevant" in shown.stdout
    assert "simulated" in shown.stdout
    again = cli("create", "--region-set", str(region_file))
    assert again.returncode == 0 and "already exists" in again.stderr
    bad = cli("info", str(tmp_path))
    assert bad.returncode != 0 and "no manifest" in bad.stderr and "Traceback" not in bad.stderr


# ------------------------------------------------------------------------------ concurrency
def test_write_is_atomic_and_replaces(pool: Pool, tmp_path: Path) -> None:
    out = tmp_path / "pools" / "p"
    write_pool(pool, out)
    first = (out / "manifest.json").read_text()
    write_pool(pool, out)  # over an existing pool: replaced whole
    assert same_table(load_pool(out).tables["candidates"], pool.tables["candidates"])
    assert json.loads((out / "manifest.json").read_text())["files"] == json.loads(first)["files"]
    # nothing half-written or set aside is left next to it
    assert sorted(p.name for p in out.parent.iterdir()) == ["p"]


def test_processes_wanting_one_pool_build_it_once(pool: Pool, tmp_path: Path) -> None:
    """Three callers at once (threads here; each opens its own lock, as processes do): one
    builds, the others wait and load what it wrote."""
    import threading
    import time
    from concurrent.futures import ThreadPoolExecutor

    out = tmp_path / "pools" / "shared"
    builds: list[int] = []
    lock = threading.Lock()

    def build() -> Pool:
        with lock:
            builds.append(threading.get_ident())
        time.sleep(0.3)  # long enough for the others to arrive while it builds
        return pool

    with ThreadPoolExecutor(3) as ex:
        results = list(ex.map(lambda _: load_or_build(out, build), range(3)))
    assert len(builds) == 1
    assert sorted(built for _, built in results) == [False, False, True]
    for loaded, _ in results:
        assert same_table(loaded.tables["candidates"], pool.tables["candidates"])
