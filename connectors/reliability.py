"""Backoff with full jitter, a circuit breaker and a token bucket, each on an injected clock.

None of these sleeps: they say how long to wait, and the runner waits with its injected ``sleep``,
so tests drive them with a fake clock and no real time passes.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from wayfinder.clock import utc_now

BreakerState = Literal["closed", "open", "half_open"]


@dataclass(frozen=True)
class Clock:
    """Wall time (aware), a monotonic clock for intervals, and how to wait."""

    now: Callable[[], datetime] = field(default=utc_now)
    monotonic: Callable[[], float] = field(default=time.monotonic)
    sleep: Callable[[float], Awaitable[None]] = field(default=asyncio.sleep)


class Backoff:
    """Exponential backoff with full jitter: a uniform draw from 0 to ``min(max, base * 2**(n-1))``.

    Full jitter spreads the retries of many clients that failed together, so a server coming back
    from an outage is not hit by all of them at the same instant.
    """

    def __init__(self, base: float, maximum: float, *, rand: Callable[[], float] = random.random) -> None:
        self.base = base
        self.maximum = maximum
        self._rand = rand

    def ceiling(self, failures: int) -> float:
        return min(self.maximum, self.base * 2.0 ** min(max(failures - 1, 0), 60))

    def delay(self, failures: int) -> float:
        """How long to wait after the ``failures``-th failure in a row (1 for the first)."""
        return self._rand() * self.ceiling(failures)


class CircuitBreaker:
    """Closed (calls go through) -> open after ``threshold`` failures in a row (calls wait) ->
    half-open after ``reset_timeout`` (one probe goes; its success closes, its failure re-opens).
    """

    def __init__(self, threshold: int, reset_timeout: float, *, monotonic: Callable[[], float] = time.monotonic,
                 on_change: Callable[[BreakerState], None] | None = None) -> None:
        self.threshold = threshold
        self.reset_timeout = reset_timeout
        self._monotonic = monotonic
        self._on_change = on_change
        self._state: BreakerState = "closed"
        self._failures = 0
        self._opened_at = 0.0
        self._probing = False

    @property
    def state(self) -> BreakerState:
        return self._state

    def _set(self, state: BreakerState) -> None:
        if state != self._state:
            self._state = state
            if self._on_change is not None:
                self._on_change(state)

    def try_acquire(self) -> float | None:
        """None: go ahead (in half-open you are the probe and must report). Else: seconds to wait."""
        if self._state == "closed":
            return None
        if self._state == "open":
            remaining = self._opened_at + self.reset_timeout - self._monotonic()
            if remaining > 0:
                return remaining
            self._set("half_open")
        if self._probing:
            return min(self.reset_timeout, 0.05)
        self._probing = True
        return None

    def record_success(self) -> None:
        self._failures = 0
        self._probing = False
        if self._state == "half_open":
            self._set("closed")

    def record_failure(self) -> None:
        self._probing = False
        if self._state == "half_open":
            self._open()
        elif self._state == "closed":
            self._failures += 1
            if self._failures >= self.threshold:
                self._open()

    def record_neutral(self) -> None:
        """The call said nothing about the server's health (it never reached it, or was cancelled)."""
        self._probing = False

    def _open(self) -> None:
        self._opened_at = self._monotonic()
        self._failures = 0
        self._set("open")


class TokenBucket:
    """At most ``burst`` at once and ``rate`` per second on average.

    ``reserve`` takes a token now, possibly going into debt, and says how long to wait before using
    it: concurrent callers are spaced out evenly instead of all waking and racing for one token.
    """

    def __init__(self, rate: float, burst: int, *, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self.burst = float(burst)
        self._monotonic = monotonic
        self._tokens = float(burst)
        self._updated = monotonic()

    def reserve(self) -> float:
        now = self._monotonic()
        self._tokens = min(self.burst, self._tokens + (now - self._updated) * self.rate)
        self._updated = now
        self._tokens -= 1.0
        return 0.0 if self._tokens >= 0 else -self._tokens / self.rate
