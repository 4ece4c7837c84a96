"""A bundle's judgments: plain files, with provenance, written by people and the LLM judge.

``judgments/judgments.jsonl`` holds every judgment (query, doc, grade, judge, time, note: the
provenance), the latest per (query, doc, judge); ``judgments/qrels/<judge>.txt`` is each judge's
TREC qrels, regenerated from it on every write. :func:`add_judgments` is the one writer (the
judge panel, ``bundle import`` and ``bundle judge`` use it); :func:`remove_judgment` takes one
back (the judge panel's undo).

:mod:`.grading` builds the bundle's judging pool by replay and grades it with the LLM judge;
:func:`agreement_table` measures each pair of judges (weighted kappa, Krippendorff's alpha).
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError
from .manifest import JUDGMENTS

if TYPE_CHECKING:  # pragma: no cover
    from ..evaluation.judging.judgments import Judgment

__all__ = [
    "JSONL",
    "add_judgments",
    "agreement_table",
    "bundle_judges",
    "import_judgments",
    "read_bundle_judgments",
    "remove_judgment",
]

JSONL = "judgments.jsonl"
_SAFE = re.compile(r"[^A-Za-z0-9._@-]+")


def _jsonl(bundle: Path) -> Path:
    return Path(bundle) / JUDGMENTS / JSONL


def read_bundle_judgments(bundle: Path | str) -> list[Judgment]:
    """Every judgment stored in the bundle (none yet: an empty list)."""
    from ..evaluation.judging.judgments import read_jsonl

    path = _jsonl(Path(bundle))
    return read_jsonl(path) if path.is_file() else []


def bundle_judges(bundle: Path | str) -> list[str]:
    """The judges with judgments in the bundle, sorted."""
    return sorted({j.judge for j in read_bundle_judgments(bundle)})


def add_judgments(bundle: Path | str, judgments: Iterable[Judgment]) -> int:
    """Merge judgments into the bundle (latest per query, doc and judge); returns how many were
    new or newer. Rewrites the JSONL atomically and every judge's qrels file."""
    directory = Path(bundle) / JUDGMENTS
    latest = {j.key: j for j in read_bundle_judgments(bundle)}
    written = 0
    for j in judgments:
        old = latest.get(j.key)
        if old is None or j.created_at >= old.created_at:
            latest[j.key] = j
            written += 1
    _write(directory, [latest[k] for k in sorted(latest)])
    return written


def remove_judgment(
    bundle: Path | str, query_id: str, doc_id: str, judge: str, restore: Judgment | None = None
) -> int:
    """Take one judgment back out of the bundle (the judge panel's undo), putting ``restore``
    (the grade it replaced, if any) in its place; returns how many were removed. Rewrites the
    JSONL and the judge's qrels (removed when the judge has no judgment left)."""
    directory = Path(bundle) / JUDGMENTS
    current = read_bundle_judgments(bundle)
    kept = [j for j in current if j.key != (query_id, doc_id, judge)]
    removed = len(current) - len(kept)
    if restore is not None:
        kept = [j for j in kept if j.key != restore.key] + [restore]
    if removed or restore is not None:
        _write(directory, sorted(kept, key=lambda j: j.key))
    return removed


def _write(directory: Path, ordered: list[Judgment]) -> None:
    """The JSONL (atomically) and every judge's qrels, with no qrels file left for a judge
    that has no judgment any more."""
    from ..evaluation.judging.judgments import write_jsonl
    from ..evaluation.metrics.trec import write_qrels

    directory.mkdir(parents=True, exist_ok=True)
    tmp = directory / f".{JSONL}.{os.getpid()}.tmp"
    write_jsonl(ordered, tmp)
    os.replace(tmp, directory / JSONL)
    qrels_dir = directory / "qrels"
    qrels_dir.mkdir(exist_ok=True)
    by_judge: dict[str, dict[str, dict[str, int]]] = {}
    for j in ordered:
        by_judge.setdefault(j.judge, {}).setdefault(j.query_id, {})[j.doc_id] = j.grade
    wanted = {qrels_dir / f"{_SAFE.sub('_', judge)}.txt" for judge in by_judge}
    for stale in set(qrels_dir.glob("*.txt")) - wanted:
        stale.unlink()
    for judge, qrels in by_judge.items():
        write_qrels(qrels, qrels_dir / f"{_SAFE.sub('_', judge)}.txt")


def import_judgments(bundle: Path | str, source: Path | str, judge: str | None = None) -> int:
    """Import a JSONL file (provenance kept) or, with ``judge``, a TREC qrels file."""
    from ..evaluation.judging.judgments import Judgment, read_jsonl
    from ..evaluation.metrics.trec import read_qrels

    path = Path(source)
    if judge is None:
        if path.suffix != ".jsonl":
            raise ConfigError(f"{path}: a qrels file needs --judge NAME (e.g. human:alice)")
        return add_judgments(bundle, read_jsonl(path))
    try:
        qrels = read_qrels(path)
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path}: {exc}") from exc
    note = f"qrels import: {path.name}"
    try:
        rows = [
            Judgment(q, d, g, judge, note=note)
            for q, docs in qrels.items()
            for d, g in docs.items()
        ]
    except ValueError as exc:
        raise ConfigError(f"{path}: {exc}") from exc
    return add_judgments(bundle, rows)


def agreement_table(bundle: Path | str) -> list[dict[str, Any]]:
    """Agreement of every pair of the bundle's judges (humans first): n, exact share, linear
    weighted kappa, ordinal Krippendorff's alpha. Pairs without a common item are left out."""
    from ..evaluation.judging.judgments import JudgmentStore

    judgments = read_bundle_judgments(bundle)
    judges = sorted({j.judge for j in judgments}, key=lambda n: (not n.startswith("human:"), n))
    if len(judges) < 2:
        return []
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="underfoot-agreement-") as tmp:
        store = JudgmentStore(Path(tmp) / "judgments.sqlite3")
        store.add(judgments)
        for i, a in enumerate(judges):
            for b in judges[i + 1 :]:
                agreement = store.agreement(a, b)
                if agreement.n:
                    rows.append(agreement.to_dict())
    return rows
