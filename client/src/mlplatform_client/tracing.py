"""W3C trace context on every attempt, so one call can be followed through the gateway into the model server.

A call (predict, metadata) is one trace; each attempt it makes (the first try, a retry on the next target, a hedge)
is its own span, a sibling of the others under the call's span, and carries its own `traceparent` header (W3C Trace
Context, https://www.w3.org/TR/trace-context/, read 2026-12): the same trace id on every attempt, a distinct span id
on each. The gateway's Envoy and the model server continue that trace, so a failed first attempt and the retry that
answered show up side by side in the trace view.

Two ways, chosen at import:
- with the OpenTelemetry API installed (`pip install mlplatform-client[tracing]`), the call's span is a child of the
  caller's current span, the attempts are CLIENT spans under it, and the header is written by the caller's
  configured propagator (so baggage or B3 go along if the caller set them up). With the SDK configured, the spans
  are recorded and exported wherever the caller's tracer provider sends them, each attempt with its target, whether
  it was a retry or a hedge, its HTTP status and outcome;
- without it (or with the API but no SDK, whose spans have no ids), the client makes the ids itself from a CSPRNG
  and records nothing. It then marks the trace sampled, asking the platform to record its part: the gateway follows
  the caller's decision when there is one, so an unsampled header would switch tracing off for every client call.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from mlplatform_client.attempts import Attempt, Outcome

try:
    from opentelemetry import propagate as _propagate
    from opentelemetry import trace as _trace
except ImportError:  # optional: the client traces without it, recording nothing
    _trace = None  # type: ignore[assignment]
    _propagate = None  # type: ignore[assignment]

TRACEPARENT = "traceparent"
TRACER_NAME = "mlplatform_client"
_NOT_ERRORS = frozenset({Outcome.OK, Outcome.CANCELLED})  # a hedge that lost did nothing wrong


def _random_id(bits: int) -> int:
    """A non-zero random id: all zeros is the W3C spec's invalid id."""
    while True:
        value = secrets.randbits(bits)
        if value:
            return value


def traceparent(trace_id: int, span_id: int, sampled: bool = True) -> str:
    """The header's version-00 form: 00-<32 hex trace id>-<16 hex parent id>-<flags>."""
    return f"00-{trace_id:032x}-{span_id:016x}-{'01' if sampled else '00'}"


@dataclass(frozen=True)
class AttemptSpan:
    """What one attempt sends (its trace headers) and where its outcome goes (the recorded span, if any)."""

    headers: dict[str, str]
    span: Any = None  # an OpenTelemetry span, when the SDK records one

    def finished(self, attempt: Attempt) -> None:
        if self.span is None:
            return
        self.span.set_attribute("mlplatform.outcome", attempt.outcome.value)
        if attempt.status is not None:
            self.span.set_attribute("http.response.status_code", attempt.status)
        if attempt.outcome not in _NOT_ERRORS and _trace is not None:
            self.span.set_status(_trace.Status(_trace.StatusCode.ERROR, attempt.detail[:200] or None))


class CallTrace:
    """One call's trace: the parent its attempts are siblings under. Start it in the caller's context (its thread or
    task), so the call joins the caller's trace; attempts may then run on any thread."""

    def __init__(self, model: str, method: str, path: str) -> None:
        self._span: Any = None
        self._context: Any = None
        self._trace_id = 0
        if _trace is not None:
            parent = _trace.get_current_span().get_span_context()
            span = _trace.get_tracer(TRACER_NAME).start_span(f"{method} {path}", attributes={"mlplatform.model": model})
            if span.get_span_context().is_valid:  # an SDK records it
                self._span = span
                self._context = _trace.set_span_in_context(span)
                return
            if parent.is_valid:  # the API alone, inside a caller's trace propagated from elsewhere: join it
                self._trace_id = parent.trace_id
        self._trace_id = self._trace_id or _random_id(128)

    @contextmanager
    def attempt(self, target: str, *, retry: bool, hedge: bool) -> Iterator[AttemptSpan]:
        """One attempt's span and headers; the span ends when the block does."""
        if self._span is None or _trace is None or _propagate is None:
            yield AttemptSpan({TRACEPARENT: traceparent(self._trace_id, _random_id(64))})
            return
        attributes: dict[str, str | bool] = {
            "mlplatform.target": target,
            "mlplatform.retry": retry,
            "mlplatform.hedge": hedge,
        }
        span = _trace.get_tracer(TRACER_NAME).start_span(
            f"attempt {target}", context=self._context, kind=_trace.SpanKind.CLIENT, attributes=attributes
        )
        headers: dict[str, str] = {}
        _propagate.inject(headers, context=_trace.set_span_in_context(span))
        try:
            yield AttemptSpan(headers, span)
        finally:
            span.end()

    def __enter__(self) -> CallTrace:
        return self

    def __exit__(self, _type: object, error: BaseException | None, _tb: object) -> None:
        """The call is over: answered, or failed with `error`."""
        if self._span is None or _trace is None:
            return
        if error is not None:
            self._span.set_status(_trace.Status(_trace.StatusCode.ERROR, f"{type(error).__name__}: {error}"[:200]))
        self._span.end()
