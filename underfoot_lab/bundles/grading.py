"""Grading a bundle: its judging pool, replayed (no network), and the LLM judge over it."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .judgments import add_judgments

if TYPE_CHECKING:  # pragma: no cover
    from ..evaluation.judging.pooling import JudgingPool
    from ..settings import Settings

__all__ = ["bundle_pool", "grade_with_llm"]


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
