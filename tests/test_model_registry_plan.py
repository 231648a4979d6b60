"""The model registry in the plans: one MLflow server on the primary target, its image pinned, its database password
only in a Secret, and reachable through the gateway only behind the gateway's JWT check (prod), not at all in dev."""

from __future__ import annotations

import json
from typing import Any

import pytest

from components import images
from components.model_registry.contract import NAME, PATH_PREFIX, SECRET, SECRET_URI_KEY
from components.model_registry.routes import POLICY_NAME
from components.pod_security import RESTRICTED
from preflight.plan import Plan, PlannedResource
from stacks.auth_config import parse_auth
from stacks.validate import ConfigError
from tests.helpers import every, mock_passwords, only

REGISTRY = "mlplatform:models:ModelRegistry"
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
AUTHORIZATION_POLICY = "kubernetes:security.istio.io/v1:AuthorizationPolicy"
REQUEST_AUTHENTICATION = "kubernetes:security.istio.io/v1:RequestAuthentication"
VIRTUAL_SERVICE = "kubernetes:networking.istio.io/v1:VirtualService"
PRIMARY = {"dev": "aws-us-east-1", "prod": "aws-us-east-1"}  # both stacks' modelSync.primary


def _children(plan: Plan, component: PlannedResource) -> list[PlannedResource]:
    return [r for r in plan.resources if r.parent == component.urn]


def _server(plan: Plan) -> PlannedResource:
    [deployment] = [r for r in every(plan, DEPLOYMENT) if r.inputs["metadata"]["name"] == NAME]
    return deployment


def _pod(plan: Plan) -> dict[str, Any]:
    spec: dict[str, Any] = _server(plan).inputs["spec"]["template"]["spec"]
    return spec


def test_one_registry_on_the_primary_target_only(stack_plan: Plan) -> None:
    registry = only(stack_plan, REGISTRY)
    footprint = stack_plan.get(registry.parent or "")
    assert footprint is not None and footprint.name == PRIMARY[stack_plan.stack]
    assert registry.name == f"{PRIMARY[stack_plan.stack]}-model-registry"
    assert _server(stack_plan).parent == registry.urn  # the only MLflow Deployment in the stack
    assert stack_plan.outputs["modelRegistry"]["target"] == PRIMARY[stack_plan.stack]


def test_the_image_is_the_pinned_full_image(stack_plan: Plan) -> None:
    pinned = images.image("mlflow")
    assert pinned.repository == "ghcr.io/mlflow/mlflow" and pinned.tag.endswith("-full")
    for container in (*_pod(stack_plan)["initContainers"], *_pod(stack_plan)["containers"]):
        assert container["image"] == pinned.ref, container["name"]


def test_the_database_password_is_only_in_a_secret(stack_plan: Plan) -> None:
    registry = only(stack_plan, REGISTRY)
    [secret] = [r for r in _children(stack_plan, registry) if r.type == "kubernetes:core/v1:Secret"]
    assert secret.inputs["metadata"]["name"] == SECRET
    assert secret.inputs["stringData"] == "[secret]"  # a Pulumi secret: masked in the plan and in state
    server = _pod(stack_plan)["containers"][0]
    backend = next(e for e in server["env"] if e["name"] == "MLFLOW_BACKEND_STORE_URI")
    assert backend == {
        "name": "MLFLOW_BACKEND_STORE_URI",
        "valueFrom": {"secretKeyRef": {"name": SECRET, "key": SECRET_URI_KEY}},
    }
    shown = json.dumps([r.inputs for r in _children(stack_plan, registry)])
    assert "postgresql://" not in shown and "--backend-store-uri" not in shown
    assert not any(password in shown for password in mock_passwords(stack_plan))


