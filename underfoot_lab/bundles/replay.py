"""Using a bundle offline: replay-only settings, its judgments, and the checks around a run.

:func:`prepare` is the one call the commands make for ``--bundle DIR``: it opens the bundle,
imports its judgments into the judgment store (so ``--judges human:*`` etc. see them), and
returns a :class:`BundleRun` carrying

* ``settings``: the caller's settings with the bundle's provider setup (mode, sources, base
  URLs, model), placeholder keys for exactly the providers that were live when it was collected
  (recordings are matched with keys masked, so no real key is needed or sent), the recording as
  ``replay_dir`` (no network: a request it does not hold fails) and a cache of its own;
* ``region_set``: the bundle's copy of the region set;
* ``judges``: the judges to score with (the bundle's own when the caller left ``world``);
* ``tags``: MLflow tags naming the bundle (``bundle``, ``bundle_hash``, ``simulated=false``).

After a run, :func:`check_run` turns a replay miss, which the pipeline would otherwise absorb as
a failed source, into an error naming the query and the missing exchange.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError
from .manifest import EXCHANGES, load_bundle_region_set, read_manifest, region_set_file

if TYPE_CHECKING:  # pragma: no cover
    from ..evaluation.regions import RegionSet
    from ..settings import Settings

__all__ = [
    "PLACEHOLDER_KEY",
    "Bundle",
    "BundleRun",
    "check_run",
    "find_miss",
    "miss_error",
    "open_bundle",
    "prepare",
    "replay_settings",
]

PLACEHOLDER_KEY = "bundle-replay"
"""The key a replay presents: recordings hold keys masked, so any value matches."""

_KEY_FIELD = {
    "serpapi_web": "serpapi_api_key",
    "serpapi_local": "serpapi_api_key",
    "serpapi_events": "serpapi_api_key",
    "geoapify": "geoapify_api_key",
    "openai": "openai_api_key",
    "eventbrite": "eventbrite_token",
}
_MISS = "replay: no recorded exchange for "


@dataclass(frozen=True)
class Bundle:
    """An opened bundle directory."""

    path: Path
    manifest: dict[str, Any] = field(repr=False)

    @property
    def name(self) -> str:
        return str(self.manifest.get("name") or self.path.resolve().name)

    @property
    def hash(self) -> str:
        return str(self.manifest.get("hash", ""))

    @property
    def exchanges(self) -> Path:
        return self.path / EXCHANGES

    @property
    def region_set_path(self) -> Path:
        return region_set_file(self.path, str(self.manifest["region_set"].get("name", "")))

    def region_set(self) -> RegionSet:
        """The bundle's region set (checked against the manifest's hash)."""
        return load_bundle_region_set(self.path, self.manifest)

    def tags(self) -> dict[str, str]:
        """MLflow tags for a run on this bundle."""
        tags = {"bundle": self.name, "bundle_hash": self.hash, "simulated": "false"}
        if self.manifest.get("label"):
            tags["bundle_label"] = str(self.manifest["label"])
        return tags


def open_bundle(path: Path | str) -> Bundle:
    """Open a bundle (ConfigError naming the file when it is not one)."""
    directory = Path(path)
    manifest = read_manifest(directory)
    for name in ("region_set", "providers", "queries", "clock"):
        if name not in manifest:
            raise ConfigError(f"{directory / 'manifest.json'}: missing field {name!r}")
    if not (directory / EXCHANGES).is_dir():
        raise ConfigError(f"{directory}: no {EXCHANGES}/ directory (nothing was recorded)")
    return Bundle(directory, manifest)


def replay_settings(bundle: Bundle, settings: Settings | None = None) -> Settings:
    """``settings`` turned into a replay of ``bundle`` (see the module docstring)."""
    from pydantic import SecretStr

    from ..pipeline.providers import select_providers
    from ..settings import Settings

    base = settings or Settings()
    stored: Mapping[str, Any] = bundle.manifest["providers"]["settings"]
    selection: list[Mapping[str, Any]] = bundle.manifest["providers"]["selection"]
    update: dict[str, Any] = {
        k: tuple(v) if isinstance(v, list) else v
        for k, v in stored.items()
        if k in Settings.model_fields
    }
    keys: dict[str, SecretStr | None] = {f: None for f in set(_KEY_FIELD.values())}
    for choice in selection:
        key_field = _KEY_FIELD.get(str(choice["provider"]))
        if choice.get("live") and key_field is not None:
            keys[key_field] = SecretStr(PLACEHOLDER_KEY)
    update.update(keys)
    update["replay_dir"] = bundle.exchanges
    update["record_dir"] = None
    update["cache_enabled"] = False
    # A bundle's answers are its own: never mixed with another bundle's or a live cache.
    update["cache_path"] = Path(base.home) / "bundles" / bundle.hash[:16] / "cache.sqlite3"
    out = base.model_copy(update=update)
    got = [
        {"stage": c.stage, "provider": c.provider, "live": c.live}
        for c in select_providers(out).all()
    ]
    if got != [dict(c) for c in selection]:
        raise ConfigError(
            f"{bundle.path / 'manifest.json'}: field 'providers.selection' cannot be reproduced "
            "by this version of underfoot-lab (a provider was renamed or removed)"
        )
    return out


@dataclass(frozen=True)
class BundleRun:
    """What a command needs to run on a bundle (:func:`prepare`)."""

    bundle: Bundle
    settings: Settings
    region_set: Path
    judges: str
    tags: dict[str, str]


def prepare(path: Path | str, settings: Settings | None = None, judges: str = "world") -> BundleRun:
    """Open a bundle for a command: replay settings, its judgments imported, the judges to use.

    ``judges="world"`` (the commands' default) means the bundle's own judges (merged by
    majority when several): the offline world's truth says nothing about real places.
    """
    from ..evaluation.judging.judgments import JudgmentStore
    from .judgments import bundle_judges, read_bundle_judgments

    bundle = open_bundle(path)
    bundle.region_set()  # checks the copy against the manifest's hash
    replay = replay_settings(bundle, settings)
    judgments = read_bundle_judgments(bundle.path)
    if judgments:
        JudgmentStore(settings=replay).add(judgments)
    if judges == "world":
        names = bundle_judges(bundle.path)
        if names:
            judges = ",".join(names)
        else:
            print(
                f"note: bundle {bundle.name} has no judgments yet; IR metrics need them "
                f"(underfoot-lab bundle import {bundle.path} FILE)",
                file=sys.stderr,
            )
    return BundleRun(bundle, replay, bundle.region_set_path, judges, bundle.tags())


def check_run(run: BundleRun, run_id: str) -> None:
    """ConfigError when a query of run ``run_id`` asked for an exchange the bundle lacks."""
    from ..evaluation.runner import RunStore

    rows = RunStore(settings=run.settings).rows(run_id)
    templated = 0
    for query_id in sorted(rows):
        row = rows[query_id]
        texts: list[str] = [row.error or ""]
        result = row.result()
        if result is not None:
            # The respond stage writes the answer from the final ranking: other weights than
            # the collected ones ask an LLM responder a prompt the bundle never saw. The
            # ranking is whole; that answer falls back to the template (the trace says so).
            answer = [t.detail for t in result.trace if t.stage == "respond"]
            templated += find_miss(answer) is not None
            texts += [t.detail or "" for t in result.trace if t.stage != "respond"]
            texts += [s.message or "" for s in result.sources]
        exchange = find_miss(texts)
        if exchange is not None:
            raise miss_error(run.bundle, query_id, exchange)
    if templated:
        print(
            f"note: run {run_id}: {templated} of {len(rows)} queries answered by the template "
            "responder (the bundle recorded the LLM's answers to the collected rankings only); "
            "rankings and IR metrics are unaffected, answer metrics compare unlike answers",
            file=sys.stderr,
        )


def find_miss(texts: Iterable[str | None]) -> str | None:
    """The exchange a replay lacked, from a search's trace details and source messages (the
    pipeline absorbs a miss as a failed source or a fallback, saying so there); None: none."""
    for text in texts:
        if text and _MISS in text:
            return text.split(_MISS, 1)[1].split(" in ", 1)[0]
    return None


def miss_error(bundle: Bundle, query_id: str, exchange: str) -> ConfigError:
    """The one-line error for a query that needs an exchange the bundle did not record."""
    return ConfigError(
        f"bundle {bundle.name}: query {query_id} needs an exchange the bundle did not record "
        f"({exchange}); collect it with underfoot-lab collect --resume"
    )
