"""`make docs`: the figures README.md and docs/*.md quote from the code, rewritten between markers.

A generated section sits between `<!-- BEGIN GENERATED: name -->` and `<!-- END GENERATED: name -->` lines, and
this module has one function per section that writes its body. Hand-written text around the markers stays as is.
Two kinds of section, because only one of them can be checked anywhere:

- from the code (CODE_SECTIONS): resource counts, the GPU pools' quota figures, the stack outputs, the critical
  path of `preflight timeline`, the costs of `preflight cost` and `preflight compare`. The same code gives the
  same text on every machine, so tests/test_docs.py fails when one of them is stale.
- from the benchmarks (BENCH_SECTIONS): seconds vary with the machine and its load, so they are rewritten only
  when the benchmarks are rerun (`make docs` does), and the test checks only the resource counts they quote.

    python -m docs.generate           # rewrite the code sections
    python -m docs.generate --bench   # and rerun the benchmarks to rewrite theirs (make docs)
    python -m docs.generate --check   # exit 1 naming each stale code section
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from components.machine_catalog import machine
from preflight.cli import plan_stack
from preflight.compare import compare_gpu
from preflight.cost import price_plan
from preflight.cost_model import CostReport, saving_percent
from preflight.cost_render import money
from preflight.node_pools import pools_of
from preflight.plan import Plan
from preflight.synthesize import PROJECT_DIR
from preflight.timeline import build_timeline

ROOT = PROJECT_DIR
STACKS = ("dev", "prod")
CLOUD_NAMES = {"aws": "AWS", "gcp": "GCP", "azure": "Azure"}


@dataclass
class Facts:
    """The plans the sections read, synthesized once (tests hand in their session plans)."""

    plans: dict[str, Plan] = field(default_factory=dict)

    def plan(self, stack: str) -> Plan:
        if stack not in self.plans:
            self.plans[stack] = plan_stack(ROOT, stack)
        return self.plans[stack]


# --- sections from the code ---------------------------------------------------------------------------------


def resource_counts(facts: Facts) -> str:
    """What `preflight plan` counts for each shipped stack, per target."""
    lines = ["| stack | target | resources | cloud resources | components |", "|---|---|---:|---:|---:|"]
    for stack in STACKS:
        plan = facts.plan(stack)
        groups = plan.by_target()
        for target in sorted(groups, key=lambda name: (name is None, name or "")):
            members = groups[target]
            custom = sum(1 for r in members if r.custom)
            lines.append(
                f"| {stack} | {target or 'stack-wide'} | {len(members)} | {custom} | {len(members) - custom} |"
            )
        custom = sum(1 for r in plan.resources if r.custom)
        total = len(plan.resources)
        lines.append(f"| **{stack}** | **total** | **{total}** | **{custom}** | **{total - custom}** |")
    return "\n".join(lines)


def gpu_quota(facts: Facts) -> str:
    """Each node pool of the prod stack at its maximum: the vCPUs and GPUs the quotas must allow."""
    plan = facts.plan("prod")
    lines = [
        "| target | pool | machine | capacity | max nodes | vCPUs at max | GPUs at max |",
        "|---|---|---|---|---:|---:|---:|",
    ]
    rows = []
    for resource in plan.resources:
        for pool in pools_of(resource.type, resource.inputs, resource.name):
            shape = machine(pool.cloud, pool.machine_types[0]) if pool.machine_types else None
            if shape is None:
                raise ValueError(
                    f"{resource.urn}: machine {pool.machine_types} is not in components/machine_catalog.py"
                )
            nodes = int(pool.max_size)
            capacity = "spot" if pool.spot else "on-demand"
            gpus = f"{nodes * shape.gpus} {shape.accelerator}" if shape.gpus else "0"
            target = plan.target_of(resource) or "stack-wide"
            rows.append((target, not pool.gpu, pool.name, shape.name, capacity, nodes, nodes * shape.vcpus, gpus))
    for target, _, name, machine_type, capacity, nodes, vcpus, gpus in sorted(rows):
        lines.append(f"| {target} | {name} | {machine_type} | {capacity} | {nodes} | {vcpus} | {gpus} |")
    return "\n".join(lines)


# What each stack output holds, for people: the shape (per target, secret, members) is read from the plans.
OUTPUTS: dict[str, str] = {
    "environment": "`dev` or `prod`",
    "targets": "where each target runs",
    "endpoints": "the serving gateway's address and the health path GlobalDns checks",
    "bucketUris": "the model bucket (versions are published to the primary's: docs/MODEL_SYNC.md)",
    "servingUris": "the bucket as Triton reads it",
    "bucketKeys": "the S3 model buckets' KMS keys, which `mlplatform models publish` writes under",
    "models": "each served model's stable and canary version (name, bucket path, weight), its routing (canary, ab, "
    "blueGreen) and promotion bounds, which `mlplatform models promote` reads",
    "modelRegistry": "where the MLflow model registry runs (the primary target) and its URL behind the gateway's "
    "authentication, which `mlplatform models publish` records each version in (null where nobody may reach it)",
    "clusters": "the Kubernetes cluster and its OIDC issuer",
    "kubeconfigs": "a kubeconfig for the cluster",
    "trainingOffers": "where `mlplatform jobs submit` may place a training job: the training pools with their spot and "
    "on-demand prices per GPU-hour, each team's namespace and queue, the service account, the checkpoint location "
    "(docs/TRAINING.md)",
    "imagePrefixes": "where to push images",
    "registryIds": "what image pushers are granted on: the ECR repositories' ARN pattern (with ecr:CreateRepository, "
    "a first push creates the repository), the Artifact Registry repository, the ACR registry",
    "databases": "the metadata database's address",
    "databaseUrls": "the metadata database's connection string, password included",
    "databaseCaBundles": "what belongs in the CA file every connection string names (`sslmode=verify-full`): Cloud "
    "SQL's server CA PEM; the address of the region's RDS bundle or of Azure's two root certificates",
    "monitoring": "where metrics go: the central target, the remote-write URL, which targets reach it, "
    "how to open Grafana",
    "grafanaAdminPassword": "Grafana's admin password (central target)",
    "globalUrl": "the one host name in front of every target (with `mlplatform:dns`)",
    "failoverSeconds": "how long clients take to move off a failed target (with `mlplatform:dns`)",
    "modelSync": "the primary bucket's target and the replicas the sync copies to (two targets or more)",
    "auth": "what a caller needs at the gateways (no secrets): whether they authenticate, the token issuers and "
    "audiences, the per-caller rate limits, the request size limits",
}
SECRET = "[secret]"


def stack_outputs(facts: Facts) -> str:
    """Every output either shipped stack exports, its shape read from the plans and its meaning from OUTPUTS."""
    plans = [facts.plan(stack) for stack in STACKS]
    exported = sorted({name for plan in plans for name in plan.outputs})
    undescribed = [name for name in exported if name not in OUTPUTS]
    if undescribed:
        raise ValueError(f"docs/generate.py OUTPUTS: describe the stack output(s) {', '.join(undescribed)}")
    gone = [name for name in OUTPUTS if name not in exported]
    if gone:
        raise ValueError(f"docs/generate.py OUTPUTS: no shipped stack exports {', '.join(gone)}")
    lines = ["| output | per target | secret | holds |", "|---|---|---|---|"]
    for name in sorted(OUTPUTS, key=list(OUTPUTS).index):
        values = [plan.outputs[name] for plan in plans if name in plan.outputs]
        targets = [{str(r.name) for r in plan.of_type("mlplatform:platform:Footprint")} for plan in plans]
        per_target = all(isinstance(v, dict) and set(v) in targets for v in values)
        members = [v for value in values for v in (value.values() if per_target else [value])]
        secret = all(member == SECRET for member in members)
        keys = sorted({key for member in members if isinstance(member, dict) for key in member})
        holds = OUTPUTS[name] + (f": {', '.join(f'`{key}`' for key in keys)}" if keys else "")
        lines.append(f"| `{name}` | {'yes' if per_target else ''} | {'yes' if secret else ''} | {holds} |")
    return "\n".join(lines)


def critical_path(facts: Facts) -> str:
    """The prod stack's critical path as `preflight timeline --stack prod` walks it."""
    timeline = build_timeline(facts.plan("prod"))
    lines = [
        f"Prod's critical path is about **{timeline.critical_minutes:g} minutes**, against "
        f"{timeline.serial_minutes:g} minutes if everything ran in turn (`preflight timeline --stack prod`):",
        "",
        "| finishes at (min) | takes (min) | resource type | name |",
        "|---:|---:|---|---|",
    ]
    for step in timeline.critical_path:
        lines.append(f"| {step.finishes_at:g} | {step.minutes:g} | `{step.type}` | {step.name} |")
    return "\n".join(lines)


