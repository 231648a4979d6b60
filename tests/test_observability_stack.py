"""Observability through the shipped stacks' plans: monitoring in every footprint, the central footprint's Grafana,
receiver and dashboard, remote write to one URL known at plan time, secrets masked, the one new edge between
targets (the remote-write token) allowed narrowly, and every new Kubernetes object valid against its schema."""

from __future__ import annotations

import json
from typing import Any

import pytest

from components.observability.contract import (
    CENTRAL_PROMETHEUS,
    DATASOURCE_UID,
    EVALUATED_BY,
    REMOTE_WRITE_PATH,
    TOKEN_KEY,
    TOKEN_SECRET,
)
from components.observability.dashboards import DASHBOARDS_DIR
from components.observability.otel_contract import LOKI_DATASOURCE_UID, TEMPO_DATASOURCE_UID
from components.observability.values import DASHBOARD_LABEL, KSM_ALLOWLIST
from preflight.edges import (
    REMOTE_WRITE_TOKEN,
    allowance,
    allowed_cross_target_edges,
    cross_target_edges,
)
from preflight.plan import FOOTPRINT_TYPE, Plan, PlannedResource
from preflight.plan_file import plan_from_json
from tests import k8s_schemas
from tests.helpers import mock_passwords

MONITORING = "mlplatform:observability:Monitoring"
ENDPOINT = "mlplatform:observability:CentralEndpoint"
RELEASE = "kubernetes:helm.sh/v3:Release"
PROMETHEUS = "kubernetes:monitoring.coreos.com/v1:Prometheus"
PROMETHEUS_RULE = "kubernetes:monitoring.coreos.com/v1:PrometheusRule"
POD_MONITOR = "kubernetes:monitoring.coreos.com/v1:PodMonitor"
PROBE = "kubernetes:monitoring.coreos.com/v1:Probe"
CONFIG_MAP = "kubernetes:core/v1:ConfigMap"
SECRET = "kubernetes:core/v1:Secret"
VIRTUAL_SERVICE = "kubernetes:networking.istio.io/v1:VirtualService"
AUTHORIZATION_POLICY = "kubernetes:security.istio.io/v1:AuthorizationPolicy"
RECORD = "aws:route53/record:Record"
CERTIFICATE = "kubernetes:cert-manager.io/v1:Certificate"
MASK = "[secret]"


def under(plan: Plan, ancestor_type: str, resource: PlannedResource) -> PlannedResource | None:
    """The nearest ancestor of the given type."""
    current = plan.get(resource.parent) if resource.parent else None
    while current is not None and current.type != ancestor_type:
        current = plan.get(current.parent) if current.parent else None
    return current


def monitored(plan: Plan, type_token: str) -> dict[str, list[PlannedResource]]:
    """Target -> its resources of this type made by its Monitoring component."""
    found: dict[str, list[PlannedResource]] = {}
    for resource in plan.of_type(type_token):
        if under(plan, MONITORING, resource) is not None:
            target = plan.target_of(resource)
            assert target is not None
            found.setdefault(target, []).append(resource)
    return found


def stack_values(plan: Plan) -> dict[str, dict[str, Any]]:
    """Target -> the values of its kube-prometheus-stack release."""
    return {
        str(plan.target_of(release)): release.inputs["values"]
        for release in plan.of_type(RELEASE)
        if release.inputs["chart"] == "kube-prometheus-stack"
    }


def targets(plan: Plan) -> set[str]:
    return {footprint.name for footprint in plan.of_type(FOOTPRINT_TYPE)}


def central(plan: Plan) -> str:
    name = plan.outputs["monitoring"]["central"]
    assert name in targets(plan)
    return str(name)


