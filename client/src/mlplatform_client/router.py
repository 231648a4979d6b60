"""The state every call and probe shares: per-target breakers, latency estimates and metrics, behind one lock.

Both clients (threads and asyncio) route through one Router, so they make the same decisions; they differ
only in how they wait. The lock is held for microseconds (no I/O under it), which keeps the sync client
thread-safe without making callers queue behind each other.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass

from mlplatform_client.attempts import Attempt, Outcome
from mlplatform_client.breaker import BreakerState, CircuitBreaker
from mlplatform_client.endpoints import Endpoint
from mlplatform_client.errors import MultiCloudError, NoHealthyTargetError
from mlplatform_client.metrics import ClientStats, TargetMetrics, TargetStats
from mlplatform_client.options import ClientOptions
from mlplatform_client.strategies import Strategy, TargetView

# A target that answered 404 for a model goes to the end of that model's plans for this long, so calls do
# not keep paying a round trip to learn it again; it is still tried last, and an answer clears it.
NOT_SERVED_MEMORY = 30.0


@dataclass
class _Target:
    endpoint: Endpoint
    breaker: CircuitBreaker
    metrics: TargetMetrics
    latency: float | None = None  # moving average, seconds


class Router:
    def __init__(self, endpoints: Sequence[Endpoint], strategy: Strategy, options: ClientOptions) -> None:
        strategy.bind(endpoints)
        self.strategy = strategy
        self.options = options
        self._lock = threading.Lock()
        self._targets = {
            e.name: _Target(e, CircuitBreaker(options.failure_threshold, options.cooldown), TargetMetrics())
            for e in endpoints
        }
        self._not_served: dict[tuple[str, str], float] = {}
        self._calls = self._failed_calls = self._retries = self._hedges = 0
        self._failures: dict[str, int] = {}
        self._rate_limited_until = 0.0  # no hedges before then (time.monotonic): a 429's Retry-After window
        # Without probes the latency strategy learns from requests, and requests run the half-open trials.
        self._probing = options.probe_interval is not None

    @property
    def endpoints(self) -> tuple[Endpoint, ...]:
        return tuple(t.endpoint for t in self._targets.values())

    def plan(self, model: str) -> list[Endpoint]:
        """The targets to try for one call, in order: closed breakers as the strategy orders them, and half-open ones.

        Half-open targets come last when probes run (a probe is their trial, so no caller pays for it) and
        first when they do not (one call is the trial; if it fails, that call moves on to a healthy target).
        """
        with self._lock:
            self._calls += 1
            closed, half_open = [], []
            for t in self._targets.values():
                state = t.breaker.state
                if state is BreakerState.CLOSED:
                    closed.append(TargetView(t.endpoint, t.latency))
                elif state is BreakerState.HALF_OPEN:
                    half_open.append(t.endpoint)
            ordered = [v.endpoint for v in self.strategy.order(closed)] if closed else []
            plan = ordered + half_open if self._probing else half_open + ordered
            if not plan:
                self._failed_calls += 1
                self._count_failure(NoHealthyTargetError.__name__)
                raise NoHealthyTargetError(model, self._states())
            if self._not_served:
                now = time.monotonic()
                absent = {n for (n, m), until in self._not_served.items() if m == model and until > now}
                if absent:
                    plan = [e for e in plan if e.name not in absent] + [e for e in plan if e.name in absent]
            return plan

    def acquire(self, target: str) -> bool:
        """May an attempt start on this target now? (Its breaker may have opened since the plan was made.)"""
        with self._lock:
            return self._targets[target].breaker.acquire()

    def started(self, target: str, *, retry: bool, hedge: bool) -> None:
        with self._lock:
            self._targets[target].metrics.last_request = time.monotonic()
            self._retries += retry
            self._hedges += hedge

    def finished(self, model: str, attempt: Attempt) -> None:
        """Record an attempt's outcome: metrics, the breaker, what the target serves, the latency estimate."""
        with self._lock:
            t = self._targets[attempt.target]
            t.breaker.release()
            t.metrics.outcomes[attempt.outcome] += 1
            if attempt.outcome is Outcome.CANCELLED:
                return
            if attempt.outcome is Outcome.RATE_LIMITED:  # the caller's limit, not the target's health
                hold = attempt.retry_after if attempt.retry_after is not None else 1.0
                self._rate_limited_until = max(self._rate_limited_until, time.monotonic() + hold)
                return
            if attempt.status is not None:
                t.metrics.latency.observe(attempt.duration)
            if attempt.outcome.target_failed:
                t.breaker.record_failure()
            else:
                t.breaker.record_success()
            key = (attempt.target, model)
            if attempt.outcome is Outcome.NOT_SERVED:
                self._not_served[key] = time.monotonic() + NOT_SERVED_MEMORY
            elif attempt.outcome is Outcome.OK:
                self._not_served.pop(key, None)
                if not self._probing:
                    self._observe_latency(t, attempt.duration)

    def hedging_allowed(self) -> bool:
        """False while a 429's Retry-After window is open: hedges count against the caller's rate limit."""
        with self._lock:
            return time.monotonic() >= self._rate_limited_until

    def call_failed(self, error: MultiCloudError) -> None:
        with self._lock:
            self._failed_calls += 1
            self._count_failure(type(error).__name__)

    def probed(self, target: str, ok: bool, latency: float) -> None:
        """A health probe's result: it feeds the breaker (and runs half-open trials) and the latency estimate."""
        with self._lock:
            t = self._targets[target]
            if ok:
                t.metrics.probes_ok += 1
                t.breaker.record_success()
                self._observe_latency(t, latency)
            else:
                t.metrics.probes_failed += 1
                t.breaker.record_failure()

    def states(self) -> list[str]:
        """Each target's breaker, for error messages: ["aws-us-east-1 open", ...]."""
        with self._lock:
            return self._states()

    def _states(self) -> list[str]:
        return [f"{t.endpoint.name} {t.breaker.state.value}" for t in self._targets.values()]

    def stats(self) -> ClientStats:
        with self._lock:
            targets = {name: self._target_stats(t) for name, t in self._targets.items()}
            return ClientStats(
                targets=targets,
                calls=self._calls,
                failed_calls=self._failed_calls,
                retries=self._retries,
                hedges=self._hedges,
                failures=dict(self._failures),
            )

    def _observe_latency(self, t: _Target, sample: float) -> None:
        alpha = self.options.latency_alpha
        t.latency = sample if t.latency is None else alpha * sample + (1 - alpha) * t.latency

    def _count_failure(self, kind: str) -> None:
        self._failures[kind] = self._failures.get(kind, 0) + 1

    @staticmethod
    def _target_stats(t: _Target) -> TargetStats:
        outcomes = t.metrics.outcomes
        return TargetStats(
            name=t.endpoint.name,
            cloud=t.endpoint.cloud,
            region=t.endpoint.region,
            breaker=t.breaker.state,
            times_opened=t.breaker.times_opened,
            requests=sum(outcomes.values()),
            errors=sum(n for o, n in outcomes.items() if o.target_failed),
            outcomes={o.value: n for o, n in outcomes.items()},
            latency=t.metrics.latency.snapshot(),
            latency_estimate=t.latency,
            probes_ok=t.metrics.probes_ok,
            probes_failed=t.metrics.probes_failed,
            last_request=t.metrics.last_request,
        )
