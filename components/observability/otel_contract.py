"""Logs and traces: what one footprint's collection needs and what the central footprint stores.

Names and ports every part agrees on (the collectors, the central stores, the mesh's tracing provider, Triton's
exporter, the network fences), and the settings the stacks layer hands each footprint's Monitoring
(`MonitoringArgs.telemetry`). docs/OBSERVABILITY.md, "Logs and traces", says why each choice.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi

from components.images import Mirrors

# The per-cluster collector: a DaemonSet (chart opentelemetry-collector, release and fullnameOverride this name), so
# its Service is otel-agent.<monitoring>.svc with the OTLP ports. The chart sets internalTrafficPolicy Local on a
# DaemonSet's Service: a pod's spans go to the collector on its own node.
AGENT = "otel-agent"
# The central trace gateway: one Deployment of the same chart in the central cluster that sees every span of a trace
# (tail sampling needs the whole trace in one process), then writes to Tempo.
TRACE_GATEWAY = "otel-traces"
LOKI = "loki"  # release and fullnameOverride: the monolithic Loki's Service is loki:3100
TEMPO = "tempo"  # release and fullnameOverride: Tempo's Service is tempo:3200 (queries) and 4317 (OTLP gRPC)
OTLP_GRPC_PORT = 4317
OTLP_HTTP_PORT = 4318
LOKI_PORT = 3100
TEMPO_PORT = 3200
LOKI_OTLP_PATH = "/otlp/v1/logs"  # Loki's native OTLP ingestion (Loki 3.x), on its HTTP port
OTLP_TRACES_PATH = "/v1/traces"  # the OTLP/HTTP receiver's traces path
# The mesh's tracing provider (meshConfig.extensionProviders[].name) and its access-log provider.
MESH_TRACING_PROVIDER = "mlplatform-otel"
MESH_ACCESS_LOG_PROVIDER = "mlplatform-access-log"
LOKI_DATASOURCE_UID = "mlplatform-logs"
TEMPO_DATASOURCE_UID = "mlplatform-traces"
# Resource attributes every log record and span leaving a cluster carries (the collector's `resource` processor);
# Loki turns dots into underscores, so LogQL reads them as mlplatform_target, cloud_provider, cloud_region.
TARGET_ATTRIBUTE = "mlplatform.target"
MODEL_ATTRIBUTE = "mlplatform.model"  # from the model pods' `app` label (k8sattributes)
VERSION_ATTRIBUTE = "mlplatform.version"  # from the model pods' `version` label


def service_host(name: str, namespace: str) -> str:
    return f"{name}.{namespace}.svc.cluster.local"


@dataclass(frozen=True)
class Sampling:
    """How many requests are traced. Head: the mesh records `mesh_percent` of the requests that arrive without a
    sampling decision (a client's sampled `traceparent` is always recorded); Triton records every `triton_rate`-th
    inference. Tail (central gateway): every trace with an error span is kept, and `keep_percent` of the others."""

    mesh_percent: float
    triton_rate: int
    keep_percent: float


@dataclass(frozen=True)
class TelemetryExport:
    """Where this footprint's collector sends: OTLP/HTTP to the central Loki and the central trace gateway, in-cluster
    on the central footprint, through the central gateway with this target's remote-write token elsewhere."""

    logs_url: str
    traces_url: str
    token: pulumi.Output[str] | None = None
    """None in the central cluster (plain HTTP to the Services, fenced by NetworkPolicy)."""


@dataclass(frozen=True)
class TelemetryStores:
    """What only the central footprint runs: Loki, Tempo and the trace gateway."""

    log_retention_days: int
    trace_retention_days: int
    log_volume_gib: int
    trace_volume_gib: int
    ingress_host: str | None = None
    """The metrics host (with GlobalDns): other clusters' OTLP arrives there, behind the remote-write token check."""


@dataclass(frozen=True)
class TelemetrySettings:
    """One footprint's logs and traces: collection always, the stores on the central footprint only."""

    sampling: Sampling
    export: TelemetryExport
    stores: TelemetryStores | None = None
    image_mirrors: Mirrors = field(default_factory=dict)
    """Registry host -> mirror prefix (`mlplatform:mirrorImages`): the charts' images are pulled through them."""
