"""Quotas: what the plan can reach, per cloud quota, region and capacity type, by the cloud's own names.

Every node pool counts at its maximum (the autoscaler may reach it), on-demand fallback pools included, and
system pools too; a few resource types count one each (EKS clusters, Elastic IPs, VPCs). Spot and on-demand
land on different quotas on every cloud (AWS's spot request quotas, GCP's PREEMPTIBLE_* quotas, Azure's
low-priority vCPUs), so a plan that fits one can still fail on the other. A machine type that the machine
catalog or the quota table does not know is reported as blocking, never skipped: doctor cannot say what it needs.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from components import machine_catalog
from preflight.doctor.findings import OFFLINE, Finding
from preflight.doctor.quota_table import Quota, QuotaTable, load_quota_table
from preflight.doctor.targets import TargetInfo, targets_of
from preflight.node_pools import NodePool, pools_of
from preflight.plan import Plan

SECTION = "quota"


@dataclass
class _Need:
    cloud: str
    where: str  # a region, or "all regions"
    quota: Quota
    targets: set[str] = field(default_factory=set)
    amount: int = 0
    parts: list[str] = field(default_factory=list)


def quota_findings(plan: Plan, table: QuotaTable | None = None) -> list[Finding]:
    table = table or load_quota_table()
    targets = targets_of(plan)
    needs: dict[tuple[str, str, str], _Need] = {}
    findings: list[Finding] = []

    def add(target: TargetInfo, quota: Quota, amount: int, part: str) -> None:
        where = "all regions" if quota.global_scope else target.region
        need = needs.setdefault((target.cloud, where, quota.name), _Need(target.cloud, where, quota))
        need.targets.add(target.name)
        need.amount += amount
        need.parts.append(part)

    for target, pool in _pools(plan, targets):
        problem = _unmapped(table, pool)
        if problem:
            findings.append(
                Finding(
                    target.name,
                    SECTION,
                    f"pool {pool.name}",
                    problem,
                    OFFLINE,
                    "block",
                    "add the machine type to components/machine_catalog.py and its family to "
                    "preflight/data/quotas.yaml",
                )
            )
            continue
        machine = max((machine_catalog.machine(pool.cloud, t) for t in pool.machine_types), key=_vcpus)
        assert machine is not None
        nodes = int(pool.max_size)
        capacity = "spot" if pool.spot else "on-demand"
        part = f"{pool.name}: {nodes} x {machine.name} {capacity}"
        for quota in _quotas_for(table, pool, machine):
            add(target, quota, _amount(quota, machine, nodes), part)
    for resource in plan.resources:
        counted = table.resources.get(resource.type)
        owner = targets.get(plan.target_of(resource) or "")
        if counted is not None and owner is not None:
            add(owner, counted, 1, resource.name)
    findings.extend(_finding(need) for need in needs.values())
    return findings


def _pools(plan: Plan, targets: dict[str, TargetInfo]) -> Iterator[tuple[TargetInfo, NodePool]]:
    for resource in plan.resources:
        target = targets.get(plan.target_of(resource) or "")
        if target is None:
            continue
        for pool in pools_of(resource.type, resource.inputs, resource.name):
            yield target, pool


def _unmapped(table: QuotaTable, pool: NodePool) -> str | None:
    if not pool.machine_types:
        return "no machine type in the plan: its quota is unknown"
    for machine_type in pool.machine_types:
        if machine_catalog.machine(pool.cloud, machine_type) is None:
            return f"{machine_type} is not in the machine catalog: its vCPUs and GPUs are unknown"
        if table.family(pool.cloud, machine_type) is None:
            return f"{machine_type} maps to no quota in quotas.yaml: its quota is unknown"
    return None


def _vcpus(machine: machine_catalog.MachineType | None) -> int:
    return machine.vcpus if machine else 0


def _quotas_for(table: QuotaTable, pool: NodePool, machine: machine_catalog.MachineType) -> list[Quota]:
    family = table.family(pool.cloud, machine.name)
    assert family is not None
    quotas = list(family.spot if pool.spot else family.on_demand)
    on_demand, spot = table.regional.get(pool.cloud, ((), ()))
    quotas.extend(spot if pool.spot else on_demand)
    if pool.cloud == "gcp" and machine.accelerator:
        accelerator = machine_catalog.GCP_ACCELERATOR_TYPES[machine.accelerator]
        by_model = table.gpu_spot if pool.spot else table.gpu_on_demand
        if accelerator in by_model:
            quotas.append(by_model[accelerator])
        quotas.append(table.gpu_all_regions)
    return quotas


def _amount(quota: Quota, machine: machine_catalog.MachineType, nodes: int) -> int:
    per_node = {"vcpus": machine.vcpus, "gpus": machine.gpus, "nodes": 1}[quota.unit]
    return per_node * nodes


def _finding(need: _Need) -> Finding:
    quota = need.quota
    item = f"{quota.name} ({quota.code})" if quota.code else quota.name
    target = f"{need.cloud} ({need.where})" if quota.global_scope else ", ".join(sorted(need.targets))
    unit = {"vcpus": "vCPUs", "gpus": "GPUs", "nodes": ""}[quota.unit]
    needed = f"{need.amount} {unit}".strip()
    if quota.default is None:
        advice = f"the account needs at least {needed} in {need.where}: request an increase if its quota is lower"
    elif need.amount > quota.default:
        advice = f"new accounts start at {quota.default}: request {need.amount} in {need.where}"
    else:
        advice = f"within the default {quota.default} of a new account, if nothing else in {need.where} uses it"
    detail = f"{advice}; from {'; '.join(need.parts)} ({quota.source.url}, read {quota.source.read})"
    ref = {
        "cloud": need.cloud,
        "region": need.where,
        "service": quota.service,
        "code": quota.code,
        "amount": need.amount,
    }
    return Finding(target, SECTION, item, needed, OFFLINE, "check", detail, ref=ref)
