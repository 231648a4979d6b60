"""Spans from the mesh and from Triton, and the access log line that carries a failed request's trace id.

Istio (1.31; istio.io, MeshConfig.ExtensionProvider and the Telemetry API reference, read 2026-12):
- `meshConfig.extensionProviders[]` with `opentelemetry: {service, port}` makes every proxy (sidecars and the ingress
  gateway) export spans over OTLP gRPC to that Service: here the node-local collector agent;
- `envoyFileAccessLog: {path, logFormat.labels}` writes one JSON object per request to the proxy's stdout, which the
  agent collects as a container log; `%TRACE_ID%` is Envoy's command operator for the request's trace id;
- a `Telemetry` in the root namespace (istio-system) applies mesh-wide: `tracing[].providers` and
  `randomSamplingPercentage` (applies only to requests without a sampling decision, so a client's sampled
  `traceparent` is always recorded), `accessLogging[].filter.expression` (a CEL expression on Envoy's attributes):
  only requests answered with 400 or more are logged, so the volume follows failures, not traffic.

Triton (its trace guide, docs/user_guide/trace.md, the same at r26.05): `--trace-config mode=opentelemetry`,
`level=TIMESTAMPS` (the level is OFF by default, which records nothing), `rate=N` (every Nth inference; 1000 by
default), `opentelemetry,url=` (OTLP/HTTP; default http://localhost:4318/v1/traces) and
`opentelemetry,resource=<key>=<value>` (resource attributes). Triton joins a request's incoming W3C `traceparent`.
Its `rate` counts requests per server process and ignores the parent's sampled flag: Triton's spans of a request the
mesh did not sample arrive without their parents (they are tail-sampled like any other trace).
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components.observability.collector import agent_traces_url
from components.observability.otel_contract import (
    AGENT,
    MESH_ACCESS_LOG_PROVIDER,
    MESH_TRACING_PROVIDER,
    OTLP_GRPC_PORT,
    Sampling,
    service_host,
)
from components.serving_stack.addons import ISTIO_NAMESPACE

TELEMETRY_API = "telemetry.istio.io/v1"
TELEMETRY_NAME = "mesh-default"  # in the root namespace: the mesh-wide default
FAILED_REQUESTS = "response.code >= 400"
# One JSON object per logged request: what an operator filters on, and the trace id Grafana links to Tempo.
ACCESS_LOG_FIELDS = {
    "start_time": "%START_TIME%",
    "method": "%REQ(:METHOD)%",
    "path": "%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%",
    "authority": "%REQ(:AUTHORITY)%",
    "response_code": "%RESPONSE_CODE%",
    "response_flags": "%RESPONSE_FLAGS%",
    "duration_ms": "%DURATION%",
    "upstream_host": "%UPSTREAM_HOST%",
    "upstream_cluster": "%UPSTREAM_CLUSTER%",
    "request_id": "%REQ(X-REQUEST-ID)%",
    "trace_id": "%TRACE_ID%",
}
TRITON_SERVICE_NAME = "triton"


def mesh_config(namespace: str) -> dict[str, Any]:
    """istiod's `meshConfig` additions: the tracing and access-log providers the Telemetry names."""
    return {
        "extensionProviders": [
            {
                "name": MESH_TRACING_PROVIDER,
                "opentelemetry": {"service": service_host(AGENT, namespace), "port": OTLP_GRPC_PORT},
            },
            {
                "name": MESH_ACCESS_LOG_PROVIDER,
                "envoyFileAccessLog": {"path": "/dev/stdout", "logFormat": {"labels": dict(ACCESS_LOG_FIELDS)}},
            },
        ]
    }


def telemetry_spec(sampling: Sampling) -> dict[str, Any]:
    return {
        "tracing": [
            {
                "providers": [{"name": MESH_TRACING_PROVIDER}],
                "randomSamplingPercentage": sampling.mesh_percent,
            }
        ],
        "accessLogging": [
            {"providers": [{"name": MESH_ACCESS_LOG_PROVIDER}], "filter": {"expression": FAILED_REQUESTS}}
        ],
    }


def telemetry(resource_name: str, sampling: Sampling, opts: pulumi.ResourceOptions) -> k8s.apiextensions.CustomResource:
    return k8s.apiextensions.CustomResource(
        resource_name,
        api_version=TELEMETRY_API,
        kind="Telemetry",
        metadata={"name": TELEMETRY_NAME, "namespace": ISTIO_NAMESPACE},
        spec=telemetry_spec(sampling),
        opts=opts,
    )


def triton_trace_args(sampling: Sampling, namespace: str) -> tuple[str, ...]:
    """Triton's flags: OpenTelemetry spans with timestamps, every `triton_rate`-th inference, to the node's agent."""
    return (
        "--trace-config=mode=opentelemetry",
        "--trace-config=level=TIMESTAMPS",
        f"--trace-config=rate={sampling.triton_rate}",
        f"--trace-config=opentelemetry,url={agent_traces_url(namespace)}",
        f"--trace-config=opentelemetry,resource=service.name={TRITON_SERVICE_NAME}",
    )
