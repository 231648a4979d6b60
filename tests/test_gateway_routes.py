"""The public routes carry only what callers need (issue 18): inference, metadata and readiness; Triton's control
APIs under the same prefix (trace settings, config, statistics, repository load/unload) are not routed.

Paths from the KServe V2 protocol and Triton's extensions (Triton docs, "Inference Protocols and APIs", read
2026-12); Istio's `regex` is RE2 and must match the whole path, which Python's fullmatch does for these patterns.
"""

from __future__ import annotations

import re

import pytest

from components.serving_stack.contract import HEALTH_PATH, ModelSpec, ModelVersion
from components.serving_stack.traffic import http_routes
from preflight.plan import Plan

FRAUD = ModelSpec("fraud", (ModelVersion("v1", "fraud/v1", 100),), accelerator="T4")


def routed(method: str, path: str) -> str | None:
    """The name of the route a request takes, as the gateway picks it (first match), or None (404)."""
    for route in http_routes(FRAUD, health=True):
        for match in route["match"]:
            uri = match["uri"]
            if "method" in match and match["method"]["exact"] != method:
                continue
            if ("exact" in uri and uri["exact"] == path) or ("regex" in uri and re.fullmatch(uri["regex"], path)):
                return str(route["name"])
    return None


@pytest.mark.parametrize(
    ("method", "path", "route"),
    [
        ("POST", "/v2/models/fraud/infer", "inference"),
        ("POST", "/v2/models/fraud/versions/3/infer", "inference"),
        ("GET", "/v2/models/fraud", "metadata"),
        ("GET", "/v2/models/fraud/ready", "metadata"),
        ("GET", "/v2/models/fraud/versions/3", "metadata"),
        ("GET", "/v2/models/fraud/versions/3/ready", "metadata"),
        ("GET", HEALTH_PATH, "health"),
        # not routed: control and statistics APIs, other models, the wrong method
        ("POST", "/v2/models/fraud/trace/setting", None),
        ("GET", "/v2/models/fraud/trace/setting", None),
        ("GET", "/v2/models/fraud/config", None),
        ("GET", "/v2/models/fraud/stats", None),
        ("POST", "/v2/repository/models/fraud/load", None),
        ("POST", "/v2/repository/models/fraud/unload", None),
        ("POST", "/v2/logging", None),
        ("GET", "/v2/models/fraud/infer", None),
        ("POST", "/v2/models/fraud-detection/infer", None),
        ("POST", "/v2/models/fraud/versions/3/ready/infer", None),
    ],
)
def test_only_inference_metadata_and_readiness_are_routed(method: str, path: str, route: str | None) -> None:
    assert routed(method, path) == route


def test_every_route_has_a_timeout_retries_included() -> None:
    routes = http_routes(FRAUD, health=True)
    assert all(route.get("timeout") for route in routes)
    inference = next(route for route in routes if route["name"] == "inference")
    per_try = int(inference["retries"]["perTryTimeout"].removesuffix("s"))
    assert int(inference["timeout"].removesuffix("s")) >= inference["retries"]["attempts"] * per_try


def test_no_route_forwards_tritons_admin_header() -> None:
    for route in http_routes(FRAUD, health=True):
        assert route["headers"] == {"request": {"remove": ["x-mlplatform-triton-admin"]}}, route["name"]


def test_triton_keeps_its_control_apis_behind_the_admin_key(prod_plan: Plan) -> None:
    """Triton's documented form: --http-restricted-api=<API_1>,<API_2>,...:<key>=<value>, and the same groups for
    --grpc-restricted-protocol; the value comes from the Secret through the container's environment."""
    group = "model-config,model-repository,statistics,trace,logging,shared-memory:x-mlplatform-triton-admin="
    admin = {"name": "TRITON_ADMIN_KEY", "valueFrom": {"secretKeyRef": {"name": "triton-admin", "key": "key"}}}
    deployments = prod_plan.of_type("kubernetes:apps/v1:Deployment")
    tritons = [
        c for d in deployments for c in d.inputs["spec"]["template"]["spec"]["containers"] if c["name"] == "triton"
    ]
    assert tritons
    for triton in tritons:
        assert f"--http-restricted-api={group}$(TRITON_ADMIN_KEY)" in triton["args"]
        assert f"--grpc-restricted-protocol={group}$(TRITON_ADMIN_KEY)" in triton["args"]
        assert admin in triton["env"]
    # inference, metadata and health stay open to whoever the gateway lets through
    assert not {"inference", "metadata", "health"} & set(group.split(":")[0].split(","))