def test_every_footprint_runs_its_monitoring(stack_plan: Plan) -> None:
    everywhere = targets(stack_plan)
    assert {stack_plan.target_of(m) for m in stack_plan.of_type(MONITORING)} == everywhere
    rules = monitored(stack_plan, PROMETHEUS_RULE)
    monitors = monitored(stack_plan, POD_MONITOR)
    values = stack_values(stack_plan)
    for target in everywhere:
        serving = [r for r in rules[target] if r.inputs["metadata"]["name"] == "mlplatform-serving"]
        assert len(serving) == 1 and EVALUATED_BY not in serving[0].inputs["metadata"]["labels"]
        (gateway,) = monitors[target]
        assert gateway.inputs["metadata"]["namespace"] == "istio-ingress"
        assert gateway.inputs["spec"]["podMetricsEndpoints"][0]["port"] == "http-envoy-prom"
        spec = values[target]["prometheus"]["prometheusSpec"]
        cloud, region = stack_plan.outputs["targets"][target]["cloud"], stack_plan.outputs["targets"][target]["region"]
        assert spec["externalLabels"] == {"target": target, "cloud": cloud, "region": region}
        assert spec["ruleSelector"] == {
            "matchExpressions": [{"key": EVALUATED_BY, "operator": "NotIn", "values": ["central"]}]
        }
        assert values[target]["kube-state-metrics"]["metricLabelsAllowlist"] == KSM_ALLOWLIST


def test_the_central_footprint_runs_grafana_the_receiver_and_the_dashboard(stack_plan: Plan) -> None:
    hub = central(stack_plan)
    values = stack_values(stack_plan)
    grafana = values[hub]["grafana"]
    assert grafana["enabled"] is True and grafana["adminPassword"] == MASK
    label, value = DASHBOARD_LABEL
    assert grafana["sidecar"]["dashboards"] == {
        "enabled": True,
        "label": label,
        "labelValue": value,
        "searchNamespace": None,  # Grafana's own namespace (the chart's null), not ALL
        "resource": "configmap",
    }
    # the central Prometheus, then the logs and traces stores (tests/test_observability_logs_traces.py)
    assert [source["uid"] for source in grafana["additionalDataSources"]] == [
        DATASOURCE_UID,
        LOKI_DATASOURCE_UID,
        TEMPO_DATASOURCE_UID,
    ]
    assert {t: v["grafana"]["enabled"] for t, v in values.items() if t != hub} == dict.fromkeys(
        targets(stack_plan) - {hub}, False
    )

    (receiver,) = monitored(stack_plan, PROMETHEUS)[hub]
    assert receiver.inputs["metadata"]["name"] == CENTRAL_PROMETHEUS
    assert receiver.inputs["spec"]["enableRemoteWriteReceiver"] is True
    assert receiver.inputs["spec"]["ruleSelector"] == {"matchLabels": {EVALUATED_BY: "central"}}
    assert set(monitored(stack_plan, PROMETHEUS)) == {hub}

    (dashboards,) = monitored(stack_plan, CONFIG_MAP)[hub]
    assert dashboards.inputs["metadata"]["labels"][label] == value
    assert json.loads(dashboards.inputs["data"]["serving.json"]) == json.loads(
        (DASHBOARDS_DIR / "serving.json").read_text()
    )
    fleet = [
        r for r in monitored(stack_plan, PROMETHEUS_RULE)[hub] if r.inputs["metadata"]["name"] == "mlplatform-fleet"
    ]
    assert len(fleet) == 1 and fleet[0].inputs["metadata"]["labels"][EVALUATED_BY] == "central"
    expected = [rule["labels"]["target"] for rule in fleet[0].inputs["spec"]["groups"][-1]["rules"]]
    assert expected == stack_plan.outputs["monitoring"]["aggregatedTargets"]


def test_the_central_cluster_writes_to_its_receiver_in_cluster(stack_plan: Plan) -> None:
    hub = central(stack_plan)
    (write,) = stack_values(stack_plan)[hub]["prometheus"]["prometheusSpec"]["remoteWrite"]
    assert write["url"] == f"http://{CENTRAL_PROMETHEUS}.monitoring.svc:9090{REMOTE_WRITE_PATH}"
    assert "authorization" not in write


def token_secrets(plan: Plan) -> dict[str, list[PlannedResource]]:
    """Target -> its remote-write token Secrets (the alert receivers' Secret is tests/test_alerting.py's)."""
    found = {
        target: [s for s in found if s.inputs["metadata"]["name"] == TOKEN_SECRET]
        for target, found in monitored(plan, SECRET).items()
    }
    return {target: found for target, found in found.items() if found}


