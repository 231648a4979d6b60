"""Observability config (`mlplatform:observability`) and what it means for each footprint's Monitoring.

    mlplatform:observability:
      central: aws-us-east-1   # the footprint running the central Prometheus and Grafana; default: the first target
      retentionDays: 15        # how long the central Prometheus keeps the fleet's series
      recordName: metrics      # with GlobalDns, remote writes arrive at https://<recordName>.<zone>/api/v1/write
      remoteWriteTokenGeneration: 1   # change it (e.g. +1) to replace every target's remote-write token
      monthlyBudgetUsd: 2500   # the fleet's node spend a month; above it at a day's pace, SpendAboveBudgetPace fires

Without GlobalDns (dev) no name under a zone exists for the central gateway, and a gateway address is known only
after its cluster is up, so no other target could be given a URL without waiting on the central one (an edge
between targets). There, the central footprint still runs the central Prometheus and Grafana for itself, and every
other footprint keeps its metrics and alerts in its own cluster.

The stacks layer also turns the config into the figures the alert rules join against: each pool's maximum and the
hourly list price of each machine a target runs (pricing/data/prices.yaml, at the target's region; GCP N1
machines plus their attached GPUs), and OpenCost's per-unit prices derived from the same table (pricing/units.py),
so the component never reads config or the price table itself.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components.global_dns.contract import global_labels
from components.gpu_cluster.contract import GpuClusterArgs
from components.machine_catalog import machine
from components.observability import (
    AlertingSettings,
    CentralIngress,
    CentralSettings,
    FleetTarget,
    MonitoringArgs,
    NodePrice,
    PoolLimit,
    RemoteWrite,
)
from components.observability.endpoint import write_url
from components.observability.opencost import OpenCostSettings
from components.observability.prometheus import central_write_url
from components.serving_stack.contract import HEALTH_PATH
from components.target import Cloud, Target
from pricing.pricer import Pricer, catalog_hourly
from pricing.table import PriceTable, load_price_table
from pricing.units import unit_prices
from stacks.dns_config import DnsConfig
from stacks.telemetry_config import (
    TELEMETRY_KEYS,
    TelemetryConfig,
    parse_telemetry,
    telemetry_settings,
)
from stacks.validate import ConfigError, integer, mapping, number, string

OBSERVABILITY_KEYS = {
    "central",
    "retentionDays",
    "recordName",
    "remoteWriteTokenGeneration",
    "monthlyBudgetUsd",
    *TELEMETRY_KEYS,
}
MAX_BUDGET_USD = 100_000_000.0
DEFAULT_RETENTION_DAYS = 15  # kube-prometheus-stack's own default retention is 10d; a fortnight covers two weekends
DEFAULT_RECORD_NAME = "metrics"
_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")


@dataclass(frozen=True)
class ObservabilityConfig:
    central: str  # a target name
    retention_days: int = DEFAULT_RETENTION_DAYS
    record_name: str = DEFAULT_RECORD_NAME
    token_generation: int = 1
    """The remote-write tokens' generation: a new number replaces them all (components/observability/endpoint.py)."""
    telemetry: TelemetryConfig = field(default_factory=TelemetryConfig)
    """Logs and traces: retention, disk, sampling (stacks/telemetry_config.py)."""
    monthly_budget_usd: float | None = None
    """The fleet's node spend a month, for SpendAboveBudgetPace (rules/cost_fleet.yaml); None: no budget."""

    def host(self, dns: DnsConfig | None) -> str | None:
        """The central endpoint's name under the zone; None without GlobalDns."""
        return f"{self.record_name}.{dns.zone}" if dns is not None else None


def parse_observability(
    key: str, value: Any, target_names: Sequence[str], dns: DnsConfig | None
) -> ObservabilityConfig:
    fields = mapping(key, value if value is not None else {}, OBSERVABILITY_KEYS)
    central = string(f"{key}.central", fields.get("central", target_names[0]))
    if central not in target_names:
        raise ConfigError(f"{key}.central", f"{central!r} is not a target of this stack ({', '.join(target_names)})")
    record = string(f"{key}.recordName", fields.get("recordName", DEFAULT_RECORD_NAME))
    if not _LABEL.fullmatch(record):
        raise ConfigError(f"{key}.recordName", f"{record!r} is not a DNS label")
    taken = {*target_names, *(global_labels(dns.record_name) if dns is not None else ())}
    if record in taken:
        raise ConfigError(
            f"{key}.recordName", f"{record!r} is already a name in the zone (a target or the global host)"
        )
    budget = fields.get("monthlyBudgetUsd")
    return ObservabilityConfig(
        central=central,
        monthly_budget_usd=None
        if budget is None
        else number(f"{key}.monthlyBudgetUsd", budget, 0, MAX_BUDGET_USD, above=True),
        retention_days=integer(f"{key}.retentionDays", fields.get("retentionDays", DEFAULT_RETENTION_DAYS), 1, 365),
        record_name=record,
        telemetry=parse_telemetry(key, fields),
        token_generation=integer(
            f"{key}.remoteWriteTokenGeneration", fields.get("remoteWriteTokenGeneration", 1), 1, 1_000_000
        ),
    )


