"""A bounded load test against any service speaking production's contract.

``N`` requests, at most ``C`` in flight, queries drawn from a region set: with probability
``repeat_ratio`` a query already sent is sent again (exercising the cache), otherwise the next
unseen one (when every query has been sent, repeats are all there is). The draw is seeded, so a
run is reproducible. The report gives throughput, latency P50/P90/P95/P99 of valid answers
(client-measured, network included), error rate by type and the cache hit rate read from each
answer's ``debug.cache``.

Targets outside loopback are refused unless ``allow_remote`` is given: a load test against
someone else's service must be a decision, not a typo.
"""

from __future__ import annotations

import asyncio
import ipaddress
import math
import random
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx

from ..errors import ConfigError, UpstreamError
from .client import ServiceClient, error_type

if TYPE_CHECKING:  # pragma: no cover
    from ..settings import Settings

PERCENTILES = (50, 90, 95, 99)


def check_target(url: str, *, allow_remote: bool = False) -> str:
    """The target URL without a trailing slash; :class:`ConfigError` when it is not an
    ``http(s)`` URL or (without ``allow_remote``) not on loopback."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"--target {url!r} is not an http(s) URL")
    if not allow_remote and not is_loopback(parts.hostname):
        raise ConfigError(
            f"--target host {parts.hostname!r} is not loopback; pass --allow-remote to load-test it"
        )
    return url.rstrip("/")


def is_loopback(host: str) -> bool:
    """``localhost`` or a loopback IP literal (names are not resolved: DNS could lie)."""
    if host.lower() in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def plan_queries(pool: Sequence[str], n: int, repeat_ratio: float, seed: int = 0) -> list[str]:
    """The ``n`` queries to send, in order (see the module docstring)."""
    if not pool:
        raise ConfigError("the load test needs at least one query")
    if not 0.0 <= repeat_ratio <= 1.0:
        raise ConfigError(f"--repeat-ratio must be between 0 and 1, got {repeat_ratio}")
    rng = random.Random(seed)  # nosec B311 -- a reproducible load pattern, not crypto
    unseen = list(dict.fromkeys(pool))
    rng.shuffle(unseen)
    sent: list[str] = []
    out: list[str] = []
    for _ in range(n):
        if sent and (not unseen or rng.random() < repeat_ratio):
            out.append(rng.choice(sent))
        else:
            q = unseen.pop()
            sent.append(q)
            out.append(q)
    return out


def percentile(values: Sequence[float], p: float) -> float | None:
    """Linear-interpolated percentile (numpy's default method); None for no values."""
    if not values:
        return None
    xs = sorted(values)
    k = (len(xs) - 1) * p / 100.0
    lo, hi = math.floor(k), math.ceil(k)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


@dataclass(frozen=True, slots=True)
class Outcome:
    """One request of a load run."""

    query: str
    elapsed_ms: float
    error: str | None
    cache: str | None


@dataclass(frozen=True)
class LoadReport:
    """What a load run measured."""

    target: str
    requests: int
    concurrency: int
    repeat_ratio: float
    region_set: str
    wall_s: float
    outcomes: tuple[Outcome, ...] = field(repr=False)

    @property
    def ok(self) -> int:
        return sum(1 for o in self.outcomes if o.error is None)

    @property
    def errors(self) -> dict[str, int]:
        """Error type -> count: the body's code, ``HTTP_<status>``, ``BAD_PAYLOAD``, or the
        transport's ``timeout`` / ``error``."""
        return dict(sorted(Counter(o.error for o in self.outcomes if o.error).items()))

    @property
    def error_rate(self) -> float:
        return (len(self.outcomes) - self.ok) / len(self.outcomes) if self.outcomes else 0.0

    @property
    def rate_limited(self) -> int:
        """Requests the target refused with its rate limit (429, ``RATE_LIMITED``)."""
        return sum(1 for o in self.outcomes if o.error in ("RATE_LIMITED", "HTTP_429"))

    @property
    def throughput_rps(self) -> float:
        return len(self.outcomes) / self.wall_s if self.wall_s > 0 else 0.0

    def latency_ms(self) -> dict[str, float | None]:
        """P50/P90/P95/P99 (and mean, max) of valid answers, in milliseconds."""
        xs = [o.elapsed_ms for o in self.outcomes if o.error is None]
        out: dict[str, float | None] = {f"p{p}": percentile(xs, p) for p in PERCENTILES}
        out["mean"] = sum(xs) / len(xs) if xs else None
        out["max"] = max(xs) if xs else None
        return out

    @property
    def cache_hits(self) -> int:
        return sum(1 for o in self.outcomes if o.error is None and o.cache == "hit")

    @property
    def cache_hit_rate(self) -> float | None:
        """Hits among valid answers that report a cache state (None when none does)."""
        known = [o for o in self.outcomes if o.error is None and o.cache in ("hit", "miss")]
        return self.cache_hits / len(known) if known else None

    def to_dict(self) -> dict[str, Any]:
        lat = self.latency_ms()
        return {
            "target": self.target,
            "region_set": self.region_set,
            "requests": self.requests,
            "concurrency": self.concurrency,
            "repeat_ratio": self.repeat_ratio,
            "wall_s": round(self.wall_s, 4),
            "throughput_rps": round(self.throughput_rps, 3),
            "ok": self.ok,
            "error_rate": round(self.error_rate, 4),
            "errors": self.errors,
            "latency_ms": {k: None if v is None else round(v, 3) for k, v in lat.items()},
            "cache_hits": self.cache_hits,
            "cache_hit_rate": None
            if self.cache_hit_rate is None
            else round(self.cache_hit_rate, 4),
        }

    def params(self) -> dict[str, str]:
        """Run parameters, flat (for an MLflow run's params)."""
        return {
            "target": self.target,
            "region_set": self.region_set,
            "requests": str(self.requests),
            "concurrency": str(self.concurrency),
            "repeat_ratio": str(self.repeat_ratio),
        }

    def metrics(self) -> dict[str, float]:
        """Measured values, flat and numeric (for an MLflow run's metrics)."""
        out: dict[str, float] = {
            "throughput_rps": self.throughput_rps,
            "error_rate": self.error_rate,
            "wall_s": self.wall_s,
        }
        for k, v in self.latency_ms().items():
            if v is not None:
                out[f"latency_{k}_ms"] = v
        if self.cache_hit_rate is not None:
            out["cache_hit_rate"] = self.cache_hit_rate
        for k, n in self.errors.items():
            out[f"errors_{k}"] = float(n)
        return out

    def format(self) -> str:
        """A short human-readable summary."""
        lat = self.latency_ms()

        def ms(v: float | None) -> str:
            return "-" if v is None else f"{v:.1f}"

        hit = self.cache_hit_rate
        lines = [
            f"target {self.target}  ({self.requests} requests, concurrency {self.concurrency}, "
            f"region set {self.region_set}, repeat ratio {self.repeat_ratio})",
            f"throughput {self.throughput_rps:.1f} req/s over {self.wall_s:.2f} s",
            "latency ms  " + "  ".join(f"{k} {ms(v)}" for k, v in lat.items()),
            f"ok {self.ok}/{len(self.outcomes)}  error rate {self.error_rate:.1%}"
            + (
                "  (" + ", ".join(f"{k} {n}" for k, n in self.errors.items()) + ")"
                if self.errors
                else ""
            ),
            "cache hit rate " + ("-" if hit is None else f"{hit:.1%}"),
        ]
        if self.rate_limited:
            # A load test that mostly measures the limiter reads like a slow, broken search.
            lines.append(
                f"note: the target's rate limit refused {self.rate_limited} of "
                f"{len(self.outcomes)} requests; latency and the hit rate cover the {self.ok} "
                "answered. To measure the search, start `underfoot-lab serve` with "
                "UNDERFOOT_SERVICE_RATE_LIMIT_PER_S=0 (or send fewer requests per second)."
            )
        return "\n".join(lines)


async def run_load(
    target: str,
    queries: Sequence[str],
    *,
    concurrency: int,
    repeat_ratio: float = 0.0,
    region_set: str = "",
    timeout_s: float = 30.0,
    transport: httpx.AsyncBaseTransport | None = None,
) -> LoadReport:
    """Send ``queries`` (already planned, see :func:`plan_queries`) with at most
    ``concurrency`` in flight; every request is accounted for, none is retried."""
    if concurrency < 1:
        raise ConfigError(f"--concurrency must be at least 1, got {concurrency}")
    outcomes: list[Outcome | None] = [None] * len(queries)
    next_index = 0

    async with ServiceClient(
        target, timeout_s=timeout_s, max_connections=concurrency, transport=transport
    ) as client:

        async def worker() -> None:
            nonlocal next_index
            while next_index < len(queries):
                i = next_index
                next_index += 1
                q = queries[i]
                start = time.perf_counter()
                try:
                    ex = await client.apost(q)
                except UpstreamError as exc:
                    ms = (time.perf_counter() - start) * 1000.0
                    outcomes[i] = Outcome(q, ms, exc.error_class, None)
                    continue
                err = error_type(ex)
                debug = ex.body.get("debug") if isinstance(ex.body, dict) else None
                cache = debug.get("cache") if isinstance(debug, dict) else None
                outcomes[i] = Outcome(q, ex.elapsed_ms, err, cache if err is None else None)

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(min(concurrency, len(queries)))))
        wall = time.perf_counter() - start
    done = tuple(o for o in outcomes if o is not None)
    return LoadReport(
        target=target,
        requests=len(queries),
        concurrency=concurrency,
        repeat_ratio=repeat_ratio,
        region_set=region_set,
        wall_s=wall,
        outcomes=done,
    )


