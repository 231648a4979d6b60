"""The registry through the ingress gateway: a route at PATH_PREFIX, who may use it, and the gateway's way out to it.

- a VirtualService bound to the serving stack's Gateway (`serving/models`, hosts "*"): Istio merges the
  VirtualServices of one gateway and host, so this one sits beside the models' without touching theirs
  (components/serving_stack/traffic.py); no rewrite: the server itself lives under the prefix (--static-prefix);
- an AuthorizationPolicy (ALLOW) on the gateway's pods: a verified token whose subject, group or scope is listed in
  `mlplatform:auth.registry`, on PATH_PREFIX and below. Istio admits a request that ANY ALLOW policy of the workload
  admits, so this adds the registry's callers and takes nothing from the models' policy (gateway_auth.py), whose
  RequestAuthentication checks the token first (a bad token is 401 before any of this);
- a NetworkPolicy in the gateway's namespace: egress to the registry's pods on PORT (the namespace's fence lets out
  only the model ports).
Made only with authentication on: without it (dev) the registry is not exposed and is reached by port-forward.
"""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from components.model_registry.contract import NAME, NAMESPACE, PATH_PREFIX, PORT, RegistryGateway
from components.network_fence import NAMESPACE_LABEL
from components.serving_stack.gateway_auth import LABELS as AUTH_LABELS
from components.serving_stack.gateway_auth import SECURITY, caller_rules
from components.serving_stack.traffic import GATEWAY

NETWORKING = "networking.istio.io/v1"
POLICY_NAME = "mlplatform-model-registry"
TIMEOUT = "30s"


def virtual_service_spec() -> dict[str, object]:
    destination = {"host": f"{NAME}.{NAMESPACE}.svc.cluster.local", "port": {"number": PORT}}
    return {
        "hosts": ["*"],
        "gateways": [f"{NAMESPACE}/{GATEWAY}"],
        "http": [
            {
                "name": "model-registry",
                "match": [{"uri": {"exact": PATH_PREFIX}}, {"uri": {"prefix": f"{PATH_PREFIX}/"}}],
                "route": [{"destination": destination}],
                "timeout": TIMEOUT,
            }
        ],
    }


def authorization_policy_spec(gateway: RegistryGateway) -> dict[str, object]:
    return {
        "selector": {"matchLabels": dict(gateway.selector)},
        "action": "ALLOW",
        "rules": caller_rules(gateway.auth, gateway.callers, PATH_PREFIX),
    }


def install(parent: pulumi.Resource, name: str, gateway: RegistryGateway, opts: pulumi.ResourceOptions) -> None:
    k8s.apiextensions.CustomResource(
        f"{name}-route",
        api_version=NETWORKING,
        kind="VirtualService",
        metadata={"name": NAME, "namespace": NAMESPACE},
        spec=virtual_service_spec(),
        opts=opts,
    )
    k8s.apiextensions.CustomResource(
        f"{name}-callers",
        api_version=SECURITY,
        kind="AuthorizationPolicy",
        metadata={"name": POLICY_NAME, "namespace": gateway.namespace, "labels": dict(AUTH_LABELS)},
        spec=authorization_policy_spec(gateway),
        opts=opts,
    )
    k8s.networking.v1.NetworkPolicy(
        f"{name}-gateway-egress",
        metadata={"name": POLICY_NAME, "namespace": gateway.namespace},
        spec={
            "pod_selector": {"match_labels": dict(gateway.selector)},
            "policy_types": ["Egress"],
            "egress": [
                {
                    "to": [
                        {
                            "namespace_selector": {"match_labels": {NAMESPACE_LABEL: NAMESPACE}},
                            "pod_selector": {"match_labels": {"app": NAME}},
                        }
                    ],
                    "ports": [{"protocol": "TCP", "port": PORT}],
                }
            ],
        },
        opts=opts,
    )
