"""One call's way through its plan: which target next, when to hedge, when to stop, which error to raise.

I/O-free, so the thread-based and the asyncio client follow the same rules and differ only in how they
start and wait for attempts (their loops read alike: launch, wait, `check_deadline`, `hedge_due`, `is_answer`):
- the first target of the plan is tried; a connection error, timeout, 5xx, malformed 200 or 404 moves on to the
  next;
- a 4xx other than 404 and 429 stops the call: the request is wrong and would be wrong everywhere (a 401 or
  403 raises NotAuthorizedError: the same token gets the same answer from every gateway);
- a 429 waits for its Retry-After, if that ends within the deadline, and asks the same target once more;
  otherwise (no Retry-After, too long, or a second 429) it raises RateLimitedError. It never moves to
  another target: the limit is the caller's, and spreading over N targets would spend N times it;
- with hedging, if the one attempt in flight has had no answer for `hedge_after` seconds, the next target
  gets the same request too (once a call); the first answer wins. No hedge after a 429, in this call or
  in any call while a target's Retry-After window is open (Router.hedging_allowed), so a caller near its
  limit does not spend it twice;
- nothing runs past the deadline: every attempt's own timeout is cut to what is left of it, and the call
  raises DeadlineExceededError when it passes, whatever is still in flight.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from mlplatform_client.attempts import Attempt, Outcome
from mlplatform_client.endpoints import Endpoint
from mlplatform_client.errors import (
    AllTargetsFailedError,
    DeadlineExceededError,
    MalformedAnswerError,
    ModelNotFoundError,
    MultiCloudError,
    NoHealthyTargetError,
    NotAuthorizedError,
    RateLimitedError,
    RequestRejectedError,
)
from mlplatform_client.router import Router


@dataclass(frozen=True)
class Launch:
    endpoint: Endpoint
    timeout: float  # for this attempt: the attempt timeout cut to the call's remaining time
    end: float  # the call's deadline (time.monotonic), for an attempt that starts late
    retry: bool
    hedge: bool


class Dispatch:
    def __init__(self, router: Router, model: str, deadline: float, hedge_after: float | None) -> None:
        self.router = router
        self.model = model
        self.deadline = deadline
        self.hedge_after = hedge_after
        self.start = time.monotonic()
        self.end = self.start + deadline
        self._queue = router.plan(model)  # raises NoHealthyTargetError
        self._launched = 0
        self._hedged = False
        self._last_started = self.start
        self._not_before = 0.0  # a 429's retry waits until then (time.monotonic)
        self._rate_retried = False
        self.attempts: list[Attempt] = []

    def remaining(self) -> float:
        return self.end - time.monotonic()

    def next_launch(self, *, hedge: bool = False) -> Launch | None:
        """The next target that may be tried now, or None when the plan is used up."""
        while self._queue:
            endpoint = self._queue.pop(0)
            if not self.router.acquire(endpoint.name):
                continue  # its breaker opened since the plan was made
            retry = self._launched > 0 and not hedge
            self.router.started(endpoint.name, retry=retry, hedge=hedge)
            self._last_started = time.monotonic()
            self._launched += 1
            self._hedged = self._hedged or hedge
            timeout = min(self.router.options.attempt_timeout, max(self.remaining(), 0.0))
            return Launch(endpoint, timeout, self.end, retry, hedge)
        return None

    def pause(self) -> float:
        """Seconds to wait before the next launch: a 429's Retry-After still running, else 0."""
        return max(0.0, min(self._not_before - time.monotonic(), self.remaining()))

    def wait_time(self, running: int) -> float:
        """How long to wait for an attempt to finish before acting: until the hedge is due or the deadline."""
        remaining = self.remaining()
        if self._hedge_possible(running):
            assert self.hedge_after is not None
            return max(0.0, min(remaining, self._last_started + self.hedge_after - time.monotonic()))
        return max(0.0, remaining)

    def hedge_due(self, running: int) -> bool:
        return (
            self._hedge_possible(running)
            and self.hedge_after is not None
            and time.monotonic() >= self._last_started + self.hedge_after
        )

    def _hedge_possible(self, running: int) -> bool:
        return (
            self.hedge_after is not None
            and not self._hedged
            and running == 1
            and bool(self._queue)
            and self.router.hedging_allowed()
        )

    def check_deadline(self, in_flight: list[str]) -> None:
        """Raise DeadlineExceededError once the call's time is up, naming the targets still in flight."""
        if self.remaining() <= 0:
            raise self.expired(in_flight)

    def is_answer(self, attempt: Attempt) -> bool:
        """Record a finished attempt. True: its answer is the call's. False: that target failed, go on (the next
        target starts once nothing else is running). Raises RequestRejectedError on the caller's own error (a 4xx)."""
        self.attempts.append(attempt)
        if attempt.outcome is Outcome.REJECTED:
            if attempt.status in (401, 403):
                raise self._failed(NotAuthorizedError(self.model, attempt))
            raise self._failed(RequestRejectedError(self.model, attempt))
        if attempt.outcome is Outcome.RATE_LIMITED:
            self._retry_after_limit(attempt)
        return attempt.outcome is Outcome.OK

    def _retry_after_limit(self, attempt: Attempt) -> None:
        """Queue the one retry on the same target after its Retry-After, or raise RateLimitedError."""
        self._hedged = True  # no hedge for the rest of this call
        wait = attempt.retry_after
        if self._rate_retried:
            reason = "limited again after waiting for Retry-After"
        elif wait is None:
            reason = "no Retry-After to wait for"
        elif wait >= self.remaining():
            reason = f"Retry-After {wait:g} s ends past the call's deadline ({max(self.remaining(), 0):.3g} s left)"
        else:
            self._rate_retried = True
            self._not_before = time.monotonic() + wait
            endpoint = next(e for e in self.router.endpoints if e.name == attempt.target)
            self._queue = [endpoint]  # only this target: the other targets would spend the same limit again
            return
        raise self._failed(RateLimitedError(self.model, attempt, reason))

    def exhausted(self) -> MultiCloudError:
        """Nothing is running and no target is left."""
        if not self.attempts:  # every planned target's breaker opened (or a half-open trial was taken) meanwhile
            return self._failed(NoHealthyTargetError(self.model, self.router.states()))
        tried = [a for a in self.attempts if a.outcome is not Outcome.CANCELLED]
        if tried and all(a.outcome is Outcome.NOT_SERVED for a in tried):
            return self._failed(ModelNotFoundError(self.model, tried))
        if tried and all(a.outcome is Outcome.MALFORMED for a in tried):
            return self._failed(MalformedAnswerError(self.model, tried))
        return self._failed(AllTargetsFailedError(self.model, tried))

    def expired(self, in_flight: list[str]) -> MultiCloudError:
        return self._failed(DeadlineExceededError(self.model, self.deadline, self.attempts, in_flight))

    def _failed(self, error: MultiCloudError) -> MultiCloudError:
        self.router.call_failed(error)
        return error
