"""Who may call the inference endpoint: `mlplatform:auth`, turned into typed, frozen settings.

Every gateway checks a JWT from the caller's own identity provider (any OIDC issuer: Entra ID, Google,
Cognito, Auth0, Keycloak, GitHub Actions' OIDC for batch jobs), lets each model be called only by the
subjects, groups or scopes listed for it (default deny), and limits each caller's request rate. The
gateway copies one claim of the verified token (the caller, `callerClaim`) into `claimHeader`, so the
rate limit can count per caller.

    mlplatform:auth:
      issuers:
        - issuer: https://login.microsoftonline.com/<tenant-id>/v2.0
          jwksUri: https://login.microsoftonline.com/<tenant-id>/discovery/v2.0/keys
          audiences: [api://mlplatform]
      models:
        fraud-detection: {groups: [fraud-team], scopes: [infer]}
        image-embedder:                                # a model of its own, heavier per call: its own bucket
          groups: [search-team]
          rateLimit: {requestsPerSecond: 2, burst: 4}
      rateLimit: {requestsPerSecond: 10, burst: 20}    # per caller, per gateway pod (see docs/SECURITY.md)
      registry: {groups: [model-publishers]}           # who may use the model registry at /mlflow (default: nobody)

Dev may say `enabled: false` (or leave the key out); prod refuses a stack without authentication.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, overload
from urllib.parse import urlparse

from components.serving_stack.contract import (
    CALLER_HEADER,
    MIB,
    CallerRateLimit,
    GatewayAuth,
    JwtIssuer,
    ModelCallers,
    RequestLimits,
)
from stacks.validate import ConfigError, boolean, kind, mapping, string, string_list

AUTH_KEYS = {
    "enabled",
    "issuers",
    "models",
    "callerClaim",
    "claimHeader",
    "groupsClaim",
    "scopesClaim",
    "rateLimit",
    "registry",
}
ISSUER_KEYS = {"issuer", "jwksUri", "audiences"}
MODEL_KEYS = {"subjects", "groups", "scopes", "rateLimit"}  # a model's rateLimit replaces the stack's for it
REGISTRY = "registry"  # the model registry's entry: who may reach it through the gateway (components/model_registry)
RATE_KEYS = {"requestsPerSecond", "burst"}
# A lowercase HTTP header name (Envoy and Istio compare them lowercased).
_HEADER = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
# A JWT claim name as Istio's `request.auth.claims[...]` takes it (no brackets; nested claims use dots).
_CLAIM = re.compile(r"^[A-Za-z0-9_.:/-]{1,100}$")
# Headers the gateway must never let a caller set or overwrite with a claim.
_RESERVED_HEADERS = {"authorization", "host", "content-length", "content-type", "x-forwarded-for"}


@dataclass(frozen=True)
class RateLimit:
    """A token bucket: `requests_per_second` refills it, `burst` is its size (the most sent at once)."""

    requests_per_second: float
    burst: int


DEFAULT_RATE_LIMIT = RateLimit(requests_per_second=10.0, burst=20)
"""Per caller when the stack names none: enough for an interactive client, small enough that one caller
cannot take a model's GPUs from the others."""


@dataclass(frozen=True)
class IssuerConfig:
    """One trusted identity provider: tokens it signs with a key from `jwks_uri`, for one of `audiences`."""

    issuer: str
    jwks_uri: str
    audiences: tuple[str, ...]


@dataclass(frozen=True)
class ModelAccess:
    """Who may call one model: a token matching any listed subject, group or scope (default deny: none listed,
    nobody)."""

    model: str
    subjects: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    scopes: tuple[str, ...] = ()
    rate_limit: RateLimit | None = None
    """The model's own per-caller bucket, in place of the stack's for every request to it (None: the stack's)."""

    @property
    def open_to_nobody(self) -> bool:
        return not (self.subjects or self.groups or self.scopes)