def test_with_global_dns_every_other_cluster_writes_to_one_url_with_the_token(prod_plan: Plan) -> None:
    hub = central(prod_plan)
    zone = prod_plan.outputs["globalUrl"].removeprefix("https://api.")
    url = f"https://metrics.{zone}{REMOTE_WRITE_PATH}"
    assert prod_plan.outputs["monitoring"]["remoteWriteUrl"] == url
    assert set(prod_plan.outputs["monitoring"]["aggregatedTargets"]) == targets(prod_plan)
    assert prod_plan.outputs["monitoring"]["localOnlyTargets"] == []
    secrets = token_secrets(prod_plan)
    for target, values in stack_values(prod_plan).items():
        if target == hub:
            continue
        (write,) = values["prometheus"]["prometheusSpec"]["remoteWrite"]
        assert write["url"] == url
        assert write["authorization"] == {"type": "Metrics", "credentials": {"name": TOKEN_SECRET, "key": TOKEN_KEY}}
        (secret,) = secrets[target]
        assert secret.inputs["metadata"] == {
            **secret.inputs["metadata"],
            "name": TOKEN_SECRET,
            "namespace": "monitoring",
        }
        assert secret.inputs["stringData"] == MASK
    assert hub not in secrets


def test_the_metrics_name_points_at_the_central_gateway_which_serves_it_over_tls(prod_plan: Plan) -> None:
    hub = central(prod_plan)
    zone = prod_plan.outputs["globalUrl"].removeprefix("https://api.")
    host = f"metrics.{zone}"
    records = [r for r in prod_plan.of_type(RECORD) if r.inputs["name"] == host]
    assert len(records) == 1 and prod_plan.target_of(records[0]) is None
    assert records[0].inputs["type"] == "CNAME" and records[0].inputs["records"] == [f"{hub}.{zone}"]
    certificates = {str(prod_plan.target_of(c)): c.inputs["spec"]["dnsNames"] for c in prod_plan.of_type(CERTIFICATE)}
    assert certificates[hub] == [f"api.{zone}", host]
    assert all(names == [f"api.{zone}"] for target, names in certificates.items() if target != hub)

    routes = monitored(prod_plan, VIRTUAL_SERVICE)[hub]
    (route,) = [r for r in routes if r.inputs["metadata"]["name"] == CENTRAL_PROMETHEUS]  # beside the OTLP route
    assert route.inputs["spec"]["hosts"] == [host]
    (http,) = route.inputs["spec"]["http"]
    assert http["match"] == [{"uri": {"exact": REMOTE_WRITE_PATH}, "method": {"exact": "POST"}}]
    assert http["route"][0]["destination"]["host"] == f"{CENTRAL_PROMETHEUS}.monitoring.svc.cluster.local"

    (policy,) = monitored(prod_plan, AUTHORIZATION_POLICY)[hub]
    assert policy.inputs["spec"]["action"] == "DENY"
    (rule,) = policy.inputs["spec"]["rules"]
    assert rule["to"] == [{"operation": {"hosts": [host, f"{host}:*"]}}]
    # one token per sending cluster (every target but the central one), each admitted
    senders = targets(prod_plan) - {hub}
    assert rule["when"] == [{"key": "request.headers[authorization]", "notValues": [MASK] * len(senders)}]


def test_with_global_dns_the_central_footprint_probes_every_target_through_its_own_name(prod_plan: Plan) -> None:
    hub = central(prod_plan)
    zone = prod_plan.outputs["globalUrl"].removeprefix("https://api.")
    probes = monitored(prod_plan, PROBE)
    assert set(probes) == {hub}
    found = {p.inputs["spec"]["targets"]["staticConfig"]["labels"]["target"]: p.inputs["spec"] for p in probes[hub]}
    assert set(found) == targets(prod_plan)
    for target, spec in found.items():
        assert spec["targets"]["staticConfig"]["static"] == [f"https://{target}.{zone}/v2/health/ready"]
        assert spec["jobName"] == "mlplatform-health"
    blackbox = [
        r for r in monitored(prod_plan, RELEASE).get(hub, []) if r.inputs["chart"] == "prometheus-blackbox-exporter"
    ]
    assert len(blackbox) == 1 and blackbox[0].inputs["version"] == "11.17.2"
    module = blackbox[0].inputs["values"]["config"]["modules"]["mlplatform_health"]
    assert module["http"]["tls_config"] == {"server_name": f"api.{zone}"}


