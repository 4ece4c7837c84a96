"""``evaluate --target URL``: evaluate any service speaking production's contract over HTTP.

The HTTP side of :mod:`underfoot_lab.evaluation.targets`: a :class:`HttpSearcher` posts each
query with :class:`~underfoot_lab.service.client.ServiceClient` (validating the answer with the
contract's models, mapping failures to the workbench's errors, at most ``concurrency``
connections), and :func:`evaluate_target` runs the evaluation with it. :func:`public_url` is
the target as it may be shown and logged: no credentials, no query string, no fragment.

Comparing two services: evaluate each (``evaluate --target A``, ``evaluate --target B``) and
``compare`` the two run ids; ``metrics``/``report`` take a target run's id like any other.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Unpack
from urllib.parse import urlsplit, urlunsplit

from ..errors import ConfigError
from .client import ServiceClient

if TYPE_CHECKING:  # pragma: no cover
    from ..evaluation.regions import RegionSet
    from ..evaluation.results.model import EvaluationReport
    from ..evaluation.targets import SearcherOptions
    from ..settings import Settings

__all__ = ["HttpSearcher", "evaluate_target", "public_url", "target_tags"]


def public_url(url: str) -> str:
    """``url`` without user info, query string or fragment, and without a trailing slash;
    :class:`ConfigError` when it is not an ``http(s)`` URL with a host."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"--target {url!r} is not an http(s) URL")
    host = parts.hostname
    if ":" in host:  # an IPv6 literal keeps its brackets
        host = f"[{host}]"
    netloc = f"{host}:{parts.port}" if parts.port is not None else host
    return urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", ""))


class HttpSearcher:
    """A :class:`~underfoot_lab.evaluation.targets.Searcher` over HTTP (one client, reused;
    created on the loop that uses it)."""

    def __init__(self, base_url: str, *, timeout_s: float = 60.0, concurrency: int = 4) -> None:
        self.client = ServiceClient(base_url, timeout_s=timeout_s, max_connections=concurrency)

    async def search(self, text: str, *, force: bool) -> Mapping[str, Any]:
        answer = await self.client.asearch(text, force=force)
        body: dict[str, Any] = answer.response.model_dump(mode="json")
        return body

    async def aclose(self) -> None:
        await self.client.aclose()


def evaluate_target(
    target: str,
    region_set: RegionSet | str | Path,
    *,
    settings: Settings,
    concurrency: int = 4,
    timeout_s: float = 60.0,
    **options: Unpack[SearcherOptions],
) -> EvaluationReport:
    """Evaluate ``region_set`` against the service at ``target`` (see
    :func:`underfoot_lab.evaluation.targets.evaluate_searcher`, whose ``options`` these are;
    ``concurrency`` also bounds the connections). The full URL (credentials included, if any)
    is used to connect; only :func:`public_url` is stored and shown."""
    from ..evaluation.targets import TargetRun, evaluate_searcher

    shown = public_url(target)
    searcher = HttpSearcher(target.rstrip("/"), timeout_s=timeout_s, concurrency=concurrency)
    return evaluate_searcher(
        region_set,
        TargetRun(shown, searcher),
        settings=settings,
        concurrency=concurrency,
        **options,
    )


def target_tags(report: EvaluationReport) -> dict[str, str]:
    """MLflow tags of a target run: ``target`` (the public URL) and ``simulated`` (what the
    service's ``debug.simulated`` said); empty for an in-process run."""
    mode = report.config.mode
    if not mode.startswith("target "):
        return {}
    return {
        "target": mode.removeprefix("target "),
        "simulated": "true" if report.config.simulated else "false",
    }
