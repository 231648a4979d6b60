"""GKE Standard implementation: private nodes behind Cloud NAT, Workload Identity, Dataplane V2,
a system pool, spot GPU pools with on-demand fallback chosen by GKE custom ComputeClasses.

Choices the contract leaves to each cloud:
- A GKE node pool has exactly one machine type, so a GpuPool listing more than one is
  rejected (split it into pools of one type each; they can share a ComputeClass tier).
- min_nodes/max_nodes are pool totals (GKE's total_min/total_max_node_count), as on EKS and
  AKS, not per-zone counts that would multiply by the number of zones.
- spot_max_price is Azure only: GKE Spot VMs have no bid price.
- Node zones are the first `zones` zones (sorted) that offer every GPU pool's accelerator
  (gcp_zones: a sourced table), not the region's first zones: GPUs are in a few zones only.
- GPU pools upgrade one node at a time without a surge node (max surge 0, max unavailable 1):
  GKE's default surge adds a GPU node per pool, which a tight GPU quota or a stocked-out zone
  refuses, and which is billed while it lasts (GKE docs, "Upgrade in a resource-constrained
  environment" and "Ensure resources for node upgrades", read 2026-12). The system pool keeps
  GKE's default surge (one extra small node), which keeps the add-ons' capacity during upgrades.
"""

from __future__ import annotations

import hashlib
import json
import math
import re

import pulumi
import pulumi_gcp as gcp
import pulumi_kubernetes as k8s

from components import machine_catalog
from components.gcp_kms import customer_key
from components.gpu_cluster import gcp_compute_class as compute_class
from components.gpu_cluster import gcp_zones
from components.gpu_cluster.contract import (
    ClusterNetwork,
    ClusterOutputs,
    GpuClusterArgs,
    GpuPool,
    WorkloadIdentity,
)
from components.gpu_cluster.gcp_network import NodeNetwork, build_network, gcp_name
from components.maintenance import MaintenanceWindow
from components.scheduling import (
    API_EFFECTS,
    COMPUTE_CLASS_LABEL,
    compute_class_name,
    system_labels,
)

SYSTEM_POOL = "system"
RELEASE_CHANNEL = "REGULAR"
CLOUD_PLATFORM_SCOPE = "https://www.googleapis.com/auth/cloud-platform"  # access is decided by IAM roles
GPU_DRIVER_VERSION = "DEFAULT"  # GKE installs its default driver for the node version (COS and Ubuntu)
NODE_ROLES = (
    # GKE's least-privilege node role (docs "Configure GKE node service accounts"; CIS GKE 2.0
    # 5.2.1). The four after it are the long-documented minimal set; they overlap it, harmlessly.
    "roles/container.defaultNodeServiceAccount",
    "roles/logging.logWriter",
    "roles/monitoring.metricWriter",
    "roles/monitoring.viewer",
    "roles/stackdriver.resourceMetadata.writer",
)
CONTROL_PLANE_LOG_COMPONENTS = ("APISERVER", "SCHEDULER", "CONTROLLER_MANAGER")
DEFAULT_LOG_COMPONENTS = ("SYSTEM_COMPONENTS", "WORKLOADS")
MAX_CLUSTER_NAME = 40  # GKE; auto-naming adds 8 characters to the resource name
MAX_NODE_POOL_NAME = 40
# GPU pools: replace one node at a time, never add one (see the module docstring).
GPU_UPGRADE_SETTINGS: gcp.container.NodePoolUpgradeSettingsArgsDict = {
    "strategy": "SURGE",
    "max_surge": 0,
    "max_unavailable": 1,
}
# GKE version aliases: "1.X", "1.X.Y" or an exact "1.X.Y-gke.N" (docs: "Versioning", UpdateMasterRequest).
_GKE_VERSION = re.compile(r"^1\.(\d+)(?:\.(\d+)(?:-gke\.(\d+))?)?$")
_NODE_POOL_NAME = re.compile(r"^[a-z](?:[-a-z0-9]*[a-z0-9])?$")


