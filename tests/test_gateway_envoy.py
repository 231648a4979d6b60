"""The gateway's authentication, authorisation and per-caller rate limit, proven with a real Envoy and MLServer.

One MLServer and one Envoy per module. Envoy runs the JWT and RBAC semantics the Istio objects ask for
(tests/gateway_envoy.py) and the rate-limit filter dict the program emits into its EnvoyFilter, unchanged.
Which status a refusal gets (what docs/SECURITY.md tells callers):
- no token: 401 with WWW-Authenticate: Bearer (Istio's AuthorizationPolicy answers 403, finding no principal;
  the gateway's local reply mapper turns that into the challenge);
- a token that is present but invalid (wrong audience, expired): 401 from authentication;
- a valid token without the required claim: 403;
- over the caller's limit: 429 with Retry-After and x-ratelimit-*.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pulumi
import pytest
import yaml

from components.serving_stack.addons import ISTIO_VERSION
from components.serving_stack.contract import HEALTH_PATH, VERSION_HEADER, ModelSpec, ModelVersion
from components.serving_stack.ratelimit import (
    CALLER_HEADER,
    ENVOY_FILTER_API,
    CallerRateLimit,
    envoy_filter_manifest,
    envoy_filter_spec,
    install,
    local_ratelimit_filter,
)
from preflight.plan import Plan
from tests.client_servers import MODEL, REPO, ServerFarm, free_port
from tests.gateway_envoy import (
    ENVOY,
    Envoy,
    SigningKey,
    bootstrap,
    gateway_listener,
    listener,
    validate,
)
from tests.helpers import only, program_plan
from tests.k8s_schemas import custom_errors

GROUP = "fraud-readers"
# Worked example: 2 requests a second with a burst of 5. One bucket per caller, so a caller's 6th request
# within the same second is refused while any other caller is still served; refills are 1 s apart.
LIMIT = CallerRateLimit(requests_per_second=2, burst=5)
INFER = f"/v2/models/{MODEL}/infer"


@dataclass(frozen=True)
class Gateway:
    url: str
    key: SigningKey
    farm: ServerFarm

    def infer(self, token: str | None) -> httpx.Response:
        headers = {"authorization": f"Bearer {token}"} if token else {}
        return httpx.post(f"{self.url}{INFER}", json=self.farm.infer_body(), headers=headers, timeout=10.0)


@pytest.fixture(scope="module")
def gateway() -> Iterator[Gateway]:
    workdir = Path(tempfile.mkdtemp(prefix="mlplatform-gateway-tests-"))
    farm = ServerFarm(["gateway"], workdir).start()
    key = SigningKey()
    jwks = workdir / "jwks.json"
    jwks.write_text(json.dumps(key.jwks()))
    port = free_port()
    # routing ab: the version header routes sit beside the weighted ones, behind the same filters
    model = ModelSpec(MODEL, (ModelVersion("v1", f"{MODEL}/v1", 100),), "T4", routing="ab")
    config = bootstrap(
        farm["gateway"].http_port, free_port(), [gateway_listener("gateway", port, jwks, [model], GROUP, LIMIT)]
    )
    envoy = Envoy(config, workdir / "envoy")
    try:
        envoy.start()
        yield Gateway(f"http://127.0.0.1:{port}", key, farm)
    finally:
        envoy.stop()
        farm.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def test_caller_with_the_claim_gets_the_models_answer(gateway: Gateway) -> None:
    response = gateway.infer(gateway.key.token("svc-ok", groups=[GROUP]))
    assert response.status_code == 200, response.text
    (output,) = response.json()["outputs"]
    assert output["data"] == gateway.farm.expected.predict[:1]


def test_no_token_is_refused_with_401_and_a_bearer_challenge(gateway: Gateway) -> None:
    """Istio alone answers 403 (authorisation finds no principal); the gateway's local reply mapper makes it 401
    with WWW-Authenticate, so a client knows to fetch a token."""
    response = gateway.infer(None)
    assert response.status_code == 401
    assert response.text == "Jwt is missing"
    assert response.headers["www-authenticate"] == 'Bearer realm="mlplatform"'


def test_wrong_audience_is_403_from_authentication(gateway: Gateway) -> None:
    """Envoy's jwt_authn answers a verified token for another audience with 403, not 401 (its filter maps
    JwtAudienceNotAllowed to Forbidden, every other verification failure to Unauthorized)."""
    response = gateway.infer(gateway.key.token("svc-aud", groups=[GROUP], aud="someone-else"))
    assert response.status_code == 403
    assert response.text == "Audiences in Jwt are not allowed"


def test_expired_token_is_401(gateway: Gateway) -> None:
    past = int(time.time()) - 3600
    response = gateway.infer(gateway.key.token("svc-old", groups=[GROUP], iat=past - 300, exp=past))
    assert response.status_code == 401
    assert response.text == "Jwt is expired"


def test_token_from_another_key_is_401(gateway: Gateway) -> None:
    response = gateway.infer(SigningKey().token("svc-forged", groups=[GROUP]))
    assert response.status_code == 401
    assert response.text == "Jwt verification fails"


def test_valid_token_without_the_claim_is_403(gateway: Gateway) -> None:
    assert gateway.infer(gateway.key.token("svc-nogroup")).status_code == 403
    assert gateway.infer(gateway.key.token("svc-othergroup", groups=["other"])).status_code == 403


def test_health_path_is_open_without_a_token(gateway: Gateway) -> None:
    assert httpx.get(f"{gateway.url}{HEALTH_PATH}", timeout=5.0).status_code == 200


def test_other_paths_need_a_token(gateway: Gateway) -> None:
    assert httpx.get(f"{gateway.url}/v2/repository/index", timeout=5.0).status_code == 401


def test_a_version_asked_for_by_header_passes_the_same_checks(gateway: Gateway) -> None:
    """routing ab's header routes: authentication and authorisation come first (a header, even naming a version
    the stack does not serve, gets nothing without a token), then the version's route, or 404 for any other
    version; the caller's rate limit counts header-routed requests like any other."""

    def ask(version: str, token: str | None) -> httpx.Response:
        headers = {VERSION_HEADER: version, **({"authorization": f"Bearer {token}"} if token else {})}
        return httpx.post(f"{gateway.url}{INFER}", json=gateway.farm.infer_body(), headers=headers, timeout=10.0)

    assert ask("v1", None).status_code == 401
    assert ask("v9", None).status_code == 401
    assert ask("v1", gateway.key.token("svc-no-claim")).status_code == 403
    caller = gateway.key.token("svc-by-version", groups=[GROUP])
    assert ask("v9", caller).status_code == 404
    statuses = [ask("v1", caller).status_code for _ in range(LIMIT.burst + 20)]
    assert statuses[: LIMIT.burst - 1] == [200] * (LIMIT.burst - 1) and 429 in statuses, statuses