def test_the_server_records_only_and_runs_restricted(stack_plan: Plan) -> None:
    """--no-serve-artifacts: no bucket grant; the gateway's path as the static prefix; restricted Pod Security."""
    server = _pod(stack_plan)["containers"][0]
    assert "--no-serve-artifacts" in server["args"]
    assert server["args"][server["args"].index("--static-prefix") + 1] == PATH_PREFIX
    assert _pod(stack_plan)["automountServiceAccountToken"] is False
    for container in (*_pod(stack_plan)["initContainers"], _pod(stack_plan)["containers"][0]):
        context = container["securityContext"]
        assert context["runAsNonRoot"] and not context["allowPrivilegeEscalation"]
        assert context["capabilities"] == {"drop": ["ALL"]} and context["seccompProfile"] == {"type": "RuntimeDefault"}
    namespace = _server(stack_plan).inputs["metadata"]["namespace"]
    levels = [
        r.inputs["metadata"]["labels"].get("pod-security.kubernetes.io/enforce")
        for r in stack_plan.of_type("kubernetes:core/v1:Namespace")
        if r.inputs["metadata"]["name"] == namespace
    ]
    assert levels and set(levels) == {RESTRICTED}


def test_prod_reaches_it_through_the_gateway_behind_the_jwt_check(prod_plan: Plan) -> None:
    registry = only(prod_plan, REGISTRY)
    children = _children(prod_plan, registry)
    [route] = [r for r in children if r.type == VIRTUAL_SERVICE]
    [rule] = route.inputs["spec"]["http"]
    assert rule["match"] == [{"uri": {"exact": PATH_PREFIX}}, {"uri": {"prefix": f"{PATH_PREFIX}/"}}]
    assert rule["route"][0]["destination"]["host"] == f"{NAME}.serving.svc.cluster.local"
    [allow] = [r for r in children if r.type == AUTHORIZATION_POLICY]
    assert allow.inputs["metadata"]["name"] == POLICY_NAME and allow.inputs["spec"]["action"] == "ALLOW"
    for each in allow.inputs["spec"]["rules"]:  # only verified tokens, with a listed claim, on the registry's path
        assert each["from"] == [{"source": {"requestPrincipals": ["*"]}}]
        assert each["to"] == [{"operation": {"paths": [PATH_PREFIX, f"{PATH_PREFIX}/*"]}}]
        assert {"key": "request.auth.claims[groups]", "values": ["model-publishers"]} in each["when"]
    # The tokens are checked by the primary gateway's RequestAuthentication on the same pods.
    selector = allow.inputs["spec"]["selector"]
    namespace = allow.inputs["metadata"]["namespace"]
    checks = [
        r
        for r in prod_plan.of_type(REQUEST_AUTHENTICATION)
        if r.inputs["metadata"]["namespace"] == namespace
        and r.inputs["spec"]["selector"] == selector
        and r.provider == allow.provider
    ]
    assert len(checks) == 1 and checks[0].inputs["spec"]["jwtRules"]
    assert prod_plan.outputs["modelRegistry"]["url"] == f"https://api.ml.example.com{PATH_PREFIX}"


def test_dev_without_authentication_does_not_expose_it(dev_plan: Plan) -> None:
    children = _children(dev_plan, only(dev_plan, REGISTRY))
    assert not [r for r in children if r.type in (VIRTUAL_SERVICE, AUTHORIZATION_POLICY)]
    assert dev_plan.outputs["modelRegistry"]["url"] is None


ISSUER = {"issuer": "https://login.example.com", "jwksUri": "https://login.example.com/keys", "audiences": ["api"]}


@pytest.mark.parametrize(
    ("registry", "said"),
    [
        ({"groups": ["p"], "rateLimit": {"requestsPerSecond": 1}}, "registry.rateLimit: unknown key"),
        ({"groups": "p"}, "registry.groups: expected a list, got 'p'"),
        (["p"], "registry: expected a map, got a list"),
    ],
)
def test_bad_registry_callers_are_one_line_naming_the_key(registry: Any, said: str) -> None:
    with pytest.raises(ConfigError) as error:
        parse_auth("mlplatform:auth", {"issuers": [ISSUER], "registry": registry}, "prod", ["fraud-detection"])
    assert str(error.value).startswith("mlplatform:auth.") and said in str(error.value)


def test_registry_callers_are_read_and_default_to_nobody() -> None:
    auth = parse_auth("mlplatform:auth", {"issuers": [ISSUER]}, "prod", [])
    assert auth.registry is None
    auth = parse_auth("mlplatform:auth", {"issuers": [ISSUER], "registry": {"subjects": ["ci"]}}, "prod", [])
    assert auth.registry is not None and auth.registry.subjects == ("ci",) and not auth.registry.open_to_nobody