def build(parent: pulumi.ComponentResource, name: str, args: GpuClusterArgs) -> ClusterOutputs:
    project = _require_project(args)
    _validate(name, args)
    zones = _node_zones(args)
    net = build_network(parent, name, args)
    nodes_sa, grants = _node_service_account(parent, name, args, project)
    secrets_key = _secrets_key(parent, name, args, project, grants) if args.customer_managed_key else None
    cluster = _cluster(parent, name, args, project, net, zones, nodes_sa, grants, secrets_key)
    _webhook_firewall(parent, name, args, project, net, nodes_sa)
    # Pool names are fixed (the ComputeClass names them), so a replaced pool must go before its successor.
    pool_opts = pulumi.ResourceOptions(depends_on=grants, delete_before_replace=True)
    system = _system_pool(parent, name, args, cluster, nodes_sa, pool_opts)
    gpu_pools = [_gpu_pool(parent, name, args, cluster, nodes_sa, pool, pool_opts) for pool in args.gpu_pools]

    kubeconfig: pulumi.Output[str] = pulumi.Output.secret(_kubeconfig(cluster, project))
    # Everything applied through the provider waits for the system nodes: Helm releases that wait
    # for ready pods would otherwise start their timeout before any node exists.
    provider_opts = pulumi.ResourceOptions(parent=parent, depends_on=[system])
    provider = k8s.Provider(f"{name}-k8s", kubeconfig=kubeconfig, opts=provider_opts)
    compute_class.build_compute_classes(parent, name, args, provider, depends_on=[system, *gpu_pools])

    # From the cluster's output, not rebuilt from the project: a grant to the pool must wait for
    # the cluster that makes it ("Identity Pool does not exist" on a project that never had one).
    workload_pool = cluster.workload_identity_config.apply(
        lambda config: (config.workload_pool if config else None) or ""
    )
    issuer = pulumi.Output.concat(
        "https://container.googleapis.com/v1/projects/",
        project,
        "/locations/",
        cluster.location,
        "/clusters/",
        cluster.name,
    )
    return ClusterOutputs(
        cluster_name=cluster.name,
        kubeconfig=kubeconfig,
        k8s_provider=provider,
        identity=WorkloadIdentity(oidc_issuer_url=issuer, workload_pool=workload_pool),
        network=ClusterNetwork(
            network_id=net.network.self_link,
            private_subnet_ids=pulumi.Output.all(net.subnetwork.self_link).apply(list),
        ),
        node_identity=nodes_sa.email,
    )


# istiod's injector, the admission webhooks of KEDA, Kueue and Kyverno (all on 9443), KEDA's metrics API, Kueue's
# visibility API (an APIService: unreachable, it fails API discovery, which holds namespace deletion;
# components/training/kueue.py).
WEBHOOK_PORTS = ("15017", "9443", "6443", "8082")


def _webhook_firewall(
    parent: pulumi.ComponentResource,
    name: str,
    args: GpuClusterArgs,
    project: str,
    net: NodeNetwork,
    nodes_sa: gcp.serviceaccount.Account,
) -> gcp.compute.Firewall:
    """GKE lets a private cluster's control plane reach nodes on 443 and 10250 only; the serving
    add-ons' webhooks listen elsewhere (cloud.google.com/service-mesh/docs/private-cluster-open-port)."""
    return gcp.compute.Firewall(
        f"{name}-control-plane-webhooks",
        project=project,
        network=net.network.self_link,
        direction="INGRESS",
        source_ranges=[str(net.ranges.control_plane)],
        target_service_accounts=[nodes_sa.email],
        allows=[{"protocol": "tcp", "ports": list(WEBHOOK_PORTS)}],
        description="The GKE control plane calls the add-ons' admission webhooks and KEDA's metrics API",
        opts=args.target.child_options(parent),
    )


def _require_project(args: GpuClusterArgs) -> str:
    if not args.target.gcp_project:
        raise ValueError(f"target {args.target.name}: a GKE cluster needs the target's gcp_project")
    return args.target.gcp_project


