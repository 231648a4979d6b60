"""Request size limits at the ingress gateway: a giant body gets 413 and giant headers 431 before any model sees them.

Why at the gateway: a model server needs a request's whole body before it can infer, so a caller sending a huge body
(or sending it slowly) would otherwise hold a replica's connection and memory. Envoy's buffer filter holds the body at
the gateway until it is complete and refuses it past `max_body_bytes`, so a model only ever sees whole requests within
the limit; the HTTP connection manager refuses headers past `max_headers_kib`. Per-route timeouts (traffic.py) cap
how long an admitted request may take.

Istio has no API of its own for either limit (feature requests istio/istio#26152 and #48902, closed without one;
read 2026-12), so one EnvoyFilter per gateway patches both in: a MERGE into the gateway's HTTP connection
manager and the buffer filter inserted before the router. Its `priority` (above the rate limit's default 0) makes
Istio apply it after the rate limit's insert, so the order is jwt_authn, RBAC, local rate limit, buffer, router: a
refused caller's body is never buffered.

Facts (Envoy 1.39, read 2026-12; envoyproxy.io/docs/envoy/v1.39.3): HttpConnectionManager.max_request_headers_kb
(default 60, at most 8192) answers HTTP/1 requests over it with 431 and resets HTTP/2 streams;
extensions.filters.http.buffer.v3.Buffer.max_request_bytes (uint32, required) answers 413 past it ("Why is Envoy
sending 413s?"). Istio's EnvoyFilter reference: `priority` orders patch sets, higher applied later.
tests/test_gateway_limits.py loads the same dicts into a real Envoy in front of MLServer.
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components.serving_stack.contract import RequestLimits

__all__ = ["RequestLimits", "buffer_filter", "connection_manager_settings", "envoy_filter_manifest", "install"]

HCM = "envoy.filters.network.http_connection_manager"
HCM_TYPE = "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager"
BUFFER_FILTER = "envoy.filters.http.buffer"
BUFFER_TYPE = "type.googleapis.com/envoy.extensions.filters.http.buffer.v3.Buffer"
ROUTER = "envoy.filters.http.router"
ENVOY_FILTER_API = "networking.istio.io/v1alpha3"
ENVOY_FILTER_NAME = "request-limits"
PRIORITY = 10  # after the caller rate limit's EnvoyFilter (priority 0): the buffer sits between it and the router


def buffer_filter(limits: RequestLimits) -> dict[str, Any]:
    """The HTTP filter that holds a request's body until it is whole, and answers 413 past the limit."""
    return {
        "name": BUFFER_FILTER,
        "typed_config": {"@type": BUFFER_TYPE, "max_request_bytes": limits.max_body_bytes},
    }


def connection_manager_settings(limits: RequestLimits) -> dict[str, Any]:
    """The fields merged into the gateway's HTTP connection manager (its typed_config)."""
    return {"max_request_headers_kb": limits.max_headers_kib}


def _listener_match(sub_filter: str | None = None) -> dict[str, Any]:
    chain: dict[str, Any] = {"name": HCM}
    if sub_filter is not None:
        chain["subFilter"] = {"name": sub_filter}
    return {"context": "GATEWAY", "listener": {"filterChain": {"filter": chain}}}


def envoy_filter_spec(limits: RequestLimits, gateway_selector: dict[str, str]) -> dict[str, Any]:
    """Two patches: the header limit merged into the connection manager, the buffer inserted before the router."""
    manager = {"name": HCM, "typed_config": {"@type": HCM_TYPE, **connection_manager_settings(limits)}}
    return {
        "workloadSelector": {"labels": dict(gateway_selector)},
        "priority": PRIORITY,
        "configPatches": [
            {
                "applyTo": "NETWORK_FILTER",
                "match": _listener_match(),
                "patch": {"operation": "MERGE", "value": manager},
            },
            {
                "applyTo": "HTTP_FILTER",
                "match": _listener_match(ROUTER),
                "patch": {"operation": "INSERT_BEFORE", "value": buffer_filter(limits)},
            },
        ],
    }


def envoy_filter_manifest(limits: RequestLimits, namespace: str, gateway_selector: dict[str, str]) -> dict[str, Any]:
    """The whole EnvoyFilter object, in the gateway's namespace."""
    return {
        "apiVersion": ENVOY_FILTER_API,
        "kind": "EnvoyFilter",
        "metadata": {"name": ENVOY_FILTER_NAME, "namespace": namespace},
        "spec": envoy_filter_spec(limits, gateway_selector),
    }


def install(
    parent: pulumi.Resource,
    name: str,
    limits: RequestLimits,
    namespace: pulumi.Input[str],
    gateway_selector: dict[str, str],
    opts: pulumi.ResourceOptions,
) -> k8s.apiextensions.CustomResource:
    """The EnvoyFilter on the cluster, on every gateway whether or not it authenticates callers."""
    return k8s.apiextensions.CustomResource(
        f"{name}-request-limits",
        api_version=ENVOY_FILTER_API,
        kind="EnvoyFilter",
        metadata={"name": ENVOY_FILTER_NAME, "namespace": namespace},
        spec=envoy_filter_spec(limits, gateway_selector),
        opts=pulumi.ResourceOptions.merge(pulumi.ResourceOptions(parent=parent), opts),
    )
