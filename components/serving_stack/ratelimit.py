"""Per-caller rate limit at the ingress gateway: Envoy's local rate limit, keyed on the caller's token subject.

Why local and not global: the local filter keeps a token bucket per caller in each gateway pod, with no
service or Redis to run per cluster; the price is that the limit holds per pod. A caller spread over P
gateway pods in each of N targets can get at most N * P * (burst + requests_per_second * t) in t seconds
(docs/SECURITY.md says the same to callers).

How the caller is known: Istio's RequestAuthentication copies the verified token's subject into a header
(`outputClaimToHeaders`, default `x-mlplatform-caller`), and the filter's descriptor takes its value from
that header. The filter runs after Istio's authentication and authorisation filters (it is inserted just
before the router), so refused requests never spend a caller's tokens, and a request without the header
(the open health path) is not limited at all.

A model may have its own limit (`mlplatform:auth.models.<m>.rateLimit`): its requests then count in a bucket
of that model's size per caller instead of the stack's, for all its paths (inference, metadata, readiness). Both
live in the one filter: each model with its own limit gets a descriptor keyed on the model (a `:path` match) and
the caller; the stack's descriptor carries the caller and a `:path` match that excludes those models, so a request
builds exactly one descriptor and spends exactly one bucket. Retry-After is one static header for the whole filter,
so it is the longest refill interval among the buckets; x-ratelimit-reset gives the refused bucket's own wait.

The same dict (`local_ratelimit_filter`) is embedded in the EnvoyFilter patch and loaded by a real Envoy in
tests/test_gateway_envoy.py, so what the tests prove is what the gateway runs.

Facts (Envoy 1.39, read 2026-12; envoyproxy.io/docs/envoy/v1.39.3, "Local rate limit" HTTP filter and
extensions.filters.http.local_ratelimit.v3.LocalRateLimit):
- `rate_limits` in the filter config builds descriptors without route-level actions; a descriptor entry
  with a key and no value matches every value and gets its own bucket per value ("dynamic descriptors",
  at most `max_dynamic_descriptors`, least recently used evicted);
- the filter is off unless `filter_enabled` and `filter_enforced` are set (both default to 0 %);
- a descriptor is built from a `rate_limits` entry only if every action yields an entry; `header_value_match`
  yields its `descriptor_key`/`descriptor_value` when the headers match (or, with `expect_match: false`, when
  they do not), and `:path` is matched as a header (query string included);
- it sends no Retry-After by itself: `response_headers_to_add` applies only to rate-limited responses;
  `enable_x_ratelimit_headers: DRAFT_VERSION_03` adds x-ratelimit-limit, -remaining and -reset.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components.serving_stack.contract import CALLER_HEADER, CallerRateLimit

__all__ = ["CALLER_HEADER", "CallerRateLimit", "envoy_filter_manifest", "install", "local_ratelimit_filter"]

FILTER_NAME = "envoy.filters.http.local_ratelimit"
FILTER_TYPE = "type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit"
ENVOY_FILTER_API = "networking.istio.io/v1alpha3"
ENVOY_FILTER_NAME = "caller-rate-limit"
MAX_CALLERS = 10_000  # buckets kept per pod; the least recently seen caller's bucket is dropped beyond this
_ALWAYS = {"numerator": 100, "denominator": "HUNDRED"}


def _bucket(limit: CallerRateLimit) -> dict[str, Any]:
    return {
        "max_tokens": limit.burst,
        "tokens_per_fill": limit.tokens_per_fill,
        "fill_interval": f"{limit.fill_interval_ms / 1000:.3f}s",
    }


def _paths(models: list[str]) -> dict[str, Any]:
    """A `:path` matcher for every path under these models (query string allowed); RE2 matches the whole value."""
    names = "|".join(re.escape(model) for model in models)
    return {"name": ":path", "string_match": {"safe_regex": {"regex": f"/v2/models/({names})(/[^?]*)?(\\?.*)?"}}}


def local_ratelimit_filter(
    limit: CallerRateLimit, model_limits: Mapping[str, CallerRateLimit] | None = None
) -> dict[str, Any]:
    """The HTTP filter (name and typed_config) as Envoy and Istio's EnvoyFilter both take it.

    `limit` is the stack's per-caller bucket; `model_limits` the models with a bucket of their own."""
    own = dict(sorted((model_limits or {}).items()))
    caller = {
        "request_headers": {
            "header_name": limit.caller_header,
            "descriptor_key": "caller",
            "skip_if_absent": True,  # no caller header: the open health path
        }
    }
    rate_limits: list[dict[str, Any]] = []
    descriptors: list[dict[str, Any]] = []
    for model, model_limit in own.items():
        to_model = {
            "header_value_match": {"descriptor_key": "model", "descriptor_value": model, "headers": [_paths([model])]}
        }
        rate_limits.append({"actions": [to_model, caller]})
        descriptors.append(
            {"entries": [{"key": "model", "value": model}, {"key": "caller"}], "token_bucket": _bucket(model_limit)}
        )
    if own:  # the stack's bucket for every request that is not to a model with its own
        elsewhere = {
            "header_value_match": {
                "descriptor_key": "limit",
                "descriptor_value": "stack",
                "expect_match": False,
                "headers": [_paths(list(own))],
            }
        }
        rate_limits.append({"actions": [elsewhere, caller]})
        descriptors.append(
            {"entries": [{"key": "limit", "value": "stack"}, {"key": "caller"}], "token_bucket": _bucket(limit)}
        )
    else:
        rate_limits.append({"actions": [caller]})
        descriptors.append(
            {"entries": [{"key": "caller"}], "token_bucket": _bucket(limit)}
        )  # no value: one bucket per caller
    retry_after = max(one.retry_after_seconds for one in (limit, *own.values()))
    return {
        "name": FILTER_NAME,
        "typed_config": {
            "@type": FILTER_TYPE,
            "stat_prefix": "caller_rate_limit",
            "filter_enabled": {"runtime_key": "caller_rate_limit_enabled", "default_value": dict(_ALWAYS)},
            "filter_enforced": {"runtime_key": "caller_rate_limit_enforced", "default_value": dict(_ALWAYS)},
            "enable_x_ratelimit_headers": "DRAFT_VERSION_03",
            "max_dynamic_descriptors": MAX_CALLERS,
            "rate_limits": rate_limits,
            "descriptors": descriptors,
            "response_headers_to_add": [
                {
                    "append_action": "OVERWRITE_IF_EXISTS_OR_ADD",
                    "header": {"key": "retry-after", "value": str(retry_after)},
                }
            ],
        },
    }


