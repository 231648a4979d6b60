"""Who gets through the ingress gateway: a JWT check (RequestAuthentication) and an ALLOW list (AuthorizationPolicy).

Facts (Istio reference docs for security.istio.io/v1, RequestAuthentication and AuthorizationPolicy, and the
"Authorization with JWT" task; read 2026-12, semantics unchanged up to Istio 1.31):
- RequestAuthentication rejects a request whose token is invalid (bad signature, expired, wrong issuer or
  audience) with 401, but lets a request with no token through without an identity: only an authorisation rule
  can refuse it;
- with any ALLOW policy on a workload, a request no ALLOW rule matches is denied, with 403 (Envoy's RBAC filter);
  so a request without a token, or with a token lacking the listed claims, gets 403, not 401 with
  WWW-Authenticate (docs/SECURITY.md says which status means what);
- `requestPrincipals: ["*"]` matches any verified token; `when: request.auth.claims[<name>]` matches a string
  claim or any member of a list claim (groups, roles);
- `outputClaimToHeaders` copies a verified claim into a request header (the rate limit counts per caller on it);
  `forwardOriginalToken: false` (the default, said explicitly) strips the token before the request goes on;
- operation `paths` take an exact path or a prefix ending in `*`; `hosts` match the Host header (the `host:*`
  form covers one with a port).

Both objects live in the gateway's namespace and select the gateway's pods by their labels, so they apply at the
edge only (the serving namespace keeps mTLS among mesh peers).
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
    base = MODEL_PATH.format(model=callers.model)
    target = [{"operation": {"paths": [base, f"{base}/*"]}}]
    verified = [{"source": {"requestPrincipals": ["*"]}}]
    claims = (("sub", callers.subjects), (auth.groups_claim, callers.groups), (auth.scopes_claim, callers.scopes))
    return [
        {"from": verified, "to": target, "when": [{"key": f"request.auth.claims[{claim}]", "values": list(values)}]}
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


def install(
    parent: pulumi.Resource, name: str, auth: GatewayAuth, addons: Addons, opts: pulumi.ResourceOptions
) -> None:
    """Both objects in the gateway's namespace; `opts` carries the provider and the Istio CRDs' releases."""
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