def test_over_the_limit_is_429_with_retry_after_and_other_callers_still_pass(gateway: Gateway) -> None:
    greedy = gateway.key.token("svc-greedy", groups=[GROUP])
    # burst + 1 requests in a row: at most 2 tokens a second come back, so a 429 arrives well within
    # burst + 20 requests however slow the machine (each request would have to take 0.5 s to avoid it).
    statuses: list[int] = []
    refused: httpx.Response | None = None
    for _ in range(LIMIT.burst + 20):
        response = gateway.infer(greedy)
        statuses.append(response.status_code)
        if response.status_code == 429:
            refused = response
            break
    assert refused is not None, statuses
    assert statuses[: LIMIT.burst] == [200] * LIMIT.burst  # the whole burst is served first
    assert refused.headers["retry-after"] == "1"
    assert refused.headers["x-ratelimit-limit"] == str(LIMIT.burst)
    assert refused.headers["x-ratelimit-remaining"] == "0"
    assert "x-ratelimit-reset" in refused.headers
    # the bucket is per caller: another caller is served right after
    assert gateway.infer(gateway.key.token("svc-polite", groups=[GROUP])).status_code == 200


def test_a_header_sent_by_anyone_cannot_spend_another_callers_limit(gateway: Gateway) -> None:
    """The caller header is written by jwt_authn from a verified token only: Envoy drops the same header from
    the incoming request, so a request without a token (the open health path) naming a caller in it spends
    nobody's tokens."""
    for _ in range(LIMIT.burst + 20):
        spoofed = httpx.get(f"{gateway.url}{HEALTH_PATH}", headers={CALLER_HEADER: "svc-victim"}, timeout=5.0)
        assert spoofed.status_code == 200
    assert gateway.infer(gateway.key.token("svc-victim", groups=[GROUP])).status_code == 200


