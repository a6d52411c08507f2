"""Adaptive concurrency: back off hard on rate limits, recover slowly (AIMD).

A rate-limit reply halves the number of trials in flight and holds every new
request until the server's retry-after has passed; each run of successes as
long as the current limit then raises it by one, up to the configured maximum.
"""

from __future__ import annotations

import random

BACKOFF_BASE_S = 1.0
BACKOFF_MAX_S = 60.0
JITTER = 0.2


class AdaptiveLimit:
    """How many trials may be in flight now, and until when new ones must wait.

    Used from the batch's main thread only.
    """

    def __init__(self, maximum: int) -> None:
        self.maximum = max(1, maximum)
        self.current = self.maximum
        self.hold_until = 0.0
        self._successes = 0

    def on_rate_limit(self, now: float, wait_s: float) -> None:
        """Halve the limit and hold new requests for `wait_s` seconds from `now`."""
        self.current = max(1, self.current // 2)
        self.hold_until = max(self.hold_until, now + wait_s)
        self._successes = 0

    def on_success(self) -> None:
        """Count a success; after `current` of them in a row, allow one more in flight."""
        if self.current >= self.maximum:
            return
        self._successes += 1
        if self._successes >= self.current:
            self.current += 1
            self._successes = 0

    def holding(self, now: float) -> float:
        """Seconds left before new requests may start (0 when they may)."""
        return max(0.0, self.hold_until - now)


def backoff_s(attempt: int, retry_after_s: float | None, base_s: float = BACKOFF_BASE_S) -> float:
    """Seconds to wait before retry number `attempt` (from 1): retry-after, else exponential.

    The server's retry-after wins when given; otherwise `base_s` × 1, 2, 4, ...
    with ±20% jitter so that many trials do not retry in lockstep, capped at a minute.
    """
    if retry_after_s is not None:
        return min(max(0.0, retry_after_s), BACKOFF_MAX_S)
    base = min(base_s * 2.0 ** max(0, attempt - 1), BACKOFF_MAX_S)
    return base * random.uniform(1 - JITTER, 1 + JITTER)
