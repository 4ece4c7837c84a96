"""A bundle's judgments: plain files, with provenance, written by people and the LLM judge.

``judgments/judgments.jsonl`` holds every judgment (query, doc, grade, judge, time, note: the
provenance), the latest per (query, doc, judge); ``judgments/qrels/<judge>.txt`` is each judge's
TREC qrels, regenerated from it on every write. :func:`add_judgments` is the one writer (the
judge panel, ``bundle import`` and ``bundle judge`` use it).

:func:`bundle_pool` is the bundle's judging pool, built by replaying it (no network);
:func:`grade_with_llm` grades that pool with the LLM judge (any OpenAI-compatible base URL);
:func:`agreement_table` measures each pair of judges (weighted kappa, Krippendorff's alpha).
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError
from .manifest import JUDGMENTS

if TYPE_CHECKING:  # pragma: no cover
    from ..evaluation.judging.judgments import Judgment
    from ..evaluation.judging.pooling import JudgingPool
    from ..settings import Settings

__all__ = [
    "JSONL",
    "add_judgments",
    "agreement_table",
    "bundle_judges",
    "bundle_pool",
    "grade_with_llm",
    "import_judgments",
    "read_bundle_judgments",
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
    from ..evaluation.judging.judgments import write_jsonl
    from ..evaluation.metrics.trec import write_qrels

    directory = Path(bundle) / JUDGMENTS
    latest = {j.key: j for j in read_bundle_judgments(bundle)}
    written = 0
    for j in judgments:
        old = latest.get(j.key)
        if old is None or j.created_at >= old.created_at:
            latest[j.key] = j
            written += 1
    ordered = [latest[k] for k in sorted(latest)]
    directory.mkdir(parents=True, exist_ok=True)
    tmp = directory / f".{JSONL}.{os.getpid()}.tmp"
    write_jsonl(ordered, tmp)
    os.replace(tmp, directory / JSONL)
    qrels_dir = directory / "qrels"
    qrels_dir.mkdir(exist_ok=True)
    by_judge: dict[str, dict[str, dict[str, int]]] = {}
    for j in ordered:
        by_judge.setdefault(j.judge, {}).setdefault(j.query_id, {})[j.doc_id] = j.grade
    for judge, qrels in by_judge.items():
        write_qrels(qrels, qrels_dir / f"{_SAFE.sub('_', judge)}.txt")
    return written


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


def bundle_pool(
    bundle: Path | str,
    settings: Settings | None = None,
    *,
    weights: Sequence[Any] | None = None,
    k: int = 10,
) -> JudgingPool:
    """The bundle's judging pool (top ``k`` under each weights), by replay: no network."""
    from ..evaluation.judging.pooling import build_judging_pool
    from ..harness import build_harness
    from .replay import open_bundle, replay_settings

    b = open_bundle(bundle)
    with build_harness(replay_settings(b, settings)) as harness:
        return build_judging_pool(
            b.region_set(), weights=weights, k=k, pipeline=harness.pipeline, concurrency=1
        )


def grade_with_llm(
    bundle: Path | str,
    settings: Settings | None = None,
    *,
    base_url: str | None = None,
    model: str | None = None,
    k: int = 10,
    transport: Any = None,
) -> tuple[int, int]:
    """Grade the bundle's pool with the LLM judge and store the grades in the bundle.

    ``settings`` carry the judge's key (``OPENAI_API_KEY``); ``base_url`` points it at any
    OpenAI-compatible server. Returns (graded, failed).
    """
    from ..evaluation.judging.llm_judge import LLMJudge
    from ..settings import Settings

    base = settings or Settings()
    judge_settings = base.model_copy(update={"openai_base_url": base_url}) if base_url else base
    judge = LLMJudge(judge_settings, model=model, transport=transport, max_retries=1)
    pool = bundle_pool(bundle, base, k=k)
    run = judge.grade(list(pool.items), today=pool.now)
    add_judgments(bundle, run.judgments)
    return len(run.judgments), len(run.failures)


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
