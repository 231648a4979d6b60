"""The model workloads of a ServingStack: per model a Service, a Deployment per version, the on-demand
floor, Istio routes, autoscaling, a disruption budget and the metrics scrape.

Scheduling, per model (labels from components/scheduling.py):
- version Deployments (stable, canary) prefer spot GPU nodes and may land on the on-demand
  fallback nodes; KEDA sizes each between the model's min and max replicas;
- the floor is its own Deployment of ``on_demand_floor`` stable replicas that require on-demand
  nodes, so a mass spot reclaim never takes a model to zero (a Deployment's replicas share one
  pod template, so "some on on-demand" cannot be one Deployment). Its pods bring a fallback node
  up from zero; they carry the stable version's labels, so the stable route reaches them too.

Every Kubernetes object is made on the cluster's provider and waits for the namespace; custom
resources and pods also wait for the add-ons that bring their CRDs and webhooks (Istio's sidecar
injector must be up before a pod is created, or that pod runs outside the mesh).
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

from components import pod_security
from components.cold_start import BUDGET_ANNOTATION, COLD_START_ANNOTATION, NEW_NODE_ANNOTATION
from components.serving_stack import egress, scaling, traffic
from components.serving_stack.contract import (
    NAMESPACE,
    SERVICE_ACCOUNT,
    Addons,
    ModelSpec,
    ReaderIdentity,
    ServingStackArgs,
)
from components.serving_stack.triton import (
    ADMIN_SECRET,
    ADMIN_SECRET_KEY,
    GRPC_PORT,
    HTTP_PORT,
    LABEL_APP,
    METRICS_PORT,
    PORT_NAMES,
    Workload,
    deployment_spec,
)

# Istio picks a Service port's protocol from its name, "<protocol>[-<suffix>]" (istio.io,
# "Explicit protocol selection"); the metrics port is plain HTTP.
SERVICE_PORT_NAMES = {HTTP_PORT: "http", GRPC_PORT: "grpc", METRICS_PORT: "http-metrics"}
# Pulumi waits for a Deployment to be available: a GPU node from zero, the image and the model take a while.
ROLLOUT_TIMEOUT = pulumi.CustomTimeouts(create="30m", update="30m")


@dataclass(frozen=True)
class _Options:
    """Resource options by what an object waits for."""

    plain: pulumi.ResourceOptions  # namespaced built-in objects: the namespace
    custom: pulumi.ResourceOptions  # custom resources: the namespace and the CRDs' releases
    pods: pulumi.ResourceOptions  # Deployments: also the service account, the identity, the sidecar injector


def deploy_models(
    parent: pulumi.Resource, name: str, args: ServingStackArgs, reader: ReaderIdentity, addons: Addons
) -> k8s.core.v1.Namespace:
    """Everything in the serving namespace, for every model in args.models; the namespace, for what else lives there."""
    base = pulumi.ResourceOptions(parent=parent, provider=args.k8s_provider)
    # Istio's sidecar in every pod; restricted Pod Security (Istio CNI sets the redirect up, so no istio-init).
    namespace = pod_security.namespace(
        f"{name}-namespace", NAMESPACE, pod_security.RESTRICTED, base, {"istio-injection": "enabled"}
    )
    plain = pulumi.ResourceOptions.merge(base, pulumi.ResourceOptions(depends_on=[namespace]))
    account = k8s.core.v1.ServiceAccount(
        f"{name}-service-account",
        metadata={"name": SERVICE_ACCOUNT, "namespace": NAMESPACE, "annotations": reader.service_account_annotations},
        opts=plain,
    )
    admin = _admin_secret(name, parent, plain)
    custom = pulumi.ResourceOptions.merge(base, pulumi.ResourceOptions(depends_on=[namespace, *addons.ready]))
    # Outbound traffic is REGISTRY_ONLY: the bucket and identity hosts are declared before a model server starts.
    external = egress.service_entries(name, args.target.cloud, args.target.region, custom)
    options = _Options(
        plain=plain,
        custom=custom,
        pods=pulumi.ResourceOptions.merge(
            base,
            pulumi.ResourceOptions(
                depends_on=[namespace, account, admin, *external, *reader.resources, *addons.ready],
                custom_timeouts=ROLLOUT_TIMEOUT,
            ),
        ),
    )
    traffic.gateway(f"{name}-gateway", addons, options.custom, args.tls.server if args.tls else None)
    traffic.namespace_mtls(f"{name}-mtls", options.custom)
    for index, model in enumerate(args.models):
        _serve(name, args, model, reader, addons, options, health=index == 0)
    return namespace


def _admin_secret(name: str, parent: pulumi.Resource, opts: pulumi.ResourceOptions) -> k8s.core.v1.Secret:
    """The key Triton's control APIs want (triton.RESTRICTED_APIS): random, in the serving namespace only."""
    key = random.RandomPassword(
        f"{name}-triton-admin-key", length=40, special=False, opts=pulumi.ResourceOptions(parent=parent)
    )
    value: pulumi.Output[str] = pulumi.Output.secret(key.result)
    return k8s.core.v1.Secret(
        f"{name}-triton-admin",
        metadata={"name": ADMIN_SECRET, "namespace": NAMESPACE},
        type="Opaque",
        string_data={ADMIN_SECRET_KEY: value},
        opts=opts,
    )