def test_emitted_envoy_filter_patch_is_accepted_by_envoy(tmp_path: Path) -> None:
    """The EnvoyFilter's patch value, inserted where Istio inserts it, passes `envoy --mode validate`."""
    # a fractional rate, so the fractional refill interval goes through Envoy's parser too
    spec = envoy_filter_spec(CallerRateLimit(requests_per_second=2.5, burst=5), {"istio": "ingressgateway"})
    (patch,) = spec["configPatches"]
    assert patch["applyTo"] == "HTTP_FILTER"
    assert patch["patch"]["operation"] == "INSERT_BEFORE"
    assert patch["match"]["listener"]["filterChain"]["filter"]["subFilter"]["name"] == "envoy.filters.http.router"
    assert ENVOY_FILTER_API == "networking.istio.io/v1alpha3"
    config = bootstrap(free_port(), free_port(), [listener("gateway", free_port(), [patch["patch"]["value"]])])
    path = tmp_path / "envoy.yaml"
    path.write_text(json.dumps(config))
    result = validate(path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "OK" in result.stdout


def test_envoy_filter_object_matches_istios_crd_schema() -> None:
    manifest = envoy_filter_manifest(LIMIT, "istio-ingress", {"istio": "ingressgateway"})
    assert custom_errors([manifest]) == []
    broken = json.loads(json.dumps(manifest))
    broken["spec"]["configPatches"][0]["patch"]["operation"] = "INSERT_ANYWHERE"
    assert len(custom_errors([broken])) == 1  # the schema check can fail


def test_install_puts_the_envoy_filter_on_the_cluster() -> None:
    """What the program creates (through Pulumi, under preflight's recorder) is the validated object."""
    selector = {"istio": "ingressgateway"}

    def program() -> None:
        parent = pulumi.ComponentResource("mlplatform:serving:ServingStack", "serving")
        install(parent, "serving", LIMIT, "istio-ingress", selector, pulumi.ResourceOptions())

    created = only(program_plan(program), "kubernetes:networking.istio.io/v1alpha3:EnvoyFilter")
    expected = envoy_filter_manifest(LIMIT, "istio-ingress", selector)
    assert created.inputs["metadata"] == expected["metadata"]
    assert created.inputs["spec"] == expected["spec"]


ENVOY_FILTER = "kubernetes:networking.istio.io/v1alpha3:EnvoyFilter"


def test_every_prod_gateway_limits_each_caller_at_the_configured_rate(prod_plan: Plan) -> None:
    """Pulumi.prod.yaml's mlplatform:auth.rateLimit (10 a second, burst 20) on every target's gateway pods."""
    config = yaml.safe_load((REPO / "Pulumi.prod.yaml").read_text())["config"]
    rate = config["mlplatform:auth"]["rateLimit"]
    filters = [r for r in prod_plan.of_type(ENVOY_FILTER) if r.inputs["metadata"]["name"] == "caller-rate-limit"]
    targets = sorted(str(prod_plan.target_of(r)) for r in filters)
    assert targets == sorted(f"{t['cloud']}-{t['region']}" for t in config["mlplatform:targets"])  # one each
    for resource in filters:
        (patch,) = resource.inputs["spec"]["configPatches"]
        typed = patch["patch"]["value"]["typed_config"]
        (descriptor,) = typed["descriptors"]
        bucket = descriptor["token_bucket"]
        assert (bucket["max_tokens"], bucket["tokens_per_fill"]) == (rate["burst"], rate["requestsPerSecond"])
        assert bucket["fill_interval"] == "1.000s"
        assert resource.inputs["spec"]["workloadSelector"] == {"labels": {"istio": "ingressgateway"}}
        assert resource.inputs["metadata"]["namespace"] == "istio-ingress"
    objects = [dict(r.inputs) for r in filters]
    assert custom_errors(objects) == []


def test_dev_turned_auth_off_so_no_rate_limit(dev_plan: Plan) -> None:
    assert [r for r in dev_plan.of_type(ENVOY_FILTER) if r.inputs["metadata"]["name"] == "caller-rate-limit"] == []


def test_envoy_rejects_a_broken_filter(tmp_path: Path) -> None:
    """The validation above can fail: a field the filter does not have is refused by the same Envoy."""
    value = local_ratelimit_filter(LIMIT)
    value["typed_config"]["descriptors"][0]["token_bucket"]["tokens_per_second"] = 2
    config = bootstrap(free_port(), free_port(), [listener("gateway", free_port(), [value])])
    path = tmp_path / "envoy.yaml"
    path.write_text(json.dumps(config))
    assert validate(path).returncode != 0


@pytest.mark.parametrize(
    ("rate", "tokens", "interval", "retry_after"),
    [(2, 2, "1.000s", "1"), (2.5, 2, "0.800s", "1"), (0.5, 1, "2.000s", "2"), (100, 100, "1.000s", "1")],
)
def test_bucket_refills_at_the_configured_rate(rate: float, tokens: int, interval: str, retry_after: str) -> None:
    """Envoy takes whole tokens per refill: a fractional rate becomes whole tokens over a longer interval."""
    config = local_ratelimit_filter(CallerRateLimit(requests_per_second=rate, burst=5))["typed_config"]
    (descriptor,) = config["descriptors"]
    assert descriptor["token_bucket"] == {"max_tokens": 5, "tokens_per_fill": tokens, "fill_interval": interval}
    (header,) = config["response_headers_to_add"]
    assert header["header"] == {"key": "retry-after", "value": retry_after}


def test_envoy_is_the_minor_the_pinned_istio_runs() -> None:
    """The tests prove what the gateway does only with the Envoy minor Istio's proxy is built on: Istio 1.31 on
    Envoy 1.39 (requirements-dev.txt says how that was found). Moving either pin fails here until both move."""
    result = subprocess.run([str(ENVOY), "--version"], capture_output=True, text=True, timeout=30, check=True)
    assert "/1.39." in result.stdout, result.stdout
    assert ISTIO_VERSION.startswith("1.31."), ISTIO_VERSION


def test_rate_limit_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        CallerRateLimit(requests_per_second=0, burst=5)
    with pytest.raises(ValueError, match="positive"):
        CallerRateLimit(requests_per_second=2, burst=-1)