def test_without_global_dns_each_cluster_keeps_its_metrics(dev_plan: Plan) -> None:
    hub = central(dev_plan)
    assert dev_plan.outputs["monitoring"]["remoteWriteUrl"] is None
    assert dev_plan.outputs["monitoring"]["aggregatedTargets"] == [hub]
    assert set(dev_plan.outputs["monitoring"]["localOnlyTargets"]) == targets(dev_plan) - {hub}
    for target, values in stack_values(dev_plan).items():
        if target != hub:
            assert "remoteWrite" not in values["prometheus"]["prometheusSpec"]
    assert token_secrets(dev_plan) == {}
    for type_token in (PROBE, VIRTUAL_SERVICE, AUTHORIZATION_POLICY):
        assert monitored(dev_plan, type_token) == {}, type_token
    assert dev_plan.of_type(ENDPOINT) == []


def test_secrets_are_masked_and_never_in_the_plan(stack_plan: Plan) -> None:
    assert stack_plan.outputs["grafanaAdminPassword"] == MASK
    text = json.dumps(stack_plan.to_json())
    passwords = mock_passwords(stack_plan)
    assert len(passwords) >= 1 + (len(targets(stack_plan)) if stack_plan.of_type(ENDPOINT) else 0)
    for password in passwords:
        assert password not in text


def test_the_only_edges_between_targets_are_allowed_and_the_token_ones_wait_on_nothing(prod_plan: Plan) -> None:
    assert cross_target_edges(prod_plan) == []
    token_edges = [e for e in allowed_cross_target_edges(prod_plan) if allowance(prod_plan, e) == REMOTE_WRITE_TOKEN]
    hub = central(prod_plan)
    senders = targets(prod_plan) - {hub}
    tokens = {
        r.name.removeprefix("metrics-token-"): r
        for r in prod_plan.of_type("random:index/randomPassword:RandomPassword")
        if r.name.startswith("metrics-token")
    }
    assert set(tokens) == senders  # one per sending target, none for the central cluster (in-cluster)
    assert {e.to_urn for e in token_edges} == {token.urn for token in tokens.values()}
    for token in tokens.values():
        assert not token.dependencies and prod_plan.target_of(token) is None
        assert token.inputs["keepers"] == {"generation": "1"}  # observability.remoteWriteTokenGeneration

    # each other cluster's Secret reads its own token only; the central gateway's AuthorizationPolicy reads them all
    def reader_type(edge: Any) -> str:
        return str(edge.from_urn.split("::")[2].rsplit("$", 1)[-1])

    for sender, token in tokens.items():
        reads = [e for e in token_edges if e.from_target == sender]
        assert {(reader_type(e), e.to_urn) for e in reads} == {(SECRET, token.urn)}, sender
    policy_reads = [e for e in token_edges if e.from_target == hub]
    assert {reader_type(e) for e in policy_reads} == {AUTHORIZATION_POLICY}
    assert {e.to_urn for e in policy_reads} == {token.urn for token in tokens.values()}


