"""Routing strategies: which target a request tries first, and in what order the others follow.

A strategy sees the targets whose breakers are closed (never the ones known to be failing) and returns
them in the order to try; the client appends half-open targets and moves on down the list when a target
fails. It is called under the client's lock, so it may keep state (counters) without locking.

Adding a strategy is one small class: subclass `Strategy`, give it a `name`, implement `order`
(and `bind`, to check its settings against the endpoints once), and pass an instance as `strategy=`.
"""

from __future__ import annotations

import math
import os
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from mlplatform_client import regions
from mlplatform_client.durations import seconds
from mlplatform_client.endpoints import Endpoint
from mlplatform_client.errors import ConfigError


@dataclass(frozen=True)
class TargetView:
    """What a strategy may know of a target: its endpoint and its latency moving average (None before a sample)."""

    endpoint: Endpoint
    latency: float | None

    @property
    def name(self) -> str:
        return self.endpoint.name


class Strategy(ABC):
    name: ClassVar[str]

    def bind(self, endpoints: Sequence[Endpoint]) -> None:  # noqa: B027 - optional hook, most strategies need none
        """Check the strategy's settings against the client's endpoints, once; raise ConfigError if they do not fit."""

    @abstractmethod
    def order(self, targets: Sequence[TargetView]) -> list[TargetView]:
        """The healthy targets (in the client's endpoint order) in the order to try them; `targets` is never empty."""


def _rotate(items: Sequence[TargetView], start: int) -> list[TargetView]:
    start %= len(items)
    return [*items[start:], *items[:start]]


class RoundRobin(Strategy):
    """Each request starts at the next healthy target; the others follow in endpoint order."""

    name = "round-robin"

    def __init__(self) -> None:
        self._next = 0

    def order(self, targets: Sequence[TargetView]) -> list[TargetView]:
        ordered = _rotate(targets, self._next)
        self._next += 1
        return ordered


class Latency(Strategy):
    """The fastest target by the moving average of its probe latency.

    Targets within `tolerance` times the fastest (plus `slack` seconds, so that sub-millisecond noise
    between equally near targets does not decide) share the traffic round-robin; the rest follow,
    fastest first. A target with no sample yet counts as fastest, so it gets measured.
    """

    name = "latency"

    def __init__(self, tolerance: float = 1.5, slack: float = 0.002) -> None:
        if isinstance(tolerance, bool) or not isinstance(tolerance, (int, float)) or not 1 <= tolerance < math.inf:
            raise ConfigError(f"latency strategy: tolerance must be a finite number >= 1, got {tolerance!r}")
        self.tolerance = tolerance
        self.slack = seconds("latency strategy: slack", slack, zero=True)
        self._next = 0

    def order(self, targets: Sequence[TargetView]) -> list[TargetView]:
        by_latency = sorted(targets, key=lambda t: t.latency or 0.0)
        limit = (by_latency[0].latency or 0.0) * self.tolerance + self.slack
        band = [t for t in targets if (t.latency or 0.0) <= limit]
        rest = [t for t in by_latency if (t.latency or 0.0) > limit]
        self._next += 1
        return [*_rotate(band, self._next - 1), *rest]


class Failover(Strategy):
    """Everything to the first healthy target of an ordered list (the endpoints' order unless `order` is given)."""

    name = "failover"

    def __init__(self, order: Sequence[str] | None = None) -> None:
        self.preference = tuple(order or ())

    def bind(self, endpoints: Sequence[Endpoint]) -> None:
        names = [e.name for e in endpoints]
        unknown = [n for n in self.preference if n not in names]
        if unknown:
            raise ConfigError(
                f"failover order names unknown targets {', '.join(unknown)} (targets: {', '.join(names)})"
            )

    def order(self, targets: Sequence[TargetView]) -> list[TargetView]:
        rank = {name: i for i, name in enumerate(self.preference)}
        return sorted(targets, key=lambda t: rank.get(t.name, len(rank)))  # stable: unnamed keep endpoint order


class Weighted(Strategy):
    """Traffic in proportion to the endpoints' weights, by smooth weighted round-robin (nginx's algorithm).

    Deterministic and exact over any window of sum(weights) requests, where random choice would only
    approach the shares. Zero-weight targets get traffic only when no weighted target is healthy, as
    Route 53 treats zero weights. The others follow the first choice by weight, heaviest first.
    """

    name = "weighted"

    def __init__(self) -> None:
        self._current: dict[str, int] = {}

    def bind(self, endpoints: Sequence[Endpoint]) -> None:
        if all(e.weight == 0 for e in endpoints):
            raise ConfigError("weighted strategy: every endpoint has weight 0")

    def order(self, targets: Sequence[TargetView]) -> list[TargetView]:
        weighted = [t for t in targets if t.endpoint.weight > 0]
        if not weighted:
            return list(targets)
        total = sum(t.endpoint.weight for t in weighted)
        for t in weighted:
            self._current[t.name] = self._current.get(t.name, 0) + t.endpoint.weight
        chosen = max(weighted, key=lambda t: self._current[t.name])
        self._current[chosen.name] -= total
        rest = sorted((t for t in targets if t is not chosen), key=lambda t: -t.endpoint.weight)
        return [chosen, *rest]


class Geo(Strategy):
    """The target nearest the caller, then the others by distance.

    Regions are placed by the table GlobalDns routes by (a GCP or Azure region stands for its nearest AWS
    region) and ranked by the great-circle distance between those regions' cities, as the failover drill
    does. `region` is the caller's, as "eu-west-1" (AWS) or "gcp:europe-west4" / "azure:westeurope";
    by default it is read from MLPLATFORM_REGION, else AWS_REGION or AWS_DEFAULT_REGION.
    """

    name = "geo"
    ENVIRONMENT = ("MLPLATFORM_REGION", "AWS_REGION", "AWS_DEFAULT_REGION")

    def __init__(self, region: str | None = None) -> None:
        self.region = region
        self._distance: dict[str, float] = {}

    def bind(self, endpoints: Sequence[Endpoint]) -> None:
        region = self.region or next((os.environ[v] for v in self.ENVIRONMENT if os.environ.get(v)), None)
        if region is None:
            raise ConfigError(
                "geo strategy needs the caller's region: pass strategy=Geo(region=...) or set MLPLATFORM_REGION"
            )
        cloud, _, name = region.rpartition(":")
        caller = _aws_region(cloud or "aws", name, f"geo strategy: caller region {region!r}")
        self._distance = {
            e.name: regions.great_circle_km(
                caller, _aws_region(e.cloud, e.region, f"geo strategy: target {e.name} ({e.cloud}, {e.region!r})")
            )
            for e in endpoints
        }

    def order(self, targets: Sequence[TargetView]) -> list[TargetView]:
        return sorted(targets, key=lambda t: (self._distance[t.name], t.name))


def _aws_region(cloud: str, region: str, what: str) -> str:
    try:
        return regions.aws_region(cloud, region)
    except KeyError:
        raise ConfigError(f"{what} is not in the region table ({', '.join(regions.CLOUDS)} regions)") from None


STRATEGIES: dict[str, type[Strategy]] = {s.name: s for s in (RoundRobin, Latency, Failover, Weighted, Geo)}


def make_strategy(spec: str | Strategy) -> Strategy:
    """A strategy from its name (with default settings) or as given."""
    if isinstance(spec, Strategy):
        return spec
    try:
        return STRATEGIES[spec]()
    except (KeyError, TypeError):
        raise ConfigError(f"unknown strategy {spec!r}: choose one of {', '.join(sorted(STRATEGIES))}") from None