def envoy_filter_spec(
    limit: CallerRateLimit,
    gateway_selector: dict[str, str],
    model_limits: Mapping[str, CallerRateLimit] | None = None,
) -> dict[str, Any]:
    """EnvoyFilter spec: insert the filter before the router in the gateway's HTTP connection manager.

    Before the router means after Istio's own jwt_authn and RBAC filters, so only admitted requests count.
    """
    return {
        "workloadSelector": {"labels": dict(gateway_selector)},
        "configPatches": [
            {
                "applyTo": "HTTP_FILTER",
                "match": {
                    "context": "GATEWAY",
                    "listener": {
                        "filterChain": {
                            "filter": {
                                "name": "envoy.filters.network.http_connection_manager",
                                "subFilter": {"name": "envoy.filters.http.router"},
                            }
                        }
                    },
                },
                "patch": {"operation": "INSERT_BEFORE", "value": local_ratelimit_filter(limit, model_limits)},
            }
        ],
    }


def envoy_filter_manifest(
    limit: CallerRateLimit,
    namespace: str,
    gateway_selector: dict[str, str],
    model_limits: Mapping[str, CallerRateLimit] | None = None,
) -> dict[str, Any]:
    """The whole EnvoyFilter object, in the gateway's namespace (an EnvoyFilter applies to workloads there)."""
    return {
        "apiVersion": ENVOY_FILTER_API,
        "kind": "EnvoyFilter",
        "metadata": {"name": ENVOY_FILTER_NAME, "namespace": namespace},
        "spec": envoy_filter_spec(limit, gateway_selector, model_limits),
    }


def install(
    parent: pulumi.Resource,
    name: str,
    limit: CallerRateLimit,
    namespace: pulumi.Input[str],
    gateway_selector: dict[str, str],
    opts: pulumi.ResourceOptions,
    model_limits: Mapping[str, CallerRateLimit] | None = None,
) -> k8s.apiextensions.CustomResource:
    """The EnvoyFilter on the cluster; `opts` carries the provider and waits for Istio's CRDs and gateway."""
    return k8s.apiextensions.CustomResource(
        f"{name}-caller-rate-limit",
        api_version=ENVOY_FILTER_API,
        kind="EnvoyFilter",
        metadata={"name": ENVOY_FILTER_NAME, "namespace": namespace},
        spec=envoy_filter_spec(limit, gateway_selector, model_limits),
        opts=pulumi.ResourceOptions.merge(pulumi.ResourceOptions(parent=parent), opts),
    )
