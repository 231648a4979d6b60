"""Whether a canary may take more traffic, take all of it, or must go back to 0: a pure function of Prometheus
query results, so the rule is tested on worked examples and the queries on a Prometheus separately.

Promotion takes two changes: the last step sends the canary every request while the old stable version keeps
running with weight 0; the next `promote`, if the evidence at 100% holds, makes the canary stable and drops the old
version, whose Deployment `pulumi up` deletes only after its route has sent it nothing for a whole deployment.

Evidence is what the gateway saw (Istio's standard metrics, scraped from the ingress gateway: reporter="source",
the model's Service as `destination_service_name`, the version's pod label `version` as `destination_version`):
- error ratio: 5xx responses over all responses to the canary in the window;
- p99 latency: histogram_quantile(0.99) over istio_request_duration_milliseconds' classic buckets;
- requests: how many the canary answered in the window (too few prove nothing: hold).
The queries use only instant vectors of rate()/increase() over a range, sum by, a regex on the response code,
`or vector(0)` and histogram_quantile over classic buckets, which Prometheus 2.42 (Debian's) and 3.x evaluate alike;
3.x normalises `le` label values at scrape ("1.0" -> "1"), which histogram_quantile reads as numbers either way.
The evidence is what callers got: with the route's retries, a 5xx that a retry turned into a 200 is not an error
here (Istio reports one request with its final code), so a canary failing a third of its attempts shows about 1/27.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

STEPS = (10, 25, 50, 100)  # the canary's weight moves up these steps; at 100 it carries every request
BLUE_GREEN_STEPS = (100,)  # blueGreen: from 0 (smoke traffic by header only) to all at once


@dataclass(frozen=True)
class Bounds:
    """The stack's `promotion` (stacks/promotion_config.py has the same defaults), or command-line options."""

    max_error_ratio: float = 0.01  # 1% of responses 5xx
    max_p99_seconds: float = 1.0
    min_requests: float = 100.0  # fewer in the window: not enough evidence, hold
    window: str = "10m"  # the PromQL range the evidence is read over
    steps: tuple[int, ...] = STEPS


@dataclass(frozen=True)
class Decision:
    action: str  # step | promote | rollback | hold
    weight: int  # the canary's weight after the decision
    reason: str


def queries(model: str, version: str, window: str = "10m") -> dict[str, str]:
    """The three PromQL queries for one canary version."""
    where = f'reporter="source",destination_service_name="{model}",destination_version="{version}"'
    return {
        # A version that never failed has no 5xx series at all (Istio, like Envoy, makes a series per response code
        # on its first use): `or vector(0)` makes that 0 errors rather than no answer, which would hold forever.
        "error_ratio": f'(sum(rate(istio_requests_total{{{where},response_code=~"5.."}}[{window}])) or vector(0))'
        f" / sum(rate(istio_requests_total{{{where}}}[{window}]))",
        "p99_seconds": "histogram_quantile(0.99, sum by (le) "
        f"(rate(istio_request_duration_milliseconds_bucket{{{where}}}[{window}]))) / 1000",
        "requests": f"sum(increase(istio_requests_total{{{where}}}[{window}]))",
    }


def scalar(result: Mapping[str, Any]) -> float | None:
    """The one value of an instant-vector answer from /api/v1/query, or None when there is none (no series, NaN)."""
    if result.get("status") != "success":
        return None
    data = result.get("data", {})
    series = data.get("result", [])
    if data.get("resultType") != "vector" or len(series) != 1:
        return None
    value = float(series[0]["value"][1])
    return None if math.isnan(value) or math.isinf(value) else value


def next_weight(weight: int, steps: tuple[int, ...] = STEPS) -> int:
    return next((step for step in steps if step > weight), 100)


def decide(weight: int, bounds: Bounds, results: Mapping[str, Mapping[str, Any]]) -> Decision:
    """From the canary's current weight and the three queries' answers (queries() keys): what to do next."""
    requests = scalar(results.get("requests", {}))
    errors = scalar(results.get("error_ratio", {}))
    p99 = scalar(results.get("p99_seconds", {}))
    if errors is not None and errors > bounds.max_error_ratio:
        return Decision("rollback", 0, f"error ratio {errors:.2%} is above {bounds.max_error_ratio:.2%}")
    if p99 is not None and p99 > bounds.max_p99_seconds:
        return Decision("rollback", 0, f"p99 latency {p99:.3f} s is above {bounds.max_p99_seconds:.3f} s")
    if requests is None or requests < bounds.min_requests or errors is None or p99 is None:
        seen = 0 if requests is None else int(requests)
        return Decision("hold", weight, f"not enough evidence: {seen} requests, {bounds.min_requests:.0f} needed")
    within = f"error ratio {errors:.2%}, p99 {p99:.3f} s over {int(requests)} requests"
    if weight >= 100:
        return Decision("promote", 100, f"{within}: within bounds with all traffic, the canary becomes stable")
    target = next_weight(weight, bounds.steps)
    if target >= 100:  # the old stable stays up, unrouted, until the next promote: rollback is one weight change
        return Decision("step", 100, f"{within}: within bounds, {weight}% -> 100% (the stable version stays up idle)")
    return Decision("step", target, f"{within}: within bounds, {weight}% -> {target}%")
