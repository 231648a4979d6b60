"""What the client has seen, per target: readable as frozen snapshots and exportable to Prometheus.

Counters and histograms are plain numbers updated under the Router's lock (no lock of their own);
`stats()` copies them into frozen dataclasses, and `PrometheusCollector` turns a snapshot into metric
families at scrape time, so the request path never touches prometheus_client.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

from mlplatform_client.attempts import Outcome
from mlplatform_client.breaker import BreakerState

# Upper bounds in seconds: sub-millisecond for a near gateway up to the 10 s default deadline.
LATENCY_BUCKETS: tuple[float, ...] = (
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
)  # fmt: skip
BREAKER_VALUES = {BreakerState.CLOSED: 0, BreakerState.HALF_OPEN: 1, BreakerState.OPEN: 2}


@dataclass(frozen=True)
class HistogramSnapshot:
    """Counts per bucket (not cumulative; the last one is above every bound), their sum and count."""

    bounds: tuple[float, ...]
    counts: tuple[int, ...]
    sum: float
    count: int

    def quantile(self, q: float) -> float | None:
        """The q-quantile, interpolated inside its bucket (as Prometheus's histogram_quantile); None if empty."""
        if self.count == 0:
            return None
        rank = q * self.count
        seen = 0
        for i, n in enumerate(self.counts):
            if n and seen + n >= rank:
                lower = self.bounds[i - 1] if i > 0 else 0.0
                upper = self.bounds[i] if i < len(self.bounds) else self.bounds[-1]
                return lower + (upper - lower) * (rank - seen) / n
            seen += n
        return self.bounds[-1]


class Histogram:
    def __init__(self, bounds: tuple[float, ...] = LATENCY_BUCKETS) -> None:
        self.bounds = bounds
        self.counts = [0] * (len(bounds) + 1)
        self.sum = 0.0
        self.count = 0

    def observe(self, value: float) -> None:
        self.counts[bisect.bisect_left(self.bounds, value)] += 1
        self.sum += value
        self.count += 1

    def snapshot(self) -> HistogramSnapshot:
        return HistogramSnapshot(self.bounds, tuple(self.counts), self.sum, self.count)


@dataclass(frozen=True)
class TargetStats:
    """One target as the client sees it now."""

    name: str
    cloud: str
    region: str
    breaker: BreakerState
    times_opened: int  # how often its breaker opened
    requests: int  # attempts sent to it
    errors: int  # attempts that counted against it (connection errors, timeouts, 5xx)
    outcomes: Mapping[str, int]  # attempts by Outcome value
    latency: HistogramSnapshot  # of attempts that got an answer
    latency_estimate: float | None  # the moving average the latency strategy uses, seconds
    probes_ok: int
    probes_failed: int
    last_request: float | None  # time.monotonic() at the start of the latest attempt


@dataclass(frozen=True)
class ClientStats:
    targets: Mapping[str, TargetStats]
    calls: int  # predict/metadata calls
    failed_calls: int  # calls that raised (the caller's 4xx included)
    retries: int  # attempts after a failed one
    hedges: int  # second requests sent because the first was slow
    failures: Mapping[str, int] = field(default_factory=dict)  # failed calls by exception class


class TargetMetrics:
    """Mutable counters for one target; the Router snapshots them."""

    def __init__(self) -> None:
        self.outcomes: dict[Outcome, int] = dict.fromkeys(Outcome, 0)
        self.latency = Histogram()
        self.probes_ok = 0
        self.probes_failed = 0
        self.last_request: float | None = None


class PrometheusCollector(Collector):
    """Exports a client's stats at scrape time: `prometheus_client.REGISTRY.register(client.prometheus_collector())`."""

    def __init__(self, stats: Callable[[], ClientStats], prefix: str = "mlplatform_client") -> None:
        self._stats = stats
        self._prefix = prefix

    def collect(self) -> Iterator[Metric]:
        s = self._stats()
        p = self._prefix
        attempts = CounterMetricFamily(
            f"{p}_attempts", "Requests sent to a target, by outcome.", labels=["target", "outcome"]
        )
        latency = HistogramMetricFamily(
            f"{p}_attempt_duration_seconds", "Time to a target's answer.", labels=["target"]
        )
        breaker = GaugeMetricFamily(
            f"{p}_breaker_state", "Circuit breaker: 0 closed, 1 half-open, 2 open.", labels=["target"]
        )
        opened = CounterMetricFamily(f"{p}_breaker_opened", "Times a target's breaker opened.", labels=["target"])
        estimate = GaugeMetricFamily(
            f"{p}_latency_estimate_seconds", "Moving average of probe latency.", labels=["target"]
        )
        probes = CounterMetricFamily(f"{p}_probes", "Health probes, by result.", labels=["target", "result"])
        for name, t in sorted(s.targets.items()):
            for outcome, n in t.outcomes.items():
                attempts.add_metric([name, outcome], n)
            cumulative, buckets = 0, []
            for bound, n in zip((*t.latency.bounds, float("inf")), t.latency.counts, strict=True):
                cumulative += n
                buckets.append((_le(bound), cumulative))
            latency.add_metric([name], buckets, t.latency.sum)
            breaker.add_metric([name], BREAKER_VALUES[t.breaker])
            opened.add_metric([name], t.times_opened)
            if t.latency_estimate is not None:
                estimate.add_metric([name], t.latency_estimate)
            probes.add_metric([name, "ok"], t.probes_ok)
            probes.add_metric([name, "failed"], t.probes_failed)
        calls = CounterMetricFamily(f"{p}_calls", "Calls made through the client, by result.", labels=["result"])
        calls.add_metric(["ok"], s.calls - s.failed_calls)
        calls.add_metric(["failed"], s.failed_calls)
        yield from (attempts, latency, breaker, opened, estimate, probes, calls)
        yield CounterMetricFamily(f"{p}_retries", "Attempts made after a failed one.", value=s.retries)
        yield CounterMetricFamily(f"{p}_hedges", "Second requests sent because the first was slow.", value=s.hedges)


def _le(bound: float) -> str:
    return "+Inf" if bound == float("inf") else repr(bound)


def prometheus_text(collector: Collector) -> str:
    """The collector's metrics in Prometheus's text exposition format."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(collector)
    return generate_latest(registry).decode()