@dataclass(frozen=True)
class AuthConfig:
    """The stack's authentication, authorisation and per-caller rate limits; `enabled` False only in dev."""

    enabled: bool
    issuers: tuple[IssuerConfig, ...] = ()
    models: tuple[ModelAccess, ...] = ()
    caller_claim: str = "sub"
    """The claim that identifies a caller for the rate limit (GitHub Actions: `repository`, say)."""
    claim_header: str = CALLER_HEADER
    """The request header the gateway writes `caller_claim` into after verifying the token."""
    groups_claim: str = "groups"
    scopes_claim: str = "scope"
    """Entra ID puts delegated scopes in `scp` and app roles in `roles`; Auth0, Keycloak and Cognito use `scope`."""
    rate_limit: RateLimit = DEFAULT_RATE_LIMIT
    registry: ModelAccess | None = None
    """Who may use the model registry through the gateways (subjects, groups, scopes); None: nobody, not routed."""

    def access(self, model: str) -> ModelAccess:
        """Who may call `model`; a model missing from the table is open to nobody."""
        for entry in self.models:
            if entry.model == model:
                return entry
        return ModelAccess(model)


DISABLED = AuthConfig(enabled=False)


def parse_auth(key: str, value: Any, environment: str, model_names: Sequence[str]) -> AuthConfig:
    """`mlplatform:auth` for a stack of `environment` serving `model_names`."""
    if value is None:
        if environment == "prod":
            raise ConfigError(key, "missing; prod must authenticate callers (issuers with jwksUri and audiences)")
        return DISABLED
    fields = mapping(key, value, AUTH_KEYS)
    enabled = boolean(f"{key}.enabled", fields.get("enabled", True))
    if not enabled:
        if environment == "prod":
            raise ConfigError(f"{key}.enabled", "prod cannot turn authentication off; only dev may")
        return DISABLED
    issuers = _issuers(f"{key}.issuers", fields.get("issuers"))
    models = _models(f"{key}.models", fields.get("models", {}), model_names)
    header = string(f"{key}.claimHeader", fields.get("claimHeader", AuthConfig.claim_header))
    if not _HEADER.fullmatch(header) or header in _RESERVED_HEADERS or header.startswith(":"):
        raise ConfigError(f"{key}.claimHeader", f"{header!r} must be a lowercase header name of our own")
    return AuthConfig(
        enabled=True,
        issuers=issuers,
        models=models,
        caller_claim=_claim(f"{key}.callerClaim", fields.get("callerClaim", AuthConfig.caller_claim)),
        claim_header=header,
        groups_claim=_claim(f"{key}.groupsClaim", fields.get("groupsClaim", AuthConfig.groups_claim)),
        scopes_claim=_claim(f"{key}.scopesClaim", fields.get("scopesClaim", AuthConfig.scopes_claim)),
        rate_limit=_rate(f"{key}.rateLimit", fields["rateLimit"]) if "rateLimit" in fields else DEFAULT_RATE_LIMIT,
        registry=_access(f"{key}.{REGISTRY}", REGISTRY, fields[REGISTRY], {"subjects", "groups", "scopes"})
        if REGISTRY in fields
        else None,
    )


def _issuers(key: str, value: Any) -> tuple[IssuerConfig, ...]:
    if value is None:
        raise ConfigError(key, "missing; list at least one issuer with its jwksUri and audiences")
    if not isinstance(value, list) or not value:
        raise ConfigError(key, f"expected a non-empty list of issuers, got {kind(value)}")
    issuers = tuple(_issuer(f"{key}[{i}]", item) for i, item in enumerate(value))
    seen: dict[str, int] = {}
    for i, entry in enumerate(issuers):
        if entry.issuer in seen:
            raise ConfigError(
                f"{key}[{i}].issuer", f"{entry.issuer!r} is already listed at {key}[{seen[entry.issuer]}]"
            )
        seen[entry.issuer] = i
    return issuers


def _issuer(key: str, item: Any) -> IssuerConfig:
    fields = mapping(key, item, ISSUER_KEYS)
    issuer = string(f"{key}.issuer", fields.get("issuer"))
    if "jwksUri" not in fields:
        raise ConfigError(f"{key}.jwksUri", f"missing; the gateway needs {issuer}'s signing keys (its JWKS URI)")
    jwks = _https(f"{key}.jwksUri", fields["jwksUri"])
    audiences = string_list(f"{key}.audiences", fields.get("audiences", []))
    if not audiences:
        raise ConfigError(
            f"{key}.audiences", "must name at least one audience; without one any token of the issuer passes"
        )
    return IssuerConfig(issuer, jwks, tuple(audiences))


def _https(key: str, value: Any) -> str:
    url = string(key, value)
    parsed = urlparse(url)
    if parsed.scheme != "https" or not parsed.netloc:
        raise ConfigError(key, f"{url!r} must be an https:// URL")
    return url


