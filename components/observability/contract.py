"""The Monitoring contract: what one footprint's observability needs, and what the central footprint adds.

Every footprint's Prometheus (kube-prometheus-stack, installed by the ServingStack) evaluates the serving alerts on
its own data and labels what it sends with its target, cloud and region. One footprint, the central one, also runs
the Prometheus that every footprint remote-writes to, the fleet alerts, and Grafana with the dashboard.

Config-dependent figures (pool sizes, prices) arrive here as data: the stacks layer reads the config and the price
table; this component only turns them into recording rules.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import pulumi
import pulumi_kubernetes as k8s

from components.observability.opencost import OpenCostSettings
from components.observability.otel_contract import TelemetrySettings
from components.target import Cloud, Target

MONITORING_API = "monitoring.coreos.com/v1"
EVALUATED_BY = "mlplatform.io/evaluated-by"  # PrometheusRule label: which Prometheus evaluates the rules
CENTRAL = "central"
CENTRAL_PROMETHEUS = "mlplatform-central"  # the Prometheus object, its Service and its pods' name label
CENTRAL_PORT = 9090
REMOTE_WRITE_PATH = "/api/v1/write"  # Prometheus's remote-write receiver (--web.enable-remote-write-receiver)
DATASOURCE_UID = "mlplatform-central"  # Grafana's data source for the central Prometheus; the dashboard names it
TOKEN_SECRET = "mlplatform-remote-write"  # the Secret holding the bearer token, in the monitoring namespace
TOKEN_KEY = "token"
# The remote write's Authorization scheme: not "Bearer", because the gateways' RequestAuthentication reads any
# `Authorization: Bearer` value as a caller's JWT and answers one that is not a JWT with 401 (istio/istio#26581).
REMOTE_WRITE_SCHEME = "Metrics"
HEALTH_JOB = "mlplatform-health"  # the blackbox probes' job label; rules/central.yaml alerts on it
# What leaves a cluster: the recording rules (the dashboard's and the alerts' figures), `up` (a target is alive),
# the central cluster's health probes, and alert states. Raw series stay in each cluster: cross-cloud egress is
# billed per GB.
REMOTE_WRITE_KEEP = "mlplatform:.+|up|probe_success|ALERTS"


@dataclass(frozen=True)
class PoolLimit:
    """A node pool's maximum on this target: the autoscaler never goes past it."""

    pool: str
    max_nodes: int


@dataclass(frozen=True)
class NodePrice:
    """What one node costs per hour, by the labels every node carries (its instance type and our capacity label)."""

    instance_type: str
    capacity: str  # "spot" or "on-demand" (components/scheduling.py)
    dollars_per_hour: float


@dataclass(frozen=True)
class FleetTarget:
    """A target whose metrics reach the central Prometheus."""

    name: str
    cloud: Cloud
    region: str
    health_url: str | None = None
    """https://<target>.<zone>/v2/health/ready with GlobalDns; None without (nothing stable to probe)."""


@dataclass(frozen=True)
class CentralIngress:
    """With GlobalDns: remote writes from other clusters arrive through the central gateway, over TLS."""

    host: str  # e.g. metrics.ml.example.com, on the central gateway's certificate
    global_host: str  # api.<zone>: the name the gateways' certificates carry, which the probes verify
    tokens: tuple[pulumi.Output[str], ...]  # one per sending cluster, each its own (Pulumi secrets)


@dataclass(frozen=True)
class CentralSettings:
    """What only the central footprint runs: the receiving Prometheus, fleet rules, probes, Grafana."""

    fleet: tuple[FleetTarget, ...]  # every target whose metrics arrive, the central one included
    retention_days: int
    ingress: CentralIngress | None = None  # None without GlobalDns: only the central cluster writes here
    budget_monthly_usd: float | None = None
    """mlplatform:observability.monthlyBudgetUsd: the fleet's node spend a month (rules/cost_fleet.yaml); None: none."""


@dataclass(frozen=True)
class RemoteWrite:
    """Where this footprint's Prometheus sends its recording rules."""

    url: str
    token: pulumi.Output[str] | None = None
    """This target's own token; None for the central cluster itself (in-cluster, fenced by a NetworkPolicy)."""


ReceiverKind = Literal["slack", "pagerduty", "webhook", "email"]
RECEIVER_KINDS: tuple[ReceiverKind, ...] = ("slack", "pagerduty", "webhook", "email")
# The severities the rules here and kube-prometheus-stack's own rules use for alerts that mean something (the chart's
# Watchdog and InfoInhibitor carry `none`).
SEVERITIES = ("critical", "warning", "info")
ALERTING_SECRET = "mlplatform-alerting"  # the Secret with the receivers' URLs and keys, in the monitoring namespace


@dataclass(frozen=True)
class EmailSettings:
    """Where an e-mail receiver sends, and how it logs in to its SMTP server (the password is the receiver's secret)."""

    to: str  # one address or several, comma-separated (Alertmanager's `to`)
    sender: str  # the From address
    smarthost: str  # host:port of the SMTP server
    auth_username: str | None = None
    require_tls: bool = True


@dataclass(frozen=True)
class AlertReceiver:
    """One place alerts go. `secret` is what would let anyone post there: the Slack or webhook URL, the PagerDuty
    routing key, the SMTP password. It stays a Pulumi secret and reaches Alertmanager only as a mounted file."""

    name: str
    kind: ReceiverKind
    secret: pulumi.Output[str] | None = None
    channel: str | None = None  # Slack: overrides the webhook's own channel
    email: EmailSettings | None = None


@dataclass(frozen=True)
class AlertRoute:
    """Alerts labelled severity=<severity> go to every receiver named (none: they are dropped)."""

    severity: str
    receivers: tuple[str, ...]


@dataclass(frozen=True)
class AlertGrouping:
    """Alertmanager's route timing; group_by `target` keeps one cluster's (or probed target's) alerts apart."""

    by: tuple[str, ...] = ("alertname", "target")
    wait: str = "30s"  # the chart's defaults for the three timings
    interval: str = "5m"
    repeat: str = "12h"


@dataclass(frozen=True)
class AlertingSettings:
    """Who hears about alerts, the same in every footprint's Alertmanager. Empty: every alert goes to `null`."""

    receivers: tuple[AlertReceiver, ...] = ()
    routes: tuple[AlertRoute, ...] = ()
    grouping: AlertGrouping = field(default_factory=AlertGrouping)


@dataclass(frozen=True)
class MonitoringArgs:
    target: Target
    k8s_provider: k8s.Provider
    pool_limits: tuple[PoolLimit, ...] = ()
    node_prices: tuple[NodePrice, ...] = ()
    remote_write: RemoteWrite | None = None
    """None: this footprint's metrics stay in its cluster (no GlobalDns, and not the central footprint)."""
    central: CentralSettings | None = None
    """Set on the central footprint only."""
    alerting: AlertingSettings = field(default_factory=AlertingSettings)
    """Receivers and routes for this footprint's Alertmanager (every footprint gets the stack's)."""
    telemetry: TelemetrySettings | None = None
    """Logs and traces (otel_contract.py); None where the footprint has nowhere to send them (dev's non-central)."""
    opencost: OpenCostSettings | None = None
    """OpenCost in this cluster (opencost.py); None where the table cannot price the system machine."""
    egress_assumption_gb: float = 100.0
    """The internet egress a month that `preflight cost` assumes per target (rules/cost.yaml alerts above it)."""

    @property
    def external_labels(self) -> dict[str, str]:
        """The labels every series and alert leaving this footprint's Prometheus carries."""
        return {"target": self.target.name, "cloud": self.target.cloud, "region": self.target.region}