def _serve(
    name: str,
    args: ServingStackArgs,
    model: ModelSpec,
    reader: ReaderIdentity,
    addons: Addons,
    options: _Options,
    *,
    health: bool,
) -> None:
    """One model: its Service and Deployments, then its routes, scaling and scrape."""
    prefix = f"{name}-{model.name}"
    _service(prefix, model, options.plain)
    deployments = []
    for version in model.versions:
        workload = Workload(model, version)
        deployment = _deployment(f"{name}-{workload.name}", args, workload, reader, None, options.pods)
        deployments.append(deployment)
        # KEDA's admission webhook reads the target Deployment's CPU requests (cpu trigger): it must exist first.
        after = pulumi.ResourceOptions.merge(options.custom, pulumi.ResourceOptions(depends_on=[deployment]))
        scaling.scaled_object(f"{name}-{workload.name}", workload, addons, after)
    if model.on_demand_floor > 0:
        floor = Workload(model, model.stable, floor=True)
        _deployment(f"{name}-{floor.name}", args, floor, reader, model.on_demand_floor, options.pods)

    # The route changes only after what it sends traffic to exists: a new version's Deployment is available (Pulumi
    # waits for its rollout, readiness = Triton has loaded the model) and its subset is in the DestinationRule. A
    # version taken out of the stack loses its route first; its Deployment is deleted at the end of `pulumi up`,
    # after every create and update (docs/OPERATIONS.md, "Zero downtime").
    rule = traffic.destination_rule(prefix, model, options.custom)
    routed = pulumi.ResourceOptions.merge(options.custom, pulumi.ResourceOptions(depends_on=[rule, *deployments]))
    traffic.virtual_service(prefix, model, health=health, opts=routed)
    traffic.metrics_port_mtls(f"{prefix}-metrics", model, options.custom)
    traffic.network_policy(prefix, model, addons, options.plain)
    scaling.disruption_budget(prefix, model, options.plain)
    scaling.pod_monitor(prefix, model, addons, options.custom)


def _service(resource_name: str, model: ModelSpec, opts: pulumi.ResourceOptions) -> k8s.core.v1.Service:
    """The model's replicas of every version (the floor included); subsets split them by version."""
    ports: list[k8s.core.v1.ServicePortArgsDict] = [
        {"name": SERVICE_PORT_NAMES[port], "port": port, "target_port": PORT_NAMES[port], "protocol": "TCP"}
        for port in (HTTP_PORT, GRPC_PORT, METRICS_PORT)
    ]
    return k8s.core.v1.Service(
        resource_name,
        metadata={"name": model.name, "namespace": NAMESPACE, "labels": {LABEL_APP: model.name}},
        spec={"type": "ClusterIP", "selector": {LABEL_APP: model.name}, "ports": ports},
        opts=opts,
    )


def cold_start_annotations(model: ModelSpec, budget: int | None) -> dict[str, str]:
    """The model's cold start on this target and the stack's budget, where the policy pack reads them."""
    found = {
        COLD_START_ANNOTATION: model.cold_start_seconds,
        BUDGET_ANNOTATION: budget,
        NEW_NODE_ANNOTATION: model.new_node_seconds,
    }
    return {key: str(value) for key, value in found.items() if value is not None}


def _deployment(
    resource_name: str,
    args: ServingStackArgs,
    workload: Workload,
    reader: ReaderIdentity,
    replicas: int | None,
    opts: pulumi.ResourceOptions,
) -> k8s.apps.v1.Deployment:
    return k8s.apps.v1.Deployment(
        resource_name,
        metadata={
            "name": workload.name,
            "namespace": NAMESPACE,
            "labels": workload.selector,
            "annotations": cold_start_annotations(workload.model, args.cold_start_budget_seconds),
        },
        spec=deployment_spec(args, workload, reader, replicas),
        opts=opts,
    )
