"""The bundle format on disk: ``manifest.json``, the region set, hashes, providers and costs.

A bundle is a plain directory (``docs/bundles.md``)::

    manifest.json        what the bundle is (this module writes and reads it)
    region-set/NAME.yaml the region set, flattened (its hash is the manifest's)
    exchanges/           the recorded upstream exchanges (underfoot_lab.recording's format)
    judgments/           judgments.jsonl (with provenance) and qrels/<judge>.txt (TREC)

Nothing here knows how the recording names or keys its exchanges: the bundle hashes whatever
files ``exchanges/`` holds, and counts upstream calls itself while collecting.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

from ..errors import ConfigError

if TYPE_CHECKING:  # pragma: no cover
    from ..evaluation.regions import RegionSet
    from ..settings import Settings

__all__ = [
    "EXCHANGES",
    "FORMAT",
    "JUDGMENTS",
    "MANIFEST",
    "REGION_SET",
    "UNIT_COST_USD",
    "bundle_hash",
    "cost_estimate",
    "file_hashes",
    "provider_of",
    "provider_settings",
    "read_manifest",
    "write_manifest",
]

FORMAT = "underfoot-bundle/1"
MANIFEST = "manifest.json"
REGION_SET = "region-set"
EXCHANGES = "exchanges"
JUDGMENTS = "judgments"

UNIT_COST_USD: dict[str, float] = {
    "serpapi": 0.015,
    "geoapify": 0.0002,
    "openai": 0.0005,
    "reddit": 0.0,
    "eventbrite": 0.0,
}
"""Assumed price of one upstream call, in US dollars: SerpAPI's Developer plan (5,000 searches
for $75), Geoapify's paid geocoding tier, one small gpt-4o-mini chat completion; Reddit's public
feeds and Eventbrite's API are free. An estimate for budgeting, not an invoice."""

# The settings that shape what the upstreams are asked (never a credential).
_PROVIDER_FIELDS = (
    "mode",
    "sources",
    "live_sources",
    "openai_base_url",
    "serpapi_base_url",
    "reddit_base_url",
    "geoapify_base_url",
    "eventbrite_base_url",
    "openai_model",
    "user_agent",
    "primary_radius_km",
    "search_radius_km",
    "http_timeout_s",
    "source_deadline_s",
    "max_response_bytes",
)


def provider_settings(settings: Settings) -> dict[str, Any]:
    """The non-secret settings that decide which upstream is asked what."""
    out: dict[str, Any] = {}
    for name in _PROVIDER_FIELDS:
        if not hasattr(settings, name):
            continue
        value = getattr(settings, name)
        out[name] = list(value) if isinstance(value, tuple) else value
    return out


def provider_of(url: str) -> str:
    """Which upstream a request URL belongs to (``serpapi``, ``reddit``, ``geoapify``,
    ``openai``, ``eventbrite`` or ``other``), by its path: the test suite serves them all from
    one loopback origin, so the host alone cannot tell."""
    parts = urlsplit(url)
    path = parts.path
    if path.endswith("/chat/completions"):
        return "openai"
    if "/geocode/" in path:
        return "geoapify"
    if path.endswith(".rss"):
        return "reddit"
    if path.endswith("/search.json"):
        keys = {k for k, _ in parse_qsl(parts.query)}
        # SerpAPI names an engine; Reddit's JSON search listing has the same path without one.
        return "serpapi" if "engine" in keys else "reddit"
    if "eventbrite" in (parts.hostname or "") or path.startswith("/v3/"):
        return "eventbrite"
    return "other"


def cost_estimate(calls: Mapping[str, int]) -> dict[str, Any]:
    """Per-provider and total cost (USD, :data:`UNIT_COST_USD`) of these call counts."""
    by_provider = {p: round(n * UNIT_COST_USD.get(p, 0.0), 6) for p, n in sorted(calls.items())}
    return {
        "unit_usd": dict(UNIT_COST_USD),
        "by_provider_usd": by_provider,
        "total_usd": round(sum(by_provider.values()), 6),
    }


def file_hashes(directory: Path) -> dict[str, str]:
    """``relative path -> sha256`` of every file under ``directory`` (sorted, POSIX paths)."""
    out: dict[str, str] = {}
    if not directory.is_dir():
        return out
    for path in sorted(p for p in directory.rglob("*") if p.is_file()):
        if path.name.startswith("."):
            continue  # temporary files of an interrupted write
        out[path.relative_to(directory).as_posix()] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def bundle_hash(region_set_hash: str, exchanges: Mapping[str, str]) -> str:
    """The bundle's content hash: its region set and every recorded exchange (not the
    judgments, which grow while the recorded data stays the same)."""
    h = hashlib.sha256()
    h.update(f"{FORMAT}\n{region_set_hash}\n".encode())
    for name in sorted(exchanges):
        h.update(f"{name} {exchanges[name]}\n".encode())
    return h.hexdigest()


def read_manifest(directory: Path | str) -> dict[str, Any]:
    """A bundle's manifest (ConfigError naming the file when missing or not a bundle)."""
    path = Path(directory) / MANIFEST
    if not path.is_file():
        raise ConfigError(f"{directory}: not a bundle (no {MANIFEST})")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path}: unreadable manifest: {exc}") from exc
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        found = data.get("format") if isinstance(data, dict) else None
        raise ConfigError(f"{path}: field 'format' is {found!r}, expected {FORMAT!r}")
    return data


def write_manifest(directory: Path, manifest: Mapping[str, Any]) -> None:
    """Write ``manifest.json`` atomically (a crash leaves the previous one intact)."""
    data = dict(manifest)
    data["updated_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    tmp = directory / f".{MANIFEST}.{os.getpid()}.tmp"
    tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, directory / MANIFEST)


def write_region_set(directory: Path, rs: RegionSet) -> None:
    """The region set, flattened into ``region-set/<name>.yaml`` (so the bundle needs no data
    directory; a set file is named by its set)."""
    import yaml

    data: dict[str, Any] = {"name": rs.name, "description": rs.description}
    # Resolved queries carry their own region, so the set-level one is not needed.
    data["queries"] = [q.model_dump(mode="json", exclude_none=True) for q in rs.queries]
    (directory / REGION_SET).mkdir(parents=True, exist_ok=True)
    region_set_file(directory, rs.name).write_text(
        yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8"
    )


def region_set_file(directory: Path, name: str) -> Path:
    """Where a bundle keeps its region set."""
    return directory / REGION_SET / f"{name}.yaml"


def load_bundle_region_set(directory: Path, manifest: Mapping[str, Any]) -> RegionSet:
    """The bundle's region set, checked against the hash in its manifest."""
    from ..evaluation.regions import load_region_set

    path = region_set_file(directory, str(manifest.get("region_set", {}).get("name", "")))
    if not path.is_file():
        raise ConfigError(f"{path}: missing (the bundle's region set)")
    rs = load_region_set(path)
    want = str(manifest.get("region_set", {}).get("hash", ""))
    if rs.hash != want:
        raise ConfigError(
            f"{path}: region set hash {rs.hash[:12]} differs from the "
            f"manifest's {want[:12]} (the file was edited)"
        )
    return rs
