"""What one try on one target came to, and what that means for routing.

The V2 protocol gives the client five kinds of answer, and each asks for something different: a
connection error, a timeout, a 5xx or a malformed 200 (not the protocol's JSON) says the target is unwell
(try the next one, count it against the target's breaker); a 4xx says the request is wrong and will be
wrong everywhere (stop, tell the caller); a 404 says this target does not serve the model (try the next
one, the target itself is fine); a 429 says the caller is over its rate limit (wait for Retry-After and
ask the same target once more; not a fault of the target, so neither breaker nor latency hears of it).
Dispatch.is_answer (dispatch.py) applies that rule, in one place; here is only what counts against a breaker.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Outcome(StrEnum):
    OK = "ok"
    CONNECT_ERROR = "connect_error"  # refused, reset, closed mid-answer: the target is not there
    TIMEOUT = "timeout"  # no answer within the attempt's time
    SERVER_ERROR = "server_error"  # 5xx, or a 1xx/3xx (a redirect: a misconfigured endpoint)
    MALFORMED = "malformed"  # 200, but not a V2 answer: not JSON, not an object, an output without its datatype...
    REJECTED = "rejected"  # 4xx other than 404 and 429: the caller's error (401/403: its token)
    RATE_LIMITED = "rate_limited"  # 429: the caller is over its limit; the target is fine
    NOT_SERVED = "not_served"  # 404: the target does not serve this model (a gateway with no route, or the server)
    CANCELLED = "cancelled"  # a hedge that lost the race (asyncio client only; threads cannot be stopped)

    @property
    def target_failed(self) -> bool:
        """Counts against the target's circuit breaker."""
        return self in _TARGET_FAILED


_TARGET_FAILED = frozenset({Outcome.CONNECT_ERROR, Outcome.TIMEOUT, Outcome.SERVER_ERROR, Outcome.MALFORMED})


@dataclass(frozen=True)
class Attempt:
    """One request to one target: when it started (time.monotonic), how long it took, and how it ended."""

    target: str
    started: float
    duration: float
    outcome: Outcome
    status: int | None = None  # the HTTP status, when there was an answer
    detail: str = ""  # the server's error message or the exception, for error messages
    retry_after: float | None = None  # a 429's Retry-After, in seconds from when the answer came

    def describe(self) -> str:
        status = f" {self.status}" if self.status is not None else ""
        detail = f": {self.detail}" if self.detail else ""
        return f"{self.target}: {self.outcome.value}{status} after {self.duration * 1000:.0f} ms{detail}"
