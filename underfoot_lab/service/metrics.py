"""Prometheus metrics of one service app (its own ``CollectorRegistry``, so two apps in one
process, as in tests, never share or clash).

What production tracks, in Prometheus terms:

* ``underfoot_http_requests_total{endpoint,method,status}`` and
  ``underfoot_http_request_duration_seconds{endpoint}`` (P50..P99 via ``histogram_quantile``);
* ``underfoot_errors_total{code}``: error rate by type (the error body's code);
* ``underfoot_cache_lookups_total{layer}``: ``memory``/``sqlite`` hits, ``miss``, ``bypass``;
* ``underfoot_upstream_duration_seconds{provider}`` and
  ``underfoot_upstream_errors_total{provider,error_class}`` from each fresh search's source
  statuses (a cache hit replays old statuses, so it is not counted again).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from ..records import SearchResult

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# Latency buckets in seconds: the service answers cache hits in about a millisecond and fresh
# offline searches in tens to hundreds; production's target is 200 ms.
_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.35, 0.5, 1.0, 2.5, 5.0, 10.0)


class ServiceMetrics:
    """The app's collectors; ``render()`` gives the ``/metrics`` body."""

    def __init__(self) -> None:
        from prometheus_client import CollectorRegistry, Counter, Histogram

        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "underfoot_http_requests",
            "HTTP requests by endpoint, method and status.",
            ("endpoint", "method", "status"),
            registry=self.registry,
        )
        self.latency = Histogram(
            "underfoot_http_request_duration_seconds",
            "HTTP request latency by endpoint.",
            ("endpoint",),
            buckets=_BUCKETS,
            registry=self.registry,
        )
        self.errors = Counter(
            "underfoot_errors",
            "Error answers by error code.",
            ("code",),
            registry=self.registry,
        )
        self.cache = Counter(
            "underfoot_cache_lookups",
            "Search cache outcomes: hits by layer (memory, sqlite), miss, bypass.",
            ("layer",),
            registry=self.registry,
        )
        self.upstream_latency = Histogram(
            "underfoot_upstream_duration_seconds",
            "Latency of each upstream source call.",
            ("provider",),
            buckets=_BUCKETS,
            registry=self.registry,
        )
        self.upstream_errors = Counter(
            "underfoot_upstream_errors",
            "Failed upstream source calls by provider and error class.",
            ("provider", "error_class"),
            registry=self.registry,
        )

    def observe_request(self, endpoint: str, method: str, status: int, seconds: float) -> None:
        self.requests.labels(endpoint, method, str(status)).inc()
        self.latency.labels(endpoint).observe(seconds)

    def observe_error(self, code: str) -> None:
        self.errors.labels(code).inc()

    def observe_search(self, result: SearchResult) -> None:
        """Cache outcome, and on a fresh search each source's latency and failure."""
        status = result.cache.status
        layer = status.removeprefix("hit-") if status.startswith("hit") else status
        self.cache.labels(layer).inc()
        if status.startswith("hit"):
            return
        for s in result.sources:
            self.upstream_latency.labels(s.source).observe(s.elapsed_ms / 1000.0)
            if s.status in ("error", "timeout"):
                self.upstream_errors.labels(s.source, s.error_class or s.status).inc()

    def render(self) -> bytes:
        from prometheus_client import generate_latest

        return generate_latest(self.registry)
