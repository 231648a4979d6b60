"""How a model's new version takes traffic: the routing mode and the bounds its promotion is judged by.

`mlplatform:promotion` holds the stack-wide bounds; `mlplatform:models[].promotion` overrides them key by key, and
`mlplatform:models[].routing` picks the mode. `mlplatform models promote` reads the result from the `models` stack
output (or the stack file) and judges the canary's gateway metrics by it (client models/promotion.py).

Modes (components/serving_stack/traffic.py builds the routes):
- canary: callers are split by weight only; promotion steps the canary's weight up `steps`;
- ab: as canary, and a caller may ask for a served version with the version header (A/B by header);
- blueGreen: the header route as in ab (smoke traffic reaches the idle green version), and the weighted route is
  all or nothing: the green version's weight is 0 or 100, and promotion switches it in one step.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from stacks.validate import ConfigError, integer, mapping, number, string

ROUTING_MODES = ("canary", "ab", "blueGreen")
PROMOTION_KEYS = {"maxErrorRatio", "maxP99Seconds", "minRequests", "window", "steps"}
# A PromQL range both Prometheus 2.42 and 3.x parse alike: one whole number and one unit.
_WINDOW = re.compile(r"^[1-9][0-9]{0,4}(s|m|h)$")
_WINDOW_SECONDS = {"s": 1, "m": 60, "h": 3600}
MAX_WINDOW_SECONDS = 24 * 3600  # more is no longer "the canary's recent health"
MAX_P99_SECONDS = 3600.0
MAX_REQUESTS = 10**9


@dataclass(frozen=True)
class PromotionConfig:
    max_error_ratio: float = 0.01  # 1% of responses 5xx
    max_p99_seconds: float = 1.0
    min_requests: int = 100  # fewer in the window prove nothing: hold
    window: str = "10m"
    steps: tuple[int, ...] = (10, 25, 50, 100)  # the canary's weights; the last, 100, carries every request

    def exported(self) -> dict[str, Any]:
        """As the `models` stack output carries it (the client's names)."""
        return {
            "maxErrorRatio": self.max_error_ratio,
            "maxP99Seconds": self.max_p99_seconds,
            "minRequests": self.min_requests,
            "window": self.window,
            "steps": list(self.steps),
        }


DEFAULT = PromotionConfig()


def parse_routing(key: str, value: Any) -> str:
    mode = string(key, value)
    if mode not in ROUTING_MODES:
        raise ConfigError(key, f"{mode!r} is not a routing mode (one of: {', '.join(ROUTING_MODES)})")
    return mode


def parse_promotion(key: str, value: Any, base: PromotionConfig) -> PromotionConfig:
    """`value` (a map, or None for `base` unchanged) over `base`, key by key."""
    if value is None:
        return base
    fields = mapping(key, value, PROMOTION_KEYS)
    return PromotionConfig(
        max_error_ratio=number(f"{key}.maxErrorRatio", fields.get("maxErrorRatio", base.max_error_ratio), 0, 1),
        max_p99_seconds=number(
            f"{key}.maxP99Seconds", fields.get("maxP99Seconds", base.max_p99_seconds), 0, MAX_P99_SECONDS, above=True
        ),
        min_requests=integer(f"{key}.minRequests", fields.get("minRequests", base.min_requests), 1, MAX_REQUESTS),
        window=_window(f"{key}.window", fields.get("window", base.window)),
        steps=_steps(f"{key}.steps", fields.get("steps", list(base.steps))),
    )


def _window(key: str, value: Any) -> str:
    window = string(key, value)
    if not _WINDOW.fullmatch(window):
        raise ConfigError(key, f"{window!r} must be a whole number and one unit, s, m or h, such as 10m")
    if int(window[:-1]) * _WINDOW_SECONDS[window[-1]] > MAX_WINDOW_SECONDS:
        raise ConfigError(key, f"{window!r} is longer than 24h")
    return window


def _steps(key: str, value: Any) -> tuple[int, ...]:
    if not isinstance(value, list) or not value:
        raise ConfigError(key, "expected a list of weights ending at 100, such as [10, 25, 50, 100]")
    steps = tuple(integer(f"{key}[{i}]", step, 1, 100) for i, step in enumerate(value))
    for i in range(1, len(steps)):
        if steps[i] <= steps[i - 1]:
            raise ConfigError(f"{key}[{i}]", f"the weights must increase, {steps[i]} follows {steps[i - 1]}")
    if steps[-1] != 100:
        raise ConfigError(key, f"the last weight must be 100 (all traffic on the canary), got {steps[-1]}")
    return steps