def _graph(token_dependencies: tuple[str, ...]) -> Plan:
    def urn(type_token: str, name: str) -> str:
        return f"urn:pulumi:test::proj::{type_token}::{name}"

    def res(type_token: str, name: str, parent: str | None, deps: tuple[str, ...] = (), custom: bool = True) -> Any:
        fields = {"type": type_token, "name": name, "custom": custom, "parent": parent, "provider": None}
        return {"urn": urn(type_token, name), **fields, "dependencies": list(deps), "inputs": {}}

    root, a, b = urn("pulumi:pulumi:Stack", "s"), urn(FOOTPRINT_TYPE, "a"), urn(FOOTPRINT_TYPE, "b")
    endpoint = urn(ENDPOINT, "metrics")
    token = urn("random:index/randomPassword:RandomPassword", "metrics-token")
    return plan_from_json(
        {
            "resources": [
                res("pulumi:pulumi:Stack", "s", None, custom=False),
                res(FOOTPRINT_TYPE, "a", root, custom=False),
                res(FOOTPRINT_TYPE, "b", root, custom=False),
                res("test:index:Cluster", "cluster-b", b),
                res(ENDPOINT, "metrics", root, custom=False),
                res("random:index/randomPassword:RandomPassword", "metrics-token", endpoint, token_dependencies),
                res(SECRET, "secret-a", a, (token,)),
            ]
        },
        "hand-made graph",
    )


def test_the_token_allowance_is_narrow() -> None:
    """Allowed while the token waits on nothing; once it waited on a target, a's Secret would wait on b."""
    free = _graph(())
    assert [allowance(free, e) for e in allowed_cross_target_edges(free)] == [REMOTE_WRITE_TOKEN]
    assert cross_target_edges(free) == []
    coupled = _graph(("urn:pulumi:test::proj::test:index:Cluster::cluster-b",))
    assert {e.from_urn.rsplit("::", 1)[1] for e in cross_target_edges(coupled)} == {"secret-a", "metrics-token"}


def unmasked(manifest: dict[str, Any]) -> dict[str, Any]:
    """A masked value replaced by one of its type, so the schema checks the rest (the real value is a string)."""
    text = json.dumps(manifest).replace(json.dumps(MASK), json.dumps("masked-in-the-plan"))
    result: dict[str, Any] = json.loads(text)
    if result.get("kind") == "Secret" and isinstance(result.get("stringData"), str):
        result["stringData"] = {TOKEN_KEY: result["stringData"]}
    return result


def observability_manifests(plan: Plan) -> list[dict[str, Any]]:
    objects = []
    for resource in plan.resources:
        if under(plan, MONITORING, resource) is None or not resource.type.startswith("kubernetes:"):
            continue
        if resource.type.startswith(k8s_schemas.NOT_MANIFESTS):
            continue
        objects.append(unmasked(dict(resource.inputs)))
    return objects


def claim_templates(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Take each Prometheus's storage.volumeClaimTemplate out, as the PersistentVolumeClaim it stands for.

    The CRD (kube-prometheus-stack 88.5.3, crd-prometheuses.yaml) declares the template's apiVersion and kind as
    optional strings; @kubernetes-models/prometheus-operator 6.0.0 models it as a kind of its own and requires
    `monitoring.coreos.com/v1 EmbeddedPersistentVolumeClaim`, which the operator would copy into the StatefulSet.
    So the template is checked where it is strictest, as a Kubernetes 1.33 PersistentVolumeClaim.
    """
    claims = []
    for manifest in objects:
        storage = manifest.get("spec", {}).get("storage", {}) if manifest["kind"] == "Prometheus" else {}
        if "volumeClaimTemplate" in storage:
            template = storage.pop("volumeClaimTemplate")
            name = manifest["metadata"]["name"]
            claims.append({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": name}, **template})
    return claims


def test_every_new_kubernetes_object_is_valid(stack_plan: Plan) -> None:
    objects = observability_manifests(stack_plan)
    assert objects and not k8s_schemas.placeholders(objects)
    claims = claim_templates(objects)
    persistent = stack_plan.outputs["targets"][central(stack_plan)]["cloud"] != "aws"  # prometheus.PERSISTENT_STORAGE
    assert len(claims) == (1 if persistent else 0)
    objects += claims
    errors, custom = k8s_schemas.split(objects)
    assert errors == []
    kinds = {m["kind"] for m in custom}
    assert {"PrometheusRule", "PodMonitor", "Prometheus"} <= kinds
    reason = k8s_schemas.custom_validator_missing()
    if reason:
        pytest.fail(reason)
    assert k8s_schemas.custom_errors(custom) == []