def _validate(name: str, args: GpuClusterArgs) -> None:
    """Fail before anything is planned, with the reason, rather than at `pulumi up`."""
    if len(name) > MAX_CLUSTER_NAME - 8:
        raise ValueError(f"GpuCluster {name!r}: at most {MAX_CLUSTER_NAME - 8} characters on GKE")
    _check_version(args.kubernetes_version)
    if not 1 <= args.zones <= 4:
        raise ValueError(f"zones must be between 1 and 4 on GKE, got {args.zones}")
    names = [pool.name for pool in args.gpu_pools]
    if len(set(names)) != len(names) or SYSTEM_POOL in names:
        raise ValueError(f"GPU pool names must be unique and not {SYSTEM_POOL!r}: {names}")
    for pool in args.gpu_pools:
        _check_pool(pool)
    _node_zones(args)  # a region with too few zones for the GPU pools fails here, with the zones it has


def _check_version(version: str) -> None:
    """GKE takes a version prefix ("1.33", "1.33.5") or an exact "1.33.5-gke.1080000";
    ComputeClasses on Standard clusters need 1.30.3-gke.1451000 or later."""
    match = _GKE_VERSION.match(version)
    if match is None:
        raise ValueError(f"kubernetes_version {version!r} is not a GKE version (e.g. '1.33' or '1.33.5-gke.1080000')")
    # A missing part is an alias GKE resolves to the highest patch it has, so it counts as newest.
    parts = tuple(int(part) if part is not None else math.inf for part in match.groups())
    if (1, *parts) < compute_class.MIN_GKE_VERSION:
        raise ValueError(f"kubernetes_version {version!r}: GKE ComputeClasses need 1.30.3-gke.1451000 or later")


def _check_pool(pool: GpuPool) -> None:
    where = f"GPU pool {pool.name!r}"
    if not _NODE_POOL_NAME.match(pool.name) or len(pool.name) > MAX_NODE_POOL_NAME:
        raise ValueError(f"{where}: GKE node pool names are lowercase letters, digits and '-', at most 40")
    if len(pool.machine_types) != 1:
        raise ValueError(
            f"{where}: a GKE node pool has exactly one machine type, got {list(pool.machine_types)}; "
            "make one pool per machine type"
        )
    if pool.accelerator not in machine_catalog.GCP_ACCELERATOR_TYPES:
        raise ValueError(f"{where}: GCP has no {pool.accelerator} accelerator type")
    if pool.fallback and (pool.spot or pool.min_nodes != 0):
        raise ValueError(f"{where}: a fallback pool is on-demand (spot=False) with min_nodes=0")
    if not 0 <= pool.min_nodes <= pool.max_nodes:
        raise ValueError(f"{where}: need 0 <= min_nodes <= max_nodes")
    _gpu_machine(pool)


def _gpu_machine(pool: GpuPool) -> machine_catalog.MachineType:
    found = machine_catalog.machine("gcp", pool.machine_types[0])
    if found is None or found.accelerator != pool.accelerator:
        raise ValueError(
            f"GPU pool {pool.name!r}: {pool.machine_types[0]} is not a catalogued GCP {pool.accelerator} machine"
        )
    return found


def _node_zones(args: GpuClusterArgs) -> list[str]:
    """The first args.zones zones (sorted, so every run picks the same) offering every GPU pool's
    accelerator. Every pool spans the cluster's zones, so each zone must offer each GPU."""
    accelerators = {pool.accelerator for pool in args.gpu_pools}
    return list(gcp_zones.pick_zones(args.target.region, accelerators, args.zones))


def _node_service_account(
    parent: pulumi.ComponentResource, name: str, args: GpuClusterArgs, project: str
) -> tuple[gcp.serviceaccount.Account, list[pulumi.Resource]]:
    """A node identity with only the roles nodes need, instead of the broad Compute Engine default."""
    target = args.target
    account = gcp.serviceaccount.Account(
        f"{name}-nodes",
        project=project,
        account_id=_account_id(name),
        display_name=f"GKE nodes of {name}",
        opts=target.child_options(parent),
    )
    grants: list[pulumi.Resource] = [
        gcp.projects.IAMMember(
            f"{name}-nodes-{role.removeprefix('roles/').replace('.', '-')}",
            project=project,
            role=role,
            member=account.member,
            opts=target.child_options(parent),
        )
        for role in NODE_ROLES
    ]
    return account, grants


