"""Monitoring: one per footprint, on top of the Prometheus the ServingStack installs.

Two steps, because part of it is Helm values the ServingStack needs before it installs kube-prometheus-stack:

1. `Monitoring(name, args)`: the values overlay (`prometheus_values`: external labels, remote write, the
   kube-state-metrics label allowlist, Alertmanager's receivers and routes, Grafana on the central footprint with its
   admin password);
2. `install(addons)`, once the add-ons are in: the serving rules, the gateway's scrape, the Secret with the alert
   receivers' URLs and keys (alerting.py), the remote-write token's Secret where the footprint writes across clouds,
   and on the central footprint the receiving Prometheus, the fleet rules, the dashboard, the way in for other
   clusters and the health probes (central.py).

Type token `mlplatform:observability:Monitoring`. The stack-wide endpoint (token, DNS record) is endpoint.py.
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_random as random

from components.observability import (
    alerting,
    central,
    cost_rules,
    endpoint,
    logs_traces,
    mesh_tracing,
    opencost,
    rules,
    scrape,
    stores,
)
from components.observability.contract import (
    AlertGrouping,
    AlertingSettings,
    AlertReceiver,
    AlertRoute,
    CentralIngress,
    CentralSettings,
    EmailSettings,
    FleetTarget,
    MonitoringArgs,
    NodePrice,
    PoolLimit,
    RemoteWrite,
)
from components.observability.values import prometheus_values
from components.serving_stack.addons import MONITORING_NAMESPACE
from components.serving_stack.contract import Addons

__all__ = [
    "AlertGrouping",
    "AlertReceiver",
    "AlertRoute",
    "AlertingSettings",
    "CentralIngress",
    "CentralSettings",
    "EmailSettings",
    "FleetTarget",
    "Monitoring",
    "MonitoringArgs",
    "NodePrice",
    "PoolLimit",
    "RemoteWrite",
]

GRAFANA_PASSWORD_LENGTH = 32


class Monitoring(pulumi.ComponentResource):
    prometheus_values: dict[str, Any]
    grafana_password: pulumi.Output[str] | None
    mesh_config: dict[str, Any]
    """istiod's meshConfig additions (the tracing and access-log providers); empty without logs and traces."""
    triton_trace_args: tuple[str, ...]
    """Triton's --trace-config flags; empty without logs and traces."""

    def __init__(self, name: str, args: MonitoringArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlplatform:observability:Monitoring", name, None, opts)
        self._resource_name = name
        self._args = args
        self.grafana_password = None
        if args.central is not None:
            password = random.RandomPassword(
                f"{name}-grafana-admin",
                length=GRAFANA_PASSWORD_LENGTH,
                special=False,
                opts=pulumi.ResourceOptions(parent=self),
            )
            self.grafana_password = pulumi.Output.secret(password.result)
        self.prometheus_values = prometheus_values(args, self.grafana_password)
        self.mesh_config, self.triton_trace_args = {}, ()
        if args.telemetry is not None:
            self.mesh_config = mesh_tracing.mesh_config(MONITORING_NAMESPACE)
            self.triton_trace_args = mesh_tracing.triton_trace_args(args.telemetry.sampling, MONITORING_NAMESPACE)
            if args.telemetry.stores is not None:
                self.prometheus_values["grafana"]["additionalDataSources"] += stores.data_sources()

    def install(self, addons: Addons) -> None:
        """The objects that need the add-ons' CRDs and namespaces; waits for `addons.ready`."""
        name, args = self._resource_name, self._args
        opts = pulumi.ResourceOptions(parent=self, provider=args.k8s_provider, depends_on=list(addons.ready))
        namespace = addons.monitoring_namespace
        rules.prometheus_rule(
            f"{name}-serving-rules",
            "mlplatform-serving",
            namespace,
            cost_rules.with_cost_rules(rules.serving_rules_spec(args.pool_limits, args.node_prices), args),
            opts,
        )
        if args.opencost is not None:
            opencost.opencost_release(f"{name}-opencost", args.opencost, addons.pod_monitor_labels, opts)
        scrape.gateway_pod_monitor(f"{name}-gateway-metrics", addons, opts)
        alerting.receivers_secret(f"{name}-alert-receivers", namespace, args.alerting, opts)
        token: list[pulumi.Resource] = []
        if args.remote_write is not None and args.remote_write.token is not None:
            token.append(endpoint.token_secret(f"{name}-remote-write-token", namespace, args.remote_write.token, opts))
        if args.telemetry is not None:
            logs_traces.install(name, args.target, args.telemetry, addons, opts, after=token)
        if args.central is not None:
            central.install(self, name, args.target.cloud, args.central, addons, opts)
        self.register_outputs(
            {
                "remoteWriteUrl": args.remote_write.url if args.remote_write else None,
                "central": args.central is not None,
            }
        )
