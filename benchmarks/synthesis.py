"""How fast preflight synthesizes a plan, against the bare SDK under the same mocks.

Prints, for the prod stack and for generated stacks of 1 to 12 targets: resources,
seconds (the best of three runs, after a warm-up that pays the SDK imports), and the
ratio to the bare SDK running the same program under the same mock answers with its own
MockMonitor, which records and transforms nothing. Targets on a 2-core machine: prod at most
5 s; per-resource cost at most 1.5x the bare SDK's. Last, how long `preflight timeline` takes
on the prod plan (best of RUNS, the create-time table already read); target at most 100 ms.
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pulumi.runtime import mocks as pulumi_mocks

from preflight.mock_outputs import MockContext, invoke_result, plausible_outputs
from preflight.recorder import RecordingMonitor
from preflight.stack_files import StackFile, config_from_mapping, load_stack
from preflight.synthesize import PROJECT_DIR, run_program, synthesize
from preflight.timeline import build_timeline, load_create_times

RUNS = 3
PROD_TARGET_S = 5.0
RATIO_TARGET = 1.5
GROWTH = (1, 3, 6, 12)  # targets, spread over the three clouds
GROWTH_LABEL = "{n} target{s}, all clouds"
REGIONS = {
    "aws": ["us-east-1", "us-west-2", "eu-west-1", "ap-northeast-1"],
    # GCP regions with T4s in 3 zones (prod's GPU pools need them; asia-northeast1 has 2).
    "gcp": ["us-central1", "europe-west4", "asia-southeast1", "us-east4"],
    "azure": ["eastus", "westeurope", "japaneast", "westus3"],
}


class BareMonitor(pulumi_mocks.MockMonitor):
    """The SDK's own mock monitor: same mock answers as preflight, nothing recorded or transformed."""

    def __init__(self) -> None:
        super().__init__(SameAnswers())

    @property
    def count(self) -> int:
        return len(self.resources) + 1  # the Stack resource is not kept


class SameAnswers(pulumi_mocks.Mocks):
    """Resources and invokes answered from preflight's tables, so the program takes the same path."""

    def new_resource(self, args: pulumi_mocks.MockResourceArgs) -> tuple[str | None, dict]:
        context = MockContext(
            urn=f"{args.typ}::{args.name}", type=args.typ, name=args.name, inputs=args.inputs, provider_inputs={}
        )
        resource_id, extra = plausible_outputs(context)
        return resource_id, {**args.inputs, **extra}

    def call(self, args: pulumi_mocks.MockCallArgs) -> tuple[dict, list[tuple[str, str]]]:
        return invoke_result(args.token, args.args), []


PUBLISHERS = {  # one principal of each cloud's kind
    "aws": "arn:aws:iam::111122223333:role/bench-publisher",
    "gcp": "serviceAccount:publisher@mlplatform-bench.iam.gserviceaccount.com",
    "azure": "00000000-0000-0000-0000-000000000001",
}


def generated_stack(per_cloud: dict[str, int], environment: str = "prod") -> StackFile:
    targets: list[dict[str, str]] = []
    for cloud, count in per_cloud.items():
        for region in REGIONS[cloud][:count]:
            target = {"cloud": cloud, "region": region}
            if cloud == "gcp":
                target["project"] = "mlplatform-bench"
            targets.append(target)
    values = {
        "environment": environment,
        "owner": "bench",
        "costCenter": "bench",
        "targets": targets,
        "apiAllowedCidrs": ["203.0.113.0/24"],
        # prod names the roles that deploy and preview, so each gets an EKS access entry
        "eksAccess": {
            "deployRole": "arn:aws:iam::111122223333:role/bench-deploy",
            "previewRole": "arn:aws:iam::111122223333:role/bench-preview",
        },
        # prod authenticates callers at every gateway
        "auth": {
            "issuers": [
                {
                    "issuer": "https://issuer.example.com",
                    "jwksUri": "https://issuer.example.com/jwks.json",
                    "audiences": ["mlplatform"],
                }
            ],
            "models": {"fraud-detection": {"groups": ["bench"]}},
        },
        # prod serves only signed versions from named publishers, on every cloud with a target (no model sync here)
        "modelPublishing": {
            "publicKey": "0gC9MD/yaQGnC4QYY99fFihsGHmYJ4ud7htCB36eBXw=",
            "publishers": {cloud: [PUBLISHERS[cloud]] for cloud in per_cloud if per_cloud[cloud]},
        },
        # Weighted: latency routing would refuse two targets near one AWS region (aws us-east-1, gcp us-east4).
        "dns": {"zone": "bench.example.com", "mode": "weighted"},
        # prod pages someone; an e-mail receiver without login needs no secret config key
        "alerting": {
            "receivers": [
                {
                    "name": "oncall",
                    "kind": "email",
                    "to": "oncall@example.com",
                    "from": "am@example.com",
                    "smarthost": "smtp.example.com:587",
                }
            ],
            "routes": {"critical": ["oncall"]},
        },
        "models": [
            {
                "name": "fraud-detection",
                "accelerator": "T4",
                "stable": {"name": "v1", "path": "fraud-detection/v1", "weight": 90},
                "canary": {"name": "v2", "path": "fraud-detection/v2", "weight": 10},
            }
        ],
    }
    return config_from_mapping("mlplatform", f"bench{len(targets)}", values)