def _saving(report: CostReport, target: str | None = None) -> str:
    chosen = [t for t in report.targets if target is None or t.name == target]
    spot_peak = sum(t.spot_totals()[1] for t in chosen)
    on_demand_peak = sum(t.spot_totals()[3] for t in chosen)
    percent = saving_percent(spot_peak, on_demand_peak)
    return "" if percent is None else f"{percent:g} %"


def cost_per_target(facts: Facts) -> str:
    """`preflight cost` of each shipped stack: idle and peak a month per target, and the spot saving."""
    lines = ["| stack | target | idle | peak | GPU spot saving at peak |", "|---|---|---:|---:|---:|"]
    for stack in STACKS:
        report = price_plan(facts.plan(stack))
        for target in report.targets:
            lines.append(
                f"| {stack} | {target.name} | {money(target.idle)} | {money(target.peak)} | "
                f"{_saving(report, target.name)} |"
            )
        lines.append(
            f"| **{stack}** | **total** | **{money(report.idle)}** | **{money(report.peak)}** | {_saving(report)} |"
        )
    return "\n".join(lines)


def cost_compare(facts: Facts) -> str:
    """`preflight compare --gpu T4 --hours 730`, in a sentence, and which clouds lack an L4."""
    comparison = compare_gpu("T4", 730)
    offers = []
    for rank, offer in enumerate(comparison.offers):
        versus = "" if rank == 0 else f" (+{offer.percent_over_cheapest:.1f} %)"
        offers.append(f"{CLOUD_NAMES[offer.cloud]} {offer.machine_type} {money(offer.total)}{versus}")
    regions = ", ".join(sorted({offer.region for offer in comparison.offers}))
    without_l4 = [CLOUD_NAMES[cloud] for cloud in compare_gpu("L4", 730).not_offered]
    verb = "lists" if len(without_l4) == 1 else "list"
    lacking = f" {' and '.join(without_l4)} {verb} no L4 machine, and the compare says so." if without_l4 else ""
    return f"A month of one T4 on demand: {', '.join(offers)}.{lacking} Prices are the default regions' ({regions})."


