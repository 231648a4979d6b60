"""Logs and traces config: keys of `mlplatform:observability`, and what they mean for each footprint.

    mlplatform:observability:
      logRetentionDays: 7        # how long the central Loki keeps logs (1-365)
      logVolumeGiB: 50           # Loki's disk on the central footprint (10-16384)
      traceRetentionDays: 7      # how long the central Tempo keeps traces (1-365)
      traceVolumeGiB: 20         # Tempo's disk (10-16384)
      traceSamplingPercent: 1    # the mesh records this share of requests without a sampling decision (0-100)
      traceKeepPercent: 10       # the trace gateway keeps every trace with an error and this share of the rest (0-100)
      tritonTraceRate: 100       # Triton records every Nth inference (1-1000000)

A footprint collects only where it can send: the central one (in-cluster) and, with GlobalDns, every other through
the central gateway with its remote-write token. Without GlobalDns (dev) the others keep their logs on their nodes
(`kubectl logs`), as they keep their metrics.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi

from components.images import Mirrors
from components.observability.otel_contract import (
    LOKI,
    LOKI_OTLP_PATH,
    LOKI_PORT,
    OTLP_HTTP_PORT,
    OTLP_TRACES_PATH,
    TRACE_GATEWAY,
    Sampling,
    TelemetryExport,
    TelemetrySettings,
    TelemetryStores,
    service_host,
)
from components.serving_stack.addons import MONITORING_NAMESPACE
from stacks.validate import integer, number

TELEMETRY_KEYS = {
    "logRetentionDays",
    "logVolumeGiB",
    "traceRetentionDays",
    "traceVolumeGiB",
    "traceSamplingPercent",
    "traceKeepPercent",
    "tritonTraceRate",
}
MAX_VOLUME_GIB = 16_384  # the largest single disk GCE and Azure managed disks offer at this class, about 16 TiB


@dataclass(frozen=True)
class TelemetryConfig:
    log_retention_days: int = 7  # a week covers a weekend's incident read on Monday
    log_volume_gib: int = 50
    trace_retention_days: int = 7
    trace_volume_gib: int = 20
    sampling_percent: float = 1.0
    keep_percent: float = 10.0
    triton_rate: int = 100  # with the mesh at 1 %, about as many Triton traces as mesh traces

    @property
    def sampling(self) -> Sampling:
        return Sampling(self.sampling_percent, self.triton_rate, self.keep_percent)

    def stores(self, ingress_host: str | None) -> TelemetryStores:
        return TelemetryStores(
            log_retention_days=self.log_retention_days,
            trace_retention_days=self.trace_retention_days,
            log_volume_gib=self.log_volume_gib,
            trace_volume_gib=self.trace_volume_gib,
            ingress_host=ingress_host,
        )


def parse_telemetry(key: str, fields: Mapping[str, Any]) -> TelemetryConfig:
    """The telemetry keys of the already-checked `mlplatform:observability` map (`fields`)."""
    default = TelemetryConfig()

    def days(name: str, fallback: int) -> int:
        return integer(f"{key}.{name}", fields.get(name, fallback), 1, 365)

    def volume(name: str, fallback: int) -> int:
        return integer(f"{key}.{name}", fields.get(name, fallback), 10, MAX_VOLUME_GIB)

    def percent(name: str, fallback: float) -> float:
        return number(f"{key}.{name}", fields.get(name, fallback), 0, 100)

    return TelemetryConfig(
        log_retention_days=days("logRetentionDays", default.log_retention_days),
        log_volume_gib=volume("logVolumeGiB", default.log_volume_gib),
        trace_retention_days=days("traceRetentionDays", default.trace_retention_days),
        trace_volume_gib=volume("traceVolumeGiB", default.trace_volume_gib),
        sampling_percent=percent("traceSamplingPercent", default.sampling_percent),
        keep_percent=percent("traceKeepPercent", default.keep_percent),
        triton_rate=integer(f"{key}.tritonTraceRate", fields.get("tritonTraceRate", default.triton_rate), 1, 1_000_000),
    )


def in_cluster_export() -> TelemetryExport:
    """The central footprint's agents write straight to Loki and the trace gateway."""
    return TelemetryExport(
        logs_url=f"http://{service_host(LOKI, MONITORING_NAMESPACE)}:{LOKI_PORT}{LOKI_OTLP_PATH}",
        traces_url=f"http://{service_host(TRACE_GATEWAY, MONITORING_NAMESPACE)}:{OTLP_HTTP_PORT}{OTLP_TRACES_PATH}",
    )


def telemetry_settings(
    config: TelemetryConfig,
    *,
    central: bool,
    host: str | None,
    token: pulumi.Output[str] | None,
    mirrors: Mirrors | None = None,
) -> TelemetrySettings | None:
    """`host`: the central metrics host (None without GlobalDns); `token`: this sender's remote-write token;
    `mirrors`: where the charts' images are pulled through (`mlplatform:mirrorImages`)."""
    if central:
        return TelemetrySettings(config.sampling, in_cluster_export(), config.stores(host), dict(mirrors or {}))
    if host is None or token is None:
        return None  # nowhere to send without a name for the central gateway
    export = TelemetryExport(
        logs_url=f"https://{host}{LOKI_OTLP_PATH}", traces_url=f"https://{host}{OTLP_TRACES_PATH}", token=token
    )
    return TelemetrySettings(config.sampling, export, image_mirrors=dict(mirrors or {}))