def timed(stack: StackFile, monitor_class: type) -> tuple[int, float]:
    times = []
    count = 0
    for _ in range(RUNS):
        monitor = monitor_class()
        start = time.perf_counter()
        run_program(stack, monitor, PROJECT_DIR)
        times.append(time.perf_counter() - start)
        count = len(monitor.recording.registrations) if isinstance(monitor, RecordingMonitor) else monitor.count
    return count, min(times)  # best of RUNS: the least disturbed by other work on the machine


@dataclass(frozen=True)
class Row:
    label: str
    resources: int
    seconds: float  # preflight, best of RUNS
    bare_seconds: float  # the bare SDK, best of RUNS

    @property
    def ratio(self) -> float:
        return self.seconds / self.bare_seconds

    @property
    def ms_per_resource(self) -> float:
        return 1000 * self.seconds / self.resources


@dataclass(frozen=True)
class Figures:
    first_seconds: float  # the first synthesis in a fresh process, imports included
    rows: tuple[Row, ...]  # prod first, then the generated stacks (single cloud, then 1 to 12 targets)


def row(label: str, stack: StackFile) -> Row:
    resources, ours = timed(stack, RecordingMonitor)
    _, bare = timed(stack, BareMonitor)
    measured = Row(label, resources, ours, bare)
    print(
        f"{label:<28} {resources:>9} {ours:>9.3f} {bare:>9.3f} {measured.ratio:>7.2f} {measured.ms_per_resource:>9.2f}"
    )
    return measured


def measure() -> Figures:
    """Every row, printed as it is measured (README.md's synthesis table is written from these: make docs)."""
    start = time.perf_counter()
    run_program(load_stack(PROJECT_DIR, "prod"), RecordingMonitor(), PROJECT_DIR)
    first = time.perf_counter() - start
    print(f"first synthesis in a fresh process (imports included): {first:.2f} s\n")

    print(f"{'stack':<28} {'resources':>9} {'preflight':>9} {'bare SDK':>9} {'ratio':>7} {'ms/res':>9}")
    rows = [row("prod (Pulumi.prod.yaml)", load_stack(PROJECT_DIR, "prod"))]
    rows += [row(f"{cloud} only, 4 regions", generated_stack({cloud: 4})) for cloud in ("aws", "gcp", "azure")]
    rows += [row(GROWTH_LABEL.format(n=n, s="s" if n > 1 else ""), generated_stack(split(n))) for n in GROWTH]
    return Figures(first, tuple(rows))


def main() -> None:
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores before the run")
    figures = measure()
    prod, small, large = figures.rows[0], figures.rows[-len(GROWTH)], figures.rows[-1]
    print(
        f"\n1 -> 12 targets: resources x{large.resources / small.resources:.1f},"
        f" seconds x{large.seconds / small.seconds:.1f}"
        f" (per resource {small.ms_per_resource:.2f} -> {large.ms_per_resource:.2f} ms)"
    )
    verdict = "met" if prod.seconds <= PROD_TARGET_S else "MISSED"
    print(f"targets: prod <= {PROD_TARGET_S:g} s: {verdict} ({prod.seconds:.2f} s); ", end="")
    worst = max(r.ratio for r in figures.rows)
    verdict = "met" if worst <= RATIO_TARGET else "MISSED"
    print(f"per-resource cost <= {RATIO_TARGET:g}x bare SDK: {verdict} (worst {worst:.2f}x)")
    timeline_row()


def timeline_row() -> None:
    """`preflight timeline` on the prod plan: the critical path of a few hundred resources, best of RUNS."""
    plan = synthesize(load_stack(PROJECT_DIR, "prod"))
    load_create_times()
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        build_timeline(plan)
        times.append(time.perf_counter() - start)
    ms = 1000 * min(times)
    verdict = "met" if ms <= 100 else "MISSED"
    print(f"preflight timeline on prod ({len(plan.resources)} resources): {ms:.1f} ms; target <= 100 ms: {verdict}")


def split(total: int) -> dict[str, int]:
    """n targets spread over the three clouds, AWS first."""
    counts = {"aws": 0, "gcp": 0, "azure": 0}
    for i in range(total):
        counts[("aws", "gcp", "azure")[i % 3]] += 1
    return counts


if __name__ == "__main__":
    main()
