"""Every prod gateway checks callers' tokens and admits each model only to its configured callers (issue 18).

Expected values come from Pulumi.prod.yaml (the issuer, audiences and callers it names) and from Istio's reference
for RequestAuthentication and AuthorizationPolicy (security.istio.io/v1, read 2026-12).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.serving_stack.contract import GatewayAuth, JwtIssuer, ModelCallers
from components.serving_stack.gateway_auth import authorization_policy_spec
from preflight.plan import Plan, PlannedResource
from tests import k8s_schemas

ROOT = Path(__file__).resolve().parent.parent
REQUEST_AUTHENTICATION = "kubernetes:security.istio.io/v1:RequestAuthentication"
AUTHORIZATION_POLICY = "kubernetes:security.istio.io/v1:AuthorizationPolicy"
GATEWAY_POD_LABELS = {"istio": "ingressgateway"}  # the gateway chart's pod labels for release istio-ingressgateway
HEALTH = {"to": [{"operation": {"methods": ["GET"], "paths": ["/v2/health/ready"]}}]}


def prod_auth() -> dict[str, Any]:
    return dict(yaml.safe_load((ROOT / "Pulumi.prod.yaml").read_text())["config"]["mlplatform:auth"])


def callers_objects(plan: Plan, type_token: str) -> dict[str, PlannedResource]:
    """Target -> its gateway's `mlplatform-callers` object of this type (exactly one each)."""
    found: dict[str, PlannedResource] = {}
    for resource in plan.of_type(type_token):
        if resource.inputs["metadata"]["name"] != "mlplatform-callers":
            continue
        target = plan.target_of(resource)
        assert target is not None and target not in found, f"two {type_token} on {target}"
        found[target] = resource
    return found


def targets(plan: Plan) -> set[str]:
    return set(plan.outputs["targets"])


def test_every_prod_gateway_checks_tokens_from_the_configured_issuer(prod_plan: Plan) -> None:
    auth = prod_auth()
    found = callers_objects(prod_plan, REQUEST_AUTHENTICATION)
    assert set(found) == targets(prod_plan)
    for resource in found.values():
        assert resource.inputs["metadata"]["namespace"] == "istio-ingress"  # the gateway's, not the models'
        spec = resource.inputs["spec"]
        assert spec["selector"] == {"matchLabels": GATEWAY_POD_LABELS}
        (rule,) = spec["jwtRules"]
        (issuer,) = auth["issuers"]
        assert (rule["issuer"], rule["jwksUri"], rule["audiences"]) == (
            issuer["issuer"],
            issuer["jwksUri"],
            issuer["audiences"],
        )
        assert rule["forwardOriginalToken"] is False  # Triton never sees the caller's token
        assert rule["outputClaimToHeaders"] == [{"header": "x-mlplatform-caller", "claim": "sub"}]


def test_every_prod_gateway_admits_a_model_only_to_its_callers(prod_plan: Plan) -> None:
    found = callers_objects(prod_plan, AUTHORIZATION_POLICY)
    assert set(found) == targets(prod_plan)
    fraud = prod_auth()["models"]["fraud-detection"]
    verified = [{"source": {"requestPrincipals": ["*"]}}]
    paths = [{"operation": {"paths": ["/v2/models/fraud-detection", "/v2/models/fraud-detection/*"]}}]
    for target, resource in found.items():
        spec = resource.inputs["spec"]
        assert spec["selector"] == {"matchLabels": GATEWAY_POD_LABELS}
        assert spec["action"] == "ALLOW"  # with an ALLOW policy, whatever no rule matches gets 403
        rules = spec["rules"]
        assert rules[0] == HEALTH  # the probe's path, no token, GET only
        model = [r for r in rules if "from" in r]
        counted = {"key": "request.auth.claims[sub]", "values": ["*"]}  # the rate limit's caller claim is present
        assert model == [
            {
                "from": verified,
                "to": paths,
                "when": [{"key": "request.auth.claims[groups]", "values": fraud["groups"]}, counted],
            },
            {
                "from": verified,
                "to": paths,
                "when": [{"key": "request.auth.claims[scope]", "values": fraud["scopes"]}, counted],
            },
        ], target
        # nothing else is open without a token, except the central metrics host (its own policy wants its token)
        others = [r for r in rules if r != HEALTH and "from" not in r]
        hosts = [h for r in others for o in r["to"] for h in o["operation"]["hosts"]]
        central = prod_plan.outputs["monitoring"]["central"]
        assert hosts == (["metrics.ml.example.com", "metrics.ml.example.com:*"] if target == central else [])


def test_dev_turned_auth_off_so_its_gateways_have_no_caller_policy(dev_plan: Plan) -> None:
    assert callers_objects(dev_plan, REQUEST_AUTHENTICATION) == {}
    assert callers_objects(dev_plan, AUTHORIZATION_POLICY) == {}


def test_a_model_nobody_is_listed_for_gets_no_rule() -> None:
    """Default deny: a model with no subjects, groups or scopes is reachable by no token."""
    auth = GatewayAuth(
        issuers=(JwtIssuer("https://issuer.example.com", "https://issuer.example.com/jwks", ("ml",)),),
        callers=(ModelCallers("open-to-none"), ModelCallers("churn", subjects=("svc-batch",))),
    )
    rules = authorization_policy_spec(auth, GATEWAY_POD_LABELS)["rules"]
    assert rules[0] == HEALTH
    assert [r["to"][0]["operation"]["paths"][0] for r in rules[1:]] == ["/v2/models/churn"]
    assert rules[1]["when"] == [
        {"key": "request.auth.claims[sub]", "values": ["svc-batch"]},
        {"key": "request.auth.claims[sub]", "values": ["*"]},
    ]


def test_a_token_without_the_caller_claim_is_not_admitted() -> None:
    """The rate limit counts on the caller claim's header and skips a request without it, so every model rule
    needs that claim present (Istio's presence match `*`): no verified token can escape its caller's limit."""
    auth = GatewayAuth(
        issuers=(JwtIssuer("https://issuer.example.com", "https://issuer.example.com/jwks", ("ml",)),),
        callers=(ModelCallers("churn", groups=("g",), scopes=("infer",)),),
        caller_claim="repository",
    )
    rules = authorization_policy_spec(auth, GATEWAY_POD_LABELS)["rules"][1:]
    assert len(rules) == 2
    for rule in rules:
        assert {"key": "request.auth.claims[repository]", "values": ["*"]} in rule["when"]


def test_the_gateway_auth_objects_are_valid_against_istios_crds(prod_plan: Plan) -> None:
    reason = k8s_schemas.custom_validator_missing()
    if reason:
        pytest.fail(reason)
    objects = [
        dict(resource.inputs)
        for type_token in (REQUEST_AUTHENTICATION, AUTHORIZATION_POLICY)
        for resource in callers_objects(prod_plan, type_token).values()
    ]
    assert objects and not k8s_schemas.placeholders(objects)
    assert k8s_schemas.custom_errors(objects) == []
    broken = json.loads(json.dumps(objects))
    broken[0]["spec"]["jwtRules"][0]["audiences"] = "api://mlplatform"  # a string where a list belongs
    broken[-1]["spec"]["action"] = "PERMIT"
    assert len(k8s_schemas.custom_errors([broken[0], broken[-1]])) == 2