def pool_limits(cluster: GpuClusterArgs) -> tuple[PoolLimit, ...]:
    """Each GPU pool's maximum on this target, fallback pools included."""
    return tuple(PoolLimit(pool.name, pool.max_nodes) for pool in cluster.gpu_pools)


def node_prices(cluster: GpuClusterArgs, table: PriceTable | None = None) -> tuple[NodePrice, ...]:
    """The hourly list price of every (machine type, capacity) this target's pools can run; unpriced ones left out
    (the UnpricedNodes alert names such nodes)."""
    target = cluster.target
    pricer = Pricer(table or load_price_table(), target.cloud, target.region)
    system = cluster.system_pool  # spot where the stack chooses spot system nodes (mlplatform:costSavings)
    wanted: dict[tuple[str, str], None] = {(system.machine_type, "spot" if system.spot else "on-demand"): None}
    for pool in cluster.gpu_pools:
        for machine_type in pool.machine_types:
            wanted[(machine_type, "spot" if pool.spot else "on-demand")] = None
    prices = []
    for machine_type, capacity in wanted:
        shape = machine(target.cloud, machine_type)
        hourly = (
            catalog_hourly(pricer, shape, spot=capacity == "spot")
            if shape is not None
            else pricer.hourly("machine", machine_type, spot=capacity == "spot")
        )
        if hourly is not None:
            prices.append(NodePrice(machine_type, capacity, round(hourly, 6)))
    return tuple(prices)


def opencost_settings(
    cluster: GpuClusterArgs, mirrors: Mapping[str, pulumi.Input[str]], table: PriceTable | None = None
) -> OpenCostSettings | None:
    """OpenCost's units for this target's machines; None when the table cannot price its system machine."""
    target = cluster.target
    pricer = Pricer(table or load_price_table(), target.cloud, target.region)
    system = machine(target.cloud, cluster.system_pool.machine_type)
    names = sorted({name for pool in cluster.gpu_pools for name in pool.machine_types})
    gpu_machines = [m for name in names if (m := machine(target.cloud, name)) is not None]
    units = unit_prices(pricer, system, gpu_machines) if system else None
    if units is None:
        return None
    return OpenCostSettings(target.name, **asdict(units), image_mirrors=dict(mirrors))


@dataclass(frozen=True)
class FleetPlan:
    """What the whole stack's observability looks like: computed once, read per footprint."""

    config: ObservabilityConfig
    dns: DnsConfig | None
    fleet: tuple[FleetTarget, ...]  # the targets whose metrics reach the central Prometheus
    tokens: Mapping[str, pulumi.Output[str]]  # each sending target's remote-write token (with GlobalDns only)
    alerting: AlertingSettings = field(default_factory=AlertingSettings)  # every footprint's Alertmanager routes

    def monitoring_args(
        self,
        target: Target,
        k8s_provider: k8s.Provider,
        cluster: GpuClusterArgs,
        mirrors: Mapping[str, pulumi.Input[str]] | None = None,
    ) -> MonitoringArgs:
        """`mirrors`: the footprint's registry mirrors, through which OpenCost's and the logs-and-traces charts'
        images are pulled where they are on."""
        host = self.config.host(self.dns)
        is_central = target.name == self.config.central
        remote_write = None
        if is_central:
            remote_write = RemoteWrite(central_write_url())
        elif host is not None:
            remote_write = RemoteWrite(write_url(host), self.tokens[target.name])
        central = None
        if is_central:
            ingress = None
            if host is not None and self.dns is not None:
                tokens = tuple(self.tokens[name] for name in sorted(self.tokens))
                ingress = CentralIngress(host=host, global_host=self.dns.global_host, tokens=tokens)
            central = CentralSettings(
                fleet=self.fleet,
                retention_days=self.config.retention_days,
                ingress=ingress,
                budget_monthly_usd=self.config.monthly_budget_usd,
            )
        return MonitoringArgs(
            target=target,
            k8s_provider=k8s_provider,
            pool_limits=pool_limits(cluster),
            node_prices=node_prices(cluster),
            remote_write=remote_write,
            central=central,
            alerting=self.alerting,
            opencost=opencost_settings(cluster, mirrors or {}),
            telemetry=telemetry_settings(
                self.config.telemetry,
                central=is_central,
                host=host,
                token=self.tokens.get(target.name),
                mirrors=mirrors,
            ),
        )


def fleet_plan(
    config: ObservabilityConfig,
    dns: DnsConfig | None,
    targets: Sequence[tuple[str, Cloud, str]],
    tokens: Mapping[str, pulumi.Output[str]] | None,
    alerting: AlertingSettings | None = None,
) -> FleetPlan:
    """`targets`: (name, cloud, region). With GlobalDns every target writes centrally and is probed through its own
    name; without it only the central one writes (to its own cluster) and nothing is probed."""
    fleet = []
    for name, cloud, region in targets:
        if dns is None and name != config.central:
            continue
        url = f"https://{name}.{dns.zone}{HEALTH_PATH}" if dns is not None else None
        fleet.append(FleetTarget(name, cloud, region, url))
    return FleetPlan(
        config=config, dns=dns, fleet=tuple(fleet), tokens=dict(tokens or {}), alerting=alerting or AlertingSettings()
    )
