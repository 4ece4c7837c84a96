"""Frozen candidate pools: fetch a region set once, re-score it with any weights offline.

* :mod:`.model` -- the records: :class:`Pool` (vectorised re-scoring), :class:`PoolManifest`,
  :class:`PoolQuery`.
* :mod:`.build` -- :func:`build_pool` fetches, merges, featurises and judges a region set.
* :mod:`.storage` -- :func:`write_pool` / :func:`load_pool`: parquet tables + ``manifest.json``
  (format: ``docs/pools-format.md``).

``underfoot-lab snapshot create|info`` is the CLI over this package.
"""

from __future__ import annotations

from .build import build_pool, default_pool_dir, pool_key
from .model import POOL_FORMAT_VERSION, Pool, PoolManifest, PoolQuery
from .storage import load_or_build, load_pool, write_pool

__all__ = [
    "POOL_FORMAT_VERSION",
    "Pool",
    "PoolManifest",
    "PoolQuery",
    "build_pool",
    "default_pool_dir",
    "load_or_build",
    "load_pool",
    "pool_key",
    "write_pool",
]