def log_load(
    report: LoadReport,
    *,
    experiment: str = "underfoot-load",
    settings: Settings | None = None,
) -> str:
    """Log a load run to MLflow; returns the MLflow run id.

    Params: :meth:`LoadReport.params`; metrics: :meth:`LoadReport.metrics`; the full
    :meth:`LoadReport.to_dict` as ``load/report.json``; tags ``target`` (the URL without
    credentials, query or fragment) and ``kind=load``. Secrets are scrubbed by the writer.
    """
    import json
    import tempfile
    from pathlib import Path

    from .. import tracking
    from ..tracking.writer import log_artifacts
    from .target import public_url

    target = public_url(report.target)
    params = {**report.params(), "target": target}
    payload = {**report.to_dict(), "target": target}
    run_id = tracking.start_run(
        experiment,
        run_name=f"load · {target} · {report.requests}x{report.concurrency}",
        tags={"target": target, "kind": "load", "region_set": report.region_set},
        settings=settings,
    )
    try:
        tracking.log_values(run_id, params=params, metrics=report.metrics(), settings=settings)
        with tempfile.TemporaryDirectory(prefix="underfoot-load-") as tmp:
            (Path(tmp) / "load").mkdir()
            (Path(tmp) / "load" / "report.json").write_text(
                json.dumps(payload, indent=2), encoding="utf-8"
            )
            log_artifacts(run_id, Path(tmp), settings=settings)
    except BaseException:
        tracking.end_run(run_id, "FAILED", settings=settings)
        raise
    tracking.end_run(run_id, "FINISHED", settings=settings)
    return run_id