def _account_id(name: str) -> str:
    """6-30 characters, unique per project: dev and prod stacks may share one project."""
    digest = hashlib.sha1(f"{pulumi.get_project()}/{pulumi.get_stack()}/{name}".encode()).hexdigest()[:6]
    return f"{gcp_name(name, 17)}-nodes-{digest}"


def _cluster(
    parent: pulumi.ComponentResource,
    name: str,
    args: GpuClusterArgs,
    project: str,
    net: NodeNetwork,
    zones: list[str],
    nodes_sa: gcp.serviceaccount.Account,
    grants: list[pulumi.Resource],
    secrets_key: pulumi.Output[str] | None = None,
) -> gcp.container.Cluster:
    target = args.target
    if args.regional:
        location = target.region
        node_locations = zones  # regional: the full list of node zones
    else:
        location = zones[0]
        node_locations = zones[1:]  # zonal: the provider wants only the extra zones
    allowed = args.api_allowed_cidrs or ("0.0.0.0/0",)
    return gcp.container.Cluster(
        name,
        project=project,
        location=location,
        node_locations=node_locations,
        min_master_version=args.kubernetes_version,
        release_channel={"channel": RELEASE_CHANNEL},
        # Node pools are managed below; the default pool is made (1 node) and removed at once.
        # It runs as the nodes' own account, granted first, not as the Compute Engine default
        # account, which organisations often disable or strip of its roles.
        remove_default_node_pool=True,
        initial_node_count=1,
        node_config=_default_pool_config(nodes_sa, args.system_pool.machine_type),
        network=net.network.self_link,
        subnetwork=net.subnetwork.self_link,
        networking_mode="VPC_NATIVE",
        ip_allocation_policy={
            "cluster_secondary_range_name": net.pods_range_name,
            "services_secondary_range_name": net.services_range_name,
        },
        # Private nodes; the control plane keeps its public endpoint, reachable only from `allowed`.
        # An explicit control-plane range makes the source of its webhook calls known (below).
        private_cluster_config={
            "enable_private_nodes": True,
            "enable_private_endpoint": False,
            "master_ipv4_cidr_block": str(net.ranges.control_plane),
        },
        master_authorized_networks_config={
            "cidr_blocks": [{"cidr_block": cidr, "display_name": f"allowed-{i}"} for i, cidr in enumerate(allowed)],
            "gcp_public_cidrs_access_enabled": False,
        },
        workload_identity_config={"workload_pool": f"{project}.svc.id.goog"},
        datapath_provider="ADVANCED_DATAPATH",  # Dataplane V2, which also enforces NetworkPolicy
        enable_shielded_nodes=True,
        logging_config={"enable_components": _log_components(args)},
        database_encryption={"state": "ENCRYPTED", "key_name": secrets_key} if secrets_key is not None else None,
        deletion_protection=args.deletion_protection,  # the provider defaults to true: dev must say false
        resource_labels=dict(args.cluster_labels) or None,  # e.g. the declared free tier credit
        maintenance_policy=_maintenance_policy(args.maintenance_window),
        opts=pulumi.ResourceOptions.merge(target.child_options(parent), pulumi.ResourceOptions(depends_on=grants)),
    )


def _secrets_key(
    parent: pulumi.ComponentResource, name: str, args: GpuClusterArgs, project: str, grants: list[pulumi.Resource]
) -> pulumi.Output[str]:
    """A Cloud KMS key for application-layer secrets encryption, usable by the project's GKE service agent
    (service-<number>@container-engine-robot, the number from getProject). The cluster waits for the grant."""
    found = gcp.organizations.get_project_output(project_id=project, opts=args.target.invoke_options(parent))
    agent = found.number.apply(lambda number: f"service-{number}@container-engine-robot.iam.gserviceaccount.com")
    key, grant = customer_key(parent, f"{name}-secrets", args.target, agent, keep=args.deletion_protection)
    grants.append(grant)
    return key.id


