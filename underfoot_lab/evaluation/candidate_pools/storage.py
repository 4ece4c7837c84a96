"""Frozen candidate pools on disk: five parquet tables plus ``manifest.json``.

:func:`write_pool` stores a :class:`~underfoot_lab.evaluation.candidate_pools.model.Pool`,
:func:`load_pool` reads one back (verifying its hashes); the conversions between fetched rows,
Arrow tables and a pool live here too. Format: ``docs/pools-format.md``.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import shutil
import tempfile
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from ...errors import ConfigError
from ...pipeline.score.features import (
    FEATURE_NAMES,
    FeatureMatrix,
    FeatureParams,
)
from .model import (
    _CANDIDATE_FIELDS,
    FEATURE_PREFIX,
    POOL_FORMAT_VERSION,
    TABLES,
    Pool,
    PoolManifest,
    _params_dict,
    _QueryRows,
)

if TYPE_CHECKING:  # pragma: no cover
    from ...harness import WorldIdentity
    from ..regions import RegionSet

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


def _iso(dt: datetime | None) -> str | None:
    return None if dt is None else dt.isoformat()


def _to_tables(rows: Sequence[_QueryRows], now: datetime, params: FeatureParams) -> dict[str, Any]:
    import pyarrow as pa

    from ... import codec

    q_cols: dict[str, list[Any]] = {
        k: []
        for k in (
            "query_index", "query_id", "text", "region", "tags", "expected_place",
            "expected_state", "parsed", "place", "error", "entity_offset", "entity_count",
            "candidate_offset", "candidate_count", "unretrieved_offset", "unretrieved_count",
        )
    }  # fmt: skip
    c_cols: dict[str, list[Any]] = {
        k: [] for k in ("query_index", "query_id", "candidate_index", *_CANDIDATE_FIELDS)
    }
    e_cols: dict[str, list[Any]] = {
        k: []
        for k in (
            "query_index", "query_id", "entity_index", "entity_id", "name", "key", "lat", "lon",
            "distance_km", "mentions",
        )
    }  # fmt: skip
    j_cols: dict[str, list[Any]] = {
        k: [] for k in ("query_id", "entity_id", "grade", "world_entity_id", "intent", "judge")
    }
    u_cols: dict[str, list[Any]] = {
        k: []
        for k in (
            "query_index", "query_id", "doc_id", "world_entity_id", "grade", "intent", "judge",
        )
    }  # fmt: skip
    blocks: list[FloatArray] = []
    e_off = c_off = u_off = 0
    for qi, r in enumerate(rows):
        f = r.fetched
        q = f.query
        cand_index = {id(c): i for i, c in enumerate(f.candidates)}
        q_cols["query_index"].append(qi)
        q_cols["query_id"].append(q.id)
        q_cols["text"].append(q.text)
        q_cols["region"].append(q.region)
        q_cols["tags"].append(list(q.tags))
        q_cols["expected_place"].append(q.expected.place)
        q_cols["expected_state"].append(q.expected.state)
        q_cols["parsed"].append(None if f.parsed is None else codec.dumps(f.parsed))
        q_cols["place"].append(None if f.place is None else codec.dumps(f.place))
        q_cols["error"].append(f.error)
        q_cols["entity_offset"].append(e_off)
        q_cols["entity_count"].append(len(r.entities))
        q_cols["candidate_offset"].append(c_off)
        q_cols["candidate_count"].append(len(f.candidates))
        q_cols["unretrieved_offset"].append(u_off)
        q_cols["unretrieved_count"].append(len(r.unretrieved))
        for doc, (wid, grade) in r.unretrieved.items():
            u_cols["query_index"].append(qi)
            u_cols["query_id"].append(q.id)
            u_cols["doc_id"].append(doc)
            u_cols["world_entity_id"].append(wid)
            u_cols["grade"].append(grade)
            u_cols["intent"].append(r.intent)
            u_cols["judge"].append("world")
        for ci, c in enumerate(f.candidates):
            c_cols["query_index"].append(qi)
            c_cols["query_id"].append(q.id)
            c_cols["candidate_index"].append(ci)
            for name in _CANDIDATE_FIELDS:
                value = getattr(c, name)
                c_cols[name].append(_iso(value) if name in ("starts_at", "published_at") else value)
        for ei, e in enumerate(r.entities):
            e_cols["query_index"].append(qi)
            e_cols["query_id"].append(q.id)
            e_cols["entity_index"].append(ei)
            e_cols["entity_id"].append(e.id)
            e_cols["name"].append(e.name)
            e_cols["key"].append(e.key)
            e_cols["lat"].append(e.lat)
            e_cols["lon"].append(e.lon)
            e_cols["distance_km"].append(e.distance_km)
            e_cols["mentions"].append([cand_index[id(m)] for m in e.mentions])
            j_cols["query_id"].append(q.id)
            j_cols["entity_id"].append(e.id)
            j_cols["grade"].append(r.grades[ei])
            j_cols["world_entity_id"].append(r.world_ids[ei])
            j_cols["intent"].append(r.intent)
            j_cols["judge"].append("world")
        if r.features is not None:
            blocks.append(r.features.values)
        e_off += len(r.entities)
        c_off += len(f.candidates)
        u_off += len(r.unretrieved)
    feats = (
        np.concatenate(blocks, axis=0) if blocks else np.zeros((0, len(FEATURE_NAMES)))
    ).astype(np.float64)

    s, i32, i64, f64 = pa.string(), pa.int32(), pa.int64(), pa.float64()
    meta = {b"underfoot.pool.format_version": str(POOL_FORMAT_VERSION).encode()}
    queries = pa.table(
        {
            "query_index": pa.array(q_cols["query_index"], i32),
            "query_id": pa.array(q_cols["query_id"], s),
            "text": pa.array(q_cols["text"], s),
            "region": pa.array(q_cols["region"], s),
            "tags": pa.array(q_cols["tags"], pa.list_(pa.field("element", s))),
            "expected_place": pa.array(q_cols["expected_place"], s),
            "expected_state": pa.array(q_cols["expected_state"], s),
            "parsed": pa.array(q_cols["parsed"], s),
            "place": pa.array(q_cols["place"], s),
            "error": pa.array(q_cols["error"], s),
            "entity_offset": pa.array(q_cols["entity_offset"], i64),
            "entity_count": pa.array(q_cols["entity_count"], i32),
            "candidate_offset": pa.array(q_cols["candidate_offset"], i64),
            "candidate_count": pa.array(q_cols["candidate_count"], i32),
            "unretrieved_offset": pa.array(q_cols["unretrieved_offset"], i64),
            "unretrieved_count": pa.array(q_cols["unretrieved_count"], i32),
        }
    ).replace_schema_metadata(
        {
            **meta,
            b"underfoot.pool.now": now.isoformat().encode(),
            b"underfoot.pool.params": json.dumps(_params_dict(params), sort_keys=True).encode(),
        }
    )
    cand_types = {
        "rank": i64, "lat": f64, "lon": f64, "rating": f64, "reviews": i64,
        "simulated": pa.bool_(),
    }  # fmt: skip
    candidates = pa.table(
        {
            "query_index": pa.array(c_cols["query_index"], i32),
            "query_id": pa.array(c_cols["query_id"], s),
            "candidate_index": pa.array(c_cols["candidate_index"], i32),
            **{n: pa.array(c_cols[n], cand_types.get(n, s)) for n in _CANDIDATE_FIELDS},
        }
    ).replace_schema_metadata(meta)
    entity_data: dict[str, Any] = {
        "query_index": pa.array(e_cols["query_index"], i32),
        "query_id": pa.array(e_cols["query_id"], s),
        "entity_index": pa.array(e_cols["entity_index"], i32),
        "entity_id": pa.array(e_cols["entity_id"], s),
        "name": pa.array(e_cols["name"], s),
        "key": pa.array(e_cols["key"], s),
        "lat": pa.array(e_cols["lat"], f64),
        "lon": pa.array(e_cols["lon"], f64),
        "distance_km": pa.array(e_cols["distance_km"], f64),
        "mentions": pa.array(e_cols["mentions"], pa.list_(pa.field("element", i32))),
    }
    for j, name in enumerate(FEATURE_NAMES):
        entity_data[FEATURE_PREFIX + name] = pa.array(np.ascontiguousarray(feats[:, j]), f64)
    entities = pa.table(entity_data).replace_schema_metadata(meta)
    judgments = pa.table(
        {
            "query_id": pa.array(j_cols["query_id"], s),
            "entity_id": pa.array(j_cols["entity_id"], s),
            "grade": pa.array(j_cols["grade"], pa.int8()),
            "world_entity_id": pa.array(j_cols["world_entity_id"], s),
            "intent": pa.array(j_cols["intent"], s),
            "judge": pa.array(j_cols["judge"], s),
        }
    ).replace_schema_metadata(meta)
    unretrieved = pa.table(
        {
            "query_index": pa.array(u_cols["query_index"], i32),
            "query_id": pa.array(u_cols["query_id"], s),
            "doc_id": pa.array(u_cols["doc_id"], s),
            "world_entity_id": pa.array(u_cols["world_entity_id"], s),
            "grade": pa.array(u_cols["grade"], pa.int8()),
            "intent": pa.array(u_cols["intent"], s),
            "judge": pa.array(u_cols["judge"], s),
        }
    ).replace_schema_metadata(meta)
    return {
        "queries": queries,
        "entities": entities,
        "candidates": candidates,
        "judgments": judgments,
        "unretrieved": unretrieved,
    }


def _inputs_hash(tables: Mapping[str, Any]) -> str:
    """sha256 over the fetched inputs: query ids/texts, parsed queries, places, candidates."""
    h = hashlib.sha256()
    q = tables["queries"]
    for col in ("query_id", "text", "parsed", "place", "error"):
        h.update(json.dumps(q.column(col).to_pylist(), ensure_ascii=False).encode("utf-8"))
    c = tables["candidates"]
    for col in c.column_names:
        h.update(col.encode())
        h.update(json.dumps(c.column(col).to_pylist(), ensure_ascii=False).encode("utf-8"))
    return h.hexdigest()


def _pool_from_tables(tables: Mapping[str, Any], manifest: PoolManifest, path: Path | None) -> Pool:
    q = tables["queries"]
    e = tables["entities"]
    j = tables["judgments"]
    for name, t in tables.items():
        version = (t.schema.metadata or {}).get(b"underfoot.pool.format_version")
        if version is not None and int(version) != POOL_FORMAT_VERSION:
            raise ConfigError(
                f"pool table {name} has format version {int(version)}; this build reads "
                f"version {POOL_FORMAT_VERSION} (re-create the pool)"
            )
    if tuple(manifest.feature_names) != FEATURE_NAMES:
        raise ConfigError(
            "pool was built with other features than this build computes; re-create it with "
            "`underfoot-lab snapshot create --force`"
        )
    meta = q.schema.metadata or {}
    params = FeatureParams(**json.loads(meta[b"underfoot.pool.params"]))
    n_total = e.num_rows
    values = np.empty((n_total, len(FEATURE_NAMES)), dtype=np.float64)
    for k, name in enumerate(FEATURE_NAMES):
        values[:, k] = e.column(FEATURE_PREFIX + name).to_numpy()
    ids = tuple(e.column("entity_id").to_pylist())
    counts = q.column("entity_count").to_numpy().astype(np.int64)
    offsets = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    grades = j.column("grade").to_numpy().astype(np.int8)
    if j.column("entity_id").to_pylist() != list(ids):
        raise ConfigError("pool tables disagree: judgments and entities are not aligned")
    u = tables["unretrieved"]
    u_counts = q.column("unretrieved_count").to_numpy().astype(np.int64)
    u_offsets = np.zeros(len(u_counts) + 1, dtype=np.int64)
    np.cumsum(u_counts, out=u_offsets[1:])
    if int(u_offsets[-1]) != u.num_rows:
        raise ConfigError("pool tables disagree: unretrieved rows and query counts differ")
    return Pool(
        manifest=manifest,
        query_ids=tuple(q.column("query_id").to_pylist()),
        offsets=offsets,
        features=FeatureMatrix(FEATURE_NAMES, values, ids, params),
        grades=grades,
        unretrieved_offsets=u_offsets,
        unretrieved_grades=u.column("grade").to_numpy().astype(np.int8),
        unretrieved_ids=tuple(u.column("doc_id").to_pylist()),
        tables=dict(tables),
        path=path,
    )


def freeze_rows(
    rows: Sequence[_QueryRows],
    *,
    region_set: RegionSet,
    pool_key: str,
    now: datetime,
    params: FeatureParams,
    mode: str,
    sources: tuple[str, ...],
    judge: str = "world",
    world: WorldIdentity | None = None,
    world_seed: int | None = None,
    world_clock: datetime | None = None,
) -> Pool:
    """The pool of the fetched, merged, featurised and graded ``rows``, with its manifest (in
    memory; :func:`write_pool` stores it). ``judge`` names who graded (``world`` for the
    offline world's truth, a bundle's judges otherwise); ``world*`` describe a simulated pool.
    """
    from ... import __version__
    from ...provenance import git_commit, git_dirty

    tables = _to_tables(rows, now, params)
    if judge != "world":
        tables = _relabel_judge(tables, judge)
    manifest = PoolManifest(
        format_version=POOL_FORMAT_VERSION,
        region_set=region_set.name,
        region_set_hash=region_set.hash,
        pool_key=pool_key,
        inputs_hash=_inputs_hash(tables),
        world_seed=world_seed,
        world_clock=world_clock.isoformat() if world_clock is not None else None,
        now=now.isoformat(),
        mode=mode,
        sources=sources,
        feature_names=FEATURE_NAMES,
        feature_params=_params_dict(params),
        judge=judge,
        code_version=__version__,
        git_commit=git_commit(),
        git_dirty=git_dirty(),
        world=world.name if world is not None else None,
        world_hash=world.hash if world is not None else None,
        world_path=world.path if world is not None else None,
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        n_queries=tables["queries"].num_rows,
        n_entities=tables["entities"].num_rows,
        n_candidates=tables["candidates"].num_rows,
        n_unretrieved=tables["unretrieved"].num_rows,
    )
    return _pool_from_tables(tables, manifest, None)


def _relabel_judge(tables: dict[str, Any], judges: str) -> dict[str, Any]:
    """The tables with their ``judge`` columns naming ``judges`` (:func:`_to_tables` writes
    ``world``, the only judge a simulated pool has)."""
    import pyarrow as pa

    for name in ("judgments", "unretrieved"):
        t = tables[name]
        i = t.schema.get_field_index("judge")
        meta = t.schema.metadata
        t = t.set_column(i, "judge", pa.array([judges] * t.num_rows, pa.string()))
        tables[name] = t.replace_schema_metadata(meta)
    return tables


# ------------------------------------------------------------------------------ disk
def write_pool(pool: Pool, out_dir: str | Path) -> Path:
    """Write the pool's tables (parquet) and ``manifest.json`` into ``out_dir``, atomically.

    The files go into a fresh sibling folder that is renamed into place when complete, so a
    reader (or a crash) never sees half a pool; a pool already at ``out_dir`` is replaced.
    """
    import pyarrow.parquet as pq

    out = Path(out_dir)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        files: dict[str, str] = {}
        for name in TABLES:
            path = tmp / f"{name}.parquet"
            pq.write_table(pool.tables[name], path, compression="zstd")
            files[path.name] = hashlib.sha256(path.read_bytes()).hexdigest()
        manifest = PoolManifest.from_dict({**pool.manifest.to_dict(), "files": files})
        (tmp / "manifest.json").write_text(
            json.dumps(manifest.to_dict(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
        tmp.chmod(0o755)  # mkdtemp makes it private; a pool is a shareable folder
        if out.exists():
            # rename() will not replace a non-empty folder: move the old one aside first
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old.", dir=out.parent))
            out.rename(old / out.name)
            tmp.rename(out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            tmp.rename(out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)  # gone already unless something failed
    return out


def load_or_build(
    out_dir: str | Path, build: Callable[[], Pool], *, log: Callable[[str], None] = lambda _: None
) -> tuple[Pool, bool]:
    """The pool at ``out_dir``, built by ``build()`` and written there when absent; whether it
    was built now.

    Processes that want the same pool at once (three sweeps on a fresh home) take turns on a
    lock file next to it: one builds, the others then load what it wrote.
    """
    out = Path(out_dir)
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out.parent / f".{out.name}.lock", "a+b") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            if (out / "manifest.json").is_file():
                return load_pool(out), False
            log(f"building it now into {out} (once; other processes wait for it)")
            write_pool(build(), out)
            return load_pool(out), True
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def load_pool(path: str | Path, *, verify: bool = True) -> Pool:
    """Read a pool directory written by :func:`write_pool` (``verify``: check file hashes)."""
    import pyarrow.parquet as pq

    root = Path(path)
    mpath = root / "manifest.json"
    if not mpath.is_file():
        raise ConfigError(f"{root} is not a pool directory (no manifest.json)")
    try:
        data = json.loads(mpath.read_text(encoding="utf-8"))
        version = int(data["format_version"])
    except (ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"{mpath}: unreadable pool manifest ({exc})") from None
    if version != POOL_FORMAT_VERSION:
        why = (
            " (version 2 added the relevant places no source retrieved, which every pool "
            "metric now counts; version 3 the scenario world the pool was built in)"
            if version < POOL_FORMAT_VERSION
            else ""
        )
        raise ConfigError(
            f"{root}: pool format version {version}, this build reads "
            f"{POOL_FORMAT_VERSION}{why}; re-create it with `underfoot-lab snapshot create "
            f"--region-set {data.get('region_set', 'NAME')} --out {root} --force`"
        )
    try:
        manifest = PoolManifest.from_dict(data)
    except (ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"{mpath}: unreadable pool manifest ({exc})") from None
    tables = {}
    for name in TABLES:
        p = root / f"{name}.parquet"
        if not p.is_file():
            raise ConfigError(f"{root}: missing {p.name}")
        if verify and manifest.files:
            digest = hashlib.sha256(p.read_bytes()).hexdigest()
            if manifest.files.get(p.name) != digest:
                raise ConfigError(f"{p}: checksum does not match the manifest (file changed)")
        tables[name] = pq.read_table(p)
    return _pool_from_tables(tables, manifest, root)
