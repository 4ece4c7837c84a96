"""Real-data benchmarks: a region set collected live into a bundle, judged, replayed offline.

A bundle (``docs/bundles.md``) is a plain directory: a manifest, the region set, every upstream
exchange recorded with secrets removed, and judgments. :func:`collect_bundle` builds one
(``underfoot-lab collect``); :func:`prepare` turns one into what ``evaluate``, ``compare``,
``snapshot create``, ``sweep`` and ``report`` take for ``--bundle DIR`` (replay only, never a
network call); :mod:`.judgments` grades it; :func:`verify_bundle` / :func:`bundle_info` check
and describe it (``underfoot-lab bundle verify|info``).
"""

from __future__ import annotations

from .collect import CollectOutcome, collect_bundle, estimate_calls, live_selection
from .grading import bundle_pool, grade_with_llm
from .judgments import (
    add_judgments,
    agreement_table,
    import_judgments,
    read_bundle_judgments,
    remove_judgment,
)
from .manifest import FORMAT, read_manifest
from .pool import bundle_candidate_pool, freeze_bundle_pool
from .replay import Bundle, BundleRun, check_run, open_bundle, prepare, replay_settings
from .verify import bundle_info, verify_bundle

__all__ = [
    "FORMAT",
    "Bundle",
    "BundleRun",
    "CollectOutcome",
    "add_judgments",
    "agreement_table",
    "bundle_candidate_pool",
    "bundle_info",
    "bundle_pool",
    "check_run",
    "collect_bundle",
    "estimate_calls",
    "freeze_bundle_pool",
    "grade_with_llm",
    "import_judgments",
    "live_selection",
    "open_bundle",
    "prepare",
    "read_bundle_judgments",
    "read_manifest",
    "remove_judgment",
    "replay_settings",
    "verify_bundle",
]
