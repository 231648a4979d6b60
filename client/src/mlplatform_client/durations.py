"""The one rule for every time argument the client takes: a number of seconds greater than 0, at most a day.

Deadlines, timeouts, the probe interval, the hedge delay, the breaker's cool-down, a token endpoint's
timeout: each is a real number of seconds (an int or a float, never a bool), > 0 and at most MAX_SECONDS
(a day: no call waits that long, and a longer wait overflows the platform's timers, threading.TIMEOUT_MAX
being about 9.2e9 s on Linux, so "finite" alone would not do). A server's Retry-After is waited for only
within the call's deadline, so it is bounded by the same rule. Where an
argument may be left out, None means "the default" (a call's deadline) or "off" (probes, hedging),
and nothing else does: 0 is not "the default", it is refused like a negative number, NaN (which
compares false with everything, so a loop waiting on it never ends) or infinity. The error names the
argument, so a caller knows which one to fix.
"""

from __future__ import annotations

import math

from mlplatform_client.errors import ConfigError, MultiCloudError

MAX_SECONDS = 86_400.0


def seconds(name: str, value: object, error: type[MultiCloudError] = ConfigError, *, zero: bool = False) -> float:
    """`value` as seconds, or `error` naming `name`. `zero=True` lets 0 through (a slack, not a wait)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise error(f"{name} must be a number of seconds, got {_shown(value)}")
    if not math.isfinite(value) or value < 0 or (value == 0 and not zero) or value > MAX_SECONDS:
        low = ">= 0" if zero else "> 0"
        raise error(f"{name} must be a finite number of seconds {low} and at most {MAX_SECONDS:g}, got {value!r}")
    return float(value)


def optional_seconds(name: str, value: object, error: type[MultiCloudError] = ConfigError) -> float | None:
    """None (off, or the default) or seconds as `seconds` takes them."""
    return None if value is None else seconds(name, value, error)


def _shown(value: object) -> str:
    text = repr(value)
    return f"{type(value).__name__} {text[:60]}{'...' if len(text) > 60 else ''}"
