"""Who gets through the ingress gateway: a JWT check (RequestAuthentication) and an ALLOW list (AuthorizationPolicy).

Facts (Istio reference docs for security.istio.io/v1, RequestAuthentication and AuthorizationPolicy, and the
"Authorization with JWT" task; read 2026-12, semantics unchanged up to Istio 1.31):
- RequestAuthentication rejects a request whose token is invalid (bad signature, expired, wrong issuer or
  audience) with 401, but lets a request with no token through without an identity: only an authorisation rule
  can refuse it;
- with any ALLOW policy on a workload, a request no ALLOW rule matches is denied, with 403 (Envoy's RBAC filter);
  so a request without a token, or with a token lacking the listed claims, gets 403 from Istio alone;
- `requestPrincipals: ["*"]` matches any verified token; `when: request.auth.claims[<name>]` matches a string
  claim or any member of a list claim (groups, roles);
- `outputClaimToHeaders` copies a verified claim into a request header (the rate limit counts per caller on it);
  `forwardOriginalToken: false` (the default, said explicitly) strips the token before the request goes on;
- operation `paths` take an exact path or a prefix ending in `*`; `hosts` match the Host header (the `host:*`
  form covers one with a port).

Both objects live in the gateway's namespace and select the gateway's pods by their labels, so they apply at the
edge only (the serving namespace keeps mTLS among mesh peers).

A request without any Authorization header should hear 401 with `WWW-Authenticate: Bearer` (RFC 6750 section 3),
which tells a client to fetch a token. A third object, an EnvoyFilter, gets it from Envoy's local reply mapper
(HttpConnectionManager.local_reply_config, envoyproxy.io/docs/envoy/v1.39.3 "Local reply modification", read
2026-12): a reply Envoy itself makes with 403 to a request with neither an Authorization header nor the caller
header becomes 401 with that header and the body `Jwt is missing` (the JWT filter's own words for a missing token).
Both headers, because the JWT filter removes a verified token before authorisation runs (`forwardOriginalToken:
false`) and writes the caller header in its place: a verified token that lacks a claim keeps its 403, and so do a
token for another audience (still in Authorization) and a non-Bearer Authorization (the metrics host's). Only Envoy's
own replies are mapped, never a model's answer.

Every model rule also needs the caller claim to be present (`values: ["*"]` is Istio's presence match): a verified
token without it would have no caller header, and the rate limit skips a request without one.
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components.serving_stack.addons import gateway_namespace
from components.serving_stack.contract import HEALTH_PATH, Addons, GatewayAuth, ModelCallers

SECURITY = "security.istio.io/v1"
NAME = "mlplatform-callers"  # both objects; one of each per gateway
MODEL_PATH = "/v2/models/{model}"
LABELS = {"app.kubernetes.io/managed-by": "pulumi", "app.kubernetes.io/part-of": "mlplatform"}


def request_authentication_spec(auth: GatewayAuth, selector: dict[str, str]) -> dict[str, Any]:
    """Tokens from the configured issuers are checked; the verified caller claim goes to `claim_header`."""
    return {
        "selector": {"matchLabels": dict(selector)},
        "jwtRules": [
            {
                "issuer": issuer.issuer,
                "jwksUri": issuer.jwks_uri,
                "audiences": list(issuer.audiences),
                "forwardOriginalToken": False,  # Triton never sees a caller's token
                "outputClaimToHeaders": [{"header": auth.claim_header, "claim": auth.caller_claim}],
            }
            for issuer in auth.issuers
        ],
    }


def model_rules(auth: GatewayAuth, callers: ModelCallers) -> list[dict[str, Any]]:
    """One ALLOW rule per kind of claim (rules are ORed, a rule's conditions ANDed): any listed value admits."""
    return caller_rules(auth, callers, MODEL_PATH.format(model=callers.model))


def caller_rules(auth: GatewayAuth, callers: ModelCallers, base: str) -> list[dict[str, Any]]:
    """The ALLOW rules for `base` and everything under it: a model's path, the model registry's (model_registry)."""
    target = [{"operation": {"paths": [base, f"{base}/*"]}}]
    verified = [{"source": {"requestPrincipals": ["*"]}}]
    claims = (("sub", callers.subjects), (auth.groups_claim, callers.groups), (auth.scopes_claim, callers.scopes))
    counted = {"key": f"request.auth.claims[{auth.caller_claim}]", "values": ["*"]}  # the rate limit's key is there
    return [
        {
            "from": verified,
            "to": target,
            "when": [{"key": f"request.auth.claims[{claim}]", "values": list(values)}, counted],
        }
        for claim, values in claims
        if values
    ]


def authorization_policy_spec(auth: GatewayAuth, selector: dict[str, str]) -> dict[str, Any]:
    """ALLOW: the health path to anyone (GET only), each model to its callers, the open hosts; the rest 403."""
    rules: list[dict[str, Any]] = [{"to": [{"operation": {"methods": ["GET"], "paths": [HEALTH_PATH]}}]}]
    for callers in auth.callers:
        rules += model_rules(auth, callers)
    if auth.open_hosts:  # each guarded by its own policy (the central metrics host: a DENY without its token)
        hosts = [name for host in auth.open_hosts for name in (host, f"{host}:*")]
        rules.append({"to": [{"operation": {"hosts": hosts}}]})
    return {"selector": {"matchLabels": dict(selector)}, "action": "ALLOW", "rules": rules}


HCM = "envoy.filters.network.http_connection_manager"
HCM_TYPE = "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager"
ENVOY_FILTER_API = "networking.istio.io/v1alpha3"
CHALLENGE_FILTER_NAME = "missing-token-challenge"
CHALLENGE = 'Bearer realm="mlplatform"'
MISSING_TOKEN_BODY = "Jwt is missing"


def missing_token_reply(caller_header: str) -> dict[str, Any]:
    """HttpConnectionManager.local_reply_config: Envoy's own 403 to a request that carried no token becomes a 401
    challenge (a 403 to a token, verified or not, or from upstream, is left alone)."""
    forbidden = {
        "status_code_filter": {
            "comparison": {
                "op": "EQ",
                "value": {"default_value": 403, "runtime_key": "mlplatform_missing_token_status"},
            }
        }
    }
    no_token = [
        {"header_filter": {"header": {"name": name, "present_match": True, "invert_match": True}}}
        for name in ("authorization", caller_header)
    ]
    return {
        "mappers": [
            {
                "filter": {"and_filter": {"filters": [forbidden, *no_token]}},
                "status_code": 401,
                "headers_to_add": [
                    {
                        "append_action": "OVERWRITE_IF_EXISTS_OR_ADD",
                        "header": {"key": "www-authenticate", "value": CHALLENGE},
                    }
                ],
                "body": {"inline_string": MISSING_TOKEN_BODY},
            }
        ]
    }


def challenge_envoy_filter_spec(auth: GatewayAuth, selector: dict[str, str]) -> dict[str, Any]:
    """EnvoyFilter spec: merge the local reply mapper into the gateway's HTTP connection manager."""
    reply = missing_token_reply(auth.claim_header)
    manager = {"name": HCM, "typed_config": {"@type": HCM_TYPE, "local_reply_config": reply}}
    return {
        "workloadSelector": {"labels": dict(selector)},
        "configPatches": [
            {
                "applyTo": "NETWORK_FILTER",
                "match": {"context": "GATEWAY", "listener": {"filterChain": {"filter": {"name": HCM}}}},
                "patch": {"operation": "MERGE", "value": manager},
            }
        ],
    }


def install(
    parent: pulumi.Resource, name: str, auth: GatewayAuth, addons: Addons, opts: pulumi.ResourceOptions
) -> None:
    """The three objects in the gateway's namespace; `opts` carries the provider and the Istio CRDs' releases."""
    namespace = gateway_namespace(addons)
    metadata = {"name": NAME, "namespace": namespace, "labels": dict(LABELS)}
    merged = pulumi.ResourceOptions.merge(pulumi.ResourceOptions(parent=parent), opts)
    k8s.apiextensions.CustomResource(
        f"{name}-request-authentication",
        api_version=SECURITY,
        kind="RequestAuthentication",
        metadata=metadata,
        spec=request_authentication_spec(auth, addons.gateway_selector),
        opts=merged,
    )
    k8s.apiextensions.CustomResource(
        f"{name}-authorization-policy",
        api_version=SECURITY,
        kind="AuthorizationPolicy",
        metadata=metadata,
        spec=authorization_policy_spec(auth, addons.gateway_selector),
        opts=merged,
    )
    k8s.apiextensions.CustomResource(
        f"{name}-missing-token-challenge",
        api_version=ENVOY_FILTER_API,
        kind="EnvoyFilter",
        metadata={**metadata, "name": CHALLENGE_FILTER_NAME},
        spec=challenge_envoy_filter_spec(auth, addons.gateway_selector),
        opts=merged,
    )
