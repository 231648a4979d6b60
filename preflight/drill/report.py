"""The drill's result: answers per client region, the survivors' capacity, the verdict and its exit code."""

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
    def verdict(self) -> str:
        if self.no_answer:
            return "no-answer"
        if self.capacity_rps < self.dns.peak_rps:
            return "insufficient-capacity"
        return "ok"

    @property
    def exit_code(self) -> int:
        return EXIT_OK if self.verdict == "ok" else EXIT_CLIENTS_HURT

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
            "verdict": self.verdict,
            "notes": list(self.notes),
        }
