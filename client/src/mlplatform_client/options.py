"""The client's settings, with defaults meant for clients talking to gateways across regions and clouds."""

from __future__ import annotations

import ssl
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

from mlplatform_client.durations import optional_seconds, seconds
from mlplatform_client.errors import ConfigError


@dataclass(frozen=True)
class ClientOptions:
    """How long to wait, how often to probe, when to give up on a target.

    Every time is a finite number of seconds > 0 (0, negative, NaN and infinity are refused, naming the setting);
    None only where it says so.

    deadline:          seconds one call may take in all, every retry and hedge included (a call's own
                       `deadline=` replaces it for that call; None there means this one).
    attempt_timeout:   seconds one try on one target may take before the call moves to the next target.
    connect_timeout:   seconds to open a connection; a gateway that cannot be reached in this is skipped.
    probe_interval:    seconds between health probes of each target's ready path; None turns probes off
                       (the latency strategy then learns from requests, and a half-open breaker lets one
                       request through as its trial).
    probe_timeout:     seconds a probe may take before it counts as a failure.
    failure_threshold: consecutive failures (requests or probes) that open a target's breaker.
    cooldown:          seconds an open breaker waits before a trial may close it.
    hedge_after:       seconds after which a call still waiting sends a second request to the next target,
                       the first answer winning; None (the default) never hedges. Hedging spends up to twice
                       the server work on slow calls to cut the tail latency.
    max_connections:   connections the client keeps across all targets (and, in the sync client, threads).
    latency_alpha:     weight of the newest sample in the latency moving average.
    verify:            TLS verification: True (system CAs), a CA bundle path, or an ssl.SSLContext.
    """

    deadline: float = 10.0
    attempt_timeout: float = 5.0
    connect_timeout: float = 1.0
    probe_interval: float | None = 1.0
    probe_timeout: float = 1.0
    failure_threshold: int = 3
    cooldown: float = 5.0
    hedge_after: float | None = None
    max_connections: int = 100
    latency_alpha: float = 0.3
    verify: bool | str | ssl.SSLContext = True

    def __post_init__(self) -> None:
        # Every time setting by the one rule (durations.py): finite seconds > 0; None only where it means "off".
        for name in ("deadline", "attempt_timeout", "connect_timeout", "probe_timeout", "cooldown"):
            seconds(name, getattr(self, name))
        for name in ("probe_interval", "hedge_after"):
            optional_seconds(name, getattr(self, name))
        for name in ("failure_threshold", "max_connections"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"{name} must be an integer >= 1, got {value!r}")
        alpha = self.latency_alpha
        if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not 0 < alpha <= 1:
            raise ConfigError(f"latency_alpha must be a number in (0, 1], got {alpha!r}")
        if not isinstance(self.verify, (bool, str, ssl.SSLContext)):
            raise ConfigError(f"verify must be True, False, a CA bundle path or an ssl.SSLContext, got {self.verify!r}")

    def ssl_verify(self) -> bool | ssl.SSLContext:
        """`verify` as httpx takes it: a CA bundle path becomes a context (httpx 0.28 deprecates paths)."""
        if isinstance(self.verify, str):
            try:
                return ssl.create_default_context(cafile=self.verify)
            except (OSError, ssl.SSLError) as error:
                raise ConfigError(f"verify: cannot load CA bundle {self.verify!r}: {error}") from None
        return self.verify

    @classmethod
    def build(cls, options: ClientOptions | None, settings: Mapping[str, Any]) -> ClientOptions:
        """`options` (or the defaults) with `settings` given as keyword arguments on top; unknown names refused."""
        if options is not None and not isinstance(options, ClientOptions):
            raise ConfigError(f"options must be a ClientOptions, got {type(options).__name__}")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(settings) - known)
        if unknown:
            raise ConfigError(f"unknown client setting {', '.join(unknown)}: known are {', '.join(sorted(known))}")
        return replace(options or cls(), **settings)
