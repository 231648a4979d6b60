"""The drill's result: answers per client region, the survivors' capacity, the verdict and its exit code.

Capacity is judged twice: with nothing failed (the baseline), then with the failed targets gone. A
shortfall that exists before any failure is reported as such (`insufficient-before-failure`), not
blamed on the failure; a failure is blamed (`insufficient-capacity`) only when it causes the
shortfall or deepens it. A stack that serves no models has no capacity to judge: only the answers
decide its verdict.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from components.global_dns.contract import RoutingMode
from preflight.drill.answers import Answer
from stacks.dns_config import PROPAGATION_ALLOWANCE, DnsConfig

EXIT_OK = 0
EXIT_CLIENTS_HURT = 1  # some client region has no answer, or the survivors cannot carry the peak


@dataclass(frozen=True)
class DrillReport:
    project: str
    stack: str
    mode: RoutingMode
    targets: tuple[str, ...]
    failed: tuple[str, ...]
    dns: DnsConfig
    answers: Mapping[str, tuple[Answer, ...]]
    serving: tuple[str, ...]  # surviving targets Route 53 still answers with
    target_rps: int  # what one target carries at its maximum replicas
    formula: str
    notes: tuple[str, ...] = ()
    baseline_serving: tuple[str, ...] | None = None
    """Targets Route 53 answers with while nothing has failed; None: not worked out (every shortfall is blamed)."""
    serves_models: bool = True
    """False when mlplatform:models is empty: no target carries inference traffic, capacity is not judged."""
    add_capacity_seconds: int | None = None
    """How long the answered survivors take to add a replica: the slowest cold start of a model on a new GPU node
    among them (components/cold_start.py, `preflight coldstart`); None: no survivor serves a model."""

    @property
    def full_capacity_seconds(self) -> int | None:
        """Worst case from the failure until the survivors can run their maximum replicas: clients move, then the
        new replicas start."""
        if self.add_capacity_seconds is None:
            return None
        return self.dns.failover_seconds + self.add_capacity_seconds

    @property
    def no_answer(self) -> list[str]:
        return [region for region, given in self.answers.items() if not given]

    @property
    def idle(self) -> list[str]:
        return [t for t in self.targets if t not in self.failed and t not in self.serving]

    @property
    def capacity_rps(self) -> int:
        return self.target_rps * len(self.serving)

    @property
    def baseline_capacity_rps(self) -> int | None:
        return None if self.baseline_serving is None else self.target_rps * len(self.baseline_serving)

    @property
    def baseline_verdict(self) -> str:
        """Capacity before any failure: ok, insufficient-capacity, or not-judged (no models, or not worked out)."""
        baseline = self.baseline_capacity_rps
        if not self.serves_models or baseline is None:
            return "not-judged"
        return "ok" if baseline >= self.dns.peak_rps else "insufficient-capacity"

    @property
    def verdict(self) -> str:
        if self.no_answer:
            return "no-answer"
        if not self.serves_models or self.capacity_rps >= self.dns.peak_rps:
            return "ok"
        baseline = self.baseline_capacity_rps
        if self.baseline_verdict == "insufficient-capacity" and baseline is not None and self.capacity_rps >= baseline:
            return "insufficient-before-failure"  # the failure changes nothing: the shortfall was there already
        return "insufficient-capacity"

    @property
    def exit_code(self) -> int:
        """1 when clients are hurt at peak: by the failure, or already before it."""
        hurt = self.verdict != "ok" or self.baseline_verdict == "insufficient-capacity"
        return EXIT_CLIENTS_HURT if hurt else EXIT_OK

    def to_json(self) -> dict[str, Any]:
        return {
            "stack": self.stack,
            "failed": list(self.failed),
            "mode": self.mode,
            "failoverSeconds": self.dns.failover_seconds,
            "failoverParts": {
                "healthCheckInterval": self.dns.health_check_interval,
                "failureThreshold": self.dns.failure_threshold,
                "ttl": self.dns.ttl,
                "propagation": PROPAGATION_ALLOWANCE,
            },
            "answers": {region: [a.target for a in given] for region, given in self.answers.items()},
            "shares": {region: {a.target: round(a.share, 4) for a in given} for region, given in self.answers.items()},
            "noAnswer": self.no_answer,
            "serving": list(self.serving),
            "idle": self.idle,
            "capacityRps": self.capacity_rps,
            "peakRps": self.dns.peak_rps,
            "baseline": {"capacityRps": self.baseline_capacity_rps, "verdict": self.baseline_verdict},
            "addCapacitySeconds": self.add_capacity_seconds,
            "fullCapacityWithinSeconds": self.full_capacity_seconds,
            "verdict": self.verdict,
            "notes": list(self.notes),
        }