# --- sections from the benchmarks ---------------------------------------------------------------------------


def synthesis_speed(_: Facts) -> str:
    from benchmarks.synthesis import PROD_TARGET_S, RATIO_TARGET, measure

    load = _load()
    figures = measure()
    lines = [
        load,
        "",
        "| stack | resources | preflight s | bare SDK s | ratio | ms/resource |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for row in figures.rows:
        lines.append(
            f"| {row.label} | {row.resources} | {row.seconds:.2f} | {row.bare_seconds:.2f} | {row.ratio:.2f} | "
            f"{row.ms_per_resource:.1f} |"
        )
    prod = figures.rows[0]
    worst = max(row.ratio for row in figures.rows)
    lines += [
        "",
        f"Targets: prod synthesis at most {PROD_TARGET_S:g} s ({'met' if prod.seconds <= PROD_TARGET_S else 'MISSED'}:"
        f" {prod.seconds:.2f} s for {prod.resources} resources), per-resource cost at most {RATIO_TARGET:g}x the bare"
        f" SDK's ({'met' if worst <= RATIO_TARGET else 'MISSED'}: at most {worst:.2f}x). The first synthesis in a"
        f" fresh process took {figures.first_seconds:.1f} s, most of it importing the provider SDKs' generated"
        " modules, which the bare SDK pays too.",
    ]
    return "\n".join(lines)


def policy_speed(_: Facts) -> str:
    from benchmarks.policy import TARGET_SECONDS, measure

    load = _load()
    figures = measure()
    return (
        f"{load} `benchmarks/policy.py` runs the pack over the prod plan ({figures.resources} resources, "
        f"{figures.calls} analyzer calls), best of {figures.runs}: {figures.whole_seconds:.2f} s for the whole run, "
        f"process start included (target {TARGET_SECONDS:g} s); {figures.start_seconds:.2f} s to start the pack, "
        f"{figures.ms_per_call:.1f} ms per analyzer call."
    )


def _load() -> str:
    """How busy the machine was: the figures mean little without it."""
    return f"Measured with a load average of {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores before the run."


def client_speed(_: Facts) -> str:
    from benchmarks.client import KILL_TARGET_S, OVERHEAD_TARGET, measure

    f = measure()
    return "\n".join(
        [
            f"One run on a machine with {f.cores} cores (load average {f.load_before:.1f} before the servers started):",
            "",
            "| figure | measured | target |",
            "|---|---|---|",
            f"| per-call time vs a bare httpx POST to one server (median of {f.blocks} blocks) | {f.overhead:.2f}x "
            f"({f.client_ms:.2f} vs {f.bare_ms:.2f} ms) | at most {OVERHEAD_TARGET:g} |",
            *(
                f"| {label}, p50 / p99 | {client[0]:.1f} / {client[1]:.1f} ms (bare httpx {bare[0]:.1f} / "
                f"{bare[1]:.1f}) | |"
                for label, client, bare in f.latency
            ),
            f"| calls lost when one server is killed under {f.kill_callers} callers | {f.lost} of {f.calls:,} | 0 |",
            f"| kill to the last request that touched the dead server ({f.probe_interval:g} s probes) | "
            f"{f.last_touch_ms:.0f} ms | under {KILL_TARGET_S:g} s |",
        ]
    )


def gateway_speed(_: Facts) -> str:
    from benchmarks.gateway import TARGET, measure

    f = measure()
    verdict = "met" if f.ratio <= TARGET else "MISSED"
    return (
        f"One run on a machine with {f.cores} cores (load average {f.load_before:.1f} before the servers started): "
        f"an inference call through a real Envoy with everything the program puts on a gateway (JWT check, "
        f"authorisation, per-caller rate limit, request limits) took {f.gated_ms:.2f} ms against {f.plain_ms:.2f} ms "
        f"through a plain route to the same MLServer, {f.ratio:.3f}x (median of {f.blocks} blocks of {f.calls} "
        f"calls; {f.added_us:+.0f} us a call). Target: at most {TARGET:g}x ({verdict})."
    )


@dataclass(frozen=True)
class Section:
    file: str
    render: Callable[[Facts], str]


CODE_SECTIONS: dict[str, Section] = {
    "resource-counts": Section("README.md", resource_counts),
    "gpu-quota": Section("README.md", gpu_quota),
    "stack-outputs": Section("README.md", stack_outputs),
    "critical-path": Section("docs/ARCHITECTURE.md", critical_path),
    "cost-per-target": Section("docs/COST.md", cost_per_target),
    "cost-compare": Section("docs/COST.md", cost_compare),
}
BENCH_SECTIONS: dict[str, Section] = {
    "synthesis-speed": Section("README.md", synthesis_speed),
    "policy-speed": Section("README.md", policy_speed),
    "client-speed": Section("README.md", client_speed),
    "gateway-speed": Section("README.md", gateway_speed),
}


# --- markers --------------------------------------------------------------------------------------------------


def _pattern(name: str) -> re.Pattern[str]:
    return re.compile(
        rf"^<!-- BEGIN GENERATED: {re.escape(name)} -->\n(.*?)^<!-- END GENERATED: {re.escape(name)} -->$",
        re.DOTALL | re.MULTILINE,
    )


def section_body(text: str, name: str, where: str = "") -> str:
    """The text between a section's markers (without its blank first and last lines)."""
    found = _pattern(name).findall(text)
    if len(found) != 1:
        raise ValueError(f"{where or 'the text'}: {len(found)} sections named {name!r}, expected exactly one")
    return str(found[0]).strip("\n")


def replace_section(text: str, name: str, body: str, where: str = "") -> str:
    section_body(text, name, where)  # exactly one, or a one-line error
    begin, end = f"<!-- BEGIN GENERATED: {name} -->", f"<!-- END GENERATED: {name} -->"
    return _pattern(name).sub(lambda _: f"{begin}\n\n{body}\n\n{end}", text)


def stale_sections(facts: Facts, root: Path = ROOT) -> list[str]:
    """`file: name` for each code section whose text is not what the code gives now."""
    return [
        f"{section.file}: {name}"
        for name, section in CODE_SECTIONS.items()
        if section_body((root / section.file).read_text(), name, section.file) != section.render(facts)
    ]


def write_sections(sections: Mapping[str, Section], facts: Facts, root: Path = ROOT) -> None:
    for name, section in sections.items():
        path = root / section.file
        path.write_text(replace_section(path.read_text(), name, section.render(facts), section.file))
        print(f"docs: {section.file} {name}")


# --- what the benchmark sections quote from the code -----------------------------------------------------------


def benchmark_counts(root: Path = ROOT) -> dict[str, int]:
    """The resource counts the benchmark sections quote: each synthesis row by its label, and the policy run's."""
    text = (root / "README.md").read_text()
    counts = {
        cells[0]: int(cells[1])
        for line in section_body(text, "synthesis-speed").splitlines()
        if len(cells := [cell.strip() for cell in line.strip("|").split("|")]) > 1 and cells[1].isdigit()
    }
    policy = re.search(r"over the prod plan \((\d+) resources", section_body(text, "policy-speed"))
    if policy is None:
        raise ValueError("README.md policy-speed: no 'over the prod plan (N resources' in it")
    counts["policy: prod plan"] = int(policy.group(1))
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m docs.generate", description=__doc__.split("\n")[0])
    parser.add_argument("--bench", action="store_true", help="also rerun the benchmarks and rewrite their sections")
    parser.add_argument("--check", action="store_true", help="exit 1 naming each stale code section")
    args = parser.parse_args(argv)
    facts = Facts()
    if args.check:
        stale = stale_sections(facts)
        for entry in stale:
            print(f"docs: stale: {entry} (run make docs)", file=sys.stderr)
        return 1 if stale else 0
    write_sections(CODE_SECTIONS, facts)
    if args.bench:
        write_sections(BENCH_SECTIONS, facts)
    return 0


if __name__ == "__main__":
    sys.exit(main())
