"""The client's exceptions: each names what is wrong, so a caller (or a log) needs nothing else.

All derive from `MultiCloudError`; each also derives from the built-in exception a caller would
naturally catch (ValueError for configuration and for a call's own bad input, LookupError for a model
nobody serves, TimeoutError for the deadline, RuntimeError for a closed client).
"""

from __future__ import annotations

from collections.abc import Sequence

from mlplatform_client.attempts import Attempt


class MultiCloudError(Exception):
    """Base class of every error the client raises."""


class ConfigError(MultiCloudError, ValueError):
    """The client cannot be built as asked: no endpoints, an unknown strategy, an outputs file without endpoints..."""


class InvalidRequestError(MultiCloudError, ValueError):
    """A call's own input is wrong, so no target could answer it and none is asked: no model name, no inputs, a
    tensor whose shape does not fit its data, ragged nested lists, a V2 tensor dict without its datatype, a value
    JSON cannot carry (NaN), a deadline that is not a positive number of seconds. The message names the argument
    (`inputs[1]`, `deadline`, `parameters.k`) and what is wrong with it."""


class ClientClosedError(MultiCloudError, RuntimeError):
    """A call on a client that was closed (`close()`, `aclose()`, or the end of its `with` block)."""


class OutputNotFoundError(MultiCloudError, KeyError):
    """`InferResult.output(name)` for a name the answer does not have; the message lists the ones it has."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


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


class NotAuthorizedError(RequestRejectedError):
    """A gateway answered 401 (no valid token: missing, expired, wrong issuer or audience) or 403 (the token's
    caller may not call this model). The same token would get the same answer from every target, so it is
    neither retried elsewhere nor counted against the target's breaker."""

    def __init__(self, model: str, attempt: Attempt) -> None:
        super().__init__(model, attempt)
        why = (
            "401 Unauthorized: the gateway accepted no token (missing, expired, or for another issuer or audience)"
            if attempt.status == 401
            else "403 Forbidden: the token's caller may not call this model (or the token carries no caller)"
        )
        self.args = (f"{model}: {attempt.target} answered {why}: {attempt.detail or 'no detail'}",)


class RateLimitedError(RequestRejectedError):
    """A gateway answered 429 and the call could not wait: `Retry-After` missing, past the deadline, or the
    one retry on the same target was limited too. `retry_after` is the server's wait in seconds, if it gave one."""

    def __init__(self, model: str, attempt: Attempt, reason: str) -> None:
        super().__init__(model, attempt)
        self.retry_after = attempt.retry_after
        self.args = (
            f"{model}: {attempt.target} answered 429 Too Many Requests ({reason}): {attempt.detail or 'no detail'}",
        )


class TokenError(MultiCloudError):
    """No bearer token could be had: the token endpoint failed or refused, or a provider returned no token."""


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


class MalformedAnswerError(AllTargetsFailedError):
    """Every target tried answered 200 with something that is not a V2 answer (not JSON, not an object, an output
    without its datatype, a shape that does not fit the data...): each attempt names what was wrong. A malformed
    answer counts against its target like a 5xx, and the call moves on to the next target within its deadline;
    this error comes when every target the call tried answered so (a mix of failures is AllTargetsFailedError)."""

    def __init__(self, model: str, attempts: Sequence[Attempt]) -> None:
        super().__init__(model, attempts)
        self.args = (f"{model}: every target answered 200 with a malformed V2 answer: {_attempts(attempts)}",)


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
