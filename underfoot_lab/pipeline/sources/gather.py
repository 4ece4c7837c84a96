"""Ask every source at once, each under its own deadline; one failure never sinks the others."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import cast, get_args

from ...errors import SourceSkipped, UpstreamError
from ...records import Candidate, ErrorClass, ParsedQuery, Place, SourceStatus, StageStatus
from ...redaction import scrub
from .base import Source

__all__ = ["gather_sources"]

_ERROR_CLASSES: frozenset[str] = frozenset(get_args(ErrorClass))
_MESSAGE_LIMIT = 300


async def gather_sources(
    sources: Sequence[Source],
    parsed: ParsedQuery,
    place: Place,
    *,
    deadline_s: float,
    secrets: tuple[str, ...] = (),
) -> tuple[list[Candidate], list[SourceStatus]]:
    """Run every source's ``fetch`` concurrently and collect what came back.

    Each source gets ``deadline_s`` seconds; the one that overruns is cancelled and reported as
    ``timeout``. An :class:`UpstreamError` becomes ``error`` (``timeout`` for its timeout class)
    with its error class; any other exception is ``error``/``error``. Candidates come back in
    source order, then each source's own order; statuses in source order. Messages are one line,
    with key-like URL parameters and ``secrets`` redacted. Never raises for a source's failure.
    """
    results = await asyncio.gather(*(_run(s, parsed, place, deadline_s, secrets) for s in sources))
    candidates = [c for found, _ in results for c in found]
    return candidates, [status for _, status in results]


async def _run(
    source: Source,
    parsed: ParsedQuery,
    place: Place,
    deadline_s: float,
    secrets: tuple[str, ...],
) -> tuple[list[Candidate], SourceStatus]:
    name = getattr(source, "name", type(source).__name__)
    started = time.perf_counter()

    def status(
        state: StageStatus,
        count: int = 0,
        error_class: ErrorClass | None = None,
        message: str | None = None,
    ) -> SourceStatus:
        return SourceStatus(
            source=name,
            status=state,
            count=count,
            elapsed_ms=(time.perf_counter() - started) * 1000.0,
            error_class=error_class,
            message=None if message is None else _one_line(message, secrets),
        )

    try:
        async with asyncio.timeout(deadline_s):
            found = list(await source.fetch(parsed, place))
    except SourceSkipped as exc:
        return [], status("skipped", 0, None, str(exc))
    except TimeoutError:
        return [], status("timeout", 0, "timeout", f"{name}: no answer within {deadline_s:g}s")
    except UpstreamError as exc:
        error_class = cast(
            ErrorClass, exc.error_class if exc.error_class in _ERROR_CLASSES else "error"
        )
        state: StageStatus = "timeout" if error_class == "timeout" else "error"
        return [], status(state, 0, error_class, str(exc) or error_class)
    except Exception as exc:  # a source's bug must not take the request down
        return [], status("error", 0, "error", f"{name}: {type(exc).__name__}: {exc}")
    return found, status("ok" if found else "empty", len(found))


def _one_line(message: str, secrets: tuple[str, ...]) -> str:
    text = scrub(message, secrets)
    return text if len(text) <= _MESSAGE_LIMIT else text[: _MESSAGE_LIMIT - 1] + "…"
