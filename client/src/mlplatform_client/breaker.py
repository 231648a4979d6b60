"""A circuit breaker per target: stop sending requests to a target that keeps failing, and let it back carefully.

CLOSED: requests flow. After `failure_threshold` consecutive failures (requests or probes) it OPENs: no
request is routed there, so callers stop paying for a dead target. After `cooldown` seconds it is HALF_OPEN:
one trial (the next health probe, or a single request when probes are off) decides: success closes it,
failure opens it for another cool-down. Because the probes run the trials, a live request need not be the
one that finds out a target is still down.

Not locked: the Router holds one lock over all targets' state.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from enum import StrEnum


class BreakerState(StrEnum):
    CLOSED = "closed"
    HALF_OPEN = "half_open"
    OPEN = "open"


class CircuitBreaker:
    def __init__(self, failure_threshold: int, cooldown: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.failure_threshold = failure_threshold
        self.cooldown = cooldown
        self._clock = clock
        self._open = False
        self._opened_at = 0.0
        self._failures = 0
        self._trial = False  # a half-open trial request is in flight
        self.times_opened = 0

    @property
    def state(self) -> BreakerState:
        if not self._open:
            return BreakerState.CLOSED
        if self._clock() - self._opened_at >= self.cooldown:
            return BreakerState.HALF_OPEN
        return BreakerState.OPEN

    def acquire(self) -> bool:
        """May a request go to this target now? Half-open lets one trial request through at a time."""
        state = self.state
        if state is BreakerState.CLOSED:
            return True
        if state is BreakerState.HALF_OPEN and not self._trial:
            self._trial = True
            return True
        return False

    def release(self) -> None:
        """A request admitted by `acquire` ended (its outcome is recorded separately)."""
        self._trial = False

    def record_success(self) -> None:
        if self.state is BreakerState.OPEN:
            return  # an answer to a request sent before the breaker opened; the cool-down still stands
        self._open = False
        self._failures = 0

    def record_failure(self) -> None:
        state = self.state
        self._failures += 1
        if state is BreakerState.HALF_OPEN or (
            state is BreakerState.CLOSED and self._failures >= self.failure_threshold
        ):
            self._open = True
            self._opened_at = self._clock()
            self.times_opened += 1
