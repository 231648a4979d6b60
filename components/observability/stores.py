"""The central log and trace stores: Grafana Loki and Grafana Tempo, each one process, beside the central Prometheus.

Charts (grafana-community/helm-charts, where Grafana Labs moved both OSS charts in 2026; values read at the tags
loki-18.11.0 and tempo-2.2.4, 2026-12):
- `loki` 18.11.0 (Loki 3.7.6), `deploymentMode: Monolithic` ("useful for small installs ... up to a few tens of
  GB/day", values.yaml): one StatefulSet `loki` with a PersistentVolumeClaim (`singleBinary.persistence`), the
  filesystem store (`loki.storage.type: filesystem`, TSDB index, schema v13), single tenant (`auth_enabled: false`:
  the central gateway's token check is the door), retention by the compactor (`limits_config.retention_period`,
  `compactor.retention_enabled`, which needs `delete_request_store`). The chart's nginx gateway, memcached caches,
  canary, test pod, rules sidecar and MinIO are off. Logs arrive over OTLP/HTTP at /otlp/v1/logs; the resource
  attributes named in `otlp_config` become index labels (target, cloud, region, model, version), the rest
  structured metadata;
- `tempo` 2.2.4 (Tempo 2.10.8), the single-binary chart: one StatefulSet `tempo` with `persistence`, the `local`
  backend, `tempo.retention` the compactor's block retention, OTLP gRPC in on 4317 only (the chart's Jaeger
  receivers dropped).

Storage: a PersistentVolume on GKE and AKS (their default StorageClasses), an emptyDir on EKS (no EBS CSI driver;
the same as the central Prometheus, prometheus.PERSISTENT_STORAGE). Why not the cloud's bucket: at tens of GiB the
disk costs a few dollars a month and needs nothing else, while a bucket needs a cloud identity per store on each
cloud the central footprint may sit on; docs/OBSERVABILITY.md prices both.
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components.observability.otel_contract import (
    LOKI,
    LOKI_DATASOURCE_UID,
    LOKI_OTLP_PATH,
    LOKI_PORT,
    MODEL_ATTRIBUTE,
    OTLP_GRPC_PORT,
    OTLP_HTTP_PORT,
    OTLP_TRACES_PATH,
    TARGET_ATTRIBUTE,
    TEMPO,
    TEMPO_DATASOURCE_UID,
    TEMPO_PORT,
    TRACE_GATEWAY,
    VERSION_ATTRIBUTE,
    TelemetryStores,
    service_host,
)
from components.observability.prometheus import PERSISTENT_STORAGE
from components.serving_stack.addons import MONITORING_NAMESPACE, Chart, system_placement
from components.serving_stack.contract import NAMESPACE as SERVING_NAMESPACE
from components.serving_stack.traffic import GATEWAY, NETWORKING
from components.target import Cloud

REPO = "https://grafana-community.github.io/helm-charts"
LOKI_CHART, LOKI_VERSION = "loki", "18.11.0"
TEMPO_CHART, TEMPO_VERSION = "tempo", "2.2.4"
LOKI_HELM, TEMPO_HELM = Chart(LOKI_CHART, LOKI_VERSION, REPO), Chart(TEMPO_CHART, TEMPO_VERSION, REPO)
SCHEMA_START = "2026-01-01"  # the first (and only) schema period; a later change adds a period, never edits this one
INDEXED = (TARGET_ATTRIBUTE, "cloud.provider", "cloud.region", MODEL_ATTRIBUTE, VERSION_ATTRIBUTE)
LOKI_RESOURCES = {"requests": {"cpu": "250m", "memory": "512Mi"}, "limits": {"memory": "2Gi"}}
TEMPO_RESOURCES = {"requests": {"cpu": "250m", "memory": "512Mi"}, "limits": {"memory": "2Gi"}}
# A trace id in a log line: the mesh's access log writes it as JSON ("trace_id":"<32 hex>", mesh_tracing.py).
TRACE_ID_PATTERN = r'"trace_id":"([0-9a-f]{32})"'
OTLP_ROUTE = "mlplatform-otlp"
LABELS = {"app.kubernetes.io/part-of": "mlplatform", "app.kubernetes.io/component": "observability"}


def _hours(days: int) -> str:
    return f"{days * 24}h"


def loki_values(stores: TelemetryStores, cloud: Cloud) -> dict[str, Any]:
    placement = system_placement()
    return {
        "fullnameOverride": LOKI,
        "deploymentMode": "Monolithic",
        "loki": {
            "auth_enabled": False,
            "commonConfig": {"replication_factor": 1},
            "storage": {"type": "filesystem"},
            "schemaConfig": {
                "configs": [
                    {
                        "from": SCHEMA_START,
                        "store": "tsdb",
                        "object_store": "filesystem",
                        "schema": "v13",
                        "index": {"prefix": "loki_index_", "period": "24h"},
                    }
                ]
            },
            "limits_config": {
                "retention_period": _hours(stores.log_retention_days),
                "allow_structured_metadata": True,
                "otlp_config": {
                    "resource_attributes": {
                        "attributes_config": [{"action": "index_label", "attributes": list(INDEXED)}]
                    }
                },
            },
            "compactor": {"retention_enabled": True, "delete_request_store": "filesystem"},
        },
        "singleBinary": {
            "replicas": 1,
            "persistence": {"enabled": PERSISTENT_STORAGE[cloud], "size": f"{stores.log_volume_gib}Gi"},
            "resources": LOKI_RESOURCES,
            "nodeSelector": placement["nodeSelector"],
            "tolerations": placement["tolerations"],
        },
        **{part: {"replicas": 0} for part in ("backend", "read", "write")},
        "gateway": {"enabled": False},
        "chunksCache": {"enabled": False},
        "resultsCache": {"enabled": False},
        "lokiCanary": {"enabled": False},
        "test": {"enabled": False},
        "sidecar": {"rules": {"enabled": False}},
        "minio": {"enabled": False},
    }


def tempo_values(stores: TelemetryStores, cloud: Cloud) -> dict[str, Any]:
    placement = system_placement()
    return {
        "fullnameOverride": TEMPO,
        "tempo": {
            "retention": _hours(stores.trace_retention_days),
            "reportingEnabled": False,
            "resources": TEMPO_RESOURCES,
            "receivers": {
                "jaeger": None,
                "otlp": {"protocols": {"grpc": {"endpoint": f"0.0.0.0:{OTLP_GRPC_PORT}"}, "http": None}},
            },
        },
        "persistence": {"enabled": PERSISTENT_STORAGE[cloud], "size": f"{stores.trace_volume_gib}Gi"},
        "nodeSelector": placement["nodeSelector"],
        "tolerations": placement["tolerations"],
    }


def loki_url(namespace: str = MONITORING_NAMESPACE) -> str:
    return f"http://{service_host(LOKI, namespace)}:{LOKI_PORT}"


def tempo_url(namespace: str = MONITORING_NAMESPACE) -> str:
    return f"http://{service_host(TEMPO, namespace)}:{TEMPO_PORT}"


def data_sources() -> list[dict[str, Any]]:
    """Grafana's Loki and Tempo data sources: a trace id in a log line links to Tempo, a span to its logs."""
    return [
        {
            "name": "mlplatform logs",
            "uid": LOKI_DATASOURCE_UID,
            "type": "loki",
            "access": "proxy",
            "url": loki_url(),
            "isDefault": False,
            "editable": False,
            "jsonData": {
                "derivedFields": [
                    {
                        "name": "trace_id",
                        "matcherRegex": TRACE_ID_PATTERN,
                        "url": "${__value.raw}",
                        "datasourceUid": TEMPO_DATASOURCE_UID,
                        "urlDisplayLabel": "Open the trace",
                    }
                ]
            },
        },
        {
            "name": "mlplatform traces",
            "uid": TEMPO_DATASOURCE_UID,
            "type": "tempo",
            "access": "proxy",
            "url": tempo_url(),
            "isDefault": False,
            "editable": False,
            "jsonData": {
                "tracesToLogsV2": {
                    "datasourceUid": LOKI_DATASOURCE_UID,
                    "filterByTraceID": True,
                    "spanStartTimeShift": "-5m",
                    "spanEndTimeShift": "5m",
                    "tags": [{"key": TARGET_ATTRIBUTE, "value": TARGET_ATTRIBUTE.replace(".", "_")}],
                },
            },
        },
    ]


