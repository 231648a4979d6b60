"""Least privilege in the monitoring namespace: Grafana reads no Secret, each cluster writes metrics with its own
token (rotated by config), and the central receiver's in-cluster way in is fenced."""

from __future__ import annotations

from typing import Any

import pulumi
import pytest

from components.observability.endpoint import CentralEndpoint
from preflight.plan import Plan
from stacks.observability_config import parse_observability
from stacks.validate import ConfigError
from tests.helpers import program_plan

RELEASE = "kubernetes:helm.sh/v3:Release"
ROLE = "kubernetes:rbac.authorization.k8s.io/v1:Role"
NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
SIDECARS = ("dashboards", "datasources", "plugins", "alerts", "notifiers")


def grafana_values(plan: Plan) -> dict[str, Any]:
    found = [
        r.inputs["values"]["grafana"]
        for r in plan.of_type(RELEASE)
        if r.inputs.get("chart") == "kube-prometheus-stack" and r.inputs["values"].get("grafana", {}).get("enabled")
    ]
    assert len(found) == 1, "one Grafana, on the central footprint"
    return found[0]


def chart_rbac(values: dict[str, Any]) -> dict[str, Any]:
    """What the grafana chart 12.11.1 renders for RBAC from these values, by its templates' own conditions
    (charts/grafana/templates/clusterrole.yaml, role.yaml, rolebinding.yaml at that version), with the chart's
    defaults for what the values leave out (rbac.create true, namespaced false; kube-prometheus-stack turns the
    dashboard and data source sidecars on)."""
    rbac = {"create": True, "namespaced": False, **values.get("rbac", {})}
    sidecars_on = values.get("sidecar", {}).get("dashboards", {}).get("enabled", True)
    cluster_role = (
        rbac["create"]
        and (not rbac["namespaced"] or bool(rbac.get("extraClusterRoleRules")))
        and not rbac.get("useExistingClusterRole")
    )
    chart_role = rbac["create"] and not rbac.get("useExistingRole") and rbac["namespaced"]
    return {
        # both rule sets the chart writes for sidecars: configmaps AND secrets, get/watch/list
        "cluster_role_reads_secrets": cluster_role and sidecars_on,
        "chart_role_reads_secrets": chart_role and sidecars_on,
        "binds_to": rbac.get("useExistingRole") if rbac["create"] and rbac["namespaced"] else None,
    }


def test_grafana_gets_no_cluster_role_and_reads_no_secret(stack_plan: Plan) -> None:
    values = grafana_values(stack_plan)
    rendered = chart_rbac(values)
    assert rendered["cluster_role_reads_secrets"] is False
    assert rendered["chart_role_reads_secrets"] is False
    (role,) = [r for r in stack_plan.of_type(ROLE) if r.inputs["metadata"]["name"] == rendered["binds_to"]]
    assert role.inputs["metadata"]["namespace"] == "monitoring"
    assert role.inputs["rules"] == [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list", "watch"]}]


def test_every_grafana_sidecar_that_is_on_watches_configmaps_in_its_own_namespace_only(stack_plan: Plan) -> None:
    sidecar = grafana_values(stack_plan)["sidecar"]
    assert sidecar["dashboards"]["resource"] == "configmap" and sidecar["dashboards"]["searchNamespace"] is None
    assert sidecar["datasources"]["resource"] == "configmap"
    assert "searchNamespace" not in sidecar["datasources"]  # the chart's default: its own namespace
    for name in SIDECARS[2:]:
        assert not sidecar.get(name, {}).get("enabled", False)  # the chart's default: off


def test_the_central_receiver_admits_only_its_prometheus_grafana_and_the_gateway(stack_plan: Plan) -> None:
    (fence,) = [
        r for r in stack_plan.of_type(NETWORK_POLICY) if r.inputs["metadata"]["name"] == "mlplatform-central-prometheus"
    ]
    spec = fence.inputs["spec"]
    assert fence.inputs["metadata"]["namespace"] == "monitoring"
    assert spec["podSelector"] == {"matchLabels": {"operator.prometheus.io/name": "mlplatform-central"}}
    assert spec["policyTypes"] == ["Ingress", "Egress"] and spec["egress"] == [{}]
    (rule,) = spec["ingress"]
    assert rule["ports"] == [{"protocol": "TCP", "port": 9090}]
    assert rule["from"] == [
        {"podSelector": {"matchLabels": {"operator.prometheus.io/name": "kube-prometheus-stack-prometheus"}}},
        {"podSelector": {"matchLabels": {"app.kubernetes.io/name": "grafana"}}},
        {
            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "istio-ingress"}},
            "podSelector": {"matchLabels": {"istio": "ingressgateway"}},
        },
    ]


def selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    """A pod selector's verdict on a pod's labels (Kubernetes label selectors: matchLabels and the In, NotIn,
    Exists and DoesNotExist expressions, all of which must hold)."""
    if any(labels.get(key) != value for key, value in selector.get("matchLabels", {}).items()):
        return False
    verdicts = {
        "In": lambda e: labels.get(e["key"]) in e["values"],
        "NotIn": lambda e: labels.get(e["key"]) not in e["values"],
        "Exists": lambda e: e["key"] in labels,
        "DoesNotExist": lambda e: e["key"] not in labels,
    }
    return all(verdicts[e["operator"]](e) for e in selector.get("matchExpressions", []))


def test_no_other_policy_opens_the_central_receiver(prod_plan: Plan) -> None:
    """Policies add up: a namespace-wide allow selecting the central Prometheus would admit every monitoring pod."""
    central_pod = {"operator.prometheus.io/name": "mlplatform-central", "app.kubernetes.io/name": "prometheus"}
    selecting = {
        r.inputs["metadata"]["name"]
        for r in prod_plan.of_type(NETWORK_POLICY)
        if r.inputs["metadata"]["namespace"] == "monitoring"
        and selects(r.inputs["spec"]["podSelector"], central_pod)
        and r.inputs["spec"].get("ingress")
    }
    assert selecting == {"mlplatform-central-prometheus"}
    assert selects({"matchExpressions": [{"key": "a", "operator": "NotIn", "values": ["b"]}]}, {"a": "c"})
    assert not selects({"matchExpressions": [{"key": "a", "operator": "NotIn", "values": ["b"]}]}, {"a": "b"})


def test_each_sender_sends_its_own_token_from_its_own_secret(prod_plan: Plan) -> None:
    senders = {
        r.inputs["values"]["prometheus"]["prometheusSpec"]["externalLabels"]["target"]: r.inputs["values"]
        for r in prod_plan.of_type(RELEASE)
        if r.inputs.get("chart") == "kube-prometheus-stack"
        and "authorization" in str(r.inputs["values"]["prometheus"]["prometheusSpec"].get("remoteWrite", ""))
    }
    assert len(senders) == 3  # prod: four targets, one of them central
    for values in senders.values():
        (remote,) = values["prometheus"]["prometheusSpec"]["remoteWrite"]
        assert remote["authorization"]["credentials"] == {"name": "mlplatform-remote-write", "key": "token"}


def endpoint_tokens(generation: int) -> Plan:
    def program() -> None:
        endpoint = CentralEndpoint("metrics", "metrics.ml.example.com", ["a", "b"], generation)
        pulumi.export("senders", sorted(endpoint.tokens))

    return program_plan(program)


def test_a_new_token_generation_replaces_every_token() -> None:
    """The keepers carry the generation: a changed number is a changed keeper, which replaces the RandomPassword."""
    for generation in (1, 2):
        plan = endpoint_tokens(generation)
        passwords = plan.of_type("random:index/randomPassword:RandomPassword")
        assert sorted(p.name for p in passwords) == ["metrics-token-a", "metrics-token-b"]
        assert {p.inputs["keepers"]["generation"] for p in passwords} == {str(generation)}


def test_the_token_generation_is_a_positive_number() -> None:
    assert parse_observability("o", {"remoteWriteTokenGeneration": 3}, ["a"], None).token_generation == 3
    assert parse_observability("o", None, ["a"], None).token_generation == 1
    with pytest.raises(ConfigError, match=r"^o\.remoteWriteTokenGeneration: "):
        parse_observability("o", {"remoteWriteTokenGeneration": 0}, ["a"], None)
