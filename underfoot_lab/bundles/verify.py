"""``bundle verify`` and ``bundle info``: is a bundle intact, secret-free and replayable, and what
does it hold.

:func:`verify_bundle` checks the file hashes and the bundle hash against the manifest, the
region set's hash, that no file holds a credential (the configured keys, and any key-like URL
parameter or ``Authorization`` header that is not masked), and replays every collected query
(no network) expecting the ranking recorded when it was collected.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import UnderfootError
from .manifest import EXCHANGES, MANIFEST, bundle_hash, file_hashes

if TYPE_CHECKING:  # pragma: no cover
    from ..settings import Settings

__all__ = ["bundle_info", "verify_bundle"]

# A key-like URL parameter, or a bearer token / API-key header value, that is not masked.
_LEAKS = (
    re.compile(
        r"[?&](?:api_key|apiKey|key|token|access_token)=(?!\*\*\*|%2A%2A%2A)[^&\"\s]+", re.I
    ),
    re.compile(r"\"(?:authorization|api-key|x-api-key)\",\s*\"(?!\*\*\*)[^\"]+\"", re.I),
)


def _secret_problems(path: Path, settings: Settings | None) -> list[str]:
    from ..redaction import known_secrets

    secrets = [s for s in known_secrets(settings) if len(s) >= 6]
    problems: list[str] = []
    for file in sorted(p for p in path.rglob("*") if p.is_file()):
        text = file.read_text(encoding="utf-8", errors="replace")
        rel = file.relative_to(path).as_posix()
        if any(s in text for s in secrets):
            problems.append(f"{rel}: holds a configured API key")
            continue
        for pattern in _LEAKS:
            m = pattern.search(text)
            if m:
                shown = m.group(0)[:40].split("=", 1)[0]
                problems.append(f"{rel}: an unmasked credential ({shown}=...)")
                break
    return problems


def verify_bundle(
    path: Path | str,
    settings: Settings | None = None,
    *,
    replay: bool = True,
    progress: Callable[[int, int], None] | None = None,
) -> list[str]:
    """Every problem found (an empty list: the bundle is good)."""
    from .replay import open_bundle, replay_settings

    problems: list[str] = []
    try:
        bundle = open_bundle(path)
    except UnderfootError as exc:
        return [str(exc)]
    manifest = bundle.manifest
    files = file_hashes(bundle.exchanges)
    stored = manifest.get("files", {})
    for name in sorted(set(stored) | set(files)):
        if name not in files:
            problems.append(f"{EXCHANGES}/{name}: listed in {MANIFEST} but missing")
        elif name not in stored:
            problems.append(f"{EXCHANGES}/{name}: not listed in {MANIFEST}")
        elif stored[name] != files[name]:
            problems.append(f"{EXCHANGES}/{name}: sha256 differs from {MANIFEST}")
    expected = bundle_hash(str(manifest["region_set"].get("hash", "")), files)
    if manifest.get("hash") != expected:
        problems.append(f"{MANIFEST}: field 'hash' does not match the recorded exchanges")
    try:
        rs = bundle.region_set()
    except UnderfootError as exc:
        return [*problems, str(exc)]
    problems += _secret_problems(bundle.path, settings)
    if not replay:
        return problems
    from ..harness import build_harness

    queries = manifest["queries"]
    wanted = [q for q in rs.queries if queries.get(q.id, {}).get("status") == "done"]
    with build_harness(replay_settings(bundle, settings), use_cache=False) as harness:
        for i, q in enumerate(wanted, start=1):
            problems += _replay_one(harness.pipeline, q.id, q.text, queries[q.id])
            if progress is not None:
                progress(i, len(wanted))
    return problems


def _replay_one(pipe: Any, query_id: str, text: str, entry: dict[str, Any]) -> list[str]:
    from .replay import find_miss

    try:
        result = pipe.search(text)
    except UnderfootError as exc:
        return [f"query {query_id}: replay failed: {exc}"]
    exchange = find_miss([t.detail for t in result.trace] + [s.message for s in result.sources])
    if exchange is not None:
        return [f"query {query_id}: not replayable, no recorded exchange for {exchange}"]
    got = [r.id for r in result.results]
    if got != list(entry.get("result_ids", [])):
        return [f"query {query_id}: replay ranks differently from the collected run"]
    return []


def bundle_info(path: Path | str) -> dict[str, Any]:
    """Counts, judgment coverage, recorded cost and judge agreement of a bundle."""
    from .judgments import agreement_table, read_bundle_judgments
    from .replay import open_bundle

    bundle = open_bundle(path)
    m = bundle.manifest
    queries = m["queries"]
    judgments = read_bundle_judgments(bundle.path)
    judged_queries = {j.query_id for j in judgments}
    by_judge: dict[str, int] = {}
    for j in judgments:
        by_judge[j.judge] = by_judge.get(j.judge, 0) + 1
    collected = [qid for qid, q in queries.items() if q.get("status") == "done"]
    # Coverage: of the top 10 recorded per collected query, how many some judge graded.
    top = {(qid, d) for qid in collected for d in queries[qid].get("result_ids", [])[:10]}
    graded = {(j.query_id, j.doc_id) for j in judgments}
    return {
        "path": str(bundle.path),
        "name": bundle.name,
        "label": m.get("label"),
        "hash": bundle.hash,
        "status": m.get("status"),
        "region_set": m["region_set"],
        "clock": m["clock"],
        "package_version": m.get("package_version"),
        "providers": [
            f"{c['stage']}:{c['provider']}" + ("" if c["live"] else " (offline)")
            for c in m["providers"]["selection"]
        ],
        "counts": m.get("counts", {}),
        "cost": m.get("cost", {}),
        "judgments": {
            "total": len(judgments),
            "by_judge": dict(sorted(by_judge.items())),
            "queries_judged": len(judged_queries & set(queries)),
            "queries": len(queries),
            "top10_coverage": (len(top & graded) / len(top)) if top else 0.0,
        },
        "agreement": agreement_table(bundle.path),
    }
