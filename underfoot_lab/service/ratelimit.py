"""Inbound rate limiting: one token bucket per client key (the client IP).

A bucket holds up to ``burst`` tokens and refills at ``rate`` tokens per second; a request
takes one token or is refused with the seconds until one is back (the ``Retry-After``). The
table of buckets is bounded (least recently seen clients are forgotten, which only ever makes
the limiter more lenient), and the clock is injectable so tests need no sleeping.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Decision:
    """The limiter's answer for one request."""

    allowed: bool
    retry_after_s: float
    """0 when allowed; otherwise seconds until a token is back."""
    remaining: int

    @property
    def retry_after_header(self) -> str:
        """``Retry-After`` is whole seconds; round up so a client that obeys it succeeds."""
        return str(max(1, math.ceil(self.retry_after_s)))


class TokenBucketLimiter:
    """Per-key token buckets; ``rate <= 0`` allows everything."""

    def __init__(
        self,
        rate: float,
        burst: int,
        *,
        max_keys: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.rate = rate
        self.burst = max(1, burst)
        self.max_keys = max_keys
        self._clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self.rate > 0

    def take(self, key: str) -> Decision:
        """Take one token for ``key``."""
        if not self.enabled:
            return Decision(True, 0.0, self.burst)
        now = self._clock()
        with self._lock:
            tokens, last = self._buckets.get(key, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - last) * self.rate)
            if tokens >= 1.0:
                tokens -= 1.0
                decision = Decision(True, 0.0, int(tokens))
            else:
                decision = Decision(False, (1.0 - tokens) / self.rate, 0)
            self._buckets[key] = (tokens, now)
            self._buckets.move_to_end(key)
            while len(self._buckets) > self.max_keys:
                self._buckets.popitem(last=False)
        return decision