def otlp_route_spec(host: str, namespace: str) -> dict[str, Any]:
    """On the metrics host, beside the remote-write route (and behind the same token check): only POST of OTLP logs
    to Loki and of OTLP spans to the trace gateway."""

    def route(name: str, path: str, service: str, port: int) -> dict[str, Any]:
        return {
            "name": name,
            "match": [{"uri": {"exact": path}, "method": {"exact": "POST"}}],
            "route": [{"destination": {"host": service_host(service, namespace), "port": {"number": port}}}],
        }

    return {
        "hosts": [host],
        "gateways": [f"{SERVING_NAMESPACE}/{GATEWAY}"],
        "http": [
            route("otlp-logs", LOKI_OTLP_PATH, LOKI, LOKI_PORT),
            route("otlp-traces", OTLP_TRACES_PATH, TRACE_GATEWAY, OTLP_HTTP_PORT),
        ],
    }


def otlp_route(
    resource_name: str, host: str, namespace: str, opts: pulumi.ResourceOptions
) -> k8s.apiextensions.CustomResource:
    return k8s.apiextensions.CustomResource(
        resource_name,
        api_version=NETWORKING,
        kind="VirtualService",
        metadata={"name": OTLP_ROUTE, "namespace": namespace, "labels": dict(LABELS)},
        spec=otlp_route_spec(host, namespace),
        opts=opts,
    )
