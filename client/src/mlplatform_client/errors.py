"""The client's exceptions: each names what is wrong, so a caller (or a log) needs nothing else.

All derive from `MultiCloudError`; each also derives from the built-in exception a caller would
naturally catch (ValueError for configuration, LookupError for a model nobody serves, TimeoutError
for the deadline).
"""

from __future__ import annotations

from collections.abc import Sequence

from mlplatform_client.attempts import Attempt


class MultiCloudError(Exception):
    """Base class of every error the client raises."""


class ConfigError(MultiCloudError, ValueError):
    """The client cannot be built as asked: no endpoints, an unknown strategy, an outputs file without endpoints..."""


def _attempts(attempts: Sequence[Attempt]) -> str:
    return "; ".join(a.describe() for a in attempts) if attempts else "no attempt was made"


class RequestRejectedError(MultiCloudError):
    """A target answered 4xx: the request itself is wrong, so it is not retried elsewhere."""

    def __init__(self, model: str, attempt: Attempt) -> None:
        self.model = model
        self.attempt = attempt
        self.status = attempt.status
        self.target = attempt.target
        self.detail = attempt.detail
        super().__init__(f"{model}: {attempt.target} rejected the request with {attempt.status}: {attempt.detail}")


class ModelNotFoundError(MultiCloudError, LookupError):
    """Every target asked answered 404 for the model: no target serves it."""

    def __init__(self, model: str, attempts: Sequence[Attempt]) -> None:
        self.model = model
        self.attempts = tuple(attempts)
        targets = ", ".join(a.target for a in attempts)
        super().__init__(f"no target serves model {model!r} (asked {targets})")


class AllTargetsFailedError(MultiCloudError):
    """Every target that could be tried failed (connection errors, timeouts, 5xx)."""

    def __init__(self, model: str, attempts: Sequence[Attempt]) -> None:
        self.model = model
        self.attempts = tuple(attempts)
        super().__init__(f"{model}: every target failed: {_attempts(attempts)}")


class NoHealthyTargetError(MultiCloudError):
    """Every target's circuit breaker is open: nothing is tried until a probe (or a cool-down) lets one back."""

    def __init__(self, model: str, states: Sequence[str]) -> None:
        self.model = model
        self.states = tuple(states)
        super().__init__(f"{model}: no healthy target ({', '.join(states)})")


class DeadlineExceededError(MultiCloudError, TimeoutError):
    """The call's overall deadline passed before any target answered."""

    def __init__(self, model: str, deadline: float, attempts: Sequence[Attempt], in_flight: Sequence[str]) -> None:
        self.model = model
        self.deadline = deadline
        self.attempts = tuple(attempts)
        self.in_flight = tuple(in_flight)
        parts = [a.describe() for a in attempts]
        if in_flight:
            parts.append(f"still waiting on {', '.join(in_flight)}")
        super().__init__(
            f"{model}: no answer within the {deadline:g} s deadline: {'; '.join(parts) or 'no attempt made'}"
        )