def _models(key: str, value: Any, model_names: Sequence[str]) -> tuple[ModelAccess, ...]:
    if not isinstance(value, dict):
        raise ConfigError(key, f"expected a map of model name to who may call it, got {kind(value)}")
    entries: list[ModelAccess] = []
    for model, rules in value.items():
        where = f"{key}.{model}"
        if model not in model_names:
            known = ", ".join(model_names) or "none"
            raise ConfigError(where, f"no such model in mlplatform:models (known: {known})")
        entries.append(_access(where, model, rules, MODEL_KEYS))
    return tuple(entries)


def _access(where: str, model: str, rules: Any, keys: set[str]) -> ModelAccess:
    """Who may call one model (or the registry, with `keys` lacking rateLimit)."""
    fields = mapping(where, rules, keys)
    return ModelAccess(
        model=model,
        subjects=tuple(string_list(f"{where}.subjects", fields.get("subjects", []))),
        groups=tuple(string_list(f"{where}.groups", fields.get("groups", []))),
        scopes=tuple(string_list(f"{where}.scopes", fields.get("scopes", []))),
        rate_limit=_rate(f"{where}.rateLimit", fields["rateLimit"]) if "rateLimit" in fields else None,
    )


def _rate(key: str, value: Any) -> RateLimit:
    fields = mapping(key, value, RATE_KEYS)
    rps = fields.get("requestsPerSecond")
    if isinstance(rps, bool) or not isinstance(rps, (int, float)) or not math.isfinite(rps) or rps <= 0:
        raise ConfigError(f"{key}.requestsPerSecond", f"must be a finite number above 0, got {kind(rps)}")
    burst = fields.get("burst", max(1, math.ceil(rps)))
    if isinstance(burst, bool) or not isinstance(burst, int) or burst <= 0:
        raise ConfigError(f"{key}.burst", f"must be a whole number above 0, got {kind(burst)}")
    return RateLimit(float(rps), burst)


def _claim(key: str, value: Any) -> str:
    name = string(key, value)
    if not _CLAIM.fullmatch(name):
        raise ConfigError(key, f"{name!r} is not a claim name (letters, digits and _.:/-)")
    return name


def gateway_auth(auth: AuthConfig, open_hosts: Sequence[str] = ()) -> GatewayAuth | None:
    """ServingStackArgs.auth for one footprint; None when the stack turned authentication off (dev only)."""
    if not auth.enabled:
        return None
    return GatewayAuth(
        issuers=tuple(JwtIssuer(i.issuer, i.jwks_uri, i.audiences) for i in auth.issuers),
        callers=tuple(
            ModelCallers(m.model, m.subjects, m.groups, m.scopes, _caller_limit(m.rate_limit, auth.claim_header))
            for m in auth.models
        ),
        caller_claim=auth.caller_claim,
        claim_header=auth.claim_header,
        groups_claim=auth.groups_claim,
        scopes_claim=auth.scopes_claim,
        open_hosts=tuple(open_hosts),
        rate_limit=_caller_limit(auth.rate_limit, auth.claim_header),
    )


@overload
def _caller_limit(limit: RateLimit, header: str) -> CallerRateLimit: ...
@overload
def _caller_limit(limit: None, header: str) -> None: ...
def _caller_limit(limit: RateLimit | None, header: str) -> CallerRateLimit | None:
    return None if limit is None else CallerRateLimit(limit.requests_per_second, limit.burst, header)


def caller_facts(auth: AuthConfig, limits: RequestLimits) -> dict[str, Any]:
    """The stack output `auth`: what a caller needs to get a token and stay within the limits (no secrets, and not
    who may call which model)."""
    sizes = {"maxRequestBodyMiB": limits.max_body_bytes // MIB, "maxRequestHeadersKiB": limits.max_headers_kib}
    if not auth.enabled:
        return {"enabled": False, **sizes}
    own = {m.model: _rate_facts(m.rate_limit) for m in auth.models if m.rate_limit is not None}
    return {
        "enabled": True,
        "issuers": [{"issuer": i.issuer, "audiences": list(i.audiences)} for i in auth.issuers],
        "rateLimit": _rate_facts(auth.rate_limit),
        "modelRateLimits": own,
        **sizes,
    }


def _rate_facts(limit: RateLimit) -> dict[str, Any]:
    return {"requestsPerSecond": limit.requests_per_second, "burst": limit.burst}
