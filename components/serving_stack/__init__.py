"""ServingStack: GPU model serving on a footprint's cluster, through that cluster's kubernetes provider.

Add-ons (device plugin where needed, Istio, kube-prometheus-stack, KEDA), then the model
reader's cloud identity, then the models: Triton Deployments per version plus the on-demand
floor, weighted routes, mTLS, autoscaling, disruption budgets and metrics.
"""

from __future__ import annotations

from collections.abc import Callable

import pulumi

from components.per_cloud import implementation
from components.pod_security import BASELINE, RESTRICTED, Level
from components.serving_stack import addons, gateway_auth, ratelimit, request_limits, tls, warm_spares, workloads
from components.serving_stack.contract import (
    HEALTH_PATH,
    NAMESPACE,
    Addons,
    ModelSpec,
    ModelVersion,
    ReaderIdentity,
    ServingStackArgs,
)
from components.target import Cloud

__all__ = ["ModelSpec", "ModelVersion", "ServingStack", "ServingStackArgs"]

BindReader = Callable[[pulumi.ComponentResource, str, ServingStackArgs], ReaderIdentity]
READER_IDENTITIES: dict[Cloud, str] = {
    "aws": "components.serving_stack.identity_aws",
    "gcp": "components.serving_stack.identity_gcp",
    "azure": "components.serving_stack.identity_azure",
}


class ServingStack(pulumi.ComponentResource):
    gateway_address: pulumi.Output[str]  # hostname (EKS) or IP (GKE, AKS) of the ingress gateway
    health_path: str  # HEALTH_PATH: what GlobalDns and the client probe through the gateway
    addons: Addons
    namespaces: dict[str, Level]  # every namespace it made and the Pod Security level each enforces

    def __init__(self, name: str, args: ServingStackArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlplatform:serving:ServingStack", name, None, opts)
        installed = addons.install(self, name, args)
        if args.tls is not None:
            installed = tls.install_cert_manager(self, name, args, installed)
        self.addons = installed
        after = pulumi.ResourceOptions(provider=args.k8s_provider, depends_on=list(installed.ready))
        namespace = addons.gateway_namespace(installed)
        if args.auth is not None:  # who may call which model, at the gateway's pods
            gateway_auth.install(self, name, args.auth, installed, after)
            if args.auth.rate_limit is not None:  # per caller, counted after the two checks above
                own = {c.model: c.rate_limit for c in args.auth.callers if c.rate_limit is not None}
                ratelimit.install(self, name, args.auth.rate_limit, namespace, installed.gateway_selector, after, own)
        request_limits.install(self, name, args.request_limits, namespace, installed.gateway_selector, after)
        bind: BindReader = implementation("ServingStack", READER_IDENTITIES, args.target.cloud).bind
        reader = bind(self, name, args)
        serving = workloads.deploy_models(self, name, args, reader, installed)
        warm_spares.install(self, name, args, serving)  # spot nodes kept Ready with the Triton image
        self.namespaces = {**addons.namespace_levels(args), NAMESPACE: RESTRICTED}
        if args.tls is not None:
            self.namespaces[tls.CERT_MANAGER_NAMESPACE] = BASELINE
        self.gateway_address = installed.gateway_address
        self.health_path = HEALTH_PATH
        self.register_outputs({"gatewayAddress": self.gateway_address, "healthPath": self.health_path})
