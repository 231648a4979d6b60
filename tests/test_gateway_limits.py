"""Request limits, per-model rate limits and the missing-token challenge, proven with a real Envoy and MLServer.

One MLServer serving two models and one Envoy built from everything the program emits for a gateway
(tests/gateway_envoy.py `gateway_listener`): JWT and RBAC as the Istio objects compile, the rate-limit filter with a
model that has its own limit, the buffer filter and the connection manager fields of the request-limits EnvoyFilter,
the missing-token local reply mapper, and the models' routes from traffic.py.

Worked example: the stack limits each caller to 2 requests a second with a burst of 5; the model `churn` has its own
limit, 0.5 a second with a burst of 2 (one token every 2 s, so Retry-After says 2). A body over 64 KiB or headers over
8 KiB are refused.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pulumi
import pytest

from components.serving_stack.contract import (
    HEALTH_PATH,
    CallerRateLimit,
    GatewayAuth,
    JwtIssuer,
    ModelSpec,
    ModelVersion,
    RequestLimits,
)
from components.serving_stack.gateway_auth import CHALLENGE, challenge_envoy_filter_spec
from components.serving_stack.ratelimit import envoy_filter_manifest as rate_limit_manifest
from components.serving_stack.ratelimit import envoy_filter_spec as rate_limit_spec
from components.serving_stack.request_limits import (
    PRIORITY,
    envoy_filter_manifest,
    envoy_filter_spec,
    install,
)
from components.serving_stack.traffic import http_routes
from preflight.plan import Plan
from tests.client_servers import MODEL, ServerFarm, free_port, train
from tests.gateway_envoy import Envoy, SigningKey, bootstrap, envoy_routes, gateway_listener, listener, validate
from tests.helpers import only, program_plan
from tests.k8s_schemas import custom_errors

GROUP = "scorers"
OTHER = "churn"
STACK_LIMIT = CallerRateLimit(requests_per_second=2, burst=5)
CHURN_LIMIT = CallerRateLimit(requests_per_second=0.5, burst=2)
LIMITS = RequestLimits(max_body_bytes=64 * 1024, max_headers_kib=8)
SELECTOR = {"istio": "ingressgateway"}
AUTH = GatewayAuth(issuers=(JwtIssuer("https://issuer.test", "https://issuer.test/keys", ("aud",)),), callers=())
ENVOY_FILTER = "kubernetes:networking.istio.io/v1alpha3:EnvoyFilter"


def spec(name: str) -> ModelSpec:
    return ModelSpec(name, (ModelVersion("v1", f"{name}/v1", 100),), "T4")


MODELS = (spec(MODEL), spec(OTHER))


@dataclass(frozen=True)
class Gateway:
    url: str
    key: SigningKey
    farm: ServerFarm
    defaults_url: str  # the same gateway with the shipped defaults (RequestLimits())

    def infer(self, token: str | None, model: str = MODEL, **extra: Any) -> httpx.Response:
        headers = {"authorization": f"Bearer {token}"} if token else {}
        headers |= extra.pop("headers", {})
        body = extra.pop("body", self.farm.infer_body())
        return httpx.post(f"{self.url}/v2/models/{model}/infer", json=body, headers=headers, timeout=10.0)

    def token(self, subject: str) -> str:
        return self.key.token(subject, groups=[GROUP])


@pytest.fixture(scope="module")
def gateway() -> Iterator[Gateway]:
    workdir = Path(tempfile.mkdtemp(prefix="mlplatform-gateway-limits-"))
    farm = ServerFarm(["gateway"], workdir)
    train(farm.repository, OTHER)  # a second model in the same repository, before the server starts
    key = SigningKey()
    jwks = workdir / "jwks.json"
    jwks.write_text(json.dumps(key.jwks()))
    port, defaults_port = free_port(), free_port()
    listen = gateway_listener("gateway", port, jwks, MODELS, GROUP, STACK_LIMIT, {OTHER: CHURN_LIMIT}, LIMITS)
    defaults = gateway_listener("defaults", defaults_port, jwks, MODELS, GROUP, STACK_LIMIT)
    envoy = Envoy(bootstrap(farm["gateway"].http_port, free_port(), [listen, defaults]), workdir / "envoy")
    try:
        farm.start()
        farm["gateway"].wait_ready(OTHER)
        envoy.start()
        yield Gateway(f"http://127.0.0.1:{port}", key, farm, f"http://127.0.0.1:{defaults_port}")
    finally:
        envoy.stop()
        farm.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def padded_body(gateway: Gateway, size: int) -> dict[str, Any]:
    """A V2 request whose JSON is at least `size` bytes (a request parameter carries the padding)."""
    return gateway.farm.infer_body() | {"parameters": {"padding": "x" * size}}


def test_a_body_within_the_limit_reaches_the_model(gateway: Gateway) -> None:
    response = gateway.infer(gateway.token("svc-small"), body=padded_body(gateway, 32 * 1024))
    assert response.status_code == 200, response.text


def test_a_body_over_the_limit_gets_413_at_the_gateway(gateway: Gateway) -> None:
    response = gateway.infer(gateway.token("svc-big"), body=padded_body(gateway, LIMITS.max_body_bytes))
    assert response.status_code == 413
    assert response.text == "Payload Too Large"


def test_the_default_limit_admits_bodies_past_envoys_own_buffer_and_refuses_past_16_mib(gateway: Gateway) -> None:
    """The buffer filter raises the request's buffer to its limit: a 4 MiB body (four times Envoy's default 1 MiB
    connection buffer) reaches the model, and one past 16 MiB gets 413."""
    url = f"{gateway.defaults_url}/v2/models/{MODEL}/infer"
    auth = {"authorization": f"Bearer {gateway.token('svc-defaults')}"}
    big = httpx.post(url, json=padded_body(gateway, 4 * 1024 * 1024), headers=auth, timeout=30.0)
    assert big.status_code == 200, big.text[:200]
    too_big = httpx.post(url, json=padded_body(gateway, 16 * 1024 * 1024), headers=auth, timeout=30.0)
    assert too_big.status_code == 413


def test_headers_over_the_limit_get_431(gateway: Gateway) -> None:
    big = {"x-padding": "y" * (LIMITS.max_headers_kib * 1024)}
    assert gateway.infer(gateway.token("svc-headers"), headers=big).status_code == 431
    within = {"x-padding": "y" * (LIMITS.max_headers_kib * 1024 // 2)}
    assert gateway.infer(gateway.token("svc-headers-ok"), headers=within).status_code == 200


def test_a_request_without_a_token_gets_401_with_a_bearer_challenge(gateway: Gateway) -> None:
    response = gateway.infer(None)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == CHALLENGE
    assert response.text == "Jwt is missing"
    # a giant body without a token is refused for the token, before anything is buffered
    assert gateway.infer(None, body=padded_body(gateway, LIMITS.max_body_bytes)).status_code == 401


def test_refusals_with_a_credential_keep_their_403(gateway: Gateway) -> None:
    """Only a request with no Authorization at all is challenged: a token lacking the claim, or another scheme
    (the metrics host's `Metrics <token>`), still gets 403 without a challenge."""
    lacking = gateway.infer(gateway.key.token("svc-nogroup"))
    assert lacking.status_code == 403 and "www-authenticate" not in lacking.headers
    other_scheme = httpx.post(
        f"{gateway.url}/v2/models/{MODEL}/infer", headers={"authorization": "Metrics abc"}, json={}, timeout=10.0
    )
    assert other_scheme.status_code == 403 and other_scheme.text == "RBAC: access denied"


def test_the_health_path_stays_open_and_unchallenged(gateway: Gateway) -> None:
    assert httpx.get(f"{gateway.url}{HEALTH_PATH}", timeout=5.0).status_code == 200


def test_control_paths_are_not_routed(gateway: Gateway) -> None:
    """A valid caller asking for a path outside inference, metadata and readiness gets the gateway's 404."""
    response = httpx.get(
        f"{gateway.url}/v2/models/{MODEL}/config",
        headers={"authorization": f"Bearer {gateway.token('svc-config')}"},
        timeout=5.0,
    )
    assert response.status_code == 404


def _until_refused(gateway: Gateway, token: str, model: str, tries: int) -> tuple[list[int], httpx.Response | None]:
    statuses: list[int] = []
    for _ in range(tries):
        response = gateway.infer(token, model)
        statuses.append(response.status_code)
        if response.status_code == 429:
            return statuses, response
    return statuses, None


def test_a_model_with_its_own_limit_refuses_at_it_while_the_other_follows_the_stack(gateway: Gateway) -> None:
    token = gateway.token("svc-both")
    # churn: its own burst of 2, then 429 (a token comes back only every 2 s, so well within 2 + 10 requests)
    statuses, refused = _until_refused(gateway, token, OTHER, CHURN_LIMIT.burst + 10)
    assert refused is not None, statuses
    assert statuses[: CHURN_LIMIT.burst] == [200] * CHURN_LIMIT.burst
    assert refused.headers["x-ratelimit-limit"] == str(CHURN_LIMIT.burst)
    assert refused.headers["retry-after"] == "2"  # the longest refill interval among the buckets
    # churn's metadata is in churn's bucket too
    metadata = httpx.get(f"{gateway.url}/v2/models/{OTHER}", headers={"authorization": f"Bearer {token}"}, timeout=5.0)
    assert metadata.status_code == 429
    # the same caller still has the stack's whole burst for the other model: churn spent none of it
    statuses, refused = _until_refused(gateway, token, MODEL, STACK_LIMIT.burst + 20)
    assert refused is not None, statuses
    assert statuses[: STACK_LIMIT.burst] == [200] * STACK_LIMIT.burst
    assert refused.headers["x-ratelimit-limit"] == str(STACK_LIMIT.burst)


def test_the_emitted_patches_are_accepted_by_envoy(tmp_path: Path) -> None:
    """Every raw fragment of the three EnvoyFilters, put where Istio puts it, passes `envoy --mode validate`: the
    connection manager MERGE values (header limit, local reply mapper) as fields of the connection manager, the
    buffer and the rate limit (with a model of its own) before the router."""
    limits_spec = envoy_filter_spec(LIMITS, SELECTOR)
    merge, insert = limits_spec["configPatches"]
    (challenge,) = challenge_envoy_filter_spec(AUTH, SELECTOR)["configPatches"]
    (rate,) = rate_limit_spec(STACK_LIMIT, SELECTOR, {OTHER: CHURN_LIMIT})["configPatches"]
    manager: dict[str, Any] = {}
    for patch in (merge, challenge):
        assert patch["applyTo"] == "NETWORK_FILTER" and patch["patch"]["operation"] == "MERGE"
        typed = dict(patch["patch"]["value"]["typed_config"])
        assert typed.pop("@type").endswith("HttpConnectionManager")
        manager |= typed
    filters = [rate["patch"]["value"], insert["patch"]["value"]]
    routes = [r for model in MODELS for r in envoy_routes(http_routes(model, health=False))]
    config = bootstrap(free_port(), free_port(), [listener("gateway", free_port(), filters, manager, routes)])
    path = tmp_path / "envoy.yaml"
    path.write_text(json.dumps(config))
    result = validate(path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_envoy_refuses_a_header_limit_past_its_ceiling(tmp_path: Path) -> None:
    """The validation above can fail: Envoy itself refuses 8193 KiB, which RequestLimits refuses too."""
    config = bootstrap(free_port(), free_port(), [listener("g", free_port(), [], {"max_request_headers_kb": 8193})])
    path = tmp_path / "envoy.yaml"
    path.write_text(json.dumps(config))
    assert validate(path).returncode != 0
    with pytest.raises(ValueError, match="max_headers_kib"):
        RequestLimits(max_headers_kib=8193)
    with pytest.raises(ValueError, match="max_body_bytes"):
        RequestLimits(max_body_bytes=0)


def test_the_envoy_filters_match_istios_crd_schema() -> None:
    challenge = {
        "apiVersion": "networking.istio.io/v1alpha3",
        "kind": "EnvoyFilter",
        "metadata": {"name": "missing-token-challenge", "namespace": "istio-ingress"},
        "spec": challenge_envoy_filter_spec(AUTH, SELECTOR),
    }
    objects = [
        envoy_filter_manifest(LIMITS, "istio-ingress", SELECTOR),
        challenge,
        rate_limit_manifest(STACK_LIMIT, "istio-ingress", SELECTOR, {OTHER: CHURN_LIMIT}),
    ]
    assert custom_errors(objects) == []


def test_the_buffer_goes_after_the_rate_limit() -> None:
    """Istio applies patch sets by priority (higher later): both insert before the router, so the later one lands
    between the rate limit and the router, and a refused caller's body is never buffered."""
    assert rate_limit_spec(STACK_LIMIT, SELECTOR).get("priority", 0) < PRIORITY


def test_install_puts_the_request_limits_on_the_cluster() -> None:
    def program() -> None:
        parent = pulumi.ComponentResource("mlplatform:serving:ServingStack", "serving")
        install(parent, "serving", LIMITS, "istio-ingress", SELECTOR, pulumi.ResourceOptions())

    created = only(program_plan(program), ENVOY_FILTER)
    assert created.inputs["spec"] == envoy_filter_manifest(LIMITS, "istio-ingress", SELECTOR)["spec"]


def _filters(plan: Plan, name: str) -> list[Any]:
    return [r for r in plan.of_type(ENVOY_FILTER) if r.inputs["metadata"]["name"] == name]


def test_every_gateway_has_request_limits_with_or_without_auth(dev_plan: Plan, prod_plan: Plan) -> None:
    """Neither shipped stack sets mlplatform:gateway, so every gateway gets the defaults: 16 MiB, 32 KiB."""
    for plan in (dev_plan, prod_plan):
        footprints = plan.of_type("mlplatform:platform:Footprint")
        limits = _filters(plan, "request-limits")
        assert sorted(str(plan.target_of(r)) for r in limits) == sorted(str(f.name) for f in footprints)
        for resource in limits:
            merge, insert = resource.inputs["spec"]["configPatches"]
            assert merge["patch"]["value"]["typed_config"]["max_request_headers_kb"] == 32
            assert insert["patch"]["value"]["typed_config"]["max_request_bytes"] == 16 * 1024 * 1024
    assert custom_errors([dict(r.inputs) for r in _filters(prod_plan, "request-limits")]) == []


def test_only_authenticating_gateways_challenge_a_missing_token(dev_plan: Plan, prod_plan: Plan) -> None:
    assert _filters(dev_plan, "missing-token-challenge") == []
    challenges = _filters(prod_plan, "missing-token-challenge")
    assert len(challenges) == len(prod_plan.of_type("mlplatform:platform:Footprint"))
    assert custom_errors([dict(r.inputs) for r in challenges]) == []
