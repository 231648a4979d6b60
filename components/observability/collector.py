"""The OpenTelemetry Collector: an agent on every node of every cluster, and the trace gateway of the central one.

Chart open-telemetry/opentelemetry-collector 0.170.0 (collector 0.158.0, image otel/opentelemetry-collector-k8s: the
Kubernetes distribution, which carries every component used here: otlp and file_log receivers, k8s_attributes,
resource, memory_limiter, batch and tail_sampling processors, otlphttp and otlp exporters). Values read at the tag
opentelemetry-collector-0.170.0 (charts/opentelemetry-collector: values.yaml, values.schema.json,
templates/_config.tpl), 2026-12:
- `image.repository` has no default: it is set, and `command.name` to the distribution's binary, `otelcol-k8s`;
- `presets.logsCollection` adds the file_log receiver on /var/log/pods/*/*/*.log (container parser, the collector's
  own logs left out) with read-only hostPath mounts; `presets.kubernetesAttributes` adds the k8s_attributes
  processor (filtered to the node in daemonset mode) and its ClusterRole (pods, namespaces, replicasets: get, list,
  watch). `config` is merged over what the presets make, so `k8s_attributes.extract.labels` here adds the models'
  `app` and `version` pod labels;
- the chart's default config receives Jaeger, Zipkin and Prometheus and exports to `debug`: each is set to null
  (Helm drops a null key from the merged values) and its port turned off;
- a DaemonSet's ports get a hostPort unless it is 0: none here, pods reach the agent through its Service, which the
  chart gives `internalTrafficPolicy: Local` in daemonset mode (a pod's spans stay on its node);
- 0.170.0 renames `filelog` to `file_log` and `k8sattributes` to `k8s_attributes` (rewriteDeprecatedComponentNames,
  templates/_helpers.tpl): the new names are used.

Why a DaemonSet for logs: the container logs are files on each node. Why tail sampling centrally: the spans of one
request come from the gateway's node and the model's node, so no per-node agent sees a whole trace; one gateway
Deployment in the central cluster does, whichever cluster served the request (a request is served in one cluster).
"""

from __future__ import annotations

from typing import Any

from components.observability.contract import TOKEN_KEY, TOKEN_SECRET
from components.observability.otel_contract import (
    AGENT,
    MODEL_ATTRIBUTE,
    OTLP_GRPC_PORT,
    OTLP_HTTP_PORT,
    TARGET_ATTRIBUTE,
    TEMPO,
    TRACE_GATEWAY,
    VERSION_ATTRIBUTE,
    Sampling,
    TelemetryExport,
    service_host,
)
from components.serving_stack.addons import TOLERATE_EVERYTHING, Chart, system_placement
from components.serving_stack.triton import LABEL_APP, LABEL_VERSION
from components.target import Target

CHART = "opentelemetry-collector"
VERSION = "0.170.0"
REPO = "https://open-telemetry.github.io/opentelemetry-helm-charts"
COLLECTOR = Chart(CHART, VERSION, REPO)
IMAGE_REPOSITORY = "otel/opentelemetry-collector-k8s"
BINARY = "otelcol-k8s"
TOKEN_ENV = "MLPLATFORM_TOKEN"
# The chart's default receivers and ports that nothing here uses.
UNUSED_RECEIVERS = ("jaeger", "zipkin", "prometheus")
UNUSED_PORTS = ("jaeger-compact", "jaeger-thrift", "jaeger-grpc", "zipkin")
# An export batch stays far under the gateway's 16 MiB body limit (request_limits.py) once gzipped.
BATCH = {"send_batch_size": 1024, "send_batch_max_size": 2048, "timeout": "5s"}
# How long the tail sampler waits for a trace's last span, and how many traces it holds meanwhile.
DECISION_WAIT = "10s"
TRACES_IN_MEMORY = 50_000
# The agent runs as root without any capability: kubelet writes container logs as root, mode 0640 (an owner read,
# which needs no CAP_DAC_OVERRIDE), and reads them through the preset's read-only hostPath mounts.
AGENT_SECURITY = {
    "runAsUser": 0,
    "runAsGroup": 0,
    "runAsNonRoot": False,
    "allowPrivilegeEscalation": False,
    "readOnlyRootFilesystem": True,
    "capabilities": {"drop": ["ALL"]},
    "seccompProfile": {"type": "RuntimeDefault"},
}
AGENT_RESOURCES = {"requests": {"cpu": "100m", "memory": "200Mi"}, "limits": {"memory": "500Mi"}}
GATEWAY_RESOURCES = {"requests": {"cpu": "200m", "memory": "512Mi"}, "limits": {"memory": "1Gi"}}


def _base(name: str, mode: str, resources: dict[str, Any]) -> dict[str, Any]:
    """What both collectors share: the image, the unused default receivers and ports gone, no debug exporter."""
    return {
        "fullnameOverride": name,
        "mode": mode,
        "image": {"repository": IMAGE_REPOSITORY},
        "command": {"name": BINARY},
        "resources": resources,
        "ports": {
            "otlp": {"hostPort": 0},
            "otlp-http": {"hostPort": 0},
            **{port: {"enabled": False} for port in UNUSED_PORTS},
        },
    }