def _default_pool_config(
    nodes_sa: gcp.serviceaccount.Account, machine_type: str
) -> gcp.container.ClusterNodeConfigArgsDict:
    """The temporary default pool: our node identity and the same hardening as every other pool."""
    return {
        "machine_type": machine_type,
        "service_account": nodes_sa.email,
        "oauth_scopes": [CLOUD_PLATFORM_SCOPE],
        "shielded_instance_config": {"enable_secure_boot": True, "enable_integrity_monitoring": True},
        "workload_metadata_config": {"mode": "GKE_METADATA"},
    }


def _maintenance_policy(
    window: MaintenanceWindow | None,
) -> gcp.container.ClusterMaintenancePolicyArgsDict | None:
    """A weekly window for upgrades GKE starts itself; None leaves GKE's default (any time).

    GKE wants at least 48 hours of window in any 32 days, in stretches of at least 4 hours
    (GKE docs, "Configure maintenance windows", read 2026-12); MaintenanceWindow checks that.
    """
    if window is None:
        return None
    start, end = window.first_occurrence()
    return {
        "recurring_window": {
            "start_time": f"{start:%Y-%m-%dT%H:%M:%SZ}",
            "end_time": f"{end:%Y-%m-%dT%H:%M:%SZ}",
            "recurrence": window.rrule(),
        }
    }


def _log_components(args: GpuClusterArgs) -> list[str]:
    extra = CONTROL_PLANE_LOG_COMPONENTS if args.control_plane_logs else ()
    return [*DEFAULT_LOG_COMPONENTS, *extra]


def _node_config(
    nodes_sa: gcp.serviceaccount.Account, machine_type: str, spot: bool, labels: dict[str, str]
) -> gcp.container.NodePoolNodeConfigArgsDict:
    """What every node pool shares: our node identity, Shielded VM, Workload Identity's metadata server."""
    return {
        "machine_type": machine_type,
        "spot": spot,
        "labels": labels,  # Kubernetes node labels, not GCE resource labels
        "service_account": nodes_sa.email,
        "oauth_scopes": [CLOUD_PLATFORM_SCOPE],
        "shielded_instance_config": {"enable_secure_boot": True, "enable_integrity_monitoring": True},
        "workload_metadata_config": {"mode": "GKE_METADATA"},
    }


def _initial_per_zone(where: str, min_nodes: int, max_nodes: int, zones: int) -> int:
    """GKE counts a pool's initial size per zone; enough to start at min_nodes without passing max_nodes."""
    per_zone = math.ceil(min_nodes / zones)
    if per_zone * zones > max_nodes:
        raise ValueError(
            f"{where}: min_nodes {min_nodes} puts {per_zone} node(s) in each of {zones} zones, "
            f"more than max_nodes {max_nodes}"
        )
    return per_zone


def _system_pool(
    parent: pulumi.ComponentResource,
    name: str,
    args: GpuClusterArgs,
    cluster: gcp.container.Cluster,
    nodes_sa: gcp.serviceaccount.Account,
    extra: pulumi.ResourceOptions,
) -> gcp.container.NodePool:
    pool = args.system_pool
    return gcp.container.NodePool(
        f"{name}-{SYSTEM_POOL}",
        name=SYSTEM_POOL,
        project=args.target.gcp_project,
        cluster=cluster.name,
        location=cluster.location,
        initial_node_count=_initial_per_zone("system pool", pool.min_nodes, pool.max_nodes, args.zones),
        autoscaling={
            "total_min_node_count": pool.min_nodes,
            "total_max_node_count": pool.max_nodes,
            "location_policy": "BALANCED",
        },
        management={"auto_repair": True, "auto_upgrade": True},
        node_config=_node_config(nodes_sa, pool.machine_type, spot=pool.spot, labels=system_labels(pool.spot)),
        opts=pulumi.ResourceOptions.merge(args.target.child_options(parent), extra),
    )


