"""Logs and traces of one footprint: what Monitoring installs once the add-ons are in (Monitoring.install).

Every footprint that has somewhere to send (the central one, and every other with GlobalDns): the mesh-wide
Telemetry (spans and failed requests' access logs, mesh_tracing.py) and the collector agent on every node
(collector.py). The central footprint also: Loki and Tempo (stores.py), the trace gateway that tail-samples before
Tempo, and with GlobalDns the OTLP route on the metrics host, behind the remote-write token check central.py makes.
istiod's provider settings and Triton's flags are Helm values and container args the ServingStack needs before it
installs: Monitoring hands them over as `mesh_config` and `triton_trace_args`.
"""

from __future__ import annotations

import pulumi

from components.observability import collector, mesh_tracing, stores
from components.observability.otel_contract import AGENT, TRACE_GATEWAY, TelemetrySettings
from components.serving_stack.addons import pinned_release
from components.serving_stack.contract import Addons
from components.target import Target


def install(
    name: str,
    target: Target,
    settings: TelemetrySettings,
    addons: Addons,
    opts: pulumi.ResourceOptions,
    after: list[pulumi.Resource] | None = None,
) -> None:
    """`opts` waits for the add-ons (Istio's CRDs, the monitoring namespace); `after`: the token's Secret."""
    namespace = addons.monitoring_namespace
    mesh_tracing.telemetry(f"{name}-mesh-telemetry", settings.sampling, opts)
    agent_opts = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=list(after or [])))
    agent = collector.agent_values(target, settings.export)
    mirrors = settings.image_mirrors
    pinned_release(f"{name}-otel-agent", collector.COLLECTOR, namespace, agent, mirrors, agent_opts, release=AGENT)
    central = settings.stores
    if central is None:
        return
    cloud = target.cloud
    tempo = pinned_release(
        f"{name}-tempo", stores.TEMPO_HELM, namespace, stores.tempo_values(central, cloud), mirrors, opts
    )
    pinned_release(f"{name}-loki", stores.LOKI_HELM, namespace, stores.loki_values(central, cloud), mirrors, opts)
    gateway_opts = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[tempo]))
    pinned_release(
        f"{name}-otel-traces",
        collector.COLLECTOR,
        namespace,
        collector.gateway_values(settings.sampling, namespace),
        mirrors,
        gateway_opts,
        release=TRACE_GATEWAY,
    )
    if central.ingress_host is not None:
        stores.otlp_route(f"{name}-otlp-route", central.ingress_host, namespace, opts)
