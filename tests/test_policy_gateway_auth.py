"""The pack refuses a prod ingress gateway without token checks and an ALLOW list (issue 18), over the analyzer
protocol, as `pulumi preview --policy-pack` would run it."""

from __future__ import annotations

from typing import Any

import pytest

from preflight.policy_packs import RunningPolicyPack
from tests.policy_helpers import REQUIRED_TAGS, analyze, aws_provider, resource

POLICY = "prod-gateways-authenticate"
GATEWAY = "kubernetes:networking.istio.io/v1:Gateway"
REQUEST_AUTHENTICATION = "kubernetes:security.istio.io/v1:RequestAuthentication"
AUTHORIZATION_POLICY = "kubernetes:security.istio.io/v1:AuthorizationPolicy"
POD_LABELS = {"istio": "ingressgateway"}
SELECTOR = {"matchLabels": POD_LABELS}
JWT = {"issuer": "https://issuer.example.com", "jwksUri": "https://issuer.example.com/jwks", "audiences": ["ml"]}
ALLOW = {
    "selector": SELECTOR,
    "action": "ALLOW",
    "rules": [{"to": [{"operation": {"methods": ["GET"], "paths": ["/v2/health/ready"]}}]}],
}


def cluster(name: str) -> dict[str, Any]:
    return resource("pulumi:providers:kubernetes", name, {"kubeconfig": "[secret]"})


AWS_K8S, GCP_K8S = cluster("aws-k8s"), cluster("gcp-k8s")


def graph(environment: str, *objects: dict[str, Any]) -> list[dict[str, Any]]:
    """A stack whose cloud resources are tagged `environment` (how the pack knows prod), with these objects."""
    tags = {**REQUIRED_TAGS, "environment": environment}
    provider = aws_provider(tags, name=f"aws-{environment}")
    vpc = resource("aws:ec2/vpc:Vpc", "network", {"cidrBlock": "10.0.0.0/16"}, provider=provider)
    return [provider, vpc, AWS_K8S, GCP_K8S, *objects]


def gateway(k8s: dict[str, Any]) -> dict[str, Any]:
    inputs = {"apiVersion": "networking.istio.io/v1", "kind": "Gateway", "spec": {"selector": POD_LABELS}}
    return resource(GATEWAY, f"{k8s['name']}-gateway", inputs, provider=k8s)


def request_authentication(k8s: dict[str, Any], spec: dict[str, Any] | None = None) -> dict[str, Any]:
    inputs = {"kind": "RequestAuthentication", "spec": spec or {"selector": SELECTOR, "jwtRules": [JWT]}}
    return resource(REQUEST_AUTHENTICATION, f"{k8s['name']}-callers", inputs, provider=k8s)


def authorization_policy(k8s: dict[str, Any], spec: dict[str, Any] | None = None) -> dict[str, Any]:
    inputs = {"kind": "AuthorizationPolicy", "spec": spec or ALLOW}
    return resource(AUTHORIZATION_POLICY, f"{k8s['name']}-allow", inputs, provider=k8s)


def messages(pack: RunningPolicyPack, objects: list[dict[str, Any]], about: dict[str, Any]) -> list[str]:
    violations = analyze(pack, *objects)
    found = [v for v in violations if v.policy == POLICY and v.urn == about["urn"]]
    assert {v.level for v in found} <= {"mandatory"}
    return [v.message for v in found]


def test_a_prod_gateway_with_both_objects_passes(policy_pack: RunningPolicyPack) -> None:
    gw = gateway(AWS_K8S)
    objects = graph("prod", gw, request_authentication(AWS_K8S), authorization_policy(AWS_K8S))
    assert messages(policy_pack, objects, gw) == []


@pytest.mark.parametrize(
    ("objects", "missing"),
    [
        pytest.param([], "no RequestAuthentication with a jwtRule and no ALLOW", id="neither"),
        pytest.param([authorization_policy(AWS_K8S)], "RequestAuthentication with a jwtRule", id="no-jwt-check"),
        pytest.param([request_authentication(AWS_K8S)], "ALLOW AuthorizationPolicy", id="no-allow-list"),
        pytest.param(
            [request_authentication(GCP_K8S), authorization_policy(GCP_K8S)],
            "RequestAuthentication",
            id="objects-on-another-cluster",
        ),
        pytest.param(
            [
                request_authentication(AWS_K8S, {"selector": {"matchLabels": {"app": "other"}}, "jwtRules": [JWT]}),
                authorization_policy(AWS_K8S),
            ],
            "RequestAuthentication",
            id="selects-other-pods",
        ),
        pytest.param(
            [request_authentication(AWS_K8S), authorization_policy(AWS_K8S, {**ALLOW, "rules": [{}]})],
            "ALLOW AuthorizationPolicy",
            id="allow-everything-rule",
        ),
        pytest.param(
            [request_authentication(AWS_K8S), authorization_policy(AWS_K8S, {**ALLOW, "action": "DENY"})],
            "ALLOW AuthorizationPolicy",
            id="deny-only",
        ),
        pytest.param(
            [request_authentication(AWS_K8S, {"selector": SELECTOR, "jwtRules": []}), authorization_policy(AWS_K8S)],
            "RequestAuthentication",
            id="no-jwt-rule",
        ),
    ],
)
def test_a_prod_gateway_without_them_is_a_mandatory_violation(
    policy_pack: RunningPolicyPack, objects: list[dict[str, Any]], missing: str
) -> None:
    gw = gateway(AWS_K8S)
    found = messages(policy_pack, graph("prod", gw, *objects), gw)
    assert len(found) == 1 and missing in found[0] and "(prod)" in found[0], found


def test_a_dev_gateway_may_be_open(policy_pack: RunningPolicyPack) -> None:
    gw = gateway(AWS_K8S)
    assert messages(policy_pack, graph("dev", gw), gw) == []