def _gpu_pool(
    parent: pulumi.ComponentResource,
    name: str,
    args: GpuClusterArgs,
    cluster: gcp.container.Cluster,
    nodes_sa: gcp.serviceaccount.Account,
    pool: GpuPool,
    extra: pulumi.ResourceOptions,
) -> gcp.container.NodePool:
    machine = _gpu_machine(pool)
    class_name = compute_class_name(pool.accelerator)
    node_config = _node_config(nodes_sa, machine.name, pool.spot, {**pool.labels, **compute_class.node_label(pool)})
    # G2/A2/A3 machines carry their GPUs, but guest_accelerators is still how GKE is asked to
    # install the driver; the count is the machine's own, from the catalog.
    node_config["guest_accelerators"] = [
        {
            "type": machine_catalog.GCP_ACCELERATOR_TYPES[pool.accelerator],
            "count": machine.gpus,
            "gpu_driver_installation_config": {"gpu_driver_version": GPU_DRIVER_VERSION},
        }
    ]
    # GKE adds the GPU taint itself only when a non-GPU pool already exists, which pools created in parallel cannot
    # promise; declaring it too is accepted (terraform-provider-google#7928). Training pools add the training taint.
    taints: list[gcp.container.NodePoolNodeConfigTaintArgsDict] = [
        {"key": key, "value": value, "effect": API_EFFECTS[effect]} for key, value, effect in pool.taints
    ]
    # GKE schedules a ComputeClass's pods only on pools carrying its label and this taint.
    taints.append({"key": COMPUTE_CLASS_LABEL, "value": class_name, "effect": API_EFFECTS["NoSchedule"]})
    node_config["taints"] = taints
    if args.gke_image_cache_disk:  # the Triton image read from a disk made beside the node, not pulled
        node_config["gcfs_config"] = {"enabled": True}  # secondary boot disks need image streaming on
        cache: gcp.container.NodePoolNodeConfigSecondaryBootDiskArgsDict = {
            "disk_image": args.gke_image_cache_disk,
            "mode": "CONTAINER_IMAGE_CACHE",
        }
        node_config["secondary_boot_disks"] = [cache]
    return gcp.container.NodePool(
        f"{name}-{pool.name}",
        name=pool.name,  # fixed: the ComputeClass names pools by name
        project=args.target.gcp_project,
        cluster=cluster.name,
        location=cluster.location,
        # min_nodes 0 scales from zero: GPUs are paid for only while pods need them.
        initial_node_count=_initial_per_zone(f"GPU pool {pool.name!r}", pool.min_nodes, pool.max_nodes, args.zones),
        autoscaling={
            "total_min_node_count": pool.min_nodes,
            "total_max_node_count": pool.max_nodes,
            # ANY lets the autoscaler go where spot capacity is (and lowers preemption risk).
            "location_policy": "ANY" if pool.spot else "BALANCED",
        },
        management={"auto_repair": True, "auto_upgrade": True},
        upgrade_settings=GPU_UPGRADE_SETTINGS,
        node_config=node_config,
        opts=pulumi.ResourceOptions.merge(args.target.child_options(parent), extra),
    )


def _kubeconfig(cluster: gcp.container.Cluster, project: str) -> pulumi.Output[str]:
    """A kubeconfig that authenticates with gke-gcloud-auth-plugin, GKE's supported way since 1.26."""

    def render(endpoint: str, ca: str, location: str, cluster_name: str) -> str:
        context = f"gke_{project}_{location}_{cluster_name}"
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {"name": context, "cluster": {"server": f"https://{endpoint}", "certificate-authority-data": ca}}
            ],
            "contexts": [{"name": context, "context": {"cluster": context, "user": context}}],
            "current-context": context,
            "users": [
                {
                    "name": context,
                    "user": {
                        "exec": {
                            "apiVersion": "client.authentication.k8s.io/v1beta1",
                            "command": "gke-gcloud-auth-plugin",
                            "provideClusterInfo": True,
                            "installHint": "Install gke-gcloud-auth-plugin: "
                            "https://cloud.google.com/kubernetes-engine/docs/how-to/cluster-access-for-kubectl",
                        }
                    },
                }
            ],
        }
        return json.dumps(config, indent=2)  # JSON is YAML, which kubectl and the provider read

    ca = cluster.master_auth.apply(lambda auth: auth.cluster_ca_certificate or "")
    return pulumi.Output.all(cluster.endpoint, ca, cluster.location, cluster.name).apply(lambda a: render(*a))