def _exporter(endpoint_key: str, url: str, token: bool) -> dict[str, Any]:
    exporter: dict[str, Any] = {endpoint_key: url, "compression": "gzip"}
    if token:
        exporter["headers"] = {"Authorization": f"Metrics ${{env:{TOKEN_ENV}}}"}
    return exporter


def agent_config(target: Target, export: TelemetryExport) -> dict[str, Any]:
    """The agent's `config` overlay: logs from files, spans over OTLP, both with Kubernetes and target attributes."""
    token = export.token is not None
    processors = ["memory_limiter", "k8s_attributes", "resource", "batch"]
    return {
        "receivers": {unused: None for unused in UNUSED_RECEIVERS},
        "processors": {
            "batch": dict(BATCH),
            "k8s_attributes": {
                "extract": {
                    "labels": [
                        {"tag_name": MODEL_ATTRIBUTE, "key": LABEL_APP, "from": "pod"},
                        {"tag_name": VERSION_ATTRIBUTE, "key": LABEL_VERSION, "from": "pod"},
                    ]
                }
            },
            "resource": {
                "attributes": [
                    {"key": TARGET_ATTRIBUTE, "value": target.name, "action": "upsert"},
                    {"key": "cloud.provider", "value": target.cloud, "action": "upsert"},
                    {"key": "cloud.region", "value": target.region, "action": "upsert"},
                ]
            },
        },
        "exporters": {
            "debug": None,
            "otlphttp/logs": _exporter("logs_endpoint", export.logs_url, token),
            "otlphttp/traces": _exporter("traces_endpoint", export.traces_url, token),
        },
        "service": {
            "pipelines": {
                "logs": {"receivers": ["file_log"], "processors": processors, "exporters": ["otlphttp/logs"]},
                "traces": {"receivers": ["otlp"], "processors": processors, "exporters": ["otlphttp/traces"]},
                "metrics": None,
            }
        },
    }


def agent_values(target: Target, export: TelemetryExport) -> dict[str, Any]:
    """The DaemonSet on every node (GPU and spot nodes included: their taints are tolerated)."""
    values = _base(AGENT, "daemonset", AGENT_RESOURCES)
    values.update(
        {
            "presets": {"logsCollection": {"enabled": True}, "kubernetesAttributes": {"enabled": True}},
            "service": {"enabled": True},
            "tolerations": [dict(TOLERATE_EVERYTHING)],
            "securityContext": dict(AGENT_SECURITY),
            "config": agent_config(target, export),
        }
    )
    if export.token is not None:
        secret = {"name": TOKEN_SECRET, "key": TOKEN_KEY}
        values["extraEnvs"] = [{"name": TOKEN_ENV, "valueFrom": {"secretKeyRef": secret}}]
    return values


def gateway_config(sampling: Sampling, namespace: str) -> dict[str, Any]:
    """Tail sampling: every trace with an error span, `keep_percent` of the rest; then Tempo over OTLP gRPC."""
    return {
        "receivers": {unused: None for unused in UNUSED_RECEIVERS},
        "processors": {
            "batch": dict(BATCH),
            "tail_sampling": {
                "decision_wait": DECISION_WAIT,
                "num_traces": TRACES_IN_MEMORY,
                "policies": [
                    {"name": "errors", "type": "status_code", "status_code": {"status_codes": ["ERROR"]}},
                    {
                        "name": "the-rest",
                        "type": "probabilistic",
                        "probabilistic": {"sampling_percentage": sampling.keep_percent},
                    },
                ],
            },
        },
        "exporters": {
            "debug": None,
            "otlp/tempo": {"endpoint": f"{service_host(TEMPO, namespace)}:{OTLP_GRPC_PORT}", "tls": {"insecure": True}},
        },
        "service": {
            "pipelines": {
                "traces": {
                    "receivers": ["otlp"],
                    "processors": ["memory_limiter", "tail_sampling", "batch"],
                    "exporters": ["otlp/tempo"],
                },
                "logs": None,
                "metrics": None,
            }
        },
    }


def gateway_values(sampling: Sampling, namespace: str) -> dict[str, Any]:
    placement = system_placement()
    values = _base(TRACE_GATEWAY, "deployment", GATEWAY_RESOURCES)
    values.update(
        {
            "replicaCount": 1,  # one process sees every span of a trace
            "nodeSelector": placement["nodeSelector"],
            "tolerations": placement["tolerations"],
            "config": gateway_config(sampling, namespace),
        }
    )
    return values


def agent_traces_url(namespace: str) -> str:
    """Where a pod in this cluster sends OTLP/HTTP spans (Triton)."""
    return f"http://{service_host(AGENT, namespace)}:{OTLP_HTTP_PORT}/v1/traces"
