"""Prod gateways authenticate (mandatory): every Istio ingress Gateway of a prod stack has, on the same cluster and
selecting the same pods, a RequestAuthentication with a JWT rule and an ALLOW AuthorizationPolicy.

Why both: a RequestAuthentication alone lets a request without a token through (Istio refuses only invalid tokens),
and an ALLOW policy alone admits by path, not by caller. Without either, anyone who knows the global host name
can spend the platform's GPUs (issue 18).

A stack is prod when any of its resources carries a protected environment tag (the cloud providers' default tags)
or its name is one of the protected environments; Kubernetes objects carry no tag of their own.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyResource,
    ReportViolation,
    StackValidationArgs,
    StackValidationPolicy,
)

from rules.environments import protected_environments_schema, protected_in_stack
from rules.props import field, items, mapping

_VERSIONS = ("v1", "v1beta1", "v1alpha3")
_GATEWAYS = {f"kubernetes:networking.istio.io/{v}:Gateway" for v in _VERSIONS}
_REQUEST_AUTHENTICATIONS = {f"kubernetes:security.istio.io/{v}:RequestAuthentication" for v in _VERSIONS}
_AUTHORIZATION_POLICIES = {f"kubernetes:security.istio.io/{v}:AuthorizationPolicy" for v in _VERSIONS}


def _cluster(resource: PolicyResource) -> str:
    """The Kubernetes provider (one per cluster) the object goes through."""
    return resource.provider.urn if resource.provider is not None else ""


def _selects(policy: PolicyResource, labels: Mapping[str, Any]) -> bool:
    """The policy's workload selector picks the gateway's pods (its labels are among the gateway's selector)."""
    wanted = mapping(field(policy.props, "spec", "selector", "matchLabels"))
    return bool(wanted) and all(labels.get(key) == value for key, value in wanted.items())


def _authenticates(policy: PolicyResource) -> bool:
    return bool(items(field(policy.props, "spec", "jwtRules")))


def _allow_list(policy: PolicyResource) -> bool:
    """An ALLOW policy (the default action) whose every rule is narrowed by `to` or `from`: a bare rule admits all."""
    spec = mapping(policy.props.get("spec"))
    if str(spec.get("action") or "ALLOW") != "ALLOW":
        return False
    rules = items(spec.get("rules"))
    return bool(rules) and all(isinstance(rule, Mapping) and (rule.get("to") or rule.get("from")) for rule in rules)


def _missing(gateway: PolicyResource, resources: list[PolicyResource]) -> list[str]:
    labels = mapping(field(gateway.props, "spec", "selector"))
    same = [r for r in resources if _cluster(r) == _cluster(gateway) and _selects(r, labels)]
    missing = []
    if not any(r.resource_type in _REQUEST_AUTHENTICATIONS and _authenticates(r) for r in same):
        missing.append("RequestAuthentication with a jwtRule")
    if not any(r.resource_type in _AUTHORIZATION_POLICIES and _allow_list(r) for r in same):
        missing.append("ALLOW AuthorizationPolicy with narrowed rules")
    return missing


def _check(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    prod = protected_in_stack(args)
    if not prod:
        return
    for gateway in args.resources:
        if gateway.resource_type not in _GATEWAYS:
            continue
        missing = _missing(gateway, args.resources)
        if missing:
            report_violation(
                f"{gateway.name} ({prod[0]}): the ingress gateway's pods have no {' and no '.join(missing)}; "
                "anyone could call every model (set mlplatform:auth).",
                gateway.urn,
            )


prod_gateways_authenticate = StackValidationPolicy(
    name="prod-gateways-authenticate",
    description="Every ingress gateway of a prod stack checks callers' tokens and admits only listed callers.",
    enforcement_level=EnforcementLevel.MANDATORY,
    validate=_check,
    config_schema=protected_environments_schema("gateways must authenticate callers"),
)

POLICIES = [prod_gateways_authenticate]
